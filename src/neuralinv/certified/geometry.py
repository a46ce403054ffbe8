"""What the fast path needs of a region: its centres, the equilibration D, the box test, and the choices that follow
from them (the residual's precision, whether a float32 residual suffices on the exact path, a singular centre)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from neuralinv.certified.fast import fast_batch
from neuralinv.certified.plan import Plan, as_torch, fro
from neuralinv.linalg.rounding import SAFE, gamma
from neuralinv.linalg.rounding import unit_roundoff as _u
from neuralinv.regions.composite import Equilibrated, Union
from neuralinv.regions.shapes import Box, Region, Symmetric
from neuralinv.regions.singular import sigma_min, singular_to_precision

# plans(centre, radius, w, r, device): the Plan around a centre (a CertifiedInverter keeps them)
Plans = Callable[[np.ndarray, float, torch.dtype, torch.dtype, object], Plan]


def _pow2(d: np.ndarray) -> np.ndarray:
    """The powers of two nearest to d: scaling by them is exact in floating point."""
    return np.exp2(np.round(np.log2(d)))


@dataclass(frozen=True)
class Geometry:
    """What the fast path needs of a region: the equilibration D (powers of two, or None), the centres in the scaled
    space B = D A D, and per centre the half-width of the box test (inf: none; only uniform boxes have one)."""

    scale: np.ndarray | None
    centers: np.ndarray  # (K, n, n)
    radii: tuple[float, ...]
    growth: float  # d_max^2 ||B0^-1||_F / ||A0^-1||_F: how much the bound grows from B to A (1 without scaling)
    symmetric: bool  # every member holds symmetric matrices only (the exact path may then try Cholesky)

    @classmethod
    def of(cls, region: Region) -> "Geometry":
        """The geometry of a region (a shape, a union of them, or either equilibrated)."""
        inner = region.inner if isinstance(region, Equilibrated) else region
        members = inner.members if isinstance(inner, Union) else [inner]
        radii = tuple(m.radius if isinstance(m, Box) and m.uniform else math.inf for m in members)
        symmetric = all(isinstance(m, Symmetric) for m in members)
        if not isinstance(region, Equilibrated):
            return cls(None, np.stack([m.center for m in members]), radii, 1.0, symmetric)
        d = _pow2(region.scale)
        centers = region.centers * np.outer(d, d)  # A-space centres in the power-of-two scaled space
        a0, b0 = region.centers[0], centers[0]
        try:
            growth = float(d.max() ** 2 * np.linalg.norm(np.linalg.inv(b0)) / np.linalg.norm(np.linalg.inv(a0)))
        except np.linalg.LinAlgError:
            growth = math.inf  # a singular centre: no fast path (see singular_centre)
        radii = radii if np.array_equal(d, region.scale) else (math.inf,) * len(members)
        return cls(d, centers, radii, growth, symmetric)

    @property
    def key(self) -> tuple:
        """A hashable value equal for equal geometries."""
        scale = None if self.scale is None else self.scale.tobytes()
        return (self.centers.tobytes(), self.centers.shape, self.radii, scale, self.growth, self.symmetric)


def residual_radius(region: Region) -> float:
    """The entry bound the residual precision is chosen for: the region's, or for an equilibrated one its inner
    region's (the radius in the scaled space)."""
    return region.inner.radius if isinstance(region, Equilibrated) else region.radius


def _nearest(t: torch.Tensor, centers: np.ndarray) -> torch.Tensor:
    """Index (B,) of the nearest centre (Frobenius) to each matrix of t (B, n, n): one (B, n^2) x (n^2, K) product."""
    c = torch.from_numpy(centers.reshape(len(centers), -1)).to(t.dtype).to(t.device)
    score = t.reshape(t.shape[0], -1) @ c.T  # ||A - C_k||^2 = ||A||^2 - 2 <A, C_k> + ||C_k||^2
    return (c.pow(2).sum(1) / 2 - score).argmin(1)


def _fro_lower(t: torch.Tensor) -> torch.Tensor:
    """A lower bound (...) float64 on ||t||_F of t (..., n, n), covering the norm's own rounding (see plan.fro)."""
    n = t.shape[-1]
    v = torch.linalg.vector_norm(t, dim=(-2, -1)).double()
    return (v * (1 - (n * n + 8) * _u(t.dtype)) - n * math.sqrt(torch.finfo(t.dtype).tiny)).clamp(min=0)


def _unscale(geo: Geometry, dd: torch.Tensor, x, bound, good, tol: float) -> None:
    """Carry the certified answers Y ~ B^-1 back to X = D Y D, with their bounds (see fast_region)."""
    pos = good.nonzero().squeeze(1)
    y = x[pos]
    yn = as_torch(fro(y), y)
    xs = y * dd
    xn = _fro_lower(xs)
    beta = bound[pos]
    e = float(geo.scale.max()) ** 2 * beta * yn / (1 - beta)
    rel = torch.where((beta < 1) & (xn > e), e / (xn - e), torch.full_like(e, math.inf)) * SAFE
    x[pos], bound[pos] = xs, rel
    good[pos] = rel <= tol


def fast_region(
    t, geo: Geometry, plans: Plans, x, bound, steps, outside, *, tol, init, max_steps, r, lane, buf
) -> torch.Tensor:
    """The fast path over t (B, n, n) in w for a region's geometry: equilibrate, route each matrix to its nearest
    centre, run the fast path per centre, and carry answers and bounds back to A. Returns the certified mask (B,).

    Equilibrated: B = D A D exactly (D of powers of two), the fast path certifies Y ~ B^-1 with relative bound beta
    (at the tighter tol / (2 growth)), and X = D Y D exactly. Then ||X - A^-1||_F = ||D (Y - B^-1) D||_F <=
    d_max^2 beta ||B^-1||_F <= d_max^2 beta ||Y||_F / (1 - beta) =: e, and ||A^-1||_F >= ||X||_F - e, so the relative
    error of X is at most e / (||X||_F - e), with the norms widened (upper for Y, lower for X) by their rounding.
    """
    w, dev = t.dtype, t.device
    tol_b = tol if geo.scale is None else tol / (2 * geo.growth)
    if geo.scale is not None:
        dd = torch.from_numpy(np.outer(geo.scale, geo.scale)).to(w).to(dev)
        t = t * dd
    kw = dict(tol=tol_b, init=init, max_steps=max_steps, lane=lane, buf=buf)
    if len(geo.centers) == 1:
        good = fast_batch(plans(geo.centers[0], geo.radii[0], w, r, dev), t, x, bound, steps, outside, **kw)
    else:
        good = torch.zeros(t.shape[0], dtype=torch.bool, device=dev)
        which = _nearest(t, geo.centers)
        for k in range(len(geo.centers)):
            pos = (which == k).nonzero().squeeze(1)
            if pos.numel():
                xs, bs, ks, os = x[pos], bound[pos], steps[pos], outside[pos]
                g = fast_batch(plans(geo.centers[k], geo.radii[k], w, r, dev), t[pos], xs, bs, ks, os, **kw)
                x[pos], bound[pos], steps[pos], outside[pos], good[pos] = xs, bs, ks, os, g
    if geo.scale is not None and bool(good.any()):
        _unscale(geo, dd, x, bound, good, tol)
    return good


def residual_dtype(geo: Geometry, radius: float, plans: Plans, w: torch.dtype, tol: float, device) -> torch.dtype:
    """float64 where float32's rounding of the first residual would take a noticeable share of tol (a far-reaching
    region or a large ||A0^-1||): the floor g0 ~ s0_err + s0_per_e max|E_ij| is estimated at the region's radius
    (residual_radius)."""
    if w == torch.float64:
        return w
    tol_b = tol if geo.scale is None else tol / (2 * geo.growth)
    p = plans(geo.centers[0], geo.radii[0], w, w, device)
    floor = p.s0_err + p.s0_per_e * min(radius, 1 / max(p.s0_per_e, 1e-300))
    return w if floor < tol_b / 16 else torch.float64


def float32_residual_suffices(geo: Geometry, w: torch.dtype, tol: float) -> bool:
    """Whether float32's rounding of an exact-path residual, gamma_{n+1} (sqrt(n) + ||X||_F ||A||_F), is expected
    below tol / 4 for matrices near the region's centres (then bounds start from a float32 residual)."""
    if w != torch.float32:
        return False
    n = geo.centers.shape[-1]
    a0 = geo.centers if geo.scale is None else geo.centers / np.outer(geo.scale, geo.scale)
    try:
        spread = max(float(np.linalg.norm(c) * np.linalg.norm(np.linalg.inv(c))) for c in a0)
    except np.linalg.LinAlgError:
        return False
    return gamma(n + 1, _u(torch.float32)) * (math.sqrt(n) + 2 * spread) < tol / 4


def singular_centre(geo: Geometry, w: torch.dtype) -> str:
    """Why no fast path exists around the region's centres ("" when one does): a centre singular in w."""
    for c in geo.centers:
        c_w = torch.tensor(c, dtype=w).double().numpy()
        if singular_to_precision(c_w):
            return f"the centre is singular in {str(w).removeprefix('torch.')} (sigma_min(A0) = {sigma_min(c_w):.3g})"
    return ""
