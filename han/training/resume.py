"""Training progress saved after every epoch in `<out>/.resume/`, so that an interrupted run continues.

JSON for counters, history and scheduler state; safetensors for tensors (model, best model,
optimiser state, initial embeddings), never a pickle. A new state replaces the old one only once
it is completely written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from han.checkpoint import io as checkpoint
from han.data.vocab import Vocab


class ResumeState:
    """Progress saved after every epoch: JSON for counters, safetensors for tensors."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / ".resume"

    def exists(self) -> bool:
        return (self.directory / "state.json").is_file()

    def save(self, info: dict, tensors: dict[str, torch.Tensor], vocab: Vocab) -> None:
        tmp = self.directory.with_name(".resume.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp / "tensors.safetensors"))
        checkpoint.normal_permissions(tmp / "tensors.safetensors")
        vocab.save(tmp / "vocab.txt")
        (tmp / "state.json").write_text(json.dumps(info, indent=1))
        shutil.rmtree(self.directory, ignore_errors=True)
        tmp.rename(self.directory)  # the old state is replaced only once the new one is complete

    def load(self) -> tuple[dict, dict[str, torch.Tensor], Vocab]:
        info = checkpoint.read_json(self.directory / "state.json")
        return info, load_file(str(self.directory / "tensors.safetensors")), Vocab.load(self.directory / "vocab.txt")

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def prefixed(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in state.items()}


def unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
