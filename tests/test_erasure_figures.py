"""ERASER figures, the erasure curve and the data-set summary (han/interpret/faithfulness.py), each against the
probabilities of the erased documents computed one by one, or against means counted by hand.

Untrained seeded models from tests/test_attribution_checks.py: the identities hold for any weights. Each test fails
on mutants that survived the planted tests of tests/test_faithfulness.py (scripts/mutation.py faithfulness).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from han.data.readers import Example
from han.data.text import Tokenized
from han.errors import HanError
from han.interpret import counterfactual
from han.interpret.attribution import METHODS, DocumentScores, document_scores, only_words, without_words
from han.interpret.faithfulness import (
    ORDERINGS,
    SENTENCE_BINS,
    WORD_BINS,
    _counterfactual,
    dataset_faithfulness,
    erasure,
    erasure_curve,
    explain_faithfulness,
    summarise,
)
from tests.test_attribution_checks import classifier, p_of

DOC = [[2, 3, 4, 5], [6], [7, 8, 9, 10, 11, 12, 13]]  # 12 words: bins of 1, 1, 2, 3 and 6 words
POSITIONS = [(i, j) for i, s in enumerate(DOC) for j in range(len(s))]


def scores_of(target: int) -> DocumentScores:
    """Attention ranks the words in reverse reading order, random in reading order; sentences likewise."""
    scores = DocumentScores(tokens=[], predicted=target, probability=0.0)
    ranks = np.arange(12, dtype=float)
    scores.word = {"attention": [list(ranks[:4]), list(ranks[4:5]), list(ranks[5:])]}
    scores.word["random"] = [[-v for v in row] for row in scores.word["attention"]]
    scores.sentence = {"attention": [0.1, 0.5, 0.3], "random": [0.9, 0.2, 0.4]}
    return scores


def top_words(ordering: str, k: int) -> set[tuple[int, int]]:
    order = list(reversed(POSITIONS)) if ordering == "attention" else POSITIONS
    return set(order[:k])


def test_comprehensiveness_and_sufficiency_of_every_ordering_and_bin():
    model = classifier()
    out = erasure(model, DOC, scores_of(2))
    p = p_of(model, DOC, 2)
    for ordering in ("attention", "random"):
        assert set(out["word"][ordering]) == {str(k) for k in WORD_BINS}
        for k in WORD_BINS:
            top = top_words(ordering, max(1, math.ceil(k / 100 * 12)))
            figures = out["word"][ordering][str(k)]
            assert figures["comprehensiveness"] == pytest.approx(p - p_of(model, without_words(DOC, top), 2), abs=1e-6)
            assert figures["sufficiency"] == pytest.approx(p - p_of(model, only_words(DOC, top), 2), abs=1e-6)
        by_score = [1, 2, 0] if ordering == "attention" else [0, 2, 1]  # sentences, highest score first
        for k in SENTENCE_BINS:
            kept = set(by_score[:k])
            figures = out["sentence"][ordering][str(k)]
            removed = [s for i, s in enumerate(DOC) if i not in kept]
            alone = [s for i, s in enumerate(DOC) if i in kept]
            assert figures["comprehensiveness"] == pytest.approx(p - p_of(model, removed, 2), abs=1e-6)
            assert figures["sufficiency"] == pytest.approx(p - p_of(model, alone, 2), abs=1e-6)
    assert set(out["word"]) == {"attention", "random"}  # orderings without scores are left out


def test_the_erasure_curve_removes_the_top_words_one_more_at_a_time():
    model = classifier()
    curve = erasure_curve(model, DOC, scores_of(1))
    assert curve["removed"] == list(range(11))  # 0 to 10 words of 12
    for ordering in ("attention", "random"):
        expected = [p_of(model, without_words(DOC, top_words(ordering, m)), 1) for m in range(11)]
        assert curve[ordering] == pytest.approx(expected, abs=1e-6)
    levels = [2.0, 0, 1, 2, 2, 0, 1, 1, 2, 0, 2, 1, 0, 2, 1, 2, 0, 2, 1, 2]  # ties: removed in reading order
    tied_doc = [[2 + j % 12 for j in range(10)], [4 + j % 9 for j in range(10)]]
    tied = DocumentScores(tokens=[], predicted=1, probability=0.0, word={"random": [levels[:10], levels[10:]]})
    order = sorted(range(20), key=lambda k: -levels[k])  # Python's sort is stable
    positions = [(k // 10, k % 10) for k in order]
    expected = [p_of(model, without_words(tied_doc, set(positions[:m])), 1) for m in range(11)]
    assert erasure_curve(model, tied_doc, tied)["random"] == pytest.approx(expected, abs=1e-6)
    three = DocumentScores(tokens=[], predicted=1, probability=0.0, word={"random": [[0.3, 0.2, 0.1]]})
    assert erasure_curve(model, [[2, 3, 4]], three)["removed"] == [0, 1, 2]  # never the last word


def row(comprehensiveness: float, tau: float | None, predicted: int, gold: int, uniform: int, tvd: float) -> dict:
    """One document's figures as dataset_faithfulness collects them (one ordering, every bin alike)."""
    figures = {"comprehensiveness": comprehensiveness, "sufficiency": -comprehensiveness}
    return {
        "erasure": {
            "word": {o: {str(k): figures for k in WORD_BINS} for o in ORDERINGS},
            "sentence": {o: {str(k): figures for k in SENTENCE_BINS} for o in ORDERINGS},
        },
        "agreement": {"random": {"word": tau, "sentence": 0.5, "top_k": {"word_top1": 1.0, "sentence_top1": 0.0}}},
        "gold": gold,
        "predicted": predicted,
        "ig_delta": -comprehensiveness,
        "counterfactual": {
            "permuted_word_tvd": tvd,
            "permuted_sentence_tvd": None,
            "uniform_class": uniform,
        },
    }


def test_the_summary_is_the_mean_over_documents_ignoring_what_is_undefined():
    rows = [row(0.2, 0.5, 1, 1, 0, 0.1), row(0.4, None, 2, 1, 2, 0.3), row(0.6, 0.1, 0, 0, 0, 0.8)]
    out = summarise(rows, classifier("max"), "max pooling has no weights to zero, permute or make uniform")
    assert out["n"] == 3 and out["attention_label"] == "max pooling's argmax shares (HN-MAX has no attention)"
    assert out["model"] == "HN-MAX" and summarise(rows[:1], classifier("max"), "n/a")["n"] == 1
    without_ig = [r | {"ig_delta": None} for r in rows]  # no integrated gradients asked
    assert summarise(without_ig, classifier("max"), "n/a")["ig_delta"] == {"mean_abs": None, "max_abs": None}
    word = out["word"]
    assert word["aopc"]["random"]["comprehensiveness"] == pytest.approx(0.4)
    assert word["aopc"]["attention"]["by_k"]["20"]["sufficiency"] == pytest.approx(-0.4)
    assert word["kendall_tau"] == {"random": pytest.approx(0.3)}  # None left out: (0.5 + 0.1) / 2
    assert word["top_k"] == {"random": {"word_top1": 1.0}}
    assert out["sentence"]["top_k"] == {"random": {"sentence_top1": 0.0}}
    assert out["sentence"]["kendall_tau"] == {"random": 0.5} and word["flips"] is None
    assert out["counterfactual"] == {"not_applicable": "max pooling has no weights to zero, permute or make uniform"}
    assert out["ig_delta"]["mean_abs"] == pytest.approx(0.4) and out["ig_delta"]["max_abs"] == pytest.approx(0.6)
    counter = _counterfactual(rows)
    assert counter["accuracy"] == pytest.approx(2 / 3)  # documents 1 and 3 predicted right
    assert counter["uniform_accuracy"] == pytest.approx(1 / 3)  # uniform attention gives the gold class once
    assert counter["uniform_changed"] == pytest.approx(1 / 3)  # and another class than the prediction once
    assert counter["permuted_word_tvd"] == {"mean": pytest.approx(0.4), "median": pytest.approx(0.3)}
    assert counter["permuted_sentence_tvd"] == {"mean": None, "median": None}


def examples() -> list[Example]:
    return [
        Example(label="5", text="The food was good. Service."),
        Example(label="2", text="Slow service."),  # a label the model does not know: left out
        Example(label="1", text=""),  # no words: left out
        Example(label="1", text="Cold food. We were slow."),
        Example(label="3", text="Tasty."),
    ]


def test_the_data_set_figures_cover_the_first_documents_the_model_can_read():
    model = classifier()
    progress: list[tuple[int, int]] = []
    out = dataset_faithfulness(model, examples(), limit=2, n_steps=2, seed=7, on_progress=lambda *a: progress.append(a))
    assert out["n"] == 2 and progress == [(1, 2), (2, 2)]
    assert out["settings"] == {"n_steps": 2, "seed": 7, "permutations": 5} and out["checkpoint"] is None
    assert out["counterfactual"]["accuracy"] is not None and out["word"]["flips"] is not None
    everything = dataset_faithfulness(model, examples(), n_steps=2, permutations=2)
    assert everything["n"] == 3 and everything["settings"]["permutations"] == 2


def test_no_readable_document_or_a_limit_below_one_is_refused():
    model = classifier()
    with pytest.raises(HanError) as refused:
        dataset_faithfulness(model, examples()[1:3])
    assert str(refused.value) == "no document to measure (N = 0): give labelled documents with words"
    with pytest.raises(HanError) as refused:
        dataset_faithfulness(model, examples(), limit=0)
    assert str(refused.value) == "--limit must be at least 1"


def test_one_documents_evidence_shows_the_text_as_written_with_every_method():
    model = classifier()
    text = "The food was good. Slow service!"
    result = explain_faithfulness(model, text, methods=["leave_one_out"], n_steps=3)
    assert result["text"] == text and result["n_steps"] == 3 and result["truncated"] == {}
    assert result["model"] == "HN-ATT" and result["prediction"] in {"1", "3", "5"}
    assert [s["tokens"] for s in result["sentences"]] == [["the", "food", "was", "good", "."], ["slow", "service", "!"]]
    first = result["sentences"][0]
    assert set(first["word_scores"]) == {"attention", "leave_one_out"}  # attention added: agreement needs it
    assert [text[a:b] for a, b in first["spans"]] == ["The", "food", "was", "good", "."]
    assert set(result["agreement"]) == {"leave_one_out"}
    assert set(result["erasure_curve"]) == {"removed", "attention", "leave_one_out"}
    tokens = explain_faithfulness(model, Tokenized([["good", "food"]]))
    assert "text" not in tokens and "spans" not in tokens["sentences"][0]


def test_a_documents_evidence_is_its_scores_by_every_method_with_the_documented_defaults():
    model = classifier()
    text = "The food was good. Slow service!"
    result = explain_faithfulness(model, text)  # every method, 20 steps, seed 0
    scores = document_scores(model, model.tokenize(text), METHODS, 20, 0)
    assert set(result) == {
        *("model", "attention_label", "prediction", "probability", "sentences", "text", "agreement"),
        *("erasure_curve", "ig_delta", "n_steps", "truncated"),
    }
    assert result["n_steps"] == 20 and result["attention_label"] == "attention weights"
    assert result["probability"] == pytest.approx(scores.probability)
    assert result["ig_delta"] == pytest.approx(scores.extra["ig_delta"])
    for i, sentence in enumerate(result["sentences"]):
        assert sentence["scores"] == pytest.approx({m: scores.sentence[m][i] for m in METHODS})
        assert sentence["word_scores"]["random"] == scores.word["random"][i]
        assert sentence["attention_raw"] == pytest.approx(scores.extra["attention_raw"][i])
    seeded = explain_faithfulness(model, text, methods=["random"], seed=3)
    expected = document_scores(model, model.tokenize(text), ("attention", "random"), seed=3).word["random"]
    assert [s["word_scores"]["random"] for s in seeded["sentences"]] == expected


def test_spans_follow_a_model_that_keeps_the_case():
    model = classifier()
    model.limits = dataclasses.replace(model.limits, lowercase=False)
    text = "The FOOD was good."
    result = explain_faithfulness(model, text, methods=["random"])
    assert result["sentences"][0]["tokens"] == ["The", "FOOD", "was", "good", "."]
    assert [text[a:b] for a, b in result["sentences"][0]["spans"]] == ["The", "FOOD", "was", "good", "."]


def test_each_document_gets_its_own_seed_and_the_figures_are_the_means_of_its_erasures():
    model = classifier()
    out = dataset_faithfulness(model, examples(), limit=2, n_steps=3, seed=7)
    readable = [e for e in examples() if e.label in model.labels and e.text][:2]
    per_doc: list[dict] = []
    tvds: list[float] = []
    for done, example in enumerate(readable, start=1):  # document k: seed 7 + k, as the docstring says
        doc = model.prepare(example)
        per_doc.append(erasure(model, model.encode(doc), document_scores(model, doc, METHODS, 3, 7 + done)))
        tvd = counterfactual.counterfactuals(model.model, model.encode(doc), 5, 7 + done)["permuted_word_tvd"]
        assert isinstance(tvd, float)
        tvds.append(tvd)
    assert out["counterfactual"]["permuted_word_tvd"]["mean"] == pytest.approx(np.mean(tvds), abs=1e-6)
    for ordering in ("random", "integrated_gradients"):
        expected = np.mean([d["word"][ordering][str(k)]["comprehensiveness"] for d in per_doc for k in WORD_BINS])
        assert out["word"]["aopc"][ordering]["comprehensiveness"] == pytest.approx(expected, abs=1e-6), ordering
    assert set(out["word"]["flips"]) == set(out["sentence"]["flips"]) == {"attention", "gradient", "random"}


def test_the_data_set_defaults_and_a_limit_of_one(tmp_path):
    model = classifier()
    model.path = tmp_path  # as loaded from a checkpoint folder
    out = dataset_faithfulness(model, examples(), limit=1)
    assert out["n"] == 1 and out["settings"] == {"n_steps": 20, "seed": 0, "permutations": 5}
    assert out["checkpoint"] == str(tmp_path)


def test_max_pooling_gets_no_counterfactuals_and_says_why():
    out = dataset_faithfulness(classifier("max"), examples(), limit=1, n_steps=2)
    why = "max pooling has no weights to zero, permute or make uniform"
    assert out["counterfactual"] == {"not_applicable": why} and out["word"]["flips"] is None


def test_ties_are_erased_in_reading_order_and_bins_round_up():
    model = classifier()
    levels = [2, 0, 1, 2, 2, 0, 1, 1, 2, 0, 2, 1, 0, 2, 1, 2, 0, 2, 1, 2]  # 20 one-word sentences, tied scores
    doc = [[2 + k % 12] for k in range(20)]
    scores = DocumentScores(tokens=[], predicted=0, probability=0.0)
    scores.word = {"random": [[float(v)] for v in levels]}
    sentence_levels = [1, 1, 2, 2, 0, 0, 2, 2, 0, 0, 2, 1, 0, 2, 0, 1, 1, 1, 0, 0]  # numpy's default sort: 3 first
    scores.sentence = {"random": [float(v) for v in sentence_levels]}
    out = erasure(model, doc, scores)
    order = sorted(range(20), key=lambda k: -levels[k])  # Python's sort is stable: ties in reading order
    p = p_of(model, doc, 0)
    for k, n in ((20, 4), (50, 10)):  # words: ceil(k% of 20)
        top = {(i, 0) for i in order[:n]}
        assert out["word"]["random"][str(k)]["comprehensiveness"] == pytest.approx(
            p - p_of(model, without_words(doc, top), 0), abs=1e-6
        )
    sentence_order = sorted(range(20), key=lambda k: -sentence_levels[k])
    for k in SENTENCE_BINS:
        kept = [s for i, s in enumerate(doc) if i not in sentence_order[:k]]
        assert out["sentence"]["random"][str(k)]["comprehensiveness"] == pytest.approx(
            p - p_of(model, kept, 0), abs=1e-6
        )
    long = [[2 + (k * 7) % 12 for k in range(101)]]  # 101 words: 10% is 10.1 words, rounded up to 11
    ranked = DocumentScores(tokens=[], predicted=0, probability=0.0, word={"random": [list(range(101, 0, -1))]})
    ranked.sentence = {"random": [1.0]}
    figures = erasure(model, long, ranked)["word"]["random"]["10"]
    eleven = {(0, j) for j in range(11)}
    assert figures["comprehensiveness"] == pytest.approx(
        p_of(model, long, 0) - p_of(model, without_words(long, eleven), 0), abs=1e-6
    )
