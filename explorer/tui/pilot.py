"""Headless driving of the app, shared by the tests and the screenshot script (no product logic)."""

from __future__ import annotations


async def wait_until_scanned(pilot, attempts: int = 600) -> None:
    """Until the scan result is on screen and the layer list's own first selection has settled."""
    for _ in range(attempts):
        await pilot.pause(0.05)
        if pilot.app.scan_index is not None:
            await pilot.pause(0.2)
            return
    raise TimeoutError("the scan did not finish")


async def choose_finding(pilot, path: str) -> None:
    """Select the first finding on `path` in the findings table and press enter, as a person would."""
    from explorer.tui.widgets.findings import FindingsTable

    app = pilot.app
    row = next(i for i, f in enumerate(app.scan_index.result.findings) if f.path == path)
    table = app.query_one(FindingsTable)
    table.focus()
    table.move_cursor(row=row)
    await pilot.press("enter")
    await pilot.pause()


async def view_copy(pilot, layer: int, path: str, attempts: int = 100) -> str:
    """Open the viewer on the copy of `path` in `layer` (keys t, v) and return the text it shows."""
    from explorer.tui.screens.viewer import FileViewer
    from explorer.tui.widgets.filetree import FileTree

    app = pilot.app
    app.select_layer(layer)
    assert app.query_one(FileTree).reveal(path), path
    await pilot.pause()
    await pilot.press("t")
    await pilot.pause()
    await pilot.press("v")
    assert isinstance(app.screen, FileViewer)
    for _ in range(attempts):
        await pilot.pause(0.05)
        if app.screen.loaded:
            break
    return str(app.screen.query_one("#content").render())
