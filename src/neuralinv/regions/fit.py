"""Fitting a region to sample matrices of one's own: the center or centers, the radius, and equilibration.

fit_region(a) takes (m, n, n) samples of a family and returns a Region (see neuralinv.regions.shapes) that
holds the share
`coverage` of them, with what it did recorded in region.info:

1. Equilibration (when variable scales differ): d_i = 1 / sqrt(s_i), rounded to a power of two, with s_i the
median over the sample of
   sqrt(||A_i,:||_2 ||A_:,i||_2) (for a covariance, about the variance of variable i), applied as B = D A D. The
   region is then Equilibrated(inner, d): inverses and bounds stay those of A.
2. Centers: the mean of the (equilibrated) sample, or k-means (scipy.cluster.vq.kmeans2, k-means++ seeding) for
   several. The mean, not the mid-range: Taylor guesses and Newton-Schulz converge by ||A0^-1 (A - A0)||, which the
   mean keeps small for most of the sample; the mid-range minimises the largest deviation instead.
3. Radius: the coverage-quantile of ||B - B0|| over the sample (per member), in the shape's norm; for a box, per-entry
   quantiles of |B_ij - B0_ij|. coverage = 1 takes the largest, so the region holds the whole sample.

Shapes: "symmetric" (symmetric perturbations; chosen by "auto" when every sample is symmetric; in the spectral norm,
or relative to a positive definite centre, whichever is certified further from the singular set), "ball" (spectral
or Frobenius; "auto" otherwise) and "box".
"""

from __future__ import annotations

import numpy as np

from neuralinv.common.errors import InputError
from neuralinv.regions.composite import Equilibrated, Union
from neuralinv.regions.shapes import Ball, Box, Region, Symmetric, matrix_norm, symmetric_size

FIT_SHAPES = ("auto", "symmetric", "ball", "box")
FIT_NORMS = ("auto", "spectral", "fro", "relative")
MIN_PER_CENTER = 10  # fewer samples per center than this cannot say where a region is
EQUILIBRATE_ABOVE = 10.0  # "auto" equilibrates when the variable scales s_i span more than this ratio


def check_samples(a, *, name: str = "matrices", n: int | None = None) -> np.ndarray:
    """The samples as float64 (m, n, n), validated: a one-line InputError names what is wrong."""
    try:
        arr = np.asarray(a)
    except Exception:  # noqa: BLE001 (anything array-like that fails to convert is bad input)
        raise InputError(f"{name}: expected an array of matrices") from None
    if arr.dtype.kind not in "fiu":
        raise InputError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    if arr.ndim < 3 or arr.shape[-1] != arr.shape[-2]:
        raise InputError(f"{name}: expected shape (m, n, n), got {arr.shape}")
    if n is not None and arr.shape[-1] != n:
        raise InputError(f"{name}: expected {n}x{n} matrices, got {arr.shape[-2]}x{arr.shape[-1]}")
    arr = np.ascontiguousarray(arr.reshape(-1, *arr.shape[-2:]), dtype=np.float64)
    bad = ~np.isfinite(arr).all(axis=(-2, -1))
    if bad.any():
        raise InputError(
            f"{name}: {int(bad.sum())} matrices have NaN or Inf entries (the first at index {int(np.argmax(bad))})"
        )
    return arr


def variable_scales(a: np.ndarray) -> np.ndarray:
    """s (n,): the median over the sample of sqrt(||row i|| ||column i||), a variable's typical size."""
    rows = np.linalg.norm(a, axis=-1)
    cols = np.linalg.norm(a, axis=-2)
    return np.median(np.sqrt(rows * cols), axis=0)


def _radius(dev: np.ndarray, coverage: float) -> float:
    r = float(np.quantile(dev, coverage)) if coverage < 1 else float(dev.max())
    return max(r * (1 + 1e-9), 1e-300)


def _fit_one(b: np.ndarray, shape: str, norm: str, coverage: float) -> Region:
    center = b.mean(axis=0)
    if shape == "box":
        dev = np.abs(b - center)
        w = np.quantile(dev, coverage, axis=0) if coverage < 1 else dev.max(axis=0)
        return Box(center, np.maximum(w * (1 + 1e-9), 1e-12 * max(1.0, float(np.abs(center).max()))))
    if shape == "symmetric":
        center = (center + center.T) / 2
        if norm == "auto":  # the norm whose region is certified furthest from the singular set
            options = [_fit_one(b, shape, "spectral", coverage)]
            if np.linalg.eigvalsh(center)[0] > 0:
                options.append(_fit_one(b, shape, "relative", coverage))
            return max(options, key=lambda r: r.certified_distance)
        whiten = None
        if norm == "relative":
            if not np.linalg.eigvalsh(center)[0] > 0:
                raise InputError(
                    "norm: 'relative' needs a positive definite mean of the (equilibrated) sample; its "
                    f"smallest eigenvalue is {np.linalg.eigvalsh(center)[0]:.3g}"
                )
            whiten = np.linalg.inv(np.linalg.cholesky(center))
        dev = symmetric_size(b - center, norm, whiten=whiten)
        return Symmetric(center, _radius(dev, coverage), norm=norm)
    norm = "spectral" if norm == "auto" else norm
    return Ball(center, _radius(matrix_norm(b - center, norm), coverage), norm=norm)


def fit_region(
    a,
    *,
    shape: str = "auto",
    norm: str = "auto",
    centers: int = 1,
    coverage: float = 1.0,
    equilibrate="auto",
    seed: int = 0,
) -> Region:
    """A region fitted to the samples a (m, n, n); see the module docstring. region.info records the sample size,
    the share of the sample the region holds ("coverage"), the number of centers ("centers"), the equilibration and
    the certificate.

    shape: "auto", "symmetric", "ball" or "box"; norm: "spectral", "fro", "relative" (symmetric only: perturbations
    measured against a positive definite centre) or "auto" (symmetric: whichever of spectral and relative certifies
    further from the singular set; ball: spectral); centers: K >= 1 (K > 1 gives a Union); coverage in (0, 1];
    equilibrate: "auto", True or False; seed: k-means seeding.
    """
    a = check_samples(a)
    m = a.shape[0]
    _check_options(m, shape, norm, centers, coverage)
    symmetric = _symmetric_to_rounding(a)
    shape = _resolve_shape(a, shape, norm, symmetric)
    s = variable_scales(a)
    spread = float(s.max() / s.min()) if s.min() > 0 else float("inf")
    d = _equilibration(s, spread, equilibrate)
    b = a * (d[:, None] * d[None, :]) if d is not None else a
    if shape == "symmetric":
        b = (b + np.swapaxes(b, -1, -2)) / 2
    members, sizes = _fit_members(b, shape, norm, coverage, centers, seed)
    inner = members[0] if len(members) == 1 else Union(members, weights=sizes)
    region = Equilibrated(inner, d) if d is not None else inner
    held = float(region.contains(a, slack=1e-9 * (1 + float(np.abs(b).max()))).mean())
    region.info.update(
        {
            "fitted_from": m,
            "shape": shape,
            "norm": getattr(members[0], "norm", None),
            "centers": len(members),
            "requested_coverage": coverage,
            "coverage": held,
            "symmetric_sample": symmetric,
            "equilibrated": d is not None,
            "variable_scale_spread": spread,
            "certified_distance": region.certified_distance,
            "center_sigma_min": region.center_sigma_min,
            "positive_definite": region.positive_definite,
        }
    )
    return region


def _check_options(m: int, shape: str, norm: str, centers, coverage: float) -> None:
    """Refuse options fit_region cannot use on m samples, with a one-line InputError naming the parameter."""
    if shape not in FIT_SHAPES:
        raise InputError(f"shape: expected one of {', '.join(FIT_SHAPES)}, got {shape!r}")
    if norm not in FIT_NORMS:
        raise InputError(f"norm: expected one of {', '.join(FIT_NORMS)}, got {norm!r}")
    if not (isinstance(centers, (int, np.integer)) and centers >= 1):
        raise InputError(f"centers: expected an integer >= 1, got {centers!r}")
    if not (0 < coverage <= 1):
        raise InputError(f"coverage: expected a number in (0, 1], got {coverage!r}")
    if m < MIN_PER_CENTER * centers:
        raise InputError(
            f"matrices: {m} samples are too few to fit {centers} centre(s); give at least {MIN_PER_CENTER * centers}"
        )


def _symmetric_to_rounding(a: np.ndarray) -> bool:
    """Every sample symmetric to rounding (a product like X^T X need not come out exactly symmetric)."""
    asym = np.abs(a - np.swapaxes(a, -1, -2)).max(axis=(-2, -1))
    return bool(np.all(asym <= 64 * np.finfo(float).eps * np.abs(a).max(axis=(-2, -1))))


def _resolve_shape(a: np.ndarray, shape: str, norm: str, symmetric: bool) -> str:
    """The shape to fit ("auto": symmetric for a symmetric sample, else a ball), checked against norm and sample."""
    if shape == "auto":
        shape = "symmetric" if symmetric else "ball"
    if norm == "relative" and shape != "symmetric":
        raise InputError(f"norm: 'relative' goes with symmetric perturbations, not shape {shape!r}")
    elif shape == "symmetric" and not symmetric:
        worst = float(np.abs(a - np.swapaxes(a, -1, -2)).max())
        raise InputError(f"shape: 'symmetric' needs symmetric matrices; the sample has max |A - A^T| = {worst:.3g}")
    return shape


def _equilibration(s: np.ndarray, spread: float, equilibrate) -> np.ndarray | None:
    """d (n,) with B = D A D, D = diag(d), or None when the fit is not equilibrated ("auto": when the variable
    scales s span more than EQUILIBRATE_ABOVE)."""
    if equilibrate == "auto":
        equilibrate = bool(np.isfinite(spread) and spread > EQUILIBRATE_ABOVE)
    elif equilibrate and not (s.min() > 0):
        raise InputError("equilibrate: a variable is zero in most of the sample; its scale is undefined")
    # Powers of two: D A D is then exact in floating point, and so is the way back.
    return np.exp2(np.round(np.log2(1 / np.sqrt(s)))) if equilibrate else None


def _fit_members(
    b: np.ndarray, shape: str, norm: str, coverage: float, centers: int, seed: int
) -> tuple[list[Region], list[int]]:
    """The member regions around one centre (the mean) or k-means centers, largest cluster first, and how many
    samples each was fitted to."""
    if centers == 1:
        return [_fit_one(b, shape, norm, coverage)], [b.shape[0]]
    from scipy.cluster.vq import kmeans2

    _, labels = kmeans2(b.reshape(b.shape[0], -1), int(centers), seed=seed, minit="++")
    members, sizes = [], []
    for k in np.argsort(-np.bincount(labels, minlength=centers)):  # the largest cluster first
        part = b[labels == k]
        if len(part):
            members.append(_fit_one(part, shape, norm, coverage))
            sizes.append(len(part))
    return members, sizes
