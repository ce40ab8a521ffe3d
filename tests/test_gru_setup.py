"""The BiGRU's set-up (han/nn/gru.py): nn.GRU's initialisation, the backend a device gets, its refusals.

tests/test_gru.py checks the recurrence itself (gradcheck, autograd, the cuDNN layout); these pin what those
tests take as given, and each fails on a mutant that survived them (scripts/mutation.py gru).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from han.nn.gru import BiGRU


@pytest.mark.parametrize("hidden", [8, 50])
def test_every_parameter_starts_uniform_in_plus_minus_one_over_sqrt_hidden_as_nn_gru(hidden):
    torch.manual_seed(0)
    bound = 1 / math.sqrt(hidden)
    reference = torch.nn.GRU(20, hidden, bidirectional=True)  # nn.GRU's own draw: U(-bound, bound)
    assert all(p.abs().max() <= bound for p in reference.parameters())
    gru = BiGRU(20, hidden)
    values = torch.cat([p.detach().flatten() for p in gru.parameters()])  # every weight and bias
    assert values.numel() == sum(p.numel() for p in reference.parameters())  # the same parameters, laid out anew
    assert values.abs().max() <= bound  # inside nn.GRU's interval...
    assert values.min() < -0.95 * bound and values.max() > 0.95 * bound  # ...filling both of its ends
    assert abs(float(values.mean())) < 0.05 * bound  # centred: a U(0, bound) draw has mean bound / 2
    for name, parameter in gru.named_parameters():  # none left at torch.empty's garbage or a constant
        assert parameter.detach().std() > 0.4 * bound, name


@pytest.mark.parametrize(
    ("backend", "device", "cudnn"),
    [
        ("auto", "cuda", True),
        ("auto", "cpu", False),
        ("cudnn", "cpu", True),
        ("cudnn", "cuda", True),
        ("loop", "cuda", False),
        ("autograd", "cuda", False),
        ("loop", "cpu", False),
    ],
)
def test_auto_takes_cudnn_on_a_cuda_device_only_and_a_named_backend_is_obeyed(backend, device, cudnn):
    # torch.device("cuda") is only a name: no GPU is needed to ask which path inputs there would take
    assert BiGRU(4, 3, backend=backend).uses_cudnn(torch.device(device)) is cudnn


def test_an_unknown_backend_is_refused_with_the_backends_to_choose_from():
    with pytest.raises(ValueError) as refused:
        BiGRU(4, 3, backend="fast").uses_cudnn(torch.device("cpu"))
    assert str(refused.value) == "unknown GRU backend 'fast'; choose from auto, loop, autograd, cudnn"


def test_the_cudnn_backend_refuses_projected_inputs_saying_what_to_give_it():
    gru = BiGRU(4, 3, backend="cudnn")
    packed = pack_padded_sequence(torch.randn(2, 3, 4), torch.tensor([3, 2]), batch_first=True)
    with pytest.raises(ValueError) as refused:
        gru(packed._replace(data=gru.input_proj(packed.data)), projected=True)
    assert str(refused.value) == "the cuDNN GRU projects its inputs itself: give it word vectors, not projections"
