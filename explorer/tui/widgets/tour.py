"""The guided tour's panel (`T`): docked under the file tree and details (the right column; under every
pane in a short terminal, where the column is too small for it), one step at a time, each step selecting
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
    """In the right column, kept mounted once opened (escape hides it, T shows it again), and as tall as its
    tallest step: a panel that comes or goes redraws the panes it resizes (the whole screen, 100 ms and
    more on a big image, when it was docked under both columns), and one that changed height at each step
    did so at each step; a step now redraws only what it moves."""

    BINDINGS = [
        Binding("n,right,space", "step(1)", "Next", id="tour.next", tooltip="The next step of the tour"),
        Binding("p,left,b", "step(-1)", "Back", id="tour.back", tooltip="The previous step of the tour"),
        Binding("escape,q", "leave", "Leave tour", id="tour.leave", tooltip="Leave the guided tour"),
    ]
    DEFAULT_CSS = """
    TourPanel { dock: bottom; height: auto; max-height: 35%; border: heavy $warning;
                background: $boost; padding: 0 1; margin-bottom: 1; }
    #right > TourPanel { max-height: 45%; margin-bottom: 0; }
    """

    def __init__(self, steps: list[TourStep]) -> None:
        super().__init__()
        self.steps = steps
        self.at = 0
        self._lit: str | None = None
        """The selector of the highlighted pane."""
        self._fitted: tuple[int, int] | None = None
        """(steps id, width) the height was fitted for."""
        self._pending: tuple[list[TourStep], int] | None = None
        """(steps, index) of the step shown whose panes have not moved yet (`show_step`)."""
        self._leaving = False
        """Left, and blanked, but not yet out of the layout (`action_leave`)."""

    def on_mount(self) -> None:
        self.border_title = "Guided tour"
        self.border_subtitle = "n/→ next · p/← back · escape leaves"
        self.show_step()

    def restart(self, steps: list[TourStep]) -> None:
        """The tour again from its first step (its steps made anew: the findings may have changed)."""
        self.steps = steps
        self.at = 0
        self._leaving = False
        self.visible = True
        self.display = True
        self.show_step()

    @property
    def step(self) -> TourStep:
        return self.steps[self.at]

    def _text(self, at: int) -> Text:
        step = self.steps[at]
        text = Text(f"{at + 1}/{len(self.steps)}  {step.title}\n", style="bold")
        text.append(step.text)
        return text

    def _fit_height(self) -> None:
        """The height of the tallest step at the panel's width (max-height still caps it)."""
        width = max(1, self.parent.size.width - self.styles.gutter.width)
        if self._fitted == (id(self.steps), width):
            return
        self._fitted = (id(self.steps), width)
        console = self.app.console
        lines = max(len(self._text(at).wrap(console, width)) for at in range(len(self.steps)))
        self.styles.height = lines + self.styles.gutter.height

    def on_resize(self) -> None:
        self._fit_height()

    def show_step(self) -> None:
        """The step's text and highlight now; the panes move to it (`go`) once that is drawn. A step that
        selects another layer rebuilds the file tree and redraws most of the screen (40-60 ms on the bench
        image's 45k-entry layer): done in the same frame, the panel's own answer to the key waited for
        it, and came 90-117 ms after the key in tmux (bench/bench_ui.py)."""
        step = self.step
        self._fit_height()
        self.update(self._text(self.at))
        app = self.app
        pane = PANES[step.pane]
        if pane != self._lit:
            self._unlight()
            app.query_one(pane).add_class(HIGHLIGHT)
            self._lit = pane
        self._pending = (self.steps, self.at)
        self.call_after_refresh(self._go, self._pending)

    def _go(self, pending: tuple[list[TourStep], int]) -> None:
        """Move the panes to a step shown earlier, unless another step (or leaving) came since."""
        if pending is self._pending and self.display and self.is_attached:
            self._pending = None
            go(self.app, pending[0][pending[1]])

    def _unlight(self) -> None:
        if self._lit is not None:
            self.app.query_one(self._lit).remove_class(HIGHLIGHT)
            self._lit = None

    def action_step(self, delta: int) -> None:
        target = self.at + delta
        if 0 <= target < len(self.steps):
            self.at = target
            self.show_step()

    def action_leave(self) -> None:
        """The panel is blanked at once (no pane changes size: a cheap frame), and taken out of the layout
        after that frame, when the tree and the details grow back into its rows. Done in one frame, the
        answer to escape waited for both panes to be laid out and drawn again: 81-112 ms in tmux."""
        self._pending = None
        self._unlight()
        self.app.query_one(PANES["layers"]).focus()
        self.visible = False
        self._leaving = True
        self.call_after_refresh(self._fold)

    def _fold(self) -> None:
        if self._leaving:  # (not if T showed it again meanwhile)
            self._leaving = False
            self.display = False  # (visible again with `restart`)


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
    steps = tour_steps(app.scan_index)
    panels = app.query(TourPanel)
    if panels:
        panel = panels.first()
        panel.restart(steps)
    else:
        panel = TourPanel(steps)
        short = app.screen.has_class("-short")  # (Textual's class for a height under the app's breakpoint)
        (app.screen if short else app.query_one("#right")).mount(panel)
    panel.focus()
    return panel
