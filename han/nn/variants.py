"""The registry of model variants by name: importable without torch (the app's first page needs only names).

han/nn/model.py builds the network of each; a new variant is one entry here and its pooling in the model.
"""

from __future__ import annotations

PAPER_VARIANTS = {"ave": "HN-AVE", "max": "HN-MAX", "att": "HN-ATT"}  # the paper's Table 2, in its order
# every variant -> its name: the paper's three, then CAHAN (context-aware word attention, han/nn/cahan.py)
VARIANTS = PAPER_VARIANTS | {"cahan": "CAHAN"}


def model_key(config: dict) -> str:
    """A checkpoint's key within a set, from its config.json: its variant, then what sets it apart from
    others of that variant: the heads, their penalty and combination ("att-4h-c0.1"), CAHAN's context
    setting ("cahan-bi-sum-gated")."""
    model = config.get("model", {})
    key = model.get("variant", "?")
    if key == "cahan":
        key += f"-{model.get('context_direction', 'left')}-{model.get('context_aggregate', 'sum')}"
        key += "-gated" if model.get("context_gate") else ""
    heads = int(model.get("heads", 1))
    if heads > 1:
        key += f"-{heads}h-c{float(config.get('training', {}).get('penalty', 0.0)):g}"
        key += "-concat" if model.get("head_combine") == "concat" else ""
    return key


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
