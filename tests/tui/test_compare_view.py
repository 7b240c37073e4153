"""`explorer diff A B --ui`: the paths coloured by difference, a text diff of two versions (masked), the new findings."""

from __future__ import annotations

from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import scan
from explorer.layerfs.compare import compare
from explorer.sources import open_image
from explorer.tui.compare import CompareApp
from explorer.tui.lineview import LineView
from tests.layerfs.test_compare import A_TOP, B_TOP, BASE
from tests.tui.test_preview_config import SIZE, until

TOKEN = "ghp_" + "k" * 36


async def test_paths_text_diff_and_new_findings(make_image):
    from explorer.demo.imagewriter import Entry, Layer
    secret = Layer([Entry.file("/srv/.env", f"MODE=1\nGITHUB_TOKEN={TOKEN}\n".encode())], created_by="COPY .env")
    a_path = make_image([BASE, A_TOP])
    b_path = make_image([BASE, B_TOP, secret])
    with open_image(a_path) as a, open_image(b_path) as b:
        ra, rb = (scan(s, build_detectors(ScanOptions())) for s in (a, b))
        app = CompareApp(compare(ra.analysis, rb.analysis, ra.findings, rb.findings))
        async with app.run_test(size=SIZE) as pilot:
            view = app.query_one("#paths", LineView)
            rows = view.lines.plain.splitlines()
            assert rows[0].startswith("~ /etc/passwd  content  A:L0 B:L1")
            assert any(r.startswith("- /srv/old.txt") for r in rows) and any(r.startswith("+ /srv/.env") for r in rows)
            assert view.lines.row(0).spans[0].style == "yellow"
            await pilot.press("enter")  # /etc/passwd: the text diff
            await until(pilot, lambda: app.screen.query("#diff"))
            diff = app.screen.query_one("#diff", LineView).lines.plain
            assert "+toor:x:0:0::/root:/bin/sh" in diff and "--- A /etc/passwd" in diff
            await pilot.press("escape")
            view.go_to(next(i for i, r in enumerate(rows) if r.startswith("+ /srv/.env")))
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.query("#diff"))
            diff = app.screen.query_one("#diff", LineView).lines.plain
            assert "+GITHUB_TOKEN=ghp_" in diff and TOKEN not in diff
            await pilot.press("escape", "f")
            await until(pilot, lambda: app.screen.query("#diff"))
            found = app.screen.query_one("#diff", LineView).lines.plain
            assert "backdoor.accounts.second-uid0" in found and "secret.github-pat" in found and TOKEN not in found
