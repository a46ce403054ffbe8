"""ArchNetwork: a network of any registered architecture, carrying what Network carries (region, scaling, info).

It is a MatrixModel (encode -> base -> decode -> ns_steps Newton-Schulz steps) whose base is built from a
declarative spec (nets/architectures.py), so a checkpoint can store the spec as JSON and rebuild the module from it
without executing code from the file.
"""

from __future__ import annotations

import torch

from neuralinv.common.errors import InputError
from neuralinv.nets.architectures import ARCHS, MatrixModel, build, check_spec
from neuralinv.nets.scaling import Scaling
from neuralinv.regions.shapes import Region

__all__ = ["ArchNetwork"]


class ArchNetwork(MatrixModel):
    """Matrices (..., n, n) -> approximate inverses (..., n, n) in float64, for the arch spec on region.

    .spec is the normalised spec (ns_steps included), .region the region it is valid on, .scaling its scaling,
    .info free-form metadata saved in checkpoints. Parameters are built by build(spec, region.n, seed), or base,
    when given, is used as it is (shared, not copied): a module build() made for the same arch and sizes.
    """

    def __init__(
        self,
        spec: dict,
        region: Region,
        scaling: Scaling,
        info: dict | None = None,
        seed: int = 0,
        base: torch.nn.Module | None = None,
    ):
        spec = check_spec(spec)
        if len(scaling.input_offset) != region.n**2:
            raise InputError(f"arch network: a {region.n}x{region.n} region needs a scaling for {region.n**2} entries")
        if base is None:
            base = build(spec, region.n, seed)
        elif not _same_base(getattr(base, "spec", None), spec):
            raise InputError(f"arch network: base built for spec {getattr(base, 'spec', None)!r}, not {spec!r}")
        super().__init__(base, scaling, spec["ns_steps"])
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


def _same_base(built: dict | None, spec: dict) -> bool:
    # The base does not depend on ns_steps (the head applies it), so only the arch and its sizes must agree.
    return isinstance(built, dict) and all(built.get(k) == spec[k] for k in ("arch", *ARCHS[spec["arch"]]))
