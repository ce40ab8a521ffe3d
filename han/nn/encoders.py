"""Sequence encoders other than the GRU, for either level: Transformer, convolutional, or none.

Each maps the real positions of a batch of sequences, (tokens, input_dim) in packed order, to states
(tokens, out_dim) in the same order, out_dim = 2 * hidden like the bidirectional GRU's, so the pooling and
everything after it are unchanged. `position` (tokens,) gives each token's index in the flattened (n, T)
batch-first layout (han/nn/model.py's token_positions).

- transformer (Vaswani et al. 2017): the inputs projected to out_dim, plus a sinusoidal positional encoding,
  through `layers` of PyTorch's own nn.TransformerEncoderLayer (post-norm, ReLU, feed-forward 4 * out_dim,
  no dropout inside: the model's dropout places still apply), each given the key padding mask, so no real
  position attends to padding. With `record` set, each layer's self-attention maps are kept
  (`maps`: per layer (n, heads, T, T), rows of real positions sum to 1 over the real positions, every entry
  in a padding row or column exactly 0).
- conv (after Serrano & Smith 2019's convolutional encoder): two 1-d convolutions over the sequence, of
  widths 3 and 5, hidden channels each, concatenated and through tanh (the GRU states' range). Padding
  positions are zero on the way in and a width-w window reaches w // 2 positions either side, which beyond
  a sequence's end are zeros whether they are padding or the convolution's own zero border: a real position's
  state never depends on how much padding follows it.
The Transformer and the convolution work on padded blocks: rows (sentences, or documents) sorted by length and
cut into blocks of BLOCK rows, each padded only to its own longest row (`in_blocks`). A batch's rows are
mostly padding when padded to its longest (about 6/7 at Yelp's word level), and both encoders' cost grows with
the padded positions; by blocks they compute on little more than the real ones. A real position's state is
the same in any block (tested: padding changes no output).
- none: the (projected) input vectors themselves, Linear(input_dim, out_dim): words (or sentence vectors)
  that no encoder has mixed with their neighbours.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from han.nn.pooling import pad

ENCODERS = ("gru", "transformer", "conv", "none")  # --encoder's choices; gru = the paper's (han/nn/gru.py)
ENCODER_LEVELS = ("word", "sentence", "both")  # --encoder-at's choices
CONV_WIDTHS = (3, 5)  # the convolutional encoder's two kernel widths (odd: a window centred on its word)
FEED_FORWARD = 4  # the Transformer's feed-forward size, times out_dim (Vaswani et al.: 2048 = 4 x 512)
BLOCK = 64  # rows of similar length padded together (see `in_blocks`)


def check_encoder(encoder: str, at: str, layers: int, heads: int, dims: list[int]) -> None:
    """ValueError for settings no encoder can build; `dims`: out_dim at each level the encoder is used."""
    if encoder not in ENCODERS:
        raise ValueError(f"unknown encoder {encoder!r}; choose from {', '.join(ENCODERS)}")
    if at not in ENCODER_LEVELS:
        raise ValueError(f"unknown encoder level {at!r}; choose from {', '.join(ENCODER_LEVELS)}")
    if layers < 1:
        raise ValueError(f"the Transformer needs at least one layer, not {layers}")
    if heads < 1:
        raise ValueError(f"the Transformer needs at least one attention head, not {heads}")
    if encoder == "transformer" and any(d % heads for d in dims):
        raise ValueError(f"{heads} attention heads do not divide the Transformer's size {max(dims)}")


def make_encoder(kind: str, input_dim: int, out_dim: int, layers: int = 1, heads: int = 4) -> nn.Module:
    """The encoder `kind` (not gru: the model builds its BiGRU itself, under the checkpoints' old names)."""
    if kind == "transformer":
        return TransformerEncoder(input_dim, out_dim, layers, heads)
    if kind == "conv":
        return ConvEncoder(input_dim, out_dim)
    if kind == "none":
        return NoEncoder(input_dim, out_dim)
    raise ValueError(f"unknown encoder {kind!r}; choose from {', '.join(ENCODERS[1:])}")


def sinusoid(length: int, dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(length, dim) Vaswani et al.'s positional encoding: sin at even, cos at odd dimensions."""
    position = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)  # (T, 1)
    rate = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device)  # (T, dim)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate[: dim // 2])
    return table.to(dtype)


class TransformerEncoder(nn.Module):
    """Self-attention layers (nn.TransformerEncoderLayer) over the real positions; see the module docstring."""

    def __init__(self, input_dim: int, out_dim: int, layers: int, heads: int) -> None:
        super().__init__()
        self.project = nn.Linear(input_dim, out_dim)
        self.heads = heads
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(out_dim, heads, FEED_FORWARD * out_dim, dropout=0.0, batch_first=True)
            for _ in range(layers)
        )
        self.record = False  # keep the self-attention maps of the next forward passes (slower: no fused path)
        self.maps: list[torch.Tensor] = []  # per layer (n, heads, T, T), of the last forward pass when recording

    def forward(
        self, packed: PackedSequence, position: torch.Tensor, shape: tuple[int, int], projected: bool = False
    ) -> torch.Tensor:
        blocks: list[tuple[torch.Tensor, list[torch.Tensor]]] = []  # (rows, per layer maps) of each block
        states = in_blocks(
            self.project(packed.data), position, shape, lambda x, mask, rows: self._block(x, mask, rows, blocks)
        )
        if self.record:  # every block's maps in one (n, heads, T, T) per layer, 0 wherever a query or key is padding
            n, T = shape
            self.maps = []
            for layer in range(len(self.layers)):
                full = states.new_zeros(n, self.heads, T, T)
                for rows, maps in blocks:
                    width = maps[layer].size(-1)
                    full[rows, :, :width, :width] = maps[layer]
                self.maps.append(full)
        return states  # (tokens, out_dim) in packed order

    def _block(
        self,
        x: torch.Tensor,
        mask: torch.Tensor,
        rows: torch.Tensor,
        blocks: list[tuple[torch.Tensor, list[torch.Tensor]]],
    ) -> torch.Tensor:
        """The layers over one padded block x (g, T_g, out_dim) with its mask (g, T_g); rows: their batch rows."""
        x = x + sinusoid(x.size(1), x.size(-1), x.device, x.dtype)  # padding gets it too: never a key, dropped later
        maps: list[torch.Tensor] = []
        for layer in self.layers:
            assert isinstance(layer, nn.TransformerEncoderLayer)
            hooks = _recording(layer.self_attn, maps) if self.record else []
            try:
                x = layer(x, src_key_padding_mask=~mask)  # (g, T_g, out_dim): real positions never see padding
            finally:
                for hook in hooks:
                    hook.remove()
        if self.record:  # a padding query's row is not part of any document: zero it too
            blocks.append((rows, [m * mask[:, None, :, None].to(m.dtype) for m in maps]))  # (g, heads, T_g, T_g)
        return x


def in_blocks(
    data: torch.Tensor,
    position: torch.Tensor,
    shape: tuple[int, int],
    run: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """`run(x, mask, rows)` on blocks of BLOCK rows of similar length, each padded to its own longest row.

    data (tokens, d) and position (tokens,) as in the module docstring; run gets x (g, T_g, d) zero at padding,
    its mask (g, T_g) and the block's batch rows (g,), and returns (g, T_g, d_out). Returns (tokens, d_out) in the
    order of `data`. A row's positions keep their columns (a word stays at its place in its sentence)."""
    n, T = shape
    row = torch.div(position, T, rounding_mode="floor")  # (tokens,)
    column = position - row * T  # (tokens,)
    lengths = torch.bincount(row, minlength=n)  # (n,) real positions per row
    order = torch.argsort(lengths, descending=True, stable=True)  # (n,) rows, longest first
    rank = torch.empty_like(order)
    rank[order] = torch.arange(n, device=order.device)  # (n,) each row's place in `order`
    tokens = torch.argsort(rank[row] * T + column)  # (tokens,) grouped by block, then row, then column
    sizes = [int(lengths[order[start : start + BLOCK]].sum()) for start in range(0, n, BLOCK)]  # tokens per block
    pieces = []
    for start, taken in zip(range(0, n, BLOCK), tokens.split(sizes), strict=True):
        rows = order[start : start + BLOCK]  # (g,)
        width = int(lengths[rows[0]])  # T_g: the block's longest row
        local = (rank[row[taken]] - start) * width + column[taken]  # (k_g,) places in the (g, T_g) block
        x, mask = pad(data.index_select(0, taken), local, (len(rows), width))  # (g, T_g, d), (g, T_g)
        pieces.append(run(x, mask, rows).flatten(0, 1).index_select(0, local))  # (k_g, d_out)
    out = torch.cat(pieces)  # (tokens, d_out) in the order of `tokens`
    return out.new_empty(out.shape).index_copy(0, tokens, out)  # (tokens, d_out) in the order of `data`


def _recording(attention: nn.MultiheadAttention, maps: list[torch.Tensor]) -> list[Any]:
    """Hooks that make `attention` return each head's weights and append them to `maps` (n, heads, T, T).

    A hooked layer takes PyTorch's unfused path (the fused inference path skips modules with hooks), which
    computes the same layer."""

    def ask(module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        return args, {**kwargs, "need_weights": True, "average_attn_weights": False}

    def keep(module: nn.Module, args: tuple, kwargs: dict, output: tuple) -> None:
        maps.append(output[1].detach())

    return [
        attention.register_forward_pre_hook(ask, with_kwargs=True),
        attention.register_forward_hook(keep, with_kwargs=True),
    ]


class ConvEncoder(nn.Module):
    """Two convolutions of widths CONV_WIDTHS, out_dim / 2 channels each, concatenated, tanh."""

    def __init__(self, input_dim: int, out_dim: int) -> None:
        super().__init__()
        channels = out_dim // len(CONV_WIDTHS)
        self.convolutions = nn.ModuleList(nn.Conv1d(input_dim, channels, w, padding=w // 2) for w in CONV_WIDTHS)

    def forward(
        self, packed: PackedSequence, position: torch.Tensor, shape: tuple[int, int], projected: bool = False
    ) -> torch.Tensor:
        return in_blocks(packed.data, position, shape, self._block)  # (tokens, out_dim) in packed order

    def _block(self, x: torch.Tensor, mask: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """(g, T_g, input_dim), exactly 0 at padding -> (g, T_g, out_dim)."""
        x = x.transpose(1, 2)  # (g, input_dim, T_g): channels first
        out = torch.tanh(torch.cat([conv(x) for conv in self.convolutions], dim=1))  # (g, out_dim, T_g)
        return out.transpose(1, 2)


class NoEncoder(nn.Module):
    """No encoder: each position's own input vector, projected to out_dim."""

    def __init__(self, input_dim: int, out_dim: int) -> None:
        super().__init__()
        self.project = nn.Linear(input_dim, out_dim)

    def forward(
        self, packed: PackedSequence, position: torch.Tensor, shape: tuple[int, int], projected: bool = False
    ) -> torch.Tensor:
        return self.project(packed.data)  # (tokens, out_dim) in packed order
