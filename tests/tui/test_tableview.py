"""The virtualised table under the layer list and the findings: layout, header clicks, and what a focus
change redraws (it used to redraw every row on screen: 70-100 ms a key on the big image)."""

from __future__ import annotations

from rich.text import Text
from textual.app import App
from textual.widgets import Static

from explorer.tui.tableview import Column, TableView, fit


class Two(App):
    CSS = "TableView { height: 12; }"

    def __init__(self) -> None:
        super().__init__()
        self.clicked: list[str] = []
        self.highlighted: list[int] = []

    def compose(self):
        yield TableView([Column("n", 4, "n"), Column("name", 8), Column("auto")], id="t")
        yield Static("other", id="other")

    def on_mount(self) -> None:
        rows = [[Text(str(i), justify="right"), Text(f"row{i}"), Text("x" * (i % 3))] for i in range(500)]
        self.query_one(TableView).set_rows(len(rows), rows.__getitem__)

    def on_table_view_header_clicked(self, event: TableView.HeaderClicked) -> None:
        self.clicked.append(event.key)

    def on_table_view_highlighted(self, event: TableView.Highlighted) -> None:
        self.highlighted.append(event.row)


def test_a_cell_is_cut_or_padded_to_its_column():
    assert fit(Text("abcdef"), 4).plain == "abc…"  # a cut is marked
    assert fit(Text("/usr/lib/x.so"), 9, "middle").plain == "/usr…x.so"
    assert fit(Text("ab"), 4).plain == "ab  "
    assert fit(Text("ab", justify="right"), 4).plain == "  ab"
    assert fit(Text("a\nb"), 4).plain == "a b "


async def test_rows_columns_header_and_cursor():
    app = Two()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(TableView)
        assert table.row_count == 500 and table.get_row_at(7)[1].plain == "row7"
        # an auto column is as wide as its widest cell (here its label)
        assert table.lines.row(7).plain == "    7  row7      x    "
        header = table.render_line(0).text
        assert header.startswith(" n     name      auto ")
        table.focus()
        await pilot.press("down", "down")
        assert table.cursor_row == 2 and app.highlighted == [1, 2]
        await pilot.press("end")
        assert table.cursor_row == 499
        assert "row499" in "".join(table.render_line(y).text for y in range(table.size.height))
        await pilot.click(TableView, offset=(1, 0))
        await pilot.click(TableView, offset=(8, 0))
        await pilot.pause()
        assert app.clicked == ["n", "name"]


async def test_a_focus_change_or_a_theme_switch_builds_no_row_again():
    app = Two()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(TableView)
        table.focus()
        await pilot.pause()
        drawn = []
        original = table.row_strip
        table.row_strip = lambda row: drawn.append(row) or original(row)
        app.query_one("#other").can_focus = True
        app.query_one("#other").focus()
        await pilot.pause()
        table.focus()
        await pilot.pause()
        assert drawn == []  # the cursor row styled anew (blurred, focused) over the row it kept; no other row
        app.theme = "textual-light" if app.current_theme.dark else "textual-dark"
        await pilot.pause()
        assert drawn == [] and table.render_line(1).text.strip()  # every row styled anew, none built again
