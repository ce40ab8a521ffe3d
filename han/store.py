"""Tokenised corpora as flat integer arrays on disk, memory-mapped: bounded memory at any corpus size.

A store is a folder:

    lexicon.json          every distinct token in order of first appearance; a token's id is its position
    words.i32             lexicon ids of every word of every sentence, documents back to back
    sentence_lengths.i32  words per sentence
    doc_sentences.i32     sentences per document (0 for a document without a word)
    meta.json             counts, byte sizes and sha256 of each file, the limits; written last

It is built from a stream of documents, one chunk at a time (tokenised by `workers` processes, in
order, so that the store is byte-identical for any number of workers), in a temporary folder that is
renamed into place once complete: an interrupted build leaves nothing that is later trusted.
Opening checks the files against meta.json (sizes, hashes, boundary sums) and refuses a damaged
store; `corpus_store` then builds it again. Nothing here holds the corpus as Python objects.
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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .cache import cache_folder
from .errors import HanError
from .text import TextLimits, tokenize_document

Document = tuple[str | None, list[list[str]] | None]  # raw text, or sentences already tokenised (Tang .ss)
ARRAYS = ("words", "sentence_lengths", "doc_sentences")
FORMAT = 1  # bump when the layout changes: older stores are then rebuilt
CHUNK_DOCS = 1_000  # documents per unit of work: small enough to bound memory, large enough to amortise IPC


class DamagedStore(HanError):
    """A store whose files do not match its meta.json (truncated, corrupt, or from another format)."""


class Corpus:
    """A store opened read-only: flat arrays (memory-mapped) and the offsets that cut them into documents."""

    def __init__(self, folder: Path, lexicon: list[str], arrays: dict[str, np.ndarray], meta: dict) -> None:
        self.folder = folder
        self.lexicon = lexicon  # token strings, index = lexicon id
        self.words = arrays["words"]  # (n_words,) int32 lexicon ids, all sentences back to back
        self.sentence_lengths = arrays["sentence_lengths"]  # (n_sentences,) int32 words per sentence
        self.doc_sentences = arrays["doc_sentences"]  # (n_docs,) int32 sentences per document
        self.sentence_starts = _offsets(self.sentence_lengths)  # (n_sentences + 1,) int64 into words
        self.doc_starts = _offsets(self.doc_sentences)  # (n_docs + 1,) int64 into sentences
        self.meta = meta

    def __len__(self) -> int:
        return len(self.doc_sentences)

    def sentence_range(self, doc: int) -> tuple[int, int]:
        """[first, end) sentence indices of document `doc`."""
        return int(self.doc_starts[doc]), int(self.doc_starts[doc + 1])

    def doc_ids(self, doc: int) -> list[np.ndarray]:
        """Lexicon ids of each sentence of document `doc`."""
        first, end = self.sentence_range(doc)
        starts = self.sentence_starts
        return [self.words[starts[s] : starts[s + 1]] for s in range(first, end)]

    def sentences(self, doc: int) -> list[list[str]]:
        """The tokens of document `doc`, one list per sentence."""
        return [[self.lexicon[i] for i in ids.tolist()] for ids in self.doc_ids(doc)]

    def token_counts(self, docs: Iterable[int], chunk: int = 10_000) -> np.ndarray:
        """(len(lexicon),) occurrences of every token in documents `docs`, counted a chunk at a time."""
        counts = np.zeros(len(self.lexicon), dtype=np.int64)
        order = np.asarray(list(docs), dtype=np.int64)
        for start in range(0, len(order), chunk):
            for first, end in _merged_ranges(self._word_ranges(order[start : start + chunk])):
                counts += np.bincount(self.words[first:end], minlength=len(self.lexicon))
        return counts

    def _word_ranges(self, docs: np.ndarray) -> Iterator[tuple[int, int]]:
        """[first, end) word positions of each document (a document's words are contiguous)."""
        sentence_first, sentence_end = self.doc_starts[docs], self.doc_starts[docs + 1]
        starts = self.sentence_starts
        yield from zip(starts[sentence_first].tolist(), starts[sentence_end].tolist(), strict=True)


class SentenceStream:
    """The sentences of some documents of one or more stores as token lists, in order; iterable many times.

    gensim's word2vec reads its training text through it, a sentence at a time.
    """

    def __init__(self, *parts: tuple[Corpus, Iterable[int]]) -> None:
        self.parts = [(corpus, np.asarray(list(docs), dtype=np.int64)) for corpus, docs in parts]

    def __iter__(self) -> Iterator[list[str]]:
        for corpus, docs in self.parts:
            for doc in docs.tolist():
                yield from corpus.sentences(doc)


def _offsets(lengths: np.ndarray) -> np.ndarray:
    """Lengths -> start offsets with a final end: (n + 1,) int64."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def _merged_ranges(ranges: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Adjacent [first, end) ranges joined, so that consecutive documents are read in one slice."""
    current: list[int] | None = None
    for first, end in ranges:
        if current is not None and current[1] == first:
            current[1] = end
            continue
        if current is not None:
            yield current[0], current[1]
        current = [first, end]
    if current is not None:
        yield current[0], current[1]


# ----------------------------------------------------------------------------- building


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


def _chunks(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    chunk: list[Document] = []
    for document in documents:
        chunk.append(document)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _tokenized_chunks(documents: Iterable[Document], limits: TextLimits, workers: int) -> Iterator[tuple]:
    """Tokenised chunks in input order; with several workers at most 2 chunks per worker are in flight."""
    jobs = ((chunk, limits) for chunk in _chunks(documents, CHUNK_DOCS))
    if workers <= 1:
        yield from map(_tokenize_chunk, jobs)
        return
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(workers) as pool:
        pending: deque = deque()
        for job in jobs:
            pending.append(pool.apply_async(_tokenize_chunk, (job,)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def build_store(
    documents: Iterable[Document], folder: Path, limits: TextLimits = TextLimits(), workers: int = 1, key: str = ""
) -> Corpus:
    """Tokenise `documents` into a new store at `folder` (replacing a damaged one) and open it."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    try:
        meta = _write_arrays(documents, partial, limits, workers) | {"key": key, "limits": asdict(limits)}
        (partial / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")  # last: marks the store complete
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(partial, folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return open_store(folder)


def _write_arrays(documents: Iterable[Document], folder: Path, limits: TextLimits, workers: int) -> dict:
    """Stream the tokenised chunks into the array files; returns meta.json's counts, sizes and hashes."""
    lexicon: dict[str, int] = {}
    files = {name: open(folder / f"{name}.i32", "wb") for name in ARRAYS}  # noqa: SIM115 (closed below)
    hashes = {name: hashlib.sha256() for name in ARRAYS}
    counts = dict.fromkeys(ARRAYS, 0)
    truncated: Counter[str] = Counter()
    try:
        for local, ids, lengths, per_doc, cut in _tokenized_chunks(documents, limits, workers):
            remap = np.asarray([lexicon.setdefault(token, len(lexicon)) for token in local], dtype=np.int32)
            global_ids = remap[ids] if len(ids) else ids  # (chunk words,) lexicon ids
            for name, values in (
                ("words", global_ids),
                ("sentence_lengths", np.asarray(lengths, dtype=np.int32)),
                ("doc_sentences", np.asarray(per_doc, dtype=np.int32)),
            ):
                data = values.astype("<i4", copy=False).tobytes()
                files[name].write(data)
                hashes[name].update(data)
                counts[name] += len(values)
            truncated.update(cut)
    finally:
        for handle in files.values():
            handle.close()
    (folder / "lexicon.json").write_text(json.dumps(list(lexicon), ensure_ascii=False), encoding="utf-8")
    return {
        "format": FORMAT,
        "documents": counts["doc_sentences"],
        "sentences": counts["sentence_lengths"],
        "words": counts["words"],
        "lexicon": len(lexicon),
        "documents_cut": dict(sorted(truncated.items())),  # limit -> documents it cut
        "sha256": {name: hashes[name].hexdigest() for name in ARRAYS},
    }


# ----------------------------------------------------------------------------- opening


def open_store(folder: Path, verify: bool = True) -> Corpus:
    """Map a complete store; DamagedStore when its files do not match meta.json."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        lexicon = json.loads((folder / "lexicon.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DamagedStore(f"{folder}: incomplete or unreadable store ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or len(lexicon) != meta.get("lexicon"):
        raise DamagedStore(f"{folder}: the store's meta.json does not match its lexicon or this version's format")
    sizes = {"words": meta["words"], "sentence_lengths": meta["sentences"], "doc_sentences": meta["documents"]}
    arrays = {}
    for name in ARRAYS:
        path = folder / f"{name}.i32"
        if not path.exists() or path.stat().st_size != 4 * sizes[name]:
            raise DamagedStore(f"{folder}: {path.name} is missing or truncated")
        arrays[name] = np.memmap(path, dtype="<i4", mode="r") if sizes[name] else np.zeros(0, dtype="<i4")
        if verify and _sha256(path) != meta["sha256"][name]:
            raise DamagedStore(f"{folder}: {path.name} does not match its recorded hash (corrupt)")
    corpus = Corpus(folder, lexicon, arrays, meta)
    if int(corpus.doc_starts[-1]) != meta["sentences"] or int(corpus.sentence_starts[-1]) != meta["words"]:
        raise DamagedStore(f"{folder}: the document and sentence boundaries do not add up")
    if meta["words"] and (int(corpus.words.max()) >= len(lexicon) or int(corpus.words.min()) < 0):
        raise DamagedStore(f"{folder}: word ids outside the lexicon")
    return corpus


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def corpus_store(
    documents: Callable[[], Iterable[Document]], key: str, limits: TextLimits = TextLimits(), workers: int = 1
) -> Corpus:
    """The store of `documents()` (identified by `key`, a hash of them): opened from the cache, else built there.

    A damaged cached store is reported on stderr and rebuilt. With the cache off ($HAN_CACHE=off), or
    unwritable, the store goes to a temporary folder removed once the corpus is no longer used.
    """
    root = cache_folder()
    if root is not None:
        folder = root / f"store-{key}"
        if (folder / "meta.json").exists():
            try:
                return open_store(folder)
            except DamagedStore as error:
                print(f"warning: {error}; building it again", file=sys.stderr)
        try:
            return build_store(documents(), folder, limits, workers, key)
        except OSError as error:  # a read-only or full cache only costs the reuse
            print(f"warning: cannot write the token store to {root} ({error}); using a temporary one", file=sys.stderr)
    scratch = Path(tempfile.mkdtemp(prefix="han-store-"))
    corpus = build_store(documents(), scratch / "store", limits, workers, key)
    weakref.finalize(corpus, shutil.rmtree, scratch, True)
    return corpus
