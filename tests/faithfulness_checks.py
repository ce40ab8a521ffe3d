"""Properties of faithfulness figures, each computed again here without the code under test: plain forward passes
of the model, scipy's Kendall tau, the classifier's own predictions. Shared by the tests of the successors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

import han
from han.data.dataset import Example, collate
from han.data.vocab import PAD_ID


def probability(classifier: han.Classifier, doc: list[list[int]], target: int) -> float:
    """p_target of one encoded document by a plain forward pass (empty sentences dropped, as erasure does)."""
    kept = [s for s in doc if s] or [[PAD_ID]]
    with torch.no_grad():
        return float(classifier.model(collate([kept])).logits.softmax(dim=-1)[0, target])


def check_single(classifier: han.Classifier, text: str, single: dict) -> None:
    """explain_faithfulness of one document against the classifier's prediction, a slow leave-one-out loop,
    scipy's tau and the erasure curve's first steps."""
    predicted = classifier.predict(text)[0]
    assert single["prediction"] == predicted["label"]
    assert single["probability"] == pytest.approx(predicted["probabilities"][predicted["label"]], abs=1e-5)
    target = classifier.labels.index(predicted["label"])
    doc = classifier.encode(classifier.tokenize(text))
    p = probability(classifier, doc, target)
    explanation = classifier.explain(text)
    flat: dict[str, list[float]] = {}
    for i, (sentence, shown) in enumerate(zip(single["sentences"], explanation["sentences"], strict=True)):
        attention = [np.sqrt(shown["weight"]) * w for w in shown["word_weights"]]  # the paper's sqrt(p_s) p_w
        assert sentence["word_scores"]["attention"] == pytest.approx(attention, abs=1e-5)
        shortened = [[*doc[:i], doc[i][:j] + doc[i][j + 1 :], *doc[i + 1 :]] for j in range(len(doc[i]))]
        erased = [p - probability(classifier, variant, target) for variant in shortened]
        assert sentence["word_scores"]["leave_one_out"] == pytest.approx(erased, abs=1e-5)
        assert sentence["scores"]["leave_one_out"] == pytest.approx(
            p - probability(classifier, doc[:i] + doc[i + 1 :], target), abs=1e-5
        )
        for method, scores in sentence["word_scores"].items():
            flat.setdefault(method, []).extend(scores)
    per_sentence = {m: [s["scores"][m] for s in single["sentences"]] for m in single["sentences"][0]["scores"]}
    assert set(single["agreement"]) == set(flat) - {"attention"}
    for method, measured in single["agreement"].items():
        assert measured["word"] == pytest.approx(kendalltau(flat["attention"], flat[method]).statistic, abs=1e-9)
        sentences = kendalltau(per_sentence["attention"], per_sentence[method]).statistic
        assert measured["sentence"] == pytest.approx(sentences, abs=1e-9)
    curve = single["erasure_curve"]
    assert curve["removed"][:2] == [0, 1]
    for method in flat:
        assert curve[method][0] == pytest.approx(p, abs=1e-5)  # nothing removed yet
        # leave-one-out's first word is the one whose removal costs the most: no method's first word costs more
        assert curve["leave_one_out"][1] <= curve[method][1] + 1e-5, method
    assert curve["leave_one_out"][1] == pytest.approx(p - max(flat["leave_one_out"]), abs=1e-5)


def check_dataset(classifier: han.Classifier, examples: Sequence[Example], figures: dict) -> None:
    """dataset_faithfulness against the classifier's own accuracy, and bounds each figure must keep."""
    assert figures["n"] == len(examples)
    predicted = classifier.predict_examples(examples)
    accuracy = np.mean([label == e.label for label, e in zip(predicted, examples, strict=True)])
    assert figures["counterfactual"]["accuracy"] == pytest.approx(accuracy)
    for share in ("uniform_accuracy", "uniform_changed"):  # shares of the documents: multiples of 1/n in [0, 1]
        value = figures["counterfactual"][share] * len(examples)
        assert 0 <= value <= len(examples) and value == pytest.approx(round(value))
    for level in ("word", "sentence"):
        tvd = figures["counterfactual"][f"permuted_{level}_tvd"]
        assert 0 <= tvd["mean"] <= 1 and 0 <= tvd["median"] <= 1
        for method, tau in figures[level]["kendall_tau"].items():
            assert tau is None or -1 <= tau <= 1, (level, method)
        for ordering, flips in figures[level]["flips"].items():
            assert 0 < flips["fraction_to_flip"] <= 1 and 0 <= flips["top_item_flips"] <= 1, (level, ordering)
    # Removing the one sentence leave-one-out ranks first costs the most of any single sentence: its
    # comprehensiveness at k = 1 is at least every other ordering's, in every document and so in the mean.
    aopc = figures["sentence"]["aopc"]
    first = {ordering: aopc[ordering]["by_k"]["1"]["comprehensiveness"] for ordering in aopc}
    for ordering, value in first.items():
        assert first["leave_one_out"] >= value - 1e-5, (ordering, first)
