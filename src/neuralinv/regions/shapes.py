"""Region shapes (box, norm ball, symmetric perturbations) and their distance to the singular set.

A region R holds matrices A = A0 + E around a centre A0. Every shape gives sampling (with an explicit generator),
a membership test, and a certified lower bound on sigma_min(A) over R: the distance from A to the singular set, in
the 2-norm and the Frobenius norm alike (Eckart-Young-Mirsky). All certificates rest on Weyl's inequality for
singular values, |sigma_i(A0 + E) - sigma_i(A0)| <= ||E||_2, so sigma_min(A) >= sigma_min(A0) - max ||E||_2:

- Box: |E_ij| <= W_ij (the paper's Eq. 7 has W_ij = c). |E| <= W entrywise gives ||E||_2 <= || |E| ||_2 <= ||W||_2
  (the spectral norm is monotone on nonnegative matrices), so the bound is sigma_min(A0) - ||W||_2 (= n c for W = c).
- Ball: ||E|| <= r in the spectral or Frobenius norm; ||E||_2 <= ||E||_F <= r: sigma_min(A0) - r, which is attained
  (A0 - r u v^T for the smallest singular pair), so the certificate is exact.
- Symmetric: A0 and E symmetric, ||E|| <= r. Weyl's inequality for eigenvalues gives |lambda_i(A) - lambda_i(A0)| <= r,
  so sigma_min(A) = min |lambda_i(A)| >= min |lambda_i(A0)| - r, and A is positive definite when lambda_min(A0) > r
  (then the exact path may use Cholesky).
- Union: any of several regions (several centres): the smallest of their certificates.
- Equilibrated: A with D A D in an inner region (D = diag(d) > 0), for families whose variables have unequal scales.
  sigma_min(A) = sigma_min(D^-1 B D^-1) >= sigma_min(B) / max(d)^2.

What `radius` means. Every region's radius is its entry bound: |A_ij - A0_ij| <= radius for every A in it. That is
the c of the paper's scaling x = vec(A - A0) / c and the half-width of bounding_box. It is the radius a shape was
given for a box (c, or the largest per-entry half-width) and for a ball or spectral/Frobenius symmetric perturbations
(r bounds every entry: |E_ij| <= ||E||_2 <= ||E||_F); the r those were given is also kept as ball_radius. It is NOT
the given r for symmetric perturbations relative to A0 (radius = r lambda_max(A0); r stays ball_radius), a union
(the bound around the first member's centre) or an equilibrated region (the inner radius over min(d)^2, for A, not
D A D). Region.radius_meaning says which, with its numbers.

A region file is JSON: {"format": "neuralinv-region", "format_version": 1, "shape": ..., ...} (see the README).
Named regions (the paper's four boxes) are region files in neuralinv/regions/presets/.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from neuralinv.common.errors import InputError
from neuralinv.regions.singular import matrix_norm, sigma_min, singular_error

FORMAT = "neuralinv-region"
FORMAT_VERSION = 1
SHAPES = ("box", "ball", "symmetric", "union", "equilibrated")
NORMS = ("spectral", "fro")


def as_matrix(value, *, name: str = "matrix") -> np.ndarray:
    """A square, finite float64 matrix from a nested list, an array, JSON text or a path to a .npy/.json file."""
    if isinstance(value, (str, Path)):
        text = str(value)
        if text.endswith(".npy"):
            if not Path(text).is_file():
                raise InputError(f"{name}: no such file {text!r}")
            value = np.load(text, allow_pickle=False)
        elif text.endswith(".json") and Path(text).is_file():
            value = json.loads(Path(text).read_text())
        else:
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise InputError(
                    f"{name}: expected JSON text like [[2, 2], [2, 3]] or a .npy file, got {text!r}"
                ) from None
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a square matrix of numbers, got {value!r}") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise InputError(f"{name}: expected a square matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name}: entries must be finite, got {a.tolist()}")
    return a


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def positive_number(value, name: str) -> float:
    """value as a finite float > 0; a one-line InputError naming it otherwise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a finite number > 0, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{name}: expected a finite number > 0, got {value!r}")
    return v


def _norm_name(norm: str) -> str:
    if norm not in NORMS:
        raise InputError(f"norm: expected one of {', '.join(NORMS)}, got {norm!r}")
    return norm


class Region:
    """Base of every shape. Subclasses set center (n, n), radius (the entry bound: every |A_ij - A0_ij| in the region
    is at most radius; not always the radius the shape was given, see radius_meaning and the module docstring) and
    implement contains, sample, perturbation_bound and to_json; info holds free-form notes (a fit's statistics)."""

    shape = ""
    center: np.ndarray
    radius: float
    info: dict

    @property
    def n(self) -> int:
        """The matrix size: the region holds n x n matrices."""
        return self.center.shape[0]

    @property
    def radius_meaning(self) -> str:
        """What this region's radius is, in words and numbers (it is always the entry bound)."""
        return f"the entry bound {self.radius:.4g}: |A_ij - A0_ij| <= radius"

    @property
    def centers(self) -> np.ndarray:
        """All centres (K, n, n): one, except for a union."""
        return self.center[None]

    @property
    def center_sigma_min(self) -> float:
        """sigma_min(A0), the centre's distance to the singular set (the smallest over the centres of a union)."""
        return float(sigma_min(self.center))

    @property
    def center_inverse(self) -> np.ndarray:
        """A0^-1; an InputError when the centre is singular to working precision (center_singular)."""
        if self.center_singular:
            raise InputError(
                f"region: the centre is singular (sigma_min(A0) = {self.center_sigma_min:.3g}); it has no inverse"
            )
        return np.linalg.inv(self.center)

    @property
    def center_sigma_min_error(self) -> float:
        """How far the computed sigma_min(A0) may be from the true one (LAPACK's SVD is backward stable:
        p(n) eps ||A0||_2), taken as 1e3 eps max(1, max |A0_ij|); at or below it the centre counts as singular."""
        return singular_error(self.center)

    @property
    def center_singular(self) -> bool:
        """sigma_min(A0) is zero to working precision."""
        return self.center_sigma_min <= self.center_sigma_min_error

    def perturbation_bound(self) -> float:
        """An upper bound on ||A - A0||_2 over the region."""
        raise NotImplementedError

    @property
    def certified_distance(self) -> float:
        """Lower bound on sigma_min(A) over the region: sigma_min(A0) - max ||E||_2 (<= 0: no certificate; and none
        either when the centre is singular to working precision, see avoids)."""
        return self.center_sigma_min - self.perturbation_bound()

    def avoids(self, eps: float = 0.0) -> bool:
        """True when the region is certified disjoint from M_eps (every matrix at distance > eps from singular). A
        centre singular to working precision certifies nothing, whatever its rounding-noise sigma_min says."""
        return self.certified_distance > eps and not self.center_singular

    @property
    def positive_definite(self) -> bool:
        """Every matrix of the region is certified symmetric positive definite."""
        return False

    def contains(self, a, *, slack: float = 0.0) -> np.ndarray:
        """Mask (...) of the matrices of a (..., n, n) that lie in the region (widened by slack)."""
        raise NotImplementedError

    def sample(self, count: int, *, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
        """count matrices of the region, shape (count, n, n), on the generator's device."""
        raise NotImplementedError

    def extreme_points(self) -> np.ndarray:
        """Points (k, n, n) of the region likely to be nearest the singular set (for the sampled minimum)."""
        u, s, vt = np.linalg.svd(self.center)
        return (self.center - min(s[-1], self.perturbation_bound()) * np.outer(u[:, -1], vt[-1]))[None]

    def sampled_min_distance(self, count: int = 100_000, *, seed: int = 0) -> float:
        """Smallest sigma_min over count samples of the region and the shape's extreme points."""
        a = self.sample(count, generator=torch.Generator().manual_seed(seed)).numpy()
        pts = self.extreme_points()
        pts = pts[self.contains(pts, slack=1e-12 * (1 + self.radius))]
        found = sigma_min(a).min()
        return float(min(found, sigma_min(pts).min())) if len(pts) else float(found)

    def bounding_box(self) -> "Box":
        """The box around center with per-entry half-widths that holds the region (for LP bounds and clipping)."""
        return Box(self.center, self.radius)

    def describe(self) -> str:
        """The region in one line of words ("2x2 box, half-width 0.01")."""
        raise NotImplementedError

    def to_json(self) -> dict:
        """The region file's JSON for this region (without the format keys that save adds)."""
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        """Write the region file (JSON) atomically."""
        from neuralinv.common.files import write_json

        return write_json(path, {"format": FORMAT, "format_version": FORMAT_VERSION, **self.to_json()})

    def _info_json(self) -> dict:
        return {"info": self.info} if self.info else {}


def symmetric_size(e, norm: str, *, whiten: np.ndarray | None = None) -> np.ndarray:
    """||E|| (...) of symmetric perturbations e (..., n, n): "spectral" (max |lambda|), "fro", or "relative" (the
    spectral norm of L^-1 E L^-T, whiten = L^-1 for the centre A0 = L L^T)."""
    if norm == "relative":
        f = whiten @ e @ whiten.T
        return np.abs(np.linalg.eigvalsh((f + np.swapaxes(f, -1, -2)) / 2)).max(-1)
    return matrix_norm(e, "fro") if norm == "fro" else np.abs(np.linalg.eigvalsh(e)).max(-1)


def _unit_directions(count: int, shape: tuple, generator: torch.Generator, *, symmetric: bool, norm: str):
    """count random matrices of shape (n, n), Gaussian directions normalised to norm 1 in norm (float64)."""
    g = torch.randn((count, *shape), generator=generator, dtype=torch.float64, device=generator.device)
    if symmetric:
        g = (g + g.mT) / 2
    if norm == "fro":
        size = torch.linalg.matrix_norm(g)
    elif symmetric:
        size = torch.linalg.eigvalsh(g).abs().amax(-1)
    else:
        size = torch.linalg.matrix_norm(g, ord=2)
    return g / size[:, None, None]


class Box(Region):
    """The box of matrices A with |A_ij - center_ij| <= W_ij: radius a number c (W_ij = c, the paper's boxes) or an
    (n, n) array of per-entry half-widths. Certificate: sigma_min(A) >= sigma_min(A0) - ||W||_2 (module docstring).

    radius: c as given; for per-entry half-widths, their largest (the given array is half_widths, uniform says which).
    """

    shape = "box"

    def __init__(self, center, radius, *, info: dict | None = None):
        self.center = _frozen(as_matrix(center, name="center"))
        w = np.asarray(radius, dtype=np.float64) if not isinstance(radius, (int, float)) else None
        if w is not None and w.ndim > 0:
            if w.shape != self.center.shape or not np.all(np.isfinite(w)) or not np.all(w > 0):
                raise InputError(
                    f"radius: expected a number > 0 or an {self.center.shape} array of half-widths > 0, "
                    f"got shape {w.shape} with min {np.nanmin(w) if w.size else 'n/a'}"
                )
            self.half_widths = _frozen(w)
            self.uniform = bool(np.all(w == w.flat[0]))
            self.radius = float(w.max())
        else:
            self.radius = positive_number(radius, "radius")
            self.half_widths = _frozen(np.full(self.center.shape, self.radius))
            self.uniform = True
        self.info = dict(info or {})

    def __repr__(self) -> str:
        return f"Box(n={self.n}, radius={self.radius:g}{'' if self.uniform else ' (max of per-entry half-widths)'})"

    @property
    def radius_meaning(self) -> str:
        if self.uniform:
            return f"the half-width c = {self.radius:.4g} of every entry"
        return f"the largest per-entry half-width, {self.radius:.4g} (half_widths holds them all)"

    def perturbation_bound(self) -> float:
        if self.uniform:
            return self.n * self.radius
        return float(np.linalg.norm(self.half_widths, 2)) * (1 + 1e-12)

    def contains(self, a, *, slack: float = 0.0) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        return np.all(np.abs(a - self.center) <= self.half_widths + slack, axis=(-2, -1))

    def sample(self, count: int, *, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
        """count matrices drawn uniformly from the box."""
        u = torch.rand((count, self.n, self.n), generator=generator, dtype=torch.float64, device=generator.device)
        center = torch.tensor(self.center, dtype=torch.float64, device=generator.device)
        if self.uniform:
            return (center + self.radius * (2 * u - 1)).to(dtype)
        w = torch.tensor(self.half_widths, dtype=torch.float64, device=generator.device)
        return (center + w * (2 * u - 1)).to(dtype)

    def extreme_points(self) -> np.ndarray:
        # The corner that moves A0 furthest along -u v^T of its smallest singular pair is the likely worst point.
        u, _, vt = np.linalg.svd(self.center)
        return (self.center - self.half_widths * np.sign(np.outer(u[:, -1], vt[-1])))[None]

    def bounding_box(self) -> "Box":
        return self

    def describe(self) -> str:
        width = (
            f"half-width {self.radius:g}"
            if self.uniform
            else f"per-entry half-widths {self.half_widths.min():.3g}..{self.radius:.3g}"
        )
        return f"{self.n}x{self.n} box, {width}"

    def to_json(self) -> dict:
        radius = self.radius if self.uniform else self.half_widths.tolist()
        return {"shape": "box", "center": self.center.tolist(), "radius": radius, **self._info_json()}


class Ball(Region):
    """The ball ||A - A0|| <= r in the spectral or Frobenius norm. Certificate: sigma_min(A) >= sigma_min(A0) - r
    (||E||_2 <= ||E||_F), certified when r < sigma_min(A0), and exact: A0 - r u v^T lies in the ball.

    ball_radius is r as given; radius, the entry bound, equals it (|E_ij| <= ||E||_2 <= ||E||_F <= r).
    """

    shape = "ball"

    def __init__(self, center, radius, *, norm: str = "spectral", info: dict | None = None):
        self.center = _frozen(as_matrix(center, name="center"))
        self.ball_radius = positive_number(radius, "radius")
        self.norm = _norm_name(norm)
        self.radius = self.ball_radius  # |E_ij| <= ||E||_2 <= ||E||_F
        self.info = dict(info or {})

    def __repr__(self) -> str:
        return f"Ball(n={self.n}, radius={self.ball_radius:g}, norm={self.norm!r})"

    @property
    def radius_meaning(self) -> str:
        return f"r = {self.ball_radius:.4g}, the bound on ||A - A0|| ({self.norm} norm; it bounds every entry too)"

    def perturbation_bound(self) -> float:
        return self.ball_radius

    def contains(self, a, *, slack: float = 0.0) -> np.ndarray:
        return matrix_norm(np.asarray(a, dtype=np.float64) - self.center, self.norm) <= self.ball_radius + slack

    def sample(self, count: int, *, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
        """A Gaussian direction normalised in the ball's norm, at a radius r U^(1/n^2) (uniform in the Frobenius
        ball; inside, though not uniform, in the spectral one)."""
        e = _unit_directions(count, self.center.shape, generator, symmetric=False, norm=self.norm)
        return self._scale(e, generator, self.n**2).to(dtype)

    def _scale(self, e: torch.Tensor, generator: torch.Generator, dim: int) -> torch.Tensor:
        t = torch.rand((e.shape[0], 1, 1), generator=generator, dtype=torch.float64, device=generator.device)
        center = torch.tensor(self.center, dtype=torch.float64, device=generator.device)
        # A hair inside the sphere, so the membership test of a sample never fails on rounding.
        return center + e * (self.ball_radius * (1 - 1e-12) * t ** (1.0 / dim))

    def describe(self) -> str:
        return f"{self.n}x{self.n} ball, radius {self.ball_radius:.4g} in the {self.norm} norm"

    def to_json(self) -> dict:
        return {
            "shape": self.shape,
            "norm": self.norm,
            "center": self.center.tolist(),
            "radius": self.ball_radius,
            **self._info_json(),
        }


class Symmetric(Ball):
    """Symmetric perturbations A = A0 + E of a symmetric A0, E = E^T, ||E|| <= r, for covariance-like families.

    norm "spectral" or "fro" (Weyl): |lambda_i(A) - lambda_i(A0)| <= ||E||_2 <= r, so
    sigma_min(A) >= min |lambda(A0)| - r, and every A is positive definite when lambda_min(A0) > r.
    norm "relative" (A0 positive definite, A0 = L L^T): ||L^-1 E L^-T||_2 <= r, i.e. (1 - r) A0 <= A <= (1 + r) A0
    in the Loewner order, so for r < 1 every A is positive definite with
    sigma_min(A) = lambda_min(A) >= (1 - r) lambda_min(A0) (attained by (1 - r) A0).
    Perturbations proportional to A0, as bootstrap covariances are, fit this shape far more tightly than a ball,
    and r is the quantity that decides whether Newton-Schulz from A0^-1 converges.

    ball_radius is r as given (and what the region file stores). radius, the entry bound, is r for the spectral and
    Frobenius norms, but for "relative" it is rewritten to r lambda_max(A0) (|E_ij| <= ||E||_2 <= r ||A0||_2), so a
    relative region's radius is not the r it was built with: radius_meaning says so with both numbers.
    """

    shape = "symmetric"

    def __init__(self, center, radius, *, norm: str = "spectral", info: dict | None = None):
        relative = norm == "relative"
        super().__init__(center, radius, norm="spectral" if relative else norm, info=info)
        c = self.center
        if not np.array_equal(c, c.T):
            asym = float(np.abs(c - c.T).max())
            if asym > 1e-12 * max(1.0, float(np.abs(c).max())):
                raise InputError(f"center: a symmetric region needs a symmetric centre, max |A0 - A0^T| = {asym:.3g}")
            self.center = _frozen((c + c.T) / 2)
        if relative:
            self.norm = "relative"
            try:
                self._chol = np.linalg.cholesky(self.center)
            except np.linalg.LinAlgError:
                raise InputError("center: norm 'relative' needs a positive definite centre") from None
            self._whiten = np.linalg.inv(self._chol)
            self.radius = float(self.ball_radius * self.center_eigenvalues[-1])  # |E_ij| <= ||E||_2 <= r ||A0||_2

    def perturbation_bound(self) -> float:
        if self.norm == "relative":
            return self.ball_radius * float(self.center_eigenvalues[-1])
        return self.ball_radius

    @property
    def certified_distance(self) -> float:
        if self.norm == "relative":
            return (1 - self.ball_radius) * float(self.center_eigenvalues[0])
        return super().certified_distance

    def __repr__(self) -> str:
        return f"Symmetric(n={self.n}, radius={self.ball_radius:g}, norm={self.norm!r})"

    @property
    def radius_meaning(self) -> str:
        if self.norm == "relative":
            return (
                f"the entry bound r lambda_max(A0) = {self.radius:.4g}, not the given r = {self.ball_radius:.4g} "
                "(ball_radius), which bounds ||A0^-1/2 E A0^-1/2||"
            )
        return super().radius_meaning

    @property
    def center_eigenvalues(self) -> np.ndarray:
        """The eigenvalues of the symmetric centre A0, ascending."""
        return np.linalg.eigvalsh(self.center)

    @property
    def positive_definite(self) -> bool:
        if self.norm == "relative":
            return self.ball_radius < 1
        return bool(self.center_eigenvalues[0] > self.ball_radius)

    def contains(self, a, *, slack: float = 0.0) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        sym = np.all(np.abs(a - np.swapaxes(a, -1, -2)) <= slack, axis=(-2, -1))
        e = (a + np.swapaxes(a, -1, -2)) / 2 - self.center
        size = symmetric_size(e, self.norm, whiten=getattr(self, "_whiten", None))
        return sym & (size <= self.ball_radius + slack)

    def sample(self, count: int, *, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
        """A symmetric Gaussian direction normalised in the norm (for "relative": F in the spectral norm, then
        E = L F L^T), at a radius r U^(1/(n(n+1)/2))."""
        norm = "spectral" if self.norm == "relative" else self.norm
        e = _unit_directions(count, self.center.shape, generator, symmetric=True, norm=norm)
        if self.norm == "relative":
            low = torch.tensor(self._chol, dtype=torch.float64, device=generator.device)
            e = low @ e @ low.T
        a = self._scale(e, generator, self.n * (self.n + 1) // 2)
        return ((a + a.mT) / 2).to(dtype)

    def extreme_points(self) -> np.ndarray:
        if self.norm == "relative":
            return ((1 - min(self.ball_radius, 1.0)) * self.center)[None]
        lam, vec = np.linalg.eigh(self.center)
        i = int(np.argmin(np.abs(lam)))
        step = min(abs(lam[i]), self.ball_radius) * np.sign(lam[i] if lam[i] != 0 else 1.0)
        return (self.center - step * np.outer(vec[:, i], vec[:, i]))[None]

    def describe(self) -> str:
        pd = "; every matrix positive definite" if self.positive_definite else ""
        if self.norm == "relative":
            return (
                f"{self.n}x{self.n} symmetric perturbations relative to A0, ||A0^-1/2 E A0^-1/2|| <= "
                f"{self.ball_radius:.4g}{pd}"
            )
        return f"{self.n}x{self.n} symmetric perturbations, ||E|| <= {self.ball_radius:.4g} ({self.norm} norm){pd}"


def singular_center(region: Region) -> str | None:
    """Why A0^-1 cannot be used, "the centre is singular (sigma_min(A0) = ...)", or None when the centre is invertible.

    The test is Region.center_singular: sigma_min(A0) <= 1e3 eps max(1, max |A0_ij|).
    """
    if region.center_singular:
        return f"the centre is singular (sigma_min(A0) = {region.center_sigma_min:.3g})"
    return None
