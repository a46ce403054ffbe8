"""Architectures built from a declarative spec: mlp, resnet, transformer, and a Newton-Schulz head on any of them.

A spec is a JSON-able dict such as {"arch": "resnet", "blocks": 7, "width": 128, "inner": 256, "ns_steps": 1}.
check_spec(spec) returns it normalised (every key present, defaults filled in) or raises a one-line InputError naming
the bad key; a checkpoint stores the normalised spec, and loading rebuilds the module with build(spec, n): no code is
read from the file.

Design: every base architecture maps *encoded* inputs x (..., n^2) to encoded outputs y (..., n^2), exactly as the
MLP layers of nets.mlp.Network do. Scaling (nets/scaling.py) stays outside the base, so a later step can put any base
where Network puts its layers (encode in float64, base in the weights' dtype, decode in float64), with the region
and scaling machinery unchanged, and the mlp base's state_dict keys ("layers.{i}.weight") are a checkpoint's.

The Newton-Schulz head needs A and the decoded X (in the original units, where X A ~= I), so it cannot live inside
an encoded-to-encoded base. MatrixModel(base, scaling, ns_steps) is the matrices-to-matrices wrapper: encode -> base
-> decode -> ns_steps steps X <- X (2I - A X), all differentiable, so the head trains end to end. Each step is a
polynomial in A and X, so a polynomial-Lipschitz base stays polynomial Lipschitz.
"""

from __future__ import annotations

import json

import torch

from neuralinv.common.errors import InputError
from neuralinv.nets.mlp import ModelPreset, init_layers
from neuralinv.nets.scaling import Scaling

__all__ = [
    "ARCHS",
    "MLP",
    "MatrixModel",
    "ResNet",
    "Transformer",
    "build",
    "build_model",
    "check_spec",
    "mlp_spec",
    "newton_schulz",
    "not_piecewise_linear",
    "spec_to_json",
]

TOKENS = ("entries", "rows")

# Defaults per architecture: the sizes of the issue-17 probes (MLP 3 x 512; ResNet 7 blocks, 128 wide, 256 inside;
# transformer d_model 128, 4 layers, 4 heads, entries as tokens). "ns_steps" is common to all. The transformer's
# feed-forward width ff defaults to 4 d_model (the 512 here is that for the default d_model).
ARCHS: dict[str, dict] = {
    "mlp": {"depth": 3, "width": 512},
    "resnet": {"blocks": 7, "width": 128, "inner": 256},
    "transformer": {"tokens": "entries", "d_model": 128, "layers": 4, "heads": 4, "ff": 512},
}
COMMON = {"ns_steps": 0}


def _integer(where: str, key: str, value, minimum: int = 1) -> int:
    # bool is an int subclass, and True is no size; floats (2.0) are refused rather than truncated.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise InputError(f"{where}: {key} must be {what}, got {value!r}")
    return value


def check_spec(spec: dict) -> dict:
    """spec normalised: arch, its sizes (defaults from ARCHS filled in) and ns_steps, as plain JSON types.

    A one-line InputError names the bad key and value: an unknown arch or key, a size that is not a positive
    integer, heads that do not divide d_model, an unknown token mode, ns_steps < 0.
    """
    if not isinstance(spec, dict):
        raise InputError(f"arch spec: expected a dict with an 'arch' key, got {type(spec).__name__}")
    arch = spec.get("arch")
    if arch not in ARCHS:
        raise InputError(f"arch spec: arch: unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    defaults = {**ARCHS[arch], **COMMON}
    unknown = sorted(set(spec) - set(defaults) - {"arch"})
    if unknown:
        raise InputError(f"arch {arch}: unknown key {unknown[0]!r}; expected {', '.join(['arch', *defaults])}")
    out = {"arch": arch, **defaults, **{k: v for k, v in spec.items() if k != "arch"}}
    if arch == "transformer" and "ff" not in spec and isinstance(out["d_model"], int):
        out["ff"] = 4 * out["d_model"]
    for key in ARCHS[arch]:
        if key != "tokens":
            _integer(f"arch {arch}", key, out[key])
    _integer(f"arch {arch}", "ns_steps", out["ns_steps"], minimum=0)
    if arch == "transformer":
        if out["tokens"] not in TOKENS:
            raise InputError(f"arch transformer: tokens must be one of {', '.join(TOKENS)}, got {out['tokens']!r}")
        if out["d_model"] % out["heads"]:
            raise InputError(f"arch transformer: heads {out['heads']} does not divide d_model {out['d_model']}")
    return out


class MLP(torch.nn.Module):
    """ReLU MLP on encoded inputs: depth hidden layers of width units, n^2 in and out, layers as nn.Linear (out, in).

    Its state_dict keys are "layers.{i}.weight" / "layers.{i}.bias", as in Network and its checkpoints, and its
    initialisation for a seed is init_layers's: the same weights a Network of these sizes starts from.
    """

    def __init__(self, n: int, depth: int, width: int, seed: int = 0):
        super().__init__()
        sizes = [n * n] + [width] * depth + [n * n]
        self.layers = torch.nn.ModuleList()
        for w, b in init_layers(sizes, seed):
            layer = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                layer.weight.copy_(w)
                layer.bias.copy_(b)
            self.layers.append(layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., n^2) -> (..., n^2)."""
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = torch.relu(x)
        return x


class ResidualBlock(torch.nn.Module):
    """h + W2 relu(W1 relu(h)) (a pre-activation block, DeepMatrixInversion-style: two dense layers around a skip).

    W2 and its bias start at zero, so the block starts as the identity and training grows the branch from there.
    """

    def __init__(self, width: int, inner: int):
        super().__init__()
        self.expand = torch.nn.Linear(width, inner)
        self.project = torch.nn.Linear(inner, width)
        torch.nn.init.zeros_(self.project.weight)
        torch.nn.init.zeros_(self.project.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """h (..., width) -> (..., width)."""
        return h + self.project(torch.relu(self.expand(torch.relu(h))))


class ResNet(torch.nn.Module):
    """Linear n^2 -> width, blocks ResidualBlocks (width -> inner -> width), linear width -> n^2.

    No activation after the last block: at initialisation every block is the identity and the whole net is the
    affine map output(input(x)). Piecewise linear (ReLU and affine maps only).
    """

    def __init__(self, n: int, blocks: int, width: int, inner: int):
        super().__init__()
        self.input = torch.nn.Linear(n * n, width)
        self.blocks = torch.nn.Sequential(*(ResidualBlock(width, inner) for _ in range(blocks)))
        self.output = torch.nn.Linear(width, n * n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., n^2) -> (..., n^2)."""
        return self.output(self.blocks(self.input(x)))


class Transformer(torch.nn.Module):
    """A pre-norm transformer encoder regressing the inverse's entries (LAWT-style, without token decoding).

    tokens "entries": n^2 tokens of one value each; "rows": n tokens of n values (a matrix row each). Each token's
    values go through a linear embedding, plus a learned position embedding; layers pre-norm encoder layers (no
    dropout: regression, deterministic), a final LayerNorm, and a linear read-out per token back to its 1 or n
    values, in the same row-major order as the input.
    """

    def __init__(self, n: int, tokens: str, d_model: int, layers: int, heads: int, ff: int):
        super().__init__()
        self.n, self.tokens = n, tokens
        count, values = (n * n, 1) if tokens == "entries" else (n, n)
        self.embed = torch.nn.Linear(values, d_model)
        self.position = torch.nn.Parameter(torch.randn(count, d_model) * 0.02)
        layer = torch.nn.TransformerEncoderLayer(
            d_model, heads, dim_feedforward=ff, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = torch.nn.LayerNorm(d_model)
        self.readout = torch.nn.Linear(d_model, values)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., n^2) -> (..., n^2)."""
        lead = x.shape[:-1]
        count = self.position.shape[0]
        h = self.embed(x.reshape(-1, count, x.shape[-1] // count)) + self.position
        y = self.readout(self.norm(self.encoder(h)))
        return y.reshape(*lead, x.shape[-1])


def mlp_spec(preset: ModelPreset, n: int) -> dict:
    """The mlp spec of one of today's presets (2fc, 3fc, 2fc-small, fc-dD-...) on n x n matrices: its depth, and its
    width in units (a per-entry width times n^2)."""
    width = preset.width or preset.width_per_entry * n * n
    return check_spec({"arch": "mlp", "depth": preset.depth, "width": width})


def build(spec: dict, n: int, seed: int = 0) -> torch.nn.Module:
    """The base module of spec for n x n matrices, mapping encoded x (..., n^2) to (..., n^2), in float32.

    Parameters are drawn from a generator seeded with seed (the global RNG is left as it was), so the same spec and
    seed give identical parameters. The module keeps its normalised spec as .spec (for checkpoint metadata).
    ns_steps is not part of the base: build_model / MatrixModel apply it.
    """
    spec = check_spec(spec)
    _integer("arch spec", "n", n)
    sizes = {k: spec[k] for k in ARCHS[spec["arch"]]}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if spec["arch"] == "mlp":
            module = MLP(n, seed=seed, **sizes)
        elif spec["arch"] == "resnet":
            module = ResNet(n, **sizes)
        else:
            module = Transformer(n, **sizes)
    module.spec = spec
    return module


def newton_schulz(a: torch.Tensor, x: torch.Tensor, steps: int) -> torch.Tensor:
    """steps Newton-Schulz steps X <- X (2I - A X) = 2X - X A X on approximate inverses x of a (..., n, n)."""
    for _ in range(steps):
        x = 2 * x - x @ (a @ x)
    return x


class MatrixModel(torch.nn.Module):
    """Matrices (..., n, n) -> approximate inverses (..., n, n) in float64: encode -> base -> decode -> NS head.

    As Network: encode and decode in float64, the base in its parameters' dtype; then ns_steps Newton-Schulz steps
    on the decoded X against A in float64. Every stage is differentiable, so the head trains end to end.
    """

    def __init__(self, base: torch.nn.Module, scaling: Scaling, ns_steps: int = 0):
        super().__init__()
        _integer("Newton-Schulz head", "ns_steps", ns_steps, minimum=0)
        self.base, self.scaling, self.ns_steps = base, scaling, ns_steps

    def extra_repr(self) -> str:
        return f"{self.scaling.name} scaling, {self.ns_steps} Newton-Schulz steps"

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """a (..., n, n) -> (..., n, n) float64, on the base's device (a parameterless base: float32 on a's)."""
        p = next(self.base.parameters(), None)
        device, dtype = (p.device, p.dtype) if p is not None else (a.device, torch.float32)
        a = a.to(device=device, dtype=torch.float64)
        x = self.scaling.decode(self.base(self.scaling.encode(a).to(dtype)))
        return newton_schulz(a, x, self.ns_steps)


def not_piecewise_linear(spec: dict) -> str | None:
    """None where spec's model (base and head) is piecewise linear in A, so activation patterns and LP bounds
    apply (mlp, resnet, no Newton-Schulz steps); otherwise the one-line reason why not."""
    spec = check_spec(spec)
    if spec["arch"] == "transformer":
        return "transformer: softmax attention and layer norm are not piecewise linear"
    if spec["ns_steps"]:
        return f"{spec['arch']} with ns_steps {spec['ns_steps']}: the Newton-Schulz head 2X - XAX is quadratic in X"
    return None


def build_model(spec: dict, scaling: Scaling, seed: int = 0) -> MatrixModel:
    """MatrixModel of spec's base (built for the scaling's n with seed) and spec's ns_steps."""
    spec = check_spec(spec)
    n = round(len(scaling.input_offset) ** 0.5)
    return MatrixModel(build(spec, n, seed), scaling, spec["ns_steps"])


def spec_to_json(spec: dict) -> str:
    """The normalised spec as a JSON string (sorted keys), the form checkpoint metadata stores."""
    return json.dumps(check_spec(spec), sort_keys=True)
