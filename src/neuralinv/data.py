"""(A, A^-1) pairs from a box, fixed or streamed, and the input/target scaling.

The paper's scaled form (not printed in the paper, implied by its published 4-8-4 network; see PAPER.md):
input x = vec(A - A0) / c and target y = vec(A^-1 - A0^-1) / c, row-major. "raw" feeds vec(A) and vec(A^-1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neuralinv.baselines import exact_inverse
from neuralinv.errors import InputError
from neuralinv.regions import Box

SCALINGS = ("paper", "raw")
TEST_SEED = 20_250_600  # the fixed seed of every test set unless a caller names another
# A centre with sigma_min(A0) <= SINGULAR_RTOL max(1, max |A0_ij|) counts as singular: A0^-1 does not exist in float64
# (or is rounding noise), so nothing built on it (the paper's scaling, the Taylor baselines) can be used.
SINGULAR_RTOL = 1e3 * float(np.finfo(np.float64).eps)


def singular_center(box: Box) -> str | None:
    """Why A0^-1 cannot be used, "the centre is singular (sigma_min(A0) = ...)", or None when the centre is invertible.

    The test is sigma_min(A0) <= 1e3 eps max(1, max |A0_ij|), the same one `neuralinv region` applies.
    """
    s0 = box.center_sigma_min
    if s0 <= SINGULAR_RTOL * max(1.0, float(np.abs(box.center).max())):
        return f"the centre is singular (sigma_min(A0) = {s0:.3g})"
    return None


@dataclass(frozen=True)
class Scaling:
    """x = (vec(A) - input_offset) / input_scale, A^-1 ~= target_offset + target_scale * y."""

    name: str
    input_offset: tuple[float, ...]
    input_scale: float
    target_offset: tuple[float, ...]
    target_scale: float

    @classmethod
    def for_box(cls, box: Box, name: str = "paper") -> "Scaling":
        if name == "paper":
            reason = singular_center(box)
            if reason is not None:
                raise InputError(f"scaling paper: the paper's scaling subtracts A0^-1, which does not exist: {reason}; "
                                 f"use --scaling raw (vec(A) -> vec(A^-1))")
            return cls("paper", tuple(box.center.ravel()), box.radius, tuple(box.center_inverse.ravel()), box.radius)
        if name == "raw":
            zeros = (0.0,) * box.n**2
            return cls("raw", zeros, 1.0, zeros, 1.0)
        raise InputError(f"scaling: expected one of {', '.join(SCALINGS)}, got {name!r}")

    def encode(self, a: torch.Tensor) -> torch.Tensor:
        """(..., n, n) matrices -> (..., n^2) network inputs, in a's dtype."""
        offset = torch.tensor(self.input_offset, dtype=torch.float64, device=a.device)
        x = (a.double().flatten(-2) - offset) / self.input_scale
        return x.to(a.dtype)

    def encode_target(self, a_inv: torch.Tensor) -> torch.Tensor:
        offset = torch.tensor(self.target_offset, dtype=torch.float64, device=a_inv.device)
        return ((a_inv.double().flatten(-2) - offset) / self.target_scale).to(a_inv.dtype)

    def decode(self, y: torch.Tensor) -> torch.Tensor:
        """(..., n^2) network outputs -> (..., n, n) approximate inverses in float64."""
        n = int(round(len(self.target_offset) ** 0.5))
        offset = torch.tensor(self.target_offset, dtype=torch.float64, device=y.device)
        return (offset + self.target_scale * y.double()).unflatten(-1, (n, n))

    def to_json(self) -> dict:
        return {"name": self.name, "input_offset": list(self.input_offset), "input_scale": self.input_scale,
                "target_offset": list(self.target_offset), "target_scale": self.target_scale}

    @classmethod
    def from_json(cls, data: dict) -> "Scaling":
        return cls(data["name"], tuple(map(float, data["input_offset"])), float(data["input_scale"]),
                   tuple(map(float, data["target_offset"])), float(data["target_scale"]))


def sample_pairs(box: Box, count: int, *, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """count uniform samples A of the box and their exact inverses, both float64 (count, n, n)."""
    a = box.sample(count, generator=generator)
    return a, exact_inverse(a)


def test_set(box: Box, size: int = 10_000, seed: int = TEST_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """The seeded test set: (A, A^-1) in float64."""
    return sample_pairs(box, size, generator=torch.Generator().manual_seed(seed))


def training_set(box: Box, size: int, scaling: Scaling, *, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed training set as float32 network inputs and targets, (size, n^2) each."""
    a, a_inv = sample_pairs(box, size, generator=torch.Generator().manual_seed(seed))
    return scaling.encode(a).float(), scaling.encode_target(a_inv).float()


class BatchStream:
    """The batches one model sees: consecutive slices of a stream of shuffles of a fixed set, or fresh samples.

    The stream depends only on its seed (and device), so a model trained alone or inside an ensemble sees the same
    batches. Batches run across epoch boundaries (no partial batch), so a fixed set's epoch is size / batch_size
    steps. Samples and shuffles are drawn in bulk on the device of the data (a CUDA generator on a GPU, whose
    stream differs from the CPU's).
    """

    def __init__(self, *, seed: int, batch_size: int, box: Box, scaling: Scaling,
                 data: tuple[torch.Tensor, torch.Tensor] | None, device="cpu"):
        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device).manual_seed(1_000_003 * (seed + 1))
        self.batch_size, self.box, self.scaling = batch_size, box, scaling
        self.data = None if data is None else (data[0].to(self.device), data[1].to(self.device))
        self.order = torch.empty(0, dtype=torch.long, device=self.device)

    def next(self, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The next steps batches: x (steps, batch, n^2), y (steps, batch, n^2), float32."""
        count = steps * self.batch_size
        if self.data is None:
            a, a_inv = sample_pairs(self.box, count, generator=self.generator)
            x, y = self.scaling.encode(a).float(), self.scaling.encode_target(a_inv).float()
        else:
            size = self.data[0].shape[0]
            while self.order.numel() < count:
                shuffle = torch.randperm(size, generator=self.generator, device=self.device)
                self.order = torch.cat([self.order, shuffle])
            idx, self.order = self.order[:count], self.order[count:]
            x, y = self.data[0][idx], self.data[1][idx]
        return x.view(steps, self.batch_size, -1), y.view(steps, self.batch_size, -1)

    def state(self) -> dict:
        return {"generator": self.generator.get_state(), "order": self.order.cpu().clone()}

    def restore(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.order = state["order"].to(self.device).clone()

