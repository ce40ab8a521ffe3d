"""Score functions of attention pooling against its learned context vector u_ctx (the query).

For the states h (k, d) of the k real positions, one score per position and head:

    additive    s = u_ctx . tanh(W h + b)       Bahdanau et al. 2015 (concat); the paper's eq. 5-6 (HN-ATT)
    dot         s = u_ctx . h                   Luong et al. 2015; u_ctx has the states' size d
    scaled-dot  s = u_ctx . h / sqrt(d)         Vaswani et al. 2017
    general     s = u_ctx . (W h)               Luong et al. 2015 (bilinear h^T W^T u_ctx); W has no bias
    cosine      s = cos(h, u_ctx)               Graves et al. 2014 (content-based); in [-1, 1]

then every score is divided by the temperature T (Sun & Lu 2020's lambda in a_j = h_j^T V / lambda; T = 1
changes nothing) before the softmax over the real positions (han/nn/pooling.py), so padding never scores.
`additive` with T = 1 runs exactly the operations HN-ATT always ran: its outputs are bit-identical.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SCORES = ("additive", "dot", "scaled-dot", "general", "cosine")  # --score's choices; additive is the paper's
PROJECTED = ("additive", "general")  # the scores that map h through W first (u_ctx then has context_dim entries)


def check_score(score: str, temperature: float) -> None:
    """ValueError for an unknown score function or a temperature that is not a positive finite number."""
    if score not in SCORES:
        raise ValueError(f"unknown score function {score!r}; choose from {', '.join(SCORES)}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"the attention temperature must be a positive number, not {temperature}")


def context_size(score: str, input_dim: int, context_dim: int) -> int:
    """The size of u_ctx: the projection's (context_dim) for additive and general, else the states' (input_dim)."""
    return context_dim if score in PROJECTED else input_dim


def make_projection(score: str, input_dim: int, context_dim: int) -> nn.Linear | None:
    """W (and b for additive) of the scores that project the states first; None for the others."""
    if score not in PROJECTED:
        return None
    return nn.Linear(input_dim, context_dim, bias=score == "additive")


def attention_scores(
    score: str,
    states: torch.Tensor,
    context: torch.Tensor,
    project: nn.Module | None = None,
    temperature: float = 1.0,
) -> torch.Tensor:
    """(k, r) scores of the states (k, d) against r context vectors `context` (r, c); see the module docstring.

    `project` is W (additive, general); c = its output size for those, d for the others."""
    if score == "additive":
        assert project is not None
        raw = torch.tanh(project(states)) @ context.T  # (k, r): HN-ATT's u = tanh(W h + b), u . u_ctx
    elif score == "general":
        assert project is not None
        raw = project(states) @ context.T  # (k, r)
    elif score == "dot":
        raw = states @ context.T  # (k, r)
    elif score == "scaled-dot":
        raw = states @ context.T / math.sqrt(states.size(-1))  # (k, r)
    elif score == "cosine":
        raw = F.normalize(states, dim=-1) @ F.normalize(context, dim=-1).T  # (k, r), a zero state scores 0
    else:
        raise ValueError(f"unknown score function {score!r}; choose from {', '.join(SCORES)}")
    return raw if temperature == 1.0 else raw / temperature  # T = 1: not even a division (bit-identical)
