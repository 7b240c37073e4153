"""The Textual UI. It gets a finished scan (made in a worker) and never parses a tar itself.

ESCAPE_DELAY_MS is how long a lone ESC byte waits for the rest of an escape sequence before it counts
as the Escape key. Textual reads it from the ESCDELAY environment variable (as curses does) once,
when textual.constants is first imported, so it is set here: every import of the UI goes through
this package before it imports textual (the command line imports textual nowhere else). A value the
user set is kept (e.g. ESCDELAY=100 over a slow link that splits escape sequences).

Why 25 ms and not Textual's 100: a terminal emulator writes a key's whole escape sequence (an arrow,
a function key, a mouse report, Alt+key) in one write, which the pty hands over in one read, so the
parser only ever waits when a read ends right after an ESC: the Escape key itself, or a sequence
split by a slow link. Terminal programs wait about as long: neovim's default ttimeoutlen is 50 ms,
and 10-25 ms is what users commonly set for vim (ttimeoutlen), tmux (escape-time) and curses programs
(ESCDELAY). 25 ms keeps the Escape key well under 100 ms. Textual's input thread only honours a
delay below 0.1 s with explorer.tui.patches.driver.
"""

import os

ESCAPE_DELAY_MS = 25
os.environ.setdefault("ESCDELAY", str(ESCAPE_DELAY_MS))
