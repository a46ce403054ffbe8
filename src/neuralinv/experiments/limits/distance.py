"""Error against the distance to the singular set: per-sample ||A^-1 - F(A)|| beside sigma_min(A).

sigma_min(A) is the distance from A to the nearest singular matrix (2-norm and Frobenius, Eckart-Young-Mirsky), and
||A^-1||_2 = 1 / sigma_min(A): near the singular set a bounded model's error follows 1 / sigma_min.
"""

from __future__ import annotations

import numpy as np
import torch

from neuralinv.experiments.limits.model_error import Model, check_norm, check_region, error_norm, errors_on, fit_slope
from neuralinv.linalg.classical import closed_form_inverse
from neuralinv.regions.shapes import Region, sigma_min


def error_vs_distance(
    models: dict[str, Model],
    box: Region,
    *,
    samples: int = 20_000,
    seed: int = 0,
    norm: str = "fro",
    near: float = 0.05,
) -> dict:
    """Per-sample error ||A^-1 - F(A)|| against sigma_min(A) for samples of the region box (box.sample: uniform for a
    box; any Region).

    Returns {"sigma_min": (N,), "inverse_norm": (N,) = ||A^-1||, "errors": {name: (N,)}, "summary": JSON-able}.
    summary holds, per model, the log-log slope of error against sigma_min over the fraction `near` of samples
    closest to the singular set (-1 when the error is ~ 1/sigma_min), the median relative error ||A^-1 - F|| / ||A^-1||
    overall and on the half of the samples furthest from it, and the error's median per decade of sigma_min.
    """
    norm = check_norm(norm)
    for model in models.values():
        check_region(model, box)
    a = box.sample(samples, generator=torch.Generator().manual_seed(seed)).numpy()
    sig = sigma_min(a)
    keep = sig > 0
    a, sig = a[keep], sig[keep]
    inv_norm = error_norm(closed_form_inverse(torch.from_numpy(a)).numpy(), norm)
    errors = {name: errors_on(model, a, norm=norm) for name, model in models.items()}
    close = sig <= np.quantile(sig, near)
    summary = {
        "samples": int(len(sig)),
        "seed": seed,
        "norm": norm,
        "box": box.to_json(),
        "certified_distance": box.certified_distance,
        "sigma_min_min": float(sig.min()),
        "near_fraction": near,
        "inverse_slope": fit_slope(sig[close], inv_norm[close]),
        "models": {name: _model_summary(sig, err, inv_norm, close) for name, err in errors.items()},
    }
    return {"sigma_min": sig, "inverse_norm": inv_norm, "errors": errors, "summary": summary}


def _model_summary(sig: np.ndarray, err: np.ndarray, inv_norm: np.ndarray, close: np.ndarray) -> dict:
    """One model's slope near the singular set (over the samples `close`), its median errors and decade bins."""
    far = sig > np.median(sig)
    return {
        "slope_near_singular": fit_slope(sig[close], err[close]),
        "max_error": float(err.max()),
        "median_error": float(np.median(err)),
        "median_relative_error": float(np.median(err / inv_norm)),
        "median_relative_error_far_half": float(np.median(err[far] / inv_norm[far])),
        "bins": decade_bins(sig, err, inv_norm),
    }


def decade_bins(sig: np.ndarray, err: np.ndarray, inv_norm: np.ndarray) -> list[dict]:
    """The samples grouped by decade of sigma_min (empty decades left out): count, median and max error, median
    ||A^-1|| in each."""
    edges = 10.0 ** np.arange(np.floor(np.log10(sig.min())), np.ceil(np.log10(sig.max())) + 1)
    bins = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (sig >= lo) & (sig < hi)
        if m.any():
            bins.append(
                {
                    "sigma_min_from": float(lo),
                    "sigma_min_to": float(hi),
                    "count": int(m.sum()),
                    "median_error": float(np.median(err[m])),
                    "max_error": float(err[m].max()),
                    "median_inverse_norm": float(np.median(inv_norm[m])),
                }
            )
    return bins
