"""Counterexamples: a matrix x in a region with ||inv(x) - F(x)|| > E, checked in float64 with numpy (LAPACK), or a
certificate that the region holds no singular matrix (then ||A^-1||_2 <= 1 / certified distance there).

Near a rank n-1 matrix S the inverse blows up: sigma_min(A) = dist(A, singular set) and ||A^-1||_2 = 1 / sigma_min(A).
A network F is bounded on a bounded region, so wherever the region holds S, ||A^-1 - F(A)|| >= 1 / sigma_min(A) -
||F(A)|| exceeds any E (the paper's Theorem 3.7).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from neuralinv.common.errors import InputError
from neuralinv.experiments.limits.geometry import (
    certificate_formula,
    convex_piece,
    project_to_region,
    room_along,
    singular_near,
    symmetric_only,
)
from neuralinv.experiments.limits.model_error import (
    EPS,
    Model,
    apply_model,
    check_norm,
    check_region,
    check_threshold,
    error_norm,
)
from neuralinv.experiments.limits.singular import find_singular, widen_to_singular
from neuralinv.regions.shapes import Box, Region


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
        """Every field as JSON-able data (matrices as nested lists)."""
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

    def record(self, x: np.ndarray, check: dict) -> None:
        """Keep x and its verify() numbers as the current result."""
        self.x, self.sigma_min, self.error = x, check["sigma_min"], check["error"]
        self.inverse_norm, self.model_norm = check["inverse_norm"], check["model_norm"]


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
        error = inverse_norm = agreement = resolution = math.inf
    else:
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
        # an infinite error never counts: inf - inf is nan, and nan > threshold is False
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


def _room(piece: Region, singular: np.ndarray, direction: np.ndarray) -> float:
    """Largest t with singular + t direction in the convex piece: exact per entry for a box, else by bisection."""
    offset = singular - piece.center
    if not isinstance(piece, Box):
        # No point of the region is further than n * radius (Frobenius) from its centre: an upper bound on any room.
        reach = 2 * singular.shape[0] * piece.radius + float(np.linalg.norm(offset))
        return room_along(singular, direction, piece, reach / float(np.linalg.norm(direction)))
    # largest t with |offset + t direction| <= W entrywise
    w = piece.half_widths
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = np.where(
            direction > 0, (w - offset) / direction, np.where(direction < 0, (w + offset) / -direction, np.inf)
        )
    return float(limit.min())


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
    # Every sign pattern for a few zero pairs (2^k directions), else the two overall signs.
    patterns = itertools.product((1.0, -1.0), repeat=k) if k <= 6 else [(1.0,) * k, (-1.0,) * k]
    best_room, best = -math.inf, None
    symmetric = symmetric_only(piece)
    for signs in patterns:
        d = (u0 * np.array(signs)) @ v0.T
        if symmetric:  # stay among symmetric matrices: for symmetric S, u_i v_i^T = +-w_i w_i^T up to rounding
            d = (d + d.T) / 2
        r = _room(piece, singular, d)
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
    region, note = _search_region(model, check_region(model, region))
    result = Counterexample(False, threshold, norm, region, note, "", certified_distance=region.certified_distance)
    if region.certified_distance > 0:
        return _certify(result)
    point = find_singular(region)
    if point is None:
        return _try_nearest_point(model, result)
    result.singular, result.singular_method = point.matrix, point.method
    return _step_towards(model, result, factor=factor, max_steps=max_steps)


def _search_region(model: Model, region: Region | None) -> tuple[Region, str]:
    """The region to search and a note saying where it came from (given, or the model's box widened)."""
    if region is None:
        box = getattr(model, "box", None)
        if not isinstance(box, Region):
            raise InputError("region: the model has no box of its own; give a region")
        return widen_to_singular(box)
    if isinstance(region, Box) and region.uniform:
        return region, f"the given box (c = {region.radius:g})"
    return region, f"the given region ({region.describe()})"


def _certify(result: Counterexample) -> Counterexample:
    """The result for a region certified free of singular matrices: no search, and the bound on ||A^-1||_2."""
    region = result.region
    result.certified = True
    result.max_inverse_norm = 1.0 / region.certified_distance
    result.message = (
        f"the region is certified free of singular matrices: sigma_min(A) >= "
        f"{certificate_formula(region)} = {region.certified_distance:.6g} on all of it, so "
        f"||A^-1||_2 <= {result.max_inverse_norm:.6g} there; Theorem 3.7 does not apply and no "
        f"blow-up exists"
    )
    return result


def _try_nearest_point(model: Model, result: Counterexample) -> Counterexample:
    """No singular matrix found: still try the region point nearest the singular set we know of."""
    region = result.region
    start = project_to_region(singular_near(region.center, region), region)
    check = verify(model, start, region, result.threshold, norm=result.norm)
    result.record(start, check)
    result.found = check["exceeds"]
    result.message = "no singular matrix found in the region (it is not certified clear either); " + (
        "the region point nearest the singular set already exceeds the threshold"
        if result.found
        else "no counterexample found"
    )
    return result


def _step_towards(model: Model, result: Counterexample, *, factor: float, max_steps: int) -> Counterexample:
    """x_k = S + t_k D, t_k = t_0 / factor^k, until the verified error exceeds the threshold or float64 stops
    resolving inv(x); every step goes into result.path."""
    singular, region, threshold, norm = result.singular, result.region, result.threshold, result.norm
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
        result.record(x, check)
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
