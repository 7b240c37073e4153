"""`explorer diff A B --ui`: a tree coloured by difference with folder summaries, a text diff of two
versions across the images (masked), the new findings, each leading to its path."""

from __future__ import annotations

from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.layerfs.compare import compare
from explorer.scan.engine import scan
from explorer.sources import open_image
from explorer.tui.compare import CompareApp
from explorer.tui.compare_tree import build_tree, visible
from explorer.tui.lineview import LineView
from explorer.tui.themes import MUTED
from tests.layerfs.test_compare import A_TOP, B_TOP, BASE
from tests.tui.test_preview_config import SIZE, until

TOKEN = "ghp_" + "k" * 36


def comparison(make_image):
    from explorer.demo.imagewriter import Entry, Layer
    secret = Layer([Entry.file("/srv/.env", f"MODE=1\nGITHUB_TOKEN={TOKEN}\n".encode())], created_by="COPY .env")
    a, b = open_image(make_image([BASE, A_TOP])), open_image(make_image([BASE, B_TOP, secret]))
    ra, rb = (scan(s, build_detectors(ScanOptions())) for s in (a, b))
    return a, b, compare(ra.analysis, rb.analysis, ra.findings, rb.findings)


def test_the_tree_counts_what_differs_below_each_folder(make_image):
    a, b, cmp = comparison(make_image)
    with a, b:
        root = build_tree(cmp)
        assert root.below == {"added": 2, "removed": 1, "changed": 4, "same": 4}
        etc, srv = root.children
        assert (etc.path, etc.change, etc.below) == ("/etc", "same", {"added": 0, "removed": 0, "changed": 1,
                                                                       "same": 1})
        assert [(n.name, n.change) for n in srv.children] == [
            (".env", "added"), ("app.py", "changed"), ("mode", "changed"), ("new.txt", "added"),
            ("old.txt", "removed"), ("owner", "changed"), ("same", "same")]
        assert [n.path for n in visible(root, set())] == ["/etc", "/srv"]
        assert [n.path for n in visible(root, {"/etc", "/srv"}, hide_same=True)] == [
            "/etc", "/etc/passwd", "/srv", "/srv/.env", "/srv/app.py", "/srv/mode", "/srv/new.txt", "/srv/old.txt",
            "/srv/owner"]


async def test_tree_text_diff_and_new_findings(make_image):
    a, b, cmp = comparison(make_image)
    with a, b:
        app = CompareApp(cmp)
        async with app.run_test(size=SIZE) as pilot:
            view = app.query_one("#paths", LineView)
            rows = view.lines.plain.splitlines()
            assert rows == [
                "▾   etc/  ~1 =1",
                "      motd",
                "    ~ passwd  content  A layer 0, B layer 1",
                "▾   srv/  +2 -1 ~3 =1",
                "    + .env  B layer 2",
                "    ~ app.py  content  A layer 0, B layer 1",
                "    ~ mode  mode  A layer 1, B layer 1",
                "    + new.txt  B layer 1",
                "    - old.txt  A layer 1",
                "    ~ owner  owner  A layer 1, B layer 1",
                "      same"]
            styles = {i: {s.style for s in view.lines.row(i).spans} for i in range(len(rows))}
            assert "bold" in styles[0] and "yellow" in styles[2] and "green" in styles[4] and "red" in styles[8]
            assert MUTED in styles[1] and MUTED in styles[10]  # muted, not dim: explorer.tui.themes.MUTED
            assert not any(":L" in row for row in rows)  # "L3" is a line of the preview, not a layer
            # enter on a changed file: both versions described, then the text diff
            view.go_to(2)
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.query("#diff"))
            diff = app.screen.query_one("#diff", LineView).lines.plain
            assert "+toor:x:0:0::/root:/bin/sh" in diff and "--- A /etc/passwd" in diff
            assert "A: file 0644 0:0 26 bytes" in diff and "layer 1: COPY . /srv/ # v2" in diff
            assert "differs: content" in diff
            await pilot.press("escape")
            # an added file: its text against nothing, the token masked
            view.go_to(4)
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.query("#diff"))
            diff = app.screen.query_one("#diff", LineView).lines.plain
            assert "A: absent" in diff and "+GITHUB_TOKEN=ghp_" in diff and TOKEN not in diff
            await pilot.press("escape")
            # enter on a folder closes it, again opens it
            view.go_to(0)
            await pilot.press("enter")
            assert len(view.lines) == len(rows) - 2 and view.lines.plain.splitlines()[0].startswith("▸   etc/")
            await pilot.press("enter")
            assert len(view.lines) == len(rows)
            # s: only what differs
            await pilot.press("s")
            shown = view.lines.plain
            assert "motd" not in shown and " same" not in shown and "passwd" in shown
            await pilot.press("s")
            # f: the new findings; enter on one goes to its path in the tree
            await pilot.press("f")
            await until(pilot, lambda: app.screen.query("#findings"))
            found = app.screen.query_one("#findings", LineView)
            text = found.lines.plain
            assert "backdoor.accounts.second-uid0" in text and "secret.github-pat" in text and TOKEN not in text
            found.go_to(next(i for i, r in enumerate(text.splitlines()) if "second-uid0" in r))
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.query("#paths"))
            assert app.rows[view.cursor].path == "/etc/passwd"
