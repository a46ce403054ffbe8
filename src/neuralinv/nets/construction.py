"""Networks built without training: the exact Eq. 11 construction, and networks trained elsewhere (.npz weights).

Eq. 11 (paper Sec. 4.2). With the paper scaling x = vec(A - A0) / c, y = vec(A^-1 - A0^-1) / c (row-major), the
linear approximation A^-1 ~= A0^-1 - A0^-1 E A0^-1 (E = A - A0, Eq. 10) is y = M x with

    M = -kron(B, B^T),  B = A0^-1,  i.e.  M[(k, l), (i, j)] = -B_ki B_jl,

since vec_r(B E B) = kron(B, B^T) vec_r(E). A 2-layer ReLU net reproduces it exactly through z = ReLU(z) - ReLU(-z):

    h+ = ReLU(M x),  h- = ReLU(-M x),  y = h+ - h-,

so W1 = [M; -M] (2 n^2, n^2), b1 = 0, W2 = [I, -I] (n^2, 2 n^2), b2 = 0. The paper prints y = h^{1+} + h^{1-}; that
sum is |M x|, not M x: the minus sign is the correct one (an erratum in the paper, not copied here).

Weight files (.npz): arrays W1, b1, W2, b2, ..., WL, bL in PyTorch's (out, in) layout with ReLU between layers and none
after the last; an optional 0-d string array "activation" must be "relu".
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import torch

from neuralinv.common.errors import InputError
from neuralinv.common.files import atomic_path
from neuralinv.nets.mlp import Network
from neuralinv.nets.scaling import Scaling
from neuralinv.regions.shapes import Box

_KEY = re.compile(r"^([Wb])([1-9][0-9]*)$")


def linear_matrix(box: Box) -> np.ndarray:
    """M = -kron(B, B^T) (n^2, n^2), B = A0^-1: Taylor-1 is vec_r(A^-1) ~= vec_r(B) + M vec_r(A - A0)."""
    b = box.center_inverse
    return -np.kron(b, b.T)


def linear_network(box: Box) -> Network:
    """The Eq. 11 network on box: n^2 -> 2 n^2 -> n^2, float64, paper scaling; its output equals Taylor-1 exactly.

    See the module docstring for the weights (and the paper's sign erratum).
    """
    m = torch.from_numpy(linear_matrix(box))
    d = m.shape[0]
    eye = torch.eye(d, dtype=torch.float64)
    w1 = torch.cat([m, -m], dim=0)
    w2 = torch.cat([eye, -eye], dim=1)
    zeros = torch.zeros
    layers = [(w1, zeros(2 * d, dtype=torch.float64)), (w2, zeros(d, dtype=torch.float64))]
    return Network(
        layers,
        box,
        Scaling.for_region(box, "paper"),
        info={"model": "eq11", "construction": "Eq. 11: y = ReLU(Mx) - ReLU(-Mx), M = -kron(B, B^T)"},
    )


def read_weights(path: str | Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """The layers [(W (out, in), b (out,)), ...] of a .npz weight file, validated (shapes chain, values finite)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--weights: no such file {str(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise InputError(f"--weights: {str(path)!r} is not a readable .npz file ({err})") from None
    if not isinstance(arrays, dict) or not arrays:
        raise InputError(f"--weights: {str(path)!r} holds no arrays; expected W1, b1, W2, b2, ...")
    activation = arrays.pop("activation", None)
    if activation is not None and str(activation).lower() != "relu":
        raise InputError(f"--weights: activation {str(activation)!r} is not supported; only ReLU MLPs can be imported")
    found: dict[str, dict[int, np.ndarray]] = {"W": {}, "b": {}}
    for key, value in arrays.items():
        match = _KEY.match(key)
        if not match:
            raise InputError(
                f"--weights: unexpected array {key!r}; expected only W1, b1, W2, b2, ... "
                f"(and optionally 'activation' = 'relu')"
            )
        found[match[1]][int(match[2])] = value
    count = max(found["W"] | found["b"])
    expected = {f"{kind}{i}" for kind in "Wb" for i in range(1, count + 1)}
    missing = sorted(expected - {f"{k}{i}" for k in "Wb" for i in found[k]}, key=lambda s: (int(s[1:]), s[0]))
    if missing:
        raise InputError(
            f"--weights: layer list is incomplete: missing {', '.join(missing)} "
            f"(expected W1, b1, ..., W{count}, b{count})"
        )
    layers = []
    for i in range(1, count + 1):
        w, b = found["W"][i], found["b"][i]
        if w.ndim != 2 or b.ndim != 1 or b.shape[0] != w.shape[0]:
            raise InputError(f"--weights: W{i} must be (out, in) and b{i} (out,), got W{i} {w.shape}, b{i} {b.shape}")
        if layers and w.shape[1] != layers[-1][0].shape[0]:
            raise InputError(
                f"--weights: W{i} takes {w.shape[1]} inputs but layer {i - 1} has {layers[-1][0].shape[0]} outputs"
            )
        for name, arr in ((f"W{i}", w), (f"b{i}", b)):
            if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
                raise InputError(f"--weights: {name} has dtype {arr.dtype}, expected numbers")
            if not np.all(np.isfinite(arr)):
                raise InputError(f"--weights: {name} has non-finite entries")
        layers.append((w, b))
    return layers


def network_from_weights(layers, box: Box, *, scaling: str = "paper", info: dict | None = None) -> Network:
    """A Network from numpy layers [(W (out, in), b (out,))]; float32 stays float32, anything else becomes float64."""
    dtype = np.float32 if all(w.dtype == np.float32 and b.dtype == np.float32 for w, b in layers) else np.float64
    tensors = [
        (torch.from_numpy(np.array(w, dtype=dtype)), torch.from_numpy(np.array(b, dtype=dtype))) for w, b in layers
    ]
    return Network(tensors, box, Scaling.for_region(box, scaling), dict(info or {}))


def import_weights(path: str | Path, box: Box, *, scaling: str = "paper") -> Network:
    """The network in a .npz weight file, bound to box and scaling (the ones it was trained with)."""
    layers = read_weights(path)
    return network_from_weights(layers, box, scaling=scaling, info={"imported_from": Path(path).name})


def export_weights(net: Network, path: str | Path) -> Path:
    """Write net's layers to a .npz file as W1, b1, ..., WL, bL (out, in) and activation = "relu"."""
    arrays = {}
    for i, (w, b) in enumerate(net.layers, start=1):
        arrays[f"W{i}"] = w.detach().cpu().numpy()
        arrays[f"b{i}"] = b.detach().cpu().numpy()
    arrays["activation"] = np.array("relu")
    path = Path(path)
    with atomic_path(path) as tmp:
        # np.savez appends ".npz" to names without it; write through a file object so tmp's name is kept.
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return path
