"""Task-scaled word attention (TaSc, Chrysostomou & Aletras 2021), in its linear form, for HN-ATT's word level.

    s_t = u[w_t] * sum_j e_tj        one learned scalar u per vocabulary word, times the sum of its vector
    v   = sum_t alpha_t s_t h_t      the scalar multiplies the word's attention weight in the pooled sum

The attention weights alpha_t are computed as before (from the unscaled states h_t); what the word
contributes is alpha_t s_t h_t, so the heatmap and `explain` show |alpha_t s_t| renormalised over the
sentence's real words (`scaled_weights`). The scalar reads the word's own vector, not the GRU state that mixes
the whole sentence, which is why it can tie the weight shown to the word itself. Padding gets no scale: the
scales are computed for real tokens only (packed order) and are 0 at padding in the (n, T) layout.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class TaskScale(nn.Module):
    """s_t = u[w_t] * sum_j e_tj for the real tokens given (ids (k,), their word vectors (k, embed_dim))."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        bound = 1 / math.sqrt(vocab_size)  # TaSc's initialisation: small scales at first
        self.u = nn.Parameter(torch.empty(vocab_size).uniform_(-bound, bound))  # (vocab_size,)

    def forward(self, ids: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        # ids: (k,) word ids of real tokens; vectors: (k, embed_dim) their (undropped) word vectors
        return self.u[ids] * vectors.sum(dim=-1)  # (k,)


def padded_scale(scale: torch.Tensor, position: torch.Tensor, shape: tuple[int, int] | torch.Size) -> torch.Tensor:
    """(n, T) scales from the real tokens' (k,) at `position` of the flattened (n, T) layout; 0 at padding."""
    n, T = shape
    return scale.new_zeros(n * T).index_copy(0, position, scale).view(n, T)


def scaled_weights(weights: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """What a word contributes, as a distribution over its sentence's real words: |alpha_t s_t| renormalised.

    weights: (n, T) alpha, 0 at padding; scale: (n, T) s, 0 at padding. A row whose scaled weights are all 0
    (every scale 0) keeps alpha: there is then nothing to tell its words apart by."""
    magnitude = (weights * scale).abs()  # (n, T), 0 at padding
    total = magnitude.sum(dim=1, keepdim=True)  # (n, 1)
    return torch.where(total > 0, magnitude / total.clamp_min(1e-30), weights)  # (n, T)
