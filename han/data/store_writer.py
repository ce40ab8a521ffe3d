"""Building a token store (han/data/store.py describes its files): documents are pushed one at a time as they are read.

    with StoreWriter(folder, limits, workers) as writer:   # or build_store(documents, folder, ...)
        for text, sentences in documents:
            writer.add(text, sentences)
        corpus = writer.finish()

Documents are tokenised a chunk at a time, by `workers` processes (at most two chunks each in flight, so
memory stays bounded whatever the corpus size) and written in input order, so the store is byte-identical
for any number of workers. Everything is written to a temporary folder renamed into place by `finish`;
an error or Ctrl-C removes it: an interrupted build leaves nothing that is later trusted.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import weakref
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from han.data.cache import cache_path
from han.data.store import ARRAYS, FORMAT, Corpus, DamagedStore, Document, open_store
from han.data.text import TextLimits, tokenize_document

CHUNK_DOCS = 1_000  # documents per unit of work: small enough to bound memory, large enough to amortise IPC


def _tokenize_chunk(job: tuple[list[Document], TextLimits]) -> tuple[list[str], np.ndarray, list[int], list[int], dict]:
    """One chunk of documents -> its own lexicon, word ids into it, sentence lengths, sentences per document.

    Runs in a worker process; the lexicon is the chunk's own (first appearance), merged in order by the parent.
    """
    documents, limits = job
    local: dict[str, int] = {}
    ids: list[int] = []
    lengths: list[int] = []
    per_doc: list[int] = []
    truncated: Counter[str] = Counter()
    for text, given in documents:
        doc = tokenize_document(text, given, limits)
        for sentence in doc.sentences:
            ids.extend(local.setdefault(token, len(local)) for token in sentence)
            lengths.append(len(sentence))
        per_doc.append(len(doc.sentences))
        truncated.update(doc.truncated.keys())
    return list(local), np.asarray(ids, dtype=np.int32), lengths, per_doc, dict(truncated)


class StoreWriter:
    """Tokenises pushed documents into a new store at `folder` (a damaged one there is replaced)."""

    def __init__(self, folder: Path, limits: TextLimits = TextLimits(), workers: int = 1, key: str = "") -> None:
        self.folder, self.limits, self.workers, self.key = folder, limits, workers, key
        folder.parent.mkdir(parents=True, exist_ok=True)
        self.partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
        self.files = {name: open(self.partial / f"{name}.i32", "wb") for name in ARRAYS}  # noqa: SIM115 (closed in finish/abort)
        self.hashes = {name: hashlib.sha256() for name in ARRAYS}
        self.counts = dict.fromkeys(ARRAYS, 0)
        self.lexicon: dict[str, int] = {}
        self.truncated: Counter[str] = Counter()
        self.chunk: list[Document] = []
        self.pending: deque = deque()  # chunks being tokenised by the pool, oldest first
        self.pool: Any = None  # started with the first chunk when workers > 1

    def add(self, text: str | None, sentences: list[list[str]] | None = None) -> None:
        """One more document: raw text, or sentences already tokenised."""
        self.chunk.append((text, sentences))
        if len(self.chunk) >= CHUNK_DOCS:
            self._submit()

    def _submit(self) -> None:
        job, self.chunk = (self.chunk, self.limits), []
        if self.workers <= 1:
            self._write(_tokenize_chunk(job))
            return
        if self.pool is None:
            self.pool = multiprocessing.get_context(_start_method()).Pool(self.workers)
        self.pending.append(self.pool.apply_async(_tokenize_chunk, (job,)))
        while len(self.pending) >= 2 * self.workers:  # backpressure: the reader waits for the oldest chunk
            self._write(self.pending.popleft().get())

    def _write(self, tokenised: tuple[list[str], np.ndarray, list[int], list[int], dict]) -> None:
        """Append one tokenised chunk to the array files, its lexicon merged into the store's."""
        local, ids, lengths, per_doc, cut = tokenised
        remap = np.asarray([self.lexicon.setdefault(token, len(self.lexicon)) for token in local], dtype=np.int32)
        for name, values in (
            ("words", remap[ids] if len(ids) else ids),  # (chunk words,) lexicon ids
            ("sentence_lengths", np.asarray(lengths, dtype=np.int32)),
            ("doc_sentences", np.asarray(per_doc, dtype=np.int32)),
        ):
            data = values.astype("<i4", copy=False).tobytes()
            self.files[name].write(data)
            self.hashes[name].update(data)
            self.counts[name] += len(values)
        self.truncated.update(cut)

    def finish(self) -> Corpus:
        """Tokenise what is left, write the lexicon and meta.json (last), move the store into place, open it."""
        if self.chunk:
            self._submit()
        while self.pending:
            self._write(self.pending.popleft().get())
        self._close()
        (self.partial / "lexicon.json").write_text(json.dumps(list(self.lexicon), ensure_ascii=False), encoding="utf-8")
        meta = {
            "format": FORMAT,
            "documents": self.counts["doc_sentences"],
            "sentences": self.counts["sentence_lengths"],
            "words": self.counts["words"],
            "lexicon": len(self.lexicon),
            "documents_cut": dict(sorted(self.truncated.items())),  # limit -> documents it cut
            "sha256": {name: self.hashes[name].hexdigest() for name in ARRAYS},
            "key": self.key,
            "limits": asdict(self.limits),
        }
        (self.partial / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")  # marks the store complete
        if self.folder.exists():
            shutil.rmtree(self.folder)
        os.replace(self.partial, self.folder)
        return open_store(self.folder)

    def _close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool = None
        for handle in self.files.values():
            handle.close()

    def abort(self) -> None:
        """Stop and remove everything written: nothing half-built stays behind."""
        self._close()
        shutil.rmtree(self.partial, ignore_errors=True)

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is not None:
            self.abort()


def _start_method() -> str:
    """How tokenising workers start: fork where the platform has it (Linux). The workers only run the
    tokeniser, and a forked worker does not re-run the caller's main module, so a plain script that calls
    han.training.train works without an `if __name__ == "__main__":` guard (under forkserver or spawn, each worker
    ran the whole script again and the pool restarted them for ever). Elsewhere spawn, whose rule is that
    guard, as for any Python multiprocessing."""
    return "fork" if sys.platform.startswith("linux") else "spawn"


def build_store(
    documents: Iterable[Document], folder: Path, limits: TextLimits = TextLimits(), workers: int = 1, key: str = ""
) -> Corpus:
    """Tokenise `documents` into a new store at `folder` and open it."""
    with StoreWriter(folder, limits, workers, key) as writer:
        for text, sentences in documents:
            writer.add(text, sentences)
        return writer.finish()


def corpus_store(
    fill: Callable[[StoreWriter], None], key: str, limits: TextLimits = TextLimits(), workers: int = 1
) -> Corpus:
    """The store identified by `key` (a hash of its documents): opened from the cache, else built there by
    `fill(writer)`, which adds every document in order.

    A damaged cached store is reported on stderr and rebuilt. With the cache off ($HAN_CACHE=off), or
    unwritable, the store goes to a temporary folder removed once the corpus is no longer used.
    """
    folder = _store_folder(key)
    if folder is not None:
        try:
            cached = cached_store(key)
        except DamagedStore as error:
            print(f"warning: {error}; building it again", file=sys.stderr)
        else:
            if cached is not None:
                return cached
        try:
            return _build(fill, folder, limits, workers, key)
        except OSError as error:  # a read-only or full cache only costs the reuse
            print(
                f"warning: cannot write the token store to {folder.parent} ({error}); using a temporary one",
                file=sys.stderr,
            )
    scratch = Path(tempfile.mkdtemp(prefix="han-store-"))
    corpus = _build(fill, scratch / "store", limits, workers, key)
    weakref.finalize(corpus, shutil.rmtree, scratch, True)
    return corpus


def cached_store(key: str) -> Corpus | None:
    """The store identified by `key` if the cache holds a complete one (None: none, or the cache is off);
    DamagedStore when it holds a damaged one."""
    folder = _store_folder(key)
    if folder is None or not (folder / "meta.json").exists():
        return None
    return open_store(folder)


def _store_folder(key: str) -> Path | None:
    """Where the cache keeps the store identified by `key` (None: the cache is off)."""
    return cache_path(f"store-{key}")


def _build(fill: Callable[[StoreWriter], None], folder: Path, limits: TextLimits, workers: int, key: str) -> Corpus:
    with StoreWriter(folder, limits, workers, key) as writer:
        fill(writer)
        return writer.finish()
