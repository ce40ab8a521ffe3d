"""Tokenised corpora as flat integer arrays on disk, memory-mapped: bounded memory at any corpus size.

A store is a folder:

    lexicon.json          every distinct token in order of first appearance; a token's id is its position
    words.i32             lexicon ids of every word of every sentence, documents back to back
    sentence_lengths.i32  words per sentence
    doc_sentences.i32     sentences per document (0 for a document without a word)
    meta.json             counts, byte sizes and sha256 of each file, the limits; written last

It is built by han/data/store_writer.py from documents pushed one at a time as they are read. Opening
checks the files against meta.json (sizes, hashes, boundary sums) and refuses a damaged store
(`han.data.store_writer.corpus_store` then builds it again). Nothing here holds the corpus as Python objects.
"""

from __future__ import annotations

import hashlib
import json
import mmap
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from han.errors import HanError

Document = tuple[str | None, list[list[str]] | None]  # raw text, or sentences already tokenised (Tang .ss)
ARRAYS = ("words", "sentence_lengths", "doc_sentences")
FORMAT = 1  # bump when the layout changes: older stores are then rebuilt


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
        self.sentence_starts = _offsets(self.sentence_lengths)  # (n_sentences + 1,) int32/64 into words
        self.doc_starts = _offsets(self.doc_sentences)  # (n_docs + 1,) int32/64 into sentences
        self.meta = meta

    def __len__(self) -> int:
        return len(self.doc_sentences)

    def release_pages(self) -> None:
        """Unmap the pages of the store read so far (the kernel's page cache keeps them): a pass over a large
        split then holds the pages of what it reads now, not of everything it has read."""
        for array in (self.words, self.sentence_lengths, self.doc_sentences):
            mapped = getattr(array, "_mmap", None)  # np.memmap's mmap.mmap (None for an empty array)
            if mapped is not None and hasattr(mmap, "MADV_DONTNEED"):  # Linux, macOS
                mapped.madvise(mmap.MADV_DONTNEED)

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
            part = order[start : start + chunk]  # (k,) documents
            first = self.sentence_starts[self.doc_starts[part]]  # (k,) first word of each (its words are contiguous)
            lengths = self.sentence_starts[self.doc_starts[part + 1]] - first  # (k,) words of each
            total = int(lengths.sum())
            if total:  # every word position of the chunk: each document's first, then one after another
                positions = np.repeat(first - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)
                counts += np.bincount(self.words[positions], minlength=len(self.lexicon))
        return counts


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
    """Lengths -> start offsets with a final end: (n + 1,) int32, or int64 where the total needs it.

    int32 halves the largest array a store holds in memory (a start per sentence: ~105 MB at 1.5M Yelp reviews
    as int64); the total decides, so no offset can overflow.
    """
    total = int(lengths.sum(dtype=np.int64))
    dtype = np.int32 if total <= np.iinfo(np.int32).max else np.int64
    offsets = np.zeros(len(lengths) + 1, dtype=dtype)
    np.cumsum(lengths, dtype=dtype, out=offsets[1:])
    return offsets


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
    if meta["words"]:
        lowest, highest = _id_range(corpus)
        if lowest < 0 or highest >= len(lexicon):
            raise DamagedStore(f"{folder}: word ids outside the lexicon")
    return corpus


def _id_range(corpus: Corpus, chunk: int = 1 << 24) -> tuple[int, int]:
    """The smallest and largest word id, read a chunk (64 MB) at a time, each chunk's pages let go before the
    next: the check reads the whole words file, and holding it all would set a caller's peak memory (840 MB of
    a 1.5M-review store for `han stats`, which reads a tenth of it)."""
    lows, highs = [], []
    for start in range(0, len(corpus.words), chunk):
        part = corpus.words[start : start + chunk]  # (chunk,) memory-mapped
        lows.append(int(part.min()))
        highs.append(int(part.max()))
        corpus.release_pages()
    return min(lows), max(highs)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()
