"""Distance to the singular set: sigma_min, matrix norms, and the one test of "singular to working precision"."""

from __future__ import annotations

import numpy as np


def sigma_min(a) -> np.ndarray:
    """Smallest singular value of each matrix of a (..., n, n): its distance to the singular set."""
    a = np.asarray(a, dtype=np.float64)
    return np.linalg.svd(a, compute_uv=False)[..., -1]


def singular_error(a) -> float:
    """How far a computed sigma_min(a) may be from the true one (LAPACK's SVD is backward stable: p(n) eps ||a||_2),
    taken as 1e3 eps max(1, max |a_ij|) in float64: at or below it a counts as singular to working precision."""
    return 1e3 * float(np.finfo(float).eps) * max(1.0, float(np.abs(np.asarray(a, dtype=np.float64)).max()))


def singular_to_precision(a) -> bool:
    """The one singular-matrix test: sigma_min(a) <= singular_error(a) (a region's centre, or a centre rounded to a
    working dtype)."""
    return float(sigma_min(a)) <= singular_error(a)


def matrix_norm(e, norm: str) -> np.ndarray:
    """||e|| (...) of each matrix of e (..., n, n) in the spectral or Frobenius norm, float64."""
    e = np.asarray(e, dtype=np.float64)
    if norm == "fro":
        return np.sqrt(np.einsum("...ij,...ij->...", e, e))
    return np.linalg.norm(e, ord=2, axis=(-2, -1)) if e.ndim > 2 else np.asarray(np.linalg.norm(e, 2))


__all__ = ["matrix_norm", "sigma_min", "singular_error", "singular_to_precision"]
