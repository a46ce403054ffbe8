"""The certified inverse's inputs made uniform: settings checked, the region and initial guess resolved, matrices of
any real kind turned into one (B, n, n) tensor of the working dtype."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from neuralinv.common.errors import InputError
from neuralinv.nets.checkpoint import load_network
from neuralinv.nets.mlp import Network
from neuralinv.regions.files import load_region
from neuralinv.regions.shapes import Region

INITS = ("taylor1", "taylor2")
METHODS = ("auto", "fast", "exact")
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def check_settings(tol, method, max_steps) -> None:
    """Refuse a tol outside (0, 1), an unknown method, or a max_steps that is not an integer >= 0."""
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and 0 < tol < 1):
        raise InputError(f"tol: expected a number in (0, 1), got {tol!r}")
    if method not in METHODS:
        raise InputError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    if max_steps is not None and not (isinstance(max_steps, int) and max_steps >= 0):
        raise InputError(f"max_steps: expected an integer >= 0, got {max_steps!r}")


def resolve(region, init) -> tuple[Region, object]:
    """(the Region, the initial guess) from the arguments of certified_inverse: a checkpoint given as init with no
    region brings its own region."""
    if region is None and isinstance(init, (str, Path)) and init not in INITS:
        init = as_init(init, None)
    reg = as_region(region, init)
    return reg, as_init(init, reg.n)


def as_region(region, init) -> Region:
    """The Region meant by region (a Region, a region file, a preset name, a DatasetPreset or a Network), or the
    network's own region when region is None and init is a network."""
    if region is None:
        if isinstance(init, Network):
            return init.region
        raise InputError(
            "region: expected a preset name (e.g. '16x16'), a region file, or a Region; it may be left "
            "out only when init is a network"
        )
    if isinstance(region, Network):
        return region.region
    return load_region(region)


def as_init(init, n: int | None):
    """The initial guess: "taylor1", "taylor2" or a Network (a checkpoint path is loaded), for n x n matrices."""
    if isinstance(init, Network):
        if n is not None and init.n != n:
            raise InputError(f"init: the network is for {init.n}x{init.n} matrices, the region for {n}x{n}")
        return init
    if isinstance(init, str) and init in INITS:
        return init
    if isinstance(init, (str, Path)) and Path(init).is_file():
        return load_network(init, n=n)
    raise InputError(f"init: expected one of {', '.join(INITS)}, a checkpoint file or a Network, got {init!r}")


def as_tensor(a, n: int):
    """(tensor (B, n, n) in the working dtype, batch shape, was_numpy) from a NumPy array or torch tensor."""
    was_numpy = not isinstance(a, torch.Tensor)
    if was_numpy:
        arr = np.asarray(a)
        if arr.dtype.kind not in "fiu":
            raise InputError(f"a: expected a real numeric array, got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr)
        t = torch.from_numpy(arr if arr.flags.writeable else arr.copy())  # torch warns on read-only memory
    else:
        t = a.detach()
        if t.is_complex() or t.dtype == torch.bool:
            raise InputError(f"a: expected a real numeric tensor, got dtype {t.dtype}")
    if t.dim() < 2 or t.shape[-1] != t.shape[-2]:
        raise InputError(f"a: expected shape (..., n, n), got {tuple(t.shape)}")
    if t.shape[-1] != n:
        raise InputError(f"a: the region is for {n}x{n} matrices, got {t.shape[-2]}x{t.shape[-1]}")
    # float16 / bfloat16 are widened to float32 (products in them cannot reach useful bounds); integers to float64.
    w = torch.float32 if t.is_floating_point() and t.dtype != torch.float64 else torch.float64
    batch = tuple(t.shape[:-2])
    return t.to(w).reshape(math.prod(batch), n, n).contiguous(), batch, was_numpy


def as_dtype(value, default: torch.dtype) -> torch.dtype:
    """torch.float32 or torch.float64 from a name, a torch or NumPy dtype (None: default)."""
    if value is None:
        return default
    if isinstance(value, torch.dtype) and value in _DTYPES.values():
        return value
    if isinstance(value, (str, torch.dtype)):
        name = str(value).removeprefix("torch.")
    else:
        try:
            name = np.dtype(value).name
        except TypeError:
            name = None
    if name not in _DTYPES:
        raise InputError(f"residual_dtype: expected float32 or float64, got {value!r}")
    return _DTYPES[name]
