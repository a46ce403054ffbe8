"""The batched ensemble step: E ReLU MLPs stacked into one flat tensor, a hand-written backward pass for MSE, and one
fused Adam update; and the CPU thread and data chunk sizes the loop runs it with."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch
from torch.optim.adam import adam

if TYPE_CHECKING:
    from neuralinv.training.config import TrainConfig


def chunk_steps(per_step: int) -> int:
    """Steps drawn per data chunk (per_step: numbers drawn per step): amortises sampling, bounds memory."""
    return max(1, min(1000, 4_000_000 // per_step))


class StackedMLP:
    """E ReLU MLPs of one shape, their weights stacked as (E, out, in) views into one flat parameter tensor.

    Gradients are written by hand into views of one flat gradient tensor (for MSE the backward pass of an MLP is a
    few batched matmuls), so one step is about a dozen kernels plus one fused Adam over a single tensor: for nets
    this small, per-kernel overhead, not arithmetic, sets the step time. Activations are feature-major, (E, features,
    B), which keeps every batched matmul free of transposed operands with a long inner dimension (2x faster on CPU).
    """

    def __init__(self, per_model_layers: list[list[tuple[torch.Tensor, torch.Tensor]]], device):
        """per_model_layers: each model's [(W, b), ...] (all of one shape), copied into the flat tensor on device."""
        shapes = [(w.shape, b.shape) for w, b in per_model_layers[0]]
        count = len(per_model_layers)
        total = count * sum(w.numel() + b.numel() for w, b in shapes)
        self.flat = torch.empty(total, device=device)
        self.flat.grad = torch.zeros(total, device=device)

        def views(buffer):
            out, offset = [], 0
            for w_shape, b_shape in shapes:
                n_w, n_b = count * w_shape.numel(), count * b_shape.numel()
                w = buffer[offset : offset + n_w].view(count, *w_shape)
                b = buffer[offset + n_w : offset + n_w + n_b].view(count, *b_shape)
                out.append((w, b))
                offset += n_w + n_b
            return out

        self.layers, self.grads = views(self.flat), views(self.flat.grad)
        for i, (w, b) in enumerate(self.layers):
            w.copy_(torch.stack([layers[i][0] for layers in per_model_layers]))
            b.copy_(torch.stack([layers[i][1] for layers in per_model_layers]))

    def backward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Fill flat.grad with d(sum_e MSE_e)/d(params) for x, y (E, in/out, B); return the outputs' errors."""
        hidden = [x]
        last = len(self.layers) - 1
        for i, (w, b) in enumerate(self.layers):
            z = torch.baddbmm(b.unsqueeze(2), w, hidden[-1])
            hidden.append(z.clamp_min_(0) if i < last else z)
        err = hidden.pop() - y
        g = err * (2.0 / err[0].numel())  # d MSE / d output, per model
        for i in range(last, -1, -1):
            w, _ = self.layers[i]
            gw, gb = self.grads[i]
            h = hidden[i]
            torch.bmm(g, h.transpose(1, 2), out=gw)
            torch.sum(g, dim=2, out=gb)
            if i > 0:  # through the ReLU: zero where the unit was off
                g = torch.ops.aten.threshold_backward(torch.bmm(w.transpose(1, 2), g), h, 0)
        return err


class FusedAdam:
    """PyTorch's Adam (L2 weight decay) on one flat tensor through its functional, fused form.

    torch.optim.adam.adam (the functional API) with fused=True is the update of torch.optim.Adam(fused=True).step()
    without the per-call bookkeeping of the Optimizer class, which costs more than the update for nets this small.
    """

    def __init__(self, param: torch.Tensor, config: TrainConfig):
        """param: the flat parameter tensor (its .grad the flat gradient); config: a TrainConfig (weight_decay)."""
        self.param, self.config = param, config
        self.exp_avg = torch.zeros_like(param)
        self.exp_avg_sq = torch.zeros_like(param)
        self.step_count = torch.zeros((), dtype=torch.float32, device=param.device)
        self.fused = param.device.type in ("cpu", "cuda")

    def step(self, lr: float) -> None:
        """One Adam update of param from param.grad at learning rate lr."""
        adam(
            [self.param],
            [self.param.grad],
            [self.exp_avg],
            [self.exp_avg_sq],
            [],
            [self.step_count],
            fused=self.fused,
            foreach=None if self.fused else True,
            amsgrad=False,
            beta1=0.9,
            beta2=0.999,
            lr=lr,
            weight_decay=self.config.weight_decay,
            eps=1e-8,
            maximize=False,
            capturable=False,
            differentiable=False,
            grad_scale=None,
            found_inf=None,
        )


@contextmanager
def threads_for(sizes: list[int], models: int, batch: int, device):
    """One CPU thread for small nets: their kernels are too short to split, and a second thread only adds sync."""
    flops = 6 * models * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    before = torch.get_num_threads()
    if device.type == "cpu" and flops < 20_000_000:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
