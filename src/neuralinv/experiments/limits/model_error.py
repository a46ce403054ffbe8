"""A model's error against the exact inverse: evaluating any model F, the norms of its error, and input checks.

A model is a Network or a callable mapping a float64 tensor (..., n, n) to (..., n, n); every experiment of
neuralinv.experiments.limits takes either.
"""

from __future__ import annotations

from typing import Callable, Union

import numpy as np
import torch

from neuralinv.common.errors import InputError
from neuralinv.linalg.classical import closed_form_inverse
from neuralinv.nets.mlp import Network
from neuralinv.regions.shapes import Region, positive_number

Model = Union[Network, Callable[[torch.Tensor], torch.Tensor]]
NORMS = ("fro", "l1", "linf")
EPS = np.finfo(np.float64).eps


def apply_model(model: Model, a: np.ndarray) -> np.ndarray:
    """F(a) as float64 numpy, for a (..., n, n); the model sees a float64 tensor."""
    a = np.asarray(a, dtype=np.float64)
    with torch.no_grad():
        out = model(torch.from_numpy(np.ascontiguousarray(a)))
    out = out.detach().cpu().double().numpy() if isinstance(out, torch.Tensor) else np.asarray(out, dtype=np.float64)
    if out.shape != a.shape:
        raise InputError(f"model: maps matrices of shape {a.shape} to shape {out.shape}; expected {a.shape}")
    return out


def error_norm(diff: np.ndarray, norm: str = "fro") -> np.ndarray:
    """Vectorised norm of each matrix of diff (..., n, n) -> (...): 'fro' (L2), 'l1' or 'linf' (max |entry|)."""
    flat = np.abs(diff.reshape(*diff.shape[:-2], -1))
    if norm == "fro":
        return np.sqrt(np.square(flat).sum(-1))
    if norm == "l1":
        return flat.sum(-1)
    if norm == "linf":
        return flat.max(-1)
    raise InputError(f"norm: expected one of {', '.join(NORMS)}, got {norm!r}")


def errors_on(model: Model, a: np.ndarray, *, norm: str = "fro", chunk: int = 200_000) -> np.ndarray:
    """||A^-1 - F(A)|| for each matrix of a (N, n, n) -> (N,), in chunks to bound memory.

    The inverse is linalg.classical.closed_form_inverse in float64 (closed form for n <= 3), accurate to about
    eps * cond(A).
    """
    out = np.empty(a.shape[0])
    for i in range(0, a.shape[0], chunk):
        block = a[i : i + chunk]
        exact = closed_form_inverse(torch.from_numpy(np.ascontiguousarray(block))).numpy()
        out[i : i + chunk] = error_norm(exact - apply_model(model, block), norm)
    return out


def fit_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def check_threshold(threshold) -> float:
    """The error threshold E as a float, or an InputError naming `threshold` unless it is a finite number > 0."""
    return positive_number(threshold, "threshold")


def check_norm(norm: str) -> str:
    """norm itself when it is one of NORMS, else an InputError naming `norm`."""
    if norm not in NORMS:
        raise InputError(f"norm: expected one of {', '.join(NORMS)}, got {norm!r}")
    return norm


def model_size(model: Model) -> int | None:
    """n for a model with a region of its own (a Network's box), else None (a plain callable)."""
    box = getattr(model, "box", None)
    return box.n if isinstance(box, Region) else None


def check_region(model: Model, region: Region | None) -> Region | None:
    """region itself, after checking that it holds matrices of the model's size (when the model has one)."""
    n = model_size(model)
    if region is not None and n is not None and region.n != n:
        raise InputError(f"region: a {region.n}x{region.n} {region.shape}, but the model is for {n}x{n} matrices")
    return region
