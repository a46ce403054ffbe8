"""Error measures between an approximate inverse X and the exact A^-1, both (..., n, n)."""

from __future__ import annotations

import torch


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
