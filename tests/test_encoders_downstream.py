"""The new designs downstream (issue 35): names and keys, explain and faithfulness for every structure, han info,
CAHAN-style context effect of a flat model, the Transformer's self-attention maps, padded blocks.

The models and documents are test_encoders.py's own (make_model, real_docs), so that both files test one set.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from han.__main__ import main
from han.checkpoint import io as checkpoint
from han.checkpoint.classifier import Classifier
from han.data.dataset import collate
from han.data.vocab import Vocab
from han.interpret import counterfactual
from han.interpret.faithfulness import dataset_faithfulness
from han.nn import encoders
from han.nn.model import HAN, ModelConfig
from han.nn.variants import model_key, model_name
from han.training.train import prepare

from .conftest import ROOT
from .test_encoders import DESIGNS, VOCAB, eight_docs, make_model


@pytest.fixture(scope="module")
def real_docs(yelp_slice) -> list[list[list[int]]]:
    return eight_docs(yelp_slice)


# ----------------------------------------------------------------------------- names, explanations, faithfulness


def test_names_and_keys_say_the_design():
    config = {"model": {"variant": "att", "encoder": "transformer", "layers": 2, "structure": "flat", "score": "dot"}}
    assert model_name(config["model"]) == "HN-ATT [transformer 2L4h, flat, dot]"
    assert model_key(config) == "att-transformer-2l4h-flat-dot"
    assert model_name({"variant": "att", "temperature": 0.5, "encoder": "conv", "encoder_at": "word"}) == (
        "HN-ATT [conv at word, T=0.5]"
    )
    assert model_key({"model": {"variant": "att"}}) == "att"  # the shipped keys stay as they were


@pytest.mark.parametrize("design", ["transformer-flat", "none-flat-cosine-2heads", "conv-hierarchical"])
def test_explain_and_faithfulness_work_for_every_structure(design, yelp_slice):
    """A flat model's explanation: p_s = 1 per sentence, its p_w over the whole text, displayed as they are; the
    faithfulness figures run, with no sentence-level flips or permutations for a flat model."""
    data = prepare(yelp_slice, min_count=2)
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=len(data.vocab), n_classes=len(data.labels), **DESIGNS[design])
    classifier = Classifier(HAN(config), data.vocab, {"labels": data.labels}, {})
    explanation = classifier.explain(yelp_slice.examples[0].text)
    weights = [w for s in explanation["sentences"] for w in s["word_weights"]]
    if classifier.model.flat:
        assert {s["weight"] for s in explanation["sentences"]} == {1.0} and sum(weights) == pytest.approx(1.0)
        shown = [d for s in explanation["sentences"] for d in s["display_weights"]]
        assert shown == pytest.approx([w / max(weights) for w in weights])
    figures = dataset_faithfulness(classifier, yelp_slice.examples[:2], n_steps=2, permutations=2)
    assert figures["n"] == 2 and figures["word"]["flips"]["attention"]["documents"] == 2
    assert ("sentence" in counterfactual.levels(classifier.model)) == (not classifier.model.flat)
    sentence_tvd = figures["counterfactual"]["permuted_sentence_tvd"]["mean"]
    assert (sentence_tvd is None) == classifier.model.flat


def test_info_shows_the_design(tmp_path, capsys):
    for directory in (ROOT / "assets" / "yelp" / "att",):
        assert main(["info", str(directory)]) == 0
        assert '"design"' in capsys.readouterr().out
    model = make_model("conv-flat")
    checkpoint.save(tmp_path, model, Vocab([f"w{i}" for i in range(VOCAB - 2)]), {"labels": list("12345")}, {})
    assert main(["info", str(tmp_path)]) == 0
    shown = capsys.readouterr().out
    assert '"encoder": "conv"' in shown and '"structure": "flat"' in shown


def test_context_effect_of_a_flat_model_is_what_its_encoder_mixes(yelp_slice):
    """A flat model's in-context weights, renormalised per sentence, against each sentence read alone: with no
    encoder a word's score is its own (a softmax over the document restricted to a sentence is the softmax over
    the sentence): no effect; a convolution reads across sentence boundaries: an effect."""
    data = prepare(yelp_slice, min_count=2)
    text = next(e.text for e in yelp_slice.examples if e.text and e.text.count(".") >= 3)
    effects = {}
    for encoder in ("none", "conv"):
        torch.manual_seed(0)
        config = ModelConfig(len(data.vocab), len(data.labels), encoder=encoder, structure="flat")
        effect = Classifier(HAN(config), data.vocab, {"labels": data.labels}, {}).context_effect(text)
        assert effect["reads_context"] and len(effect["sentences"]) > 1
        for sentence in effect["sentences"]:
            assert sum(sentence["in_context"]) == pytest.approx(1.0) and sum(sentence["alone"]) == pytest.approx(1.0)
        effects[encoder] = effect["mean_tvd"]
    assert effects["none"] < 1e-6 < 1e-3 < effects["conv"]


@pytest.mark.parametrize("design", ["transformer-hierarchical", "transformer-flat", "conv-hierarchical"])
def test_classifier_gives_the_self_attention_maps_of_a_document(design, yelp_slice):
    data = prepare(yelp_slice, min_count=2)
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=len(data.vocab), n_classes=len(data.labels), **DESIGNS[design])
    classifier = Classifier(HAN(config), data.vocab, {"labels": data.labels}, {})
    text = next(e.text for e in yelp_slice.examples if e.text and e.text.count(".") >= 3)
    maps = classifier.self_attention(text)
    if config.encoder != "transformer":
        assert set(maps) == {"tokens"}
        return
    assert set(maps) == ({"tokens", "word"} if classifier.model.flat else {"tokens", "word", "sentence"})
    for row, tokens in zip(maps["word"], maps["tokens"], strict=True):  # a sentence, or the flat document
        (layer,) = row
        assert len(layer) == config.attention_heads and len(layer[0]) == len(tokens) == len(layer[0][0])
        assert all(sum(query) == pytest.approx(1.0, abs=1e-5) for head in layer for query in head)
    assert classifier.model(collate([classifier.encode(classifier.tokenize(text))])).self_attention is None


@pytest.mark.parametrize("design", ["transformer-hierarchical", "transformer-flat", "conv-hierarchical", "conv-flat"])
def test_padded_blocks_change_no_output_weight_map_or_gradient(design, real_docs, monkeypatch):
    """The Transformer and the convolution pad rows in blocks of similar length (han.nn.encoders.in_blocks): blocks of
    2 rows give what one block of every row gives, outputs, self-attention maps and gradients alike."""
    batch = collate(real_docs, labels=[0, 1, 2, 3, 4, 0, 1, 2])
    assert batch.labels is not None
    results = []
    for block in (2, 10_000):
        monkeypatch.setattr(encoders, "BLOCK", block)
        model = make_model(design).train()
        model.record_self_attention(True)
        out = model(batch)
        nn.functional.cross_entropy(out.logits, batch.labels).backward()
        results.append((out, {name: p.grad for name, p in model.named_parameters() if p.grad is not None}))
    (small, small_grads), (whole, whole_grads) = results
    torch.testing.assert_close(small.logits, whole.logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(small.word_weights, whole.word_weights, atol=1e-5, rtol=1e-5)
    if small.self_attention is not None and whole.self_attention is not None:
        for level, maps in whole.self_attention.items():
            for a, b in zip(small.self_attention[level], maps, strict=True):
                torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert small_grads.keys() == whole_grads.keys()
    for name, grad in whole_grads.items():
        torch.testing.assert_close(small_grads[name], grad, atol=1e-5, rtol=1e-4, msg=name)
