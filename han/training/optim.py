"""Optimisers and learning-rate schedules for training, with their state kept for --resume.

    make_optimizer(model, cfg, lr)          SGD with momentum (the paper), Adam or AdamW
    weight_average(model, cfg)              an exponential moving average of the weights (--ema), or None
    Schedule(optimizer, cfg, steps_per_epoch)
        .after_step()                       linear warm-up, then constant or cosine decay (per batch)
        .after_epoch(dev_accuracy)          ReduceLROnPlateau on dev accuracy (per epoch)

Everything is torch's own (`torch.optim`, `LambdaLR`, `ReduceLROnPlateau`); this module only
chooses between them and turns their state into safetensors tensors + JSON for the resume files.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from han.errors import HanError
from han.training.config import OPTIMIZERS, SCHEDULES, TrainConfig


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig, lr: float) -> torch.optim.Optimizer:
    """The optimiser over the model's trainable parameters (frozen embeddings are left out)."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=cfg.weight_decay)
    raise HanError(f"unknown optimizer {cfg.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")


def weight_average(model: torch.nn.Module, cfg: TrainConfig) -> AveragedModel | None:
    """A copy of `model` whose weights follow an exponential moving average of its weights, or None (ema 0).

    After every optimiser step, `update_parameters(model)` moves each averaged weight a share 1 - ema towards
    the model's (the first update copies them). Averaging smooths the step-to-step noise of the optimiser,
    so the averaged model is what dev accuracy judges and what the checkpoint keeps.
    """
    if not cfg.ema:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema))


class Schedule:
    """The learning rate over one lr of the grid: warm-up and decay per batch, plateau per epoch.

    warm-up: the lr rises linearly from lr/steps to lr over the first `warmup_epochs` epochs;
    constant: then stays; cosine: then falls along a half cosine to 0 at the last step of the
    last epoch; plateau: then halves whenever dev accuracy has not improved for one epoch.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int) -> None:
        if cfg.lr_schedule not in SCHEDULES:
            raise HanError(f"unknown lr schedule {cfg.lr_schedule!r}; choose from {', '.join(SCHEDULES)}")
        self.warmup = max(0, round(cfg.warmup_epochs * steps_per_epoch))  # steps
        assert cfg.epochs is not None, "epochs are resolved before training (han.training.recipes.resolve_auto)"
        self.total = max(1, cfg.epochs * steps_per_epoch)  # steps
        self.cosine = cfg.lr_schedule == "cosine"
        # The plateau's reductions so far. LambdaLR sets every step's lr from the base lr, which would undo a
        # reduction ReduceLROnPlateau made on the optimiser alone: the per-step factor carries them instead.
        self.scale = 1.0
        self.optimizer = optimizer
        self.per_step = LambdaLR(optimizer, self.factor)
        self.plateau = (
            ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=0) if (cfg.lr_schedule == "plateau") else None
        )

    def factor(self, step: int) -> float:
        """Multiplier of the base lr before batch `step` (0-based) of this lr's run."""
        if step < self.warmup:
            return self.scale * (step + 1) / self.warmup
        if not self.cosine:
            return self.scale
        progress = (step - self.warmup) / max(1, self.total - self.warmup)  # 0 -> 1
        return self.scale * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    def after_step(self) -> None:
        self.per_step.step()

    def after_epoch(self, dev_accuracy: float) -> None:
        if self.plateau is None:
            return
        before = self.optimizer.param_groups[0]["lr"]
        self.plateau.step(dev_accuracy)  # decides; the reduction it made is kept in `scale` for the next steps
        after = self.optimizer.param_groups[0]["lr"]
        if before > 0 and after < before:
            self.scale *= after / before

    def state(self) -> dict[str, Any]:
        """JSON-able state for the resume files."""
        state: dict[str, Any] = {"per_step": _jsonable(self.per_step.state_dict()), "scale": self.scale}
        if self.plateau is not None:
            state["plateau"] = _jsonable(self.plateau.state_dict())
        return state

    def restore(self, state: dict[str, Any]) -> None:
        self.scale = state.get("scale", 1.0)
        self.per_step.load_state_dict(state["per_step"])
        if self.plateau is not None and "plateau" in state:
            self.plateau.load_state_dict(state["plateau"])


def _jsonable(state: dict[str, Any]) -> dict[str, Any]:
    """A scheduler's state_dict as JSON: LambdaLR stores None for a plain function's lambda."""
    return {k: v for k, v in state.items() if not callable(v)}


# ----------------------------------------------------------------------------- resume state


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """Every tensor of the optimiser's per-parameter state, named "<param index>.<key>"."""
    return {
        f"{index}.{key}": value
        for index, state in optimizer.state_dict()["state"].items()
        for key, value in state.items()
        if isinstance(value, torch.Tensor)
    }


def optimizer_groups(optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    """The optimiser's param groups (lr, momentum, betas ...) as JSON-able dicts."""
    return [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items() if not isinstance(v, torch.Tensor)}
        for group in optimizer.state_dict()["param_groups"]
    ]


def restore_optimizer(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list[dict[str, Any]] | None
) -> None:
    """Load the state written by `optimizer_tensors` / `optimizer_groups` into `optimizer`."""
    state = optimizer.state_dict()
    per_param: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        per_param.setdefault(int(index), {})[key] = value
    state["state"] = per_param
    if groups:
        for group, saved in zip(state["param_groups"], groups, strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})
    optimizer.load_state_dict(state)
