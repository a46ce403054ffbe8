"""What the fast path fixes once per centre: the split point A0, C ~= A0^-1, R_C = I - C A0 and every rounding constant
of the bounds (see neuralinv.certified.fast for the method), plus the small tensor helpers the bound arithmetic uses."""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from neuralinv.common.errors import InputError
from neuralinv.linalg.rounding import SAFE, U64, fro_bound, gamma
from neuralinv.linalg.rounding import unit_roundoff as _u
from neuralinv.regions.singular import singular_to_precision

# The fused forms (in-place step, I + D folded into the final product) add about 1.3 gamma_{n+2} to the rounding floor;
# they are used when tol is at least this many gamma_{n+2} (7e-5 for float32 at n = 16), i.e. cost <= 2% of tol.
FUSE_BELOW_TOL = 64


def host(t: torch.Tensor):
    """Per-matrix scalars (B,) live in NumPy on the CPU (small-array ops cost a few us there, ~8 us in torch), and
    stay torch tensors on other devices; the bound arithmetic is written for both."""
    return t.numpy() if t.device.type == "cpu" else t


def as_torch(x, like: torch.Tensor) -> torch.Tensor:
    """x (NumPy or torch) as a tensor on like's device."""
    return x if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x)).to(like.device)


def flat(mask):
    """Positions (k,) of the True entries of a mask (NumPy or torch)."""
    return np.flatnonzero(mask) if isinstance(mask, np.ndarray) else mask.nonzero().squeeze(1)


def fro(m: torch.Tensor):
    """Upper bound (...) on ||m||_F of m (..., n, n) (rounding.fro_bound), on the host for CPU tensors (see host).
    Inf or NaN stay inf or NaN, so such matrices are never certified."""
    return fro_bound(host(torch.linalg.vector_norm(m, dim=(-2, -1)).double()), m.shape[-1], m.dtype)


@contextmanager
def ieee_matmul():
    """float32 matmuls in full IEEE float32 (no TF32 / bfloat16 shortcuts): the rounding model needs it."""
    old = torch.get_float32_matmul_precision()
    if old != "highest":
        torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        if old != "highest":
            torch.set_float32_matmul_precision(old)


def _centre_inverse(a0: np.ndarray, w: torch.dtype, r: torch.dtype):
    """(A0 in w, the same as float64, C = A0^-1 in r, C as float64); a centre singular in w is refused."""
    a0_w = torch.tensor(a0, dtype=w)
    a0_w64 = a0_w.double().numpy()
    if singular_to_precision(a0_w64):
        raise InputError(
            f"region: the centre is singular in {str(w).removeprefix('torch.')}; no box around it "
            f"can be inverted by expansion"
        )
    c_r = torch.from_numpy(np.linalg.inv(a0_w64)).to(r)
    return a0_w, a0_w64, c_r, c_r.double().numpy()


def _centre_residual(c64: np.ndarray, a0_w64: np.ndarray, r: torch.dtype):
    """(R_C = I - C A0 rounded to r, rc_err >= ||R_C - rc_r||_2)."""
    eye = np.eye(len(c64))
    # R_C in float64: |fl(I - C A0) - (I - C A0)| <= gamma_{n+1} (I + |C||A0|); then rounded to r.
    rc64 = eye - c64 @ a0_w64
    rc_r = torch.from_numpy(rc64).to(r)
    rc_err = (
        gamma(len(c64) + 1, U64) * np.linalg.norm(eye + np.abs(c64) @ np.abs(a0_w64))
        + np.linalg.norm(rc_r.double().numpy() - rc64)
        + 2 * U64 * np.linalg.norm(rc64)
    ) * (1 + 1e-6)
    return rc_r, rc_err


def _constants(n: int, w: torch.dtype, r: torch.dtype, c64: np.ndarray, rc_r: torch.Tensor, rc_err) -> dict:
    """The scalar rounding constants of a Plan (its fields from rc_err to tiny_p)."""
    ac = np.abs(c64)
    # || |C| |E| ||_2 with |E_ij| <= m: <= || |C| ||_2 n m, and <= m || |C| 1 1^T ||_2 = m sqrt(n) || |C| 1 ||_2.
    abs_c2 = min(np.linalg.norm(ac), math.sqrt(ac.sum(0).max() * ac.sum(1).max()))
    k_ce = min(abs_c2 * n, math.sqrt(n) * np.linalg.norm(ac.sum(1))) * (1 + 8 * n * U64)
    u_r, u_w = _u(r), _u(w)
    r_holds_w = torch.finfo(r).eps <= torch.finfo(w).eps
    holds = torch.finfo(w).eps <= torch.finfo(r).eps  # w represents every r value exactly
    eps_e = (u_r if r_holds_w else u_w + u_r) * (1 + 1e-6)  # |E-hat - E| <= eps_e |E-hat|
    # S0 = fl(rc_r - C E-hat) as one (n+1)-term inner product: error <= gamma_{n+1} (|rc_r| + |C||E-hat|); and
    # C (E - E-hat) <= eps_e |C||E-hat|. So G0 = eps0 - S0 has ||G0||_2 <= rc_err + s0_err' + s0_per_e max|E|.
    gam_r = gamma(n + 1, u_r)
    s0_err = rc_err + gam_r * float(np.linalg.norm(rc_r.double().numpy())) + n * n * torch.finfo(r).tiny
    delta_c = 0.0 if holds else u_w
    gam_n = gamma(n, u_w)
    return dict(
        rc_err=float(rc_err),
        s0_err=float(s0_err),
        rc_norm=float(np.linalg.norm(rc_r.double().numpy())) * (1 + 1e-6),
        s0_per_e=float((gam_r + eps_e) * (1 + eps_e) * k_ce),
        r_holds_w=r_holds_w,
        cast_s=0.0 if holds else u_w,
        delta_c=delta_c,
        u_w=u_w,
        gam_n=gam_n,
        gam_n1=gamma(n + 1, u_w),
        gam_n2=gamma(n + 2, u_w),
        gam_n3=gamma(n + 3, u_w),
        gam_p=gam_n * (1 + delta_c) + delta_c,
        tiny_w=n * n * torch.finfo(w).tiny,
        tiny_p=n * n * torch.finfo(w).tiny / float(np.linalg.norm(c64)),
    )


@dataclass(frozen=True)
class Plan:
    """Everything fixed for one (box, working dtype w, residual dtype r, device): the centre, C and the constants."""

    n: int
    w: torch.dtype
    r: torch.dtype
    radius: float
    slack: float  # the box test accepts |E_ij| <= radius + slack
    a0_w: torch.Tensor  # A0 rounded to w: the split point, E = A - a0_w exactly
    a0_r: torch.Tensor  # the same values in r
    c_r: torch.Tensor  # C in r
    c_w: torch.Tensor  # C rounded to w, for the final product
    rc_r: torch.Tensor  # R_C = I - C A0, rounded to r
    rc_err: float  # >= ||R_C - rc_r||_2
    rc_norm: float  # >= ||rc_r||_2
    s0_err: float  # S0 = fl(rc_r - C E-hat): ||S0 - (R_C - C E)||_2 <= s0_err + s0_per_e * max|E_ij|
    s0_per_e: float
    r_holds_w: bool  # r represents every w value exactly (E-hat is then formed in r)
    cast_s: float  # rounding of S0 from r to w (0 when w holds r exactly)
    delta_c: float  # |c_w - c_r| <= delta_c |c_r|
    u_w: float
    gam_n: float  # gamma_n in w
    gam_n1: float  # gamma_{n+1} in w
    gam_n2: float
    gam_n3: float
    gam_p: float  # the final product: |fl(M c_w) - M c_r| <= gam_p |M| |c_r|
    tiny_w: float  # n^2 tiny(w): underflow in one product, as a 2-norm
    tiny_p: float  # underflow of the final product, relative to ||A^-1||_F (over ||C||_F)

    @classmethod
    def build(cls, a0: np.ndarray, radius: float, w: torch.dtype, r: torch.dtype, device) -> "Plan":
        """The plan around the centre a0 (n, n); radius: the box test's half-width (inf: no box test)."""
        n = a0.shape[0]
        a0_w, a0_w64, c_r, c64 = _centre_inverse(a0, w, r)
        rc_r, rc_err = _centre_residual(c64, a0_w64, r)
        u_w = _u(w)
        return cls(
            n=n,
            w=w,
            r=r,
            radius=radius,
            # The box's edges are not representable in w: accept the rounding of A0 +- c to w.
            slack=float(np.abs(a0_w64 - a0).max()) + 2 * u_w * (float(np.abs(a0).max()) + radius),
            a0_w=a0_w.to(device),
            a0_r=a0_w.to(r).to(device),
            c_r=c_r.to(device),
            c_w=c_r.to(w).to(device),
            rc_r=rc_r.to(device),
            **_constants(n, w, r, c64, rc_r, rc_err),
        )

    def fuse(self, tol: float) -> bool:
        """Whether tol is loose enough for the fused forms (see FUSE_BELOW_TOL)."""
        return tol >= FUSE_BELOW_TOL * self.gam_n2

    def final(self, rho: torch.Tensor, d: torch.Tensor, r0: torch.Tensor, fused: bool) -> torch.Tensor:
        """Bound (B,) on the relative Frobenius error of the answer X made from D, given ||eps(D)||_2 <= rho and
        ||D||_F <= d: X = fl(C_w + fl(D C_w)), or X = fl(fl(I + D) C_w) when fused (see neuralinv.certified.fast)."""
        if fused:
            # Q = fl(I + D) moves the residual by ||Q - I - D||_2 <= u (1 + d)(1 + u); X = fl(Q C) adds gam_p |Q||C|.
            out = rho + ((self.u_w + self.gam_p) * (1 + d) * (1 + 2 * self.u_w) + self.tiny_p) * (1 + r0)
        else:
            out = rho + (
                (self.delta_c + self.gam_p * d + self.tiny_p) * (1 + r0) * (1 + self.u_w) + self.u_w * (1 + rho)
            )
        out = out * SAFE
        out[~(rho < 1)] = math.inf
        return out

    def step_error(self, s: torch.Tensor, d: torch.Tensor, fused: bool):
        """(f, d') for D' = D + S + S D: f >= ||F||_2 of its rounding error, d' >= ||D'||_F.

        Separate: T = fl(S D), V = fl(T + S), D' = fl(V + D): |F| <= gamma_{n+1}(|S| + |S||D|) + u |D'|.
        Fused:    P = fl(D + S), D' = fl(P + S D) in one gemm: |F| <= u|P| + gamma_{n+1}(|P| + |S||D|).
        """
        d1 = (d + s + s * d) * (1 + self.gam_n3)
        if fused:
            f = self.gam_n2 * (d + s) * (1 + self.u_w) + self.gam_n1 * s * d + self.tiny_w
        else:
            f = self.gam_n1 * (s + s * d) + self.u_w * d1 + self.tiny_w
        return f, d1
