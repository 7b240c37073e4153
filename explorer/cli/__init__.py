"""The command-line front end: the parser and global flags (parser.py), settings from the environment and
config files (settings.py), shell completion, and one module per headless command (commands/).

It never imports the Textual UI (explorer.tui): explorer.main dispatches the UI commands to it."""
