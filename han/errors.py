"""The one exception type the library raises for bad input; the CLI and app show its message."""


class HanError(Exception):
    """A problem with the user's data, text or checkpoint, explained in plain words."""


def check_output_file(option: str, value: str) -> None:
    """An output file's folder must exist and the name must not be a folder: checked before any work."""
    from pathlib import Path

    path = Path(value).expanduser()
    if path.is_dir():
        raise HanError(f"{option} {value} is a folder; give a file name")
    if not path.parent.is_dir():
        raise HanError(f"{option} {value}: the folder {path.parent} does not exist")
