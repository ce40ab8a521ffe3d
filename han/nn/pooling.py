"""Masked pooling of a sequence of hidden states: attention (one head or several), average, max.

    att: u = tanh(W h + b), alpha = softmax(u . u_ctx)       (the paper's eq. 5-7 / 8-10)
         with r heads (Lin et al. 2017, "A Structured Self-Attentive Sentence Embedding"):
         A = softmax(U_ctx tanh(W H^T + b)), one context vector per head (U_ctx: r x context_dim),
         the heads' pooled vectors combined by their mean or by concatenation and a projection,
         and the penalty ||A A^T - I||_F^2 that pushes heads to look at different positions.
         r = 1 is exactly the paper's attention (same parameters, same outputs).
         Other score functions than the paper's additive one, and a temperature: han/nn/scores.py.
    ave: alpha uniform over real positions                   (HN-AVE)
    max: element-wise max; the weight of a position is the share of hidden dimensions in which
         it attains the maximum                              (HN-MAX)

Every weight is exactly 0 at padding, so padding never changes a pooled vector, a weight or the penalty.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from han.nn.scores import attention_scores, check_score, context_size, make_projection

# A function that replaces pooling weights: (weights (n, T), mask (n, T)) -> new weights (n, T).
# Faithfulness tests use it (uniform or permuted attention, zeroing the top item); None in training.
# With several heads it is applied to each head's weights in turn.
WeightOverride = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
COMBINE = ("mean", "concat")  # how the heads' pooled vectors become one
# Per-class attention (han/nn/class_attention.py), one head per class: "class" keeps every head's pooled vector,
# side by side (n, heads * d); the model picks the weights to show once it knows the predicted class.
CLASS_COMBINE = ("class",)
POOLINGS = ("att", "ave", "max")  # this module's; CAHAN's context-aware word attention is in han/nn/cahan.py


class Pooling(nn.Module):
    """Masked pooling over a sequence, returning the pooled vector and per-position weights.

    After each forward pass `head_weights` holds the (n, T, heads) weights of every head (attention only;
    `weights` is their mean, itself a distribution) and `penalty` the mean ||A A^T - I||_F^2 (0 for one head).
    """

    def __init__(
        self,
        variant: str,
        input_dim: int,
        context_dim: int,
        heads: int = 1,
        combine: str = "mean",
        score: str = "additive",
        temperature: float = 1.0,
    ) -> None:
        super().__init__()
        if variant not in POOLINGS:
            raise ValueError(f"unknown pooling {variant!r}; choose from {', '.join(POOLINGS)}")
        if heads < 1 or (heads > 1 and variant != "att"):
            raise ValueError("several heads need attention pooling (variant att) and heads >= 1")
        if combine not in COMBINE + CLASS_COMBINE:
            raise ValueError(f"unknown head combination {combine!r}; choose from {', '.join(COMBINE)}")
        check_score(score, temperature)
        if (score, temperature) != ("additive", 1.0) and variant != "att":
            raise ValueError(f"a score function and a temperature need attention pooling (variant att), not {variant}")
        self.score, self.temperature = score, temperature
        self.variant, self.heads, self.combine = variant, heads, combine
        # the pooled vector's size (concatenated heads are projected back to it; per class: each head's, side by side)
        self.output_dim = heads * input_dim if combine == "class" else input_dim
        self.override: WeightOverride | None = None  # set only by faithfulness tests, never trained
        self.head_weights: torch.Tensor | None = None  # (n, T, heads) of the last forward pass (attention)
        self.penalty: torch.Tensor | None = None  # () of the last forward pass (attention)
        if variant == "att":
            # W, b (Lin et al.'s W_s1, shared by the heads); W alone for "general", none for the others
            self.project = make_projection(score, input_dim, context_dim)
            size = context_size(score, input_dim, context_dim)
            shape = (size,) if heads == 1 else (heads, size)  # one head keeps HN-ATT's layout
            self.context = nn.Parameter(torch.empty(shape).uniform_(-0.1, 0.1))  # u_ctx per head
            if heads > 1 and combine == "concat":
                self.merge = nn.Linear(heads * input_dim, input_dim)  # concatenated heads -> input_dim

    def forward(
        self,
        h: torch.Tensor,
        mask: torch.Tensor,
        counts: torch.Tensor | None = None,
        scale: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # h: (n, T, d) hidden states; mask: (n, T) True at real positions, >= 1 per row
        # counts: sentences per document, for poolings that read a document's other sentences (not these)
        # scale: (n, T) TaSc's per-word scalars (han/nn/tasc.py), or None
        if self.variant == "max":
            return self._max(h, mask)
        position = mask.flatten().nonzero().squeeze(1)  # (k,) the real positions in the flattened (n * T)
        tokens = None if scale is None else scale.flatten().index_select(0, position)  # (k,)
        return self.forward_tokens(h.flatten(0, 1).index_select(0, position), position, mask.shape, scale=tokens)

    def forward_tokens(
        self,
        states: torch.Tensor,
        position: torch.Tensor,
        shape: tuple[int, int] | torch.Size,
        counts: torch.Tensor | None = None,
        scale: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`forward` from the real positions alone, what the encoders call: states (k, d) of the k real
        positions, position (k,) the index of each in the flattened (n, T) layout (shape); counts as in
        `forward` (not read here; CAHAN's pooling, which the encoder calls alike, reads it). scale (k,):
        TaSc's scalars, multiplying each position's weight in the pooled sum (attention only; the weights
        returned stay the attention's, han/nn/tasc.py makes the scaled ones shown).

        No pooling builds the padded (n, T, d) states nor their gradient (max only does under a weight override,
        which works in that layout): T is the batch's longest sentence, so most of that tensor is padding
        (about 6/7 of it in Yelp batches); the weights are still (n, T), exactly 0 at padding."""
        if self.variant == "max":  # a weight override works in the padded (n, T) layout
            return (
                max_tokens(states, position, shape)
                if self.override is None
                else self._max(*pad(states, position, shape))
            )
        n, T = shape
        mask = real_mask(position, shape)  # (n, T) True at real positions
        if self.variant == "ave":
            weights = mask.to(states.dtype) / mask.sum(dim=1, keepdim=True)  # (n, T)
            if self.override is not None:
                weights = self.override(weights, mask)  # (n, T), still 0 at padding
            heads = weights.unsqueeze(-1)  # (n, T, 1)
        else:
            heads = self._attention(states, position, n, T)  # (n, T, r)
            if self.override is not None:
                heads = override_each(self.override, heads, mask)  # (n, T, r)
            self.head_weights, self.penalty = heads, redundancy(heads, mask)
        share = heads.flatten(0, 1).index_select(0, position)  # (k, r): each real position's weight in each head
        row = torch.div(position, T, rounding_mode="floor")  # (k,) the sequence each position belongs to
        if scale is not None:  # TaSc: a word contributes alpha_t s_t h_t
            share = share * scale.unsqueeze(-1)  # (k, r)
        weighted = share.unsqueeze(-1) * states.unsqueeze(1)  # (k, r, d)
        pooled = states.new_zeros(n, *weighted.shape[1:]).index_add(0, row, weighted)  # (n, r, d): weighted sums
        if self.variant == "ave":
            return pooled[:, 0], weights  # (n, d), (n, T)
        if self.combine == "class":
            return pooled.flatten(1), heads.mean(dim=-1)  # (n, r*d): each class's vector; the model picks weights
        if self.heads > 1 and self.combine == "concat":
            return self.merge(pooled.flatten(1)), heads.mean(dim=-1)  # (n, d), (n, T)
        return pooled.mean(dim=1), heads.mean(dim=-1)  # (n, d) = sum_t mean_r(A_rt) h_t, (n, T)

    def _max(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Element-wise max over the real positions of padded states h (n, T, d), and each position's share."""
        if self.override is not None:  # positions the override weighs 0 drop out of the max
            mask = mask & (self.override(max_weights(h, mask), mask) > 0)  # (n, T)
        return h.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(dim=1).values, max_weights(h, mask)

    def _attention(self, states: torch.Tensor, position: torch.Tensor, n: int, T: int) -> torch.Tensor:
        """(n, T, heads) attention weights from the real positions' states (k, d), each head a distribution over
        the real positions."""
        return self._distribution(self._scores(states), position, n, T)

    def _scores(self, states: torch.Tensor) -> torch.Tensor:
        """(k, heads) each head's score of the real positions' states (k, d) against its context vector."""
        context = self.context.view(self.heads, -1)  # (r, context size)
        return attention_scores(self.score, states, context, self.project, self.temperature)  # (k, r)

    @staticmethod
    def _distribution(real: torch.Tensor, position: torch.Tensor, n: int, T: int) -> torch.Tensor:
        """(n, T, r) the softmax over each row's real positions of their scores `real` (k, r), 0 at padding."""
        padding = real.new_full((n * T, real.size(-1)), float("-inf"))  # (n*T, r), -inf at padding
        scores = padding.index_copy(0, position, real)  # (n*T, r)
        return scores.view(n, T, -1).softmax(dim=1)  # (n, T, r), exactly 0 at padding


def override_each(override: WeightOverride, heads: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """A weight override applied to each head's (n, T) weights of `heads` (n, T, r) in turn; mask (n, T)."""
    return torch.stack([override(heads[..., k], mask) for k in range(heads.size(-1))], dim=-1)  # (n, T, r)


def real_mask(position: torch.Tensor, shape: tuple[int, int] | torch.Size) -> torch.Tensor:
    """(n, T) True at the real positions: `position` (k,) indexes the flattened (n, T) layout."""
    n, T = shape
    mask = torch.zeros(n * T, dtype=torch.bool, device=position.device)
    mask[position] = True
    return mask.view(n, T)


def pad(
    data: torch.Tensor, position: torch.Tensor, shape: tuple[int, int] | torch.Size
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of data (tokens, d) at `position` of a zero-padded (n, T, d) tensor, and its (n, T) mask.

    Does what `pad_packed_sequence` does with a single `index_copy`, whose backward is one gather; autograd
    records `pad_packed_sequence` as a copy per time step, each of which clones the whole gradient in the
    backward pass.
    """
    n, T = shape
    out = data.new_zeros(n * T, data.size(-1)).index_copy(0, position, data)  # (n*T, d)
    return out.view(n, T, -1), real_mask(position, shape)


def redundancy(heads: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over rows of ||A A^T - I||_F^2, A = a row's (r, T) head weights (Lin et al.'s penalty); 0 for r = 1
    (a single distribution is not penalised: A A^T - I = |a|^2 - 1 would only push it towards one-hot)."""
    r = heads.size(-1)
    if r == 1:
        return heads.new_zeros(())
    a = heads.transpose(1, 2)  # (n, r, T), 0 at padding
    gram = a @ a.transpose(1, 2)  # (n, r, r)
    eye = torch.eye(r, dtype=heads.dtype, device=heads.device)
    return ((gram - eye) ** 2).sum(dim=(1, 2)).mean()


def max_tokens(
    states: torch.Tensor, position: torch.Tensor, shape: tuple[int, int] | torch.Size
) -> tuple[torch.Tensor, torch.Tensor]:
    """HN-MAX from the real positions alone: the same pooled vectors (n, d), weights (n, T) and gradients as
    `Pooling._max` over the padded states, without building them (nor the (n, d, T) one-hot of the winners).

    states (k, d) and position (k,) as in `Pooling.forward_tokens`. Where several positions tie for a
    dimension's maximum, the first wins, as `argmax` and `max` pick it in the padded layout."""
    n, T = shape
    k, d = states.shape
    row = torch.div(position, T, rounding_mode="floor").unsqueeze(1).expand(k, d)  # (k, d) each state's sequence
    top = states.new_full((n, d), float("-inf")).scatter_reduce(0, row, states.detach(), "amax")  # (n, d)
    attains = states.detach() == top.gather(0, row)  # (k, d) True where a position attains its dimension's max
    last = n * T  # larger than every position: never the first
    candidates = torch.where(attains, position.unsqueeze(1), last)  # (k, d)
    winner = position.new_full((n, d), last).scatter_reduce(0, row, candidates, "amin")  # (n, d) first position
    token_at = position.new_empty(n * T)  # the row of `states` at each real position of the (n, T) layout
    token_at[position] = torch.arange(k, device=position.device)
    pooled = states[token_at[winner], torch.arange(d, device=states.device)]  # (n, d): gradient to the winner
    wins = states.new_zeros(n * T).index_add_(0, winner.flatten(), states.new_ones(n * d))  # (n*T,) dims won
    return pooled, (wins / d).view(n, T)  # (n, d), (n, T): each position's share of the d dimensions


def max_weights(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(n, T): the share of the d hidden dimensions in which each position is the maximum."""
    masked = h.masked_fill(~mask.unsqueeze(-1), float("-inf"))  # (n, T, d)
    winners = masked.argmax(dim=1)  # (n, d) position winning each dimension
    return F.one_hot(winners, h.size(1)).to(h.dtype).mean(dim=1)  # (n, T)
