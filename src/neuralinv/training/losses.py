"""Training losses on batches of matrices (..., n, n): the paper's MSE, DeepMatrixInversion's residual and the
relative error against the exact inverse. Each is a plain differentiable torch function loss(y, a, target) -> a
scalar tensor, so any training step can take one by name from LOSSES."""

from __future__ import annotations

from collections.abc import Callable

import torch

from neuralinv.common.errors import InputError


def mse(y: torch.Tensor, a: torch.Tensor | None, target: torch.Tensor) -> torch.Tensor:
    """The paper's loss: mean squared error over every entry of y against target (a is unused).

    Applied to one model's outputs and targets in the scaled (encoded) coordinates, this is the formula of the
    engine's hand-written MSE step (training/engine.py: d MSE / d output = 2 err / numel per model); applied to
    decoded predictions and A^-1 it is the MSE of the inverses. For an ensemble the engine's total is the sum of
    this over the members.
    """
    return (y - target).square().mean()


def residual(y: torch.Tensor, a: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
    """DeepMatrixInversion's loss: the mean over the batch of ||I - A Y||_F (target is unused: no exact inverse
    needed). y must be the decoded prediction of A^-1."""
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    return torch.linalg.matrix_norm(eye - a @ y).mean()


def relative(y: torch.Tensor, a: torch.Tensor | None, target: torch.Tensor) -> torch.Tensor:
    """The mean over the batch of ||Y - A^-1||_F / ||A^-1||_F, target being A^-1 (a is unused)."""
    return (torch.linalg.matrix_norm(y - target) / torch.linalg.matrix_norm(target)).mean()


LossFn = Callable[[torch.Tensor, torch.Tensor | None, torch.Tensor | None], torch.Tensor]
LOSSES: dict[str, LossFn] = {"mse": mse, "residual": residual, "relative": relative}


def get_loss(name: str) -> LossFn:
    """The loss registered under name; an InputError naming the value and the choices otherwise."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise InputError(f"loss: expected one of {', '.join(LOSSES)}, got {name!r}") from None
