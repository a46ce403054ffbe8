"""The input/target scaling of a network: how matrices become its inputs and its outputs become inverses.

The paper's scaled form (not printed in the paper, implied by its published 4-8-4 network):
input x = vec(A - A0) / c and target y = vec(A^-1 - A0^-1) / c, row-major. "raw" feeds vec(A) and vec(A^-1).
"data" has the paper's offsets but divides by the root mean square, over the training set, of the entries of A - A0
and of A^-1 - A0^-1: for a region fitted to real data, c (a bound on every deviation) can be far larger than a
typical one, and the data scaling keeps inputs and targets O(1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from neuralinv.common.errors import InputError
from neuralinv.regions.shapes import Region, singular_center

SCALINGS = ("paper", "raw")  # the scalings fixed by the region alone (import accepts these)
TRAIN_SCALINGS = SCALINGS + ("data",)  # "data" is measured on the training set


def check_scaling(region: Region, name: str) -> None:
    """Refuse a scaling that cannot be built on region: an unknown name, or one that subtracts A0^-1 (paper, data) when
    the centre is singular, with a one-line reason and the fix."""
    if name not in TRAIN_SCALINGS:
        raise InputError(f"scaling: expected one of {', '.join(TRAIN_SCALINGS)}, got {name!r}")
    if name in ("paper", "data"):
        reason = singular_center(region)
        if reason is not None:
            what = "the paper's scaling" if name == "paper" else "the data scaling"
            raise InputError(
                f"scaling {name}: {what} subtracts A0^-1, which does not exist: {reason}; "
                f"use --scaling raw (vec(A) -> vec(A^-1))"
            )


@dataclass(frozen=True)
class Scaling:
    """x = (vec(A) - input_offset) / input_scale, A^-1 ~= target_offset + target_scale * y."""

    name: str
    input_offset: tuple[float, ...]
    input_scale: float
    target_offset: tuple[float, ...]
    target_scale: float

    @classmethod
    def for_region(
        cls, region: Region, name: str = "paper", *, data: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> "Scaling":
        """The scaling name on region; "data" needs data, the training pairs (A, A^-1) (see from_data). "paper"
        divides by c = region.radius, the entry bound (Region.radius_meaning: for a relative region not its r)."""
        check_scaling(region, name)
        if name == "paper":
            c = region.radius
            return cls("paper", tuple(region.center.ravel()), c, tuple(region.center_inverse.ravel()), c)
        if name == "raw":
            zeros = (0.0,) * region.n**2
            return cls("raw", zeros, 1.0, zeros, 1.0)
        if data is None:
            raise InputError("scaling data: needs the training matrices to measure their spread")
        return cls.from_data(region, *data)

    @classmethod
    def from_data(cls, region: Region, a: torch.Tensor, a_inv: torch.Tensor) -> "Scaling":
        """The "data" scaling: offsets A0 and A0^-1 (the region's centre), and scales the root mean square over the
        training pairs a, a_inv (m, n, n) of the entries of A - A0 and of A^-1 - A0^-1."""
        check_scaling(region, "data")
        center, center_inv = region.center, region.center_inverse
        a = torch.as_tensor(a, dtype=torch.float64).cpu()
        a_inv = torch.as_tensor(a_inv, dtype=torch.float64).cpu()
        if a.shape[0] == 0:
            raise InputError("scaling data: no training matrices to measure their spread")
        rms_in = float((a - torch.tensor(center)).square().mean().sqrt())
        rms_out = float((a_inv - torch.tensor(center_inv)).square().mean().sqrt())
        # Every matrix equal to the centre (no spread): the region's half-width is the only scale there is.
        rms_in = rms_in if rms_in > 0 and math.isfinite(rms_in) else region.radius
        rms_out = rms_out if rms_out > 0 and math.isfinite(rms_out) else region.radius
        return cls("data", tuple(center.ravel()), rms_in, tuple(center_inv.ravel()), rms_out)

    def encode(self, a: torch.Tensor) -> torch.Tensor:
        """(..., n, n) matrices -> (..., n^2) network inputs, in a's dtype."""
        offset = torch.tensor(self.input_offset, dtype=torch.float64, device=a.device)
        x = (a.double().flatten(-2) - offset) / self.input_scale
        return x.to(a.dtype)

    def encode_target(self, a_inv: torch.Tensor) -> torch.Tensor:
        """(..., n, n) inverses -> (..., n^2) training targets, in a_inv's dtype."""
        offset = torch.tensor(self.target_offset, dtype=torch.float64, device=a_inv.device)
        return ((a_inv.double().flatten(-2) - offset) / self.target_scale).to(a_inv.dtype)

    def decode(self, y: torch.Tensor) -> torch.Tensor:
        """(..., n^2) network outputs -> (..., n, n) approximate inverses in float64."""
        n = int(round(len(self.target_offset) ** 0.5))
        offset = torch.tensor(self.target_offset, dtype=torch.float64, device=y.device)
        return (offset + self.target_scale * y.double()).unflatten(-1, (n, n))

    def to_json(self) -> dict:
        """The scaling as JSON (as checkpoints store it)."""
        return {
            "name": self.name,
            "input_offset": list(self.input_offset),
            "input_scale": self.input_scale,
            "target_offset": list(self.target_offset),
            "target_scale": self.target_scale,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Scaling":
        """The scaling that to_json wrote."""
        return cls(
            data["name"],
            tuple(map(float, data["input_offset"])),
            float(data["input_scale"]),
            tuple(map(float, data["target_offset"])),
            float(data["target_scale"]),
        )
