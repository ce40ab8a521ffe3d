"""Is the attention a faithful account of the decision? Per-document evidence and data-set figures.

    explain_faithfulness(classifier, text)         one document: every method's scores, agreement, erasure curve
    dataset_faithfulness(classifier, examples, limit=N)   the figures below over N documents

Data-set figures (the JSON a checkpoint directory may carry as `faithfulness.json`, read by the app):
    {"n": documents, "checkpoint", "model", "attention_label", "settings": {n_steps, seed, permutations},
     "word" / "sentence": {
        "aopc": {ordering: {"comprehensiveness", "sufficiency", "by_k": {k: {"comprehensiveness", "sufficiency"}}}},
        "kendall_tau": {method: mean tau with attention},  "top_k": {method: {name: mean overlap}},
        "flips": {ordering: {"documents", "top_item_flips", "fraction_to_flip", "never_flipped"}} | null},
     "counterfactual": {"permuted_word_tvd", "permuted_sentence_tvd" (mean, median), "accuracy",
                        "uniform_accuracy", "uniform_changed"} | {"not_applicable": why},
     "ig_delta": {"mean_abs", "max_abs"}, "polarity": {...} (see han/interpret/polarity.py)}

ERASER (DeYoung et al. 2020): for each ordering (attention, leave-one-out, integrated gradients,
gradient x input, random) the top k% of words (k in WORD_BINS, at least one word) or the top 1-3
sentences are removed (comprehensiveness: p_c(x) - p_c(x without them)) or kept alone (sufficiency:
p_c(x) - p_c(only them)); AOPC is the mean over the bins. Higher comprehensiveness and lower sufficiency
mean a more faithful ordering; random is the floor. Every variant of one document is one batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from han.checkpoint.classifier import Classifier
from han.data.dataset import Example
from han.data.text import Tokenized, token_spans
from han.errors import HanError
from han.interpret import counterfactual
from han.interpret.attribution import (
    METHODS,
    DocumentScores,
    agreement,
    attention_label,
    class_probabilities,
    document_scores,
    only_words,
    without_words,
)

WORD_BINS = (1, 5, 10, 20, 50)  # % of a document's words
SENTENCE_BINS = (1, 2, 3)  # sentences
ORDERINGS = METHODS  # attention, leave_one_out, integrated_gradients, gradient_x_input, random


def _positions(doc: list[list[int]]) -> list[tuple[int, int]]:
    return [(i, j) for i, s in enumerate(doc) for j in range(len(s))]


def erasure(
    classifier: Classifier, doc: list[list[int]], scores: DocumentScores, orderings: Sequence[str] = ORDERINGS
) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """Per level, ordering and bin: comprehensiveness and sufficiency of one document (one batch); `orderings`:
    the names of `scores` to rank by (those it lacks are skipped)."""
    positions = _positions(doc)
    n_words, n_sentences = len(positions), len(doc)
    variants, keys = [doc], []
    for ordering in orderings:
        if ordering not in scores.word:
            continue
        order = np.argsort(-scores.flat(ordering), kind="stable")
        for k in WORD_BINS:
            top = {positions[i] for i in order[: max(1, math.ceil(k / 100 * n_words))]}
            variants += [without_words(doc, top), only_words(doc, top)]
            keys.append(("word", ordering, str(k)))
        sentence_order = np.argsort(-np.array(scores.sentence[ordering]), kind="stable")
        for k in SENTENCE_BINS:
            top_sentences = set(sentence_order[: min(k, n_sentences)].tolist())
            variants += [
                [s for i, s in enumerate(doc) if i not in top_sentences],
                [s for i, s in enumerate(doc) if i in top_sentences],
            ]
            keys.append(("sentence", ordering, str(k)))
    p = class_probabilities(classifier, variants, scores.predicted)  # (1 + 2 * len(keys),)
    out: dict[str, dict[str, dict[str, dict[str, float]]]] = {"word": {}, "sentence": {}}
    for index, (level, ordering, bin_name) in enumerate(keys):
        out[level].setdefault(ordering, {})[bin_name] = {
            "comprehensiveness": float(p[0] - p[1 + 2 * index]),
            "sufficiency": float(p[0] - p[2 + 2 * index]),
        }
    return out


def erasure_curve(classifier: Classifier, doc: list[list[int]], scores: DocumentScores) -> dict[str, list[float]]:
    """p_c as the top 0, 1, 2 ... 10 words by each method are removed (the Document page's curve)."""
    positions = _positions(doc)
    steps = list(range(0, min(10, len(positions) - 1) + 1))
    variants, names = [], []
    for method in scores.word:
        order = np.argsort(-scores.flat(method), kind="stable")
        variants += [without_words(doc, {positions[i] for i in order[:m]}) for m in steps]
        names.append(method)
    p = class_probabilities(classifier, variants, scores.predicted)
    return {"removed": steps} | {
        name: p[i * len(steps) : (i + 1) * len(steps)].tolist() for i, name in enumerate(names)
    }


# ----------------------------------------------------------------------------- one document


def explain_faithfulness(
    classifier: Classifier,
    text: str | Tokenized,
    methods: Sequence[str] = METHODS,
    n_steps: int = 20,
    seed: int = 0,
) -> dict:
    """One document: prediction, per-sentence and per-word scores by method, agreement, erasure curve."""
    doc = classifier.tokenize(text) if isinstance(text, str) else text
    methods = tuple(methods)
    if "attention" not in methods:
        methods = ("attention", *methods)  # agreement is measured against attention
    scores = document_scores(classifier, doc, methods, n_steps, seed)
    encoded = classifier.encode(doc)
    spans = token_spans(text, doc.sentences, classifier.limits.lowercase) if isinstance(text, str) else None
    return {
        "model": classifier.name,
        "attention_label": attention_label(classifier),
        "prediction": classifier.labels[scores.predicted],
        "probability": scores.probability,
        "sentences": [
            {
                "tokens": tokens,
                "scores": {m: scores.sentence[m][i] for m in scores.sentence},
                "word_scores": {m: scores.word[m][i] for m in scores.word},
                "attention_raw": scores.extra["attention_raw"][i],  # p_w within the sentence, as the model has it
                **({"spans": spans[i]} if spans else {}),
            }
            for i, tokens in enumerate(scores.tokens)
        ],
        **({"text": text} if spans else {}),
        "agreement": agreement(scores),
        "erasure_curve": erasure_curve(classifier, encoded, scores),
        "ig_delta": scores.extra.get("ig_delta"),
        "n_steps": n_steps,
        "truncated": doc.truncated,
    }


# ----------------------------------------------------------------------------- a data set


def dataset_faithfulness(
    classifier: Classifier,
    examples: Sequence[Example],
    limit: int | None = None,
    n_steps: int = 20,
    seed: int = 0,
    permutations: int = 5,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict:
    """The data-set figures of the module docstring over the first `limit` documents of `examples`."""
    if limit is not None and limit < 1:
        raise HanError("--limit must be at least 1")
    docs = [(classifier.prepare(e), e) for e in examples]
    docs = [(d, e) for d, e in docs if d.sentences and e.label in classifier.labels][:limit]
    if not docs:
        raise HanError("no document to measure (N = 0): give labelled documents with words")
    model = classifier.model.eval()
    not_applicable = counterfactual.applicable(classifier)
    per_doc: list[dict] = []
    for done, (doc, example) in enumerate(docs, start=1):
        scores = document_scores(classifier, doc, METHODS, n_steps, seed + done)
        encoded = classifier.encode(doc)
        row: dict = {
            "erasure": erasure(classifier, encoded, scores),
            "agreement": agreement(scores),
            "gold": classifier.labels.index(example.label),
            "predicted": scores.predicted,
            "ig_delta": scores.extra.get("ig_delta"),
        }
        if not_applicable is None:
            gradients = counterfactual.weight_gradients(model, encoded, scores.predicted)
            orderings = {
                "word": {
                    "attention": scores.flat("attention"),
                    "gradient": gradients["word"],
                    "random": scores.flat("random"),
                },
                "sentence": {
                    "attention": np.array(scores.sentence["attention"]),
                    "gradient": gradients["sentence"],
                    "random": np.array(scores.sentence["random"]),
                },
            }
            row["flips"] = counterfactual.flips(model, encoded, scores.predicted, orderings)
            row["counterfactual"] = counterfactual.counterfactuals(model, encoded, permutations, seed + done)
        per_doc.append(row)
        if on_progress:
            on_progress(done, len(docs))
    return summarise(per_doc, classifier, not_applicable) | {
        "settings": {"n_steps": n_steps, "seed": seed, "permutations": permutations},
        "checkpoint": str(classifier.path) if classifier.path else None,
    }


def summarise(per_doc: list[dict], classifier: Classifier, not_applicable: str | None) -> dict:
    """Means over documents of every per-document figure."""
    out: dict = {"n": len(per_doc), "model": classifier.name, "attention_label": attention_label(classifier)}
    for level, bins in (("word", WORD_BINS), ("sentence", SENTENCE_BINS)):
        aopc = {}
        for ordering in ORDERINGS:
            by_k = {
                str(k): {
                    metric: _mean([d["erasure"][level][ordering][str(k)][metric] for d in per_doc])
                    for metric in ("comprehensiveness", "sufficiency")
                }
                for k in bins
            }
            aopc[ordering] = {
                metric: _mean([v[metric] for v in by_k.values()]) for metric in ("comprehensiveness", "sufficiency")
            } | {"by_k": by_k}
        key = "word" if level == "word" else "sentence"
        out[level] = {
            "aopc": aopc,
            "kendall_tau": {m: _mean([d["agreement"][m][key] for d in per_doc]) for m in per_doc[0]["agreement"]},
            "top_k": {
                m: {
                    name: _mean([d["agreement"][m]["top_k"][name] for d in per_doc])
                    for name in per_doc[0]["agreement"][m]["top_k"]
                    if name.startswith(key)
                }
                for m in per_doc[0]["agreement"]
            },
            "flips": None if not_applicable else counterfactual.summarise_flips([d["flips"] for d in per_doc], level),
        }
    out["counterfactual"] = {"not_applicable": not_applicable} if not_applicable else _counterfactual(per_doc)
    deltas = [abs(d["ig_delta"]) for d in per_doc if d["ig_delta"] is not None]
    out["ig_delta"] = {"mean_abs": _mean(deltas), "max_abs": max(deltas) if deltas else None}
    return out


def _counterfactual(per_doc: list[dict]) -> dict:
    rows = [d["counterfactual"] for d in per_doc]
    out: dict = {}
    for level in counterfactual.LEVELS:
        values = [r[f"permuted_{level}_tvd"] for r in rows if r[f"permuted_{level}_tvd"] is not None]
        median = float(np.median(values)) if values else None  # none: a flat model's sentence level
        out[f"permuted_{level}_tvd"] = {"mean": _mean(values), "median": median}
    out["accuracy"] = _mean([float(d["predicted"] == d["gold"]) for d in per_doc])
    out["uniform_accuracy"] = _mean(
        [float(r["uniform_class"] == d["gold"]) for r, d in zip(rows, per_doc, strict=True)]
    )
    out["uniform_changed"] = _mean(
        [float(r["uniform_class"] != d["predicted"]) for r, d in zip(rows, per_doc, strict=True)]
    )
    return out


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None
