"""Composite regions: unions of regions (several centres) and equilibrated regions (D A D in an inner region)."""

from __future__ import annotations

import numpy as np
import torch

from neuralinv.common.errors import InputError
from neuralinv.regions.shapes import Box, Region, _frozen, matrix_norm


def _region(spec, what: str) -> Region:
    """spec itself when it is a Region; a one-line InputError naming what otherwise (load_region makes one of a
    name, a file or JSON)."""
    if not isinstance(spec, Region):
        raise InputError(f"{what}: expected a Region (neuralinv.load_region makes one), got {type(spec).__name__}")
    return spec


class Union(Region):
    """Any of several regions of one size (several centres). Certificate: the smallest of the members'. center is the
    first member's centre; weights (summing to 1) say how often sample draws from each member.

    radius is computed, not given: the entry bound around the first member's centre, the largest over members of
    max |A0_k - A0_1| + their radius.
    """

    shape = "union"

    def __init__(self, members, *, weights=None, info: dict | None = None):
        self.members = [_region(m, "union") for m in members]
        if not self.members:
            raise InputError("union: give at least one member region")
        sizes = {m.n for m in self.members}
        if len(sizes) > 1:
            raise InputError(f"union: members must share one matrix size, got sizes {sorted(sizes)}")
        if any(isinstance(m, Union) for m in self.members):
            raise InputError("union: members must not be unions themselves")
        w = np.ones(len(self.members)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (len(self.members),) or not np.all(w >= 0) or w.sum() <= 0:
            raise InputError(f"union: expected {len(self.members)} weights >= 0 (not all 0), got {weights!r}")
        self.weights = w / w.sum()
        self.center = self.members[0].center
        self.radius = max(float(np.abs(m.center - self.center).max()) + m.radius for m in self.members)
        self.info = dict(info or {})

    def __repr__(self) -> str:
        return f"Union({len(self.members)} members, n={self.n})"

    @property
    def radius_meaning(self) -> str:
        return (
            f"the entry bound {self.radius:.4g} around the first member's centre (the members' own radii are "
            f"{', '.join(f'{m.radius:.4g}' for m in self.members)})"
        )

    @property
    def centers(self) -> np.ndarray:
        return np.stack([m.center for m in self.members])

    @property
    def center_sigma_min(self) -> float:
        return min(m.center_sigma_min for m in self.members)

    @property
    def certified_distance(self) -> float:
        return min(m.certified_distance for m in self.members)

    def perturbation_bound(self) -> float:
        return max(m.perturbation_bound() for m in self.members)

    @property
    def positive_definite(self) -> bool:
        return all(m.positive_definite for m in self.members)

    def contains(self, a, *, slack: float = 0.0) -> np.ndarray:
        masks = [m.contains(a, slack=slack) for m in self.members]
        return np.logical_or.reduce(masks)

    def sample(self, count: int, *, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
        """count matrices: a member drawn by weight for each, then a sample of that member."""
        p = torch.tensor(self.weights, dtype=torch.float64, device=generator.device)
        which = torch.multinomial(p, count, replacement=True, generator=generator)
        out = torch.empty((count, self.n, self.n), dtype=torch.float64, device=generator.device)
        for k, m in enumerate(self.members):
            pos = (which == k).nonzero().squeeze(1)
            if pos.numel():
                out[pos] = m.sample(pos.numel(), generator=generator)
        return out.to(dtype)

    def sampled_min_distance(self, count: int = 100_000, *, seed: int = 0) -> float:
        return min(m.sampled_min_distance(max(1, count // len(self.members)), seed=seed) for m in self.members)

    def extreme_points(self) -> np.ndarray:
        return np.concatenate([m.extreme_points() for m in self.members])

    def bounding_box(self) -> "Box":
        boxes = [m.bounding_box() for m in self.members]
        lo = np.min([b.center - b.half_widths for b in boxes], axis=0)
        hi = np.max([b.center + b.half_widths for b in boxes], axis=0)
        return Box(self.center, np.maximum(np.maximum(hi - self.center, self.center - lo), 1e-300))

    def nearest(self, a) -> np.ndarray:
        """Index (...) of the member whose centre is nearest to each matrix of a (..., n, n), in the Frobenius norm
        (after each member's equilibration, if any)."""
        a = np.asarray(a, dtype=np.float64)
        dist = [matrix_norm(_scaled(m, a) - _scaled(m, m.center), "fro") for m in self.members]
        return np.argmin(np.stack(dist, axis=-1), axis=-1)

    def describe(self) -> str:
        return f"union of {len(self.members)} regions: " + "; ".join(m.describe() for m in self.members)

    def to_json(self) -> dict:
        return {
            "shape": "union",
            "weights": self.weights.tolist(),
            "members": [m.to_json() for m in self.members],
            **self._info_json(),
        }


def _scaled(region: Region, a: np.ndarray) -> np.ndarray:
    return region.scale_matrix(a) if isinstance(region, Equilibrated) else a


class Equilibrated(Region):
    """Matrices A whose equilibrated form B = D A D (D = diag(scale) > 0) lies in an inner region. Inverses and bounds
    stay those of A (A^-1 = D B^-1 D); the geometry, and the fast path's arithmetic, live in B, where variables of
    unequal scales become comparable. Certificate: sigma_min(A) >= sigma_min(B) / max(d)^2.

    radius is computed, not given: the inner radius over min(d)^2, an entry bound for A (the inner region's radius
    is the one for B = D A D).
    """

    shape = "equilibrated"

    def __init__(self, inner: Region, scale, *, info: dict | None = None):
        self.inner = _region(inner, "equilibrated")
        if isinstance(self.inner, Equilibrated):
            raise InputError("equilibrated: the inner region is equilibrated already")
        d = np.asarray(scale, dtype=np.float64)
        if d.shape != (self.inner.n,) or not np.all(np.isfinite(d)) or not np.all(d > 0):
            raise InputError(f"scale: expected {self.inner.n} finite numbers > 0, got {scale!r}")
        self.scale = _frozen(d)
        self.center = _frozen(self.unscale_matrix(self.inner.center))
        self.radius = float(self.inner.radius / d.min() ** 2)
        self.info = dict(info or {})

    def __repr__(self) -> str:
        return f"Equilibrated({self.inner!r}, scale {self.scale.min():.3g}..{self.scale.max():.3g})"

    @property
    def radius_meaning(self) -> str:
        return (
            f"the entry bound {self.radius:.4g} for A: the inner radius {self.inner.radius:.4g} (for B = D A D) over "
            f"min(d)^2"
        )

    def scale_matrix(self, a):
        """B = D A D for a (..., n, n)."""
        return a * (self.scale[:, None] * self.scale[None, :])

    def unscale_matrix(self, b):
        """A = D^-1 B D^-1 for b (..., n, n)."""
        return b / (self.scale[:, None] * self.scale[None, :])

    @property
    def centers(self) -> np.ndarray:
        return self.unscale_matrix(self.inner.centers)

    @property
    def certified_distance(self) -> float:
        return self.inner.certified_distance / float(self.scale.max()) ** 2

    def perturbation_bound(self) -> float:
        return self.inner.perturbation_bound() / float(self.scale.min()) ** 2

    @property
    def positive_definite(self) -> bool:
        return self.inner.positive_definite  # congruence by D keeps definiteness

    def contains(self, a, *, slack: float = 0.0) -> np.ndarray:
        return self.inner.contains(self.scale_matrix(np.asarray(a, dtype=np.float64)), slack=slack)

    def sample(self, count: int, *, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
        d = torch.tensor(self.scale, dtype=torch.float64, device=generator.device)
        return (self.inner.sample(count, generator=generator) / (d[:, None] * d[None, :])).to(dtype)

    def extreme_points(self) -> np.ndarray:
        return self.unscale_matrix(self.inner.extreme_points())

    def bounding_box(self) -> "Box":
        inner = self.inner.bounding_box()
        w = self.unscale_matrix(inner.half_widths)
        return Box(self.unscale_matrix(inner.center), w)

    def describe(self) -> str:
        return (
            f"{self.inner.describe()}, after equilibration D A D (d from {self.scale.min():.3g} to "
            f"{self.scale.max():.3g})"
        )

    def to_json(self) -> dict:
        return {
            "shape": "equilibrated",
            "scale": self.scale.tolist(),
            "region": self.inner.to_json(),
            **self._info_json(),
        }
