"""The attention designs beyond the paper's (issue 35): score function and temperature, encoder, structure.

`check_design` refuses, with one line naming the options, the settings that cannot train, before any data
is read; `design_settings` is what of them a TrainConfig hands to the model's ModelConfig.
"""

from __future__ import annotations

import math
from typing import Protocol

from han.errors import HanError
from han.nn.encoders import ENCODER_LEVELS, ENCODERS
from han.nn.flat import STRUCTURES
from han.nn.model import ModelConfig
from han.nn.scores import SCORES

DESIGN_FIELDS = ("score", "temperature", "encoder", "encoder_at", "layers", "attention_heads", "structure")


class Design(Protocol):
    """The TrainConfig fields these checks read (a Protocol: han/training/config.py imports this module)."""

    variant: str
    heads_at: str
    score: str
    temperature: float
    encoder: str
    encoder_at: str
    layers: int
    attention_heads: int
    structure: str


def design_settings(cfg: Design) -> dict:
    """The ModelConfig keyword arguments of the design fields."""
    return {name: getattr(cfg, name) for name in DESIGN_FIELDS}


def check_design(cfg: Design) -> None:
    """Score, temperature, encoder and structure settings: known values, and combinations that can work."""
    for option, value, choices in (
        ("--score", cfg.score, SCORES),
        ("--encoder", cfg.encoder, ENCODERS),
        ("--encoder-at", cfg.encoder_at, ENCODER_LEVELS),
        ("--structure", cfg.structure, STRUCTURES),
    ):
        if value not in choices:
            raise HanError(f"unknown {option} {value!r}; choose from {', '.join(choices)}")
    if not (math.isfinite(cfg.temperature) and cfg.temperature > 0):
        raise HanError(
            f"--temperature divides the attention scores and must be a positive number, not {cfg.temperature}"
        )
    if (cfg.score, cfg.temperature) != ("additive", 1.0) and cfg.variant != "att":
        raise HanError(
            f"--score and --temperature change attention pooling (--variant att); {cfg.variant} has no attention scores"
        )
    check_transformer(cfg)
    if cfg.structure == "flat":
        if cfg.variant == "cahan":
            raise HanError("CAHAN weighs words by the document's other sentences: --structure flat has no sentences")
        if "sentence" in (cfg.encoder_at, cfg.heads_at):
            raise HanError("--structure flat has no sentence level: give --encoder-at and --heads-at word or both")


def check_transformer(cfg: Design) -> None:
    """--layers and --attention-heads: at least 1, heads dividing the size, and given only with a Transformer."""
    if cfg.layers < 1:
        raise HanError(f"--layers must be at least 1, not {cfg.layers}")
    if cfg.attention_heads < 1:
        raise HanError(f"--attention-heads must be at least 1, not {cfg.attention_heads}")
    defaults = ModelConfig(vocab_size=2, n_classes=2)
    if cfg.encoder != "transformer":
        if (cfg.layers, cfg.attention_heads) != (defaults.layers, defaults.attention_heads):
            raise HanError("--layers and --attention-heads set the Transformer encoder: add --encoder transformer")
        if cfg.encoder == "gru" and cfg.encoder_at != "both":
            raise HanError("--encoder-at says where --encoder acts: add --encoder transformer, conv or none")
        return
    size = 2 * defaults.word_hidden  # the Transformer's size at either level (2 x 50 hidden units)
    if size % cfg.attention_heads:
        divisors = ", ".join(str(k) for k in range(1, size + 1) if size % k == 0)
        raise HanError(
            f"--attention-heads {cfg.attention_heads} does not divide the Transformer's size {size}; "
            f"choose from {divisors}"
        )
