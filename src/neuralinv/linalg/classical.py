"""Classical inverses, batched over (..., n, n): exact, Taylor around a centre, Newton-Schulz refinement."""

from __future__ import annotations

import torch


def exact_inverse(a: torch.Tensor) -> torch.Tensor:
    """A^-1 for a (..., n, n): closed form (adjugate / det) for n <= 3, batched LAPACK otherwise."""
    n = a.shape[-1]
    if n == 1:
        return 1.0 / a
    if n == 2:
        p, q, r, s = a[..., 0, 0], a[..., 0, 1], a[..., 1, 0], a[..., 1, 1]
        det = p * s - q * r
        return torch.stack([torch.stack([s, -q], -1), torch.stack([-r, p], -1)], -2) / det[..., None, None]
    if n == 3:
        # Rows of the adjugate are cross products of the columns: adj(A)_i = (col_j x col_k) for cyclic (i, j, k).
        c0, c1, c2 = a[..., :, 0], a[..., :, 1], a[..., :, 2]
        adj = torch.stack([torch.linalg.cross(c1, c2), torch.linalg.cross(c2, c0), torch.linalg.cross(c0, c1)], -2)
        det = (c0 * adj[..., 0, :]).sum(-1)
        return adj / det[..., None, None]
    return torch.linalg.inv(a)


def taylor_inverse(a: torch.Tensor, center: torch.Tensor, order: int = 1) -> torch.Tensor:
    """Neumann/Taylor series of (A0 + E)^-1 = sum_k (-A0^-1 E)^k A0^-1 for k = 0..order, E = A - A0.

    order 1 is the paper's linear approximation (Eq. 10): A0^-1 - A0^-1 E A0^-1.
    """
    center = center.to(a)
    c_inv = torch.linalg.inv(center)
    step = -c_inv @ (a - center)
    term = c_inv.expand_as(a)
    total = term
    for _ in range(order):
        term = step @ term
        total = total + term
    return total


def newton_schulz(a: torch.Tensor, x: torch.Tensor, steps: int = 1) -> torch.Tensor:
    """steps of X <- X (2I - A X) = X (I + R), R = I - A X: the residual squares with each step."""
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    for _ in range(steps):
        x = x @ (2 * eye - a @ x)
    return x
