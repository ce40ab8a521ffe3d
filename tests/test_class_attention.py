"""An attention per class: "HN-ATT (per class)" (han/nn/class_attention.py) and "HN-ATT (evidence)"
(han/nn/evidence.py); issue 34.

What must hold, for both: the model computes what its module docstring writes, checked against a slow
computation by hand, one sentence and one class at a time; class c's logit reads only class c's attention; padding never
changes a logit or a weight; the weights shown are the predicted class's; a trained checkpoint goes through
every downstream path (save/load, explain, faithfulness, stats, info, the app's names); bad settings are
refused in one line before any data is read.
"""

from __future__ import annotations

import json
from typing import cast

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_sequence

import han
from han.__main__ import main
from han.data.dataset import checkpoint_split, collate
from han.data.text import TextLimits
from han.interpret.explain import head_view
from han.interpret.faithfulness import dataset_faithfulness, explain_faithfulness
from han.nn.evidence import EvidenceDocument, EvidenceReadout
from han.nn.level import Encoder
from han.nn.model import HAN, ModelConfig
from han.nn.pooling import Pooling
from han.nn.scores import attention_scores
from han.nn.variants import model_key, model_name
from han.training.recipes import recipe_config
from han.training.train import train

DOCS = [[[2, 3, 4, 5], [6, 7]], [[8, 9, 10]], [[11, 12], [13, 14, 15, 16, 17], [4, 2]]]  # word ids, ragged


MODES = ["separate", "evidence"]


def make_model(mode: str = "separate", seed: int = 0) -> HAN:
    torch.manual_seed(seed)
    config = ModelConfig(vocab_size=30, n_classes=4, embed_dim=8, word_hidden=5, sentence_hidden=6, context_dim=7)
    config.class_attention = mode
    model = HAN(config).eval()
    if mode == "evidence":  # away from its starting value 1, so a lost temperature would show
        cast(EvidenceDocument, model.sentence_encoder.pool).log_tau.data.fill_(0.4)
    return model


def pools(model: HAN) -> tuple[Pooling, Pooling]:
    """The word and the sentence level's attention."""
    return cast(Pooling, model.word_encoder.pool), cast(Pooling, model.sentence_encoder.pool)


def by_hand(model: HAN, doc: list[list[int]]) -> tuple[torch.Tensor, list[list[torch.Tensor]], list[torch.Tensor]]:
    return (by_hand_evidence if model.class_mode == "evidence" else by_hand_separate)(model, doc)


def by_hand_evidence(model: HAN, doc: list[list[int]]) -> tuple[torch.Tensor, list[list[torch.Tensor]], list]:
    """Per class: e^c_t = u_c . tanh(W h_t + b), alpha^c = softmax(e^c), S^c_i = alpha^c . e^c, beta^c =
    softmax(S^c / tau), z_c = beta^c . S^c + b_c; one sentence and one class at a time."""
    pool = cast(Pooling, model.word_encoder.pool)
    tau = cast(EvidenceDocument, model.sentence_encoder.pool).log_tau.exp()
    logits, word_weights, sentence_weights = [], [], []
    for c in range(model.config.n_classes):
        evidence, alphas = [], []
        for sentence in doc:
            h = model.word_states([sentence])[0][0, : len(sentence)]  # (L, 2 * word_hidden)
            assert pool.project is not None  # W, b of the paper's u = tanh(W h + b)
            e = torch.tanh(pool.project(h)) @ pool.context[c]  # (L,)
            alpha = e.softmax(0)
            evidence.append(alpha @ e)
            alphas.append(alpha)
        sentences = torch.stack(evidence)  # (S,)
        beta = (sentences / tau).softmax(0)
        logits.append(beta @ sentences + cast(EvidenceReadout, model.classifier).bias[c])
        word_weights.append(alphas)
        sentence_weights.append(beta)
    return torch.stack(logits), word_weights, sentence_weights


def by_hand_separate(
    model: HAN, doc: list[list[int]]
) -> tuple[torch.Tensor, list[list[torch.Tensor]], list[torch.Tensor]]:
    """Logits (C,), and per class the word weights (one tensor per sentence) and sentence weights, computed one
    sentence and one class at a time with the model's parameters: alpha^c = softmax(u_c . tanh(W h + b)),
    s^c = sum alpha^c h, the sentence GRU over class c's s^c alone, beta^c likewise, z_c = w_c . d^c + b_c."""
    word_pool, sentence_pool = pools(model)
    logits, word_weights, sentence_weights = [], [], []
    for c in range(model.config.n_classes):
        vectors, alphas = [], []
        for sentence in doc:
            h = model.word_states([sentence])[0][0, : len(sentence)]  # (L, 2 * word_hidden), this sentence alone
            alpha = attention_scores("additive", h, word_pool.context[c : c + 1], word_pool.project)[:, 0].softmax(0)
            vectors.append(alpha @ h)  # (2 * word_hidden,)
            alphas.append(alpha)
        g = cast(Encoder, model.sentence_encoder).gru(pack_sequence([torch.stack(vectors)]))  # (S, 2 * sentence_hidden)
        beta = attention_scores("additive", g, sentence_pool.context[c : c + 1], sentence_pool.project)[:, 0]
        beta = beta.softmax(0)  # (S,)
        readout = cast(nn.Linear, model.classifier)
        logits.append(readout.weight[c] @ (beta @ g) + readout.bias[c])
        word_weights.append(alphas)
        sentence_weights.append(beta)
    return torch.stack(logits), word_weights, sentence_weights


@torch.no_grad()
@pytest.mark.parametrize("mode", MODES)
def test_the_model_computes_what_the_docstring_writes(mode):
    model = make_model(mode)
    out = model(collate(DOCS))  # (3, 4) logits; weights of the predicted classes
    row = 0
    for d, doc in enumerate(DOCS):
        logits, words, sentences = by_hand(model, doc)
        assert torch.allclose(out.logits[d], logits, atol=1e-5), d
        c = int(logits.argmax())
        assert torch.allclose(out.sentence_weights[d, : len(doc)], sentences[c], atol=1e-5)
        assert out.sentence_head_weights is not None and out.word_head_weights is not None
        for k in range(model.config.n_classes):  # every class's weights, offered as the model's heads
            assert torch.allclose(out.sentence_head_weights[d, : len(doc), k], sentences[k], atol=1e-5), (d, k)
            for i, sentence in enumerate(doc):
                assert torch.allclose(out.word_head_weights[row + i, : len(sentence), k], words[k][i], atol=1e-5)
        assert (out.sentence_weights[d, len(doc) :] == 0).all()  # padding sentences weigh exactly 0
        for i, sentence in enumerate(doc):
            assert torch.allclose(out.word_weights[row, : len(sentence)], words[c][i], atol=1e-5), (d, i)
            assert (out.word_weights[row, len(sentence) :] == 0).all()  # padding words weigh exactly 0
            row += 1


@torch.no_grad()
@pytest.mark.parametrize("mode", MODES)
def test_each_class_logit_reads_only_its_own_attention(mode):
    model = make_model(mode)
    before = model(collate(DOCS)).logits  # (3, 4)
    changed = 2
    word_pool, sentence_pool = pools(model)
    word_pool.context[changed] += 0.5  # class 2's word context vector
    if mode == "separate":
        sentence_pool.context[changed] -= 0.5  # and its sentence context vector
    after = model(collate(DOCS)).logits
    others = [c for c in range(4) if c != changed]
    assert torch.equal(after[:, others], before[:, others])
    assert (after[:, changed] - before[:, changed]).abs().min() > 1e-6


@torch.no_grad()
@pytest.mark.parametrize("mode", MODES)
def test_padding_never_changes_a_logit_or_a_weight(mode):
    model = make_model(mode, seed=1)
    together = model(collate(DOCS))
    row = 0
    for d, doc in enumerate(DOCS):
        alone = model(collate([doc]))
        assert torch.allclose(alone.logits[0], together.logits[d], atol=1e-6)
        assert torch.allclose(alone.sentence_weights[0], together.sentence_weights[d, : len(doc)], atol=1e-6)
        width = alone.word_weights.size(1)
        assert torch.allclose(alone.word_weights, together.word_weights[row : row + len(doc), :width], atol=1e-6)
        row += len(doc)


@pytest.mark.parametrize("mode", MODES)
def test_gradients_reach_every_class_attention_and_no_padding(mode):
    model = make_model(mode).train()
    model(collate(DOCS)).logits.logsumexp(dim=-1).sum().backward()
    for pool in pools(model)[: 1 if mode == "evidence" else 2]:  # the evidence model has no sentence context
        assert pool.context.grad is not None and (pool.context.grad.abs().sum(dim=1) > 0).all()
    assert model.embedding.weight.grad is not None and (model.embedding.weight.grad[0] == 0).all()  # PAD row


def test_names_and_keys():
    config = {"model": {"variant": "att", "class_attention": "separate"}, "training": {}}
    assert model_name(config["model"]) == "HN-ATT (per class)"
    assert model_key(config) == "att-per-class"
    assert model_name({"variant": "att", "class_attention": "evidence"}) == "HN-ATT (evidence)"
    assert model_key({"model": {"variant": "att", "class_attention": "evidence"}}) == "att-evidence"
    assert model_key({"model": {"variant": "att"}}) == "att"  # checkpoints without it keep their key


@pytest.fixture(scope="module", params=MODES)
def per_class_checkpoint(request, yelp_slice, tmp_path_factory):
    directory = tmp_path_factory.mktemp(request.param)
    extra = {"class_attention": request.param}
    cfg = recipe_config("default", epochs=2, embeddings="random", min_count=2, progress=False, **extra)
    metrics = train(yelp_slice, directory, cfg, TextLimits(max_sentences=30, max_words=50))
    return directory, metrics


def test_a_trained_checkpoint_round_trips_and_predicts_what_training_recorded(per_class_checkpoint, yelp_slice):
    directory, metrics = per_class_checkpoint
    model = han.load(directory)
    evidence = model.config["model"]["class_attention"] == "evidence"
    assert model.name == ("HN-ATT (evidence)" if evidence else "HN-ATT (per class)")
    test = checkpoint_split(model.config, yelp_slice, "test", directory)
    assert model.evaluate(test)["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-9)
    assert model.head_names == [f"class {label}" for label in model.labels]  # each class's attention, viewable
    explanation = model.explain("The soup was cold. The staff were lovely and the bread was great.")
    predicted = model.labels.index(explanation["label"])
    shown = [w for s in explanation["sentences"] for w in s["word_weights"]]
    as_head = [w for s in head_view(explanation, predicted)["sentences"] for w in s["word_weights"]]
    assert as_head == pytest.approx(shown, abs=1e-6)  # the predicted class's, the heatmap's default
    doc = model.prepare(test[0])
    result = next(model.analyse([doc]))
    out = model.model(collate([model.encode(doc)]))
    predicted = int(out.logits.argmax())
    assert result.predicted == predicted
    for weights in result.word_weights:  # each sentence's weights a distribution over its words
        assert sum(weights) == pytest.approx(1.0, abs=1e-5)


def test_faithfulness_explain_and_info_work_for_it(per_class_checkpoint, yelp_slice, capsys):
    directory, _ = per_class_checkpoint
    model = han.load(directory)
    evidence = model.config["model"]["class_attention"] == "evidence"
    one = explain_faithfulness(model, "The soup was cold. The staff were lovely and the bread was great.", n_steps=4)
    kind = "evidence" if evidence else "per-class"
    assert one["attention_label"] == f"the predicted class's attention weights ({kind} attention)"
    assert len(one["sentences"]) == 2
    test = checkpoint_split(model.config, yelp_slice, "test", directory)
    figures = dataset_faithfulness(model, test, limit=3, n_steps=4)
    assert figures["n"] == 3 and figures["word"]["flips"]["attention"]["documents"] == 3
    assert figures["sentence"]["flips"]["attention"]["documents"] == 3
    assert 0 <= figures["counterfactual"]["uniform_changed"] <= 1
    assert main(["info", str(directory)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["model"] == model.name  # "HN-ATT (evidence)", as the app names it
    kind = "evidence attention (per class; " if evidence else "per-class attention ("
    assert info["faithful"] == f"{kind}the heatmap shows the predicted class's)"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["sideways"], "unknown --class-attention 'sideways'; choose from none, separate, evidence"),
        (["evidence", "--variant", "cahan"], "not with --variant cahan"),
        (["separate", "--variant", "ave"], "not with --variant ave"),
        (["evidence", "--heads", "2"], "not with --heads 2"),
        (["separate", "--tasc"], "not with --tasc"),
        (["evidence", "--structure", "flat"], "not with --structure flat"),
        (["evidence", "--faithful-loss", "1"], "not with --faithful-loss"),
    ],
)
def test_bad_settings_are_refused_before_any_data_is_read(extra, message, tmp_path, capsys):
    out = tmp_path / "ckpt"
    assert main(["train", "--data", str(tmp_path / "none.csv"), "--out", str(out), "--class-attention", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize("mode", MODES)
def test_weights_shown_are_the_predicted_class_s(mode):
    model = make_model(mode, seed=3)
    with torch.no_grad():
        out = model(collate(DOCS))
    every = model.word_encoder.pool.head_weights  # (n_sentences, max_words, C) of that forward pass
    assert every is not None
    classes = np.repeat(out.logits.argmax(dim=-1).numpy(), [len(d) for d in DOCS])
    for row, c in enumerate(classes):
        assert torch.equal(out.word_weights[row], every[row, :, c])


@pytest.mark.parametrize("mode", ["none", *MODES])
def test_sentence_dropout_acts_on_sentence_vectors_never_on_evidence(mode):
    """--dropout at "sentences" drops the vectors between the two levels in training; the evidence model's are its
    sentences' evidence, the very terms of its logits, which dropout must not touch."""
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=30, n_classes=4, embed_dim=8, word_hidden=5, sentence_hidden=6, context_dim=7)
    config.class_attention, config.dropout, config.dropout_at = mode, 1.0, ("sentences",)  # every value dropped
    model = HAN(config)
    with torch.no_grad():
        evaluated = model.eval()(collate(DOCS)).logits
        trained = model.train()(collate(DOCS)).logits
    assert torch.equal(trained, evaluated) == (mode == "evidence")


def test_the_class_pooling_keeps_each_class_s_vector_and_says_its_size():
    """Pooling(combine="class"): the pooled vector is every head's, side by side (output_dim = heads x d), and the
    weights it returns are a distribution over each row's real positions, as every pooling's are."""
    torch.manual_seed(0)
    pool = Pooling("att", 6, 5, heads=3, combine="class")
    states = torch.randn(2, 4, 6)  # (n, T, d)
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])  # (n, T)
    pooled, weights = pool(states, mask)
    assert pool.output_dim == 18 and pooled.shape == (2, 18)
    assert weights.shape == (2, 4) and torch.allclose(weights.sum(dim=1), torch.ones(2)) and (weights[~mask] == 0).all()
    every = pool.head_weights  # (n, T, heads)
    assert every is not None
    for k in range(3):  # head k's vector is the k-th block: its own weighted sum of the states
        assert torch.allclose(pooled[:, 6 * k : 6 * (k + 1)], (every[..., k : k + 1] * states).sum(dim=1), atol=1e-6)
