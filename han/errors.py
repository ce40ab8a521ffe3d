"""The one exception type the library raises for bad input; the CLI and app show its message."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class HanError(Exception):
    """A problem with the user's data, text or checkpoint, explained in plain words."""


class NotTrainingData(HanError):
    """Data given to re-make a checkpoint's split that is not the data it was trained on. The message ends with
    what to do at the command line; `reason` is without it, for the app to say what to do there instead."""

    def __init__(self, reason: str, advice: str) -> None:
        super().__init__(f"{reason}. {advice}")
        self.reason = reason


def check_output_file(option: str, value: str, overwrite: bool = False, inputs: Iterable[str] = ()) -> None:
    """Checked before any work: an output file's folder must exist, its name must not be a folder, nor one of
    the command's `inputs` (writing it would destroy what is being read), and an existing file is replaced
    only with `overwrite` (the command's --overwrite)."""
    path = Path(value).expanduser()
    if path.is_dir():
        raise HanError(f"{option} {value} is a folder; give a file name")
    if not path.parent.is_dir():
        raise HanError(f"{option} {value}: the folder {path.parent} does not exist")
    if any(Path(source).expanduser().resolve() == path.resolve() for source in inputs if source != "-"):
        raise HanError(f"{option} {value} is also the input: writing it would destroy it; give another file name")
    if path.exists() and not overwrite:
        raise HanError(f"{option} {value} exists; give --overwrite to replace it, or another file name")
