"""A disk cache for work that training runs on the same data repeat exactly (tokens, word2vec).

Every file is named by a hash of all its inputs, so a hit is the same result recomputed; files
are written atomically and a damaged or unwritable cache only costs the speed-up.
"""

from __future__ import annotations

import os
from pathlib import Path


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
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError:
        pass  # a read-only or full disk only costs the speed-up
