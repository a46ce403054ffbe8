"""Error measures between an approximate inverse X and the exact A^-1, both (..., n, n): the paper's (MAE, max
error, relative Frobenius) and the field's (LAWT's accuracy at tolerances, relative-error quantiles, MAE by
sigma_min)."""

from __future__ import annotations

import math

import torch

from neuralinv.common.errors import InputError


def mae(x: torch.Tensor, a_inv: torch.Tensor) -> float:
    """The paper's metric: mean absolute error per entry."""
    return float((x - a_inv).abs().mean())


def max_error(x: torch.Tensor, a_inv: torch.Tensor) -> float:
    """Largest absolute entry error over the whole set."""
    return float((x - a_inv).abs().max())


def relative_error(x: torch.Tensor, a_inv: torch.Tensor) -> torch.Tensor:
    """||X - A^-1||_F / ||A^-1||_F per matrix, shape (...)."""
    return torch.linalg.matrix_norm(x - a_inv) / torch.linalg.matrix_norm(a_inv)


def residual_norm(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """||I - A X||_F per matrix, shape (...)."""
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    return torch.linalg.matrix_norm(eye - a @ x)


def summarize(x: torch.Tensor, a_inv: torch.Tensor) -> dict:
    """The metrics table row: MAE per entry, max error, mean and max relative Frobenius error."""
    x, a_inv = x.double(), a_inv.double()
    rel = relative_error(x, a_inv)
    return {
        "mae": mae(x, a_inv),
        "max_error": max_error(x, a_inv),
        "rel_fro_mean": float(rel.mean()),
        "rel_fro_max": float(rel.max()),
    }


# The field's scores, so our numbers stand in one table with theirs. Inputs may be numpy arrays or torch tensors;
# everything is computed in float64 torch, over the matrices of (..., n, n) batches.

LAWT_TOLERANCES = (0.05, 0.02, 0.01, 0.005)
QUANTILES = (0.5, 0.9, 0.99, 1.0)


def _float64(x) -> torch.Tensor:
    """x (numpy or torch, any float dtype) as a float64 tensor of matrices (m, n, n)."""
    t = torch.as_tensor(x).detach().to(torch.float64)
    return t.reshape(-1, *t.shape[-2:])


def _shares_below(errors: torch.Tensor, tols) -> dict[float, float]:
    """{tol: share of errors < tol} (strictly below, as LAWT counts)."""
    return {float(tol): float((errors < tol).double().mean()) for tol in tols}


def lawt_residual(a, p) -> torch.Tensor:
    """LAWT's per-matrix score sum_ij |(A P - I)_ij| / n, shape (m,).

    From the LAWT source (facebookresearch/LAWT, src/envs/generators.py, InvertMatrix.evaluate): with
    m = src @ hyp - eye(dim) it returns np.sum(np.abs(m)) / dim as the "d1" score, which is the one compared with
    the tolerances since sweeps/invert.json sets eval_norm "d1", float_tolerance 0.05 and more_tolerance
    "0.02,0.01,0.005" (and src/evaluator.py counts a matrix when score < tol). So: the sum over all n^2 entries,
    divided by n, not a matrix norm.
    """
    a, p = _float64(a), _float64(p)
    eye = torch.eye(a.shape[-1], dtype=torch.float64)
    return (a @ p - eye).abs().sum((-2, -1)) / a.shape[-1]


def lawt_accuracy(a, p, tols=LAWT_TOLERANCES) -> dict[float, float]:
    """LAWT's accuracy: {tol: share of matrices with sum |A P - I| / n < tol} (see lawt_residual)."""
    return _shares_below(lawt_residual(a, p), tols)


def relative_accuracy(p, a_inv, tols=LAWT_TOLERANCES) -> dict[float, float]:
    """{tol: share of matrices with ||P - A^-1||_F / ||A^-1||_F < tol}: LAWT's tolerances against the true
    inverse instead of the residual."""
    return _shares_below(relative_error(_float64(p), _float64(a_inv)), tols)


def relative_error_quantiles(p, a_inv, qs=QUANTILES) -> dict[float, float]:
    """{q: the q-quantile of ||P - A^-1||_F / ||A^-1||_F over the matrices} (linear interpolation; q = 1 is the
    largest)."""
    rel = relative_error(_float64(p), _float64(a_inv))
    values = torch.quantile(rel, torch.tensor([float(q) for q in qs], dtype=torch.float64))
    return {float(q): float(v) for q, v in zip(qs, values)}


def decade_edges(values: torch.Tensor) -> list[float]:
    """Powers of ten from the one at or below the smallest positive value to the one at or above the largest (at
    least two edges)."""
    positive = values[values > 0]
    if positive.numel() == 0:
        raise InputError("sigma_min: every matrix is singular, no decade bins to put them in")
    lo = math.floor(math.log10(float(positive.min())))
    hi = max(math.ceil(math.log10(float(values.max()))), lo + 1)
    return [10.0**k for k in range(lo, hi + 1)]


def mae_by_sigma_min(a, p, a_inv, edges=None) -> dict[str, list]:
    """The MAE per entry of P against A^-1 in bins of sigma_min(A): {"edges", "counts", "mae"}.

    edges: increasing bin edges (default: decade_edges of the test set's sigma_min); bin i holds the matrices with
    edges[i] <= sigma_min < edges[i + 1], the last bin also its right edge, so len(counts) = len(edges) - 1.
    Matrices outside the edges are in no bin. An empty bin's MAE is None.
    """
    a, p, a_inv = _float64(a), _float64(p), _float64(a_inv)
    sigma = torch.linalg.svdvals(a)[:, -1].contiguous()
    edges = decade_edges(sigma) if edges is None else [float(e) for e in edges]
    if len(edges) < 2 or any(hi <= lo for lo, hi in zip(edges, edges[1:])):
        raise InputError(f"edges: expected at least two increasing values, got {edges}")
    err = (p - a_inv).abs().mean((-2, -1))
    bins = torch.bucketize(sigma, torch.tensor(edges, dtype=torch.float64), right=True) - 1
    bins[sigma == edges[-1]] = len(edges) - 2  # the last bin is closed on the right
    counts, maes = [], []
    for i in range(len(edges) - 1):
        inside = err[bins == i]
        counts.append(int(inside.numel()))
        maes.append(float(inside.mean()) if inside.numel() else None)
    return {"edges": edges, "counts": counts, "mae": maes}


def field_metrics(a, p, a_inv) -> dict:
    """All of the above for predictions p of a's inverses a_inv, with JSON-ready keys: {"lawt_accuracy",
    "relative_accuracy", "relative_error_quantiles" (keyed by tolerance or quantile as text), "mae_by_sigma_min"}."""

    def text_keys(d: dict) -> dict:
        return {f"{k:g}": v for k, v in d.items()}

    return {
        "lawt_accuracy": text_keys(lawt_accuracy(a, p)),
        "relative_accuracy": text_keys(relative_accuracy(p, a_inv)),
        "relative_error_quantiles": text_keys(relative_error_quantiles(p, a_inv)),
        "mae_by_sigma_min": mae_by_sigma_min(a, p, a_inv),
    }
