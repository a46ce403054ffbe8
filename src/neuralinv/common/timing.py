"""The one timing loop: warm-up, repeats, a synchronised device before every clock read, and the median.

Every time neuralinv reports or decides by (Table 3, the certified inverse's cost model and engine choice, packing,
training step times) comes from here, so they are comparable: the same warm-up, the same clock, the same statistic.
The median is the statistic; a Timing also keeps every run, for the spread.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch


def synchronize(device) -> None:
    """Wait for the device's queued work (CUDA is asynchronous), so the clock reads finished work; no-op on CPU."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class Timing:
    """Wall seconds of repeated runs of one function, after warm-up; `median` is the value reported and used."""

    times: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median run: the statistic every reported time uses."""
        return statistics.median(self.times)

    @property
    def min(self) -> float:
        """The fastest run."""
        return min(self.times)

    @property
    def max(self) -> float:
        """The slowest run."""
        return max(self.times)

    def scaled(self, factor: float) -> "Timing":
        """The same runs in other units (per matrix, per 10,000 matrices)."""
        return Timing(tuple(t * factor for t in self.times))

    def to_json(self) -> dict:
        """median, min, max and the number of repeats, as stored in result files."""
        return {"median": self.median, "min": self.min, "max": self.max, "repeats": len(self.times)}


def time_fn(
    fn: Callable[[], object], *, device="cpu", warmup: int = 1, repeats: int = 5, inference: bool = True
) -> Timing:
    """Run fn `warmup` times, then time `repeats` runs, synchronising the device before each clock read.

    inference=True runs under torch.inference_mode (the fastest mode for a pure forward pass); pass False for code
    that caches tensors across calls (the certified inverse's buffers), which inference tensors would poison.
    """
    if repeats < 1:
        raise ValueError(f"repeats: expected >= 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup: expected >= 0, got {warmup}")
    mode = torch.inference_mode() if inference else torch.no_grad()
    with mode:
        for _ in range(warmup):
            fn()
        synchronize(device)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            synchronize(device)
            times.append(time.perf_counter() - start)
    return Timing(tuple(times))


def time_interleaved(
    fns: dict[str, Callable[[], object]], *, device="cpu", warmup: int = 1, repeats: int = 5, inference: bool = False
) -> dict[str, Timing]:
    """Time several functions in turn, run by run (a, b, c, a, b, c, ...), so drift in the machine's speed (turbo,
    a neighbour's load) falls on all of them alike; for ratios measured in one run."""
    if repeats < 1:
        raise ValueError(f"repeats: expected >= 1, got {repeats}")
    mode = torch.inference_mode() if inference else contextlib.nullcontext()
    runs: dict[str, list[float]] = {name: [] for name in fns}
    with mode:
        for _ in range(warmup):
            for fn in fns.values():
                fn()
        synchronize(device)
        for _ in range(repeats):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn()
                synchronize(device)
                runs[name].append(time.perf_counter() - start)
    return {name: Timing(tuple(t)) for name, t in runs.items()}


def per_step_seconds(run: Callable[[int], object], steps=(500, 2500), repeats: int = 5, device="cpu") -> float:
    """Seconds per step of run(n_steps): (t(steps[1]) - t(steps[0])) / (steps[1] - steps[0]), the median over repeats
    after one untimed run, so set-up (data, initialisation) cancels."""
    # The untimed run pays one-off costs (a thread pool resized by set_num_threads, first-touch allocations) that
    # would otherwise land in t(steps[0]) alone and can make the difference < 0.
    run(steps[0])
    samples = []
    for _ in range(repeats):
        ends = []
        for n in steps:
            synchronize(device)
            start = time.perf_counter()
            run(n)
            synchronize(device)
            ends.append(time.perf_counter() - start)
        samples.append((ends[1] - ends[0]) / (steps[1] - steps[0]))
    return statistics.median(samples)
