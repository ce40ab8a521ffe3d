"""The BiGRU's hand-written backward pass (han/nn/gru.py) and its cuDNN-layout path, against autograd."""

from __future__ import annotations

from typing import cast

import pytest
import torch
from torch.func import functional_call
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from han.data.dataset import collate
from han.nn.gru import BiGRU, Recurrence
from han.nn.level import Encoder
from han.nn.model import HAN, ModelConfig

# unsorted on purpose (pack sorts them), ties, and a sequence of one token
LENGTHS = [4, 1, 3, 4, 2]


def packed_batch(lengths: list[int], input_dim: int, dtype: torch.dtype = torch.float32) -> PackedSequence:
    x = torch.randn(len(lengths), max(lengths), input_dim, dtype=dtype)  # (n, T, input_dim)
    return pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)


def graph_nodes(output: torch.Tensor) -> set[str]:
    """Names of the autograd nodes `output` was computed through."""
    names, stack, seen = set(), [output.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return names


def outputs_and_gradients(gru: BiGRU, packed: PackedSequence, upstream: torch.Tensor, **kwargs):
    """The GRU's output on `packed` and the gradients of (output * upstream).sum() w.r.t. the packed data and
    every parameter."""
    data = packed.data.detach().clone().requires_grad_(True)
    gru.zero_grad()
    out = gru(packed._replace(data=data), **kwargs)
    (out * upstream).sum().backward()
    assert data.grad is not None
    grads = {"inputs": data.grad} | {name: p.grad for name, p in gru.named_parameters() if p.grad is not None}
    return out.detach(), grads


def test_gradcheck_through_the_hand_written_backward():
    """Finite differences in float64 agree with the backward pass, for the inputs and every parameter, on
    sequences of different lengths (one of a single token)."""
    torch.manual_seed(0)
    gru = BiGRU(3, 2).double()
    packed = packed_batch(LENGTHS, 3, torch.float64)
    names = [name for name, _ in gru.named_parameters()]
    assert len(names) == 6  # input_proj weight and bias, w_hh_rz, w_hh_n, b_hh_rz, b_hh_n

    def run(data: torch.Tensor, *parameters: torch.Tensor) -> torch.Tensor:
        return functional_call(gru, dict(zip(names, parameters, strict=True)), (packed._replace(data=data),))

    parameters = (p.detach().clone().requires_grad_(True) for p in gru.parameters())
    inputs = (packed.data.clone().requires_grad_(True), *parameters)
    assert "RecurrenceBackward" in graph_nodes(run(*inputs))  # the Function, not autograd's step-by-step graph
    assert torch.autograd.gradcheck(run, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)
    projected = gru.input_proj(packed.data).detach().requires_grad_(True)  # (tokens, 6H): the HAN's distinct words
    assert torch.autograd.gradcheck(lambda x: gru(packed._replace(data=x), projected=True), (projected,))


def test_hand_written_backward_matches_autograd_on_the_same_loop():
    """Outputs and every gradient equal those of the plain loop recorded by autograd, in float32 at the real
    sizes (H = 50), on a batch of sequences of lengths 1 to 40."""
    torch.manual_seed(1)
    gru = BiGRU(32, 50)
    lengths = [40, 1, 17, 40, 3, 25, 9, 1, 33, 12, 40, 6, 21, 2, 14, 30]
    packed = packed_batch(lengths, 32)
    upstream = torch.randn(int(packed.batch_sizes.sum()), 100)  # d loss / d output, (tokens, 2H)
    assert_backends_agree(gru, packed, upstream, "loop", "autograd")


def assert_backends_agree(gru: BiGRU, packed, upstream: torch.Tensor, backend: str, reference: str) -> None:
    """`backend` gives the outputs and the gradients (inputs and all six parameters) of `reference`."""
    results = {}
    for name in (backend, reference):
        gru.backend = name
        results[name] = outputs_and_gradients(gru, packed, upstream)
    (out, grads), (expected_out, expected_grads) = results[backend], results[reference]
    torch.testing.assert_close(out, expected_out, rtol=1e-5, atol=1e-6)
    assert grads.keys() == expected_grads.keys() and len(grads) == 7  # the inputs and all six parameters
    for name, expected in expected_grads.items():
        torch.testing.assert_close(grads[name], expected, rtol=1e-5, atol=1e-5, msg=name)


def test_the_function_runs_only_when_gradients_are_needed(monkeypatch):
    """Evaluation (no_grad, inference_mode, or nothing requiring grad) runs the plain loop and saves nothing;
    its output is the Function's."""
    calls = []
    function_forward = Recurrence.forward

    def counted(*args):
        calls.append(args)
        return function_forward(*args)

    monkeypatch.setattr(Recurrence, "forward", staticmethod(counted))
    torch.manual_seed(2)
    gru = BiGRU(6, 4)
    packed = packed_batch(LENGTHS, 6)
    trained = gru(packed)
    assert "RecurrenceBackward" in graph_nodes(trained) and len(calls) == 1
    with torch.no_grad():
        evaluated = gru(packed)
    with torch.inference_mode():
        inferred = gru(packed)
    gru.requires_grad_(False)
    frozen = gru(packed)
    assert len(calls) == 1  # none of the three went through the Function
    for out in (evaluated, inferred, frozen):
        assert out.grad_fn is None
        torch.testing.assert_close(out, trained.detach(), rtol=1e-6, atol=1e-7)
    gru.requires_grad_(True).backend = "autograd"
    assert "RecurrenceBackward" not in graph_nodes(gru(packed))


# ----------------------------------------------------------------------------- cuDNN layout


def test_cudnn_layout_gives_our_outputs_and_gradients():
    """`_VF.gru` with our parameters rearranged into nn.GRU's layout (what runs through cuDNN on a GPU; on CPU
    the native kernel) computes our outputs, and its gradients reach our own parameters."""
    torch.manual_seed(3)
    gru = BiGRU(12, 8)
    packed = packed_batch([7, 1, 5, 7, 2, 3], 12)
    upstream = torch.randn(int(packed.batch_sizes.sum()), 16)
    assert_backends_agree(gru, packed, upstream, "cudnn", "loop")
    gru.backend = "cudnn"
    with pytest.raises(ValueError, match="projects its inputs itself"):
        gru(packed._replace(data=gru.input_proj(packed.data)), projected=True)
    gru.backend = "fast"
    with pytest.raises(ValueError, match="unknown GRU backend"):
        gru(packed)


def use_backend(model: HAN, backend: str) -> HAN:
    for gru in (model.word_encoder.gru, cast(Encoder, model.sentence_encoder).gru):
        gru.backend = backend
    return model


def small_han() -> tuple[HAN, list[list[list[int]]]]:
    torch.manual_seed(4)
    model = HAN(ModelConfig(vocab_size=60, n_classes=3, embed_dim=16, word_hidden=8, sentence_hidden=6, context_dim=10))
    generator = torch.Generator().manual_seed(5)
    docs = [
        [torch.randint(2, 60, (int(n),), generator=generator).tolist() for n in torch.randint(1, 12, (s,))]
        for s in (3, 1, 5, 2)
    ]
    return model, docs


def test_han_through_the_cudnn_layout_embeds_every_token():
    """With the cuDNN path, the word GRU gets word vectors (cuDNN projects them itself), not each distinct
    word's projection; logits and every gradient are those of our GRU."""
    model, docs = small_han()
    batch = collate(docs, [0, 2, 1, 0])
    assert batch.labels is not None
    widths: dict[str, list[int]] = {"loop": [], "cudnn": []}  # the word GRU's input width per call
    word_gru = model.word_encoder.gru
    word_gru.register_forward_hook(lambda m, args, out: widths[word_gru.backend].append(args[0].data.size(1)))
    results = {}
    for backend in ("loop", "cudnn"):
        out = use_backend(model, backend).train()(batch)
        model.zero_grad()
        torch.nn.functional.cross_entropy(out.logits, batch.labels).backward()
        grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
        results[backend] = (out.logits.detach(), grads)
    (logits, grads), (vf_logits, vf_grads) = results["loop"], results["cudnn"]
    assert widths == {"loop": [6 * 8], "cudnn": [16]}  # projected distinct words vs every token's embedding
    torch.testing.assert_close(vf_logits, logits, rtol=1e-5, atol=1e-6)
    assert vf_grads.keys() == grads.keys()
    for name, expected in grads.items():
        torch.testing.assert_close(vf_grads[name], expected, rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_han_on_cuda_computes_what_it_computes_on_cpu(monkeypatch):
    """On a GPU the GRUs run through cuDNN (the default "auto" backend): the same logits and gradients as on
    the CPU, within cuDNN's float32 rounding."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # float32 products, as on the CPU
    model, docs = small_han()
    batch = collate(docs, [0, 2, 1, 0])
    assert batch.labels is not None
    results = {}
    for device in ("cpu", "cuda"):
        model.to(device).zero_grad()
        assert model.word_encoder.gru.uses_cudnn(torch.device(device)) == (device == "cuda")
        logits = model.eval()(batch).logits
        torch.nn.functional.cross_entropy(logits, batch.labels.to(device)).backward()
        grads = {name: p.grad.cpu() for name, p in model.named_parameters() if p.grad is not None}
        results[device] = (logits.detach().cpu(), grads)
    (cpu_logits, cpu_grads), (gpu_logits, gpu_grads) = results["cpu"], results["cuda"]
    torch.testing.assert_close(gpu_logits, cpu_logits, rtol=1e-4, atol=1e-5)
    assert gpu_grads.keys() == cpu_grads.keys()
    for name, expected in cpu_grads.items():
        torch.testing.assert_close(gpu_grads[name], expected, rtol=1e-3, atol=1e-5, msg=name)
