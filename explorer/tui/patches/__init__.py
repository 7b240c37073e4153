"""Every place explorer copies, replaces or reaches into Textual's internals, behind one version gate.

The patches (each module says why, with the measurements):

- driver.py    a lone Escape delivered when ESCDELAY ends, quitting without two 0.1 s polls: a copy of
               LinuxDriver.run_input_thread, reading the parser's private deadline; a terminal that went
               away (end of file: the input thread ends and the app exits; a failed write) neither
               spins nor blocks (LinuxDriver.write and close, putting into WriterThread's private queue).
- themecss.py  a theme switch re-parses no CSS it parsed before, and refreshes each widget once: Stylesheet
               subclass writing Stylesheet's private state, Widget.refresh swapped during a restyle, and a
               copy of App.get_css_variables.
- treerows.py  the file tree's rows drawn as Tree._render_line draws them, in a fraction of its time (reads
               about twelve private attributes of Tree and TreeNode); a restyle of the tree repaints its rows
               without Tree._invalidate's rebuild of them and layout of the whole screen, and so does a
               resize (Tree._on_resize's _invalidate, replaced; reads _tree_lines_cached and _line_cache).
- screens.py   a screen opened for the first time is styled once: Screen._on_screen_resume swapped for a
               wrapper that skips the restyle when the stylesheet's epoch (set and stamped by the
               themecss subclass's set_variables, read, add_source and apply) says it cannot change a node;
               reads the private scrollbar attributes of Widget.

The gate: ACTIVE is true only on a Textual release in WRITTEN_FOR (the releases whose copied or replaced
functions hash as in COPIED), unless EXPLORER_TEXTUAL_PATCHES=off. When it is false every patch steps
aside and Textual's own code runs: the stock driver, stylesheet, tree rows and screen resumes. Slower (the Escape
key ~100 ms, a theme switch re-parses, the tree's rows cost more), never broken. Every call site reads
`patches.ACTIVE` when it runs, so a test can fake another release with `gate`.

COPIED names each Textual function a patch copies, replaces or depends on, with a hash of its source;
tests/tui/test_patches.py recomputes them, so a Textual upgrade names exactly which patch to redo:
redo that patch against the new source, then add the release to WRITTEN_FOR and update the hashes
(`python -m explorer.tui.patches` prints them).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
from collections.abc import Mapping

import textual

WRITTEN_FOR = frozenset({"8.0.2", "8.2.0", "8.2.8"})
"""The Textual releases the patches were checked on: COPIED hashes the same, and tests/tui passes with the
patches (the textual_patch tests included) and without them. Written for 8.2.8; the copied functions are
the same from 7.5.0 on, but a release joins only once the tests ran on it (TEXTUAL_SPEC=textual==X
.ci/textual-newest runs them there)."""

COPIED: dict[str, tuple[str, str]] = {
    # "module:Qualified.name": (the patch that copies, replaces or depends on it, sha256 of its source [:16])
    "textual.drivers.linux_driver:LinuxDriver.run_input_thread": ("driver", "d796af6d69db337d"),
    "textual.drivers.linux_driver:LinuxDriver.disable_input": ("driver", "6154c5a7c1743fe9"),
    "textual.drivers.linux_driver:LinuxDriver.write": ("driver", "b78a34033db5a0eb"),
    "textual.drivers.linux_driver:LinuxDriver.close": ("driver", "c32293a24c1a6b91"),
    "textual.drivers._writer_thread:WriterThread.__init__": ("driver", "77d80cc491d74a64"),
    "textual.drivers._writer_thread:WriterThread.write": ("driver", "bc55e763d1eab88e"),
    "textual.drivers._writer_thread:WriterThread.stop": ("driver", "e02ca6dd8268a204"),
    "textual.drivers._writer_thread:WriterThread.run": ("driver", "314021aab4f52726"),
    "textual._parser:Parser.tick": ("driver", "44606084ad3bf7c1"),
    "textual._parser:Parser.feed": ("driver", "390106cde019dd29"),
    "textual._xterm_parser:XTermParser.__init__": ("driver", "d72babb3e40ab7da"),
    "textual.css.stylesheet:Stylesheet.reparse": ("themecss", "dd193eb05f8baeb5"),
    "textual.css.stylesheet:Stylesheet.update_nodes": ("themecss", "386367db2e9d8dee"),
    "textual.css.stylesheet:Stylesheet._parse_rules": ("themecss", "2f1c2d220b672d1b"),
    "textual.css.stylesheet:Stylesheet.parse": ("themecss", "21678f7a02b1178c"),
    "textual.css.stylesheet:CssSource": ("themecss", "fe601f2142a62ed4"),
    "textual.dom:DOMNode._get_default_css": ("themecss", "1e45000be06d54c6"),
    "textual.dom:DOMNode._css_bases": ("themecss", "1d9de1338e2ba814"),
    "textual.widget:Widget._post_register": ("themecss", "bd34440de5520752"),
    "textual.widget:Widget.refresh": ("themecss", "b1ce3392c9c00870"),
    "textual.app:App.get_css_variables": ("themecss", "48b7c7e5d5af1c5c"),
    "textual.widgets._tree:Tree._render_line": ("treerows", "1e31412feec0b029"),
    "textual.widgets._tree:Tree.render_lines": ("treerows", "4e0ae4f0a9bd61c0"),
    "textual.widgets._tree:Tree.notify_style_update": ("treerows", "66ef1e02dd9ee42b"),
    "textual.widgets._tree:Tree._invalidate": ("treerows", "fe3ad2694fee6ca4"),
    "textual.widgets._tree:Tree._on_resize": ("treerows", "ac9951ecac600cb8"),
    "textual.widgets._tree:Tree._build": ("treerows", "8047a6e40cc4803b"),
    "textual.screen:Screen._on_screen_resume": ("screens", "f39caa8ec4424d3c"),
    "textual.app:App.push_screen": ("screens", "d14a25c7a650f288"),
    "textual.app:App._register": ("screens", "8b2138af0f6bb490"),
    "textual.css.stylesheet:Stylesheet.add_source": ("screens", "35414b4abacdb833"),
    "textual.css.stylesheet:Stylesheet.read": ("screens", "5a77e42edd01e13d"),
    "textual.css.stylesheet:Stylesheet.set_variables": ("screens", "f8c97f5d9d755f56"),
    "textual.css.stylesheet:Stylesheet.apply": ("screens", "1faf3687bbba428f"),
    "textual.widget:Widget._post_register": ("screens", "bd34440de5520752"),
}


def gate(version: str, environ: Mapping[str, str]) -> bool:
    """Whether the patches apply on Textual `version` with this environment."""
    return version in WRITTEN_FOR and environ.get("EXPLORER_TEXTUAL_PATCHES", "").lower() != "off"


ACTIVE = gate(textual.__version__, os.environ)
"""The patches are on (read at each use: tests change it)."""


def source_hash(target: str) -> str:
    """The hash COPIED keeps for `target` ("module:Qualified.name"), of the installed Textual's source."""
    module_name, _, qualname = target.partition(":")
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()[:16]


def changed() -> dict[str, str]:
    """The COPIED targets whose source differs in the installed Textual (or is gone): target -> patch."""
    out = {}
    for target, (patch, expected) in COPIED.items():
        try:
            got = source_hash(target)
        except (ImportError, AttributeError, OSError, TypeError):
            got = None
        if got != expected:
            out[target] = patch
    return out

