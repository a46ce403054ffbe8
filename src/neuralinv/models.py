"""The paper's fully connected ReLU nets, their initialisation, and a network bound to its region and scaling.

Weights use PyTorch's (out, in) layout. A stacked ensemble keeps E models as tensors (E, out, in) and (E, out);
one forward over the stack is a batched matmul, and its per-model results equal the single-model ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from neuralinv.data import Scaling
from neuralinv.errors import InputError
from neuralinv.regions import Box


@dataclass(frozen=True)
class ModelPreset:
    name: str
    title: str
    depth: int  # number of hidden layers
    width_per_entry: int  # hidden width h = width_per_entry * n^2

    def layer_sizes(self, n: int) -> list[int]:
        d = n * n
        return [d] + [self.width_per_entry * d] * self.depth + [d]


# The paper's widths are h = 8 n^2 (32 for 2x2, 72 for 3x3, 2048 for 16x16); the "small" net (Sec. 5.3, 2x2 only in
# the paper) has h = 2 n^2 = 8, as many hidden units as the exact Eq. 11 construction.
MODELS: dict[str, ModelPreset] = {
    m.name: m
    for m in [
        ModelPreset("2fc", "2-FC", depth=1, width_per_entry=8),
        ModelPreset("3fc", "3-FC", depth=2, width_per_entry=8),
        ModelPreset("2fc-small", "2-FC small", depth=1, width_per_entry=2),
    ]
}


def get_model(name: str) -> ModelPreset:
    try:
        return MODELS[name]
    except KeyError:
        raise InputError(f"model: unknown preset {name!r}; choose one of {', '.join(MODELS)}") from None


def init_layers(layer_sizes: list[int], seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """nn.Linear's default initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from a generator seeded with seed."""
    g = torch.Generator().manual_seed(seed)
    layers = []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        bound = fan_in ** -0.5
        w = (torch.rand((fan_out, fan_in), generator=g) * 2 - 1) * bound
        b = (torch.rand((fan_out,), generator=g) * 2 - 1) * bound
        layers.append((w, b))
    return layers


def mlp_forward(layers, x: torch.Tensor) -> torch.Tensor:
    """ReLU MLP on x (..., in) for single layers [(W (out, in), b (out,))], or on x (E, B, in) for stacked layers."""
    last = len(layers) - 1
    for i, (w, b) in enumerate(layers):
        if w.dim() == 3:
            x = torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))
        else:
            x = torch.nn.functional.linear(x, w, b)
        if i < last:
            x = torch.relu(x)
    return x


@dataclass
class Network:
    """A trained (or constructed, or imported) ReLU MLP with the region it is valid on and its scaling."""

    layers: list[tuple[torch.Tensor, torch.Tensor]]
    box: Box
    scaling: Scaling
    info: dict = field(default_factory=dict)  # dataset, model, seed, steps, ... (free-form, saved in the checkpoint)

    def __post_init__(self):
        sizes = self.layer_sizes
        d = self.box.n ** 2
        if sizes[0] != d or sizes[-1] != d:
            raise InputError(f"network: layer sizes {sizes} do not fit a {self.box.n}x{self.box.n} box "
                             f"(first and last must be {d})")
        for (w1, _), (w2, b2) in zip(self.layers, self.layers[1:]):
            if w2.shape[1] != w1.shape[0] or b2.shape != (w2.shape[0],):
                raise InputError(f"network: layer shapes do not chain: {[tuple(w.shape) for w, _ in self.layers]}")

    @property
    def layer_sizes(self) -> list[int]:
        return [self.layers[0][0].shape[1]] + [w.shape[0] for w, _ in self.layers]

    @property
    def n(self) -> int:
        return self.box.n

    def to(self, device) -> "Network":
        return Network([(w.to(device), b.to(device)) for w, b in self.layers], self.box, self.scaling, self.info)

    @torch.no_grad()
    def __call__(self, a: torch.Tensor) -> torch.Tensor:
        """Approximate inverses (..., n, n) in float64 of matrices a (..., n, n)."""
        w0 = self.layers[0][0]
        x = self.scaling.encode(a.to(device=w0.device, dtype=torch.float64)).to(w0.dtype)
        return self.scaling.decode(mlp_forward(self.layers, x))
