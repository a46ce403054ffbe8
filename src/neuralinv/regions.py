"""Box regions around a centre matrix, the paper's data set presets, and distance to the singular set.

A box is M0 = prod_ij [A0_ij - c, A0_ij + c] (the paper's Eq. 7). The distance from A to the singular set is
sigma_min(A) in both the 2-norm and the Frobenius norm (Eckart-Young-Mirsky). Any perturbation E of the box has
||E||_2 <= ||E||_F <= n c, so sigma_min(A) >= sigma_min(A0) - n c over the whole box: a certified lower bound.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from neuralinv.errors import InputError

# Drawn once with numpy.random.default_rng(seed).integers(-2, 3, (16, 16)) for seed = 0, 1, ...; seed 1 was the first
# whose box of half-width 0.01 is certified clear of the singular set (sigma_min(A0) = 0.3488 >= 2 n c = 0.32).
# Stored as a literal so it never changes with a library's random stream (see scripts/draw_center16.py).
CENTER_16X16 = [
    [0, 0, 1, 2, -2, -2, 2, 2, -1, -1, 2, 0, -1, 2, -1, 0],
    [1, 0, -2, -2, 2, 1, 2, 0, 2, -1, 0, 1, -2, -1, -2, 0],
    [2, -2, -1, 0, 2, -1, 0, -1, -2, 1, -2, -1, 0, 0, -2, 2],
    [1, 2, -2, 1, -1, 0, 2, -1, 1, -2, -1, 2, 0, 0, -1, -2],
    [0, 1, 0, 1, -1, 1, 1, 2, 0, -2, 1, 0, 2, 0, -1, -2],
    [0, 1, 1, 2, -1, 0, 2, -1, -1, 2, 0, 0, 1, 0, 2, 1],
    [-2, -2, 0, 2, -2, 1, 1, 1, 2, -2, 0, 2, -1, -2, 0, -2],
    [-1, 2, 1, 2, 2, 2, -1, 0, 1, -1, 2, -2, 2, 1, -1, 1],
    [0, 2, 2, -1, 0, -1, 1, 1, 2, 2, 2, 2, 2, -2, -2, 0],
    [-1, 2, 1, 0, 0, 0, 2, -2, 0, 1, 0, 2, 2, 2, 0, 2],
    [-2, 1, -1, -1, 1, 1, 2, -1, 2, 2, -1, -2, 1, 2, 0, -2],
    [-2, -1, 1, -1, -2, 1, 1, -2, 0, -1, 0, -2, 1, -1, 0, 0],
    [1, -2, -1, 1, 1, -1, -2, 1, 0, 1, -2, 0, 2, 2, -1, 1],
    [-2, 2, -1, -1, 2, 0, 2, -2, 1, 2, -2, -1, -2, -1, -1, -2],
    [2, -1, 2, 1, -2, 1, 1, -2, -2, -1, -2, 0, 0, 1, 0, 0],
    [-1, 0, 0, 2, 1, 1, 0, -1, -1, 0, 0, -1, -2, -2, -2, -1],
]


def sigma_min(a) -> np.ndarray:
    """Smallest singular value of each matrix of a (..., n, n): its distance to the singular set."""
    a = np.asarray(a, dtype=np.float64)
    return np.linalg.svd(a, compute_uv=False)[..., -1]


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
                raise InputError(f"{name}: expected JSON text like [[2, 2], [2, 3]] or a .npy file, got {text!r}") from None
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a square matrix of numbers, got {value!r}") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise InputError(f"{name}: expected a square matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name}: entries must be finite, got {a.tolist()}")
    return a


@dataclass(frozen=True)
class Box:
    """The box of matrices A with |A_ij - center_ij| <= radius for all i, j."""

    center: np.ndarray = field(repr=False)
    radius: float

    def __post_init__(self):
        center = as_matrix(self.center, name="center")
        center.setflags(write=False)
        object.__setattr__(self, "center", center)
        if not (np.isfinite(self.radius) and self.radius > 0):
            raise InputError(f"radius: expected a finite number > 0, got {self.radius!r}")
        object.__setattr__(self, "radius", float(self.radius))

    @property
    def n(self) -> int:
        return self.center.shape[0]

    @property
    def center_sigma_min(self) -> float:
        return float(sigma_min(self.center))

    @property
    def center_inverse(self) -> np.ndarray:
        return np.linalg.inv(self.center)

    @property
    def certified_distance(self) -> float:
        """Lower bound on sigma_min(A) over the box: sigma_min(A0) - n c (can be <= 0: no certificate)."""
        return self.center_sigma_min - self.n * self.radius

    def avoids(self, eps: float = 0.0) -> bool:
        """True when the box is certified disjoint from M_eps (every matrix at distance > eps from singular)."""
        return self.certified_distance > eps

    def contains(self, a, *, slack: float = 0.0) -> np.ndarray:
        """Mask (...) of the matrices of a (..., n, n) that lie in the box (widened by slack)."""
        a = np.asarray(a, dtype=np.float64)
        return np.all(np.abs(a - self.center) <= self.radius + slack, axis=(-2, -1))

    def sample(self, count: int, *, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
        """count matrices drawn uniformly from the box, shape (count, n, n), on the generator's device."""
        u = torch.rand((count, self.n, self.n), generator=generator, dtype=torch.float64, device=generator.device)
        center = torch.tensor(self.center, dtype=torch.float64, device=generator.device)
        return (center + self.radius * (2 * u - 1)).to(dtype)

    def sampled_min_distance(self, count: int = 100_000, *, seed: int = 0) -> float:
        """Smallest sigma_min over count uniform samples and the box's sign-pattern corner in the weakest direction."""
        a = self.sample(count, generator=torch.Generator().manual_seed(seed)).numpy()
        # The corner that moves A0 furthest along -u v^T of its smallest singular pair is the likely worst point.
        u, _, vt = np.linalg.svd(self.center)
        corner = self.center - self.radius * np.sign(np.outer(u[:, -1], vt[-1]))
        return float(min(sigma_min(a).min(), sigma_min(corner)))

    def to_json(self) -> dict:
        return {"center": self.center.tolist(), "radius": self.radius}

    @classmethod
    def from_json(cls, data: dict) -> "Box":
        return cls(center=np.array(data["center"], dtype=np.float64), radius=float(data["radius"]))


@dataclass(frozen=True)
class DatasetPreset:
    """One of the paper's data sets: the box, the training set size (None: fresh samples every step), step counts."""

    name: str
    title: str
    box: Box
    train_size: int | None
    paper_steps: int
    quick_steps: int
    test_size: int = 10_000
    # Steps per schedule "epoch" at the paper's budget (see README: the epoch for streamed data).
    paper_epoch_steps: float = 7812.5

    @property
    def n(self) -> int:
        return self.box.n


DATASETS: dict[str, DatasetPreset] = {
    p.name: p
    for p in [
        DatasetPreset("2x2-first", "2x2 (First)", Box(np.array([[2.0, 2.0], [2.0, 3.0]]), 0.01),
                      train_size=1_000_000, paper_steps=156_250, quick_steps=80_000, paper_epoch_steps=1_000_000 / 128),
        DatasetPreset("2x2-second", "2x2 (Second)", Box(np.array([[2.0, 1.0], [0.0, -1.0]]), 0.01),
                      train_size=1_000_000, paper_steps=156_250, quick_steps=80_000, paper_epoch_steps=1_000_000 / 128),
        DatasetPreset("3x3", "3x3", Box(np.array([[1.0, 1, 1], [1, 2, 3], [1, 2, 4]]), 0.01),
                      train_size=100_000, paper_steps=200_000, quick_steps=120_000, paper_epoch_steps=100_000 / 128),
        # Streamed: an "epoch" is 1,000,000 samples, as for 2x2, so 200,000 steps span 25.6 schedule epochs.
        DatasetPreset("16x16", "16x16", Box(np.array(CENTER_16X16, dtype=np.float64), 0.01),
                      train_size=None, paper_steps=200_000, quick_steps=300, paper_epoch_steps=1_000_000 / 128),
    ]
}


def get_dataset(name: str) -> DatasetPreset:
    try:
        return DATASETS[name]
    except KeyError:
        raise InputError(f"dataset: unknown preset {name!r}; choose one of {', '.join(DATASETS)}") from None
