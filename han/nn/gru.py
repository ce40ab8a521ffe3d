"""The bidirectional GRU of both levels, over packed sequences, with a hand-written backward pass.

Both directions advance together, one time step at a time: the backward direction reads every
sequence reversed within its own length (`reverse_index`), so at step t the sequences still running
in either direction are the same prefix of k = batch_sizes[t] rows (packed data is sorted longest
first). Per direction d, with x = W_i x_t + b_i (one matmul for all tokens up front):

    r, z = sigmoid(x_rz + h W_rz[d] + b_rz[d])       gates, (k, H) each
    n    = tanh(x_n + r * (h W_n[d] + b_n[d]))       candidate, (k, H)
    h'   = n + z * (h - n)                           = (1 - z) * n + z * h

the equations of `nn.GRU`. Recorded by autograd, a time step costs ~11 autograd nodes in backward,
each with its own temporaries (zero-filled gradients of slices, a weight gradient per step).
Backends (`BiGRU.backend`):

- "auto" (default): "cudnn" on a CUDA device, "loop" elsewhere;
- "loop": when gradients are needed, `Recurrence`, an autograd.Function: its forward keeps the
  gates of all steps in whole tensors, its backward runs one loop of elementwise kernels and one
  small matmul per step, then the weight, bias and input gradients of all steps at once. Without
  gradients (evaluation, inference_mode) `gru_loop` runs and nothing is saved;
- "autograd": `gru_loop` recorded by autograd (the reference the tests and bench/speed.py compare with);
- "cudnn": `torch._VF.gru` (what `nn.GRU` calls on packed input; cuDNN's fused kernels on CUDA) with
  our parameters rearranged into nn.GRU's layout on the fly, so gradients reach them. It projects
  its inputs itself: it cannot take inputs already through `input_proj` (`projected`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import _VF, nn
from torch.autograd.function import once_differentiable
from torch.nn.utils.rnn import PackedSequence

__all__ = ["BACKENDS", "BiGRU", "Recurrence", "gru_loop", "gru_step", "per_step", "previous_rows", "reverse_index"]

BACKENDS = ("auto", "loop", "autograd", "cudnn")


class BiGRU(nn.Module):
    """A bidirectional GRU (the same equations as `nn.GRU`) over a PackedSequence.

    Both directions advance together in one batched matmul per time step, and the input
    projections of all real tokens are one matmul up front. On CPU this trains several times
    faster than `nn.GRU` on packed input, whose backward pass copies whole buffers every step
    (see bench/). Padding never enters: only real tokens are in the packed data.
    """

    def __init__(self, input_dim: int, hidden: int, backend: str = "auto") -> None:
        super().__init__()
        self.hidden = hidden
        self.input_proj = nn.Linear(input_dim, 6 * hidden)  # W_i{r,z,n} for both directions
        self.w_hh_rz = nn.Parameter(torch.empty(2, hidden, 2 * hidden))  # (direction, H, 2H)
        self.w_hh_n = nn.Parameter(torch.empty(2, hidden, hidden))  # (direction, H, H)
        self.b_hh_rz = nn.Parameter(torch.empty(2, 1, 2 * hidden))  # (direction, 1, 2H)
        self.b_hh_n = nn.Parameter(torch.empty(2, 1, hidden))  # (direction, 1, H)
        bound = 1 / math.sqrt(hidden)  # nn.GRU's initialisation
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)
        self.backend = backend  # one of BACKENDS (a plain attribute: not in checkpoints)

    def uses_cudnn(self, device: torch.device) -> bool:
        """Whether inputs on `device` go through `_VF.gru` (which cannot take `projected` inputs)."""
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown GRU backend {self.backend!r}; choose from {', '.join(BACKENDS)}")
        return self.backend == "cudnn" or (self.backend == "auto" and device.type == "cuda")

    def forward(self, packed: PackedSequence, projected: bool = False) -> torch.Tensor:
        """(tokens, 2H) states in packed order: forward direction's, then backward direction's.

        packed.data: (tokens, input_dim), or (tokens, 6H) already through input_proj when `projected`.
        """
        if self.uses_cudnn(packed.data.device):
            if projected:
                raise ValueError("the cuDNN GRU projects its inputs itself: give it word vectors, not projections")
            return self._forward_vf(packed)
        H = self.hidden
        sizes = packed.batch_sizes.tolist()  # sequences still running at each time step
        reverse = reverse_index(packed.batch_sizes).to(packed.data.device)  # (tokens,)
        inputs = packed.data if projected else self.input_proj(packed.data)  # (tokens, 6H)
        w_hh = torch.cat([self.w_hh_rz, self.w_hh_n], dim=-1)  # (2, H, 3H): [W_r | W_z | W_n]
        b_hh = torch.cat([self.b_hh_rz, self.b_hh_n], dim=-1)  # (2, 1, 3H)
        tracked = torch.is_grad_enabled() and any(t.requires_grad for t in (inputs, w_hh, b_hh))
        if tracked and self.backend != "autograd":
            return Recurrence.apply(inputs, w_hh, b_hh, sizes, reverse)  # (tokens, 2H)
        # evaluation (nothing to save), or the reference recorded by autograd
        forward_in, backward_in = inputs.split(3 * H, dim=-1)  # (tokens, 3H) each
        x_gates = torch.stack([forward_in, backward_in.index_select(0, reverse)])  # (2, tokens, 3H)
        out = gru_loop(x_gates, w_hh, b_hh, sizes)  # (2, tokens, H)
        return torch.cat([out[0], out[1].index_select(0, reverse)], dim=-1)  # (tokens, 2H)

    def _forward_vf(self, packed: PackedSequence) -> torch.Tensor:
        """The packed sequence through `_VF.gru`, as `nn.GRU.forward` calls it on packed input.

        nn.GRU's layout per direction: weight_ih (3H, input) and weight_hh (3H, H) with gates r, z, n
        stacked row-wise, bias_ih and bias_hh (3H,). Ours holds the same numbers: input_proj's rows
        [0, 3H) and [3H, 6H) are the two directions' weight_ih, and w_hh_rz | w_hh_n are weight_hh
        transposed. The rearranged tensors are views or small copies made by autograd ops on every
        call (no second set of parameters), so gradients flow back to ours.
        """
        H = self.hidden
        w_ih = self.input_proj.weight.split(3 * H)  # 2 x (3H, input)
        b_ih = self.input_proj.bias.split(3 * H)  # 2 x (3H,)
        w_hh = torch.cat([self.w_hh_rz, self.w_hh_n], dim=-1).transpose(1, 2).contiguous()  # (2, 3H, H)
        b_hh = torch.cat([self.b_hh_rz, self.b_hh_n], dim=-1).squeeze(1)  # (2, 3H)
        flat = [w_ih[0], w_hh[0], b_ih[0], b_hh[0], w_ih[1], w_hh[1], b_ih[1], b_hh[1]]  # nn.GRU's _flat_weights
        h0 = packed.data.new_zeros(2, int(packed.batch_sizes[0]), H)  # (directions, n, H)
        # train=True whenever gradients are wanted, even in eval mode (captum): cuDNN's RNN backward
        # refuses to run after an inference-mode forward. Dropout is 0 (one layer), so nothing else changes.
        train = torch.is_grad_enabled() and any(t.requires_grad for t in (packed.data, *flat))
        output, _ = _VF.gru(packed.data, packed.batch_sizes, h0, flat, True, 1, 0.0, train, True)
        return output  # (tokens, 2H) in packed order: forward direction's states, then backward's


def gru_loop(x_gates: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """Both directions' recurrence with ordinary tensor ops: evaluation's path and the reference.

    x_gates: (2, tokens, 3H) input projections [x_r | x_z | x_n] in packed order (the backward
    direction's sequences reversed); w_hh: (2, H, 3H); b_hh: (2, 1, 3H); sizes: rows running per step.
    Returns (2, tokens, H): every step's hidden state, in packed order.
    """
    h = x_gates.new_zeros(2, sizes[0], w_hh.size(1))  # (2, n, H)
    outputs = []
    for x_t in x_gates.split(sizes, dim=1):  # (2, k, 3H); sorted longest first: a prefix runs
        h = gru_step(x_t, h[:, : x_t.size(1)], w_hh, b_hh)  # (2, k, H)
        outputs.append(h)
    return torch.cat(outputs, dim=1)  # (2, tokens, H)


def gru_step(x_t: torch.Tensor, h_prev: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """One time step of both directions: x_t (2, k, 3H) input projections, h_prev (2, k, H) -> h (2, k, H)."""
    H = w_hh.size(1)
    hidden = torch.baddbmm(b_hh, h_prev, w_hh)  # (2, k, 3H): h W + b for all three gates
    reset, update = torch.sigmoid(x_t[..., : 2 * H] + hidden[..., : 2 * H]).chunk(2, dim=-1)  # (2, k, H) each
    candidate = torch.tanh(torch.addcmul(x_t[..., 2 * H :], reset, hidden[..., 2 * H :]))  # (2, k, H)
    return torch.lerp(candidate, h_prev, update)  # n + z * (h_prev - n): (2, k, H)


class Recurrence(torch.autograd.Function):
    """Both directions' recurrence with its backward pass written out: what training runs.

    Takes and returns what `BiGRU.forward` does around the recurrence (packed order, the backward
    direction's half reversed inside), so the reversal's gradients are gathers, not scatters.
    The forward runs a step in 7 kernels and keeps, in whole tensors in packed order, the gates
    r, z, the candidate's hidden part g_n = h W_n + b_n, the candidate n and the output h'.
    The backward goes over the steps in reverse, carrying dh (the gradient of a step's output: its
    own plus the next step's, for the rows still running there), with a = pre-activation
    (a_r = x_r + h W_r + b_r, a_z likewise, a_n = x_n + r g_n):

        da_n = dh (1 - z)(1 - n²)      dg_n = da_n r      da_r = da_n g_n r (1 - r)
        da_z = dh (h - n) z (1 - z) = dh (1 - z)(h' - n)
        dh_prev = dh z + [da_r, da_z, dg_n] W^T                            one matmul

    written into one (2, tokens, 4, H) tensor ordered [g_n, a_r, a_z, a_n]: its first three blocks
    are d(h W + b) with W's columns permuted to [W_n | W_r | W_z], its last three the inputs'
    [x_r, x_z, x_n] gradients, both contiguous slices. Weight, bias and input gradients then
    follow from all steps at once: one batched matmul, one sum and a copy.
    """

    @staticmethod
    def forward(
        ctx: Any,
        inputs: torch.Tensor,
        w_hh: torch.Tensor,
        b_hh: torch.Tensor,
        sizes: list[int],
        reverse: torch.Tensor,
    ) -> Any:
        # inputs: (tokens, 6H) input projections [forward x_r, x_z, x_n | backward ...] in packed order;
        # w_hh: (2, H, 3H); b_hh: (2, 1, 3H); sizes: rows running per step; reverse: (tokens,) reverse_index
        H, tokens = w_hh.size(1), inputs.size(0)
        x_gates = inputs.new_empty(2, tokens, 3 * H)  # the backward direction's sequences reversed
        x_gates[0] = inputs[:, : 3 * H]
        torch.index_select(inputs[:, 3 * H :], 0, reverse, out=x_gates[1])
        gates = inputs.new_empty(2, tokens, 3 * H)  # [r | z | g_n] of every token
        candidate = inputs.new_empty(2, tokens, H)  # n of every token
        out = inputs.new_empty(2, tokens, H)  # h' of every token
        h = inputs.new_zeros(2, sizes[0], H)  # (2, n, H)
        x_rz, x_n = x_gates.split([2 * H, H], dim=-1)  # (2, tokens, 2H), (2, tokens, H)
        rz, g_n = gates.split([2 * H, H], dim=-1)  # (2, tokens, 2H), (2, tokens, H)
        for x_rz_t, x_n_t, rz_t, g_n_t, n_t, h_t in per_step(sizes, x_rz, x_n, rz, g_n, candidate, out):
            # views (2, k, .) of step t's rows, written in place
            h_prev = h[:, : x_rz_t.size(1)]  # (2, k, H): sorted longest first, a prefix runs
            hidden = torch.baddbmm(b_hh, h_prev, w_hh)  # (2, k, 3H): h W + b
            torch.add(x_rz_t, hidden[..., : 2 * H], out=rz_t).sigmoid_()  # (2, k, 2H): r, z
            g_n_t.copy_(hidden[..., 2 * H :])  # (2, k, H)
            torch.addcmul(x_n_t, rz_t[..., :H], g_n_t, out=n_t).tanh_()  # (2, k, H)
            h = torch.lerp(n_t, h_prev, rz_t[..., H:], out=h_t)  # n + z (h - n): (2, k, H)
        ctx.save_for_backward(w_hh, gates, candidate, out, reverse)
        ctx.sizes = sizes
        result = inputs.new_empty(tokens, 2 * H)  # (tokens, 2H) in packed order
        result[:, :H] = out[0]
        torch.index_select(out[1], 0, reverse, out=result[:, H:])
        return result

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_result: torch.Tensor) -> Any:
        """d loss / d (inputs, w_hh, b_hh) from d loss / d result (tokens, 2H); see the class docstring."""
        w_hh, gates, candidate, out, reverse = ctx.saved_tensors
        sizes: list[int] = ctx.sizes
        H, tokens = w_hh.size(1), grad_result.size(0)
        grad_h = grad_result.new_empty(2, tokens, H)  # d loss / d h' of every token, completed step by step
        grad_h[0] = grad_result[:, :H]
        torch.index_select(grad_result[:, H:], 0, reverse, out=grad_h[1])
        grad = grad_result.new_empty(2, tokens, 4, H)  # d loss / d[g_n, a_r, a_z, a_n] of every token
        d_hidden = grad[:, :, :3].flatten(2)  # (2, tokens, 3H): d loss / d(h W + b), columns [n | r | z]
        w_t = torch.roll(w_hh, H, dims=-1).transpose(1, 2)  # (2, 3H, H): [W_n | W_r | W_z]^T
        steps = per_step(sizes, grad_h, *gates.chunk(3, dim=-1), candidate, out, d_hidden, *grad.unbind(2))
        for t in range(len(sizes) - 1, -1, -1):
            dh, r, z, g_n, n, h_t, d_hidden_t, d_gn, d_ar, d_az, d_an = steps[t]  # views (2, k, .) of step t
            # dh: (2, k, H) complete, the steps after t having added theirs
            keep = torch.addcmul(dh, dh, z, value=-1)  # (2, k, H): dh (1 - z)
            _tanh_backward(keep, n, grad_input=d_an)  # dh (1 - z)(1 - n²)
            torch.mul(d_an, r, out=d_gn)
            _sigmoid_backward(torch.mul(d_an, g_n, out=d_ar), r, grad_input=d_ar)  # · g_n r (1 - r)
            torch.mul(keep, h_t - n, out=d_az)  # dh (1 - z)(h' - n)
            if t > 0:  # step 0 started from h = 0: nothing to pass on
                dh_prev = steps[t - 1][0][:, : dh.size(1)]  # (2, k, H): step t - 1's first k outputs
                dh_prev.addcmul_(dh, z).add_(torch.bmm(d_hidden_t, w_t))  # through z h, and h W: (2, k, H)
        d_inputs = d_w = d_b = None
        if ctx.needs_input_grad[0]:
            d_x = grad[:, :, 1:].flatten(2)  # (2, tokens, 3H): d loss / d[x_r, x_z, x_n]
            d_inputs = grad_result.new_empty(tokens, 6 * H)
            d_inputs[:, : 3 * H] = d_x[0]
            torch.index_select(d_x[1], 0, reverse, out=d_inputs[:, 3 * H :])  # reverse is its own inverse
        if ctx.needs_input_grad[1]:  # h W of every step but the first (h = 0 there), in one matmul
            h_prev = out.index_select(1, previous_rows(sizes).to(out.device))  # (2, tokens - n, H)
            d_w_nrz = torch.bmm(h_prev.transpose(1, 2), d_hidden[:, sizes[0] :])  # (2, H, 3H) [n | r | z]
            d_w = torch.roll(d_w_nrz, -H, dims=-1)  # (2, H, 3H) [r | z | n]
        if ctx.needs_input_grad[2]:
            d_b = torch.roll(d_hidden.sum(dim=1, keepdim=True), -H, dims=-1)  # (2, 1, 3H) [r | z | n]
        return d_inputs, d_w, d_b, None, None


def per_step(sizes: list[int], *tensors: torch.Tensor) -> list[tuple[torch.Tensor, ...]]:
    """For each step, the views of its rows (dim 1, packed order) of every tensor: (2, k, ...) each."""
    return list(zip(*(t.split(sizes, dim=1) for t in tensors), strict=True))


_sigmoid_backward = torch.ops.aten.sigmoid_backward.grad_input  # (grad, s, *, grad_input): grad · s (1 - s)
_tanh_backward = torch.ops.aten.tanh_backward.grad_input  # (grad, t, *, grad_input): grad · (1 - t²)


def previous_rows(sizes: list[int]) -> torch.Tensor:
    """(tokens - sizes[0],) for each packed row of steps 1, 2, ...: the row of the same sequence one
    step earlier, whose output is that row's previous state."""
    batch_sizes = torch.tensor(sizes)  # (T,)
    starts = torch.cumsum(batch_sizes, 0) - batch_sizes  # (T,) first packed row of each step
    step = torch.repeat_interleave(torch.arange(len(sizes)), batch_sizes)[sizes[0] :]  # (tokens - n,)
    return torch.arange(sizes[0], int(batch_sizes.sum())) - starts[step] + starts[step - 1]  # (tokens - n,)


def reverse_index(batch_sizes: torch.Tensor) -> torch.Tensor:
    """Permutation of packed rows that reverses every sequence within its own length."""
    n_steps = batch_sizes.numel()
    offsets = torch.cumsum(batch_sizes, 0) - batch_sizes  # (T,) first packed row of each step
    step = torch.repeat_interleave(torch.arange(n_steps), batch_sizes)  # (tokens,)
    sequence = torch.arange(int(batch_sizes.sum())) - offsets[step]  # (tokens,) sorted index
    lengths = (batch_sizes.unsqueeze(0) > torch.arange(int(batch_sizes[0])).unsqueeze(1)).sum(1)
    return offsets[lengths[sequence] - 1 - step] + sequence  # (tokens,)
