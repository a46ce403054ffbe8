"""Finding a singular matrix in a region, and widening a region until it holds one.

A search that finds nothing proves nothing; only a region's certified distance (Region.certified_distance > 0)
proves that it holds no singular matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neuralinv.experiments.limits.geometry import det_sign, nearest_singular, project_to_region, singular_near
from neuralinv.regions.composite import Equilibrated
from neuralinv.regions.shapes import Ball, Box, Region, sigma_min


@dataclass(frozen=True)
class SingularPoint:
    """A numerically singular matrix S (n, n) in a box and how it was found."""

    matrix: np.ndarray
    method: str

    @property
    def singular_values(self) -> np.ndarray:
        """The singular values of S, largest first."""
        return np.linalg.svd(self.matrix, compute_uv=False)


def find_singular(box: Region, *, seed: int = 0, samples: int = 2048, iterations: int = 100) -> SingularPoint | None:
    """A singular matrix in the region, or None when none was found (which proves nothing, unlike the certificate).

    Tries, in order: the nearest singular matrix to the centre (A0 - sigma_min u v^T); alternating projections
    between the region (project_to_region; clipping for a box) and the singular set (nearest singular matrix);
    bisection of det between two region points of opposite determinant sign (the segment lies in the convex region,
    so its zero does too). A union is searched member by member (each is convex; the union need not be), an
    equilibrated region in its inner region (D A D is singular exactly when A is).
    """
    if getattr(box, "members", None):
        return _find_in_union(box, seed=seed, samples=samples, iterations=iterations)
    if isinstance(box, Equilibrated):
        # A is singular exactly when D A D is: search the inner region, where its shape is simple, and map back.
        point = find_singular(box.inner, seed=seed, samples=samples, iterations=iterations)
        return (
            None
            if point is None
            else SingularPoint(box.unscale_matrix(point.matrix), f"{point.method}, for D A D (equilibrated region)")
        )
    s_mat = singular_near(box.center, box)
    if box.contains(s_mat):
        return SingularPoint(s_mat, "nearest singular matrix to the centre, A0 - sigma_min u v^T")
    found, points = _alternating_projections(box, iterations)
    if found is not None:
        return found
    points += _corner_points(box)
    points = np.concatenate(
        [np.stack(points), box.sample(samples, generator=torch.Generator().manual_seed(seed)).numpy()]
    )
    return _bisect_det(points, box)


def _find_in_union(box: Region, *, seed: int, samples: int, iterations: int) -> SingularPoint | None:
    """find_singular on each member of a union in turn (each is convex), the first found."""
    members = box.members
    for k, member in enumerate(members):
        point = find_singular(member, seed=seed + k, samples=max(64, samples // len(members)), iterations=iterations)
        if point is not None:
            return SingularPoint(point.matrix, f"{point.method} (union member {k + 1})")
    return None


def _alternating_projections(box: Region, iterations: int) -> tuple[SingularPoint | None, list[np.ndarray]]:
    """Project back and forth between the region and the singular set from the centre: a singular matrix that lands
    in the region, or None and the region points visited (the centre first)."""
    points = [box.center]
    q = box.center
    for _ in range(iterations):
        s_mat = singular_near(q, box)
        if box.contains(s_mat):
            return SingularPoint(s_mat, "alternating projections between the box and the singular set"), points
        q = project_to_region(s_mat, box)
        points.append(q)
    return None, points


def _corner_points(box: Region) -> list[np.ndarray]:
    """Corners that push det(A0 + E) = det(A0) + <cof(A0), E> + ... towards zero fastest, and along +-u v^T (for a
    region other than a box: the corners of its bounding box, projected into it)."""
    center = box.center
    u, _, vt = np.linalg.svd(center)
    cof = np.linalg.det(center) * np.linalg.inv(center).T
    w = box.bounding_box().half_widths
    corners = [
        center - w * np.sign(np.linalg.det(center) * cof),
        center - w * np.sign(np.outer(u[:, -1], vt[-1])),
        center + w * np.sign(np.outer(u[:, -1], vt[-1])),
    ]
    return corners if isinstance(box, Box) else [project_to_region(c, box) for c in corners]


def _bisect_det(points: np.ndarray, box: Region) -> SingularPoint | None:
    """A point of det = 0 among points (N, n, n), else bisection of det between the first point and the first one of
    the opposite sign (the segment stays in the convex region); None when every det has the same sign."""
    where = "box" if isinstance(box, Box) else "region"
    signs = det_sign(points)
    if np.any(signs == 0):
        return SingularPoint(points[np.argmax(signs == 0)], f"a {where} point with det = 0")
    ref = signs[0]
    if np.all(signs == ref):
        return None
    lo, hi = points[0], points[np.argmax(signs != ref)]
    for _ in range(200):
        mid = (lo + hi) / 2
        if np.array_equal(mid, lo) or np.array_equal(mid, hi):
            break
        sign = det_sign(mid)
        if sign == 0:
            lo = hi = mid
            break
        lo, hi = (mid, hi) if sign == ref else (lo, mid)
    best = min((lo, hi), key=lambda m: float(sigma_min(m)))
    return SingularPoint(best, f"bisection of det between {where} points of opposite sign")


def widen_to_singular(box: Region) -> tuple[Region, str]:
    """The region itself if it holds a singular matrix, else the same centre widened until it does.

    The nearest singular matrix to A0 is A0 - s u v^T (s = sigma_min(A0)); it lies in the box of half-width
    s max_ij |u_i v_j|, and in the ball of radius s (either norm). We take 1.25 times that, so the singular matrix
    sits inside with room to step around it. A region of another shape (a union, an equilibrated region) is replaced
    by its bounding box, widened the same way.
    """
    if find_singular(box) is not None:
        if isinstance(box, Box):
            return box, f"the model's own box (c = {box.radius:g}), which already holds a singular matrix"
        return box, f"the model's own region ({box.describe()}), which already holds a singular matrix"
    _, u, v, s = nearest_singular(box.center)
    if isinstance(box, Ball):
        radius = max(box.ball_radius, 1.25 * s)
        wide = type(box)(box.center, radius, norm=box.norm)
        return wide, (
            f"the model's {box.shape} region widened from radius {box.ball_radius:g} to {radius:.6g}, "
            f"until it holds the singular matrix A0 - sigma_min(A0) u v^T"
        )
    radius = max(box.radius, 1.25 * s * float(np.abs(np.outer(u, v)).max()))
    if isinstance(box, Box) and box.uniform:
        return Box(box.center, radius), (
            f"the model's box widened from c = {box.radius:g} to c = {radius:.6g}, "
            f"until it holds the singular matrix A0 - sigma_min(A0) u v^T"
        )
    bound = box.bounding_box()
    wide = Box(bound.center, np.maximum(bound.half_widths, radius))
    what = "box" if isinstance(box, Box) else f"{box.shape} region's bounding box"
    return wide, (
        f"the model's {what} widened to half-widths of at least {radius:.6g}, until it holds the "
        f"singular matrix A0 - sigma_min(A0) u v^T"
    )
