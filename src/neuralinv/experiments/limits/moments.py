"""Moments that do not settle, and the tail index (the paper's Theorems 3.8-3.9).

Uniform samples of a box crossed by the singular hypersurface have P(||A^-1 - F|| > t) ~ C / t: a tail index of 1,
so the k-th moments for k >= 1 are infinite (stronger than the paper's k > n^2 of Thm 3.9); their sample estimates
grow without settling.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from neuralinv.common.errors import InputError
from neuralinv.experiments.limits.model_error import Model, check_norm, check_region, errors_on, fit_slope
from neuralinv.regions.shapes import Region

# Samples drawn and evaluated at a time: bounds memory whatever max_samples is.
_CHUNK = 200_000


def hill_tail_index(x: np.ndarray, k: int) -> float:
    """Hill's estimate of the tail index alpha of P(X > t) ~ C t^-alpha from the k largest of x (N,):
    alpha = 1 / mean_{i<=k} log(X_(i) / X_(k+1)), X_(1) >= X_(2) >= ... the order statistics."""
    x = np.asarray(x, dtype=np.float64)
    if not 0 < k < len(x):
        raise InputError(f"k: expected 0 < k < {len(x)}, got {k}")
    top = np.partition(x, len(x) - k - 1)[len(x) - k - 1 :]  # the k+1 largest, smallest first
    top.sort()
    return float(1.0 / np.mean(np.log(top[1:] / top[0])))


def sample_sizes(max_samples: int, start: int = 1000, per_decade: int = 4) -> list[int]:
    """Sizes start * 10^(i / per_decade) up to max_samples, and max_samples itself."""
    sizes = [int(round(start * 10 ** (i / per_decade))) for i in range(int(per_decade * 12))]
    return sorted({s for s in sizes if s < max_samples / 1.25} | {max_samples})


def typical_means(values: np.ndarray, sizes: list[int]) -> list[float]:
    """For each N in sizes, the median over the disjoint blocks of N consecutive values of the block mean.

    One nested running mean of a heavy-tailed sample jumps with each rare huge value; the median over blocks shows
    the typical value of an N-sample estimate, which settles for a finite moment and grows for an infinite one.
    """
    out = []
    for size in sizes:
        blocks = values[: (len(values) // size) * size].reshape(-1, size)
        out.append(float(np.median(blocks.mean(1))))
    return out


def moment_growth(
    model: Model,
    box: Region,
    *,
    orders: tuple[int, ...] | None = None,
    max_samples: int = 1_000_000,
    seed: int = 1,
    norm: str = "fro",
) -> dict:
    """Sample estimates of E||A^-1 - F(A)||^k for k in orders (default 1, 2, n^2 + 1) against the sample size
    N = 10^3 ... max_samples (samples of the region box, box.sample: uniform for a box), and the Hill estimate of
    the error's tail index alpha.

    running[k][i]: the nested running mean over the first N_i samples. typical[k][i]: the median over disjoint blocks
    of N_i samples of the block mean (see typical_means); growth[k] its ratio from the first to the last size and
    last_decade_growth[k] from about N/10 to N. slope[k]: the log-log slope of typical against N; for a
    tail P(err > t) ~ C t^-alpha and k > alpha an N-sample mean grows like N^(k/alpha - 1) (expected_slope), for
    k = alpha like log N, and for k < alpha it settles (slope 0).
    Returns {"errors": (max_samples,), "summary": JSON-able}.
    """
    norm = check_norm(norm)
    check_region(model, box)
    if max_samples < 1000:
        raise InputError(f"max_samples: expected at least 1000, got {max_samples}")
    orders = tuple(orders or (1, 2, box.n**2 + 1))
    errors = _sample_errors(model, box, max_samples, seed=seed, norm=norm)
    sizes = sample_sizes(max_samples)
    running, typical, slope = _moment_curves(errors, orders, sizes)
    # a skewed but bounded error still rises at small N (the median block misses the rare large values), so
    # settling is judged on the last decade, N/10 -> N, where a finite moment's estimate no longer moves
    decade = int(np.argmin([abs(np.log10(size * 10 / sizes[-1])) for size in sizes]))
    hill, hill_k = _hill_estimates(errors, max_samples)
    alpha = hill[str(hill_k)]
    summary = {
        "box": box.to_json(),
        "certified_distance": box.certified_distance,
        "norm": norm,
        "seed": seed,
        "sizes": sizes,
        "orders": list(orders),
        "running": running,
        "typical": typical,
        "growth": {k: v[-1] / v[0] for k, v in typical.items()},
        "slope": slope,
        "last_decade_growth": {k: v[-1] / v[decade] for k, v in typical.items()},
        "expected_slope": {str(k): max(k / alpha - 1, 0.0) for k in orders},
        "hill": hill,
        "hill_k": hill_k,
        "tail_index": alpha,
        "tail_index_se": alpha / math.sqrt(hill_k),
        "max_error": float(errors.max()),
        "median_error": float(np.median(errors)),
    }
    return {"errors": errors, "summary": summary}


def _sample_errors(model: Model, box: Region, samples: int, *, seed: int, norm: str) -> np.ndarray:
    """||A^-1 - F(A)|| on samples of box from one seeded stream (samples,), drawn and evaluated in chunks."""
    gen = torch.Generator().manual_seed(seed)
    return np.concatenate(
        [
            errors_on(model, box.sample(min(_CHUNK, samples - i), generator=gen).numpy(), norm=norm)
            for i in range(0, samples, _CHUNK)
        ]
    )


def _moment_curves(errors: np.ndarray, orders: tuple[int, ...], sizes: list[int]) -> tuple[dict, dict, dict]:
    """Per order k (keyed by str(k)): the running means and the typical N-sample means at sizes, and the log-log
    slope of the typical means against N."""
    running, typical, slope = {}, {}, {}
    for k in orders:
        # float64 powers: err^5 with err ~ 1e8 is 1e40, far from overflow
        powers = errors**k
        running[str(k)] = [float(v) for v in (np.cumsum(powers)[np.array(sizes) - 1] / np.array(sizes))]
        typical[str(k)] = typical_means(powers, sizes)
        slope[str(k)] = fit_slope(np.array(sizes, dtype=float), np.array(typical[str(k)]))
    return running, typical, slope


def _hill_estimates(errors: np.ndarray, max_samples: int) -> tuple[dict, int]:
    """Hill estimates of the tail index from the top k = 100, 1000, 10000 and the top 0.5% (those below a tenth of
    the sample), keyed by str(k), and that last k, whose estimate is the one reported."""
    hill_k = max(10, max_samples // 200)  # the top 0.5%: far enough out that F's bounded part no longer matters
    hill = {str(k): hill_tail_index(errors, k) for k in sorted({100, 1000, 10_000, hill_k}) if k < max_samples // 10}
    return hill, hill_k
