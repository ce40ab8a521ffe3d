"""A disk cache for work that training runs on the same data repeat exactly (tokens, word2vec).

Every file is named by a hash of all its inputs, so a hit is the same result recomputed; files
are written atomically and a damaged or unwritable cache only costs the speed-up.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def cache_folder() -> Path | None:
    """Where cached results are kept: $HAN_CACHE ("off" disables), else ~/.cache/han."""
    value = os.environ.get("HAN_CACHE", str(Path.home() / ".cache" / "han"))
    return None if value.strip().lower() in ("", "off", "0", "none") else Path(value)


def cache_path(name: str) -> Path | None:
    folder = cache_folder()
    return folder / name if folder else None


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader never sees half a file; errors are ignored."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replaced_when_done(path, "wb") as f:
            f.write(data)
    except OSError:
        pass  # a read-only or full disk only costs the speed-up


@contextlib.contextmanager
def replaced_when_done(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """A file written beside `path` (named by this process, so that concurrent writers do not mix) that
    replaces `path` only when the block finished without error: an error half-way (a full disk, a malformed
    row in the millionth review, Ctrl-C) leaves an earlier `path` as it was, and no partial file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    text: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
    try:
        with open(partial, mode, **text) as f:
            yield f
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
