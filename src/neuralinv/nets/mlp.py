"""The paper's fully connected ReLU nets, their initialisation, and Network, a torch module bound to its region.

Weights use PyTorch's (out, in) layout. A stacked ensemble keeps E models as tensors (E, out, in) and (E, out);
one forward over the stack is a batched matmul, and its per-model results equal the single-model ones.

net(a) runs FastNetwork (neuralinv.nets.fast), the same function with the framework overhead taken out (built on
the first call and kept on the network); Network.forward_reference is the straightforward path it is checked
against, and the one net(a) takes when autograd records and a parameter requires grad (fine-tuning).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import torch

from neuralinv.common.errors import InputError
from neuralinv.nets.fast import FastNetwork
from neuralinv.nets.scaling import Scaling
from neuralinv.regions.shapes import Region

__all__ = ["MODELS", "PARAMETRIC", "Affine", "FastNetwork", "ModelPreset", "Network", "get_model", "init_layers"]


@dataclass(frozen=True)
class ModelPreset:
    """A fully connected ReLU shape: depth hidden layers of width_per_entry * n^2 (or width) units."""

    name: str
    title: str
    depth: int  # number of hidden layers
    width_per_entry: int  # hidden width h = width_per_entry * n^2 ...
    width: int | None = None  # ... unless an absolute width is given

    def layer_sizes(self, n: int) -> list[int]:
        """[n^2, h, ..., h, n^2] for n x n matrices."""
        d = n * n
        return [d] + [self.width or self.width_per_entry * d] * self.depth + [d]


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


# Any depth and width: "fc-d3-w8n2" (3 hidden layers of 8 n^2 units) or "fc-d2-h64" (2 hidden layers of 64 units).
PARAMETRIC = re.compile(r"fc-d([1-9]\d*)-(?:w([1-9]\d*)n2|h([1-9]\d*))")


def get_model(name: str) -> ModelPreset:
    """The preset name (see MODELS), or a parametric shape fc-dD-wKn2 / fc-dD-hH; an InputError otherwise."""
    if name in MODELS:
        return MODELS[name]
    match = PARAMETRIC.fullmatch(name) if isinstance(name, str) else None
    if match is None:
        raise InputError(
            f"model: unknown preset {name!r}; choose one of {', '.join(MODELS)}, or fc-dD-wKn2 / "
            "fc-dD-hH (D hidden layers of K n^2 or H units)"
        )
    depth, per_entry, width = int(match[1]), match[2], match[3]
    size = f"{per_entry} n^2" if per_entry else width
    return ModelPreset(
        name,
        f"{depth + 1}-FC (h = {size})",
        depth=depth,
        width_per_entry=int(per_entry or 0),
        width=int(width) if width else None,
    )


def init_layers(layer_sizes: list[int], seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """nn.Linear's default initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from a generator seeded with seed."""
    g = torch.Generator().manual_seed(seed)
    layers = []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        bound = fan_in**-0.5
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


class Affine(torch.nn.Module):
    """One affine layer, y = x W^T + b in PyTorch's (out, in) layout, holding the parameters weight and bias.

    It also reads as the pair (weight, bias), the form the rest of neuralinv works with: `w, b = layer`, `layer[0]`.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        # Frozen as built: a Network is an inference object until net.requires_grad_() makes it trainable.
        self.weight = torch.nn.Parameter(weight, requires_grad=False)
        self.bias = torch.nn.Parameter(bias, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., in) -> (..., out)."""
        return torch.nn.functional.linear(x, self.weight, self.bias)

    def __iter__(self):
        return iter((self.weight, self.bias))

    def __getitem__(self, i: int) -> torch.Tensor:
        return (self.weight, self.bias)[i]

    def extra_repr(self) -> str:
        return f"in={self.weight.shape[1]}, out={self.weight.shape[0]}, dtype={self.weight.dtype}"


class Network(torch.nn.Module):
    """A trained (or constructed, or imported) ReLU MLP with the region it is valid on and its scaling.

    A torch module: .parameters(), state_dict() (keys "layers.{i}.weight" and "layers.{i}.bias", as in checkpoint
    files), load_state_dict(), .to(device or dtype) (in place, as for every module). Its parameters start frozen
    (requires_grad False); net.requires_grad_() makes them trainable. net.layers is a ModuleList of Affine layers,
    each also the pair (weight, bias). net(a) takes matrices (..., n, n) and returns approximate inverses in float64.
    """

    def __init__(self, layers, region: Region, scaling: Scaling, info: dict | None = None):
        """layers: [(W (out, in), b (out,)), ...] (tensors, shared, not copied); info: free-form metadata saved in
        checkpoints (dataset, model, seed, steps, ...)."""
        super().__init__()
        self.layers = torch.nn.ModuleList(Affine(w, b) for w, b in layers)
        self.region = region
        self.scaling = scaling
        self.info = {} if info is None else info
        sizes, d = self.layer_sizes, region.n**2
        if sizes[0] != d or sizes[-1] != d:
            raise InputError(
                f"network: layer sizes {sizes} do not fit a {region.n}x{region.n} region (first and last must be {d})"
            )
        for (w1, _), (w2, b2) in zip(self.layers, self.layers[1:]):
            if w2.shape[1] != w1.shape[0] or b2.shape != (w2.shape[0],):
                raise InputError(f"network: layer shapes do not chain: {[tuple(w.shape) for w, _ in self.layers]}")

    @property
    def box(self) -> Region:
        """The old name of region (it was any region, not only a box); read-only, use region."""
        return self.region

    @property
    def layer_sizes(self) -> list[int]:
        """[inputs, hidden..., outputs], n^2 at both ends."""
        return [self.layers[0].weight.shape[1]] + [layer.weight.shape[0] for layer in self.layers]

    @property
    def n(self) -> int:
        """The matrix size: the network maps n x n matrices."""
        return self.region.n

    def extra_repr(self) -> str:
        sizes = "-".join(map(str, self.layer_sizes))
        return f"{sizes} ReLU MLP on {self.region.describe()}, {self.scaling.name} scaling"

    def _pairs(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        # [(weight, bias)] straight from the parameter dicts: attribute access through Module.__getattr__ costs
        # about a tenth of a small network's whole call.
        return [(m._parameters["weight"], m._parameters["bias"]) for m in self._modules["layers"]._modules.values()]

    def _apply(self, fn, recurse=True):
        # .to(), .double(), .cuda() ... move or convert the parameters (possibly keeping the same objects): the
        # fast path, built from the old tensors, goes.
        out = super()._apply(fn, recurse)
        self.__dict__.pop("_fast", None)
        return out

    def __getstate__(self) -> dict:
        # The fast path's cache and its lock are rebuilt on demand (a lock cannot be pickled or deep-copied).
        state = self.__dict__.copy()
        state.pop("_fast", None)
        state.pop("_fast_lock", None)
        return state

    def fast_network(self) -> FastNetwork:
        """The FastNetwork that calls to this network run, built on first use and rebuilt when the weights change.

        It is rebuilt when a weight is modified in place (its version counter changes; inference tensors have none,
        so edits made to them inside torch.inference_mode are not seen), replaced, moved or converted (.to), or
        when requires_grad changes.
        """
        fast = self.__dict__.get("_fast")
        if fast is None or not fast.built_from(self._pairs()):
            fast = self.__dict__["_fast"] = FastNetwork(self)
        return fast

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """Approximate inverses (..., n, n) in float64 of matrices a (..., n, n), on the weights' device.

        Runs FastNetwork (no autograd graph; the output is a new tensor). Its buffers are shared, so a call made
        while another thread is inside one on the same network takes forward_reference instead. While autograd
        records and a parameter requires grad (fine-tuning), it runs differentiable_forward.
        """
        pairs = self._pairs()
        fast = self.__dict__.get("_fast")
        if fast is not None and not fast.built_from(pairs):
            fast = None
        if (fast is None or fast.trainable) and torch.is_grad_enabled():
            if any(w.requires_grad or b.requires_grad for w, b in pairs):
                return self.differentiable_forward(a)  # a fast path is not built for every step of a fine-tuning
        lock = self.__dict__.get("_fast_lock")
        if lock is None:
            lock = self.__dict__.setdefault("_fast_lock", threading.Lock())
        if not lock.acquire(blocking=False):
            return self.forward_reference(a)
        try:
            if fast is None:
                fast = self.__dict__["_fast"] = FastNetwork(self)
            if a.device != fast.device:
                a = a.to(fast.device)
            return fast(a)
        finally:
            lock.release()

    def differentiable_forward(self, a: torch.Tensor) -> torch.Tensor:
        """The straightforward path, recorded by autograd as usual: encode in float64, the MLP in the weights'
        dtype, decode in float64."""
        w0 = self.layers[0].weight
        x = self.scaling.encode(a.to(device=w0.device, dtype=torch.float64)).to(w0.dtype)
        return self.scaling.decode(mlp_forward(self._pairs(), x))

    @torch.no_grad()
    def forward_reference(self, a: torch.Tensor) -> torch.Tensor:
        """differentiable_forward without autograd: the path the fast one is checked against."""
        return self.differentiable_forward(a)
