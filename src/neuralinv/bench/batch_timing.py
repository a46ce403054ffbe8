"""A path timed as a user calls it: a Python loop over calls of one batch size, in seconds per PER matrices.

Every time is neuralinv.common.timing's median of repeats after a warm-up, on a synchronised device. At batch 1 a
path is called once per matrix (what the paper measured); where that loop would take long, a measured prefix of it
is scaled to PER matrices and the count measured is recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from neuralinv.common.timing import Timing, time_fn
from neuralinv.paper.numbers import TABLE3_MATRICES

BATCHES = (1, 100, 10_000)
PER = TABLE3_MATRICES  # times are seconds per this many matrices, as in the paper's Table 3
PROBE_CALLS = 20  # calls timed first to estimate a whole pass
MAX_SAMPLES = 100  # most repeats of a very short pass


@dataclass(frozen=True)
class Measurement:
    """Seconds per PER matrices at one batch size; calls and matrices actually timed in each repeat."""

    batch: int
    timing: Timing  # already scaled to PER matrices
    calls: int
    matrices: int

    @property
    def seconds(self) -> float:
        """The median over repeats, in seconds per PER matrices."""
        return self.timing.median

    def to_json(self) -> dict:
        """batch, seconds (the median), min, max, repeats, calls and matrices."""
        return {
            "batch": self.batch,
            "seconds": self.seconds,
            **{k: v for k, v in self.timing.to_json().items() if k != "median"},
            "calls": self.calls,
            "matrices": self.matrices,
        }


def time_batches(
    fn: Callable,
    chunks: list,
    *,
    batch: int,
    device="cpu",
    repeats: int = 5,
    max_pass_s: float = 2.0,
    min_total_s: float = 0.1,
    warm: bool = False,
) -> Measurement:
    """Seconds per PER matrices for calling fn on each chunk in turn (a Python loop, as a user would).

    A pass over all chunks longer than about max_pass_s is cut to a prefix of calls and scaled up: the cost of one
    call does not depend on how many came before, so this measures the same thing in less time. Passes so short
    that repeats of them take less than min_total_s are repeated more (up to 100 times): the median of many short
    samples is not moved by the occasional one that another process interrupted.
    warm: fn has just run on inputs of this shape, so a single-call pass needs no warm-up run of its own.
    """
    probe = chunks[: min(len(chunks), PROBE_CALLS)]

    def run(part):
        for c in part:
            fn(c)

    calls, warmup = len(chunks), 0 if warm else 1
    if calls > len(probe):  # estimate the pass from a warmed-up probe, which also warms up the path
        est = time_fn(lambda: run(probe), device=device, warmup=1, repeats=1).median / len(probe)
        warmup = 0
        if est * calls > max_pass_s:
            calls = max(len(probe), int(max_pass_s / max(est, 1e-9)))
    part = chunks[:calls]
    matrices = sum(c.shape[0] for c in part) if batch > 1 else calls
    timing = time_fn(lambda: run(part), device=device, warmup=warmup, repeats=repeats)
    more = min(MAX_SAMPLES, math.ceil(min_total_s / max(timing.min, 1e-9))) - repeats
    if more > 0:
        timing = Timing(timing.times + time_fn(lambda: run(part), device=device, warmup=0, repeats=more).times)
    return Measurement(batch, timing.scaled(PER / matrices), calls, matrices)


def split(a, batch: int, total: int) -> list:
    """The first total matrices of a (N, n, n) as calls of batch matrices; batch 1 gives single (n, n) matrices."""
    a = a[:total]
    if batch == 1:
        return list(a)
    return [a[i : i + batch] for i in range(0, a.shape[0], batch)]
