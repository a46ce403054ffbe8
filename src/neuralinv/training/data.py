"""(A, A^-1) pairs from a region (fixed or streamed, optionally with a rejection rule) or from matrices of one's own."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neuralinv.common.errors import InputError
from neuralinv.linalg.classical import closed_form_inverse
from neuralinv.nets.scaling import Scaling
from neuralinv.regions.shapes import Region

TEST_SEED = 20_250_600  # the fixed seed of every test set unless a caller names another


@dataclass(frozen=True)
class AcceptRule:
    """A rejection rule for sampled matrices: keep A only when |det A| > min_abs_det and sigma_min(A) > min_sigma
    (either may be None: no condition). Rejected draws are redrawn (sample_matrices)."""

    min_abs_det: float | None = None
    min_sigma: float | None = None

    def __post_init__(self):
        for name in ("min_abs_det", "min_sigma"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputError(f"{name}: expected a finite number >= 0, got {v!r}")

    @classmethod
    def make(cls, min_abs_det: float | None = None, min_sigma: float | None = None) -> "AcceptRule | None":
        """The rule, or None when neither condition is given."""
        if min_abs_det is None and min_sigma is None:
            return None
        return cls(None if min_abs_det is None else float(min_abs_det), None if min_sigma is None else float(min_sigma))

    @classmethod
    def from_json(cls, data: dict | None) -> "AcceptRule | None":
        """The rule that to_json() wrote (a checkpoint's info["accept"]), or None for none."""
        return None if not data else cls.make(data.get("min_abs_det"), data.get("min_sigma"))

    def accepts(self, a: torch.Tensor) -> torch.Tensor:
        """Mask (count,) of the matrices of a (count, n, n) that the rule keeps."""
        keep = torch.ones(a.shape[0], dtype=torch.bool, device=a.device)
        if self.min_abs_det is not None:
            keep &= torch.linalg.det(a.double()).abs() > self.min_abs_det
        if self.min_sigma is not None:
            keep &= torch.linalg.svdvals(a.double())[..., -1] > self.min_sigma
        return keep

    def to_json(self) -> dict:
        """{"min_abs_det": ..., "min_sigma": ...}, None where there is no condition."""
        return {"min_abs_det": self.min_abs_det, "min_sigma": self.min_sigma}

    def describe(self) -> str:
        """The rule in words, e.g. "|det A| > 0.1 and sigma_min(A) > 0.2"."""
        parts = []
        if self.min_abs_det is not None:
            parts.append(f"|det A| > {self.min_abs_det:g}")
        if self.min_sigma is not None:
            parts.append(f"sigma_min(A) > {self.min_sigma:g}")
        return " and ".join(parts)


MIN_ACCEPTANCE = 1e-3  # a rule that keeps fewer draws than this ...
MIN_DRAWS = 10_000  # ... after at least this many is refused


def sample_matrices(
    region: Region, count: int, *, generator: torch.Generator, rule: AcceptRule | None = None, stats: dict | None = None
) -> torch.Tensor:
    """count samples of the region, float64 (count, n, n); with a rule, rejected draws are redrawn in vectorised
    batches. A rule that keeps fewer than 1e-3 of at least 10,000 draws is refused with an InputError naming the
    observed rate. stats, when given, receives {"drawn": ..., "accepted": ...}."""
    if rule is None:
        a = region.sample(count, generator=generator)
        if stats is not None:
            stats.update(drawn=count, accepted=count)
        return a
    parts, got, drawn, accepted = [], 0, 0, 0
    cap = max(4096, 4_000_000 // region.n**2)  # bounds the memory of one batch
    while got < count:
        need = count - got
        rate = max(accepted / drawn, MIN_ACCEPTANCE) if drawn else 1.0
        batch = min(cap, max(1024, math.ceil(1.2 * need / rate) + 64))
        a = region.sample(batch, generator=generator)
        keep = rule.accepts(a)
        kept = int(keep.sum())
        drawn, accepted = drawn + batch, accepted + kept
        if drawn >= MIN_DRAWS and accepted < MIN_ACCEPTANCE * drawn:
            raise InputError(
                f"rejection rule {rule.describe()}: only {accepted} of {drawn} draws from the region "
                f"were kept (acceptance rate {accepted / drawn:.2g} < {MIN_ACCEPTANCE:g}); loosen the "
                f"rule or choose a region further from the singular set"
            )
        if kept:
            parts.append(a[keep][:need])
            got += min(kept, need)
    if stats is not None:
        stats.update(drawn=drawn, accepted=accepted)
    return torch.cat(parts) if parts else region.sample(0, generator=generator)


def sample_pairs(
    region: Region, count: int, *, generator: torch.Generator, rule: AcceptRule | None = None, stats: dict | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """count samples A of the region (kept by rule, if any) and their exact inverses, both float64 (count, n, n)."""
    a = sample_matrices(region, count, generator=generator, rule=rule, stats=stats)
    return a, closed_form_inverse(a)


def sample_test_set(
    region: Region,
    size: int = 10_000,
    seed: int = TEST_SEED,
    *,
    rule: AcceptRule | None = None,
    stats: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The seeded test set: size samples (A, A^-1) of the region, float64, drawn from a generator seeded with seed."""
    return sample_pairs(region, size, generator=torch.Generator().manual_seed(seed), rule=rule, stats=stats)


# ---------------------------------------------------------------------------------------------------------------------
# Matrices of one's own

MIN_MATRICES = 100  # fewer cannot give both a training set and a held-out test set worth the name


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, hex; read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def split_matrices(count: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) of a seeded split of count matrices, the share holdout held out (at least one)."""
    if not (0 < holdout < 1):
        raise InputError(f"holdout: expected a share in (0, 1), got {holdout!r}")
    order = np.random.default_rng(seed).permutation(count)
    n_test = min(count - 1, max(1, round(holdout * count)))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def matrix_pairs(a: np.ndarray, *, name: str = "matrices") -> tuple[torch.Tensor, torch.Tensor]:
    """(A, A^-1) as float64 tensors, the inverse by numpy.linalg.inv in float64; a singular matrix is an InputError."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    try:
        a_inv = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        bad = [i for i in range(a.shape[0]) if np.linalg.matrix_rank(a[i]) < a.shape[-1]]
        raise InputError(
            f"{name}: {len(bad)} matrices are singular (the first at index {bad[0] if bad else '?'}); "
            f"they have no inverse to learn"
        ) from None
    if not np.isfinite(a_inv).all():
        bad = ~np.isfinite(a_inv).all(axis=(-2, -1))
        raise InputError(
            f"{name}: {int(bad.sum())} matrices are numerically singular (the first at index "
            f"{int(np.argmax(bad))}); their inverses overflow"
        )
    return torch.from_numpy(a), torch.from_numpy(a_inv)


class BatchStream:
    """The batches one model sees: consecutive slices of a stream of shuffles of a fixed set, or fresh samples.

    The stream depends only on its seed (and device), so a model trained alone or inside an ensemble sees the same
    batches. Batches run across epoch boundaries (no partial batch), so a fixed set's epoch is size / batch_size
    steps. Samples and shuffles are drawn in bulk on the device of the data (a CUDA generator on a GPU, whose
    stream differs from the CPU's).
    """

    def __init__(
        self,
        *,
        seed: int,
        batch_size: int,
        region: Region,
        scaling: Scaling,
        data: tuple[torch.Tensor, torch.Tensor] | None,
        device="cpu",
        rule: AcceptRule | None = None,
    ):
        """seed: the stream's own seed; data: the fixed set (x, y) already encoded, float32 (size, n^2) each, or
        None for fresh samples of region (kept by rule) every batch."""
        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device).manual_seed(1_000_003 * (seed + 1))
        self.batch_size, self.region, self.scaling, self.rule = batch_size, region, scaling, rule
        self.data = None if data is None else (data[0].to(self.device), data[1].to(self.device))
        self.order = torch.empty(0, dtype=torch.long, device=self.device)

    def next(self, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The next steps batches: x (steps, batch, n^2), y (steps, batch, n^2), float32."""
        count = steps * self.batch_size
        if self.data is None:
            a, a_inv = sample_pairs(self.region, count, generator=self.generator, rule=self.rule)
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
        """What restore() needs to continue the stream: the generator's state and the rest of the current order."""
        return {"generator": self.generator.get_state(), "order": self.order.cpu().clone()}

    def restore(self, state: dict) -> None:
        """Continue from a state() of a stream with the same seed and data."""
        self.generator.set_state(state["generator"])
        self.order = state["order"].to(self.device).clone()
