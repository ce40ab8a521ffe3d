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
- none: the (projected) input vectors themselves, Linear(input_dim, out_dim): words (or sentence vectors)
  that no encoder has mixed with their neighbours.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from han.nn.pooling import pad

ENCODERS = ("gru", "transformer", "conv", "none")  # --encoder's choices; gru = the paper's (han/nn/gru.py)
ENCODER_LEVELS = ("word", "sentence", "both")  # --encoder-at's choices
CONV_WIDTHS = (3, 5)  # the convolutional encoder's two kernel widths (odd: a window centred on its word)
FEED_FORWARD = 4  # the Transformer's feed-forward size, times out_dim (Vaswani et al.: 2048 = 4 x 512)


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
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(out_dim, heads, FEED_FORWARD * out_dim, dropout=0.0, batch_first=True)
            for _ in range(layers)
        )
        self.record = False  # keep the self-attention maps of the next forward passes (slower: no fused path)
        self.maps: list[torch.Tensor] = []  # per layer (n, heads, T, T), of the last forward pass when recording

    def forward(
        self, packed: PackedSequence, position: torch.Tensor, shape: tuple[int, int], projected: bool = False
    ) -> torch.Tensor:
        x, mask = pad(self.project(packed.data), position, shape)  # (n, T, out_dim), (n, T)
        x = x + sinusoid(shape[1], x.size(-1), x.device, x.dtype)  # padding rows get it too: never a key, dropped below
        maps: list[torch.Tensor] = []
        for layer in self.layers:
            assert isinstance(layer, nn.TransformerEncoderLayer)
            hooks = _recording(layer.self_attn, maps) if self.record else []
            try:
                x = layer(x, src_key_padding_mask=~mask)  # (n, T, out_dim): real positions never see padding
            finally:
                for hook in hooks:
                    hook.remove()
        if self.record:  # a padding query's row is not part of any document: zero it too
            self.maps = [m * mask[:, None, :, None].to(m.dtype) for m in maps]  # per layer (n, heads, T, T)
        return x.flatten(0, 1).index_select(0, position)  # (tokens, out_dim) in packed order


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
        x, _ = pad(packed.data, position, shape)  # (n, T, input_dim), exactly 0 at padding
        x = x.transpose(1, 2)  # (n, input_dim, T): channels first
        out = torch.tanh(torch.cat([conv(x) for conv in self.convolutions], dim=1))  # (n, out_dim, T)
        return out.transpose(1, 2).flatten(0, 1).index_select(0, position)  # (tokens, out_dim) in packed order


class NoEncoder(nn.Module):
    """No encoder: each position's own input vector, projected to out_dim."""

    def __init__(self, input_dim: int, out_dim: int) -> None:
        super().__init__()
        self.project = nn.Linear(input_dim, out_dim)

    def forward(
        self, packed: PackedSequence, position: torch.Tensor, shape: tuple[int, int], projected: bool = False
    ) -> torch.Tensor:
        return self.project(packed.data)  # (tokens, out_dim) in packed order
