"""How concentrated a model's attention is: per level and per head, the weight of the top item and the
number of items the weight is spread over.

Why: Lin et al.'s redundancy penalty ||A A^T - I||_F^2 is smallest when every head's weights are one-hot on
an item of its own, so a penalised head may look at one word per sentence and nothing else. This measures
whether it does, on real documents, beside the same model without the penalty and HN-ATT.

For one distribution p over n items (the words of a sentence, the sentences of a document):
    top        max_i p_i                              1 for one-hot, 1/n for uniform
    effective  exp(-sum_i p_i log p_i)                 1 for one-hot, n for uniform (the perplexity)
    one-hot    top >= ONE_HOT                          the distribution is, for reading purposes, one item
Units with a single item are left out (their weight is 1 whatever the model does).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from han.checkpoint.classifier import Classifier, DocResult
from han.data.text import Tokenized
from han.interpret.explain import head_view

ONE_HOT = 0.9  # a top weight at or above this counts as attention on one item


@dataclass(frozen=True)
class Focus:
    """Concentration of one level's weights (one head's, or the heads' mean), averaged over units."""

    level: str  # "word" (a sentence's words) or "sentence" (a document's sentences)
    head: str  # a head's name, or "mean" for the weights the heatmaps show (the only ones for one head)
    units: int  # sentences (word level) or documents (sentence level) with at least 2 items
    items: float  # mean number of items per unit
    top: float  # mean top weight
    effective: float  # mean effective number of items, exp(entropy)
    one_hot: float  # share of units whose top weight is at least ONE_HOT

    def as_dict(self) -> dict:
        return asdict(self)


def concentration(level: str, head: str, distributions: Iterable[Sequence[float]]) -> Focus:
    """`Focus` of weight distributions (each sums to 1); those of one item are skipped."""
    units = 0
    items = top = effective = one_hot = 0.0
    for weights in distributions:
        if len(weights) < 2:
            continue
        units += 1
        items += len(weights)
        biggest = max(weights)
        top += biggest
        effective += math.exp(-sum(p * math.log(p) for p in weights if p > 0))
        one_hot += biggest >= ONE_HOT
    share = 1 / units if units else math.nan
    return Focus(level, head, units, items * share, top * share, effective * share, one_hot * share)


def _distributions(results: Sequence[DocResult], head: int | None) -> dict[str, list[Sequence[float]]]:
    """Every sentence's word weights and every document's sentence weights, of head `head` (None: the mean)."""
    words: list[Sequence[float]] = []
    sentences: list[Sequence[float]] = []
    for result in results:
        if head is None:
            words.extend(result.word_weights)
            sentences.append(result.sentence_weights)
        else:
            assert result.word_head_weights is not None and result.sentence_head_weights is not None
            words.extend(per_head[head] for per_head in result.word_head_weights)
            sentences.append([per_sentence[head] for per_sentence in result.sentence_head_weights])
    return {"word": words, "sentence": sentences}


def attention_focus(model: Classifier, docs: Sequence[Tokenized]) -> list[Focus]:
    """`Focus` at both levels: the heads' mean (what the heatmaps show), then each head (several heads only)."""
    results = list(model.analyse([d for d in docs if d.sentences]))
    heads: list[tuple[str, int | None]] = [("mean", None)]
    if results and results[0].word_head_weights is not None:
        heads += [(name, k) for k, name in enumerate(model.head_names)]
    found = []
    for name, head in heads:
        distributions = _distributions(results, head)
        found += [concentration(level, name, distributions[level]) for level in ("word", "sentence")]
    return found


def explanation_focus(explanation: dict) -> list[Focus]:
    """`Focus` of one explained document's word weights (`Classifier.explain`'s dict): the heads' mean, then
    each head of a multi-head model (a level with one head repeats it), as the Document page states them."""
    found = [concentration("word", "mean", [s["word_weights"] for s in explanation["sentences"]])]
    for k, name in enumerate(explanation.get("head_names", [])):
        found.append(concentration("word", name, [s["word_weights"] for s in head_view(explanation, k)["sentences"]]))
    return found
