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

import math

import torch
from torch import nn

from han.nn.pooling import WeightOverride, pad

DIRECTIONS = ("left", "bi")  # context from the sentences before; or before (one pass) and after (another)
AGGREGATES = ("sum", "mean")  # how the other sentences' vectors make the context vector


class ContextAttention(nn.Module):
    """Word attention over the sentences of documents, each sentence's conditioned on its context.

    With `passes` = 2 the second pass, with parameters of its own, reads every document backwards (its context:
    the sentences after). Both passes advance together: at step t each reads the t-th sentence (from its end)
    of the same documents, so one batched matmul per step serves both.
    """

    def __init__(
        self, input_dim: int, context_dim: int, aggregate: str = "sum", gate: bool = False, passes: int = 1
    ) -> None:
        super().__init__()
        if aggregate not in AGGREGATES:
            raise ValueError(f"unknown context aggregate {aggregate!r}; choose from {', '.join(AGGREGATES)}")
        self.aggregate, self.passes = aggregate, passes
        bound = 1 / math.sqrt(input_dim)  # nn.Linear's initialisation

        def weight(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.empty(passes, *shape).uniform_(-bound, bound))

        self.project = weight(input_dim, context_dim)  # W per pass
        self.from_context = weight(input_dim, context_dim)  # W_c per pass
        self.bias = nn.Parameter(torch.zeros(passes, 1, 1, context_dim))  # b per pass
        self.context = nn.Parameter(torch.empty(passes, context_dim, 1).uniform_(-0.1, 0.1))  # u_w per pass
        self.gate = gate
        if gate:
            self.gate_word = weight(input_dim, 1)  # w_l per pass
            self.gate_bias = nn.Parameter(torch.zeros(passes, 1, 1, 1))  # b_l per pass
            self.gate_context = weight(input_dim, 1)  # w_lc per pass

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor, counts: torch.Tensor, override: WeightOverride | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(passes, n, d) sentence vectors and (passes, n, T) word weights of n sentences, documents one after
        another. h: (n, T, d) word states; mask: (n, T); counts: (n_docs,) sentences per document (sum n).
        `override` changes each pass's weights as in han.nn.pooling (called with all n rows, those of the sentences
        not being read all zero)."""
        n, T, d = h.shape
        P = self.passes
        orders = [reading_order(counts.cpu(), backwards=p == 1) for p in range(P)]
        sizes = orders[0][1]  # sentences read at each step: the same for both passes
        gather = torch.stack([order for order, _ in orders]).to(h.device)  # (P, n) rows step by step
        states = h.index_select(0, gather.flatten()).view(P, n, T, d)  # (P, n, T, d) in reading order
        masks = mask.index_select(0, gather.flatten()).view(P, n, T)  # (P, n, T)
        projected = torch.einsum("pntd,pdc->pntc", states, self.project)  # (P, n, T, context_dim): W h, all words
        gates = torch.einsum("pntd,pdo->pnto", states, self.gate_word) + self.gate_bias if self.gate else None
        # per step: split, never sliced (a slice's backward fills a zero tensor the size of the whole)
        states_t, masks_t, projected_t = (x.split(sizes, dim=1) for x in (states, masks, projected))
        gates_t = gates.split(sizes, dim=1) if gates is not None else None
        gather_t = gather.split(sizes, dim=1)
        context = h.new_zeros(P, sizes[0], d)  # (P, n_docs, d), documents longest first: sum of vectors read
        vectors_out, weights_out = [], []
        for t, k in enumerate(sizes):  # the k documents still being read are always the first k
            c = context[:, :k] if self.aggregate == "sum" else context[:, :k] / max(t, 1)  # (P, k, d)
            from_c = torch.bmm(c, self.from_context).unsqueeze(2)  # (P, k, 1, context_dim)
            if gates_t is not None:
                keep = torch.sigmoid(gates_t[t] + torch.bmm(c, self.gate_context).unsqueeze(2))  # (P, k, T, 1)
                u = torch.tanh(keep * projected_t[t] + (1 - keep) * from_c + self.bias)  # (P, k, T, cdim)
            else:
                u = torch.tanh(projected_t[t] + from_c + self.bias)  # (P, k, T, context_dim)
            scores = (u * self.context.view(P, 1, 1, -1)).sum(dim=-1)  # (P, k, T): u . u_w
            weights = scores.masked_fill(~masks_t[t], float("-inf")).softmax(dim=2)  # 0 at padding
            if override is not None:
                weights = torch.stack([_override_rows(override, weights[p], gather_t[t][p], mask) for p in range(P)])
            vectors = (weights.unsqueeze(-1) * states_t[t]).sum(dim=2)  # (P, k, d)
            context = _add_read(context, vectors, dim=1)
            vectors_out.append(vectors)
            weights_out.append(weights)
        read_vectors, read_weights = torch.cat(vectors_out, dim=1), torch.cat(weights_out, dim=1)  # reading order
        pooled = torch.stack([h.new_zeros(n, d).index_copy(0, gather[p], read_vectors[p]) for p in range(P)])
        weights = torch.stack([h.new_zeros(n, T).index_copy(0, gather[p], read_weights[p]) for p in range(P)])
        return pooled, weights  # (P, n, d), (P, n, T) in input order

    def forward_tokens(
        self, states: torch.Tensor, position: torch.Tensor, shape: tuple[int, int], counts: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`forward` from the real words alone: states (k, d) of the k real words, position (k,) the index of
        each in the flattened (n, T) layout (`shape`), counts (n_docs,). The same outputs (P, n, d), (P, n, T).

        T is the batch's longest sentence, so most of a padded (n, T, d) tensor is padding; here W h, the tanh,
        the scores and their gradients cover the real words only. Each pass reads its words in its own order
        (the words of the sentences read at a step differ between passes), so the passes run one after the
        other; each step's softmax is one per sentence over that sentence's words (segments)."""
        n, T = shape
        d = states.size(-1)
        row = torch.div(position, T, rounding_mode="floor")  # (k,) the sentence of each word
        P = self.passes
        # W h of every real word for every pass in one matmul: (k, d) @ (d, P * context_dim)
        projected = (states @ self.project.transpose(0, 1).reshape(d, -1)).view(len(states), P, -1)  # (k, P, cdim)
        gates = states @ self.gate_word.transpose(0, 1).reshape(d, P) + self.gate_bias.view(P) if self.gate else None
        pooled, weights = [], []
        for p in range(P):
            order, sizes, read, slot, per_step = word_reading_order(row, counts, backwards=p == 1)
            # per step: split, never sliced (a slice's backward fills a zero tensor the size of the whole)
            states_t = states.index_select(0, read).split(per_step)
            projected_t = projected[:, p].index_select(0, read).split(per_step)  # (m, context_dim) per step
            gates_t = gates[:, p : p + 1].index_select(0, read).split(per_step) if gates is not None else None  # (m, 1)
            slots_t = slot.split(per_step)
            context = states.new_zeros(sizes[0], d)  # (n_docs, d), documents longest first: sum of vectors read
            vectors_out, weights_out = [], []
            for t, k in enumerate(sizes):
                slots = slots_t[t]  # (m,) the sentence slot of each of the step's m words
                c = context[:k] if self.aggregate == "sum" else context[:k] / max(t, 1)  # (k, d)
                from_c = (c @ self.from_context[p]).index_select(0, slots)  # (m, context_dim): W_c c of its sentence
                if gates_t is not None:
                    keep = torch.sigmoid(gates_t[t] + (c @ self.gate_context[p]).index_select(0, slots))  # (m, 1)
                    u = torch.tanh(keep * projected_t[t] + (1 - keep) * from_c + self.bias[p, 0])  # (m, cdim)
                else:
                    u = torch.tanh(projected_t[t] + from_c + self.bias[p, 0])  # (m, context_dim)
                scores = (u @ self.context[p]).squeeze(1)  # (m,): u . u_w
                w = segment_softmax(scores, slots, k)  # (m,) a distribution over each sentence's words
                vectors = states.new_zeros(k, d).index_add(0, slots, w.unsqueeze(1) * states_t[t])  # (k, d)
                context = _add_read(context, vectors)
                vectors_out.append(vectors)
                weights_out.append(w)
            pooled.append(states.new_zeros(n, d).index_copy(0, order, torch.cat(vectors_out)))  # (n, d)
            word_weights = states.new_zeros(n * T).index_copy(0, position.index_select(0, read), torch.cat(weights_out))
            weights.append(word_weights.view(n, T))  # (n, T), 0 at padding
        return torch.stack(pooled), torch.stack(weights)  # (P, n, d), (P, n, T) in input order


def word_reading_order(
    row: torch.Tensor, counts: torch.Tensor, backwards: bool
) -> tuple[torch.Tensor, list[int], torch.Tensor, torch.Tensor, list[int]]:
    """`reading_order` for the words: row (k,) the sentence of each real word; counts (n_docs,).

    Returns the sentences' reading order (n,) and sentences per step (as `reading_order`), then the words in
    reading order (k,) (a sentence's words together, in their order), each one's sentence slot among its step's
    sentences (k,), and the words read at each step."""
    order, sizes = reading_order(counts.cpu(), backwards)  # (n,) rows in reading order
    device, n = row.device, len(order)
    order, per_sentence_step = order.to(device), torch.tensor(sizes, device=device)  # (n,), (steps,)
    step_of = torch.repeat_interleave(torch.arange(len(sizes), device=device), per_sentence_step)  # (n,) per rank
    first = torch.cumsum(per_sentence_step, 0) - per_sentence_step  # (steps,) first rank read at each step
    rank = torch.empty_like(order).index_copy_(0, order, torch.arange(n, device=device))  # (n,) of each row
    word_rank = rank[row]  # (k,) the reading rank of each word's sentence
    read = torch.argsort(word_rank, stable=True)  # (k,) words in reading order, a sentence's together
    word_step = step_of[word_rank[read]]  # (k,) the step that reads each word, in reading order
    slot = word_rank[read] - first[word_step]  # (k,) its sentence among the step's (0 .. sizes[t] - 1)
    return order, sizes, read, slot, torch.bincount(word_step, minlength=len(sizes)).tolist()


def segment_softmax(scores: torch.Tensor, segment: torch.Tensor, segments: int) -> torch.Tensor:
    """Softmax of scores (m,) within each segment: segment (m,) gives each score's, 0 .. segments - 1."""
    top = scores.new_full((segments,), float("-inf")).scatter_reduce(0, segment, scores.detach(), "amax")
    e = torch.exp(scores - top.index_select(0, segment))  # (m,) minus a constant per segment: the same softmax
    return e / e.new_zeros(segments).index_add(0, segment, e).index_select(0, segment)  # (m,)


def _add_read(context: torch.Tensor, vectors: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """The context after a step: the k vectors just read added to the first k documents' (the ones still being
    read), out of place, so that gradients flow through the context."""
    k = vectors.size(dim)
    if k == context.size(dim):
        return context + vectors
    return torch.cat([context.narrow(dim, 0, k) + vectors, context.narrow(dim, k, context.size(dim) - k)], dim=dim)


def reading_order(counts: torch.Tensor, backwards: bool) -> tuple[torch.Tensor, list[int]]:
    """Rows of the sentences in the order they are read, step by step, and how many are read at each step.

    Documents are taken longest first, so the documents still being read at step t are always the first
    sizes[t] (as in a packed sequence): the context is then a prefix of one (n_docs, d) tensor.
    """
    starts = torch.cumsum(counts, 0) - counts  # (n_docs,) first row of each document
    longest = torch.argsort(counts, descending=True, stable=True)  # (n_docs,)
    steps = int(counts.max())
    sizes = [int((counts > t).sum()) for t in range(steps)]
    order = []
    for t, k in enumerate(sizes):
        docs = longest[:k]  # (k,)
        order.append(starts[docs] + (counts[docs] - 1 - t if backwards else t))
    return torch.cat(order), sizes


def _override_rows(
    override: WeightOverride, weights: torch.Tensor, rows: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Apply a whole-batch override to the rows being read now: the others are passed as all-zero rows."""
    full = weights.new_zeros(mask.shape).index_copy(0, rows, weights)  # (n, T)
    current = torch.zeros_like(mask).index_copy(0, rows, mask[rows])  # (n, T): only the rows read now
    return override(full, current)[rows]  # (k, T)


class CahanPooling(nn.Module):
    """CAHAN's word level: context attention read forwards (left), or forwards and backwards (bi), concatenated."""

    def __init__(self, input_dim: int, context_dim: int, direction: str, aggregate: str, gate: bool) -> None:
        super().__init__()
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown context direction {direction!r}; choose from {', '.join(DIRECTIONS)}")
        self.attention = ContextAttention(input_dim, context_dim, aggregate, gate, 2 if direction == "bi" else 1)
        self.output_dim = input_dim * self.attention.passes  # the sentence vector's size
        self.override: WeightOverride | None = None  # as Pooling.override: applied to each pass's weights
        self.head_weights: torch.Tensor | None = None  # (n, T, passes) of the last forward pass
        self.penalty: torch.Tensor | None = None  # no penalty: the passes read different contexts

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor, counts: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # h: (n, T, d); mask: (n, T); counts: (n_docs,) sentences per document (None: all one document)
        counts = torch.tensor([h.size(0)]) if counts is None else counts
        return self._combine(*self.attention(h, mask, counts, self.override))  # from (P, n, d), (P, n, T)

    def forward_tokens(
        self, states: torch.Tensor, position: torch.Tensor, shape: tuple[int, int], counts: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`forward` from the real words' states (k, d) at `position` (k,) of the flattened (n, T) `shape`, what
        the word encoder calls: no padded states in training and inference. With an override (faithfulness
        tests, which change weights in the (n, T) layout) the padded path runs instead."""
        if self.override is not None:
            return self.forward(*pad(states, position, shape), counts)
        counts = torch.tensor([shape[0]]) if counts is None else counts
        return self._combine(*self.attention.forward_tokens(states, position, shape, counts))

    def _combine(self, vectors: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(passes, n, d) vectors and (passes, n, T) weights -> the sentence vectors and the passes' mean weights."""
        self.head_weights = weights.permute(1, 2, 0)  # (n, T, passes)
        pooled = torch.cat(list(vectors), dim=-1)  # (n, passes * d): before, then after
        return pooled, self.head_weights.mean(dim=-1)  # (n, T): the passes' mean, a distribution
