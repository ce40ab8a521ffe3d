"""The `han` command: one module per command group."""
