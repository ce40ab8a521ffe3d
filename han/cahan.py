"""Context-aware word attention: CAHAN (Remy, Tixier & Vazirgiannis 2019, arXiv 1908.06006).

HN-ATT weighs a sentence's words the same wherever the sentence stands. CAHAN conditions them on a
context vector c_i built from the other sentences of the document:

    classic: u_it = tanh(W h_it + W_c c_i + b)
    gated:   u_it = tanh(l_it * W h_it + (1 - l_it) * W_c c_i + b),  l_it = sigmoid(w_l.h_it + w_lc.c_i + b_l)
    alpha_it = softmax_t(u_it . u_w),  s_i = sum_t alpha_it h_it

c_i is the sum (or mean) of the sentence vectors s_j of the sentences before i ("left": left-to-right).
"bi" adds a second attention with parameters of its own that reads the document backwards (its context:
the sentences after i) and concatenates both sentence vectors, as the authors' code does. Sentence i
depends on s_{<i}, so the word level runs one sentence position at a time, every document of the batch
together: a loop over positions (at most the longest document's sentences), never over documents.
Only real sentences enter a context; padding words get weight 0. One direction's weights are one
"head" in the model's output (left: one head; bi: two, "before" and "after").
"""

from __future__ import annotations

import torch
from torch import nn

from .pooling import WeightOverride

DIRECTIONS = ("left", "bi")  # context from the sentences before; or before (one pass) and after (another)
AGGREGATES = ("sum", "mean")  # how the other sentences' vectors make the context vector


class ContextAttention(nn.Module):
    """Word attention over the sentences of documents, each sentence's conditioned on its context."""

    def __init__(self, input_dim: int, context_dim: int, aggregate: str = "sum", gate: bool = False) -> None:
        super().__init__()
        if aggregate not in AGGREGATES:
            raise ValueError(f"unknown context aggregate {aggregate!r}; choose from {', '.join(AGGREGATES)}")
        self.aggregate = aggregate
        self.project = nn.Linear(input_dim, context_dim, bias=False)  # W
        self.from_context = nn.Linear(input_dim, context_dim, bias=False)  # W_c
        self.bias = nn.Parameter(torch.zeros(context_dim))  # b
        self.context = nn.Parameter(torch.empty(context_dim).uniform_(-0.1, 0.1))  # u_w
        self.gate_word = nn.Linear(input_dim, 1) if gate else None  # w_l, b_l
        self.gate_context = nn.Linear(input_dim, 1, bias=False) if gate else None  # w_lc

    def forward(
        self,
        h: torch.Tensor,
        mask: torch.Tensor,
        counts: torch.Tensor,
        backwards: bool = False,
        override: WeightOverride | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, d) sentence vectors and (n, T) word weights of n sentences, documents one after another.

        h: (n, T, d) word states; mask: (n, T); counts: (n_docs,) sentences per document (they sum to n).
        `backwards`: the context is the sentences after each one. `override` changes the weights as in
        han.pooling (called with all n rows, those of the sentences not at the current position all zero).
        """
        n, T, d = h.shape
        counts = counts.to(h.device)
        document = torch.repeat_interleave(torch.arange(counts.numel(), device=h.device), counts)  # (n,)
        position = torch.arange(n, device=h.device) - (torch.cumsum(counts, 0) - counts)[document]  # (n,)
        step = counts[document] - 1 - position if backwards else position  # (n,) when each sentence is read
        projected = self.project(h)  # (n, T, context_dim), W h for every word at once
        gate_h = self.gate_word(h) if self.gate_word is not None else None  # (n, T, 1)
        context = h.new_zeros(counts.numel(), d)  # (n_docs, d): sum of the vectors read so far
        read = h.new_zeros(counts.numel())  # (n_docs,): how many sentences so far
        rows_out, vectors_out, weights_out = [], [], []
        for t in range(int(counts.max())):
            rows = (step == t).nonzero().squeeze(1)  # (k,) one sentence of each document longer than t
            docs = document[rows]  # (k,)
            c = context[docs] if self.aggregate == "sum" else context[docs] / read[docs].clamp_min(1).unsqueeze(1)
            from_c = self.from_context(c).unsqueeze(1)  # (k, 1, context_dim)
            if gate_h is not None and self.gate_context is not None:
                keep = torch.sigmoid(gate_h[rows] + self.gate_context(c).unsqueeze(1))  # (k, T, 1)
                u = torch.tanh(keep * projected[rows] + (1 - keep) * from_c + self.bias)  # (k, T, context_dim)
            else:
                u = torch.tanh(projected[rows] + from_c + self.bias)  # (k, T, context_dim)
            scores = (u @ self.context).masked_fill(~mask[rows], float("-inf"))  # (k, T)
            weights = scores.softmax(dim=1)  # (k, T), exactly 0 at padding
            if override is not None:
                weights = _override_rows(override, weights, rows, mask)
            vectors = (weights.unsqueeze(-1) * h[rows]).sum(dim=1)  # (k, d)
            context = context.index_add(0, docs, vectors)  # out of place: gradients flow through the context
            read = read.index_add(0, docs, torch.ones_like(docs, dtype=h.dtype))
            rows_out.append(rows)
            vectors_out.append(vectors)
            weights_out.append(weights)
        order = torch.cat(rows_out)  # (n,)
        pooled = h.new_zeros(n, d).index_copy(0, order, torch.cat(vectors_out))  # (n, d) in input order
        return pooled, h.new_zeros(n, T).index_copy(0, order, torch.cat(weights_out))  # (n, T)


def _override_rows(
    override: WeightOverride, weights: torch.Tensor, rows: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Apply a whole-batch override to the rows being read now: the others are passed as all-zero rows."""
    full = weights.new_zeros(mask.shape).index_copy(0, rows, weights)  # (n, T)
    current = torch.zeros_like(mask).index_copy(0, rows, mask[rows])  # (n, T): only the rows read now
    return override(full, current)[rows]  # (k, T)


class CahanPooling(nn.Module):
    """CAHAN's word level: one ContextAttention (left) or two (bi: before and after), concatenated."""

    def __init__(self, input_dim: int, context_dim: int, direction: str, aggregate: str, gate: bool) -> None:
        super().__init__()
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown context direction {direction!r}; choose from {', '.join(DIRECTIONS)}")
        self.passes = nn.ModuleList(
            ContextAttention(input_dim, context_dim, aggregate, gate) for _ in range(2 if direction == "bi" else 1)
        )
        self.output_dim = input_dim * len(self.passes)  # the sentence vector's size
        self.override: WeightOverride | None = None  # as Pooling.override: applied to each pass's weights
        self.head_weights: torch.Tensor | None = None  # (n, T, passes) of the last forward pass
        self.penalty: torch.Tensor | None = None  # no penalty: the passes read different contexts

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor, counts: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # h: (n, T, d); mask: (n, T); counts: (n_docs,) sentences per document (None: all one document)
        counts = torch.tensor([h.size(0)]) if counts is None else counts
        results = [
            attention(h, mask, counts, backwards=k == 1, override=self.override)
            for k, attention in enumerate(self.passes)
        ]
        self.head_weights = torch.stack([weights for _, weights in results], dim=-1)  # (n, T, passes)
        pooled = torch.cat([vectors for vectors, _ in results], dim=-1)  # (n, passes * d)
        return pooled, self.head_weights.mean(dim=-1)  # (n, T): the passes' mean, a distribution
