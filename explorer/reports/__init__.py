"""Report formats: table, JSON and SARIF, all built from a finished analysis and its findings."""
