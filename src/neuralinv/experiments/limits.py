"""Why can't: the paper's impossibility results (Section 3) demonstrated on real models.

Near a rank n-1 matrix S the inverse blows up: sigma_min(A) = dist(A, singular set) (2-norm and Frobenius,
Eckart-Young-Mirsky) and ||A^-1||_2 = 1 / sigma_min(A). A network F is bounded on a bounded region, so wherever the
region holds S, ||A^-1 - F(A)|| >= 1 / sigma_min(A) - ||F(A)|| exceeds any E (Thm 3.7). Uniform samples of a box
crossed by the singular hypersurface have P(||A^-1 - F|| > t) ~ C / t: a tail index of 1, so the k-th moments for
k >= 1 are infinite (stronger than the paper's k > n^2 of Thm 3.9); their sample estimates grow without settling.

Experiments here, each for any model F: a Network or a callable mapping a float64 tensor (..., n, n) to (..., n, n):
- counterexample: a matrix x in a region with ||inv(x) - F(x)|| > E, checked in float64 with numpy (LAPACK),
  or a certificate that the region holds no singular matrix (then ||A^-1||_2 <= 1 / certified distance there);
- error_vs_distance: per-sample error against sigma_min(A);
- moment_growth: E_N ||A^-1 - F||^k against the sample size N, and the Hill estimate of the error's tail index;
- report_section: all of the above on freshly trained 2-FC and 3-FC nets, as the reproduce report's "Why can't".

A region is any neuralinv.regions.shapes.Region: the paper's boxes (one half-width c, or per-entry half-widths), balls,
symmetric perturbations, unions and equilibrated regions. Points are kept in the region by project_to_region (a clip
per entry for a box, a radial projection for a ball), and searches along a line stop at the region's edge, found by
its membership test where the shape has no closed form.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Union

import numpy as np
import torch

from neuralinv.common.errors import InputError
from neuralinv.linalg.classical import exact_inverse, taylor_inverse
from neuralinv.nets.mlp import Network
from neuralinv.paper.presets import DATASETS
from neuralinv.regions.composite import Equilibrated
from neuralinv.regions.shapes import Ball, Box, Region, Symmetric, matrix_norm, positive_number, sigma_min
from neuralinv.reporting.formats import short

Model = Union[Network, Callable[[torch.Tensor], torch.Tensor]]
NORMS = ("fro", "l1", "linf")
EPS = np.finfo(np.float64).eps

# The singular-containing 2x2 box of the experiments: det(A0) = 0.5, sigma_min(A0) = 0.092, and the singular
# hypersurface det = 0 cuts off one side of it (sigma_min(A0) - 2c = -0.068; 2.6% of uniform samples lie within 0.01
# of it), so a net can fit most of the box and still must fail near that side. The safe box is the paper's 2x2 (First)
# box, certified clear of the singular set (sigma_min >= 0.418 on all of it).
SINGULAR_BOX = Box(np.array([[1.0, 2.0], [2.0, 4.5]]), 0.08)
SAFE_BOX = DATASETS["2x2-first"].region


# ---------------------------------------------------------------------------------------------------------------------
# Helpers: evaluating any model, norms, the nearest singular matrix, finding a singular matrix in a box.


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


def check_threshold(threshold) -> float:
    return positive_number(threshold, "threshold")


def check_norm(norm: str) -> str:
    if norm not in NORMS:
        raise InputError(f"norm: expected one of {', '.join(NORMS)}, got {norm!r}")
    return norm


def model_size(model: Model) -> int | None:
    box = getattr(model, "box", None)
    return box.n if isinstance(box, Region) else None


def check_region(model: Model, region: Region | None) -> Region | None:
    n = model_size(model)
    if region is not None and n is not None and region.n != n:
        raise InputError(f"region: a {region.n}x{region.n} {region.shape}, but the model is for {n}x{n} matrices")
    return region


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
    return np.linalg.slogdet(a)[0]


def clip_to_box(a: np.ndarray, box: Box) -> np.ndarray:
    """a clipped entrywise into the box (per-entry half-widths); any other region's bounding box."""
    box = box.bounding_box()
    return np.clip(a, box.center - box.half_widths, box.center + box.half_widths)


# Radial projections land a hair inside the sphere, so the membership test never fails on rounding.
_INSIDE = 1 - 1e-12


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
    return region.center + _edge(region.center, a - region.center, region, 1.0) * (a - region.center)


def _edge(start: np.ndarray, direction: np.ndarray, region: Region, t_hi: float, *, iterations: int = 60) -> float:
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


def _singular_near(a: np.ndarray, region: Region) -> np.ndarray:
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


@dataclass(frozen=True)
class SingularPoint:
    """A numerically singular matrix S (n, n) in a box and how it was found."""

    matrix: np.ndarray
    method: str

    @property
    def singular_values(self) -> np.ndarray:
        return np.linalg.svd(self.matrix, compute_uv=False)


def find_singular(box: Region, *, seed: int = 0, samples: int = 2048, iterations: int = 100) -> SingularPoint | None:
    """A singular matrix in the region, or None when none was found (which proves nothing, unlike the certificate).

    Tries, in order: the nearest singular matrix to the centre (A0 - sigma_min u v^T); alternating projections
    between the region (project_to_region; clipping for a box) and the singular set (nearest singular matrix);
    bisection of det between two region points of opposite determinant sign (the segment lies in the convex region,
    so its zero does too). A union is searched member by member (each is convex; the union need not be), an
    equilibrated region in its inner region (D A D is singular exactly when A is).
    """
    members = getattr(box, "members", None)
    if members:
        for k, member in enumerate(members):
            point = find_singular(
                member, seed=seed + k, samples=max(64, samples // len(members)), iterations=iterations
            )
            if point is not None:
                return SingularPoint(point.matrix, f"{point.method} (union member {k + 1})")
        return None
    if isinstance(box, Equilibrated):
        # A is singular exactly when D A D is: search the inner region, where its shape is simple, and map back.
        point = find_singular(box.inner, seed=seed, samples=samples, iterations=iterations)
        return (
            None
            if point is None
            else SingularPoint(box.unscale_matrix(point.matrix), f"{point.method}, for D A D (equilibrated region)")
        )
    center = box.center
    s_mat = _singular_near(center, box)
    if box.contains(s_mat):
        return SingularPoint(s_mat, "nearest singular matrix to the centre, A0 - sigma_min u v^T")
    points = [center]
    q = center
    for _ in range(iterations):
        s_mat = _singular_near(q, box)
        if box.contains(s_mat):
            return SingularPoint(s_mat, "alternating projections between the box and the singular set")
        q = project_to_region(s_mat, box)
        points.append(q)
    # Corners that push det(A0 + E) = det(A0) + <cof(A0), E> + ... towards zero fastest, and along -u v^T (for a
    # region other than a box: the corners of its bounding box, projected into it).
    u, _, vt = np.linalg.svd(center)
    cof = np.linalg.det(center) * np.linalg.inv(center).T
    w = box.bounding_box().half_widths
    corners = [
        center - w * np.sign(np.linalg.det(center) * cof),
        center - w * np.sign(np.outer(u[:, -1], vt[-1])),
        center + w * np.sign(np.outer(u[:, -1], vt[-1])),
    ]
    points += corners if isinstance(box, Box) else [project_to_region(c, box) for c in corners]
    points = np.concatenate(
        [np.stack(points), box.sample(samples, generator=torch.Generator().manual_seed(seed)).numpy()]
    )
    signs = det_sign(points)
    if np.any(signs == 0):
        return SingularPoint(
            points[np.argmax(signs == 0)], f"a {'box' if isinstance(box, Box) else 'region'} point with det = 0"
        )
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
    where = "box" if isinstance(box, Box) else "region"
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


# ---------------------------------------------------------------------------------------------------------------------
# Theorem 3.7: a counterexample x in the region with ||inv(x) - F(x)|| > E.


@dataclass
class Counterexample:
    """The result of a counterexample search: found, or certified impossible, or not found (with why).

    x (n, n) is the matrix found (or, when not found, the last one tried); error = ||inv(x) - F(x)|| in the chosen
    vectorised norm, inverse_norm = ||inv(x)||, model_norm = ||F(x)||, sigma_min = sigma_min(x), all float64.
    path lists every step tried: {t, sigma_min, error, model_norm, resolution, in_region}.
    """

    found: bool
    threshold: float
    norm: str
    region: Region
    region_note: str
    message: str
    certified: bool = False
    certified_distance: float = 0.0
    max_inverse_norm: float | None = None  # over the region, 2-norm; only when certified
    x: np.ndarray | None = None
    sigma_min: float | None = None
    error: float | None = None
    inverse_norm: float | None = None
    model_norm: float | None = None
    singular: np.ndarray | None = None
    singular_method: str | None = None
    direction: str | None = None
    path: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        as_list = lambda m: None if m is None else m.tolist()  # noqa: E731
        return {
            "found": self.found,
            "threshold": self.threshold,
            "norm": self.norm,
            "message": self.message,
            "region": self.region.to_json(),
            "region_note": self.region_note,
            "certified": self.certified,
            "certified_distance": self.certified_distance,
            "max_inverse_norm": self.max_inverse_norm,
            "x": as_list(self.x),
            "sigma_min": self.sigma_min,
            "error": self.error,
            "inverse_norm": self.inverse_norm,
            "model_norm": self.model_norm,
            "singular_matrix": as_list(self.singular),
            "singular_method": self.singular_method,
            "direction": self.direction,
            "path": self.path,
        }


def verify(model: Model, x: np.ndarray, region: Region, threshold: float, *, norm: str = "fro") -> dict:
    """Independent float64 check of a counterexample: x in the region, ||inv(x) - F(x)|| > threshold.

    inv(x) is numpy's LAPACK inverse; the SVD inverse V diag(1/s) U^T is computed beside it, and their relative gap
    (inverse_agreement) shows whether float64 still resolves inv(x). resolution = ||inv(x)|| max(agreement,
    n eps cond(x)) bounds how far the computed inv(x) may be off; a counterexample must clear E by that much, so
    rounding in inv(x) can never pass for a model's error: exceeds = in_region and error - resolution > threshold.
    When x is singular in float64 (sigma_min(x) = 0, or LAPACK finds a zero pivot) inv(x) does not exist: error,
    inverse_norm and resolution are then inf and exceeds is False.
    """
    x = np.asarray(x, dtype=np.float64)
    u, s, vt = np.linalg.svd(x)
    fx = apply_model(model, x[None])[0]
    in_region = bool(region.contains(x))
    try:
        x_inv = np.linalg.inv(x) if s[-1] > 0 else None
    except np.linalg.LinAlgError:  # exactly singular to LAPACK's LU
        x_inv = None
    if x_inv is None or not np.all(np.isfinite(x_inv)):
        # inv(x) does not exist in float64: no error can be certified here (the caller steps off x instead).
        return {
            "in_region": in_region,
            "sigma_min": float(s[-1]),
            "sigma_max": float(s[0]),
            "error": math.inf,
            "inverse_norm": math.inf,
            "model_norm": float(error_norm(fx, norm)),
            "inverse_agreement": math.inf,
            "resolution": math.inf,
            "exceeds": False,
        }
    svd_inv = (vt.T / s) @ u.T
    error = float(error_norm(x_inv - fx, norm))
    inverse_norm = float(error_norm(x_inv, norm))
    agreement = float(np.linalg.norm(x_inv - svd_inv) / np.linalg.norm(x_inv))
    resolution = inverse_norm * max(agreement, x.shape[-1] * EPS * float(s[0] / s[-1]))
    return {
        "in_region": in_region,
        "sigma_min": float(s[-1]),
        "sigma_max": float(s[0]),
        "error": error,
        "inverse_norm": inverse_norm,
        "model_norm": float(error_norm(fx, norm)),
        "inverse_agreement": agreement,
        "resolution": resolution,
        "exceeds": bool(in_region and error - resolution > threshold),
    }


def null_directions(singular: np.ndarray, *, rtol: float = math.sqrt(EPS)) -> tuple[np.ndarray, np.ndarray, float]:
    """(U0, V0, gap) for a singular matrix S (n, n) of any rank: the k >= 1 singular pairs whose singular values count
    as zero, U0 and V0 (n, k), and gap, the smallest of S's other singular values (inf when k = n, e.g. S = 0).

    With S = U diag(s) V^T and the smallest s_i <= rtol s_1 counted as zero (always at least the smallest one; all n
    when S = 0), D = U0 V0^T gives S + t D = U diag(s_1, ..., s_{n-k}, s_{n-k+1} + t, ..., s_n + t) V^T: its
    smallest singular value is s_n + t ~ t while t < gap. One pair alone would leave the others at ~0 when the
    rank of S is below n - 1.
    """
    u, sv, vt = np.linalg.svd(singular)
    zero = sv <= rtol * sv[0]
    zero[-1] = True
    k = int(zero.sum())
    n = len(sv)
    gap = float(sv[n - k - 1]) if k < n else math.inf
    return u[:, n - k :], vt[n - k :].T, gap


def step_direction(singular: np.ndarray, box: Region) -> tuple[np.ndarray, float, str]:
    """(D, t_max, name): S + t D stays in the region for 0 <= t <= t_max, and sigma_min(S + t D) ~ t.

    Prefer D = sum_i +-u_i v_i^T over the zero singular pairs of S (null_directions; for rank n-1 just +-u v^T):
    then sigma_min(S + t D) = t (plus S's own rounding-level sigma_min) while t < the next singular value of S. The
    signs are chosen to leave the most room in the region; when S sits on its boundary in the way of every choice,
    step along the segment towards the centre instead (it stays in the convex region). For a box the room is exact
    (per entry); for another shape it is found by bisection on the membership test of the convex piece holding S
    (the region itself, or the member of a union).
    """
    u0, v0, _ = null_directions(singular)
    k, n = u0.shape[1], singular.shape[0]
    piece = convex_piece(box, singular)
    offset = singular - piece.center
    # No point of the region is further than n * radius (Frobenius) from its centre: an upper bound on any room.
    reach = 2 * n * piece.radius + float(np.linalg.norm(offset))

    def room(direction):
        if not isinstance(piece, Box):
            return _edge(singular, direction, piece, reach / float(np.linalg.norm(direction)))
        # largest t with |offset + t direction| <= W entrywise
        w = piece.half_widths
        with np.errstate(divide="ignore", invalid="ignore"):
            limit = np.where(
                direction > 0, (w - offset) / direction, np.where(direction < 0, (w + offset) / -direction, np.inf)
            )
        return float(limit.min())

    # Every sign pattern for a few zero pairs (2^k directions), else the two overall signs.
    patterns = itertools.product((1.0, -1.0), repeat=k) if k <= 6 else [(1.0,) * k, (-1.0,) * k]
    best_room, best = -math.inf, None
    symmetric = symmetric_only(piece)
    for signs in patterns:
        d = (u0 * np.array(signs)) @ v0.T
        if symmetric:  # stay among symmetric matrices: for symmetric S, u_i v_i^T = +-w_i w_i^T up to rounding
            d = (d + d.T) / 2
        r = room(d)
        if r > best_room:
            best_room, best = r, d
    if best_room > 1e-12 * piece.radius:
        name = (
            "smallest singular direction u v^T of the singular matrix"
            if k == 1
            else f"sum of the {k} zero singular directions +-u_i v_i^T of the singular matrix (rank {n - k})"
        )
        return best, best_room, name
    seg = piece.center - singular
    length = float(np.linalg.norm(seg))
    return seg / length, length, "segment from the singular matrix towards the centre"


def counterexample(
    model: Model,
    threshold: float,
    *,
    region: Region | None = None,
    norm: str = "fro",
    factor: float = 4.0,
    max_steps: int = 100,
) -> Counterexample:
    """Find x in region with ||inv(x) - F(x)|| > threshold (Thm 3.7), or certify that the region holds no singular
    matrix. region defaults to the model's box, widened until it holds a singular matrix (the result says so).

    Method: a singular matrix S in the region (find_singular), then x_k = S + t_k D with t_k = t_0 / factor^k along
    D from step_direction, until the float64 error exceeds threshold. Every reported x passes verify(). The search
    gives up when sigma_min(x) < 100 eps ||x||_2 (float64 no longer resolves inv(x)); this happens for models that
    track the inverse itself, which the theorem's bounded (polynomial-Lipschitz) models cannot.
    """
    threshold, norm = check_threshold(threshold), check_norm(norm)
    region = check_region(model, region)
    if region is None:
        box = getattr(model, "box", None)
        if not isinstance(box, Region):
            raise InputError("region: the model has no box of its own; give a region")
        region, note = widen_to_singular(box)
    elif isinstance(region, Box) and region.uniform:
        note = f"the given box (c = {region.radius:g})"
    else:
        note = f"the given region ({region.describe()})"
    result = Counterexample(False, threshold, norm, region, note, "", certified_distance=region.certified_distance)
    if region.certified_distance > 0:
        result.certified = True
        result.max_inverse_norm = 1.0 / region.certified_distance
        result.message = (
            f"the region is certified free of singular matrices: sigma_min(A) >= "
            f"{certificate_formula(region)} = {region.certified_distance:.6g} on all of it, so "
            f"||A^-1||_2 <= {result.max_inverse_norm:.6g} there; Theorem 3.7 does not apply and no "
            f"blow-up exists"
        )
        return result

    point = find_singular(region)
    if point is None:
        # No singular matrix found: still try the region point nearest the singular set we know of.
        start = project_to_region(_singular_near(region.center, region), region)
        check = verify(model, start, region, threshold, norm=norm)
        result.x, result.sigma_min, result.error = start, check["sigma_min"], check["error"]
        result.inverse_norm, result.model_norm = check["inverse_norm"], check["model_norm"]
        result.found = check["exceeds"]
        result.message = "no singular matrix found in the region (it is not certified clear either); " + (
            "the region point nearest the singular set already exceeds the threshold"
            if result.found
            else "no counterexample found"
        )
        return result

    singular = point.matrix
    result.singular, result.singular_method = singular, point.method
    d, t_max, result.direction = step_direction(singular, region)
    # Start where S + t D is still far from S in relative terms but inside the region and the linear regime
    # (t below the smallest non-zero singular value of S; any t when S = 0).
    t = min(t_max, 0.5 * null_directions(singular)[2], region.radius)
    unresolved = False
    for _ in range(max_steps):
        x = singular + t * d
        check = verify(model, x, region, threshold, norm=norm)
        keys = ("sigma_min", "error", "model_norm", "resolution", "in_region")
        result.path.append({"t": t, **{k: check[k] for k in keys}})
        result.x, result.sigma_min, result.error = x, check["sigma_min"], check["error"]
        result.inverse_norm, result.model_norm = check["inverse_norm"], check["model_norm"]
        if check["exceeds"]:
            result.found = True
            result.message = (
                f"||inv(x) - F(x)||_{norm} = {check['error']:.6g} > E = {threshold:g} at sigma_min(x) = "
                f"{check['sigma_min']:.3g}, with ||F(x)|| = {check['model_norm']:.4g}: the model stays "
                f"bounded while the inverse blows up"
            )
            return result
        if check["sigma_min"] <= 100 * EPS * check["sigma_max"]:  # float64 no longer resolves inv(x)
            unresolved = True
            break
        t /= factor
    where = "where float64 stops resolving inv(x)" if unresolved else f"after {len(result.path)} steps"
    result.message = (
        f"no counterexample: the error stayed <= E = {threshold:g} down to sigma_min(x) = "
        f"{result.sigma_min:.3g}, {where}; the model seems to track the "
        f"inverse itself, which a bounded (polynomial-Lipschitz) model cannot"
    )
    return result


# ---------------------------------------------------------------------------------------------------------------------
# Error against the distance to the singular set.


def errors_on(model: Model, a: np.ndarray, *, norm: str = "fro", chunk: int = 200_000) -> np.ndarray:
    """||A^-1 - F(A)|| for each matrix of a (N, n, n) -> (N,), in chunks to bound memory.

    The inverse is baselines.exact_inverse in float64 (closed form for n <= 3), accurate to about eps * cond(A).
    """
    out = np.empty(a.shape[0])
    for i in range(0, a.shape[0], chunk):
        block = a[i : i + chunk]
        exact = exact_inverse(torch.from_numpy(np.ascontiguousarray(block))).numpy()
        out[i : i + chunk] = error_norm(exact - apply_model(model, block), norm)
    return out


def fit_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def error_vs_distance(
    models: dict[str, Model],
    box: Region,
    *,
    samples: int = 20_000,
    seed: int = 0,
    norm: str = "fro",
    near: float = 0.05,
) -> dict:
    """Per-sample error ||A^-1 - F(A)|| against sigma_min(A) for samples of the region box (box.sample: uniform for a
    box; any Region).

    Returns {"sigma_min": (N,), "inverse_norm": (N,) = ||A^-1||, "errors": {name: (N,)}, "summary": JSON-able}.
    summary holds, per model, the log-log slope of error against sigma_min over the fraction `near` of samples
    closest to the singular set (-1 when the error is ~ 1/sigma_min), the median relative error ||A^-1 - F|| / ||A^-1||
    overall and on the half of the samples furthest from it, and the error's median per decade of sigma_min.
    """
    norm = check_norm(norm)
    for model in models.values():
        check_region(model, box)
    a = box.sample(samples, generator=torch.Generator().manual_seed(seed)).numpy()
    sig = sigma_min(a)
    keep = sig > 0
    a, sig = a[keep], sig[keep]
    inv_norm = error_norm(exact_inverse(torch.from_numpy(a)).numpy(), norm)
    far = sig > np.median(sig)
    errors = {name: errors_on(model, a, norm=norm) for name, model in models.items()}
    close = sig <= np.quantile(sig, near)
    edges = 10.0 ** np.arange(np.floor(np.log10(sig.min())), np.ceil(np.log10(sig.max())) + 1)
    summary = {
        "samples": int(len(sig)),
        "seed": seed,
        "norm": norm,
        "box": box.to_json(),
        "certified_distance": box.certified_distance,
        "sigma_min_min": float(sig.min()),
        "near_fraction": near,
        "inverse_slope": fit_slope(sig[close], inv_norm[close]),
        "models": {},
    }
    for name, err in errors.items():
        bins = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            m = (sig >= lo) & (sig < hi)
            if m.any():
                bins.append(
                    {
                        "sigma_min_from": float(lo),
                        "sigma_min_to": float(hi),
                        "count": int(m.sum()),
                        "median_error": float(np.median(err[m])),
                        "max_error": float(err[m].max()),
                        "median_inverse_norm": float(np.median(inv_norm[m])),
                    }
                )
        summary["models"][name] = {
            "slope_near_singular": fit_slope(sig[close], err[close]),
            "max_error": float(err.max()),
            "median_error": float(np.median(err)),
            "median_relative_error": float(np.median(err / inv_norm)),
            "median_relative_error_far_half": float(np.median(err[far] / inv_norm[far])),
            "bins": bins,
        }
    return {"sigma_min": sig, "inverse_norm": inv_norm, "errors": errors, "summary": summary}


# ---------------------------------------------------------------------------------------------------------------------
# Theorems 3.8-3.9: moments that do not settle, and the tail index.


def hill_tail_index(x: np.ndarray, k: int) -> float:
    """Hill's estimate of the tail index alpha of P(X > t) ~ C t^-alpha from the k largest of x (N,):
    alpha = 1 / mean_{i<=k} log(X_(i) / X_(k+1)), X_(1) >= X_(2) >= ... the order statistics."""
    x = np.asarray(x, dtype=np.float64)
    if not 0 < k < len(x):
        raise InputError(f"k: expected 0 < k < {len(x)}, got {k}")
    top = np.partition(x, len(x) - k - 1)[len(x) - k - 1 :]  # the k+1 largest, smallest first
    top.sort()
    return float(1.0 / np.mean(np.log(top[1:] / top[0])))


def sample_sizes(max_samples: int, start: int = 1000, per_decade: int = 4) -> list[int]:
    """Sizes start * 10^(i / per_decade) up to max_samples, and max_samples itself."""
    sizes = [int(round(start * 10 ** (i / per_decade))) for i in range(int(per_decade * 12))]
    return sorted({s for s in sizes if s < max_samples / 1.25} | {max_samples})


def typical_means(values: np.ndarray, sizes: list[int]) -> list[float]:
    """For each N in sizes, the median over the disjoint blocks of N consecutive values of the block mean.

    One nested running mean of a heavy-tailed sample jumps with each rare huge value; the median over blocks shows
    the typical value of an N-sample estimate, which settles for a finite moment and grows for an infinite one.
    """
    out = []
    for size in sizes:
        blocks = values[: (len(values) // size) * size].reshape(-1, size)
        out.append(float(np.median(blocks.mean(1))))
    return out


def moment_growth(
    model: Model,
    box: Region,
    *,
    orders: tuple[int, ...] | None = None,
    max_samples: int = 1_000_000,
    seed: int = 1,
    norm: str = "fro",
) -> dict:
    """Sample estimates of E||A^-1 - F(A)||^k for k in orders (default 1, 2, n^2 + 1) against the sample size
    N = 10^3 ... max_samples (samples of the region box, box.sample: uniform for a box), and the Hill estimate of
    the error's tail index alpha.

    running[k][i]: the nested running mean over the first N_i samples. typical[k][i]: the median over disjoint blocks
    of N_i samples of the block mean (see typical_means); growth[k] its ratio from the first to the last size and
    last_decade_growth[k] from about N/10 to N. slope[k]: the log-log slope of typical against N; for a
    tail P(err > t) ~ C t^-alpha and k > alpha an N-sample mean grows like N^(k/alpha - 1) (expected_slope), for
    k = alpha like log N, and for k < alpha it settles (slope 0).
    Returns {"errors": (max_samples,), "summary": JSON-able}.
    """
    norm = check_norm(norm)
    check_region(model, box)
    if max_samples < 1000:
        raise InputError(f"max_samples: expected at least 1000, got {max_samples}")
    orders = tuple(orders or (1, 2, box.n**2 + 1))
    gen = torch.Generator().manual_seed(seed)
    chunk = 200_000
    errors = np.concatenate(
        [
            errors_on(model, box.sample(min(chunk, max_samples - i), generator=gen).numpy(), norm=norm)
            for i in range(0, max_samples, chunk)
        ]
    )
    sizes = sample_sizes(max_samples)
    running, typical, slope = {}, {}, {}
    for k in orders:
        # float64 powers: err^5 with err ~ 1e8 is 1e40, far from overflow
        powers = errors**k
        running[str(k)] = [float(v) for v in (np.cumsum(powers)[np.array(sizes) - 1] / np.array(sizes))]
        typical[str(k)] = typical_means(powers, sizes)
        slope[str(k)] = fit_slope(np.array(sizes, dtype=float), np.array(typical[str(k)]))
    # a skewed but bounded error still rises at small N (the median block misses the rare large values), so
    # settling is judged on the last decade, N/10 -> N, where a finite moment's estimate no longer moves
    decade = int(np.argmin([abs(np.log10(size * 10 / sizes[-1])) for size in sizes]))
    hill_k = max(10, max_samples // 200)  # the top 0.5%: far enough out that F's bounded part no longer matters
    hill = {str(k): hill_tail_index(errors, k) for k in sorted({100, 1000, 10_000, hill_k}) if k < max_samples // 10}
    alpha = hill[str(hill_k)]
    summary = {
        "box": box.to_json(),
        "certified_distance": box.certified_distance,
        "norm": norm,
        "seed": seed,
        "sizes": sizes,
        "orders": list(orders),
        "running": running,
        "typical": typical,
        "growth": {k: v[-1] / v[0] for k, v in typical.items()},
        "slope": slope,
        "last_decade_growth": {k: v[-1] / v[decade] for k, v in typical.items()},
        "expected_slope": {str(k): max(k / alpha - 1, 0.0) for k in orders},
        "hill": hill,
        "hill_k": hill_k,
        "tail_index": alpha,
        "tail_index_se": alpha / math.sqrt(hill_k),
        "max_error": float(errors.max()),
        "median_error": float(np.median(errors)),
    }
    return {"errors": errors, "summary": summary}


# ---------------------------------------------------------------------------------------------------------------------
# Figures (matplotlib Figure objects: no display needed, no backend switched).


def pyplot():
    from neuralinv.reporting.plotting import (
        pyplot,  # here, not at the top: the CLI loads this module; matplotlib is slow
    )

    return pyplot()


def plot_error_vs_distance(
    result: dict, path: str | Path, *, paths: dict[str, list[dict]] | None = None, max_points: int = 5000
) -> Path:
    """Log-log scatter of error against sigma_min per model, with ||A^-1|| and 1 / sigma_min beside it; counterexample
    search paths as lines, each with its own marker and line style, so paths that run on top of one another all stay
    visible. The legend sits below the axes, clear of the data; no title (the report's caption says what it shows)."""
    plt = pyplot()
    from matplotlib.lines import Line2D

    sig = result["sigma_min"]
    norm = result.get("summary", {}).get("norm", "fro")
    sub = {"fro": "F", "l1": "1", "linf": r"\max"}.get(norm, norm)
    stride = max(1, len(sig) // max_points)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    # paths drawn in order, largest hollow marker first: a later, smaller marker shows inside an earlier one
    styles = [("o", "-", 10), ("s", "--", 7), ("^", ":", 5), ("D", "-.", 4), ("v", (0, (1, 3)), 3)]
    with plt.rc_context(
        {"font.size": 10, "axes.labelsize": 10.5, "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 9.5}
    ):
        fig, ax = plt.subplots(figsize=(8, 6.4), layout="constrained")
        handles = []
        order = np.argsort(sig)
        ax.plot(sig[order], result["inverse_norm"][order], "-", color="0.72", lw=5, solid_capstyle="round", zorder=1)
        for i, (name, err) in enumerate(result["errors"].items()):
            color = colors[i % len(colors)]
            ax.scatter(sig[::stride], err[::stride], s=3, alpha=0.3, color=color, lw=0, zorder=2, rasterized=True)
            handles.append(
                Line2D([], [], ls="none", marker="o", ms=5, color=color, label=f"{name}: uniform samples of the box")
            )
        lo = min([sig.min()] + [p["sigma_min"] for steps in (paths or {}).values() for p in steps])
        grid = np.geomspace(lo, sig.max(), 50)
        ax.plot(grid, 1 / grid, "--", color="black", lw=1, zorder=3)
        names = list(result["errors"])
        for j, (pname, steps) in enumerate((paths or {}).items()):
            if not steps:
                continue
            color = colors[names.index(pname) % len(colors)] if pname in names else colors[(len(names) + j) % 10]
            marker, ls, ms = styles[j % len(styles)]
            hollow = j < len(paths) - 1  # the last one drawn (smallest) is filled
            ax.plot(
                [p["sigma_min"] for p in steps],
                [p["error"] for p in steps],
                ls=ls,
                lw=1.6,
                color=color,
                marker=marker,
                ms=ms,
                mew=1.5,
                mfc="none" if hollow else color,
                zorder=4 + j,
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    ls=ls,
                    lw=1.6,
                    color=color,
                    marker=marker,
                    ms=min(ms, 8),
                    mew=1.5,
                    mfc="none" if hollow else color,
                    label=f"{pname}: counterexample search path",
                )
            )
        # two columns, filled column by column: samples and ||A^-1|| on the left, paths and 1 / sigma_min on the right
        handles.insert(
            len(names), Line2D([], [], color="0.72", lw=5, label=f"$\\|A^{{-1}}\\|_{{{sub}}}$ (the exact inverse)")
        )
        handles.append(
            Line2D(
                [], [], color="black", ls="--", lw=1, label=r"$1/\sigma_{\min}$ (nearly coincides with $\|A^{-1}\|$)"
            )
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\sigma_{\min}(A)$ = distance to the nearest singular matrix")
        ax.set_ylabel(f"error $\\|A^{{-1}} - F(A)\\|_{{{sub}}}$")
        ax.grid(True, which="major", alpha=0.3)
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False, handlelength=3)
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return Path(path)


def plot_moments(results: dict[str, dict], path: str | Path) -> Path:
    """Typical N-sample estimate of E||A^-1 - F||^k relative to the smallest N, against N, one panel per box (at most
    2 columns; solid with markers: median over disjoint blocks of N samples; faint: one running mean over a single
    sample path, both explained in the legend). Growth means the moment is infinite, flat means finite."""
    plt = pyplot()
    from matplotlib import ticker
    from matplotlib.lines import Line2D

    count = max(1, len(results))
    cols = min(2, count)
    rows = (count + cols - 1) // cols
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    with plt.rc_context(
        {
            "font.size": 10,
            "axes.titlesize": 10,
            "axes.labelsize": 10,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "legend.fontsize": 9.5,
        }
    ):
        fig, axes = plt.subplots(
            rows, cols, figsize=(8.5, 3.9 * rows + 0.7), squeeze=False, sharey=True, layout="constrained"
        )
        lo, hi = np.inf, 0.0
        for ax, (title, summary) in zip(axes.flat, results.items()):
            sizes = summary["sizes"]
            for i, (k, values) in enumerate(summary["typical"].items()):
                color = colors[i % len(colors)]
                typical = np.array(values) / values[0]
                running = np.array(summary["running"][k]) / values[0]
                ax.plot(
                    sizes, typical, "-o", ms=4, lw=1.6, color=color, label=f"k = {k}: slope {summary['slope'][k]:.2f}"
                )
                ax.plot(sizes, running, "-", lw=1, alpha=0.35, color=color)
                both = np.concatenate([typical, running])
                both = both[np.isfinite(both) & (both > 0)]
                if both.size:
                    lo, hi = min(lo, both.min()), max(hi, both.max())
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("sample size N")
            head = f"{title}\nHill tail index {summary['tail_index']:.2f}"
            if summary["certified_distance"] > 0:
                head += " (bounded error:\nno power-law tail)"
            ax.set_title(head)
            ax.grid(True, which="major", alpha=0.3)
            ax.legend(loc="upper left", framealpha=0.8)
        for ax in list(axes.flat)[len(results) :]:
            ax.axis("off")
        if 0 < lo <= hi < np.inf:  # headroom above the data for the legends (shared y axis)
            axes[0, 0].set_ylim(lo / (hi / lo) ** 0.05, hi * (hi / lo) ** 0.4)
        if 0 < lo <= hi < np.inf and hi / lo < 30:  # under ~1.5 decades a log axis may show no labelled tick
            for ax in axes.flat:
                ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0), numticks=12))
                ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:.3g}"))
                ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        first = next(iter(results.values()), {"sizes": [1000]})
        for ax in axes[:, 0]:
            ax.set_ylabel(f"N-sample mean of $\\|A^{{-1}} - F\\|^k$,\nrelative to N = {first['sizes'][0]:,}")
        fig.legend(
            handles=[
                Line2D(
                    [],
                    [],
                    color="0.25",
                    marker="o",
                    ms=4,
                    lw=1.6,
                    label="median over disjoint blocks of N samples (typical N-sample mean)",
                ),
                Line2D(
                    [],
                    [],
                    color="0.25",
                    lw=1,
                    alpha=0.35,
                    label="faint: one running mean over a single sample path (first N samples)",
                ),
            ],
            loc="outside lower center",
            ncol=1,
            frameon=False,
        )
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return Path(path)


def plot_tail(errors: dict[str, np.ndarray], path: str | Path) -> Path:
    """Empirical survival function P(error > t) on log-log axes, with a C / t reference line. No title: the report's
    caption says what it shows."""
    plt = pyplot()
    with plt.rc_context(
        {"font.size": 10, "axes.labelsize": 10.5, "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10}
    ):
        fig, ax = plt.subplots(figsize=(7, 4.6), layout="constrained")
        for name, err in errors.items():
            srt = np.sort(err)
            surv = 1.0 - np.arange(len(srt)) / len(srt)
            stride = max(1, len(srt) // 4000)
            idx = np.unique(
                np.concatenate([np.arange(0, len(srt), stride), np.arange(max(0, len(srt) - 2000), len(srt))])
            )
            ax.plot(srt[idx], surv[idx], "-", lw=1.8, label=name)
        first = next(iter(errors.values()))
        t0 = np.quantile(first, 0.99)
        grid = np.geomspace(t0, first.max(), 20)
        ax.plot(grid, 0.01 * t0 / grid, "--", color="black", lw=1.2, label="C / t (tail index 1)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("t (error threshold)")
        ax.set_ylabel(r"$P(\|A^{-1} - F(A)\| > t)$")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="upper right", framealpha=0.85)
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return Path(path)


# ---------------------------------------------------------------------------------------------------------------------
# The reproduce report's "Why can't" section.

# The paper's recipe except the learning rate: at lr 5e-5 a short run barely moves a net whose targets reach 10^3
# and more in scaled units, so it ends near the constant A0^-1; at 1e-3 it fits the bulk of the box (2-6% median
# relative error), which makes the failure near the singular set the only failure left to see.
BUDGET_SETTINGS = {
    "quick": {
        "steps": 2000,
        "train_size": 20_000,
        "seeds": (0,),
        "lr": 1e-3,
        "scatter": 20_000,
        "moment_samples": 1_000_000,
    },
    "paper": {
        "steps": 20_000,
        "train_size": 100_000,
        "seeds": (0, 1, 2),
        "lr": 1e-3,
        "scatter": 100_000,
        "moment_samples": 1_000_000,
    },
}


FIGURES = ("limits_error_vs_distance.png", "limits_moments.png", "limits_tail.png")


def linear_model(box: Box) -> tuple[str, Model]:
    """The Eq. 11 net (exact linear approximation) if the construction module is there, else Taylor-1 itself."""
    try:
        from neuralinv.nets.construction import linear_network

        return "Eq. 11 net", linear_network(box)
    except ImportError:
        center = torch.tensor(box.center)
        model = lambda a: taylor_inverse(a, center, 1)  # noqa: E731
        model.box = box
        return "linear approx.", model


def train_nets(box: Box, settings: dict, *, progress: bool, models=("2fc", "3fc")) -> tuple[dict, dict]:
    from neuralinv.training.train import TrainConfig, train_ensemble

    nets, info = {}, {}
    for model in models:
        config = TrainConfig.for_box(
            box,
            model,
            steps=settings["steps"],
            train_size=settings["train_size"],
            seeds=settings["seeds"],
            lr=settings["lr"],
        )
        result = train_ensemble(config, progress=progress)
        title = {"2fc": "2-FC", "3fc": "3-FC"}[model]
        for seed, net in zip(config.seeds, result.networks):
            name = title if len(config.seeds) == 1 else f"{title} s{seed}"
            nets[name] = net
            info[name] = {
                "model": model,
                "seed": seed,
                "steps": config.steps,
                "train_size": config.train_size,
                "final_loss": result.curve_losses[-1][config.seeds.index(seed)] if result.curve_losses else None,
                "wall_time_s": result.wall_time / len(config.seeds),
            }
    return nets, info


def report_section(out_dir: str | Path, *, budget: str = "quick", progress: bool = True) -> dict:
    """Run every why-can't experiment and write its figures into out_dir.

    Returns {"markdown": the "Why can't" section (figures referenced by file name, relative to out_dir),
    "results": every number as JSON-able data, "figures": [paths of the PNGs written]}.
    """
    if budget not in BUDGET_SETTINGS:
        raise InputError(f"budget: expected one of {', '.join(BUDGET_SETTINGS)}, got {budget!r}")
    settings = BUDGET_SETTINGS[budget]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    timings = {}

    t = time.perf_counter()
    nets, train_info = train_nets(SINGULAR_BOX, settings, progress=progress)
    safe_nets, safe_info = train_nets(
        SAFE_BOX, settings | {"seeds": settings["seeds"][:1]}, progress=progress, models=("2fc",)
    )
    timings["training_s"] = time.perf_counter() - t
    linear_name, linear = linear_model(SINGULAR_BOX)
    first = {name: net for name, net in nets.items() if name in ("2-FC", "3-FC", "2-FC s0", "3-FC s0")}

    # Counterexamples at E = 10^6 on each trained net, on the linear net, and on the safe net (its box widened).
    t = time.perf_counter()
    threshold = 1e6
    ces = {name: counterexample(net, threshold) for name, net in {**nets, linear_name: linear}.items()}
    safe_name = next(iter(safe_nets))
    ces[f"{safe_name} (safe box)"] = counterexample(safe_nets[safe_name], threshold)
    certificate = counterexample(safe_nets[safe_name], threshold, region=SAFE_BOX)
    timings["counterexamples_s"] = time.perf_counter() - t

    t = time.perf_counter()
    evd = error_vs_distance({**first, linear_name: linear}, SINGULAR_BOX, samples=settings["scatter"])
    timings["error_vs_distance_s"] = time.perf_counter() - t

    t = time.perf_counter()
    moment_name = next(iter(first))
    singular_moments = moment_growth(nets[moment_name], SINGULAR_BOX, max_samples=settings["moment_samples"])
    safe_moments = moment_growth(safe_nets[safe_name], SAFE_BOX, max_samples=settings["moment_samples"])
    # Every net again on fresh samples (seed 2), so each tail index has its own independent estimate.
    hill_samples = min(200_000, settings["moment_samples"])
    hill_all = {
        name: moment_growth(net, SINGULAR_BOX, max_samples=hill_samples, seed=2)["summary"]["tail_index"]
        for name, net in nets.items()
    }
    timings["moments_s"] = time.perf_counter() - t

    figures = [
        plot_error_vs_distance(
            evd, out_dir / FIGURES[0], paths={name: ces[name].path for name in evd["errors"] if name in ces}
        ),
        plot_moments(
            {
                f"singular box, {moment_name}": singular_moments["summary"],
                f"safe box, {safe_name}": safe_moments["summary"],
            },
            out_dir / FIGURES[1],
        ),
        plot_tail(
            {
                f"singular box, {moment_name}": singular_moments["errors"],
                f"safe box, {safe_name}": safe_moments["errors"],
            },
            out_dir / FIGURES[2],
        ),
    ]
    timings["total_s"] = time.perf_counter() - start

    results = {
        "budget": budget,
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
        "singular_box": {
            **SINGULAR_BOX.to_json(),
            "center_sigma_min": SINGULAR_BOX.center_sigma_min,
            "certified_distance": SINGULAR_BOX.certified_distance,
        },
        "safe_box": {
            **SAFE_BOX.to_json(),
            "center_sigma_min": SAFE_BOX.center_sigma_min,
            "certified_distance": SAFE_BOX.certified_distance,
        },
        "training": {**train_info, **{f"{k} (safe box)": v for k, v in safe_info.items()}},
        "counterexamples": {name: ce.to_json() for name, ce in ces.items()},
        "safe_box_certificate": certificate.to_json(),
        "error_vs_distance": evd["summary"],
        "moments": {
            "singular": singular_moments["summary"],
            "safe": safe_moments["summary"],
            "singular_model": moment_name,
            "safe_model": safe_name,
        },
        "tail_index_per_model": hill_all,
        "tail_index_per_model_samples": hill_samples,
        "timings": timings,
    }
    markdown = section_markdown(results, [p.name for p in figures])
    return {"markdown": markdown, "results": results, "figures": [str(p) for p in figures]}


def section_markdown(results: dict, figures: list[str]) -> str:
    """The "Why can't" section in Markdown; every number comes from results, figures are file names in out_dir."""
    from neuralinv.reporting.document import figure, table

    sing, safe = results["moments"]["singular"], results["moments"]["safe"]
    sb, fb = results["singular_box"], results["safe_box"]
    evd = results["error_vs_distance"]
    alpha = sing["tail_index"]
    train = results["training"]
    lines = [
        "## Why can't: near-singular matrices",
        "",
        "Section 3 of the paper proves that no bounded network (any polynomial-Lipschitz model: FC, ReLU, attention, "
        "...) can approximate A -> A^-1 on a region that holds a singular matrix: the inverse grows like "
        "1 / sigma_min(A) as A nears the singular set, while the network stays bounded. Here 2-FC and 3-FC nets are "
        f"trained on the 2x2 box centred on {sb['center']} with half-width c = {sb['radius']:g}, which the singular "
        f"set det = 0 cuts through (sigma_min(A0) - n c = {sb['certified_distance']:.3g} < 0), and compared with a "
        f"2-FC net on the paper's 2x2 (First) box, centre {fb['center']}, c = {fb['radius']:g}, certified clear of "
        f"it (sigma_min(A) >= {fb['certified_distance']:.3g} everywhere).",
        "",
        "**Counterexamples (Theorem 3.7).** For each model, a matrix x in the region with ||inv(x) - F(x)||_F > "
        "E = 10^6, found by stepping towards a singular matrix of the region along its smallest singular direction, "
        "and confirmed independently in float64 (numpy's LAPACK inverse, with the rounding bound of inv(x) "
        "subtracted):",
        "",
    ]
    rows = []
    for name, ce in results["counterexamples"].items():
        region = (
            "own box"
            if ce["region_note"].startswith("the model's own box")
            else f"own box widened to c = {ce['region']['radius']:.3g}"
        )
        rows.append(
            [
                name,
                region,
                "yes" if ce["found"] else "no",
                short(ce["sigma_min"]),
                short(ce["error"]),
                short(ce["model_norm"]),
            ]
        )
    lines.append(table(["Model", "Region", "Found", "sigma_min(x)", "||inv(x) - F(x)||_F", "||F(x)||_F"], rows))
    cert = results["safe_box_certificate"]
    lines += [
        "",
        "The networks' outputs stay bounded (last column) while ||inv(x)|| passes 10^6. On the safe box itself "
        f"there is nothing to find: it is certified free of singular matrices, so ||A^-1||_2 <= "
        f"{cert['max_inverse_norm']:.4g} on all of it.",
        "",
        figure(
            "error-vs-distance",
            figures[0],
            "Error against the distance to the singular set, log-log. Dots: one uniform sample of the singular "
            "box each, per model; lines with markers: the counterexample searches; grey and dashed lines: "
            "||A^-1|| and 1 / sigma_min, which nearly coincide. The error follows ||A^-1|| as sigma_min falls.",
        ),
        "",
        "**Error against distance to the singular set.** Each dot is one uniform sample of the singular box. The "
        "error follows ||A^-1|| ~ 1 / sigma_min: the fitted log-log slope over the 5% of samples closest to the "
        "singular set is "
        + ", ".join(f"{m['slope_near_singular']:.2f} ({name})" for name, m in evd["models"].items())
        + " (-1 is pure 1 / sigma_min). The lines are the counterexample searches, which continue the same law far "
        "below the sampled range. On the half of the samples furthest from the singular set the median relative "
        "error ||A^-1 - F|| / ||A^-1|| is "
        + ", ".join(f"{m['median_relative_error_far_half']:.3g} ({name})" for name, m in evd["models"].items())
        + ": ordinary fitting error, which more training or a better method reduces; the blow-up is not. Training "
        "itself is ill-posed here: its loss is the MSE, a k = 2 moment, which is infinite on this box; "
        "the last training loss (scaled units) was "
        + ", ".join(f"{v['final_loss']:.3g} ({name})" for name, v in train.items() if v.get("final_loss") is not None)
        + ".",
        "",
        figure(
            "moments",
            figures[1],
            "The typical N-sample mean of ||A^-1 - F(A)||^k against N, relative to N = 1000, on the singular box "
            "(left) and the safe box (right). Solid lines with markers: the median over disjoint blocks of N "
            "samples; faint lines: one running mean over a single sample path. Growth with N means the moment is "
            "infinite; a flat line means it is finite.",
        ),
        "",
        "**Moments that do not settle (Theorems 3.8-3.9).** The typical N-sample mean of ||A^-1 - F(A)||^k (median "
        f"over disjoint blocks of N samples) for k = {', '.join(map(str, sing['orders']))}, N = {sing['sizes'][0]} "
        f"to {sing['sizes'][-1]}. On the singular box it grows by "
        + ", ".join(
            f"x{sing['growth'][k]:.3g} (k = {k}, log-log slope {sing['slope'][k]:.2f}, expected "
            f"{sing['expected_slope'][k]:.2f})"
            for k in sing["growth"]
        )
        + ". Over the last decade alone (N/10 to N) it still grows by "
        + ", ".join(f"x{sing['last_decade_growth'][k]:.3g} (k = {k})" for k in sing["growth"])
        + ", while on the safe box it changes by "
        + ", ".join(f"x{safe['last_decade_growth'][k]:.3f} (k = {k})" for k in safe["growth"])
        + ": there every moment has settled (its rise at small N, x"
        + ", x".join(f"{safe['growth'][k]:.3f}" for k in safe["growth"])
        + " in all, is the skew of a bounded error, not growth). The k = 1 mean on the singular box grows only like "
        "log N, so its slope is small but not 0.",
        "",
        figure(
            "tail",
            figures[2],
            "The tail of the error: P(error > t) against t, log-log, on the singular and the safe box, with a "
            "C / t line (tail index 1). A tail parallel to that line has infinite mean.",
        ),
        "",
        f"**Tail index.** The Hill estimate of the error's tail index on the singular box, from the top "
        f"{sing['hill_k']} of {sing['sizes'][-1]} samples, is **{alpha:.3f}** (standard error "
        f"{sing['tail_index_se']:.2f}; {results['moments']['singular_model']}); on "
        f"{results['tail_index_per_model_samples']:,} other samples: "
        + ", ".join(f"{name} {a:.2f}" for name, a in results["tail_index_per_model"].items())
        + ". So P(error > t) ~ C / t, as expected when the singular hypersurface crosses the box (sigma_min has a "
        "positive density at 0). Every moment of order k >= the tail index, about 1, is infinite: even the mean "
        "error (k = 1) and the MSE (k = 2) have no finite value to converge to, which is stronger than the paper's "
        f"Theorem 3.9 (k > n^2 = {sb_n(sb)}^2). On the safe box the error is bounded; its Hill estimate, "
        f"{safe['tail_index']:.3g}, is large, meaning no heavy tail.",
        "",
        f"Budget {results['budget']}: {results['settings']['steps']} training steps per net on "
        f"{results['settings']['train_size']} fixed matrices, the paper's recipe but Adam lr "
        f"{results['settings']['lr']:g} (at 5e-5 a short run ends near the constant A0^-1 on the singular box); "
        f"{results['timings']['total_s']:.0f} s for the whole section.",
    ]
    return "\n".join(lines) + "\n"


def verdict(results: dict) -> str:
    """One sentence for a Summary: the slopes near the singular set, the tail index, the counterexamples found."""
    evd = results["error_vs_distance"]["models"]
    sing = results["moments"]["singular"]
    found = sum(1 for c in results["counterexamples"].values() if c["found"])
    slopes = ", ".join(f"{m['slope_near_singular']:.2f} ({name})" for name, m in evd.items())
    return (
        f"on a box the singular set cuts through, the error grows like 1 / sigma_min: log-log slopes near the "
        f"singular set {slopes} (-1 is exact 1 / sigma_min); the error's tail index is {sing['tail_index']:.2f} "
        f"(standard error {sing['tail_index_se']:.2f}), so its mean and its MSE are infinite; counterexamples "
        f"with error above 10^6 were found for {found} of {len(results['counterexamples'])} models."
    )


def document(results: dict, figures: list[str]):
    """The stand-alone report of `neuralinv limits report` (limits.md and limits.html)."""
    from neuralinv.reporting.document import Document

    return Document(
        title="Why can't: neural inverses near singular matrices",
        html_title=f"neuralinv limits report, {results['budget']} budget",
        header=[f"`neuralinv limits report --budget {results['budget']}`."],
        summary=[verdict(results)[0].upper() + verdict(results)[1:]],
        sections=[section_markdown(results, figures)],
    )


def sb_n(box_json: dict) -> int:
    return len(box_json["center"])
