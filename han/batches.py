"""Length-bucketed mini-batches: only real sentences reach the word GRU."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch


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
    max_words = max(len(s) for s in sentences)
    words = torch.zeros(len(sentences), max_words, dtype=torch.long)  # (n_sentences, max_words)
    for row, sentence in enumerate(sentences):
        words[row, : len(sentence)] = torch.tensor(sentence, dtype=torch.long)
    return Batch(
        words=words,
        word_counts=torch.tensor([len(s) for s in sentences]),  # (n_sentences,)
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
