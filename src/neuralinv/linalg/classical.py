"""Classical inverses, batched over (..., n, n): exact, Taylor around a centre, Newton-Schulz refinement.

The one vocabulary of the classical approximations: METHODS names them as every table, JSON file and CSV column
does ("taylor1", "taylor2", "taylor1+ns1"); method_name maps an old spelling ("ns1", "taylor1_ns1") to its name.
The functions (taylor_inverse, newton_schulz) invert the centre on each call; Classical precomputes everything
that depends only on the centre, for timing the methods as a user who inverts many matrices of one region would.
"""

from __future__ import annotations

import torch

TAYLOR1 = "taylor1"  # the paper's linear approximation (Eq. 10)
TAYLOR2 = "taylor2"  # second-order Taylor
TAYLOR1_NS1 = "taylor1+ns1"  # Taylor-1, then one Newton-Schulz step
METHODS = (TAYLOR1, TAYLOR2, TAYLOR1_NS1)
# Spellings in use before the vocabulary was one: the sweep's CSV columns (ns1_mae) and Classical's attribute.
OLD_NAMES = {"ns1": TAYLOR1_NS1, "taylor1_ns1": TAYLOR1_NS1}


def method_name(name: str) -> str:
    """The canonical name (one of METHODS) of a classical method given by it or by an old spelling (OLD_NAMES)."""
    canonical = OLD_NAMES.get(name, name)
    if canonical not in METHODS:
        raise ValueError(f"unknown classical method {name!r}; expected one of {', '.join(METHODS)}")
    return canonical


def closed_form_inverse(a: torch.Tensor) -> torch.Tensor:
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


class Classical:
    """The classical methods around one region's centre, with everything that depends only on the centre computed once.

    region: any region with n, center and center_inverse (a Box, a Ball, ...). taylor(order):
    sum_{k=0..order} (-C E)^k C with C = A0^-1, E = A - A0 (taylor_inverse without its per-call inversion of the
    centre); for n <= 4 Taylor-1 is one affine map of vec(A), vec(2C) - K vec(A) with K = C (x) C^T, a single small
    GEMM instead of two batched ones. newton_schulz: X (2I - A X).
    """

    def __init__(self, region, device="cpu"):
        self.n = region.n
        self.center = torch.tensor(region.center, dtype=torch.float64, device=device)
        self.c_inv = torch.tensor(region.center_inverse, dtype=torch.float64, device=device)
        c = self.c_inv
        self.kron_t = torch.einsum("ik,lj->ijkl", c, c).reshape(self.n**2, self.n**2).t().contiguous()
        self.two_c = (2 * c).reshape(-1)
        self.two_eye = 2 * torch.eye(self.n, dtype=torch.float64, device=device)

    def methods(self) -> dict:
        """{name: fn} for every name of METHODS, fn taking a (..., n, n) float64 tensor."""
        return {TAYLOR1: self.taylor1, TAYLOR2: self.taylor2, TAYLOR1_NS1: self.taylor1_ns1}

    def taylor1(self, a: torch.Tensor) -> torch.Tensor:
        """The linear approximation C - C E C ("taylor1")."""
        if self.n <= 4:
            d = self.n**2
            return torch.addmm(self.two_c, a.reshape(-1, d), self.kron_t, alpha=-1).view(a.shape)
        return self.taylor(a, 1)

    def taylor(self, a: torch.Tensor, order: int) -> torch.Tensor:
        """The Taylor series around the centre up to `order`, as taylor_inverse computes it."""
        step = self.c_inv @ (self.center - a)  # -C E
        term = step @ self.c_inv
        total = self.c_inv + term
        for _ in range(order - 1):
            term = step @ term
            total = total + term
        return total

    def taylor2(self, a: torch.Tensor) -> torch.Tensor:
        """Second-order Taylor ("taylor2")."""
        return self.taylor(a, 2)

    def newton_schulz(self, a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """One Newton-Schulz step X (2I - A X)."""
        return x @ (self.two_eye - a @ x)

    def taylor1_ns1(self, a: torch.Tensor) -> torch.Tensor:
        """Taylor-1, then one Newton-Schulz step ("taylor1+ns1"; the attribute is its spelling as an identifier)."""
        return self.newton_schulz(a, self.taylor1(a))
