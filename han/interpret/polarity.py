"""Polarity against attention (Sun & Lu 2020): do the words that push the decision get the attention?

Per vocabulary word, over the occurrences in some documents:
- polarity: the mean signed contribution of an occurrence to the positive-minus-negative margin (mean logit
  of the upper classes minus the lower ones, e.g. 4-5 stars against 1-2): the margin's drop when the word
  is erased (leave-one-out; gradient x input was tried first and gave "great" a negative polarity on
  the shipped HN-ATT, a sign a linearisation around the zero vector can get wrong);
- attention: the mean word weight p_w;
- category: positive / negative / neutral from the training split, by how much more often the word is in
  positive than in negative training reviews (smoothed document-frequency ratio above 2 or below 1/2).

The result ({"words": [...], "summary": {...}}) goes into faithfulness.json for the app's scatter.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from scipy.stats import spearmanr

from han.checkpoint.classifier import Classifier
from han.data.text import Tokenized
from han.errors import HanError
from han.interpret.attribution import erased_logits

RATIO = 2.0  # how many times more often in one polarity's reviews makes a word positive / negative
MIN_DOCUMENTS = 10  # training documents a word needs for a category


def class_groups(labels: Sequence[str]) -> tuple[list[int], list[int]]:
    """(negative, positive) class indices: the lower and upper halves of the ordered labels (middle left out)."""
    half = len(labels) // 2
    if half == 0:
        raise HanError("polarity needs at least two classes")
    return list(range(half)), list(range(len(labels) - half, len(labels)))


def categories(
    classifier: Classifier, train_docs: Iterable[list[list[str]]], train_labels: Sequence[str]
) -> dict[str, str]:
    """Word -> positive / negative / neutral from document frequencies in the training split (sentences of tokens)."""
    negative, positive = class_groups(classifier.labels)
    group = {classifier.labels[i]: "negative" for i in negative} | {classifier.labels[i]: "positive" for i in positive}
    frequency: dict[str, Counter[str]] = {"negative": Counter(), "positive": Counter()}
    totals: Counter[str] = Counter()
    for doc, label in zip(train_docs, train_labels, strict=True):
        side = group.get(label)
        if side is None:
            continue
        totals[side] += 1
        frequency[side].update({w for s in doc for w in s})
    out = {}
    for word in set(frequency["negative"]) | set(frequency["positive"]):
        neg, pos = frequency["negative"][word], frequency["positive"][word]
        if neg + pos < MIN_DOCUMENTS:
            continue
        ratio = ((pos + 1) / (totals["positive"] + 2)) / ((neg + 1) / (totals["negative"] + 2))
        out[word] = "positive" if ratio > RATIO else "negative" if ratio < 1 / RATIO else "neutral"
    return out


def polarity_vs_attention(
    classifier: Classifier,
    docs: Sequence[Tokenized],
    word_categories: dict[str, str] | None = None,
    top: int = 400,
    min_count: int = 5,
) -> dict:
    """Mean polarity and attention of the `top` most frequent in-vocabulary words of `docs`."""
    negative, positive = class_groups(classifier.labels)
    encoded = [classifier.encode(d) for d in docs if d.sentences]
    if not encoded:
        raise HanError("polarity needs documents with words")
    size = len(classifier.vocab)
    polarity_sum, attention_sum, count = np.zeros(size), np.zeros(size), np.zeros(size)
    for doc, result in zip(encoded, classifier.analyse([d for d in docs if d.sentences]), strict=True):
        logits = erased_logits(classifier, doc)  # (1 + n_words + n_sentences, n_classes)
        margin = (logits[:, positive].mean(dim=1) - logits[:, negative].mean(dim=1)).numpy()  # (n_variants,)
        ids = np.array([w for s in doc for w in s])  # (n_words,)
        polarity_sum += np.bincount(ids, margin[0] - margin[1 : 1 + len(ids)], minlength=size)
        attention_sum += np.bincount(ids, [w for s in result.word_weights for w in s], minlength=size)
        count += np.bincount(ids, minlength=size)
    frequent = [i for i in np.argsort(-count, kind="stable") if i > 1 and count[i] >= min_count][:top]  # no PAD/UNK
    categories_ = word_categories or {}
    words = [
        {
            "word": classifier.vocab.itos[i],
            "count": int(count[i]),
            "polarity": float(polarity_sum[i] / count[i]),
            "attention": float(attention_sum[i] / count[i]),
            "category": categories_.get(classifier.vocab.itos[i], "unknown"),
        }
        for i in frequent
    ]
    return {
        "words": words,
        "summary": _summary(words),
        "documents": len(encoded),
        "classes": {
            "negative": [classifier.labels[i] for i in negative],
            "positive": [classifier.labels[i] for i in positive],
        },
    }


def _summary(words: list[dict]) -> dict:
    """Spearman correlation of attention with |polarity|, and mean attention per category."""
    if len(words) < 3:
        return {"spearman_attention_abs_polarity": None}
    rho = spearmanr([w["attention"] for w in words], [abs(w["polarity"]) for w in words]).statistic
    per_category = {}
    for name in ("positive", "negative", "neutral"):
        values = [w["attention"] for w in words if w["category"] == name]
        per_category[name] = {"words": len(values), "mean_attention": float(np.mean(values)) if values else None}
    return {"spearman_attention_abs_polarity": None if math.isnan(rho) else float(rho), "by_category": per_category}
