"""Checkpoints: a directory of config.json, vocab.txt, model.safetensors and metrics.json.

Nothing is pickled: weights are safetensors, everything else JSON or plain text. Loading checks
every file and names the file and the problem when one is missing, truncated or inconsistent.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, fields
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import HanError
from .model import HAN, VARIANTS, ModelConfig
from .vocab import Vocab

FILES = ("config.json", "vocab.txt", "model.safetensors", "metrics.json")
REQUIRED = ("config.json", "vocab.txt", "model.safetensors")  # metrics.json is a record: a model loads without it
FORMAT = "han-checkpoint/1"


def save(directory: Path, model: HAN, vocab: Vocab, config: dict, metrics: dict, half: bool = False) -> None:
    """Write a checkpoint; `half` stores fp16 weights (half the size, loaded back as fp32)."""
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    config = {"format": FORMAT, **config, "model": asdict(model.config)}
    save_file(state, str(directory / "model.safetensors"), metadata={"format": FORMAT})
    normal_permissions(directory / "model.safetensors")
    vocab.save(directory / "vocab.txt")
    _write_json(directory / "config.json", config)
    _write_json(directory / "metrics.json", metrics)


def normal_permissions(path: Path) -> None:
    """rw for the owner, r for others as the umask allows: safetensors writes its files owner-only (0600)."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o666 & ~umask)


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path: Path) -> dict:
    """Parse a JSON object, naming the file in any error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise HanError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise HanError(f"{path}: not valid JSON ({e.msg} at line {e.lineno}); the file may be truncated") from None
    if not isinstance(data, dict):
        raise HanError(f"{path}: expected a JSON object")
    return data


def read_metrics(path: Path) -> dict:
    """metrics.json, or {} with a warning on stderr when it is missing or unreadable: the weights still work."""
    if not path.is_file():
        print(f"warning: {path} is missing; the model loads, but its training record (accuracy, history) is "
              "not available", file=sys.stderr)  # fmt: skip
        return {}
    try:
        return read_json(path)
    except HanError as e:
        print(f"warning: {e}; the model loads without its training record", file=sys.stderr)
        return {}


def check_directory(directory: Path) -> None:
    if not directory.is_dir():
        raise HanError(f"{directory}: no such checkpoint folder")
    missing = [name for name in REQUIRED if not (directory / name).is_file()]
    if missing:
        raise HanError(
            f"{directory}: checkpoint is missing {', '.join(missing)}; copy the whole checkpoint folder again "
            "(or retrain it)"
        )


def load(directory: str | Path) -> tuple[HAN, Vocab, dict, dict]:
    """Load (model in eval mode, vocab, config, metrics) from a checkpoint folder."""
    directory = Path(directory)
    check_directory(directory)
    config = read_json(directory / "config.json")
    metrics = read_metrics(directory / "metrics.json")
    model_config = _model_config(directory / "config.json", config)
    if len(config.get("labels", [])) != model_config.n_classes:
        raise HanError(
            f"{directory / 'config.json'}: 'labels' must list {model_config.n_classes} class names (model.n_classes)"
        )
    try:
        vocab = Vocab.load(directory / "vocab.txt")
    except (ValueError, UnicodeDecodeError) as e:
        raise HanError(f"{directory / 'vocab.txt'}: {e}") from None
    if len(vocab) != model_config.vocab_size:
        raise HanError(
            f"{directory / 'vocab.txt'}: has {len(vocab)} words but config.json says "
            f"vocab_size {model_config.vocab_size}"
        )
    model = HAN(model_config)
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
            f"unexpected: {', '.join(unexpected) or 'none'})"
        )
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape:
            raise HanError(
                f"{path}: tensor {name} has shape {tuple(tensor.shape)}, config.json "
                f"implies {tuple(expected[name].shape)}"
            )
    return {k: v.to(expected[k].dtype) for k, v in state.items()}


def discover(folder: str | Path) -> dict[str, Path]:
    """The checkpoints of a set: {variant: folder}, for a checkpoint or a folder of them.

    A set is a folder whose sub-folders are checkpoints (e.g. assets/yelp/{att,ave,max});
    a single checkpoint folder is a set of one. Variants are read from each config.json.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise HanError(f"{folder}: no such folder")
    candidates = (
        [folder]
        if (folder / "config.json").is_file()
        else sorted(p for p in folder.iterdir() if (p / "config.json").is_file())
    )
    found: dict[str, Path] = {}
    for path in candidates:
        variant = read_json(path / "config.json").get("model", {}).get("variant")
        if variant in VARIANTS:
            found.setdefault(variant, path)
    if not found:
        raise HanError(
            f"{folder}: holds no HAN checkpoint (a folder with config.json, vocab.txt, "
            "model.safetensors and metrics.json)"
        )
    return {variant: found[variant] for variant in VARIANTS if variant in found}  # Table 2's order
