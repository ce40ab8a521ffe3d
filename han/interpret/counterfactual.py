"""What happens to a decision when the attention weights themselves are changed (the model's inputs are not).

- decision flips (Serrano & Smith 2019): zero the highest-weighted item and renormalise; and how large a
  share of the items must be zeroed, in attention order, gradient order (d p_c / d weight) or random
  order, before the predicted class changes;
- counterfactual attention (Jain & Wallace 2019; Wiegreffe & Pinter 2019): the total variation distance
  between the output distributions with the weights randomly permuted within each sentence (word level)
  or the document (sentence level), and predictions with uniform weights.

All work through `Pooling.override` (han/nn/model.py) on copies of one document batched together, and apply
to weighted-sum pooling (HN-ATT; HN-AVE, whose uniform weights the change replaces). Max pooling has no
weights to zero or permute: HN-MAX gets None with the reason. A flat model (han/nn/flat.py) has one attention,
over all words of the document: its word level is changed on whole copies of the document (items are the words
in reading order), and it has no sentence level to change (no sentence flips; permuted_sentence_tvd None).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

from han.checkpoint.classifier import Classifier
from han.data.dataset import collate
from han.nn.model import HAN, WeightOverride

LEVELS = ("word", "sentence")


def levels(model: HAN) -> tuple[str, ...]:
    """The levels whose pooling weights can be changed: a flat model has only the word level."""
    return ("word",) if model.flat else LEVELS


Document = list[list[int]]


def applicable(classifier: Classifier) -> str | None:
    """None when weights can be changed; otherwise why not."""
    if classifier.variant == "max":
        return "max pooling has no weights to zero, permute or make uniform"
    return None


@contextmanager
def overridden(
    model: HAN, word: WeightOverride | None = None, sentence: WeightOverride | None = None
) -> Iterator[None]:
    """Replace the word / sentence pooling weights for the duration of the block (always restored)."""
    changes = {model.word_encoder.pool: word} | ({} if model.flat else {model.sentence_encoder.pool: sentence})
    try:
        for pool, change in changes.items():
            pool.override = change
        yield
    finally:
        for pool in changes:
            pool.override = None


def renormalised(keep: torch.Tensor) -> WeightOverride:
    """Weights times `keep` (rows, T), renormalised per row (a row with nothing kept stays all zero)."""

    def change(weights: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        kept = weights * keep[:, : weights.size(1)].to(weights)  # (rows, T)
        total = kept.sum(dim=1, keepdim=True)  # (rows, 1)
        return torch.where(total > 0, kept / total.clamp_min(1e-30), kept)

    return change


def uniform(weights: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Uniform weights over the real positions."""
    return mask.to(weights) / mask.sum(dim=1, keepdim=True)  # (rows, T)


def permuted(generator: torch.Generator) -> WeightOverride:
    """Each row's real-position weights shuffled among its real positions."""

    def change(weights: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = weights.clone()  # (rows, T)
        for row in range(weights.size(0)):  # rows of one small batch of document copies
            real = mask[row].nonzero().squeeze(1)  # (n_real,)
            out[row, real] = weights[row, real[torch.randperm(real.numel(), generator=generator)]]
        return out

    return change


@torch.no_grad()
def _probabilities(
    model: HAN, doc: Document, level: str, change: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], copies: int
) -> torch.Tensor:
    """(copies, n_classes) output distributions of `copies` copies of `doc`, one level's weights changed.

    `change(weights, mask)` gets the level's weights repeated for every copy ((copies * n_sentences, max_words)
    at the word level, (copies, n_sentences) at the sentence level; with several heads, each head's in turn)
    and returns the new ones. The word GRU runs once: copies differ only in how its states are pooled.
    """
    if model.flat:  # one attention over whole documents (level "word"): copies of the document, words changed
        with overridden(model, word=change):
            return model(collate([doc] * copies)).logits.softmax(dim=-1)  # (copies, n_classes)
    n = len(doc)
    counts = torch.full((copies,), n)  # (copies,)
    if level == "sentence":
        vectors = model.sentence_vectors(doc).repeat(copies, 1)  # (copies * n_sentences, d)
        with overridden(model, sentence=change):
            return model.encode_sentences(vectors, counts)[0].softmax(dim=-1)
    states, mask = model.word_states(doc)  # (n_sentences, max_words, 2H), (n_sentences, max_words)
    scale = model.word_scales(doc)  # TaSc's (n_sentences, max_words) scalars, or None
    pooled = (states.repeat(copies, 1, 1), mask.repeat(copies, 1), counts)
    with overridden(model, word=change):  # the pooling itself applies `change`: one head or several alike
        pool = model.word_encoder.pool
        vectors, _ = pool(*pooled) if scale is None else pool(*pooled, scale=scale.repeat(copies, 1))
    # vectors: (copies * n_sentences, 2H)
    return model.encode_sentences(vectors, counts)[0].softmax(dim=-1)


def _keep_masks(doc: Document, level: str, removed: list[list[int]], flat: bool = False) -> torch.Tensor:
    """Keep-masks in the layout of len(removed) copies of `doc`, the listed items zeroed in each copy.

    word level: (copies * n_sentences, max_words), items = flat word indices, or (copies, n_words) for a `flat`
    model; sentence level: (copies, n_sentences).
    """
    copy = torch.cat([torch.full((len(items),), c) for c, items in enumerate(removed)]).long()  # (n_removed,)
    item = torch.tensor([i for items in removed for i in items], dtype=torch.long)  # (n_removed,)
    if level == "sentence" or flat:
        keep = torch.ones(len(removed), len(doc) if level == "sentence" else sum(len(s) for s in doc))
        keep[copy, item] = 0.0
        return keep
    sentence = torch.tensor([i for i, s in enumerate(doc) for _ in s])  # (n_words,) sentence of each word
    position = torch.tensor([j for s in doc for j in range(len(s))])  # (n_words,) place in its sentence
    keep = torch.ones(len(removed) * len(doc), max(len(s) for s in doc))  # (copies * n_sentences, max_words)
    keep[copy * len(doc) + sentence[item], position[item]] = 0.0
    return keep


def weight_gradients(model: HAN, doc: Document, target: int) -> dict[str, np.ndarray]:
    """d p_target / d weight for every word (flat, reading order) and sentence of `doc`; with several heads,
    summed over the heads (the change in p when an item's weight grows in every head)."""
    captured: dict[str, list[torch.Tensor]] = {"word": [], "sentence": []}

    def capture(level: str) -> WeightOverride:
        def change(weights: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            leaf = weights.detach().clone().requires_grad_(True)  # (rows, T), one head's
            captured[level].append(leaf)
            return leaf

        return change

    with torch.enable_grad(), overridden(model, word=capture("word"), sentence=capture("sentence")):
        model(collate([doc])).logits.softmax(dim=-1)[0, target].backward()
    word = sum(_grad(leaf) for leaf in captured["word"])  # (n_sentences, max_words); flat: (1, n_words)
    # (1, n_sentences), per-class attention (C, n_sentences); a flat model weighs no sentence: zeros
    sentence = sum((_grad(leaf) for leaf in captured["sentence"]), torch.zeros(1, len(doc)))
    assert isinstance(word, torch.Tensor) and isinstance(sentence, torch.Tensor)
    return {
        "word": word[0].numpy()
        if model.flat
        else np.concatenate([word[i, : len(s)].numpy() for i, s in enumerate(doc)]),
        "sentence": sentence.sum(dim=0)[: len(doc)].numpy(),  # per-class attention: a row per class, summed
    }


def _grad(leaf: torch.Tensor) -> torch.Tensor:
    assert leaf.grad is not None, "the weights did not reach the output"
    return leaf.grad


def flips(model: HAN, doc: Document, target: int, orderings: dict[str, dict[str, np.ndarray]]) -> dict[str, dict]:
    """Per level: does zeroing the top item flip the decision, and the share removed before a flip, per ordering.

    `orderings[level][name]` are item scores (higher = removed first). A document whose decision never flips
    before all but one item are gone counts as 1.0 and in `never_flipped`.
    """
    out: dict[str, dict] = {}
    for level in LEVELS:
        n = len(doc) if level == "sentence" else sum(len(s) for s in doc)
        result: dict[str, object] = {"items": n}
        for name, scores in orderings[level].items() if level in levels(model) else ():
            order = np.argsort(-scores, kind="stable").tolist()
            sizes = list(range(1, n))  # never all n items: nothing would be left to pool
            if not sizes:
                result[name] = {"top_item_flips": None, "fraction_to_flip": None}
                continue
            keep = _keep_masks(doc, level, [order[:m] for m in sizes], model.flat)
            p = _probabilities(model, doc, level, renormalised(keep), len(sizes))  # (n - 1, n_classes)
            flipped = (p.argmax(dim=-1) != target).numpy()  # (n - 1,)
            first = sizes[int(np.argmax(flipped))] if flipped.any() else None
            result[name] = {
                "top_item_flips": bool(flipped[0]),
                "fraction_to_flip": (first or n) / n,
                "never_flipped": first is None,
            }
        out[level] = result
    return out


def counterfactuals(model: HAN, doc: Document, permutations: int, seed: int) -> dict[str, object]:
    """TVD under permuted weights per level (mean over `permutations`), and the class under uniform weights."""
    with torch.no_grad():
        base = model(collate([doc])).logits.softmax(dim=-1)  # (1, n_classes)
        with overridden(model, word=uniform, sentence=uniform):
            uniform_class = int(model(collate([doc])).logits.argmax(dim=-1)[0])
    generator = torch.Generator().manual_seed(seed)
    out: dict[str, object] = {"uniform_class": uniform_class}
    for level in LEVELS:
        if level not in levels(model):  # a flat model has no sentence weights to permute
            out[f"permuted_{level}_tvd"] = None
            continue
        p = _probabilities(model, doc, level, permuted(generator), permutations)  # (permutations, n_classes)
        out[f"permuted_{level}_tvd"] = float(0.5 * (p - base).abs().sum(dim=-1).mean())
    return out


def summarise_flips(per_document: list[dict[str, dict]], level: str) -> dict[str, dict]:
    """Mean over documents of each ordering's flip figures at one level."""
    names = {k for d in per_document for k in d[level] if k != "items"}
    out = {}
    for name in sorted(names):
        rows = [d[level][name] for d in per_document if d[level][name]["fraction_to_flip"] is not None]
        out[name] = {
            "documents": len(rows),
            "top_item_flips": _mean([float(r["top_item_flips"]) for r in rows]),
            "fraction_to_flip": _mean([r["fraction_to_flip"] for r in rows]),
            "never_flipped": _mean([float(r["never_flipped"]) for r in rows]),
        }
    return out


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


Reporter = Callable[[int, int], None]
