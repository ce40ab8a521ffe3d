"""Hierarchical Attention Networks (Yang et al. 2016) for document classification.

import han
model = han.load("assets/yelp/att")
model.predict(["The food was great."])   # [{"label": "5", "probabilities": {...}}]
model.explain("The food was great.")     # sentences, tokens, sentence and word weights
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

from .classifier import Classifier
from .errors import HanError


def load(directory: str | Path) -> Classifier:
    """Load a checkpoint folder (config.json, vocab.txt, model.safetensors, metrics.json)."""
    return Classifier.load(directory)


__all__ = ["Classifier", "HanError", "__version__", "load"]
