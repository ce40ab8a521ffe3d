"""The registry of model variants by name: importable without torch (the app's first page needs only names).

han/nn/model.py builds the network of each; a new variant is one entry here and its pooling in the model.
"""

from __future__ import annotations

PAPER_VARIANTS = {"ave": "HN-AVE", "max": "HN-MAX", "att": "HN-ATT"}  # the paper's Table 2, in its order
# every variant -> its name: the paper's three, then CAHAN (context-aware word attention, han/nn/cahan.py)
VARIANTS = PAPER_VARIANTS | {"cahan": "CAHAN"}
# issue 35's design settings and the paper's value of each, which an old config.json (without them) means
DESIGN_DEFAULTS = {
    "score": "additive",
    "temperature": 1.0,
    "encoder": "gru",
    "encoder_at": "both",
    "layers": 1,
    "attention_heads": 4,
    "structure": "hierarchical",
}


CLASS_SUFFIX = {"separate": " (per class)", "evidence": " (evidence)"}  # an attention per class, in model names


def class_mode(model: dict) -> str:
    """A `model` config's attention per class: "none", "separate" or "evidence" (han/nn/class_attention.py)."""
    return str(model.get("class_attention", "none"))


def design(model: dict) -> dict:
    """A checkpoint's `model` config's design settings, the paper's values where it has none (older ones)."""
    return {name: model.get(name, default) for name, default in DESIGN_DEFAULTS.items()}


def design_parts(model: dict) -> list[str]:
    """The design settings that differ from the paper's HAN, in short words: ["conv", "flat", "dot", "T=0.5"]."""
    d = design(model)
    parts = []
    if d["encoder"] != "gru":
        encoder = d["encoder"] + (f" {d['layers']}L{d['attention_heads']}h" if d["encoder"] == "transformer" else "")
        parts.append(encoder + ("" if d["encoder_at"] == "both" else f" at {d['encoder_at']}"))
    if d["structure"] != "hierarchical":
        parts.append(d["structure"])
    if d["score"] != "additive":
        parts.append(d["score"])
    if float(d["temperature"]) != 1.0:
        parts.append(f"T={float(d['temperature']):g}")
    return parts


def model_key(config: dict) -> str:
    """A checkpoint's key within a set, from its config.json: its variant, then what sets it apart from
    others of that variant: the heads, their penalty and combination ("att-4h-c0.1"), CAHAN's context
    setting ("cahan-bi-sum-gated")."""
    model = config.get("model", {})
    key = model.get("variant", "?")
    if key == "cahan":
        key += f"-{model.get('context_direction', 'left')}-{model.get('context_aggregate', 'sum')}"
        key += "-gated" if model.get("context_gate") else ""
    key += {"separate": "-per-class", "evidence": "-evidence"}.get(class_mode(model), "")
    heads = int(model.get("heads", 1))
    if heads > 1:
        key += f"-{heads}h-c{float(config.get('training', {}).get('penalty', 0.0)):g}"
        key += "-concat" if model.get("head_combine") == "concat" else ""
    return "-".join([key, *(part.replace(" ", "-").replace("=", "").lower() for part in design_parts(model))])


def model_name(model: dict) -> str:
    """The name shown for a checkpoint's `model` config: the paper's (HN-ATT), with its heads if several, and its
    design where it is not the paper's: "HN-ATT [transformer 1L4h, flat]"."""
    parts = design_parts(model)
    return _base_name(model) + (f" [{', '.join(parts)}]" if parts else "")


def _base_name(model: dict) -> str:
    name = VARIANTS.get(model.get("variant", ""), "?")
    if model.get("variant") == "cahan":  # e.g. CAHAN (bi, sum, gated), the paper's naming of its settings
        settings = [model.get("context_direction", "left"), model.get("context_aggregate", "sum")]
        return f"{name} ({', '.join(settings)}{', gated' if model.get('context_gate') else ''})"
    heads = int(model.get("heads", 1))
    if class_mode(model) != "none":
        return name + CLASS_SUFFIX[class_mode(model)]
    if heads == 1:
        return name
    where = {"word": ", word level", "sentence": ", sentence level"}.get(model.get("heads_at", "both"), "")
    return f"{name} ({heads} heads{where})"
