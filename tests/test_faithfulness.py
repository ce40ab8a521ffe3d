"""Faithfulness evidence (attention against leave-one-out, integrated gradients, gradient x input, random)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

import han
from han.__main__ import main
from han.data.dataset import Dataset, Example, collate
from han.data.text import TextLimits, Tokenized
from han.errors import HanError
from han.interpret.attribution import class_probabilities, document_scores, leave_one_out, without_words
from han.interpret.faithfulness import dataset_faithfulness, explain_faithfulness
from han.training.recipes import recipe_config
from han.training.train import train

FILLER = ["the", "a", "place", "food", "was", "we", "it", "and", "then", "there", "some", "very", "really", "table"]
DECIDERS = {"alpha": "good", "omega": "bad"}  # the one word that decides the label; neither: "neutral"


def planted_examples(n: int, seed: int) -> list[Example]:
    rng = random.Random(seed)
    examples = []
    for _ in range(n):
        sentences = [[rng.choice(FILLER) for _ in range(rng.randint(3, 7))] for _ in range(rng.randint(2, 4))]
        word = rng.choice([*DECIDERS, None])  # a neutral class makes the model find both words, not one
        if word is not None:
            rng.choice(sentences).insert(rng.randint(0, 3), word)
        examples.append(Example(label=DECIDERS[word] if word else "neutral", sentences=sentences))
    return examples


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> han.Classifier:
    """A small HN-ATT trained until one planted word decides every document."""
    out = tmp_path_factory.mktemp("planted")
    cfg = recipe_config(
        "default", epochs=6, embeddings="random", embed_dim=16, min_count=1, dropout=0.0, progress=False, lrs=[5e-3]
    )
    metrics = train(Dataset(examples=planted_examples(500, 0)), out, cfg, TextLimits())
    assert metrics["test_accuracy"] >= 0.9, metrics["test_accuracy"]
    return han.load(out)


def planted_docs(model: han.Classifier, n: int) -> list[Tokenized]:
    return [model.prepare(e) for e in planted_examples(n, 1)]


def first_word(scores, method: str) -> str:
    flat = [w for s in scores.tokens for w in s]
    return flat[int(np.argmax(scores.flat(method)))]


@pytest.mark.parametrize("method", ["leave_one_out", "integrated_gradients"])
def test_attributions_rank_the_planted_word_first(planted, method):
    docs = [d for d in planted_docs(planted, 60) if any(w in DECIDERS for s in d.sentences for w in s)]
    hits = [first_word(document_scores(planted, d, ("attention", method)), method) in DECIDERS for d in docs]
    assert sum(hits) >= 0.9 * len(docs), sum(hits)


def test_leave_one_out_equals_a_slow_loop_of_single_forwards(planted):
    doc = planted.encode(planted_docs(planted, 1)[0])
    target = 0
    words, sentences, p = leave_one_out(planted, doc, target)
    assert p == pytest.approx(class_probabilities(planted, [doc], target)[0], abs=1e-6)
    for i, sentence in enumerate(doc):
        for j in range(len(sentence)):
            erased = class_probabilities(planted, [without_words(doc, {(i, j)})], target)[0]
            assert words[i][j] == pytest.approx(p - erased, abs=1e-5)
        alone = class_probabilities(planted, [doc[:i] + doc[i + 1 :]], target)[0]
        assert sentences[i] == pytest.approx(p - alone, abs=1e-5)


def test_random_order_is_less_comprehensive_than_leave_one_out(planted):
    examples = planted_examples(30, 2)
    figures = dataset_faithfulness(planted, examples, limit=30, n_steps=8)
    aopc = figures["word"]["aopc"]
    assert aopc["random"]["comprehensiveness"] < aopc["leave_one_out"]["comprehensiveness"]
    assert figures["n"] == 30 and figures["ig_delta"]["mean_abs"] < 0.05
    assert set(figures["counterfactual"]) >= {"permuted_word_tvd", "uniform_accuracy", "accuracy"}


def test_scores_cover_real_words_only_and_padding_changes_nothing(planted):
    doc = Tokenized([["alpha", "food"], ["the", "place", "was", "very", "very", "good"], ["we"]])
    scores = document_scores(planted, doc)
    for method, rows in scores.word.items():
        assert [len(r) for r in rows] == [2, 6, 1], method
        assert len(scores.sentence[method]) == 3
    encoded = planted.encode(doc)
    longer = [[[5] * 30] * 8]
    with torch.no_grad():
        alone = planted.model(collate([encoded])).logits
        beside = planted.model(collate([encoded, *longer])).logits[:1]
    assert torch.allclose(alone, beside, atol=1e-5)


@pytest.mark.parametrize("text", ["alpha", "Alpha food. Omega."])
def test_one_word_and_one_sentence_documents(planted, text):
    result = explain_faithfulness(planted, text)
    n_words = sum(len(s["tokens"]) for s in result["sentences"])
    assert all(len(s["word_scores"]["leave_one_out"]) == len(s["tokens"]) for s in result["sentences"])
    assert len(result["erasure_curve"]["removed"]) == min(10, n_words - 1) + 1
    assert set(result["agreement"]) == {"leave_one_out", "integrated_gradients", "gradient_x_input", "random"}


def test_no_documents_and_zero_limit_are_refused(planted):
    with pytest.raises(HanError, match="N = 0"):
        dataset_faithfulness(planted, [], limit=10)
    with pytest.raises(HanError, match="at least 1"):
        dataset_faithfulness(planted, planted_examples(3, 0), limit=0)


def test_counterfactual_hooks_leave_the_model_as_it_was(planted):
    batch = collate([planted.encode(d) for d in planted_docs(planted, 5)])
    with torch.no_grad():
        before = planted.model(batch).logits
    dataset_faithfulness(planted, planted_examples(4, 3), limit=4, n_steps=4)
    assert planted.model.word_encoder.pool.override is None and planted.model.sentence_encoder.pool.override is None
    with torch.no_grad():
        assert torch.equal(planted.model(batch).logits, before)


@pytest.mark.parametrize("variant", ["ave", "max"])
def test_average_and_max_pooling_are_labelled_and_measured(tiny_checkpoints, yelp_slice, variant):
    model = han.load(tiny_checkpoints[variant])
    figures = dataset_faithfulness(model, yelp_slice.examples[:4], limit=4, n_steps=4)
    assert "has no attention" in figures["attention_label"]
    if variant == "max":
        assert figures["word"]["flips"] is None and "max pooling" in figures["counterfactual"]["not_applicable"]
    else:
        assert figures["word"]["flips"]["attention"]["documents"] == 4


def test_cli_document_and_data_set(tiny_checkpoints, tmp_path, capsys):
    checkpoint = str(tiny_checkpoints["att"])
    assert (
        main(
            [
                "faithfulness",
                "--checkpoint",
                checkpoint,
                "--text",
                "Great food. Slow service.",
                "--html",
                str(tmp_path / "doc.html"),
            ]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert document["sentences"][0]["tokens"] == ["great", "food", "."]
    assert len(document["sentences"][0]["attention_raw"]) == 3 and sum(document["sentences"][0]["attention_raw"]) > 0.99
    assert set(document["sentences"][0]["word_scores"]) == {
        "attention",
        "leave_one_out",
        "integrated_gradients",
        "gradient_x_input",
        "random",
    }
    assert "integrated gradients" in (tmp_path / "doc.html").read_text()
    from .conftest import YELP_10K

    out = tmp_path / "faithfulness.json"
    assert (
        main(
            [
                "faithfulness",
                "--checkpoint",
                checkpoint,
                "--data",
                str(YELP_10K),
                "--limit",
                "3",
                "--n-steps",
                "4",
                "--out",
                str(out),
                "--html",
                str(tmp_path / "set.html"),
            ]
        )
        == 0
    )
    figures = json.loads(out.read_text())
    assert figures["n"] == 3 and figures["split"] == "test" and figures["polarity"]["words"]
    assert set(figures["word"]["aopc"]) == {
        "attention",
        "leave_one_out",
        "integrated_gradients",
        "gradient_x_input",
        "random",
    }


@pytest.mark.parametrize(
    "args, message",
    [
        (["--text", "good", "--methods", "shap"], "unknown method"),
        (["--text", "   "], "the text is empty"),
        (["--data", "x.csv", "--limit", "0"], "--limit must be at least 1"),
        (["--text", "good", "--html", "/no/such/folder/r.html"], "does not exist"),
    ],
)
def test_cli_bad_input_is_one_line(tiny_checkpoints, args, message, capsys):
    assert main(["faithfulness", "--checkpoint", str(tiny_checkpoints["att"]), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and "Traceback" not in err


def test_attention_asked_of_a_model_without_attention(tiny_checkpoints, capsys):
    assert (
        main(
            [
                "faithfulness",
                "--checkpoint",
                str(tiny_checkpoints["ave"]),
                "--text",
                "good",
                "--methods",
                "attention",
                "leave_one_out",
            ]
        )
        == 2
    )
    assert "HN-AVE has no attention" in capsys.readouterr().err
    assert main(["faithfulness", "--checkpoint", "/no/such/checkpoint", "--text", "good"]) == 2


OWN_REVIEWS = [  # written for this test: reviews from outside any training data
    ("The soup was cold and the waiter ignored us. We left hungry.", 1),
    ("Lovely staff. The pasta was perfect and the wine list is great.", 5),
    ("Parking is hard. The tacos were fine, nothing special.", 3),
    ("Worst pizza in town. Burnt crust and rude service.", 1),
    ("Great coffee, friendly baristas. I come back every week.", 5),
]


def test_cli_data_set_on_other_data_measures_every_document(tiny_checkpoints, tmp_path, capsys):
    """Reviews the checkpoint was not trained on: every document is measured (no split), stderr says so, and
    --split on such data is still refused (a split of other data would hold training documents)."""
    import csv

    own = tmp_path / "own.csv"
    with own.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "stars"])
        writer.writerows(OWN_REVIEWS)
    args = ["faithfulness", "--checkpoint", str(tiny_checkpoints["att"]), "--data", str(own), "--n-steps", "2"]
    assert main(args) == 0
    captured = capsys.readouterr()
    figures = json.loads(captured.out)
    assert figures["n"] == len(OWN_REVIEWS) and figures["split"] == "all"
    assert "not the data this checkpoint was trained on" in captured.err and "no split" in captured.err
    assert figures["word"]["flips"]["attention"]["documents"] == len(OWN_REVIEWS)
    assert main([*args, "--split", "test"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "not the data this checkpoint was trained on" in err
