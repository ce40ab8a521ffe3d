"""The registry of model variants by name: importable without torch (the app's first page needs only names).

han/model.py builds the network of each; a new variant is one entry here and its pooling in the model.
"""

from __future__ import annotations

PAPER_VARIANTS = {"ave": "HN-AVE", "max": "HN-MAX", "att": "HN-ATT"}  # the paper's Table 2, in its order
# every variant -> its name: the paper's three, then CAHAN (context-aware word attention, han/cahan.py)
VARIANTS = PAPER_VARIANTS | {"cahan": "CAHAN"}


def model_key(model: dict) -> str:
    """A checkpoint's key within a set: its variant, with the head count when it has several ("att-4h")."""
    heads = int(model.get("heads", 1))
    return model.get("variant", "?") + (f"-{heads}h" if heads > 1 else "")  # CAHAN settings share "cahan"


def model_name(model: dict) -> str:
    """The name shown for a checkpoint's `model` config: the paper's (HN-ATT), with its heads if several."""
    name = VARIANTS.get(model.get("variant", ""), "?")
    if model.get("variant") == "cahan":  # e.g. CAHAN (bi, sum, gated), the paper's naming of its settings
        settings = [model.get("context_direction", "left"), model.get("context_aggregate", "sum")]
        return f"{name} ({', '.join(settings)}{', gated' if model.get('context_gate') else ''})"
    heads = int(model.get("heads", 1))
    if heads == 1:
        return name
    where = {"word": ", word level", "sentence": ", sentence level"}.get(model.get("heads_at", "both"), "")
    return f"{name} ({heads} heads{where})"
