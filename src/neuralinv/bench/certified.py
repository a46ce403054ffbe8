"""The certified inverse timed and checked against exact float64 inverses: on a preset, on a region's samples, on a
user's matrices. Every harness checks each answer against numpy's float64 inverse before reporting its time, so a
speed is never quoted for a wrong bound."""

from __future__ import annotations

import numpy as np
import torch

from neuralinv.certified.solve import assess, certified_inverse
from neuralinv.common.errors import InputError
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
    (m, n, n), or on count float32 samples of the region (seeded), all of them timed: solve.assess does the timing
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
