"""Make the SVG screenshots in this folder from the real UI on the built-in demo image.

    python screenshots/make_screenshots.py

Each screenshot drives the app headless (Textual's run_test) the way a person would with keys.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from explorer.demo import write_demo  # noqa: E402
from explorer.sources import open_image  # noqa: E402
from explorer.tui.app import ExplorerApp  # noqa: E402
from explorer.tui.pilot import choose_finding, wait_until_scanned  # noqa: E402
from explorer.tui.widgets.filetree import FileTree  # noqa: E402

SIZE = (170, 50)


async def main_view(pilot, app):
    await pilot.press("t", "down", "down", "down", "right", "down")


async def deleted_miner(pilot, app):
    await choose_finding(pilot, "/tmp/.x/kworker")


async def cleanup_layer_changes(pilot, app):
    await pilot.press("l", "up")
    await pilot.press("c", "t")
    tree = app.query_one(FileTree)
    for path in ("/tmp/.x", "/srv/app/.env"):
        tree.reveal(path)
        await pilot.pause()


async def help_screen(pilot, app):
    await pilot.press("question_mark")


async def viewer(pilot, app):
    app.select_layer(3)
    app.query_one(FileTree).reveal("/tmp/.x/config.json")
    await pilot.pause()
    await pilot.press("t")
    await pilot.pause()
    await pilot.press("v")
    await pilot.pause(0.5)


async def palette(pilot, app):
    await pilot.press("ctrl+p")
    await pilot.pause(0.2)
    await pilot.press(*"layer 3")
    await pilot.pause(0.5)


SHOTS = {
    "main": main_view,
    "deleted-miner-finding": deleted_miner,
    "cleanup-layer-changes": cleanup_layer_changes,
    "help": help_screen,
    "file-viewer": viewer,
    "command-palette": palette,
}


async def shoot(name, steps, image: str) -> None:
    source = open_image(image)
    source.reference = "explorer demo image"
    app = ExplorerApp(source)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until_scanned(pilot)
            await steps(pilot, app)
            await pilot.pause(0.3)
            app.save_screenshot(f"{name}.svg", str(HERE))
            print(HERE / f"{name}.svg")
    finally:
        source.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        image = write_demo(tmp)
        for name, steps in SHOTS.items():
            asyncio.run(shoot(name, steps, image))


if __name__ == "__main__":
    main()
