"""han.interpret.focus: how concentrated attention is, per level and head."""

from __future__ import annotations

import math

import pytest

import han
from han.interpret.focus import attention_focus, concentration


def test_one_hot_and_uniform_weights_are_the_two_ends():
    one_hot = concentration("word", "mean", [[0, 1, 0], [1, 0]])
    assert (one_hot.units, one_hot.items, one_hot.top, one_hot.effective, one_hot.one_hot) == (2, 2.5, 1, 1, 1)
    uniform = concentration("word", "mean", [[0.25] * 4])
    assert (uniform.top, uniform.one_hot) == (0.25, 0)
    assert uniform.effective == pytest.approx(4)
    mixed = concentration("sentence", "head 1", [[0.5, 0.5], [0.95, 0.05], [1.0]])  # the unit of one is left out
    assert mixed.units == 2 and mixed.one_hot == 0.5
    assert mixed.top == pytest.approx((0.5 + 0.95) / 2)
    assert math.isnan(concentration("word", "mean", [[1.0]]).top)  # nothing to measure: not a 0 that looks real


REVIEWS = ["Great tacos. Slow service but worth it.", "Cold soup. Rude staff. Never again.", "Fine."]


def test_focus_of_a_model_is_that_of_its_explanations(tiny_checkpoints):
    model = han.load(tiny_checkpoints["att"])
    found = {(f.level, f.head): f for f in attention_focus(model, [model.tokenize(t) for t in REVIEWS])}
    assert set(found) == {("word", "mean"), ("sentence", "mean")}  # one head: no per-head rows
    explained = [model.explain(t) for t in REVIEWS]
    words = [s["word_weights"] for e in explained for s in e["sentences"] if len(s["word_weights"]) > 1]
    documents = [[s["weight"] for s in e["sentences"]] for e in explained if len(e["sentences"]) > 1]
    assert found["word", "mean"].units == len(words) and found["sentence", "mean"].units == len(documents) == 2
    assert found["word", "mean"].top == pytest.approx(sum(map(max, words)) / len(words), abs=1e-6)
    assert found["sentence", "mean"].top == pytest.approx(sum(map(max, documents)) / len(documents), abs=1e-6)


def test_every_head_is_measured_on_its_own_weights(tiny_checkpoints):
    model = han.load(tiny_checkpoints["att-2h"])
    docs = [model.tokenize(t) for t in REVIEWS]
    found = {(f.level, f.head): f for f in attention_focus(model, docs)}
    assert set(found) == {(level, head) for level in ("word", "sentence") for head in ("mean", "head 1", "head 2")}
    explained = [model.explain(t) for t in REVIEWS]
    second = [s["head_word_weights"][1] for e in explained for s in e["sentences"] if len(s["word_weights"]) > 1]
    assert found["word", "head 2"].top == pytest.approx(sum(map(max, second)) / len(second), abs=1e-6)


def test_one_documents_focus_per_head_is_what_the_document_page_states(tiny_checkpoints):
    from streamlit.testing.v1 import AppTest

    from han.interpret.focus import explanation_focus

    from .conftest import ROOT

    model = han.load(tiny_checkpoints["att-2h"])
    explanation = model.explain(REVIEWS[0])
    found = explanation_focus(explanation)
    assert [f.head for f in found] == ["mean", "head 1", "head 2"]
    first = [s["head_word_weights"][0] for s in explanation["sentences"] if len(s["tokens"]) > 1]
    assert found[1].units == len(first) and found[1].top == pytest.approx(sum(map(max, first)) / len(first))
    assert explanation_focus(han.load(tiny_checkpoints["att"]).explain(REVIEWS[0]))[0].head == "mean"  # one head
    at = AppTest.from_file(str(ROOT / "views" / "1_Document.py"), default_timeout=120)
    at.session_state["set_choice"] = "Another checkpoint folder..."
    at.session_state["custom_folder"] = str(tiny_checkpoints["att-2h"])
    at.session_state["doc_source"] = "Paste text"
    at.session_state["doc_text"] = REVIEWS[0]
    at.run()
    assert not at.exception and not at.error
    caption = next(c.value for c in at.caption if c.value.startswith("In this document, head 1 puts"))
    assert f"; head 2 {found[2].top:.0%} (" in caption
    assert "redundancy penalty (c = 0.1)" in caption  # the tiny model is penalised


def test_han_focus_measures_the_checkpoints_own_split(tiny_checkpoints, capsys):
    import json

    from han.__main__ import main
    from han.data.dataset import checkpoint_split, read_like

    from .conftest import YELP_10K

    checkpoint = tiny_checkpoints["att-2h"]  # trained on the first 600 reviews of yelp_10k
    assert main(["focus", "--checkpoint", str(checkpoint), "--data", str(YELP_10K), "--limit", "15"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["documents"], out["split"], out["weights"]) == (15, "test", "attention weights")
    model = han.load(checkpoint)
    test = checkpoint_split(model.config, read_like(model.config, [YELP_10K]), "test", model.path)[:15]
    assert out["focus"] == [f.as_dict() for f in attention_focus(model, [model.prepare(e) for e in test])]
    assert [row["head"] for row in out["focus"] if row["level"] == "word"] == ["mean", "head 1", "head 2"]
    assert main(["focus", "--checkpoint", str(tiny_checkpoints["ave"]), "--data", str(YELP_10K), "--limit", "5"]) == 0
    assert "(HN-AVE has no attention)" in json.loads(capsys.readouterr().out)["weights"]
    assert main(["focus", "--checkpoint", str(checkpoint), "--data", str(YELP_10K), "--limit", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: --limit must be at least 1")
