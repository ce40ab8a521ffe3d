"""Length-bucketed mini-batches: only real sentences reach the word GRU."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, overload

import numpy as np
import torch

if TYPE_CHECKING:
    from han.data.store import Corpus


@dataclass
class Batch:
    """A mini-batch holding only real sentences (no all-padding sentence reaches the word GRU)."""

    words: torch.Tensor  # (n_sentences, max_words) word ids, 0 = padding
    word_counts: torch.Tensor  # (n_sentences,) real words per sentence, all >= 1
    sentence_counts: torch.Tensor  # (n_docs,) real sentences per document, all >= 1
    labels: torch.Tensor | None = None  # (n_docs,) class indices
    padded: bool = False  # rows are n_docs x max_sentences, padding sentences included (bench only)


def collate(docs: Sequence[list[list[int]]], labels: Sequence[int] | None = None, padded: bool = False) -> Batch:
    """Encoded documents -> a `Batch`; every document needs at least one non-empty sentence.

    `padded` builds the naive layout instead, for benchmarks: every document padded to the
    batch's sentence count, each padding sentence a single PAD word that the word GRU still
    processes (the sentence level masks it out, so results are unchanged, only slower).
    """
    counts = [len(d) for d in docs]  # real sentences per document
    if padded:
        width = max(counts)
        docs = [list(d) + [[0]] * (width - len(d)) for d in docs]
    sentences = [s for doc in docs for s in doc]  # all rows, document after document
    lengths = torch.tensor([len(s) for s in sentences])  # (n_sentences,)
    real = torch.arange(int(lengths.max())) < lengths.unsqueeze(1)  # (n_sentences, max_words), row-major
    words = torch.zeros(real.shape, dtype=torch.long)  # (n_sentences, max_words)
    # one tensor of every word id, sentence after sentence: the real positions in row-major order
    words[real] = torch.tensor(list(chain.from_iterable(sentences)), dtype=torch.long)
    return Batch(
        words=words,
        word_counts=lengths,  # (n_sentences,)
        sentence_counts=torch.tensor(counts),  # (n_docs,)
        labels=None if labels is None else torch.tensor(labels, dtype=torch.long),  # (n_docs,)
        padded=padded,
    )


def bucket_batches(
    lengths: Sequence[int], batch_size: int, shuffle: bool, seed: int = 0, bucket: bool = True, pool_batches: int = 50
) -> list[list[int]]:
    """Group document indices into batches of similar sentence count.

    With `shuffle`, documents are shuffled, cut into pools of `pool_batches` batches, sorted by
    length inside each pool, batched, and the batches shuffled: similar lengths share a batch
    (little padding, the paper's speed-up) while the order still changes every epoch.
    Without `bucket`, batches are plain random (or in-order) slices.
    """
    order = list(range(len(lengths)))
    rng = random.Random(seed)
    if shuffle:
        rng.shuffle(order)
    if bucket:
        pool = batch_size * pool_batches if shuffle else len(order)
        order = [
            i
            for start in range(0, len(order), pool)
            for i in sorted(order[start : start + pool], key=lambda i: lengths[i])
        ]
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle and bucket:
        rng.shuffle(batches)
    return batches


class EncodedDocs(Sequence[list[list[int]]]):
    """The documents of one split as vocabulary ids, read from the corpus store when asked for.

    Holds only the split's document indices and sentence counts; `batch` gathers a mini-batch straight
    from the flat arrays (the same `Batch` as `collate` of the same documents, without Python lists).
    """

    def __init__(self, corpus: Corpus, docs: np.ndarray, to_vocab: np.ndarray) -> None:
        self.corpus = corpus
        self.docs = np.asarray(docs, dtype=np.int64)  # (n,) corpus document indices
        self.to_vocab = to_vocab  # (len(lexicon),) vocabulary id of each lexicon id (UNK for the rest)
        self.sentence_counts = np.asarray(corpus.doc_sentences[self.docs], dtype=np.int64)  # (n,)

    def __len__(self) -> int:
        return len(self.docs)

    @overload
    def __getitem__(self, index: int) -> list[list[int]]: ...
    @overload
    def __getitem__(self, index: slice) -> list[list[list[int]]]: ...
    def __getitem__(self, index: int | slice) -> list[list[int]] | list[list[list[int]]]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        return [self.to_vocab[ids].tolist() for ids in self.corpus.doc_ids(int(self.docs[index]))]

    def batch(self, indices: Sequence[int], labels: Sequence[int] | None = None) -> Batch:
        """Documents `indices` of this split as a `Batch` (vectorised gather from the store)."""
        corpus = self.corpus
        docs = self.docs[np.asarray(indices, dtype=np.int64)]  # (n_docs,) corpus indices
        first, end = corpus.doc_starts[docs], corpus.doc_starts[docs + 1]  # (n_docs,) sentence ranges
        rows = np.concatenate([np.arange(a, b) for a, b in zip(first.tolist(), end.tolist(), strict=True)])
        lengths = np.asarray(corpus.sentence_lengths[rows], dtype=np.int64)  # (n_sentences,)
        width = np.arange(int(lengths.max()))  # (max_words,)
        real = width[None, :] < lengths[:, None]  # (n_sentences, max_words)
        positions = np.where(real, corpus.sentence_starts[rows][:, None] + width[None, :], 0)
        words = np.where(real, self.to_vocab[corpus.words[positions]], 0)  # (n_sentences, max_words)
        return Batch(
            words=torch.from_numpy(words.astype(np.int64)),
            word_counts=torch.from_numpy(lengths),  # (n_sentences,)
            sentence_counts=torch.from_numpy(end - first),  # (n_docs,)
            labels=None if labels is None else torch.tensor(labels, dtype=torch.long),  # (n_docs,)
        )


# Sentences per inference batch. 256 documents of 60 long sentences would embed 1.2 GB of floats; 512
# sentences peak ~160 MB below 2,048 in `han stats` (bench/scale.py) for ~15% more time.
MAX_SENTENCES = 512


def within_budget(indices: list[int], counts: Sequence[int], budget: int = MAX_SENTENCES) -> list[list[int]]:
    """Cut a batch of documents (in order) into pieces of at most `budget` sentences (a longer document alone)."""
    pieces: list[list[int]] = [[]]
    total = 0
    for i in indices:
        if pieces[-1] and total + counts[i] > budget:
            pieces.append([])
            total = 0
        pieces[-1].append(i)
        total += counts[i]
    return pieces
