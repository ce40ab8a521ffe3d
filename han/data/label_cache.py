"""What a labels-only read of data files found, kept in the cache: a warm start need not parse them again.

`han train` reads its data twice: labels, splits and fingerprint first (no text kept), then the texts
again into the token store, which the cache already holds from the first run. Parsing a 1.5M-review
CSV only for its labels took over a minute of a warm start; the same files' bytes always give the
same labels, so that first read is kept here, keyed by a hash of the files' bytes, of how they were
read, and of the reader code itself (a changed reader never serves an old answer). Folders (aclImdb)
are not cached: their unlabelled texts are read anyway. A damaged entry is read again, never trusted.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from han.data.cache import cache_folder, cache_path, write_atomically
from han.data.readers import Example, Labels

FORMAT = 1  # bump when the file's layout changes
SPLIT_CODES = (None, "train", "dev", "test")  # a document's split, stored as its index here
_READER_CODE = [Path(__file__).with_name(name) for name in ("readers.py", "dataset.py", "label_cache.py")]


def cache_key(paths: Sequence[str | Path], read_args: dict) -> str | None:
    """The entry of a labels-only read of `paths` with `read_args`; None when it is not cached (a folder)."""
    if cache_folder() is None or any(Path(p).is_dir() or "aclimdb" in Path(p).name.lower() for p in paths):
        return None
    digest = hashlib.sha256(json.dumps([FORMAT, [str(p) for p in paths], read_args], sort_keys=True).encode())
    try:
        for source in _READER_CODE:
            digest.update(source.read_bytes())
        for path in paths:
            with open(path, "rb") as file:
                digest.update(hashlib.file_digest(file, "sha256").digest())  # ~1 s for 500 MB
    except OSError:
        return None  # an unreadable file: the reader says why
    return digest.hexdigest()[:32]


def load(key: str) -> tuple[list[Example], list[dict], dict] | None:
    """(examples without text, the files' records, fingerprint) of a cached read, or None (absent, damaged)."""
    path = cache_path(f"labels-{key}.npz")
    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            record = json.loads(str(stored["record"]))
            names = stored["label_names"].tolist()  # (n_labels,) label strings
            labels = stored["labels"]  # (n_docs,) index into names
            splits = stored["splits"]  # (n_docs,) index into SPLIT_CODES
            if record["format"] != FORMAT or not len(labels) == len(splits) == record["fingerprint"]["documents"]:
                return None
            bare = Labels()  # one shared Example per (label, split): a pointer per document
            examples = [
                bare(names[label], SPLIT_CODES[split])
                for label, split in zip(labels.tolist(), splits.tolist(), strict=True)
            ]
    except (OSError, ValueError, KeyError, IndexError, TypeError, EOFError, zipfile.BadZipFile):
        return None  # damaged or foreign: the files are read again
    return examples, record["sources"], record["fingerprint"]


def save(key: str, examples: list[Example], sources: list[dict], fingerprint: dict) -> None:
    """Keep a labels-only read under `key` (atomically; a full or read-only cache only costs the speed-up)."""
    path = cache_path(f"labels-{key}.npz")
    if path is None:
        return
    names: dict[str, int] = {}
    labels = np.fromiter((names.setdefault(e.label, len(names)) for e in examples), dtype=np.int32, count=len(examples))
    code = {split: i for i, split in enumerate(SPLIT_CODES)}
    splits = np.fromiter((code[e.split] for e in examples), dtype=np.int8, count=len(examples))
    record = {"format": FORMAT, "sources": sources, "fingerprint": fingerprint}
    buffer = io.BytesIO()
    np.savez(
        buffer, labels=labels, splits=splits, label_names=np.array(list(names)), record=np.array(json.dumps(record))
    )
    write_atomically(path, buffer.getvalue())
