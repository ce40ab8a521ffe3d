"""Checkpoints: a directory of config.json, vocab.txt, model.safetensors, metrics.json and split.npz.

Saving and loading the weights lives here; reading the JSON files and finding checkpoints, which
need no torch, in han/checkpoint/files.py (the app's first page draws from those alone).

Nothing is pickled: weights are safetensors, everything else JSON or plain text. Loading checks
every file and names the file and the problem when one is missing, truncated or inconsistent.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from han.checkpoint.files import (  # the parts that need no torch, re-exported: han.checkpoint.io.discover etc.
    FILES,
    FORMAT,
    NOT_ONE_CHECKPOINT,
    RECORDS,
    REQUIRED,
    VOCAB_DIGEST,
    check_directory,
    discover,
    normal_permissions,
    read_json,
    read_metrics,
    read_vocab,
    write_json,
)
from han.data.splits import SPLIT_FILE, save_split
from han.data.vocab import Vocab
from han.errors import HanError
from han.nn.model import HAN, ModelConfig

__all__ = ["FILES", "REQUIRED", "check_directory", "discover", "load", "normal_permissions", "read_json", "save"]


def save(
    directory: Path,
    model: HAN,
    vocab: Vocab,
    config: dict,
    metrics: dict,
    half: bool = False,
    split: np.ndarray | None = None,
) -> list[str]:
    """Write a checkpoint; `half` stores fp16 weights (half the size, loaded back as fp32); `split` (the
    `split_codes` of the training data) is kept as split.npz, for later readers of the same data.

    A checkpoint replaced in place loses its `RECORDS` (word statistics, faithfulness figures): they
    describe the old weights, and shown beside the new ones they would look right and be wrong.
    Returns the names of the records removed.
    """
    directory.mkdir(parents=True, exist_ok=True)
    stale = [name for name in RECORDS if (directory / name).is_file()]
    for name in stale:
        (directory / name).unlink()
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    config = {"format": FORMAT, **config, "model": asdict(model.config)}
    metadata = {"format": FORMAT, VOCAB_DIGEST: vocab.digest()}  # binds the embedding rows to vocab.txt's order
    save_file(state, str(directory / "model.safetensors"), metadata=metadata)
    normal_permissions(directory / "model.safetensors")
    vocab.save(directory / "vocab.txt")
    write_json(directory / "config.json", config)
    write_json(directory / "metrics.json", metrics)
    if split is not None:
        save_split(directory, split)
    elif (directory / SPLIT_FILE).is_file():  # the old weights' split: not this model's record
        (directory / SPLIT_FILE).unlink()
        stale.append(SPLIT_FILE)
    return stale


def load(directory: str | Path) -> tuple[HAN, Vocab, dict, dict]:
    """Load (model in eval mode, vocab, config, metrics) from a checkpoint folder."""
    directory = Path(directory)
    check_directory(directory)
    config = read_json(directory / "config.json")
    metrics = read_metrics(directory / "metrics.json")
    model_config = _model_config(directory / "config.json", config)
    labels = config.get("labels", [])
    if len(labels) != model_config.n_classes or len(set(map(str, labels))) != len(labels):
        raise HanError(
            f"{directory / 'config.json'}: 'labels' must list {model_config.n_classes} different class names "
            "(model.n_classes)"
        )
    vocab = read_vocab(directory, model_config.vocab_size)
    try:
        model = HAN(model_config)
    except (TypeError, ValueError) as e:  # e.g. a hand-edited variant or level this version does not build
        raise HanError(f"{directory / 'config.json'}: bad 'model' section ({e})") from None
    model.load_state_dict(_load_weights(directory / "model.safetensors", model))
    model.eval()
    return model, vocab, config, metrics


def _model_config(path: Path, config: dict) -> ModelConfig:
    if config.get("format") != FORMAT:
        raise HanError(f"{path}: not a HAN checkpoint config (format {config.get('format')!r}, expected {FORMAT!r})")
    raw = config.get("model")
    names = {f.name for f in fields(ModelConfig)}
    if not isinstance(raw, dict) or not {"vocab_size", "n_classes"} <= raw.keys():
        raise HanError(f"{path}: 'model' must give at least vocab_size and n_classes")
    unknown = sorted(raw.keys() - names)
    if unknown:  # a newer han's setting: ignored, the model built here would not be the one trained
        raise HanError(
            f"{path}: the model uses settings this version of han does not know ({', '.join(unknown)}); it was "
            "written by a newer han: load it with that version"
        )
    try:
        return ModelConfig(**{k: v for k, v in raw.items() if k in names})
    except (TypeError, ValueError) as e:
        raise HanError(f"{path}: bad 'model' section ({e})") from None


def _load_weights(path: Path, model: HAN) -> dict[str, torch.Tensor]:
    """Read safetensors and check every tensor's name and shape against the model."""
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise HanError(f"{path}: truncated or corrupt safetensors file ({e})") from None
    expected = model.state_dict()
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    if missing or unexpected:
        raise HanError(
            f"{path}: tensors do not match config.json's model "
            f"(missing: {', '.join(missing) or 'none'}; "
            f"unexpected: {', '.join(unexpected) or 'none'}): {NOT_ONE_CHECKPOINT}"
        )
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape:
            raise HanError(
                f"{path}: tensor {name} has shape {tuple(tensor.shape)}, config.json "
                f"implies {tuple(expected[name].shape)}: {NOT_ONE_CHECKPOINT}"
            )
    return {k: v.to(expected[k].dtype) for k, v in state.items()}
