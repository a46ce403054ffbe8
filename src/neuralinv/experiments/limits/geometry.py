"""Region geometry for the why-can't searches: the nearest singular matrix, projections into a region, its edge.

Points are kept in a region by project_to_region (a clip per entry for a box, a radial projection for a ball), and
searches along a line stop at the region's edge, found by its membership test where the shape has no closed form.
"""

from __future__ import annotations

import numpy as np

from neuralinv.regions.composite import Equilibrated
from neuralinv.regions.shapes import Ball, Box, Region, Symmetric, matrix_norm

# Radial projections land a hair inside the sphere, so the membership test never fails on rounding.
_INSIDE = 1 - 1e-12


def certificate_formula(region: Region) -> str:
    """How the region's certified distance to the singular set is computed, in words."""
    if isinstance(region, Box):
        return "sigma_min(A0) - n c" if region.uniform else "sigma_min(A0) - ||W||_2"
    if isinstance(region, Symmetric):
        return "min |lambda(A0)| - r"
    if isinstance(region, Ball):
        return "sigma_min(A0) - r"
    if isinstance(region, Equilibrated):
        return "(certified distance of D A D) / max(d)^2"
    return "the smallest certified distance of the members"


def nearest_singular(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(S, u, v, s): S = a - s u v^T is the singular matrix nearest to a (n, n), s = sigma_min(a)."""
    u, s, vt = np.linalg.svd(a)
    return a - s[-1] * np.outer(u[:, -1], vt[-1]), u[:, -1], vt[-1], float(s[-1])


def det_sign(a: np.ndarray) -> np.ndarray:
    """The sign of det(a) for each matrix of a (..., n, n): -1, 0 or 1 (from slogdet, so it never overflows)."""
    return np.linalg.slogdet(a)[0]


def clip_to_box(a: np.ndarray, box: Box) -> np.ndarray:
    """a clipped entrywise into the box (per-entry half-widths); any other region's bounding box."""
    box = box.bounding_box()
    return np.clip(a, box.center - box.half_widths, box.center + box.half_widths)


def project_to_region(a: np.ndarray, region: Region) -> np.ndarray:
    """A point of the region near a (n, n): a itself when inside; else, for a box, the entrywise clip (the nearest
    point); for a ball, the radial projection onto its sphere (the nearest point in the Frobenius norm, a point of the
    sphere in the spectral one); for symmetric perturbations, the symmetric part then the radial projection; for an
    equilibrated region, the projection of D a D onto the inner region mapped back; for a union, the nearest (in the
    Frobenius norm) of the members' projections. Box points are returned exactly as before (clip_to_box)."""
    a = np.asarray(a, dtype=np.float64)
    if isinstance(region, Box):
        return clip_to_box(a, region)
    if region.contains(a):
        return a
    if isinstance(region, Ball):
        e = a - region.center
        if isinstance(region, Symmetric):
            e = (e + e.T) / 2
        size = float(matrix_norm(e, region.norm))
        scale = min(1.0, region.ball_radius * _INSIDE / size) if size > 0 else 0.0
        return region.center + scale * e
    if isinstance(region, Equilibrated):
        return region.unscale_matrix(project_to_region(region.scale_matrix(a), region.inner))
    members = getattr(region, "members", None)
    if members:
        points = [project_to_region(a, m) for m in members]
        return min(points, key=lambda p: float(np.linalg.norm(p - a)))
    # Any other shape: the segment from the centre towards a, cut at the region's edge.
    return region.center + room_along(region.center, a - region.center, region, 1.0) * (a - region.center)


def room_along(start: np.ndarray, direction: np.ndarray, region: Region, t_hi: float, *, iterations: int = 60) -> float:
    """Largest t in [0, t_hi] with start + t direction in the (convex) region, by bisection on its membership test;
    start must lie in it. Returns a t whose point passes contains()."""
    if region.contains(start + t_hi * direction):
        return t_hi
    lo, hi = 0.0, t_hi
    for _ in range(iterations):
        mid = (lo + hi) / 2
        if region.contains(start + mid * direction):
            lo = mid
        else:
            hi = mid
    return lo


def symmetric_only(region: Region) -> bool:
    """The region holds symmetric matrices only (symmetric perturbations, possibly equilibrated)."""
    return isinstance(getattr(region, "inner", region), Symmetric)


def singular_near(a: np.ndarray, region: Region) -> np.ndarray:
    """The nearest singular matrix to a; symmetrised for a region of symmetric matrices (A0 - lambda w w^T up to
    rounding), so that it can lie in the region at all."""
    s_mat = nearest_singular(a)[0]
    return (s_mat + s_mat.T) / 2 if symmetric_only(region) else s_mat


def convex_piece(region: Region, point: np.ndarray) -> Region:
    """The convex part of the region holding point: the first member of a union that holds it, else the region (every
    other shape is convex)."""
    for member in getattr(region, "members", None) or []:
        if member.contains(point, slack=1e-12 * (1 + member.radius)):
            return member
    return region
