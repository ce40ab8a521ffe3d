"""Which model settings the HAN (han/nn/model.py) builds and which it refuses, and that each setting reaches the
part it configures: encoders per level, heads, score and temperature at both levels, dropout places, TaSc.

The CLI refuses bad settings before reading data (tests/test_bad_input.py, tests/test_encoders.py); these pin the
model's own checks, which a hand-edited config.json reaches. Each fails on mutants of model.py that survived
tests/test_model.py and tests/test_pooling.py (scripts/mutation.py model).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from han.nn.model import HAN, ModelConfig


def build(**settings: Any) -> HAN:
    torch.manual_seed(0)
    sizes = {"embed_dim": 8, "word_hidden": 6, "sentence_hidden": 5, "context_dim": 4}  # 2H: 12 words, 10 sentences
    return HAN(ModelConfig(vocab_size=30, n_classes=3, **(sizes | settings)))


@pytest.mark.parametrize(
    "settings",
    [
        {"encoder": "transformer", "encoder_at": "word", "attention_heads": 4},  # 12 % 4; the sentence GRU's 10 not
        {"encoder": "transformer", "encoder_at": "sentence", "attention_heads": 5},  # 10 % 5; the word GRU's 12 not
        {"encoder": "transformer", "encoder_at": "both", "attention_heads": 2},
        {"encoder": "transformer", "structure": "flat", "attention_heads": 4},  # flat: no sentence level to divide
        {"structure": "flat", "heads": 2, "heads_at": "word"},
        {"tasc": True, "heads": 2},
    ],
)
def test_settings_the_model_can_build_are_built(settings):
    model = build(**settings)
    assert model.flat == (settings.get("structure") == "flat")


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"encoder": "transformer", "encoder_at": "word", "attention_heads": 5}, "5 attention heads do not divide"),
        ({"encoder": "transformer", "encoder_at": "sentence", "attention_heads": 4}, "4 attention heads do not"),
        ({"encoder": "transformer", "encoder_at": "both", "attention_heads": 4}, "4 attention heads do not divide"),
        ({"structure": "tree"}, "unknown structure 'tree'; choose from hierarchical, flat"),
        ({"structure": "flat", "variant": "cahan"}, "a flat model has no sentence level (CAHAN's context, --encoder"),
        ({"structure": "flat", "encoder": "conv", "encoder_at": "sentence"}, "a flat model has no sentence level"),
        ({"structure": "flat", "heads": 2, "heads_at": "sentence"}, "a flat model has no sentence level"),
        ({"dropout_at": ("words", "classifier")}, "unknown dropout place(s) ['words']; choose from embeddings, sent"),
        ({"tasc": True, "variant": "ave"}, "TaSc scales attention weights: it needs --variant att (one head or sev"),
        ({"tasc": True, "structure": "flat"}, "TaSc scales the word attention of the hierarchical model: not with --"),
    ],
)
def test_settings_no_model_can_run_are_refused_saying_why(settings, message):
    with pytest.raises(ValueError) as refused:
        build(**settings)
    assert str(refused.value).startswith(message)


def test_the_full_refusals_name_the_choices():
    expected = {
        "structure": "unknown structure 'tree'; choose from hierarchical, flat",
        "flat": "a flat model has no sentence level (CAHAN's context, --encoder-at or --heads-at sentence)",
        "dropout": "unknown dropout place(s) ['words']; choose from embeddings, sentences, classifier",
        "tasc": "TaSc scales attention weights: it needs --variant att (one head or several)",
        "tasc-flat": "TaSc scales the word attention of the hierarchical model: not with --structure flat",
    }
    settings: dict[str, dict[str, Any]] = {
        "structure": {"structure": "tree"},
        "flat": {"structure": "flat", "variant": "cahan"},
        "dropout": {"dropout_at": ("words",)},
        "tasc": {"tasc": True, "variant": "max"},
        "tasc-flat": {"tasc": True, "structure": "flat"},
    }
    for name, message in expected.items():
        with pytest.raises(ValueError) as refused:
            build(**settings[name])
        assert str(refused.value) == message, name


def test_score_and_temperature_reach_the_attention_of_both_levels():
    model = build(score="scaled-dot", temperature=2.5, heads=2)
    for pool in (model.word_encoder.pool, model.sentence_encoder.pool):
        assert (pool.score, pool.temperature, pool.heads) == ("scaled-dot", 2.5, 2)


def test_dropout_acts_only_at_the_places_named():
    model = build(dropout=0.3, dropout_at=("sentences",))
    assert {place: module.p for place, module in model.dropout.items()} == {
        "embeddings": 0.0,
        "sentences": 0.3,
        "classifier": 0.0,
    }


def test_tasc_has_one_scalar_per_vocabulary_word_and_none_without_it():
    model = build(tasc=True)
    assert model.tasc is not None and tuple(model.tasc.u.shape) == (30,)
    assert build().tasc is None


def test_the_transformer_gets_its_layers_at_each_level_it_runs():
    model = build(encoder="transformer", encoder_at="both", layers=3, attention_heads=2)
    for encoder in (model.word_encoder, model.sentence_encoder):
        assert encoder.kind == "transformer"
        assert sum(1 for m in encoder.modules() if isinstance(m, torch.nn.MultiheadAttention)) == 3
