"""The guided tour's panel (`T`): docked under the main panes, one step at a time, each step selecting
the layer and path where its concept appears and highlighting the pane that shows it.

The panel holds the focus while the tour runs (its keys: n/→/space next, p/← back, escape/q leave); the
app's own keys (r, v, i, ...) still work, so a teacher can open the raw view at the whiteout step.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from explorer.tui.tour import TourStep, tour_steps
from explorer.tui.widgets.details import Details
from explorer.tui.widgets.findings import FindingsTable

PANES = {"layers": "#layers", "files": "#files", "findings": "#findings", "details": "#details"}
HIGHLIGHT = "tour-highlight"
"""The class the highlighted pane gets (styled in app.tcss: the app's CSS outranks a widget's DEFAULT_CSS)."""


class TourPanel(Static, can_focus=True):
    BINDINGS = [
        Binding("n,right,space", "step(1)", "Next", id="tour.next", tooltip="The next step of the tour"),
        Binding("p,left,b", "step(-1)", "Back", id="tour.back", tooltip="The previous step of the tour"),
        Binding("escape,q", "leave", "Leave tour", id="tour.leave", tooltip="Leave the guided tour"),
    ]
    DEFAULT_CSS = """
    TourPanel { dock: bottom; height: auto; max-height: 35%; border: heavy $warning;
                background: $boost; padding: 0 1; margin-bottom: 1; }
    """

    def __init__(self, steps: list[TourStep]) -> None:
        super().__init__()
        self.steps = steps
        self.at = 0

    def on_mount(self) -> None:
        self.border_title = "Guided tour"
        self.show_step()

    @property
    def step(self) -> TourStep:
        return self.steps[self.at]

    def show_step(self) -> None:
        step = self.step
        text = Text(f"{self.at + 1}/{len(self.steps)}  {step.title}\n", style="bold")
        text.append(step.text)
        self.update(text)
        self.border_subtitle = "n/→ next · p/← back · escape leaves"
        app = self.app
        for pane in PANES.values():
            app.query_one(pane).remove_class(HIGHLIGHT)
        app.query_one(PANES[step.pane]).add_class(HIGHLIGHT)
        go(app, step)

    def action_step(self, delta: int) -> None:
        target = self.at + delta
        if 0 <= target < len(self.steps):
            self.at = target
            self.show_step()

    def action_leave(self) -> None:
        for pane in PANES.values():
            self.app.query_one(pane).remove_class(HIGHLIGHT)
        self.app.query_one(PANES["layers"]).focus()
        self.remove()


def go(app, step: TourStep) -> None:
    """Select the step's layer, put the tree's cursor on its path and the findings' on its finding."""
    index = app.scan_index
    if step.layer is not None:
        if step.path:
            app.show_copy(step.layer, step.path, focus_tree=False)
        else:
            app._move_layer_cursor(step.layer)
            app.select_layer(step.layer)
            details = app.query_one(Details)
            # the tree's first highlight after the switch shows its root's details: the layer's, after it
            app.call_after_refresh(lambda: details.show_layer(index, index.analysis.layers[step.layer]))
    if step.finding is not None:
        table = app.query_one(FindingsTable)
        row = next((i for i, f in enumerate(table.findings) if f is step.finding), None)
        if row is not None:
            table.move_cursor(row=row)


def start_tour(app) -> TourPanel:
    """Open the tour on the app's main screen at its first step (again from the start if it is open)."""
    for old in app.query(TourPanel):
        old.remove()
    panel = TourPanel(tour_steps(app.scan_index))
    app.screen.mount(panel)
    panel.focus()
    return panel
