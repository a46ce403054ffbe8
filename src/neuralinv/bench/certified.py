"""The certified inverse timed and checked against exact float64 inverses: on a preset, on a region's samples, on a
user's matrices. Every harness checks each answer against numpy's float64 inverse before reporting its time, so a
speed is never quoted for a wrong bound."""

from __future__ import annotations

import platform

import numpy as np
import torch

from neuralinv.certified.cost import AUTO_MAX_STEPS
from neuralinv.certified.geometry import Geometry, singular_centre
from neuralinv.certified.inputs import as_dtype
from neuralinv.certified.solve import certified_inverse
from neuralinv.common.errors import InputError
from neuralinv.common.machine import cpu_name
from neuralinv.common.timing import time_fn, time_interleaved
from neuralinv.paper.presets import get_dataset
from neuralinv.regions.files import load_region

CERTIFIED_REGION_COUNT = 10_000


def certified_on_region(
    region,
    matrices: np.ndarray | None = None,
    *,
    count: int = CERTIFIED_REGION_COUNT,
    seed: int = 0,
    tol: float = 1e-4,
    repeats: int = 5,
) -> dict:
    """certified_inverse(region=region, method="auto") against torch.linalg.inv and numpy.linalg.inv on matrices
    (m, n, n), or on count float32 samples of the region (seeded), all of them timed: assess does the timing
    (medians of repeats after a warm-up) and checks the fast path's bounds against numpy's float64 inverse; the auto
    path's own answers are checked here the same way. violations counts errors above their bound (must be 0).
    ratio_vs_torch / ratio_vs_numpy are throughput ratios (> 1: the certified inverse is faster)."""
    reg = load_region(region)
    source = "matrices" if matrices is not None else "samples"
    if matrices is None:
        gen = torch.Generator().manual_seed(seed)
        matrices = reg.sample(count, generator=gen, dtype=torch.float32).numpy()
    a = np.ascontiguousarray(matrices)
    try:
        ref = np.linalg.inv(a.astype(np.float64))
    except np.linalg.LinAlgError:
        raise InputError("--matrices: a matrix is exactly singular; numpy.linalg.inv cannot be timed on them") from None
    r = assess(reg, a, tol=tol, repeats=repeats, sample=len(a), seed=seed)
    auto = certified_inverse(a, region=reg, tol=tol, method="auto")
    inverse = np.asarray(auto.inverse, dtype=np.float64)
    err = np.linalg.norm(inverse - ref, axis=(-2, -1)) / np.linalg.norm(ref, axis=(-2, -1))
    bound = np.asarray(auto.bound, dtype=np.float64)
    auto_violations = int((err > bound).sum())
    finite = np.isfinite(bound)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.nanmax(err[finite] / bound[finite])) if finite.any() else None
    route = r["auto_route"]
    return {
        "region": reg.to_json(),
        "region_text": reg.describe(),
        "n": reg.n,
        "source": source,
        "count": int(len(a)),
        "input_dtype": str(a.dtype),
        "seed": seed if source == "samples" else None,
        "tol": tol,
        "repeats": repeats,
        "device": "cpu",
        "route_chosen": route.get("chosen"),
        "route_why": route.get("why"),
        "auto_certified": int((bound <= tol).sum()),
        "auto_max_bound": float(bound[finite].max()) if finite.any() else None,
        "auto_max_error_over_bound": ratio,
        "fast_violations": r["violations"],
        "auto_violations": auto_violations,
        "violations_total": r["violations"] + auto_violations,
        "ratio_vs_torch": r["torch_inv_s"] / r["auto_s"],
        "ratio_vs_numpy": r["numpy_inv_s"] / r["auto_s"],
        "assess": r,
    }


def benchmark_certified(
    count: int = 10_000,
    tol: float = 1e-4,
    *,
    residual_dtype=torch.float32,
    init="taylor1",
    device: str = "cpu",
    repeats: int = 7,
    warmup: int = 2,
    seed: int = 0,
    dataset: str = "16x16",
    threads: int | None = None,
    method: str = "auto",
) -> dict:
    """Throughput of certified_inverse against torch.linalg.inv on count float32 matrices of a preset box.

    The answers are checked first: every bound <= tol (fallbacks counted) and every error <= its bound, the error
    measured against float64 LAPACK inverses (whose own error, ~1e-14 on this box, is far below the bounds). Then both
    are timed on the same float32 batch, interleaved, after warm-up; the medians give the ratio (> 1: faster than inv).
    threads: torch's CPU threads for this measurement (None: leave as is); restored afterwards.
    """
    old = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _benchmark_certified(count, tol, residual_dtype, init, device, repeats, warmup, seed, dataset, method)
    finally:
        if threads is not None:
            torch.set_num_threads(old)


def _benchmark_certified(count, tol, residual_dtype, init, device, repeats, warmup, seed, dataset, method) -> dict:
    """benchmark_certified with the thread count already set."""
    box = get_dataset(dataset).region
    dev = torch.device(device)
    a = box.sample(count, generator=torch.Generator().manual_seed(seed)).to(torch.float32).to(dev)

    def run_cert():
        """The call timed: the same arguments as the checked one."""
        return certified_inverse(a, region=box, tol=tol, init=init, residual_dtype=residual_dtype, method=method)

    res = run_cert()
    ref = torch.linalg.inv(a.double())
    err = torch.linalg.matrix_norm(res.inverse.double() - ref) / torch.linalg.matrix_norm(ref)
    b = res.bound
    times = time_interleaved(
        {"certified": run_cert, "inv": lambda: torch.linalg.inv(a)}, device=dev, warmup=warmup, repeats=repeats
    )
    med_c, med_i = times["certified"].median, times["inv"].median
    q = torch.quantile(b[torch.isfinite(b)].cpu(), torch.tensor([0.0, 0.5, 0.99, 1.0], dtype=torch.float64)).tolist()
    steps = torch.bincount(res.steps.cpu()).tolist()
    return {
        "dataset": dataset,
        "n": box.n,
        "count": count,
        "input_dtype": "float32",
        "tol": tol,
        "init": str(init),
        "method": method,
        "route": res.route,
        "residual_dtype": str(as_dtype(residual_dtype, torch.float32)).removeprefix("torch."),
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "repeats": repeats,
        "warmup": warmup,
        "seed": seed,
        "certified_s_median": med_c,
        "inv_s_median": med_i,
        "certified_s_all": list(times["certified"].times),
        "inv_s_all": list(times["inv"].times),
        "certified_per_s": count / med_c,
        "inv_per_s": count / med_i,
        "throughput_ratio": med_i / med_c,
        "fallbacks": int(res.fallback.sum()),
        "steps_histogram": {str(k): v for k, v in enumerate(steps) if v},
        "bound_quantiles": dict(zip(["min", "median", "p99", "max"], q)),
        "all_bounds_within_tol": bool((b <= tol).all()),
        "max_error": float(err.max()),
        "max_error_over_bound": float((err / b).max()),
        "all_errors_within_bound": bool((err <= b).all()),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or None,
    }


def _median_s(fn, repeats: int, warm: bool = True) -> float:
    """Median seconds of fn over repeats runs, after one untimed run when warm. Not in inference mode: the certified
    inverse keeps work buffers between calls, which inference tensors would poison."""
    return time_fn(fn, warmup=1 if warm else 0, repeats=repeats, inference=False).median


def assess(region, a, *, tol: float = 1e-4, repeats: int = 5, sample: int = 2000, seed: int = 0) -> dict:
    """What the fast path does for a region on matrices like a (m, n, n), measured on a sub-sample of at most sample:
    the share certified within AUTO_MAX_STEPS Newton-Schulz steps (and after how many), what "auto" chooses, and the
    median time of certified_inverse(method="auto") against the faster of torch.linalg.inv and numpy.linalg.inv on
    the same sub-sample (ratio < 1: faster than the exact inverse). Every bound is checked against numpy's float64
    inverse first ("violations" counts errors above their bound; it must be 0)."""
    reg = load_region(region)
    arr = np.asarray(a)
    rng = np.random.default_rng(seed)
    sub = arr[np.sort(rng.choice(len(arr), min(sample, len(arr)), replace=False))] if len(arr) > sample else arr
    sub = np.ascontiguousarray(sub)
    # A region around a singular centre has no fast path: everything is measured on the exact one, and said so.
    no_fast = singular_centre(Geometry.of(reg), torch.float64 if sub.dtype == np.float64 else torch.float32)
    fast = certified_inverse(sub, region=reg, tol=tol, method="exact" if no_fast else "fast", max_steps=AUTO_MAX_STEPS)
    ok = ~fast.fallback
    ref = torch.linalg.inv_ex(torch.from_numpy(sub.astype(np.float64)))[0].numpy()  # singular ones: bound inf
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.linalg.norm(fast.inverse - ref, axis=(-2, -1)) / np.linalg.norm(ref, axis=(-2, -1))
    t = torch.from_numpy(sub)
    auto = certified_inverse(sub, region=reg, tol=tol, method="auto")  # its route; and the warm-up of the timing
    t_auto = _median_s(lambda: certified_inverse(sub, region=reg, tol=tol, method="auto"), repeats, warm=False)
    t_torch = _median_s(lambda: torch.linalg.inv_ex(t), repeats)  # inv_ex: torch.linalg.inv raises on a singular one
    try:
        t_numpy = _median_s(lambda: np.linalg.inv(sub), repeats)
    except np.linalg.LinAlgError:  # numpy refuses a batch holding a singular matrix: not a baseline here
        t_numpy = None
    return {
        "matrices": int(len(sub)),
        "tol": tol,
        "fast_certified": int(ok.sum()),
        "fast_share": float(ok.mean()),
        "fast_unavailable": no_fast or None,
        "steps": {str(k): int(v) for k, v in enumerate(np.bincount(fast.steps[ok])) if v} if ok.any() else {},
        "violations": int((np.isfinite(fast.bound) & (err > fast.bound)).sum()),
        "auto_route": auto.route,
        "auto_fast_share": float((~auto.fallback).mean()),
        "auto_s": t_auto,
        "torch_inv_s": t_torch,
        "numpy_inv_s": t_numpy,
        "time_vs_best_exact": t_auto / min(x for x in (t_torch, t_numpy) if x is not None),
        "threads": torch.get_num_threads(),
        "processor": cpu_name(),
    }
