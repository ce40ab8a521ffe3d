"""A dataset made ready for the model: split, tokenised into a corpus store, vocabulary built.

    prepare(dataset) -> Prepared   (training, bench/ and tests share it)

The split is the seeded stratified one of `han.data.dataset.assign_splits`; the vocabulary comes from the
training split only (words seen more than 5 times, the paper); documents without a word are left out.
Tokens live in a memory-mapped corpus store (han/data/store.py), not in Python lists: each split is an
`EncodedDocs` view that reads its documents' ids from the store when a batch needs them.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from han.data.batches import EncodedDocs
from han.data.dataset import Dataset, assign_splits, train_subset
from han.data.splits import split_codes
from han.data.store import Corpus
from han.data.store_writer import CHUNK_DOCS, StoreWriter, corpus_store
from han.data.text import TextLimits, corpus_key, dataset_key
from han.data.vocab import UNK_ID, Vocab
from han.errors import HanError


@dataclass
class Prepared:
    """A dataset ready for the model: encoded splits, labels as class indices, vocabulary."""

    labels: list[str]  # class names, index = class id
    vocab: Vocab
    docs: dict[str, EncodedDocs]  # split -> documents (sentences of word ids, read from the store)
    targets: dict[str, list[int]]  # split -> class ids
    corpus: Corpus  # the tokenised labelled documents, in dataset order
    split: dict  # how the split was made, sizes and label counts
    dropped_empty: int  # documents without a single word, left out
    split_codes: np.ndarray  # (n_docs,) uint8: each labelled document's split (0 train, 1 dev, 2 test)

    def split_docs(self, *splits: str) -> np.ndarray:
        """The corpus indices of these splits' documents, split after split."""
        return np.concatenate([self.docs[s].docs for s in splits])

    def tokens(self, split: str) -> Iterator[list[list[str]]]:
        """Each document of `split` as sentences of tokens, read from the store."""
        return (self.corpus.sentences(doc) for doc in self.docs[split].docs.tolist())


def default_workers() -> int:
    """Tokenising processes when none are asked for: one per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def tokenized_store(
    texts: Sequence[str | None], given: Sequence | None, limits: TextLimits, workers: int | None = None
) -> Corpus:
    """The corpus store of these documents (raw `texts`, or `given` sentences where not None), cached by content."""
    given = list(given) if given is not None else [None] * len(texts)

    def fill(writer: StoreWriter) -> None:
        for text, sentences in zip(texts, given, strict=True):
            writer.add(text, sentences)

    return corpus_store(fill, corpus_key(texts, given, limits), limits, _workers(workers, len(texts)))


def dataset_store(dataset: Dataset, limits: TextLimits, workers: int | None = None) -> Corpus:
    """The store of a dataset's labelled documents, in order, keyed by its fingerprint.

    A dataset that let go of its texts (read with keep_text) is read again from its files to build it,
    a document at a time into the store: the corpus never sits in memory as Python strings.
    """
    key = dataset_key(dataset.fingerprint(), limits)

    def fill(writer: StoreWriter) -> None:
        if dataset.has_texts:
            for example in dataset.examples:
                writer.add(example.text, example.sentences)
        else:
            dataset.reread(lambda example: writer.add(example.text, example.sentences))

    return corpus_store(fill, key, limits, _workers(workers, len(dataset.examples)))


def _workers(requested: int | None, documents: int) -> int:
    """Tokenising processes: as asked (None or 0: one per core), one for small sets (starting them costs more)."""
    return 1 if documents < 4 * CHUNK_DOCS else requested or default_workers()


def prepare(
    dataset: Dataset,
    limits: TextLimits = TextLimits(),
    seed: int = 0,
    min_count: int = 6,
    max_vocab: int | None = None,
    vocab: Vocab | None = None,
    train_fraction: float = 1.0,
    known_words: Container[str] | None = None,
    workers: int | None = None,
) -> Prepared:
    """Split, tokenise into the store, build the vocabulary from train only, and map every split to it.

    `train_fraction` < 1 keeps a seeded random share of the train split (same documents for every
    model seed), so learning curves compare models on identical, smaller training sets.
    `known_words` (the words of pretrained vectors) keeps only those words in the vocabulary: any
    other word becomes UNK, since it would have no pretrained vector. `workers` tokenising processes
    (None: one per core) give the same tokens as one.
    """
    parts, split_record = assign_splits(dataset.examples, seed)
    codes = split_codes(parts, len(dataset.examples))  # the whole train split, before any --train-fraction
    if train_fraction < 1:
        parts["train"] = train_subset(parts["train"], train_fraction, seed)
        split_record = split_record | {"train_fraction": train_fraction, "train_used": len(parts["train"])}
    check_class_sizes(dataset, parts["train"])
    examples = dataset.examples
    corpus = dataset_store(dataset, limits, workers)
    labels = dataset.labels
    class_of = {name: i for i, name in enumerate(labels)}
    kept = {}
    for split, indices in parts.items():
        order = np.asarray(indices, dtype=np.int64)
        kept[split] = order[np.asarray(corpus.doc_sentences[order]) > 0]  # documents with at least one word
    dropped = sum(len(parts[s]) - len(kept[s]) for s in parts)
    if not len(kept["train"]):
        raise HanError("the training split has no document with words")
    if vocab is None:
        counts = corpus.token_counts(kept["train"])  # (len(lexicon),)
        seen = np.flatnonzero(counts >= max(min_count, 1))  # (words kept,) lexicon ids
        pairs = ((corpus.lexicon[i], int(counts[i])) for i in seen.tolist())
        vocab = Vocab.from_counts(pairs, min_count, max_vocab, known_words)
    to_vocab = np.asarray([vocab.stoi.get(token, UNK_ID) for token in corpus.lexicon], dtype=np.int64)
    docs = {s: EncodedDocs(corpus, kept[s], to_vocab) for s in kept}
    targets = {s: [class_of[examples[i].label] for i in kept[s].tolist()] for s in kept}
    return Prepared(labels, vocab, docs, targets, corpus, split_record, dropped, codes)


MIN_PER_CLASS = 5  # training documents a class needs: below it a model cannot learn the class at all


def check_class_sizes(dataset: Dataset, train: list[int]) -> None:
    """Refuse data of a single label, and a training split in which some class has fewer than MIN_PER_CLASS
    documents (e.g. --max-docs 5)."""
    if len(dataset.labels) < 2:
        raise HanError(
            f"the data has a single label ({', '.join(map(repr, dataset.labels)) or 'none'}): a classifier needs at "
            "least two to tell apart; check --label-col, or add documents of the other labels"
        )
    counts = Counter(dataset.examples[i].label for i in train)
    small = {label: counts.get(label, 0) for label in dataset.labels if counts.get(label, 0) < MIN_PER_CLASS}
    if small:
        found = ", ".join(f"{label!r}: {n}" for label, n in small.items())
        raise HanError(
            f"the training split has fewer than {MIN_PER_CLASS} documents of some classes ({found}; "
            f"{len(train)} training documents in all): a model trained on it would be meaningless. "
            "Use more documents (a larger --max-docs), or leave out or merge the rare labels"
        )
