"""The registry of model variants by name: importable without torch (the app's first page needs only names).

han/model.py builds the network of each; a new variant is one entry here and its pooling in the model.
"""

from __future__ import annotations

VARIANTS = {"ave": "HN-AVE", "max": "HN-MAX", "att": "HN-ATT"}  # pooling -> the paper's name, in Table 2's order


def model_key(model: dict) -> str:
    """A checkpoint's key within a set: its variant, with the head count when it has several ("att-4h")."""
    heads = int(model.get("heads", 1))
    return model.get("variant", "?") + (f"-{heads}h" if heads > 1 else "")


def model_name(model: dict) -> str:
    """The name shown for a checkpoint's `model` config: the paper's (HN-ATT), with its heads if several."""
    name = VARIANTS.get(model.get("variant", ""), "?")
    heads = int(model.get("heads", 1))
    if heads == 1:
        return name
    where = {"word": ", word level", "sentence": ", sentence level"}.get(model.get("heads_at", "both"), "")
    return f"{name} ({heads} heads{where})"
