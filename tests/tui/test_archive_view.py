"""The archive view (`o`): a jar and a tar.gz of an image built in-process — members listed with sizes,
kinds and findings, hostile names shown inert, a member previewed (masked, found), member archives
browsed, a finding inside an archive followed to its member, and the caps said."""

from __future__ import annotations

import os

import pytest

from explorer.core.limits import Limits
from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image
from explorer.detectors import archives
from explorer.scan.engine import DetectorSet
from explorer.sources import open_image
from explorer.tui.app import ExplorerApp
from explorer.tui.lineview import LineView
from explorer.tui.screens.archive import ArchiveView, MemberViewer
from explorer.tui.widgets.details import Details
from explorer.tui.widgets.filetree import FileTree
from explorer.tui.widgets.findings import FindingsTable
from tests.detectors.test_archives import GITHUB, PROPERTIES, tar_of, zip_of
from tests.support.pilot import choose_finding, go_to
from tests.tui.test_panes_actions import wait_for

SIZE = (160, 48)
EVIL = "evil\x1b[31m[bold]red\x07.txt"
ENV = b"GITHUB_TOKEN=" + GITHUB.encode() + b"\n"


def billing_jar() -> bytes:
    inner = zip_of({"deep/.env": ENV})
    return zip_of({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "config/application.properties": PROPERTIES,
                   "lib/inner.zip": inner, "../../etc/x": b"slip\n", EVIL: b"x"})


@pytest.fixture
def archive_image(tmp_path):
    bundle = tar_of({"app/.env": ENV, "nested/billing.jar": billing_jar(), "../../etc/x": b"slip\n", EVIL: b"x",
                     "docs/readme.zip": b"plain text, named like a zip\n"})
    spec = ImageSpec(layers=[
        Layer([Entry.dir("/app"), Entry.dir("/app/lib"), Entry.file("/app/lib/billing.jar", billing_jar())],
              created_by="COPY billing.jar /app/lib/"),
        Layer([Entry.dir("/srv"), Entry.file("/srv/bundle.tar.gz", bundle), Entry.file("/srv/notes.txt", b"hello\n")],
              created_by="ADD bundle.tar.gz /srv/")])
    path = tmp_path / "archives.tar"
    write_image(spec, str(path))
    with open_image(str(path)) as source:
        yield source


def rows(screen) -> list[str]:
    view = screen.query_one("#archive-members", LineView)
    return [view.lines.row(i).plain for i in range(len(view.lines))]


async def open_archive(pilot, layer: int, path: str) -> ArchiveView:
    await go_to(pilot, layer, path)
    await pilot.press("o")
    screen = pilot.app.screen
    assert isinstance(screen, ArchiveView) and screen.entry.path == path
    await wait_for(pilot, lambda: screen.ready, "the archive view did not list the members")
    return screen


async def choose_row(pilot, screen, name: str) -> None:
    """Cursor on the member stored as `name` (escaped), enter."""
    view = screen.query_one("#archive-members", LineView)
    view.go_to(next(m.position for m in screen.level.listing.members if m.name == name) + 1)
    await pilot.press("enter")
    await pilot.pause()


async def test_a_jar_lists_its_members_previews_one_and_browses_a_member_archive(archive_image):
    app = ExplorerApp(archive_image)  # real detectors: the members' findings are marked
    async with app.run_test(size=SIZE) as pilot:
        from tests.support.pilot import wait_until_scanned
        await wait_until_scanned(pilot)
        assert app.query_one(FileTree).view.flagged.get("/app/lib/billing.jar") == "high"  # its member's secret
        await go_to(pilot, 0, "/app/lib/billing.jar")
        assert "archive  o: browse its members" in app.query_one(Details).plain
        screen = await open_archive(pilot, 0, "/app/lib/billing.jar")
        shown = rows(screen)
        assert shown[0].split() == ["kind", "size", "stored", "modified", "!", "name", "as", "stored"]
        props = next(r for r in shown if r.rstrip().endswith("config/application.properties"))
        assert props.split()[:3] == ["file", f"{len(PROPERTIES)}", "B"] and "2024-01-01 00:00" in props
        assert "!H" in props
        assert next(r for r in shown if "lib/inner.zip" in r).startswith("archive") and "!H" in next(
            r for r in shown if "lib/inner.zip" in r)  # the secret in its member
        slip = next(r for r in shown if "../../etc/x" in r)
        assert "unsafe name (absolute or climbing out): the scan names it /etc/x" in slip and "!M" in slip
        evil = next(r for r in shown if r.find("evil") >= 0)
        assert "\x1b" not in evil and "\x07" not in evil and "evil\\x1b[31m[bold]red\\x07.txt" in evil
        meta = str(screen.query_one("#archive-meta").render())
        assert "Archive /app/lib/billing.jar" in meta and "(zip; layer 0)" in meta and "5 members, 3 with findings (n/p)" in meta
        assert "COPY billing.jar /app/lib/" in meta and "3 levels, 20,000 members" in meta
        # the cursor starts on the first member with a finding; n/p walk them (the manifest has none)
        view = screen.query_one("#archive-members", LineView)
        assert view.cursor == 2
        await pilot.press("n", "n")
        assert view.cursor == 4
        await pilot.press("n", "p")
        assert view.cursor == 4

        # enter on a member: the preview, secret masked, its finding listed, find works
        await choose_row(pilot, screen, "config/application.properties")
        viewer = app.screen
        assert isinstance(viewer, MemberViewer)
        await wait_for(pilot, lambda: viewer.loaded, "the member was not read")
        text = str(viewer.query_one("#content").render())
        assert "spring.datasource.url=jdbc:postgresql://db/billing" in text and GITHUB not in text
        vmeta = str(viewer.query_one("#meta").render())
        assert "/app/lib/billing.jar!/config/application.properties" in vmeta and "member of /app/lib/billing.jar" in vmeta
        assert "1 finding(s)" in vmeta and "secret(s) masked" in vmeta
        assert "secret.github-pat" in str(viewer.query_one("#matches").render())
        await pilot.press("slash", *"datasource", "enter")
        assert viewer.query_one("#content", LineView).cursor == 0
        await pilot.press("escape", "x")  # the hex view of the same bytes
        assert viewer.mode == "hex" and "73 70 72 69 6e 67" in str(viewer.query_one("#content").render())
        await pilot.press("p")  # no versions of a member: the key is off
        assert viewer.mode == "hex" and viewer.is_current
        await pilot.press("escape")
        assert app.screen is screen

        # enter on the member archive: its members; escape back up; escape closes
        await choose_row(pilot, screen, "lib/inner.zip")
        await wait_for(pilot, lambda: len(screen.levels) == 2, "the member archive was not opened")
        assert [m.name for m in screen.level.listing.members] == ["deep/.env"]
        assert "Archive /app/lib/billing.jar!/lib/inner.zip" in str(screen.query_one("#archive-meta").render())
        assert "!H" in rows(screen)[1]
        await pilot.press("escape")
        assert len(screen.levels) == 1 and app.screen is screen
        assert screen.level.listing.members[view.cursor - 1].name == "lib/inner.zip"  # where it was left
        await pilot.press("escape")
        assert not isinstance(app.screen, ArchiveView)


async def test_a_tar_gz_in_a_layer_lists_members_and_its_nested_jar(archive_image):
    app = ExplorerApp(archive_image, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        from tests.support.pilot import wait_until_scanned
        await wait_until_scanned(pilot)
        screen = await open_archive(pilot, 1, "/srv/bundle.tar.gz")
        assert screen.level.listing.kind == "tar (gzip)"
        shown = rows(screen)
        env = next(r for r in shown if r.rstrip().endswith("app/.env"))
        assert env.split()[:4] == ["file", f"{len(ENV)}", "B", "-"] and "1970-01-01 00:00" in env
        assert "the scan names it /etc/x" in next(r for r in shown if "../../etc/x" in r)
        assert all("\x1b" not in r for r in shown)
        await choose_row(pilot, screen, "app/.env")
        viewer = app.screen
        await wait_for(pilot, lambda: viewer.loaded, "the member was not read")
        assert "GITHUB_TOKEN=" in str(viewer.query_one("#content").render())
        assert GITHUB not in str(viewer.query_one("#content").render())
        await pilot.press("q")
        await choose_row(pilot, screen, "nested/billing.jar")
        await wait_for(pilot, lambda: len(screen.levels) == 2, "the nested jar was not opened")
        assert screen.level.listing.kind == "zip" and len(screen.level.listing.members) == 5
        await pilot.press("escape")
        # named like an archive but not one: said, and its content previewed instead
        await choose_row(pilot, screen, "docs/readme.zip")
        await wait_for(pilot, lambda: isinstance(app.screen, MemberViewer) and app.screen.loaded, "no preview")
        assert "plain text, named like a zip" in str(app.screen.query_one("#content").render())
        assert "not a zip or tar" in str(list(app._notifications)[-1].message)
        await pilot.press("q", "q")
        # a file that is no archive: the view says so
        screen = await open_archive(pilot, 1, "/srv/notes.txt")
        assert "not a zip or tar archive" in str(screen.query_one("#archive-meta").render())
        await pilot.press("q")
        # the palette's entry opens the view on the tree's selection
        from explorer.tui.palette import palette_commands
        await go_to(pilot, 1, "/srv/bundle.tar.gz")
        next(c for c in palette_commands(app) if c.title == "Browse the selected archive").callback()
        await pilot.pause()
        assert isinstance(app.screen, ArchiveView) and app.screen.entry.path == "/srv/bundle.tar.gz"


async def test_a_finding_inside_an_archive_opens_the_archive_view_at_its_member(archive_image):
    app = ExplorerApp(archive_image)
    async with app.run_test(size=SIZE) as pilot:
        from tests.support.pilot import wait_until_scanned
        await wait_until_scanned(pilot)
        deep = "/app/lib/billing.jar!/lib/inner.zip!/deep/.env"
        assert any(f.path == deep for f in app.query_one(FindingsTable).findings)
        await choose_finding(pilot, deep)  # enter (its detail), enter (go to it)
        screen = app.screen
        assert isinstance(screen, ArchiveView)
        await wait_for(pilot, lambda: screen.ready, "the archive view did not open")
        assert [lv.path for lv in screen.levels] == ["", "!/lib/inner.zip"]
        view = screen.query_one("#archive-members", LineView)
        assert screen.level.listing.members[view.cursor - 1].name == "deep/.env"
        assert app.query_one(FileTree).cursor_node.data.path == "/app/lib/billing.jar"  # behind it, the archive
        await pilot.press("escape", "escape")
        assert not isinstance(app.screen, ArchiveView)
        # from the palette too, to a member of the tar in layer 1
        from explorer.tui.palette import palette_commands
        bundled = next(f for f in app.query_one(FindingsTable).findings if f.path == "/srv/bundle.tar.gz!/app/.env")
        next(c for c in palette_commands(app) if "bundle.tar.gz!/app/.env" in c.title).callback()
        await wait_for(pilot, lambda: isinstance(app.screen, ArchiveView) and app.screen.ready, "no archive view")
        screen = app.screen
        assert bundled.layer == 1 and screen.entry.path == "/srv/bundle.tar.gz"
        assert screen.level.listing.members[screen.query_one(LineView).cursor - 1].name == "app/.env"


async def test_caps_are_said_in_the_view(tmp_path, monkeypatch):
    nest = zip_of({"deep.properties": PROPERTIES})
    for level in range(4):
        nest = zip_of({f"level{level}.zip": nest})
    bomb = zip_of({"zeros.bin": b"\0" * (16 << 20)})
    many = zip_of({f"f{i}.txt": b"x" for i in range(8)})
    big = zip_of({"r.bin": os.urandom(50_000)}, method=0)
    spec = ImageSpec(layers=[Layer([Entry.file("/nest.zip", nest), Entry.file("/bomb.zip", bomb),
                                    Entry.file("/many.zip", many), Entry.file("/big.zip", big)],
                                   created_by="COPY . /")])
    path = tmp_path / "caps.tar"
    write_image(spec, str(path))
    with open_image(str(path)) as source:
        app = ExplorerApp(source, detectors=DetectorSet(), limits=Limits(max_file_scan=40_000))
        async with app.run_test(size=SIZE) as pilot:
            from tests.support.pilot import wait_until_scanned
            await wait_until_scanned(pilot)
            # depth: the third level's member archive stays closed, and the view says why
            screen = await open_archive(pilot, 0, "/nest.zip")
            for name in ("level3.zip", "level2.zip"):
                depth = len(screen.levels)
                await choose_row(pilot, screen, name)
                await wait_for(pilot, lambda: len(screen.levels) == depth + 1, "not opened")
            await choose_row(pilot, screen, "level1.zip")  # kept closed: its bytes shown instead
            await wait_for(pilot, lambda: isinstance(app.screen, MemberViewer), "no preview")
            assert "depth cap 3" in str(list(app._notifications)[-1].message) and len(screen.levels) == 3
            assert "!/level3.zip!/level2.zip!/level1.zip" in str(app.screen.query_one("#meta").render())
            await pilot.press("q", "q")
            # a bomb member: its row says what its sizes state; the preview stops where the scan's reading
            # stops (past 200x the stored bytes read, after 1 MiB: here in the second 2 MiB window)
            screen = await open_archive(pilot, 0, "/bomb.zip")
            assert "x its stored bytes: a decompression bomb's ratio" in rows(screen)[1]
            await choose_row(pilot, screen, "zeros.bin")
            viewer = app.screen
            await wait_for(pilot, lambda: viewer.loaded, "the member was not read")
            assert viewer.mode == "hex" and "00000000  00 00" in str(viewer.query_one("#content").render())
            await pilot.press("greater_than_sign")
            await wait_for(pilot, lambda: viewer.loaded, "the next window was not read")
            assert "decompression bomb" in str(viewer.query_one("#content").render())
            await pilot.press("q", "q")
            # the member cap
            monkeypatch.setattr(archives, "MAX_MEMBERS", 5)
            screen = await open_archive(pilot, 0, "/many.zip")
            assert "lists 8 members, more than the cap of 5" in str(screen.query_one("#archive-meta").render())
            await pilot.press("q")
            # an archive past the --max-file-scan prefix (40,000 bytes here) is not opened, as the scan does not
            monkeypatch.setattr(archives, "MAX_MEMBERS", 20_000)
            await go_to(pilot, 0, "/big.zip")
            assert app.query_one(FileTree).cursor_node.data.entry.size > 40_000
            await pilot.press("o")
            screen = app.screen
            await wait_for(pilot, lambda: screen.ready, "not shown")
            assert "larger than the --max-file-scan prefix (40000 bytes): not opened" in str(
                screen.query_one("#archive-meta").render())
