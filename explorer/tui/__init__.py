"""The Textual UI. It gets a finished scan (made in a worker) and never parses a tar itself."""
