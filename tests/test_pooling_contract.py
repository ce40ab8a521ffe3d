"""What pooling (han/nn/pooling.py) promises beyond the real-positions path of tests/test_pooling.py: the padded
entry, TaSc's scale, weight overrides (faithfulness tests), the temperature, two concatenated heads, the penalty,
the parameters' layout and initialisation, and its refusals.

Every expectation is computed here from the formulas, on the padded (n, T, d) states. Each test fails on a mutant
that survived tests/test_pooling.py and tests/test_model.py (scripts/mutation.py pooling).
"""

from __future__ import annotations

import pytest
import torch

from han.nn.pooling import Pooling

SETTINGS = [("att", 1, "mean"), ("att", 3, "mean"), ("att", 2, "concat"), ("ave", 1, "mean"), ("max", 1, "mean")]
N, T, D = 4, 6, 5  # n != T != d: a tensor stacked or summed along the wrong axis has the wrong shape
NEEDS_ATTENTION = "a score function and a temperature need attention pooling (variant att), not "
LENGTHS = torch.tensor([6, 2, 4, 3])  # every row holds >= 2 real positions (an override drops the first)


def batch(seed: int = 0, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    mask = torch.arange(T) < LENGTHS.unsqueeze(1)  # (n, T)
    return torch.randn(N, T, D, dtype=dtype).masked_fill(~mask.unsqueeze(-1), 0.0), mask


def head_weights(pool: Pooling, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(n, T, r) attention of each head: softmax over the real positions of tanh(W h + b) . u_ctx / temperature."""
    if pool.variant == "ave":
        return (mask.float() / mask.sum(dim=1, keepdim=True)).unsqueeze(-1)
    assert pool.project is not None
    scores = torch.tanh(pool.project(h)) @ pool.context.view(pool.heads, -1).T / pool.temperature  # (n, T, r)
    return scores.masked_fill(~mask.unsqueeze(-1), float("-inf")).softmax(dim=1)


def pooled_by_hand(pool: Pooling, h: torch.Tensor, heads: torch.Tensor, scale: torch.Tensor | None = None):
    """(n, d): sum_t A_rt s_t h_t per head, then the heads' mean or their concatenation through the merge."""
    weights = heads if scale is None else heads * scale.unsqueeze(-1)  # (n, T, r)
    per_head = torch.einsum("ntr,ntd->nrd", weights, h)  # (n, r, d)
    return pool.merge(per_head.flatten(1)) if pool.combine == "concat" and pool.heads > 1 else per_head.mean(1)


def uniform(weights: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return mask.to(weights.dtype) / mask.sum(dim=1, keepdim=True)


def drop_first(weights: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The weights with each row's first position zeroed and the rest renormalised (ERASER's erasure)."""
    kept = weights.clone()
    kept[:, 0] = 0
    return kept / kept.sum(dim=1, keepdim=True)


@pytest.mark.parametrize("variant,heads,combine", SETTINGS)
def test_the_padded_entry_computes_the_textbook_pooling(variant, heads, combine):
    h, mask = batch()
    pool = Pooling(variant, D, 3, heads, combine)
    pooled, weights = pool(h, mask)
    if variant == "max":
        expected = h.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(dim=1).values
        assert torch.equal(pooled, expected)
        return
    attention = head_weights(pool, h, mask)
    assert torch.allclose(weights, attention.mean(dim=-1), atol=1e-6) and bool((weights[~mask] == 0).all())
    assert torch.allclose(pooled, pooled_by_hand(pool, h, attention), atol=1e-6)


@pytest.mark.parametrize("variant,heads", [("att", 1), ("att", 3), ("ave", 1)])
def test_tasc_scale_multiplies_each_weight_in_the_pooled_sum_and_leaves_the_weights_shown(variant, heads):
    h, mask = batch(1)
    scale = torch.rand(N, T) * 3 - 1  # TaSc's scalars: any sign
    pool = Pooling(variant, D, 3, heads)
    pooled, weights = pool(h, mask, scale=scale)
    attention = head_weights(pool, h, mask)
    assert torch.allclose(pooled, pooled_by_hand(pool, h, attention, scale), atol=1e-6)
    assert torch.allclose(weights, attention.mean(dim=-1), atol=1e-6)  # the attention's, not the scaled ones


@pytest.mark.parametrize("variant,heads,combine", SETTINGS)
@pytest.mark.parametrize("override", [uniform, drop_first])
def test_a_weight_override_replaces_every_heads_weights_in_both_entries(variant, heads, combine, override):
    h, mask = batch(2)
    pool = Pooling(variant, D, 3, heads, combine)
    plain_max = h.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(dim=1).values  # (n, d)
    if variant == "max":  # the override sees each position's share of the maxima; one it weighs 0 leaves the max
        shares = ((h == plain_max.unsqueeze(1)) & mask.unsqueeze(-1)).float().mean(dim=-1)  # (n, T)
        kept = mask & (override(shares, mask) > 0)
        expected = h.masked_fill(~kept.unsqueeze(-1), float("-inf")).max(dim=1).values
        assert override is uniform or not torch.equal(expected, plain_max)  # the first positions held maxima
    else:
        attention = head_weights(pool, h, mask)
        changed = torch.stack([override(attention[..., k], mask) for k in range(heads)], dim=-1)  # (n, T, r)
        expected = pooled_by_hand(pool, h, changed)
        expected_weights = changed.mean(dim=-1)
    pool.override = override
    position = mask.flatten().nonzero().squeeze(1)
    for pooled, weights in (pool(h, mask), pool.forward_tokens(h.flatten(0, 1)[position], position, (N, T))):
        assert torch.allclose(pooled, expected, atol=1e-6)
        if variant != "max":
            assert torch.allclose(weights, expected_weights, atol=1e-6)


def test_the_temperature_divides_the_scores_before_the_softmax():
    h, mask = batch(3)
    pool = Pooling("att", D, 3, temperature=4.0)
    _, weights = pool(h, mask)
    assert torch.allclose(weights, head_weights(pool, h, mask)[..., 0], atol=1e-6)
    pool.temperature = 1.0
    assert not torch.allclose(weights, pool(h, mask)[1], atol=1e-3)  # a temperature that changes something


def test_dot_scores_take_a_context_vector_of_the_states_size():
    h, mask = batch(4)
    pool = Pooling("att", D, 3, score="dot")
    assert pool.context.shape == (D,) and pool.project is None
    expected = (h @ pool.context).masked_fill(~mask, float("-inf")).softmax(dim=1)  # (n, T)
    assert torch.allclose(pool(h, mask)[1], expected, atol=1e-6)


def test_the_penalty_is_the_mean_over_documents_of_the_squared_frobenius_norm_of_aat_minus_i():
    h, mask = batch(5)
    pool = Pooling("att", D, 3, heads=3)
    pool(h, mask)
    a = head_weights(pool, h, mask).transpose(1, 2)  # (n, r, T)
    per_document = [((a[i] @ a[i].T - torch.eye(3)) ** 2).sum() for i in range(N)]
    assert pool.penalty is not None and torch.allclose(pool.penalty, torch.stack(per_document).mean(), atol=1e-6)
    single = Pooling("att", D, 3)
    single(h, mask)
    assert single.penalty is not None and single.penalty.item() == 0.0  # one distribution is not penalised


def test_one_head_keeps_hn_att_parameter_layout_and_heads_stack_their_context_vectors():
    # shipped HN-ATT checkpoints hold a (context_dim,) u_ctx: one head must load them as they are
    one = Pooling("att", D, 3)
    assert {k: tuple(v.shape) for k, v in one.state_dict().items()} == {
        "context": (3,),
        "project.weight": (3, D),
        "project.bias": (3,),
    }
    assert tuple(Pooling("att", D, 3, heads=4).context.shape) == (4, 3)
    assert tuple(Pooling("att", D, 3, heads=2, combine="concat").merge.weight.shape) == (D, 2 * D)


def test_context_vectors_start_uniform_in_plus_minus_a_tenth():
    torch.manual_seed(0)
    context = Pooling("att", D, 100, heads=8).context.detach()  # 800 draws
    assert context.abs().max() <= 0.1 and context.min() < -0.095 and context.max() > 0.095
    assert abs(float(context.mean())) < 0.01


def test_average_pooling_in_float64_weighs_each_real_position_one_over_the_length():
    h, mask = batch(6, torch.float64)
    pooled, weights = Pooling("ave", D, 3)(h, mask)
    assert weights.dtype == torch.float64 and pooled.dtype == torch.float64
    assert torch.equal(weights, mask.double() / LENGTHS.double().unsqueeze(1))


@pytest.mark.parametrize(
    "args,kwargs,message",
    [
        (("sum",), {}, "unknown pooling 'sum'; choose from att, ave, max"),
        (("ave",), {"heads": 2}, "several heads need attention pooling (variant att) and heads >= 1"),
        (("att",), {"heads": 0}, "several heads need attention pooling (variant att) and heads >= 1"),
        (("att",), {"heads": 2, "combine": "max"}, "unknown head combination 'max'; choose from mean, concat"),
        (("ave",), {"score": "dot"}, NEEDS_ATTENTION + "ave"),
        (("max",), {"temperature": 2.0}, NEEDS_ATTENTION + "max"),
    ],
)
def test_settings_pooling_cannot_run_are_refused_saying_why(args, kwargs, message):
    with pytest.raises(ValueError) as refused:
        Pooling(args[0], D, 3, **kwargs)
    assert str(refused.value) == message


def test_scores_and_temperatures_are_accepted_with_attention():
    assert Pooling("att", D, 3, score="scaled-dot", temperature=0.5).temperature == 0.5
