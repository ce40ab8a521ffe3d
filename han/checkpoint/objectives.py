"""The faithful-attention objectives a checkpoint was trained with, in one line, from config.json alone (no torch):
`han info` and the app's model cards show it. Checkpoints from before the objectives have none (None)."""

from __future__ import annotations


def objectives_summary(training: dict) -> str | None:
    """ "faithful loss 5 (grad-input, both levels, T 0.25, from epoch 2); TaSc; word dropout 0.1", or None."""
    parts = []
    if training.get("faithful_loss"):
        level = "both levels" if training.get("faithful_level", "both") == "both" else "word level"
        parts.append(
            f"faithful loss {training['faithful_loss']:g} ({training.get('faithful_target', 'grad-input')}, {level}, "
            f"T {training.get('faithful_temperature', 0.25):g}, from epoch {training.get('faithful_after', 1) + 1})"
        )
    if training.get("tasc"):
        parts.append("TaSc (task-scaled word attention; the heatmap shows the scaled weights)")
    mode = training.get("class_attention", "none")
    if mode == "evidence":
        parts.append("evidence attention (per class; the heatmap shows the predicted class's)")
    elif mode == "separate":
        parts.append("per-class attention (the heatmap shows the predicted class's)")
    if training.get("word_dropout"):
        parts.append(f"word dropout {training['word_dropout']:g}")
    return "; ".join(parts) or None
