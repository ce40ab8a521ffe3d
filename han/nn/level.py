"""One level of the HAN: a sequence encoder over words (or sentences) and the pooling that weighs them.

The word level and the sentence level are each an `Encoder`; states are kept for the real tokens alone, in packed
order, and `token_positions` places them in the batch-first layout the pooling reads.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from han.nn.cahan import CahanPooling
from han.nn.encoders import make_encoder
from han.nn.gru import BiGRU
from han.nn.pooling import Pooling, pad
from han.nn.tasc import padded_scale, scaled_weights


class Encoder(nn.Module):
    """A bidirectional GRU (or another encoder, `kind`) over packed sequences, followed by masked pooling.

    The GRU is `gru` (the name in every checkpoint); another encoder is `sequence` (han/nn/encoders.py)."""

    gru: BiGRU
    sequence: nn.Module

    def __init__(
        self,
        input_dim: int,
        hidden: int,
        make_pool: Callable[[], Pooling | CahanPooling],
        kind: str = "gru",
        layers: int = 1,
        heads: int = 4,
    ) -> None:
        super().__init__()
        self.kind = kind
        if kind == "gru":
            self.gru = BiGRU(input_dim, hidden)
        else:
            self.sequence = make_encoder(kind, input_dim, 2 * hidden, layers, heads)
        self.pool = make_pool()  # over the 2*hidden states; made after the encoder: seeds give the same weights

    def states(
        self, packed: PackedSequence, position: torch.Tensor, shape: tuple[int, int], projected: bool = False
    ) -> torch.Tensor:
        """(tokens, 2*hidden) states of the real tokens in packed order; position (tokens,) and shape (n, T)
        place each in the batch-first layout (the encoders that are not recurrent work there)."""
        if self.kind == "gru":
            return self.gru(packed, projected)
        return self.sequence(packed, position, shape)

    def forward(
        self,
        packed: PackedSequence,
        max_length: int,
        counts: torch.Tensor | None = None,
        projected: bool = False,
        scale: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # packed: PackedSequence of (tokens, input_dim), or of the GRU's input projections when `projected`
        # max_length: T of the padded output
        # counts: (n_docs,) sentences per document, for CAHAN's word level (rows are documents' sentences in order)
        # scale: (tokens,) TaSc's scalars in packed order (word level of HN-ATT / multi-head only), or None
        position = token_positions(packed, max_length)  # (tokens,) index of each in the flattened (n, T)
        shape = (int(packed.batch_sizes[0]), max_length)  # (n, T)
        states = self.states(packed, position, shape, projected)  # (tokens, 2*hidden) in packed order
        if scale is not None:  # TaSc: the pooled sum weighs each word by alpha_t s_t; weights shown |alpha_t s_t|
            assert isinstance(self.pool, Pooling)  # HAN refuses TaSc with CAHAN's pooling
            pooled, weights = self.pool.forward_tokens(states, position, shape, counts, scale=scale)
            return pooled, scaled_weights(weights, padded_scale(scale, position, shape))
        return self.pool.forward_tokens(states, position, shape, counts)  # real positions alone: (n, pooled), (n, T)


def token_positions(packed: PackedSequence, max_length: int) -> torch.Tensor:
    """(tokens,) the index of each element of packed.data (time-major) in the flattened (n, T) batch-first layout."""
    sizes = packed.batch_sizes  # (T_packed,) on the CPU
    step = torch.repeat_interleave(torch.arange(sizes.numel()), sizes)  # (tokens,)
    sorted_row = torch.arange(int(sizes.sum())) - (torch.cumsum(sizes, 0) - sizes)[step]
    row = sorted_row if packed.sorted_indices is None else packed.sorted_indices.cpu()[sorted_row]
    return (row * max_length + step).to(packed.data.device)  # (tokens,) position in (n * T)


def unpack(packed: PackedSequence, max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """PackedSequence -> zero-padded (n, T, d) batch-first tensor and its (n, T) mask."""
    return pad(packed.data, token_positions(packed, max_length), (int(packed.batch_sizes[0]), max_length))
