"""`python -m explorer.tui.patches`: the installed Textual's hash of each function in COPIED (! where it differs)."""

import textual

from explorer.tui import patches

print(f"textual {textual.__version__}; patches {'on' if patches.ACTIVE else 'off'}")
for target, (patch, expected) in patches.COPIED.items():
    got = patches.source_hash(target)
    print(f"{'  ' if got == expected else '! '}{target}: {got}  ({patch})")
