"""The Textual UI. It gets a finished scan (made in a worker) and never parses a tar itself.

ESCAPE_DELAY_MS is how long a lone ESC byte waits for the rest of an escape sequence before it counts
as the Escape key. Textual reads it from the ESCDELAY environment variable (as curses does) once,
when textual.constants is first imported, so it is set here: every import of the UI goes through
this package before it imports textual (the command line imports textual nowhere else). A value the
user set is kept (e.g. ESCDELAY=100 over a slow link that splits escape sequences).

Why 10 ms and not Textual's 100: a terminal emulator writes a key's whole escape sequence (an arrow,
a function key, a mouse report, Alt+key) in one write, which the pty hands over in one read, so the
parser only ever waits when a read ends right after an ESC: the Escape key itself, or a sequence
split by a slow link. 10 ms is tmux's own default escape-time since tmux 3.5 (tmux/tmux#3844; it was
500), the same wait for the same question one layer out; neovim's default ttimeoutlen is 50 ms, and
10-25 ms is what users commonly set for vim and curses programs (ESCDELAY). The Escape key is the
only one that pays it, on top of what it draws: at 25 ms, closing a view took 30 ms more in tmux than
the app's own share (bench/bench_ui.py), which put leaving the tour over 100 ms. Textual's input
thread only honours a delay below 0.1 s with explorer.tui.patches.driver.
"""

import os

ESCAPE_DELAY_MS = 10
os.environ.setdefault("ESCDELAY", str(ESCAPE_DELAY_MS))
