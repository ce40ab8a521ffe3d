"""The one exception type the library raises for bad input; the CLI and app show its message."""


class HanError(Exception):
    """A problem with the user's data, text or checkpoint, explained in plain words."""
