"""Pooling from the real positions alone (what the encoders call) against the textbook padded computation."""

from __future__ import annotations

import pytest
import torch

from han.nn.pooling import Pooling, pad

SETTINGS = [("att", 1, "mean"), ("att", 3, "mean"), ("att", 3, "concat"), ("ave", 1, "mean"), ("max", 1, "mean")]


def padded_reference(pool: Pooling, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The formulas on the whole (n, T, d) tensor, padding masked out: (n, d) pooled vectors and (n, T) weights."""
    if pool.variant == "max":
        pooled = h.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(dim=1).values  # (n, d)
        wins = (h == pooled.unsqueeze(1)) & mask.unsqueeze(-1)  # (n, T, d)
        return pooled, wins.float().mean(dim=-1)
    if pool.variant == "ave":
        weights = mask.float() / mask.sum(dim=1, keepdim=True)  # (n, T)
        return (weights.unsqueeze(-1) * h).sum(dim=1), weights
    assert pool.project is not None  # additive scores: W, b
    u = torch.tanh(pool.project(h))  # (n, T, context_dim)
    scores = u @ pool.context.view(pool.heads, -1).T  # (n, T, r)
    heads = scores.masked_fill(~mask.unsqueeze(-1), float("-inf")).softmax(dim=1)  # (n, T, r)
    per_head = torch.einsum("ntr,ntd->nrd", heads, h)  # (n, r, d)
    pooled = pool.merge(per_head.flatten(1)) if pool.combine == "concat" and pool.heads > 1 else per_head.mean(1)
    return pooled, heads.mean(dim=-1)


@pytest.mark.parametrize("variant,heads,combine", SETTINGS)
def test_pooling_the_real_positions_equals_the_padded_computation_with_gradients(variant, heads, combine):
    torch.manual_seed(0)
    n, T, d = 5, 7, 6
    pool = Pooling(variant, d, 4, heads, combine)
    lengths = torch.tensor([7, 1, 4, 7, 2])  # rows of several lengths, one of a single position
    mask = torch.arange(T) < lengths.unsqueeze(1)  # (n, T)
    h = torch.randn(n, T, d).masked_fill(~mask.unsqueeze(-1), 0.0).requires_grad_()
    position = mask.flatten().nonzero().squeeze(1)  # (k,) real positions of the flattened (n, T)
    states = h.detach().flatten(0, 1)[position].clone().requires_grad_()  # (k, d)

    pooled, weights = pool.forward_tokens(states, position, (n, T))
    expected_pooled, expected_weights = padded_reference(pool, h, mask)
    assert torch.allclose(pooled, expected_pooled, atol=1e-6)
    assert torch.allclose(weights, expected_weights, atol=1e-6)
    assert bool((weights[~mask] == 0).all())

    probe = torch.randn_like(pooled)
    params = [p for p in pool.parameters()]
    ours = torch.autograd.grad((pooled * probe).sum(), [states, *params], allow_unused=True)
    reference = torch.autograd.grad((expected_pooled * probe).sum(), [h, *params], allow_unused=True)
    assert torch.allclose(ours[0], reference[0].flatten(0, 1)[position], atol=1e-6)  # gradients of the states
    names = [name for name, _ in pool.named_parameters()]
    assert variant != "att" or all(g is not None for g in ours[1:])  # attention trains every parameter it has
    for name, mine, theirs in zip(names, ours[1:], reference[1:], strict=True):
        assert (mine is None) == (theirs is None), name  # the same parameters take part in both computations
        if mine is not None:
            assert torch.allclose(mine, theirs, atol=1e-6), name  # and receive the same gradient


@pytest.mark.parametrize("variant,heads,combine", SETTINGS)
def test_padded_entry_ignores_whatever_sits_at_padding(variant, heads, combine):
    torch.manual_seed(1)
    pool = Pooling(variant, 6, 4, heads, combine)
    mask = torch.arange(5) < torch.tensor([5, 2, 3]).unsqueeze(1)  # (3, 5)
    h = torch.randn(3, 5, 6).masked_fill(~mask.unsqueeze(-1), 0.0)
    noisy = h.masked_fill(~mask.unsqueeze(-1), 1e3)  # padding states that would dominate if they leaked
    clean_pooled, clean_weights = pool(h, mask)
    noisy_pooled, noisy_weights = pool(noisy, mask)
    assert torch.allclose(clean_pooled, noisy_pooled) and torch.equal(clean_weights, noisy_weights)


def test_max_from_the_real_positions_breaks_ties_as_the_padded_max_does():
    """Exact ties (a word repeated in the same context, saturated states): the first position wins a dimension,
    its pooled value and its gradient, as argmax and max over the padded states pick it; tokens come in packed
    (time-major) order, as the encoder gives them."""
    torch.manual_seed(2)
    n, T, d = 6, 8, 5
    lengths = torch.tensor([8, 1, 5, 8, 2, 3])
    mask = torch.arange(T) < lengths.unsqueeze(1)  # (n, T)
    position = mask.flatten().nonzero().squeeze(1)  # (k,) in row-major order
    position = position[torch.argsort(position % T * n + position // T)]  # time-major, as packed data is
    states = torch.randint(-1, 2, (len(position), d)).float().requires_grad_()  # values -1, 0, 1: many ties
    pool = Pooling("max", d, 4)
    pooled, weights = pool.forward_tokens(states, position, (n, T))
    h, real = pad(states, position, (n, T))
    expected_pooled, expected_weights = pool._max(h, real)  # the padded computation
    assert torch.equal(pooled, expected_pooled) and torch.equal(weights, expected_weights)
    assert torch.allclose(weights.sum(dim=1), torch.ones(n))  # each dimension won by exactly one position
    probe = torch.randn(n, d)
    ours = torch.autograd.grad((pooled * probe).sum(), states)[0]
    reference = torch.autograd.grad((expected_pooled * probe).sum(), states)[0]
    assert torch.equal(ours, reference)
