"""Hierarchical Attention Networks (Yang et al. 2016) for document classification.

import han
model = han.load("assets/yelp/att")
model.predict(["The food was great."])   # [{"label": "5", "probabilities": {...}}]
model.explain("The food was great.")     # sentences, tokens, sentence and word weights
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from han.errors import HanError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from han.checkpoint.classifier import Classifier


def load(directory: str | Path) -> Classifier:
    """Load a checkpoint folder (config.json, vocab.txt, model.safetensors, metrics.json)."""
    from han.checkpoint.classifier import Classifier

    return Classifier.load(directory)


def __getattr__(name: str) -> Any:
    """`han.Classifier` on first use: importing han (or han.errors, han.checkpoint.files) does not load torch,
    so the app can draw before torch's second of import."""
    if name == "Classifier":
        from han.checkpoint.classifier import Classifier

        return Classifier
    raise AttributeError(f"module 'han' has no attribute {name!r}")


__all__ = ["Classifier", "HanError", "__version__", "load"]
