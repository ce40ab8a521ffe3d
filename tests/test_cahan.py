"""A CAHAN checkpoint (bidirectional, gated) through everything downstream: leave-one-out and the counterfactual
paths read whole documents, the context effect, statistics per reading direction, CLI and app."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from streamlit.testing.v1 import AppTest

import han
from han.__main__ import main
from han.checkpoint.files import discover
from han.data.dataset import collate
from han.interpret import stats
from han.interpret.attribution import (
    _erased_documents,
    class_probabilities,
    erased_logits,
    leave_one_out,
    without_words,
)
from han.interpret.counterfactual import _keep_masks, _probabilities, overridden, renormalised
from han.interpret.faithfulness import dataset_faithfulness, explain_faithfulness

from .conftest import ROOT, YELP_10K
from .faithfulness_checks import check_dataset, check_single

TEXT = "The tacos were fantastic and cheap. Service was slow, though. We will come back for the salsa."


@pytest.fixture(scope="module")
def cahan(tiny_checkpoints) -> han.Classifier:
    return han.load(tiny_checkpoints["cahan"])


def test_name_and_reading_directions(cahan):
    assert cahan.name == "CAHAN (bi, sum, gated)" and cahan.model.reads_context
    explanation = cahan.explain(TEXT)
    assert explanation["head_names"] == ["context before", "context after"]
    assert len(explanation["sentences"][0]["head_word_weights"]) == 2


def test_leave_one_out_of_cahan_equals_a_slow_loop(cahan):
    doc = cahan.encode(cahan.tokenize(TEXT))
    words, sentences, p = leave_one_out(cahan, doc, 0)
    for i, sentence in enumerate(doc):
        for j in range(len(sentence)):
            erased = class_probabilities(cahan, [without_words(doc, {(i, j)})], 0)[0]
            assert words[i][j] == pytest.approx(p - erased, abs=1e-5)
        assert sentences[i] == pytest.approx(p - class_probabilities(cahan, [doc[:i] + doc[i + 1 :]], 0)[0], abs=1e-5)


def test_the_whole_document_path_agrees_with_the_fast_one(tiny_checkpoints):
    """For models whose sentences do not read each other, both leave-one-out paths give the same logits."""
    model = han.load(tiny_checkpoints["att"])
    doc = model.encode(model.tokenize(TEXT))
    words = [(i, j) for i, s in enumerate(doc) for j in range(len(s))]
    assert torch.allclose(erased_logits(model, doc), _erased_documents(model.model, doc, words), atol=1e-5)


def test_changed_weights_in_cahan_equal_a_full_forward(cahan):
    """Zeroing words through the pooling override, copies batched as documents, equals whole forward passes."""
    doc = cahan.encode(cahan.tokenize(TEXT))
    removed = [[0], [2, 7], [1, 5, 9]]
    keep = _keep_masks(doc, "word", removed)
    fast = _probabilities(cahan.model, doc, "word", renormalised(keep), len(removed))
    for copy in range(len(removed)):
        with torch.no_grad(), overridden(cahan.model, word=renormalised(keep[copy * len(doc) : (copy + 1) * len(doc)])):
            slow = cahan.model(collate([doc])).logits.softmax(dim=-1)[0]
        assert torch.allclose(fast[copy], slow, atol=1e-5)


def test_faithfulness_of_cahan(cahan, yelp_slice):
    single = explain_faithfulness(cahan, TEXT, n_steps=4)
    assert single["agreement"]
    check_single(cahan, TEXT, single)  # leave-one-out by whole forward passes: CAHAN's sentences read each other
    figures = dataset_faithfulness(cahan, yelp_slice.examples[:3], limit=3, n_steps=4)
    assert figures["word"]["flips"]["attention"]["documents"] == 3
    assert cahan.model.word_encoder.pool.override is None
    check_dataset(cahan, yelp_slice.examples[:3], figures)


def test_context_effect(cahan, tiny_checkpoints):
    effect = cahan.context_effect(TEXT)
    assert len(effect["sentences"]) == 3 and effect["mean_tvd"] > 0
    for sentence in effect["sentences"]:
        assert sum(sentence["alone"]) == pytest.approx(1.0, abs=1e-5)
        assert sentence["change"] == pytest.approx(
            [a - b for a, b in zip(sentence["in_context"], sentence["alone"], strict=True)]
        )
    plain = han.load(tiny_checkpoints["att"]).context_effect(TEXT)  # HN-ATT reads no context: no effect
    assert plain["mean_tvd"] == pytest.approx(0.0, abs=1e-6) and not plain["reads_context"]


def test_stats_per_reading_direction(cahan, yelp_slice):
    table = stats.collect(cahan, yelp_slice, max_docs=10)
    assert table.head_attention is not None and table.head_attention.shape[1] == 2


def test_cli_trains_cahan_and_refuses_its_options_elsewhere(tmp_path, capsys):
    base = ["train", "--data", str(YELP_10K), "--max-docs", "300", "--epochs", "1", "--embeddings", "random"]
    base += ["--min-count", "2", "--quiet"]
    assert main([*base, "--context", "bi", "--out", str(tmp_path / "x")]) == 2
    assert "add --variant cahan" in capsys.readouterr().err
    assert main([*base, "--variant", "cahan", "--context-aggregate", "mean", "--out", str(tmp_path / "c")]) == 0
    assert han.load(tmp_path / "c").name == "CAHAN (left, mean)"


def test_document_page_shows_the_context_effect(tiny_checkpoints, tmp_path):
    folder = tmp_path / "set"
    shutil.copytree(tiny_checkpoints["cahan"], folder / "cahan")
    at = AppTest.from_file(str(ROOT / "views" / "1_Document.py"), default_timeout=120)
    at.session_state["set_choice"] = "Another checkpoint folder..."
    at.session_state["custom_folder"] = str(folder)
    at.run()
    assert not at.exception and not at.error
    assert at.sidebar.radio(key="head").options == ["mean of the heads", "context before", "context after"]
    assert any(e.label.startswith("Context effect") for e in at.expander)
    assert "in context:" in "".join(h.proto.body for h in at.get("html"))


def test_a_set_keeps_every_checkpoint_even_of_one_variant(tiny_checkpoints, tmp_path):
    """Two CAHAN settings, or two seeds of one model, in one folder: each is offered, none silently dropped."""
    folder = tmp_path / "set"
    for name in ("cahan", "att", "att-2h"):
        shutil.copytree(tiny_checkpoints[name], folder / name)
    shutil.copytree(tiny_checkpoints["att"], folder / "att-seed1")
    left = folder / "cahan-left"
    shutil.copytree(tiny_checkpoints["cahan"], left)
    config = json.loads((left / "config.json").read_text())
    config["model"]["context_direction"] = "left"
    (left / "config.json").write_text(json.dumps(config))
    found = discover(folder)
    assert list(found) == ["att", "att (att-seed1)", "att-2h-c0.1-concat", "cahan-bi-sum-gated", "cahan-left-sum-gated"]
    assert found["cahan-left-sum-gated"] == left and found["att (att-seed1)"] == folder / "att-seed1"
