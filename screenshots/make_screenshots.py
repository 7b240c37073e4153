"""Make the SVG screenshots in this folder from the real UI on the built-in demo image.

    python screenshots/make_screenshots.py [NAME ...]

Each screenshot drives the app headless (Textual's run_test) the way a person would with keys, on the
same demo image `explorer demo` shows (integrity finding included). With names, only those are made.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from explorer.demo import write_demo  # noqa: E402
from explorer.sources import open_image  # noqa: E402
from explorer.tui.app import ExplorerApp  # noqa: E402
from tests.support.pilot import choose_finding, go_to, search, view_copy, wait_for_tree, wait_until_scanned  # noqa: E402
from explorer.tui.widgets.findings import FindingsTable  # noqa: E402

SIZE = (170, 50)


async def main_view(pilot, app):
    await pilot.press("t", "down", "down", "down", "right", "down")


async def deleted_miner(pilot, app):
    await choose_finding(pilot, "/tmp/.x/kworker")


async def flagged_only(pilot, app):
    await pilot.press("exclamation_mark")
    await go_to(pilot, 5, "/var/www/html/up.php")


async def cleanup_layer_changes(pilot, app):
    await go_to(pilot, 4, "/tmp/.x")
    await pilot.press("c", "t", "right")


async def search_results(pilot, app):
    await search(pilot, "*/curl")


def pressing(*keys: str, settle: float = 0.5):
    """Steps that press `keys` and wait for the work they start on workers (the space views, the filter)."""
    async def steps(pilot, app):
        await pilot.press(*keys)
        await pilot.pause(settle)
    return steps


async def findings_by_layer(pilot, app):
    await pilot.press("f", "s")


async def preview_secrets(pilot, app):
    await view_copy(pilot, 2, "/srv/app/.env")


async def preview_hex(pilot, app):
    await view_copy(pilot, 3, "/tmp/.x/kworker")


async def preview_diff(pilot, app):
    await view_copy(pilot, 5, "/etc/passwd")
    await pilot.press("d")
    await pilot.pause(0.5)


async def config_view(pilot, app):
    await pilot.press("i")
    await pilot.pause(0.3)


async def history_at_finding(pilot, app):
    table = app.query_one(FindingsTable)
    row = next(i for i, f in enumerate(table.findings) if f.source == "history")
    table.focus()
    table.move_cursor(row=row)
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause(0.3)


async def concepts(pilot, app):
    await pilot.press("i")
    await pilot.pause(0.2)
    await pilot.press("6")
    await pilot.pause(0.2)


async def export_dialog(pilot, app):
    await go_to(pilot, 2, "/srv/app/.env")
    await pilot.press("x")
    await pilot.pause(0.2)


async def light_theme(pilot, app):
    await pilot.press("ctrl+t", "c")
    await go_to(pilot, 3, "/tmp/.x/kworker")


async def help_screen(pilot, app):
    await pilot.press("question_mark")


async def every_pane(pilot, app):
    """Every pane with content: a flagged file of the miner's layer in the tree, its findings in Details."""
    await go_to(pilot, 3, "/tmp/.x/config.json")
    await pilot.press("f")


async def palette(pilot, app):
    await pilot.press("ctrl+p")
    await pilot.pause(0.2)
    await pilot.press(*"layer 3")
    await pilot.pause(0.5)


async def raw_layer(pilot, app):
    await go_to(pilot, 4, "/var/lib/apt/lists")
    await pilot.press("r")
    await pilot.pause(0.5)


async def tour_opaque(pilot, app):
    await pilot.press("T", "n", "n")
    await wait_for_tree(pilot)


async def finding_detail(pilot, app):
    table = app.query_one(FindingsTable)
    table.focus()
    table.move_cursor(row=table.row_of(next(f for f in table.findings if f.rule_id == "secret.github-pat")))
    await pilot.press("enter")
    await pilot.pause(0.3)


async def copy_menu(pilot, app):
    await finding_detail(pilot, app)
    await pilot.press("y")
    await pilot.pause(0.3)


async def findings_grouped(pilot, app):
    await pilot.press("f", "g")
    await pilot.pause(0.2)


async def report_dialog(pilot, app):
    await pilot.press("R")
    await pilot.pause(0.3)


SHOTS = {
    "main": main_view,
    "deleted-miner-finding": deleted_miner,
    "flagged-only": flagged_only,
    "cleanup-layer-changes": cleanup_layer_changes,
    "search": search_results,
    "wasted-space": pressing("w"),
    "largest-files": pressing("b"),
    "tree-filter": pressing("ctrl+f", *"bin"),
    "findings-by-layer": findings_by_layer,
    "preview-secrets-masked": preview_secrets,
    "preview-hex": preview_hex,
    "preview-diff": preview_diff,
    "config-view": config_view,
    "history-at-finding": history_at_finding,
    "concepts": concepts,
    "export": export_dialog,
    "light-theme": light_theme,
    "help": help_screen,
    "command-palette": palette,
    "raw-layer": raw_layer,
    "tour-opaque-folder": tour_opaque,
    "finding-detail": finding_detail,
    "copy-menu": copy_menu,
    "findings-grouped": findings_grouped,
    "report-export": report_dialog,
    "small-80x24": every_pane,
    "large-300x80": every_pane,
}
SIZES = {"small-80x24": (80, 24), "large-300x80": (300, 80)}
"""Shots not made at SIZE: the smallest terminal the layout is made for, and a large one."""


async def shoot(name, steps, image: str) -> None:
    # every shot starts from the default theme (the app remembers the last one chosen); the user's stays
    settings = tempfile.TemporaryDirectory(prefix="explorer-shot-config-")
    os.environ["XDG_CONFIG_HOME"] = settings.name
    source = open_image(image)
    source.reference = "explorer demo image"
    app = ExplorerApp(source)
    try:
        async with app.run_test(size=SIZES.get(name, SIZE)) as pilot:
            await wait_until_scanned(pilot)
            await steps(pilot, app)
            await pilot.pause(0.3)
            app.save_screenshot(f"{name}.svg", str(HERE))
            print(HERE / f"{name}.svg")
    finally:
        source.close()
        settings.cleanup()


def main(names: list[str]) -> None:
    unknown = sorted(set(names) - set(SHOTS))
    if unknown:
        sys.exit(f"unknown screenshot(s): {', '.join(unknown)}; choose from {', '.join(SHOTS)}")
    with tempfile.TemporaryDirectory() as tmp:
        image = write_demo(tmp, integrity=True)
        for name, steps in SHOTS.items():
            if not names or name in names:
                asyncio.run(shoot(name, steps, image))


if __name__ == "__main__":
    main(sys.argv[1:])
