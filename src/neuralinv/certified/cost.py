"""The auto cost model: what the fast path and the exact path cost on this machine, and which is cheaper for a batch.

Costs are measured, never assumed (Calibration); a probe of the batch gives the share certified after each number of
Newton-Schulz steps, and decide() turns that into the cheaper choice.
"""

from __future__ import annotations

import numpy as np
import torch

from neuralinv.certified.fast import CHUNK_ENTRIES
from neuralinv.certified.geometry import Geometry
from neuralinv.common.timing import time_fn
from neuralinv.common.timing_cache import remember_timing, remembered_timing
from neuralinv.linalg import exact

AUTO_MAX_STEPS = 6  # the most Newton-Schulz steps auto considers
PROBE_SHARE = 32  # auto probes one matrix in this many (at least PROBE_MIN) before deciding
PROBE_MIN = 256
AUTO_MARGIN = 0.85  # the fast path is chosen when its estimated time is below this share of the exact path's
REPROBE_EVERY = 32  # auto remembers a region's probe for this many calls, then probes again
VERIFY_ABOVE = 0.4  # a fast choice estimated at this share of the exact path's time or more is checked by timing


def measure_unit_costs(n: int, w: torch.dtype, device) -> dict:
    """Per-matrix seconds of one batched product and of one elementwise pass in w: {"product", "pass"}; read from
    the on-disk timing cache when measured before on this machine, else timed (median of 4 runs after a warm-up)."""
    key = (n, w, str(device), torch.get_num_threads())
    stored = remembered_timing("unit", key)
    if stored is not None:
        return stored
    count = max(256, min(4096, CHUNK_ENTRIES // n**2))
    a = torch.randn((count, n, n), generator=torch.Generator().manual_seed(0), dtype=w).to(device)
    out = torch.empty_like(a)

    def per_matrix(fn) -> float:
        """Median seconds of fn per matrix."""
        return time_fn(fn, device=device, warmup=1, repeats=4, inference=False).median / count

    costs = {
        "product": per_matrix(lambda: torch.bmm(a, a, out=out)),
        "pass": per_matrix(lambda: torch.add(a, a, out=out)),
    }
    remember_timing("unit", key, costs)
    return costs


class Calibration:
    """The costs auto decides by, measured once on this machine per (n, dtype, device, threads) and kept here: the
    exact path's fastest candidate (linalg.exact.calibrate, also per spd) and the unit costs of the fast path
    (measure_unit_costs). Both are also stored on disk between processes (common.timing_cache).

    exact, unit: fixed values used for every size and dtype instead of measuring (a mocked machine, for tests and
    what-ifs): exact like calibrate's answer ({"method", "dtype", "per_matrix_s", ...}), unit {"product", "pass"}.
    """

    def __init__(self, *, exact: dict | None = None, unit: dict | None = None):
        self._fixed_exact, self._fixed_unit = exact, unit
        self._exact: dict = {}
        self._unit: dict = {}

    def exact_choice(self, n: int, w: torch.dtype, device, *, spd: bool) -> dict:
        """The exact path to take for n x n matrices in w: {"method", "dtype", "per_matrix_s", ...}."""
        if self._fixed_exact is not None:
            return self._fixed_exact
        key = (n, w, str(device), torch.get_num_threads(), bool(spd))
        if key not in self._exact:
            self._exact[key] = exact.calibrate(n, w, device, spd=spd)
        return self._exact[key]

    def unit_costs(self, n: int, w: torch.dtype, device) -> dict:
        """Per-matrix seconds of one batched product and one elementwise pass: {"product", "pass"}."""
        if self._fixed_unit is not None:
            return self._fixed_unit
        key = (n, w, str(device), torch.get_num_threads())
        if key not in self._unit:
            self._unit[key] = measure_unit_costs(n, w, device)
        return self._unit[key]


def fast_cost(k: int, unit: dict, *, converted: bool, geo: Geometry) -> float:
    """Estimated per-matrix seconds of the general fast path for a matrix certified after k steps (k < 0: dropped
    after the first residual, before any step): products 2 + 2k (S0, S0^2, per step an update and a square, less the
    last square, plus the answer), and about 5 + 3k elementwise passes; conversions, equilibration and several
    centres add passes."""
    products = 2 if k < 0 else (3 if k == 0 else 2 + 2 * k)
    passes = (
        5
        + 3 * max(k, 0)
        + (2 if converted else 0)
        + (4 if geo.scale is not None else 0)
        + (3 if len(geo.centers) > 1 else 0)
    )
    return (
        products * unit["product"]
        + passes * unit["pass"]
        + (len(geo.centers) / geo.centers.shape[-1] ** 2) * unit["product"]
    )


def steps_worth_trying(c_exact: float, unit: dict, *, converted: bool, geo: Geometry) -> int:
    """The most Newton-Schulz steps whose cost alone stays below the exact path's (-1: not even 0 steps)."""
    k = -1
    while k < AUTO_MAX_STEPS and fast_cost(k + 1, unit, converted=converted, geo=geo) < AUTO_MARGIN * c_exact:
        k += 1
    return k


def decide(counts: np.ndarray, failed: int, c_exact: float, unit: dict, *, converted: bool, geo: Geometry):
    """(max_steps or None for the exact path, estimated fast/exact time ratio) from a probe's step counts."""
    total = counts.sum() + failed
    best_k, best = None, c_exact
    for k_max in range(len(counts)):
        done = counts[: k_max + 1]
        cost = sum(c * fast_cost(k, unit, converted=converted, geo=geo) for k, c in enumerate(done))
        rest = total - done.sum()
        cost = (cost + rest * (fast_cost(-1, unit, converted=converted, geo=geo) + c_exact)) / total
        if cost < best:
            best_k, best = k_max, cost
    ratio = best / c_exact
    return (best_k if ratio < AUTO_MARGIN else None), ratio
