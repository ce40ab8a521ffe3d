"""The model a training config describes: a fresh HAN with its word vectors, the same for every learning rate."""

from __future__ import annotations

import torch

from han.data.prepare import Prepared
from han.nn.model import HAN, ModelConfig
from han.training.config import TrainConfig
from han.training.designs import design_settings


def build_model(data: Prepared, cfg: TrainConfig, embedding: torch.Tensor, device: torch.device) -> HAN:
    """A freshly initialised model (same seed for every lr) with the given embedding table."""
    torch.manual_seed(cfg.seed)
    model = HAN(
        ModelConfig(
            vocab_size=len(data.vocab),
            n_classes=len(data.labels),
            variant=cfg.variant,
            embed_dim=embedding.size(1),
            dropout=cfg.dropout,
            dropout_at=tuple(cfg.dropout_at),
            heads=cfg.heads,
            heads_at=cfg.heads_at,
            head_combine=cfg.head_combine,
            context_direction=cfg.context_direction,
            context_aggregate=cfg.context_aggregate,
            context_gate=cfg.context_gate,
            **design_settings(cfg),
            tasc=cfg.tasc,
            class_attention=cfg.class_attention,
        )
    )
    with torch.no_grad():
        model.embedding.weight.copy_(embedding)
    model.embedding.weight.requires_grad_(not cfg.freeze_embeddings)
    return model.to(device)
