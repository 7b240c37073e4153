"""The Textual patches (explorer.tui.patches): one version gate, a hash of each Textual function they copy or
replace, and stock Textual behaviour (same screens) on a release they were not written for."""

from __future__ import annotations

import os

import pytest
import textual
from textual.css.stylesheet import Stylesheet
from textual.drivers.linux_driver import LinuxDriver

from explorer.tui import patches
from explorer.tui.app import ExplorerApp
from explorer.tui.patches.themecss import ThemeStylesheet
from explorer.tui.widgets import filetree
from tests.support.pilot import go_to, wait_until_scanned

SIZE = (150, 44)
GO_TO = (3, "/tmp/.x/kworker")
FAKE_NEWER = "99.0.0"
"""A Textual release the patches were not written for."""


def test_the_gate_opens_only_on_the_releases_the_patches_were_written_for():
    assert patches.WRITTEN_FOR and all(patches.gate(v, {}) for v in patches.WRITTEN_FOR)
    assert not patches.gate(FAKE_NEWER, {})
    assert not patches.gate("8.3.0", {})
    written_for = sorted(patches.WRITTEN_FOR)[0]
    assert not patches.gate(written_for, {"EXPLORER_TEXTUAL_PATCHES": "off"})  # the user's way out
    assert patches.gate(written_for, {"EXPLORER_TEXTUAL_PATCHES": "on"})
    assert patches.ACTIVE == patches.gate(textual.__version__, os.environ)


def test_the_textual_functions_the_patches_copy_are_those_they_were_written_for():
    """On a release of the gate, every copied or replaced function hashes as recorded; on any other the
    gate is closed (the patches step aside), and this names the patches to redo before it is opened."""
    changed = patches.changed()
    if textual.__version__ in patches.WRITTEN_FOR:
        assert changed == {}, (f"Textual {textual.__version__} changed what these patches copy, redo them: "
                               + ", ".join(f"{patch} ({target})" for target, patch in changed.items()))
    else:
        assert not patches.ACTIVE, f"the gate is open on Textual {textual.__version__}"
    assert {patch for patch, _hash in patches.COPIED.values()} == {"driver", "themecss", "treerows", "screens"}
    assert all(len(h) == 16 for _patch, h in patches.COPIED.values())


def test_a_hash_names_the_function_it_was_made_from(monkeypatch):
    """A changed source is found: the hash is of the code, not of its name."""
    target = "textual.widgets._tree:Tree._render_line"
    assert patches.source_hash(target) != patches.source_hash("textual.widgets._tree:Tree.render_lines")
    monkeypatch.setitem(patches.COPIED, target, ("treerows", "0" * 16))
    assert patches.changed().get(target) == "treerows"


def test_off_the_gate_the_app_chooses_textuals_driver(monkeypatch):
    app = ExplorerApp.__new__(ExplorerApp)
    monkeypatch.setattr(patches, "ACTIVE", patches.gate(textual.__version__, os.environ))
    on = ExplorerApp.get_driver_class(app)
    monkeypatch.setattr(patches, "ACTIVE", patches.gate(FAKE_NEWER, os.environ))
    off = ExplorerApp.get_driver_class(app)
    if on is not LinuxDriver and on.__name__ == "PromptEscapeDriver":  # a Linux/macOS terminal
        assert issubclass(on, LinuxDriver) and on.__module__ == "explorer.tui.patches.driver"
    assert off.__module__.startswith("textual.")


async def _session(source, rows: list) -> list[str]:
    """Screens of one scripted session: the main screen, a layer's changes, a theme switch, the help."""
    app = ExplorerApp(source)
    screens = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_until_scanned(pilot)
        screens.append(app.export_screenshot())
        await go_to(pilot, GO_TO[0], GO_TO[1])
        await pilot.press("t", "left_square_bracket", "c")
        await pilot.pause()
        screens.append(app.export_screenshot())
        await pilot.press("ctrl+t")
        await pilot.pause()
        screens.append(app.export_screenshot())
        await pilot.press("question_mark")
        await pilot.pause()
        screens.append(app.export_screenshot())
        rows.append(type(app.stylesheet))
    return screens


@pytest.mark.textual_patch  # tests a patch of explorer.tui.patches (CI runs it only where the gate is open)
async def test_off_the_gate_textuals_own_code_draws_the_same_screens(demo_source, monkeypatch, tmp_path):
    """Faking a newer Textual closes the gate: Textual's Stylesheet, Tree rows and Footer run (no patched row
    drawn, no CSS kept), and every screen of the session is the same as with the patches on."""
    drawn = []
    render_row = filetree.render_row
    monkeypatch.setattr(filetree, "render_row", lambda *a, **k: (drawn.append(1), render_row(*a, **k))[1])
    monkeypatch.setattr(patches, "ACTIVE", patches.gate(textual.__version__, {}))
    sheets: list = []
    on = await _session(demo_source, sheets)
    assert patches.ACTIVE and drawn and sheets[-1] is ThemeStylesheet

    monkeypatch.setattr(patches, "ACTIVE", patches.gate(FAKE_NEWER, {}))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "off"))  # the first session's ctrl+t is remembered
    drawn.clear()
    off = await _session(demo_source, sheets)
    assert not drawn, "the patched tree rows drew off the gate"
    assert sheets[-1] is Stylesheet
    assert len(off) == len(on) == len(set(on)) == 4  # four different screens
    for i, (a, b) in enumerate(zip(on, off)):
        assert a == b, f"screen {i} differs off the gate"


def test_the_hashes_are_of_textuals_code_while_a_patch_stands_in_its_place():
    from explorer.tui.patches import screens

    screens.install()  # as an app's start does: Screen._on_screen_resume is now screens.first_resume
    assert patches.source_hash("textual.screen:Screen._on_screen_resume") == \
        patches.COPIED["textual.screen:Screen._on_screen_resume"][1]
