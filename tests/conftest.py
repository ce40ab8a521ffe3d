"""Shared fixtures: real data from ../shared/data and small checkpoints trained on it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from han.data.dataset import read_dataset
from han.data.text import TextLimits
from han.training.recipes import recipe_config
from han.training.train import train

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HAN_DATA", ROOT.parent / "shared" / "data"))
YELP_10K = DATA / "yelp" / "yelp_10k.csv.gz"
YELP_OPEN = DATA / "yelp" / "yelp_open_5k.csv.gz"
IMDB = DATA / "imdb" / "aclImdb_v1.tar.gz"
TANG = DATA / "tang2015"


def pytest_configure(config: pytest.Config) -> None:
    # Tokenised-corpus cache of this session only: tests must not depend on (or fill) ~/.cache/han.
    os.environ["HAN_CACHE"] = tempfile.mkdtemp(prefix="han-test-cache-")
    if not YELP_10K.is_file():
        raise pytest.UsageError(f"real data not found at {DATA}; set HAN_DATA to ../shared/data")


@pytest.fixture(scope="session")
def yelp_slice():
    """600 real Yelp reviews (the first of yelp_10k)."""
    return read_dataset([YELP_10K], max_docs=600)


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory, yelp_slice) -> dict[str, Path]:
    """One quickly trained checkpoint per variant (1 epoch, random embeddings), and HN-ATT with 2 heads
    (concatenated, penalised) under the key "att-2h", and CAHAN (bidirectional, gated): for plumbing."""
    out = {}
    settings: dict[str, dict[str, Any]] = {
        "att": {},
        "ave": {"variant": "ave"},
        "max": {"variant": "max"},
        "att-2h": {"heads": 2, "head_combine": "concat", "penalty": 0.1},
        "cahan": {"variant": "cahan", "context_direction": "bi", "context_gate": True},
    }
    for variant, extra in settings.items():
        directory = tmp_path_factory.mktemp(f"ckpt-{variant}")
        cfg = recipe_config("paper", epochs=1, lrs=[0.05], embeddings="random", min_count=2, progress=False, **extra)
        train(yelp_slice, directory, cfg, TextLimits(max_sentences=30, max_words=50))
        out[variant] = directory
    return out


def interrupt_epoch(monkeypatch: pytest.MonkeyPatch, number: int) -> Callable[[], None]:
    """Make the `number`-th call of han.training.train.train_epoch raise KeyboardInterrupt (a Ctrl-C mid-run).

    Returns a function that puts the real train_epoch back, for the resumed run.
    """
    import han.training.train as training

    real_epoch, calls = training.train_epoch, []

    def interrupting(*args: Any, **kwargs: Any) -> dict:
        calls.append(1)
        if len(calls) == number:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(training, "train_epoch", interrupting)
    return lambda: monkeypatch.setattr(training, "train_epoch", real_epoch)
