"""The standard model of floating-point rounding, shared by every rigorous bound (solve's fast path, exact's residual).

|fl(x op y) - (x op y)| <= u |x op y| with u the unit roundoff; a sum of k products is within gamma_k = k u / (1 - k u)
of the exact one relative to the sum of absolute values, in any summation order, with or without FMA.
"""

from __future__ import annotations

import math

import torch

U64 = 2.0**-53
# Every bound is multiplied by this to cover the float64 rounding of the bound arithmetic itself (a few dozen ops).
SAFE = 1 + 256 * U64


def unit_roundoff(dtype: torch.dtype) -> float:
    """Unit roundoff of dtype (round to nearest)."""
    return torch.finfo(dtype).eps / 2


def gamma(k: int, u: float) -> float:
    """gamma_k = k u / (1 - k u): the relative error bound of a k-term inner product (any order, FMA or not)."""
    return k * u / (1 - k * u)


def fro_bound(v, n: int, dtype: torch.dtype):
    """An upper bound on the true Frobenius norms of (n, n) matrices from v, their norms as computed in dtype.

    The computed norm of n^2 squares is within a relative (n^2 + 8) u of the true one (any summation order, with or
    without scaling); squares that underflow lose at most tiny each (also under flush-to-zero), hence + n sqrt(tiny).
    Inf or NaN stay inf or NaN. v may be a NumPy array or a tensor.
    """
    return v / (1 - (n * n + 8) * unit_roundoff(dtype)) + n * math.sqrt(torch.finfo(dtype).tiny)


def fro_upper(m: torch.Tensor) -> torch.Tensor:
    """fro_bound of m (..., n, n) computed in its own dtype: an upper bound (...) float64 on each ||m||_F."""
    return fro_bound(torch.linalg.vector_norm(m, dim=(-2, -1)).double(), m.shape[-1], m.dtype)
