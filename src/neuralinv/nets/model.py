"""ArchNetwork: a network of any registered architecture, carrying what Network carries (region, scaling, info).

It is a MatrixModel (encode -> base -> decode -> ns_steps Newton-Schulz steps) whose base is built from a
declarative spec (nets/architectures.py), so a checkpoint can store the spec as JSON and rebuild the module from it
without executing code from the file.
"""

from __future__ import annotations

import torch

from neuralinv.nets.architectures import MatrixModel, build, check_spec
from neuralinv.nets.scaling import Scaling
from neuralinv.regions.shapes import Region

__all__ = ["ArchNetwork"]


class ArchNetwork(MatrixModel):
    """Matrices (..., n, n) -> approximate inverses (..., n, n) in float64, for the arch spec on region.

    .spec is the normalised spec (ns_steps included), .region the region it is valid on, .scaling its scaling,
    .info free-form metadata saved in checkpoints. Parameters are built by build(spec, region.n, seed).
    """

    def __init__(self, spec: dict, region: Region, scaling: Scaling, info: dict | None = None, seed: int = 0):
        spec = check_spec(spec)
        super().__init__(build(spec, region.n, seed), scaling, spec["ns_steps"])
        self.spec = spec
        self.region = region
        self.info = {} if info is None else info

    @property
    def n(self) -> int:
        """The matrix size n of the n x n inputs."""
        return self.region.n

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the base's parameters (float32 unless moved)."""
        p = next(self.base.parameters(), None)
        return torch.float32 if p is None else p.dtype
