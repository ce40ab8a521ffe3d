"""A dataset made ready for the model: split, tokenised, vocabulary built, every split encoded.

    prepare(dataset) -> Prepared   (training, bench/ and tests share it)

The split is the seeded stratified one of `han.data.assign_splits`; the vocabulary comes from the
training split only (words seen more than 5 times, the paper); documents without a word are left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container
from dataclasses import dataclass

from .data import Dataset, assign_splits, train_subset
from .errors import HanError
from .text import TextLimits, Tokenized, tokenize_corpus
from .vocab import Vocab


@dataclass
class Prepared:
    """A dataset ready for the model: encoded splits, labels as class indices, vocabulary."""

    labels: list[str]  # class names, index = class id
    vocab: Vocab
    docs: dict[str, list[list[list[int]]]]  # split -> documents -> sentences -> word ids
    targets: dict[str, list[int]]  # split -> class ids
    tokens: dict[str, list[Tokenized]]  # split -> tokenised documents (for word2vec and stats)
    split: dict  # how the split was made, sizes and label counts
    dropped_empty: int  # documents without a single word, left out


def tokenize_examples(dataset: Dataset, limits: TextLimits) -> list[Tokenized]:
    return tokenize_corpus([e.text for e in dataset.examples], [e.sentences for e in dataset.examples], limits)


def prepare(
    dataset: Dataset,
    limits: TextLimits = TextLimits(),
    seed: int = 0,
    min_count: int = 6,
    max_vocab: int | None = None,
    vocab: Vocab | None = None,
    train_fraction: float = 1.0,
    known_words: Container[str] | None = None,
) -> Prepared:
    """Split, tokenise, build the vocabulary from train only, and encode every split.

    `train_fraction` < 1 keeps a seeded random share of the train split (same documents for every
    model seed), so learning curves compare models on identical, smaller training sets.
    `known_words` (the words of pretrained vectors) keeps only those words in the vocabulary: any
    other word becomes UNK, since it would have no pretrained vector.
    """
    parts, split_record = assign_splits(dataset.examples, seed)
    if train_fraction < 1:
        parts["train"] = train_subset(parts["train"], train_fraction, seed)
        split_record = split_record | {"train_fraction": train_fraction, "train_used": len(parts["train"])}
    check_class_sizes(dataset, parts["train"])
    tokenized = tokenize_examples(dataset, limits)
    labels = dataset.labels
    class_of = {name: i for i, name in enumerate(labels)}
    kept = {s: [i for i in parts[s] if tokenized[i].sentences] for s in parts}
    dropped = sum(len(parts[s]) - len(kept[s]) for s in parts)
    tokens = {s: [tokenized[i] for i in kept[s]] for s in kept}
    if not tokens["train"]:
        raise HanError("the training split has no document with words")
    vocab = vocab or Vocab.build((d.sentences for d in tokens["train"]), min_count, max_vocab, known_words)
    docs = {s: [[vocab.encode(sent) for sent in d.sentences] for d in tokens[s]] for s in tokens}
    targets = {s: [class_of[dataset.examples[i].label] for i in kept[s]] for s in kept}
    return Prepared(labels, vocab, docs, targets, tokens, split_record, dropped)


MIN_PER_CLASS = 5  # training documents a class needs: below it a model cannot learn the class at all


def check_class_sizes(dataset: Dataset, train: list[int]) -> None:
    """Refuse a training split in which some class has fewer than MIN_PER_CLASS documents (e.g. --max-docs 5)."""
    counts = Counter(dataset.examples[i].label for i in train)
    small = {label: counts.get(label, 0) for label in dataset.labels if counts.get(label, 0) < MIN_PER_CLASS}
    if small:
        found = ", ".join(f"{label!r}: {n}" for label, n in small.items())
        raise HanError(
            f"the training split has fewer than {MIN_PER_CLASS} documents of some classes ({found}; "
            f"{len(train)} training documents in all): a model trained on it would be meaningless. "
            "Use more documents (a larger --max-docs), or leave out or merge the rare labels"
        )
