"""How the model's attention weights are shown: the paper's section 3.6 (pure Python, no torch).

The word colour of the heatmap is sqrt(p_s) * p_w, so a word that weighs much in a sentence that weighs little
is not drawn as strongly as one in a sentence the model reads; dividing by the document's largest such value
puts the strongest word at full colour.
"""

from __future__ import annotations

import math


def display_weights(sentence_weights: list[float], word_weights: list[list[float]]) -> list[list[float]]:
    """sqrt(p_s) * p_w for every word, divided by the document's largest such value."""
    raw = [[math.sqrt(p_s) * p_w for p_w in words] for p_s, words in zip(sentence_weights, word_weights, strict=True)]
    top = max((w for words in raw for w in words), default=0.0)
    return [[w / top if top > 0 else 0.0 for w in words] for words in raw]
