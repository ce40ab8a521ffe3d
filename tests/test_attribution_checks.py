"""Word and sentence scores (han/interpret/attribution.py) on small untrained models, each against a computation
of its own: leave-one-out against single forwards of the erased documents, gradient x input against autograd,
integrated gradients' completeness, attention against the model's weights, agreement against scipy and counting.

None of these needs a trained model: the identities hold for any weights, so the models here are seeded and
built in milliseconds (tests/test_faithfulness.py runs the same methods on a trained one and checks that they find
a planted word). Each fails on mutants that survived the planted tests (scripts/mutation.py attribution).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

import han.interpret.attribution as attribution
from han.checkpoint.classifier import Classifier
from han.data.dataset import collate
from han.data.text import Tokenized
from han.data.vocab import Vocab
from han.errors import HanError
from han.interpret.attribution import (
    DocumentScores,
    agreement,
    attention_label,
    class_probabilities,
    document_scores,
    erased_logits,
    leave_one_out,
    only_words,
    tau,
    top_overlap,
    without_words,
)
from han.nn.model import HAN, ModelConfig

WORDS = ["good", "bad", "food", "was", "the", "place", "slow", "very", "service", "tasty", "cold", "we"]
TEXT = Tokenized([["the", "food", "was", "good"], ["service"], ["slow", "very", "slow", "service", "we"]])
SETTINGS: dict[str, dict[str, Any]] = {
    "att": {},
    "max": {"variant": "max"},
    "cahan": {"variant": "cahan"},  # its sentences read each other: erased variants run as whole documents
    "tasc": {"tasc": True},
    "flat": {"structure": "flat"},
}


def classifier(name: str = "att", seed: int = 0) -> Classifier:
    torch.manual_seed(seed)
    settings = SETTINGS[name]
    config = ModelConfig(len(WORDS) + 2, 3, embed_dim=6, word_hidden=4, sentence_hidden=4, context_dim=5, **settings)
    model = HAN(config)
    with torch.no_grad():  # larger weights than the initialisation's: probabilities that move when a word goes
        for parameter in model.parameters():
            parameter.mul_(4)
    return Classifier(model, Vocab(WORDS), {"labels": ["1", "3", "5"], "model": settings}, {})


def p_of(model: Classifier, doc: list[list[int]], target: int) -> float:
    """p_target of one document by a plain forward pass (an empty document: one PAD word)."""
    kept = [s for s in doc if s] or [[0]]
    with torch.no_grad():
        return float(model.model.eval()(collate([kept])).logits.softmax(-1)[0, target])


@pytest.mark.parametrize("name", list(SETTINGS))
def test_leave_one_out_is_the_drop_of_p_when_each_word_or_sentence_is_erased(name):
    model = classifier(name)
    doc = model.encode(TEXT)
    words, sentences, p = leave_one_out(model, doc, 2)
    assert p == pytest.approx(p_of(model, doc, 2), abs=1e-6)
    assert [len(w) for w in words] == [4, 1, 5] and len(sentences) == 3
    for i, sentence in enumerate(doc):
        for j in range(len(sentence)):
            assert words[i][j] == pytest.approx(p - p_of(model, without_words(doc, {(i, j)}), 2), abs=1e-6)
        assert sentences[i] == pytest.approx(p - p_of(model, doc[:i] + doc[i + 1 :], 2), abs=1e-6)
    assert max(abs(v) for row in words for v in row) > 1e-4  # erasing words moves p: the test has teeth


@pytest.mark.parametrize("name", ["att", "cahan"])
def test_erasing_the_only_word_leaves_the_one_pad_word_baseline(name):
    model = classifier(name)
    logits = erased_logits(model, [[3]])  # the document, it without its word, it without its sentence
    with torch.no_grad():
        expected = model.model(collate([[[3]], [[0]], [[0]]])).logits
    assert torch.allclose(logits, expected, atol=1e-6)


def test_class_probabilities_are_the_same_in_one_batch_or_many(monkeypatch):
    model = classifier()
    doc = model.encode(TEXT)
    variants = [doc, doc[:1], [], [[], [4, 5]], doc[1:]]
    together = class_probabilities(model, variants, 1)
    monkeypatch.setattr(attribution, "TOKEN_BUDGET", 6)  # a forward pass per variant or two
    apart = class_probabilities(model, variants, 1)
    expected = [p_of(model, v, 1) for v in variants]
    assert np.allclose(together, expected, atol=1e-6) and np.allclose(apart, expected, atol=1e-6)


def test_only_words_keeps_the_positions_given_in_reading_order():
    doc = [[1, 2, 3], [4], [5, 6]]
    assert only_words(doc, {(0, 2), (2, 0), (0, 0)}) == [[1, 3], [], [5]]
    assert without_words(doc, {(0, 2), (2, 0), (0, 0)}) == [[2], [4], [6]]


def embedded_gradient(model: Classifier, doc: list[list[int]], target: int) -> torch.Tensor:
    """(n_sentences, max_words): d p_target / d e_w . e_w per position, by autograd on forward_embedded."""
    batch = collate([doc])
    embedded = model.model.embedding(batch.words).detach().requires_grad_()
    p = model.model.eval().forward_embedded(batch, embedded).logits.softmax(-1)[0, target]
    (grad,) = torch.autograd.grad(p, embedded)
    return (grad * embedded).sum(-1).detach()


@pytest.mark.parametrize("name", ["att", "tasc"])
def test_gradient_x_input_is_the_gradient_of_p_times_each_word_vector(name):
    model = classifier(name)
    scores = document_scores(model, TEXT, ("gradient_x_input",))
    expected = embedded_gradient(model, model.encode(TEXT), scores.predicted)
    for i, row in enumerate(scores.word["gradient_x_input"]):
        assert row == pytest.approx(expected[i, : len(row)].tolist(), abs=1e-6)
    assert scores.sentence["gradient_x_input"] == pytest.approx([sum(r) for r in scores.word["gradient_x_input"]])
    assert "ig_delta" not in scores.extra  # no integrated gradients asked, no delta


def test_integrated_gradients_add_up_to_p_minus_p_of_the_pad_baseline():
    model = classifier()
    scores = document_scores(model, TEXT, ("integrated_gradients",), n_steps=200)
    doc = model.encode(TEXT)
    baseline = p_of(model, [[0] * len(s) for s in doc], scores.predicted)  # every real word's vector zero
    total = sum(sum(row) for row in scores.word["integrated_gradients"])
    assert total == pytest.approx(scores.probability - baseline, abs=2e-3)
    assert abs(scores.extra["ig_delta"]) < 2e-3 and scores.extra["ig_n_steps"] == 200
    assert [len(r) for r in scores.word["integrated_gradients"]] == [4, 1, 5]


@pytest.mark.parametrize("name", ["att", "max", "flat"])
def test_attention_scores_are_sqrt_ps_times_pw_and_the_sentence_weights(name):
    model = classifier(name)
    scores = document_scores(model, TEXT, ("attention",))
    with torch.no_grad():
        out = model.model(collate([model.encode(TEXT)]))
    p_s = out.sentence_weights[0].tolist()
    p_w = [out.word_weights[i, : len(s)].tolist() for i, s in enumerate(TEXT.sentences)]
    expected = [[math.sqrt(p_s[i]) * w for w in p_w[i]] for i in range(3)]
    assert all(a == pytest.approx(b, abs=1e-6) for a, b in zip(scores.word["attention"], expected, strict=True))
    assert scores.extra["attention_label"] == (
        "max pooling's argmax shares (HN-MAX has no attention)" if name == "max" else "attention weights"
    )
    sentences = [sum(w) for w in p_w] if name == "flat" else p_s  # flat: p_s = 1 each, the words' share instead
    assert scores.sentence["attention"] == pytest.approx(sentences, abs=1e-6)
    assert all(a == pytest.approx(b, abs=1e-6) for a, b in zip(scores.extra["attention_raw"], p_w, strict=True))
    logits = out.logits[0]
    assert scores.predicted == int(logits.argmax()) and scores.probability == pytest.approx(
        float(logits.softmax(-1).max()), abs=1e-6
    )


def test_random_scores_are_seeded_uniform_draws_per_word_and_sentence():
    model = classifier()
    first = document_scores(model, TEXT, ("random",), seed=4)
    rng = np.random.default_rng(4)
    assert first.word["random"] == [rng.random(4).tolist(), rng.random(1).tolist(), rng.random(5).tolist()]
    assert first.sentence["random"] == rng.random(3).tolist()
    assert document_scores(model, TEXT, ("random",), seed=5).word["random"] != first.word["random"]


def test_attention_label_says_what_the_weights_are():
    assert attention_label(classifier("att")) == "attention weights"
    assert attention_label(classifier("max")) == "max pooling's argmax shares (HN-MAX has no attention)"
    assert (
        attention_label(classifier("tasc"))
        == "task-scaled attention weights |alpha s| (TaSc), renormalised per sentence"
    )
    assert attention_label(classifier("cahan")) == "attention weights"  # context-aware, but attention
    older = classifier()
    del older.config["model"]  # a config without the model's settings: no TaSc
    assert attention_label(older) == "attention weights"
    ave = classifier()
    ave.model.config.variant = "ave"
    assert attention_label(ave) == "average pooling's uniform weights (HN-AVE has no attention)"


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (
            {"methods": ("shap", "attention", "lime")},
            "unknown method(s) shap, lime; choose from " + ", ".join(attribution.METHODS),
        ),
        ({"n_steps": 0}, "n_steps must be at least 1"),
    ],
)
def test_bad_requests_are_refused_in_one_line(kwargs, message):
    with pytest.raises(HanError) as refused:
        document_scores(classifier(), TEXT, **kwargs)
    assert str(refused.value) == message


def test_a_document_without_words_is_refused():
    with pytest.raises(HanError) as refused:
        document_scores(classifier(), Tokenized([]))
    assert str(refused.value) == "the document has no words"


def test_top_overlap_counts_shared_items_among_each_rankings_top_k():
    a, b = np.array([0.9, 0.1, 0.5, 0.3]), np.array([0.2, 0.8, 0.7, 0.1])
    assert top_overlap(a, b, 1) == 0.0 and top_overlap(a, b, 2) == 0.5 and top_overlap(a, b, 4) == 1.0
    assert top_overlap(a, b, 5) is None
    ties = np.array([1.0, 1.0, 0.0])  # a stable sort: the first of equal scores ranks first
    assert top_overlap(ties, np.array([0.9, 0.0, 0.5]), 1) == 1.0


def test_tau_is_scipys_kendall_tau_b_and_none_when_undefined():
    a, b = np.array([0.1, 0.4, 0.2, 0.9, 0.5]), np.array([0.3, 0.1, 0.2, 0.8, 0.6])
    assert tau(a, b) == pytest.approx(kendalltau(a, b).statistic) and tau(a, b) == pytest.approx(0.4)
    assert tau(a[:1], b[:1]) is None and tau(np.ones(3), b[:3]) is None


def test_agreement_compares_attention_with_each_method_present():
    scores = DocumentScores(tokens=[["a", "b"], ["c"]], predicted=0, probability=0.5)
    scores.word = {"attention": [[0.5, 0.2], [0.3]], "random": [[0.1, 0.3], [0.2]]}
    scores.sentence = {"attention": [0.7, 0.3], "random": [0.4, 0.6]}
    result = agreement(scores)
    assert list(result) == ["random"]
    assert result["random"]["word"] == pytest.approx(-1.0) and result["random"]["sentence"] == pytest.approx(-1.0)
    assert result["random"]["top_k"] == {"word_top1": 0.0, "word_top3": 1.0, "word_top5": None, "sentence_top1": 0.0}
    del scores.word["attention"]
    with pytest.raises(HanError) as refused:
        agreement(scores)
    assert str(refused.value) == "agreement needs the attention scores"


def test_the_step_count_reaches_captum_and_the_defaults_are_20_steps_and_seed_0():
    model = classifier()
    default = document_scores(model, TEXT)
    assert default.extra["ig_n_steps"] == 20
    explicit = document_scores(model, TEXT, n_steps=20, seed=0)
    assert default.word == explicit.word and default.extra["ig_delta"] == explicit.extra["ig_delta"]
    one = document_scores(model, TEXT, ("integrated_gradients",), n_steps=1)  # one step is allowed
    assert one.extra["ig_delta"] != pytest.approx(default.extra["ig_delta"], abs=1e-9)  # and coarser than 20
