"""A finding accepted with A leaves every pane at once, as after a scan with the ignore file: the findings
list, the file tree's marks (a folder keeps the worst of the other findings below it), the layer's
counts, the details pane and the title's counts (they stayed until a restart)."""

from __future__ import annotations

from explorer.tui.app import ExplorerApp
from explorer.tui.screens.prompt import PromptScreen
from explorer.tui.widgets.details import Details
from explorer.tui.widgets.filetree import FileTree
from explorer.tui.widgets.findings import FindingsTable
from explorer.tui.widgets.layers import LayerTable
from tests.support.pilot import go_to, select_finding, wait_for_tree
from tests.tui.test_panes import label

SHELL = "/var/www/html/up.php"
"""The demo's only finding on this file: backdoor.webshell-php, critical, layer 5; logo.png beside it has a high."""


async def test_an_accepted_finding_leaves_the_tree_the_layer_counts_the_details_and_the_title(
        demo_source, wait_for_scan, tmp_path):
    ignore = tmp_path / "accepted.toml"
    app = ExplorerApp(demo_source, ignore_file=str(ignore))
    async with app.run_test(size=(200, 55)) as pilot:
        await wait_for_scan(pilot, app)
        await go_to(pilot, 5, SHELL)
        tree, details, layers = app.query_one(FileTree), app.query_one(Details), app.query_one(LayerTable)
        assert label(tree, "/var/www/html").endswith("!C") and label(tree, SHELL).endswith("!C")  # cursor: SHELL
        assert "backdoor.webshell-php" in details.plain
        assert "3C 9H 3M 2L" in layers.get_row_at(5)[3].plain
        assert "9 critical 24 high" in app.sub_title

        table = app.query_one(FindingsTable)
        finding = select_finding(pilot, SHELL)
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"our test shell", "enter")
        await wait_for_tree(pilot)

        assert finding not in table.findings and "our test shell" in ignore.read_text()
        assert app.layer_index == 5 and tree.cursor_node.data.path == SHELL  # where it was
        assert "!" not in label(tree, SHELL)
        assert label(tree, "/var/www/html").endswith("!H")  # logo.png's
        assert "backdoor.webshell-php" not in details.plain and SHELL in details.plain
        assert "2C 9H 3M 2L" in layers.get_row_at(5)[3].plain
        assert "8 critical 24 high" in app.sub_title
        assert finding not in app.scan_index.result.findings  # what the preview and the config view are given
