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


async def wait_for_tree(pilot, attempts: int = 200) -> None:
    """Until the file tree shows the selected layer (big layers are built on a worker) and has settled."""
    from explorer.tui.widgets.filetree import FileTree

    app = pilot.app
    tree = app.query_one(FileTree)
    for _ in range(attempts):
        await pilot.pause()
        if tree.view is not None and tree.view.layer == app.layer_index and not tree.loading:
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise TimeoutError("the file tree did not show the selected layer")


async def go_to(pilot, layer: int, path: str) -> None:
    """Select `layer` and put the file tree's cursor on `path` (as choosing a finding or a search result does)."""
    pilot.app.show_copy(layer, path)
    await wait_for_tree(pilot)


def select_finding(pilot, path: str):
    """Focus the findings table with its cursor on the first finding on `path`; that finding."""
    from explorer.tui.widgets.findings import FindingsTable

    table = pilot.app.query_one(FindingsTable)
    finding = next(f for f in table.findings if f.path == path)
    table.focus()
    table.move_cursor(row=table.row_of(finding))
    return finding


async def choose_finding(pilot, path: str) -> None:
    """Select the first finding on `path` in the findings table and press enter twice, as a person would
    (its detail view, then its file)."""
    select_finding(pilot, path)
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press("enter")
    await wait_for_tree(pilot)


async def view_copy(pilot, layer: int, path: str, attempts: int = 100) -> str:
    """Open the viewer on the copy of `path` in `layer` (keys t, v) and return the text it shows."""
    from explorer.tui.screens.viewer import FileViewer
    from explorer.tui.widgets.filetree import FileTree

    app = pilot.app
    await go_to(pilot, layer, path)
    assert app.query_one(FileTree).cursor_node.data.path == path, path
    await pilot.press("t")
    await pilot.pause()
    await pilot.press("v")
    assert isinstance(app.screen, FileViewer)
    for _ in range(attempts):
        await pilot.pause(0.05)
        if app.screen.loaded:
            break
    return str(app.screen.query_one("#content").render())


async def search(pilot, query: str, attempts: int = 200):
    """Open the search ('/'), type `query` and wait for its results; returns the search screen."""
    from explorer.tui.screens.search import SearchScreen

    await pilot.press("slash")
    screen = pilot.app.screen
    assert isinstance(screen, SearchScreen)
    await pilot.press(*query)
    for _ in range(attempts):
        await pilot.pause(0.02)
        if screen.searched == query:
            return screen
    raise TimeoutError("the search did not answer")
