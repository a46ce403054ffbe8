"""The certified inverse: fast approximate inverses of matrices from a region, each with a rigorous error bound, and
the choice ("auto") between that fast path and the exact one.

Method. Write A = A0 + E for the region's centre A0 nearest to A (as stored in the working dtype; for an equilibrated
region everything below happens to B = D A D, D of powers of two, and is carried back exactly, see _fast_region) and
fix C ~= A0^-1. Every
approximate inverse is kept in the form Y = (I + D) C with a small per-matrix D, whose exact right residual is

    eps(D) = I - Y A = I - (I + D)(I - eps0),    eps0 = I - C A = R_C - N,    R_C = I - C A0,  N = C E.

Y - A^-1 = -eps A^-1, hence  ||Y - A^-1||_F / ||A^-1||_F <= ||eps||_2,  and ||eps||_2 < 1 proves A nonsingular.
Because C A0 is factored out, D and eps are small (||N||_F ~ 0.07 on the 16x16 box), so rounding errors stay relative
to them: float32 answers are certified down to ~5e-7, where a float32 residual I - X A formed directly has a rounding
error of n u || |X||A| || ~ 7e-5 on the same box.

Initial guesses, from S0 = fl(R_C - C E-hat) ~= eps0 (one batched product against the fixed C):
    taylor1:  D = S0                  (Y = C - C E C, the paper's Eq. 10), residual estimate S = fl(S0 S0)
    taylor2:  D = fl(S0 + fl(S0 S0))  (second order),                    residual estimate S = fl(S0^2 S0)
    network:  D = fl(fl(X_net A0) - I),                                   residual estimate S = fl(S0 - D + D S0)
Newton-Schulz step Y <- (I + S) Y, i.e. D <- D + S + S D. With eps = S + G (G the error of the estimate S):

    eps' = S^2 + (I + S) G - F (I - eps0),    F = the rounding error of the new D,

so ||eps'||_2 <= s^2 + (1 + s) g + f (1 + r0) with s >= ||S||_F, g >= ||G||_2, f >= ||F||_2, r0 >= ||eps0||_2: the bound
after a step needs no new product. To continue, S' = fl(S S) and g' = (1 + s) g + f (1 + r0) + gamma_n s^2.
Every rounding is bounded with the standard model |fl(x . y) - x . y| <= gamma_k |x| . |y| (gamma_k = k u / (1 - k u),
any summation order, FMA or not) plus n^2 tiny for underflow, and turned into norms by ||M||_2 <= ||M||_F and
|| |M| |N| ||_F <= ||M||_F ||N||_F. The answer X differs from Y by a forward error, added last (relative, Frobenius):

    X = fl(C + fl(D C)):         bound = rho + (delta_C + gamma_n d)(1 + r0)(1 + u) + u (1 + rho)
    X = fl(fl(I + D) C):         bound = rho + (u + gamma_n)(1 + d)(1 + r0)        (one pass less; when tol is loose)

The common case (taylor1, a loose tol, r = w, max_steps >= 1) runs in _lane: one step in four products (C E, S0^2,
M = (I + S1)(I + S0), M C) and the bound arithmetic once per batch; its bound, with the identity inside M, is about
2 gamma_n looser than the general step's, and what it does not certify (or taylor1 alone would) is redone generally.

Nothing above needs A to lie in the region: the bound is a posteriori. Matrices outside a box region (the one shape
with a membership test this cheap), with NaN/Inf, whose residual stops shrinking, or whose bound stays above tol go
to the exact path: the fastest exact inverse measured on this machine (neuralinv.linalg.exact), with its own
a posteriori
bound from a float64 residual. A matrix that is singular there (a zero pivot, an inverse that overflows the output
dtype, or a residual >= 1 so that not even invertibility is proved) is not inverted: NaN, bound inf. So every
returned inverse has a finite bound.

Auto (see certified_inverse): a probe of the batch and costs measured on this machine decide, per batch, which path
is cheaper; the exact path always remains available and correct.
"""

from __future__ import annotations

import math
import platform
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from neuralinv.common.errors import InputError
from neuralinv.common.machine import cpu_name
from neuralinv.common.timing_cache import remember_timing, remembered_timing
from neuralinv.linalg import exact
from neuralinv.linalg.rounding import SAFE as _SAFE
from neuralinv.linalg.rounding import U64 as _U64
from neuralinv.linalg.rounding import fro_bound as _fro_bound
from neuralinv.linalg.rounding import gamma as _gamma
from neuralinv.linalg.rounding import unit_roundoff as _u
from neuralinv.nets.mlp import Network
from neuralinv.paper.presets import get_dataset
from neuralinv.regions.composite import Equilibrated, Union
from neuralinv.regions.files import load_region
from neuralinv.regions.shapes import Box, Region, Symmetric, sigma_min

INITS = ("taylor1", "taylor2")
# Matrix entries per chunk (2048 16x16 matrices): a chunk's work tensors (2 MB each in float32) stay in cache; measured
# fastest on the 16x16 box among 512..32768 matrices per chunk.
CHUNK_ENTRIES = 1 << 19
# The fused forms (in-place step, I + D folded into the final product) add about 1.3 gamma_{n+2} to the rounding floor;
# they are used when tol is at least this many gamma_{n+2} (7e-5 for float32 at n = 16), i.e. cost <= 2% of tol.
FUSE_BELOW_TOL = 64
# Newton-Schulz goes on only while ||S||_F shrinks, and not at all from above this (hopeless within a few steps).
RESIDUAL_CAP = 16.0
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class CertifiedInverse:
    """Result of certified_inverse for a batch of shape (...): arrays of the input's kind (NumPy or torch).

    inverse (..., n, n): the approximate inverses, in the input's float dtype; NaN where not inverted.
    bound (...): float64, rigorous bound on ||X - A^-1||_F / ||A^-1||_F (rounding included); inf where not inverted.
    steps (...): Newton-Schulz steps after the initial guess (0 on the exact path).
    fallback (...): took the exact path (outside the region, NaN/Inf, not certified within tol, or singular).
    singular, nonfinite, outside (...): why; singular and nonfinite matrices are not inverted (inverse NaN).
    """

    inverse: object
    bound: object
    steps: object
    fallback: object
    singular: object
    nonfinite: object
    outside: object
    tol: float
    message: str
    route: dict = field(default_factory=dict)  # what was chosen and why (method, probe, exact path, estimates)

    @property
    def certified(self):
        """Mask (...) of the answers whose bound is within tol."""
        return self.bound <= self.tol


# ---------------------------------------------------------------------------------------------------------------------
# Rounding constants


def _host(t: torch.Tensor):
    """Per-matrix scalars (B,) live in NumPy on the CPU (small-array ops cost a few us there, ~8 us in torch), and
    stay torch tensors on other devices; the bound arithmetic is written for both."""
    return t.numpy() if t.device.type == "cpu" else t


def _torch(x, like: torch.Tensor) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x)).to(like.device)


def _flat(mask):
    """Positions (k,) of the True entries of a mask (NumPy or torch)."""
    return np.flatnonzero(mask) if isinstance(mask, np.ndarray) else mask.nonzero().squeeze(1)


def _fro(m: torch.Tensor):
    """Upper bound (...) on ||m||_F of m (..., n, n) (rounding.fro_bound), on the host for CPU tensors (see _host).
    Inf or NaN stay inf or NaN, so such matrices are never certified."""
    return _fro_bound(_host(torch.linalg.vector_norm(m, dim=(-2, -1)).double()), m.shape[-1], m.dtype)


@contextmanager
def _ieee_matmul():
    """float32 matmuls in full IEEE float32 (no TF32 / bfloat16 shortcuts): the rounding model needs it."""
    old = torch.get_float32_matmul_precision()
    if old != "highest":
        torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        if old != "highest":
            torch.set_float32_matmul_precision(old)


@dataclass(frozen=True)
class _Plan:
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
    def build(cls, a0: np.ndarray, radius: float, w: torch.dtype, r: torch.dtype, device) -> "_Plan":
        """The plan around the centre a0 (n, n); radius: the box test's half-width (inf: no box test)."""
        n = a0.shape[0]
        a0_w = torch.tensor(a0, dtype=w)
        a0_w64 = a0_w.double().numpy()
        if np.linalg.matrix_rank(a0_w64) < n:
            raise InputError(
                f"region: the centre is singular in {str(w).removeprefix('torch.')}; no box around it "
                f"can be inverted by expansion"
            )
        c_r = torch.from_numpy(np.linalg.inv(a0_w64)).to(r)
        c64 = c_r.double().numpy()
        eye = np.eye(n)
        # R_C in float64: |fl(I - C A0) - (I - C A0)| <= gamma_{n+1} (I + |C||A0|); then rounded to r.
        rc64 = eye - c64 @ a0_w64
        rc_r = torch.from_numpy(rc64).to(r)
        rc_err = (
            _gamma(n + 1, _U64) * np.linalg.norm(eye + np.abs(c64) @ np.abs(a0_w64))
            + np.linalg.norm(rc_r.double().numpy() - rc64)
            + 2 * _U64 * np.linalg.norm(rc64)
        ) * (1 + 1e-6)
        ac = np.abs(c64)
        # || |C| |E| ||_2 with |E_ij| <= m: <= || |C| ||_2 n m, and <= m || |C| 1 1^T ||_2 = m sqrt(n) || |C| 1 ||_2.
        abs_c2 = min(np.linalg.norm(ac), math.sqrt(ac.sum(0).max() * ac.sum(1).max()))
        k_ce = min(abs_c2 * n, math.sqrt(n) * np.linalg.norm(ac.sum(1))) * (1 + 8 * n * _U64)
        u_r, u_w = _u(r), _u(w)
        r_holds_w = torch.finfo(r).eps <= torch.finfo(w).eps
        holds = torch.finfo(w).eps <= torch.finfo(r).eps  # w represents every r value exactly
        eps_e = (u_r if r_holds_w else u_w + u_r) * (1 + 1e-6)  # |E-hat - E| <= eps_e |E-hat|
        # S0 = fl(rc_r - C E-hat) as one (n+1)-term inner product: error <= gamma_{n+1} (|rc_r| + |C||E-hat|); and
        # C (E - E-hat) <= eps_e |C||E-hat|. So G0 = eps0 - S0 has ||G0||_2 <= rc_err + s0_err' + s0_per_e max|E|.
        gam_r = _gamma(n + 1, u_r)
        s0_err = rc_err + gam_r * float(np.linalg.norm(rc_r.double().numpy())) + n * n * torch.finfo(r).tiny
        delta_c = 0.0 if holds else u_w
        gam_n = _gamma(n, u_w)
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
            rc_err=float(rc_err),
            s0_err=float(s0_err),
            rc_norm=float(np.linalg.norm(rc_r.double().numpy())) * (1 + 1e-6),
            s0_per_e=float((gam_r + eps_e) * (1 + eps_e) * k_ce),
            r_holds_w=r_holds_w,
            cast_s=0.0 if holds else u_w,
            delta_c=delta_c,
            u_w=u_w,
            gam_n=gam_n,
            gam_n1=_gamma(n + 1, u_w),
            gam_n2=_gamma(n + 2, u_w),
            gam_n3=_gamma(n + 3, u_w),
            gam_p=gam_n * (1 + delta_c) + delta_c,
            tiny_w=n * n * torch.finfo(w).tiny,
            tiny_p=n * n * torch.finfo(w).tiny / float(np.linalg.norm(c64)),
        )

    def fuse(self, tol: float) -> bool:
        """Whether tol is loose enough for the fused forms (see FUSE_BELOW_TOL)."""
        return tol >= FUSE_BELOW_TOL * self.gam_n2

    def final(self, rho: torch.Tensor, d: torch.Tensor, r0: torch.Tensor, fused: bool) -> torch.Tensor:
        """Bound (B,) on the relative Frobenius error of the answer X made from D, given ||eps(D)||_2 <= rho and
        ||D||_F <= d: X = fl(C_w + fl(D C_w)), or X = fl(fl(I + D) C_w) when fused (see the module docstring)."""
        if fused:
            # Q = fl(I + D) moves the residual by ||Q - I - D||_2 <= u (1 + d)(1 + u); X = fl(Q C) adds gam_p |Q||C|.
            out = rho + ((self.u_w + self.gam_p) * (1 + d) * (1 + 2 * self.u_w) + self.tiny_p) * (1 + r0)
        else:
            out = rho + (
                (self.delta_c + self.gam_p * d + self.tiny_p) * (1 + r0) * (1 + self.u_w) + self.u_w * (1 + rho)
            )
        out = out * _SAFE
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


_PLANS: dict = {}


def _plan(a0: np.ndarray, radius: float, w: torch.dtype, r: torch.dtype, device) -> _Plan:
    """The plan for (centre, radius, w, r, device), cached: building one costs an SVD and an inverse (milliseconds)."""
    key = (a0.tobytes(), a0.shape, radius, w, r, str(device))
    if key not in _PLANS:
        if len(_PLANS) >= 64:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[key] = _Plan.build(a0, radius, w, r, device)
    return _PLANS[key]


# ---------------------------------------------------------------------------------------------------------------------
# The fast path


class _Buffers:
    """Reusable (B, n, n) work tensors, kept per thread between calls (at most 12 of CHUNK_ENTRIES entries per dtype,
    24 MB in float32): freshly allocated memory costs page faults on first touch, comparable in time to the small
    matmuls that fill it."""

    def __init__(self, n: int, device):
        self.n, self.device, self.store = n, device, {}

    def __call__(self, name: str, b: int, dtype: torch.dtype, *avoid: torch.Tensor) -> torch.Tensor:
        """A (b, n, n) work tensor; with avoid, one that shares memory with none of those tensors."""
        for key in (name, name + "'"):
            t = self.store.get((key, dtype))
            if t is None or t.shape[0] < b:
                t = self.store[(key, dtype)] = torch.empty((b, self.n, self.n), dtype=dtype, device=self.device)
            if all(t.data_ptr() != x.data_ptr() for x in avoid):
                return t[:b]
        raise AssertionError("work buffers exhausted")


_LOCAL = threading.local()


def _buffers(n: int, device) -> _Buffers:
    cache = _LOCAL.__dict__.setdefault("buffers", {})
    key = (n, str(device))
    if key not in cache:
        if len(cache) >= 4:
            cache.pop(next(iter(cache)))
        cache[key] = _Buffers(n, device)
    return cache[key]


def _init(p: _Plan, a: torch.Tensor, e: torch.Tensor, emax: torch.Tensor, init, buf: _Buffers):
    """Initial D, residual estimate S and scalars (B,) s >= ||S||_F, g >= ||eps - S||_2, d >= ||D||_F, r0."""
    b, n = a.shape[0], p.n
    s0 = torch.baddbmm(p.rc_r.expand(b, n, n), p.c_r.expand(b, n, n), e, alpha=-1, out=buf("n", b, p.r))
    if p.r != p.w:
        s0 = buf("s0", b, p.w).copy_(s0)
    s0n = _fro(s0)
    g0 = p.s0_err + p.s0_per_e * emax + p.cast_s * (1 + p.u_w) * s0n
    r0 = s0n + g0
    if isinstance(init, Network):
        x_net = init(a).to(p.w)
        dd = (x_net.reshape(-1, n) @ p.a0_w).view(x_net.shape)
        dd.diagonal(dim1=-2, dim2=-1).sub_(1)
        dn = _fro(dd)
        # S = fl(fl(S0 - D) + D S0): eps - S = (I + D) G0 - (the two roundings).
        v = torch.sub(s0, dd)
        vn = (s0n + dn) * (1 + p.u_w)
        s = torch.baddbmm(v, dd, s0)
        g = p.u_w * vn + p.gam_n1 * (vn + dn * s0n) + p.tiny_w + (1 + dn) * g0
        return dd, s, _fro(s), g, dn, r0
    s1 = torch.bmm(s0, s0, out=buf("s1", b, p.w))
    s1n = _fro(s1)
    h0 = p.gam_n * s0n * s0n + p.tiny_w
    if init == "taylor1":
        # D1 = S0 exactly; eps1 = S0^2 + (I + S0) G0 and S1 = S0^2 + H0.
        return s0, s1, s1n, (1 + s0n) * g0 + h0, s0n, r0
    # taylor2: D = fl(S0 + S1) = S0 + S1 + F; eps = S1 S0 - H0 - F (I - S0) + (I + D) G0; S = fl(S1 S0) = S1 S0 + H1.
    s = torch.bmm(s1, s0, out=buf("s", b, p.w))
    dd = s1.add_(s0)
    dn = (s0n + s1n) * (1 + p.u_w)
    f = p.u_w * dn
    g = (p.gam_n * s1n * s0n + p.tiny_w) + h0 + f * (1 + s0n) + (1 + dn) * g0
    return dd, s, _fro(s), g, dn, r0


def _fast(p: _Plan, a, e, emax, x_dst, b_dst, k_dst, *, tol: float, init, max_steps: int, buf: _Buffers):
    """Certify the in-region matrices a (B, n, n) (w), E-hat e (r), writing X, bound and steps into the destinations.

    Returns the mask (B,) of the matrices certified (the others are left for the exact path).
    """
    n = p.n
    fused = p.fuse(tol)
    ok = torch.zeros(a.shape[0], dtype=torch.bool, device=a.device)
    d, s, sn, g, dn, r0 = _init(p, a, e, emax, init, buf)
    prev = sn * 0 + math.inf  # ||S||_F one step earlier: a matrix whose residual stops shrinking is dropped
    idx = None  # positions of the active matrices in the chunk; None: all of them (no gathers in the common case)
    k = 0

    def finish(sel, d_sel, fin):
        """The answers X from D for the selected active matrices (sel None: all), into the destinations."""
        where = (slice(None) if sel is None else _flat(sel)) if idx is None else (idx if sel is None else idx[sel])
        whole = isinstance(where, slice)
        where, fin = (where, _torch(fin, b_dst)) if whole else (_torch(where, b_dst), _torch(fin, b_dst))
        x = x_dst if whole else torch.empty_like(d_sel)
        if fused:  # X = fl(fl(I + D) C); D is not needed afterwards
            d_sel.diagonal(dim1=-2, dim2=-1).add_(1)
            torch.mm(d_sel.reshape(-1, n), p.c_w, out=x.view(-1, n))
        else:  # X = fl(C + fl(D C))
            torch.mm(d_sel.reshape(-1, n), p.c_w, out=x.view(-1, n))
            x.add_(p.c_w)
        if not whole:
            x_dst[where] = x
        b_dst[where], k_dst[where], ok[where] = fin, k, True

    while True:
        rho_now = sn + g
        f, dn1 = p.step_error(sn, dn, fused)
        rho_next = sn * sn + (1 + sn) * g + f * (1 + r0)
        fin_now = p.final(rho_now, dn, r0, fused)
        fin_next = p.final(rho_next, dn1, r0, fused)
        now = fin_now <= tol
        # Go on while the residual estimate shrinks: its Frobenius norm may start above 1 (the bound after a step,
        # from s^2, is then no use) and still fall fast, since eps_k = eps_0^(2^k) shrinks with eps_0's spectral
        # radius. A residual that grows, or starts above RESIDUAL_CAP, is left to the exact path.
        can = (~now) & (sn < prev) & (sn < RESIDUAL_CAP) if k < max_steps else now & ~now
        nxt = can & (fin_next <= tol)
        cont = can & ~nxt
        n_now, n_nxt, n_cont = int(now.sum()), int(nxt.sum()), int(cont.sum())
        if n_now:
            sel = None if n_now == len(now) else now
            finish(sel, d if sel is None else d[sel], fin_now if sel is None else fin_now[sel])
        if not (n_nxt or n_cont):
            return ok
        step = nxt | cont
        if n_nxt + n_cont < len(step):  # drop the finished and the failed from the active set
            d, s, sn, prev, g, dn, dn1, r0, f = (t[step] for t in (d, s, sn, prev, g, dn, dn1, r0, f))
            fin_next, nxt, cont = fin_next[step], nxt[step], cont[step]
            idx = _flat(step) if idx is None else idx[step]
        # Newton-Schulz: D <- D + S + S D (see step_error for the two forms and their rounding).
        out = buf("t", d.shape[0], p.w, d, s)
        if fused:
            d = torch.add(d, s, out=out).baddbmm_(s, d)
        else:
            d = torch.bmm(s, d, out=out).add_(s).add_(d)
        k += 1
        if n_nxt:
            sel = None if n_nxt == len(nxt) else nxt
            finish(sel, d if sel is None else d[sel], fin_next if sel is None else fin_next[sel])
        if not n_cont:
            return ok
        if n_cont < len(cont):
            d, s, sn, prev, g, dn1, r0, f = (t[cont] for t in (d, s, sn, prev, g, dn1, r0, f))
            idx = _flat(cont) if idx is None else idx[cont]
        s_new = torch.bmm(s, s)
        g = (1 + sn) * g + f * (1 + r0) + p.gam_n * sn * sn + p.tiny_w
        s, prev, sn, dn = s_new, sn, _fro(s_new), dn1


def _lane(p: _Plan, t, x, bound, steps, *, tol: float, chunk: int, buf: _Buffers):
    """taylor1 and one Newton-Schulz step in four products and few passes over t (B, n, n) in w, chunk by chunk, with
    the bound arithmetic done once for the whole batch; for r = w and a loose tol (p.fuse). Writes X, bound and steps
    into the destinations and returns the positions (k,) of the matrices to redo on the general path: those of chunks
    not entirely inside the box (or with NaN/Inf), those that taylor1 alone may certify (the general path gives them
    0 steps), and those whose bound here is above tol (the general path tries more steps, then the exact path).

    With E' = fl(A0 - A) = -E-hat and C = c_r: S0 = fl(C E'), S1 = fl(S0 S0), Q = fl(I + S0) (the diagonal only),
    M = fl(Q + S1 Q) and X = fl(M C); exactly, (I + S0^2)(I + S0)(I - S0) = I - S0^4. With eps0 = I - C A = S0 + G0,
    ||G0||_2 <= ||R_C||_2 + (gamma_n + eps_e) || |C||E-hat| ||_2 + tiny <= g0 (R_C is not added in: it is bounded
    instead, ~4e-7 on the 16x16 box), H0 = S1 - S0^2, dQ = Q - I - S0 (diagonal, |dQ_ii| <= u |1 + S0_ii|) and F_M the
    rounding of M (|F_M| <= gamma_{n+1} (|Q| + |S1||Q|), summed in any order):

        eps(M C) = I - M C A = S1^2 - (I + S1) H0 + (I + S1)(I + S0) G0 - ((I + S1) dQ + F_M)(I - eps0).

    || |Q| ||_2 <= (1 + u)(1 + s0) =: q, ||F_M||_2 <= gamma_{n+1} q (1 + s1) + tiny =: f_M,
    || |M| ||_2 <= q (1 + s1) + f_M, so ||eps(M C)||_2 <= rho = s1^2 + (1 + s1) h0 + (1 + s1)(1 + s0) g0
    + ((1 + s1) u (1 + s0) + f_M)(1 + r0), and the answer adds (gam_p || |M| ||_2 + tiny_p)(1 + r0) for the last product
    (||C||_F <= (1 + r0) ||A^-1||_F). The identity inside M costs about 2 gamma_n more than the general fused step;
    p.fuse(tol) keeps that within a few per cent of tol.
    """
    bsz, n = t.shape[0], p.n
    dev = t.device
    norms = torch.zeros((2, bsz), dtype=p.w, device=dev)  # ||S0||_F, ||S1||_F as computed
    emax = torch.full((bsz,), math.inf, dtype=torch.float64, device=dev)
    for lo in range(0, bsz, chunk):
        part = slice(lo, min(lo + chunk, bsz))
        a = t[part]
        b = a.shape[0]
        e = torch.sub(p.a0_w, a, out=buf("lane_e", b, p.w))
        low, high = (float(v) for v in torch.aminmax(e))  # NaN propagates: NaN/Inf fail the box test
        if not (high <= p.radius + p.slack and -low <= p.radius + p.slack):
            continue  # emax stays inf: the whole chunk is redone
        emax[part] = max(high, -low)
        s0 = torch.bmm(p.c_r.expand(b, n, n), e, out=buf("lane_s0", b, p.w))
        torch.linalg.vector_norm(s0.view(b, -1), dim=1, out=norms[0, part])
        s1 = torch.bmm(s0, s0, out=buf("lane_s1", b, p.w))
        torch.linalg.vector_norm(s1.view(b, -1), dim=1, out=norms[1, part])
        s0.diagonal(dim1=-2, dim2=-1).add_(1)  # Q
        m = torch.baddbmm(s0, s1, s0, out=e)  # E' is not needed any more
        torch.mm(m.view(-1, n), p.c_w, out=x[part].view(-1, n))
    s0n, s1n = (_fro_bound(_host(v.double()), n, p.w) for v in norms)
    emax = _host(emax)
    g0 = p.s0_err + p.rc_norm + p.s0_per_e * emax
    r0 = s0n + g0
    h0 = p.gam_n * s0n * s0n + p.tiny_w
    u = p.u_w
    q = (1 + u) * (1 + s0n)
    f_m = p.gam_n1 * q * (1 + s1n) + p.tiny_w
    rho = s1n * s1n + (1 + s1n) * h0 + (1 + s1n) * (1 + s0n) * g0 + ((1 + s1n) * u * (1 + s0n) + f_m) * (1 + r0)
    out = (rho + (p.gam_p * (q * (1 + s1n) + f_m) + p.tiny_p) * (1 + r0)) * _SAFE
    # Routing only (the general path bounds what it returns itself): might taylor1 alone certify it?
    taylor1 = p.final(s1n + (1 + s0n) * g0 + h0, s0n, r0, True) <= tol
    redo = ~((out <= tol) & (rho < 1)) | taylor1  # emax inf (chunk not inside) gives out NaN or inf: redone
    bound.copy_(_torch(out, bound))
    steps.fill_(1)
    return _torch(_flat(redo), t)


# ---------------------------------------------------------------------------------------------------------------------
# The fast path over a batch, for one centre


_FLAGS = ("fallback", "singular", "nonfinite", "outside")


def _chunk(p: _Plan, a, x, bound, steps, *, tol, init, max_steps, buf: _Buffers):
    """The fast path for one chunk a (B, n, n) in w: (good, inside) masks (B,); writes X, bound and steps of the good
    ones into the destination views x (B, n, n), bound (B,), steps (B,)."""
    b = a.shape[0]
    # E-hat in one rounding when r holds w (float32 input, float64 residual), else in w first (u_w + u_r).
    e = buf("e", b, p.r)
    if p.r_holds_w:
        torch.sub(a.to(p.r), p.a0_r, out=e)
    else:
        e.copy_(torch.sub(a, p.a0_w))
    # max |E_ij|; NaN and Inf fail the box test too (amax propagates NaN), so they leave the fast path here.
    emax = _host(torch.maximum(e.amax(dim=(-2, -1)), e.amin(dim=(-2, -1)).neg_()).double())
    inside = _torch(emax <= p.radius + p.slack, a)
    kw = dict(tol=tol, init=init, max_steps=max_steps, buf=buf)
    if bool(inside.all()):
        return _fast(p, a, e, emax, x, bound, steps, **kw), inside
    good = torch.zeros(b, dtype=torch.bool, device=a.device)
    if bool(inside.any()):
        sel = _flat(inside)
        xs, bs, ks = torch.empty_like(a[sel]), bound[sel], steps[sel]
        good[sel] = _fast(p, a[sel], e[sel], emax[_host(sel)], xs, bs, ks, **kw)
        x[sel], bound[sel], steps[sel] = xs, bs, ks
    return good, inside


def _fast_batch(p: _Plan, t, x, bound, steps, outside, *, tol, init, max_steps, lane: bool, buf) -> torch.Tensor:
    """The fast path over t (B, n, n) in w, chunk by chunk (the taylor1 lane first when lane and it applies).
    Returns the mask (B,) of the certified; writes their answers, and marks outside those failing the box test."""
    bsz, n = t.shape[0], p.n
    chunk = max(1, CHUNK_ENTRIES // n**2)
    good = torch.zeros(bsz, dtype=torch.bool, device=t.device)
    kw = dict(tol=tol, init=init, max_steps=max_steps, buf=buf)
    if lane and init == "taylor1" and max_steps >= 1 and p.r == p.w and p.fuse(tol):
        redo = _lane(p, t, x, bound, steps, tol=tol, chunk=chunk, buf=buf)
        good.fill_(True)
        good[redo] = False
        for lo in range(0, redo.numel(), chunk):  # the general path for the rest, gathered
            pos = redo[lo : lo + chunk]
            xs, bs, ks = x[pos], bound[pos], steps[pos]
            g, inside = _chunk(p, t[pos], xs, bs, ks, **kw)
            x[pos], bound[pos], steps[pos], good[pos], outside[pos] = xs, bs, ks, g, ~inside
        return good
    for lo in range(0, bsz, chunk):
        part = slice(lo, min(lo + chunk, bsz))
        g, inside = _chunk(p, t[part], x[part], bound[part], steps[part], **kw)
        good[part], outside[part] = g, ~inside
    return good


# ---------------------------------------------------------------------------------------------------------------------
# Regions: centres, equilibration, the nearest centre


def _pow2(d: np.ndarray) -> np.ndarray:
    """The powers of two nearest to d: scaling by them is exact in floating point."""
    return np.exp2(np.round(np.log2(d)))


@dataclass(frozen=True)
class _Geometry:
    """What the fast path needs of a region: the equilibration D (powers of two, or None), the centres in the scaled
    space B = D A D, and per centre the half-width of the box test (inf: none; only uniform boxes have one)."""

    scale: np.ndarray | None
    centers: np.ndarray  # (K, n, n)
    radii: tuple[float, ...]
    growth: float  # d_max^2 ||B0^-1||_F / ||A0^-1||_F: how much the bound grows from B to A (1 without scaling)
    symmetric: bool  # every member holds symmetric matrices only (the exact path may then try Cholesky)

    @classmethod
    def of(cls, region: Region) -> "_Geometry":
        inner = region.inner if isinstance(region, Equilibrated) else region
        members = inner.members if isinstance(inner, Union) else [inner]
        radii = tuple(m.radius if isinstance(m, Box) and m.uniform else math.inf for m in members)
        symmetric = all(isinstance(m, Symmetric) for m in members)
        if not isinstance(region, Equilibrated):
            return cls(None, np.stack([m.center for m in members]), radii, 1.0, symmetric)
        d = _pow2(region.scale)
        centers = region.centers * np.outer(d, d)  # A-space centres in the power-of-two scaled space
        a0, b0 = region.centers[0], centers[0]
        try:
            growth = float(d.max() ** 2 * np.linalg.norm(np.linalg.inv(b0)) / np.linalg.norm(np.linalg.inv(a0)))
        except np.linalg.LinAlgError:
            growth = math.inf  # a singular centre: no fast path (see _singular_centre)
        radii = radii if np.array_equal(d, region.scale) else (math.inf,) * len(members)
        return cls(d, centers, radii, growth, symmetric)


def _nearest(t: torch.Tensor, centers: np.ndarray) -> torch.Tensor:
    """Index (B,) of the nearest centre (Frobenius) to each matrix of t (B, n, n): one (B, n^2) x (n^2, K) product."""
    c = torch.from_numpy(centers.reshape(len(centers), -1)).to(t.dtype).to(t.device)
    score = t.reshape(t.shape[0], -1) @ c.T  # ||A - C_k||^2 = ||A||^2 - 2 <A, C_k> + ||C_k||^2
    return (c.pow(2).sum(1) / 2 - score).argmin(1)


def _fro_lower(t: torch.Tensor) -> torch.Tensor:
    """A lower bound (...) float64 on ||t||_F of t (..., n, n), covering the norm's own rounding (see _fro)."""
    n = t.shape[-1]
    v = torch.linalg.vector_norm(t, dim=(-2, -1)).double()
    return (v * (1 - (n * n + 8) * _u(t.dtype)) - n * math.sqrt(torch.finfo(t.dtype).tiny)).clamp(min=0)


def _fast_region(t, geo: _Geometry, x, bound, steps, outside, *, tol, init, max_steps, r, lane, buf) -> torch.Tensor:
    """The fast path over t (B, n, n) in w for a region's geometry: equilibrate, route each matrix to its nearest
    centre, run the fast path per centre, and carry answers and bounds back to A. Returns the certified mask (B,).

    Equilibrated: B = D A D exactly (D of powers of two), the fast path certifies Y ~ B^-1 with relative bound beta
    (at the tighter tol / (2 growth)), and X = D Y D exactly. Then ||X - A^-1||_F = ||D (Y - B^-1) D||_F <=
    d_max^2 beta ||B^-1||_F <= d_max^2 beta ||Y||_F / (1 - beta) =: e, and ||A^-1||_F >= ||X||_F - e, so the relative
    error of X is at most e / (||X||_F - e), with the norms widened (upper for Y, lower for X) by their rounding.
    """
    w, dev = t.dtype, t.device
    tol_b = tol if geo.scale is None else tol / (2 * geo.growth)
    if geo.scale is not None:
        dd = torch.from_numpy(np.outer(geo.scale, geo.scale)).to(w).to(dev)
        t = t * dd
    kw = dict(tol=tol_b, init=init, max_steps=max_steps, lane=lane, buf=buf)
    if len(geo.centers) == 1:
        good = _fast_batch(_plan(geo.centers[0], geo.radii[0], w, r, dev), t, x, bound, steps, outside, **kw)
    else:
        good = torch.zeros(t.shape[0], dtype=torch.bool, device=dev)
        which = _nearest(t, geo.centers)
        for k in range(len(geo.centers)):
            pos = (which == k).nonzero().squeeze(1)
            if pos.numel():
                xs, bs, ks, os = x[pos], bound[pos], steps[pos], outside[pos]
                g = _fast_batch(_plan(geo.centers[k], geo.radii[k], w, r, dev), t[pos], xs, bs, ks, os, **kw)
                x[pos], bound[pos], steps[pos], outside[pos], good[pos] = xs, bs, ks, os, g
    if geo.scale is not None and bool(good.any()):
        pos = good.nonzero().squeeze(1)
        y = x[pos]
        yn = _torch(_fro(y), y)
        xs = y * dd
        xn = _fro_lower(xs)
        beta = bound[pos]
        e = float(geo.scale.max()) ** 2 * beta * yn / (1 - beta)
        rel = torch.where((beta < 1) & (xn > e), e / (xn - e), torch.full_like(e, math.inf)) * _SAFE
        x[pos], bound[pos] = xs, rel
        good[pos] = rel <= tol
    return good


# ---------------------------------------------------------------------------------------------------------------------
# Choosing between the fast and the exact path ("auto")


METHODS = ("auto", "fast", "exact")
AUTO_MAX_STEPS = 6  # the most Newton-Schulz steps auto considers
PROBE_SHARE = 32  # auto probes one matrix in this many (at least PROBE_MIN) before deciding
PROBE_MIN = 256
AUTO_MARGIN = 0.85  # the fast path is chosen when its estimated time is below this share of the exact path's
_UNIT_COSTS: dict = {}


def _unit_costs(n: int, w: torch.dtype, device) -> dict:
    """Per-matrix seconds of one batched product and of one elementwise pass in w, measured once (cached)."""
    key = (n, w, str(device), torch.get_num_threads())
    if key not in _UNIT_COSTS and (stored := remembered_timing("unit", key)) is not None:
        _UNIT_COSTS[key] = stored
    if key not in _UNIT_COSTS:
        count = max(256, min(4096, CHUNK_ENTRIES // n**2))
        a = torch.randn((count, n, n), generator=torch.Generator().manual_seed(0), dtype=w).to(device)
        out = torch.empty_like(a)

        def best(fn):
            runs = []
            for _ in range(5):
                t0 = time.perf_counter()
                fn()
                runs.append(time.perf_counter() - t0)
            return min(runs[1:]) / count

        with torch.no_grad():
            _UNIT_COSTS[key] = {
                "product": best(lambda: torch.bmm(a, a, out=out)),
                "pass": best(lambda: torch.add(a, a, out=out)),
            }
        remember_timing("unit", key, _UNIT_COSTS[key])
    return _UNIT_COSTS[key]


def _fast_cost(k: int, unit: dict, *, converted: bool, geo: _Geometry) -> float:
    """Estimated per-matrix seconds of the general fast path for a matrix certified after k steps (k < 0: dropped
    after the first residual, before any step): products 2 + 2k (S0, S0^2, per step an update and a square, less the
    last square, plus the answer), and about 5 + 3k elementwise passes; conversions, equilibration and several
    centres add passes."""
    products = 2 if k < 0 else (3 if k == 0 else 2 + 2 * k)
    passes = (
        5
        + 3 * max(k, 0)
        + (2 if converted else 0)
        + (4 if geo.scale is not None else 0)
        + (3 if len(geo.centers) > 1 else 0)
    )
    return (
        products * unit["product"]
        + passes * unit["pass"]
        + (len(geo.centers) / geo.centers.shape[-1] ** 2) * unit["product"]
    )


def _steps_worth_trying(c_exact: float, unit: dict, *, converted: bool, geo: _Geometry) -> int:
    """The most Newton-Schulz steps whose cost alone stays below the exact path's (-1: not even 0 steps)."""
    k = -1
    while k < AUTO_MAX_STEPS and _fast_cost(k + 1, unit, converted=converted, geo=geo) < AUTO_MARGIN * c_exact:
        k += 1
    return k


REPROBE_EVERY = 32  # auto remembers a region's probe for this many calls, then probes again
VERIFY_ABOVE = 0.4  # a fast choice estimated at this share of the exact path's time or more is checked by timing
_DECISIONS: dict = {}


def _probe(
    t,
    geo: _Geometry,
    x,
    bound,
    steps,
    flags,
    good,
    *,
    k_run: int,
    unit: dict,
    c_exact: float,
    converted: bool,
    kw: dict,
) -> dict:
    """Run the fast path on one matrix in PROBE_SHARE of t (at least PROBE_MIN), at most k_run steps, writing their
    answers; return the decision: {"max_steps" (None: exact), "lane", "why", "probe", "calls"}."""
    bsz = t.shape[0]
    stride = max(1, min(PROBE_SHARE, bsz // PROBE_MIN))
    probe = torch.arange(0, bsz, stride, device=t.device)
    xs, bs, ks, os = x[probe], bound[probe], steps[probe], flags["outside"][probe]
    g = _fast_region(t[probe], geo, xs, bs, ks, os, max_steps=k_run, lane=False, **kw)
    x[probe], bound[probe], steps[probe], flags["outside"][probe], good[probe] = xs, bs, ks, os, g
    counts = np.bincount(ks[g].cpu().numpy(), minlength=k_run + 1)[: k_run + 1]
    k_best, ratio = _decide(counts, int((~g).sum()), c_exact, unit, converted=converted, geo=geo)
    share = float(g.float().mean())
    info = {
        "matrices": int(probe.numel()),
        "certified": int(g.sum()),
        "steps": {str(k): int(c) for k, c in enumerate(counts) if c},
        "estimated_time_vs_exact": ratio,
    }
    if k_best is None:
        why = (
            f"a probe of {probe.numel()} matrices certified {share:.0%} within {k_run} Newton-Schulz steps (more "
            f"cost more than the exact path here); no step count is estimated to beat the exact path"
        )
        return {"max_steps": None, "lane": False, "why": why, "probe": info, "calls": 1}
    lane = bool(counts.sum() > 0 and counts[min(1, len(counts) - 1)] >= 0.9 * probe.numel())
    why = (
        f"a probe of {probe.numel()} matrices certified {share:.0%} within {k_best} steps; estimated {ratio:.2f}x "
        f"the exact path's time"
    )
    return {"max_steps": k_best, "lane": lane, "why": why, "probe": info, "calls": 1}


def _decide(counts: np.ndarray, failed: int, c_exact: float, unit: dict, *, converted: bool, geo: _Geometry):
    """(max_steps or None for the exact path, estimated fast/exact time ratio) from a probe's step counts."""
    total = counts.sum() + failed
    best_k, best = None, c_exact
    for k_max in range(len(counts)):
        done = counts[: k_max + 1]
        cost = sum(c * _fast_cost(k, unit, converted=converted, geo=geo) for k, c in enumerate(done))
        rest = total - done.sum()
        cost = (cost + rest * (_fast_cost(-1, unit, converted=converted, geo=geo) + c_exact)) / total
        if cost < best:
            best_k, best = k_max, cost
    ratio = best / c_exact
    return (best_k if ratio < AUTO_MARGIN else None), ratio


def _residual_dtype(geo: _Geometry, region: Region, w: torch.dtype, tol: float, device) -> torch.dtype:
    """float64 where float32's rounding of the first residual would take a noticeable share of tol (a far-reaching
    region or a large ||A0^-1||): the floor g0 ~ s0_err + s0_per_e max|E_ij| is estimated at the region's radius."""
    if w == torch.float64:
        return w
    tol_b = tol if geo.scale is None else tol / (2 * geo.growth)
    radius = (
        region.radius
        if geo.scale is None
        else (region.inner.radius if isinstance(region, Equilibrated) else region.radius)
    )
    p = _plan(geo.centers[0], geo.radii[0], w, w, device)
    floor = p.s0_err + p.s0_per_e * min(radius, 1 / max(p.s0_per_e, 1e-300))
    return w if floor < tol_b / 16 else torch.float64


# ---------------------------------------------------------------------------------------------------------------------
# The public function


def _float32_residual_suffices(geo: _Geometry, w: torch.dtype, tol: float) -> bool:
    """Whether float32's rounding of an exact-path residual, gamma_{n+1} (sqrt(n) + ||X||_F ||A||_F), is expected
    below tol / 4 for matrices near the region's centres (then bounds start from a float32 residual)."""
    if w != torch.float32:
        return False
    n = geo.centers.shape[-1]
    a0 = geo.centers if geo.scale is None else geo.centers / np.outer(geo.scale, geo.scale)
    try:
        spread = max(float(np.linalg.norm(c) * np.linalg.norm(np.linalg.inv(c))) for c in a0)
    except np.linalg.LinAlgError:
        return False
    return _gamma(n + 1, _u(torch.float32)) * (math.sqrt(n) + 2 * spread) < tol / 4


def _singular_centre(geo: _Geometry, w: torch.dtype) -> str:
    """Why no fast path exists around the region's centres ("" when one does): a centre singular in w."""
    for c in geo.centers:
        c_w = torch.tensor(c, dtype=w).double().numpy()
        if np.linalg.matrix_rank(c_w) < len(c_w):
            return f"the centre is singular in {str(w).removeprefix('torch.')} (sigma_min(A0) = {sigma_min(c_w):.3g})"
    return ""


def _as_region(region, init) -> Region:
    if region is None:
        if isinstance(init, Network):
            return init.box
        raise InputError(
            "region: expected a preset name (e.g. '16x16'), a region file, or a Region; it may be left "
            "out only when init is a network"
        )
    if isinstance(region, Network):
        return region.box
    return load_region(region)


def certified_inverse(
    a,
    *,
    region=None,
    tol: float = 1e-4,
    method: str = "auto",
    init="taylor1",
    max_steps: int | None = None,
    residual_dtype=None,
    spd: bool | None = None,
) -> CertifiedInverse:
    """Inverses of the matrices a (..., n, n) of a region, each with a rigorous relative error bound.

    a: NumPy array or torch tensor (any device); float32 stays float32, float64 stays float64, integers become float64.
    region: a Region (box, ball, symmetric, union, equilibrated), a region file, a preset name ("16x16", ...), a
        DatasetPreset or a Network (its box); optional when init is a network or a checkpoint.
    tol: every answer of the fast path has bound <= tol, with bound >= ||X - A^-1||_F / ||A^-1||_F.
    method: "auto" (default) takes the fast path only where it certifies and is faster: a probe of one matrix in
        PROBE_SHARE (their answers are kept) gives the share that certifies after each step count, a cost model
        measured on this machine (one product, one pass, the exact candidates) gives the time of each choice, and
        the batch goes the cheaper way; "fast" always tries the fast path first; "exact" never does.
    init: "taylor1", "taylor2", a checkpoint path or a Network (then Newton-Schulz steps, at most max_steps).
    max_steps: the most Newton-Schulz steps (None: 3 for "fast", chosen by the probe for "auto", at most 6).
    residual_dtype: precision of the first-order residual eps0 = R_C - C (A - A0) (None: the input's dtype, or
        float64 where float32 cannot reach tol); the higher-order products stay in the input's dtype.
    spd: the matrices are symmetric positive definite, so the exact path may use Cholesky (None: when the region
        holds symmetric matrices only); a wrong declaration costs time, never correctness (a posteriori bounds catch
        it and LU redoes those matrices).
    Matrices not certified go to the fastest exact path measured on this machine (see
    neuralinv.linalg.exact), with a bound.
    Returns a CertifiedInverse (see its docstring); its route says what was chosen and why.
    """
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and 0 < tol < 1):
        raise InputError(f"tol: expected a number in (0, 1), got {tol!r}")
    if method not in METHODS:
        raise InputError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    if max_steps is not None and not (isinstance(max_steps, int) and max_steps >= 0):
        raise InputError(f"max_steps: expected an integer >= 0, got {max_steps!r}")
    if region is None and isinstance(init, (str, Path)) and init not in INITS:
        init = _as_init(init, None)  # a checkpoint: its box is the region
    reg = _as_region(region, init)
    init = _as_init(init, reg.n)
    t, batch, was_numpy = _as_tensor(a, reg.n)
    w, dev, bsz = t.dtype, t.device, t.shape[0]
    geo = _Geometry.of(reg)
    if isinstance(init, Network):
        if geo.scale is not None or len(geo.centers) > 1:
            raise InputError("init: a network's guess needs a single-centre region without equilibration")
        init = init.to(dev)
    # Cholesky is worth trying wherever the region's matrices are symmetric (certified definite or not): a matrix
    # that is not positive definite fails it, or gets a large bound, and is redone by LU.
    spd = geo.symmetric if spd is None else bool(spd)
    x = torch.empty_like(t)
    bound = torch.full((bsz,), math.inf, dtype=torch.float64, device=dev)
    steps = torch.zeros(bsz, dtype=torch.int64, device=dev)
    flags = {k: torch.zeros(bsz, dtype=torch.bool, device=dev) for k in _FLAGS}
    good = torch.zeros(bsz, dtype=torch.bool, device=dev)
    route = {"method": method, "tol": float(tol)}
    buf = _buffers(reg.n, dev)
    with torch.no_grad(), _ieee_matmul():
        exact_choice = exact.calibrate(reg.n, w, dev, spd=spd)
        route.update(
            exact_path=f"{exact_choice['method']} ({exact_choice['dtype']})",
            exact_per_matrix_s=exact_choice["per_matrix_s"],
        )
        singular = _singular_centre(geo, w)
        if singular and method == "fast":
            raise InputError(
                f"region: {singular}; the fast path expands around the centre's inverse (use method auto or exact)"
            )
        if method != "exact" and bsz and not singular:
            r = _as_dtype(residual_dtype, w) if residual_dtype is not None else _residual_dtype(geo, reg, w, tol, dev)
            route["residual_dtype"] = str(r).removeprefix("torch.")
            kw = dict(tol=tol, init=init, r=r, buf=buf)
            todo = None  # positions still to run (None: all)
            decision = None  # auto's probe decision, when it probed or remembered one
            k_run = max_steps if max_steps is not None else (3 if method == "fast" else AUTO_MAX_STEPS)
            lane = True
            unit = _unit_costs(reg.n, w, dev) if method == "auto" else None
            k_cap = (
                _steps_worth_trying(exact_choice["per_matrix_s"], unit, converted=r != w, geo=geo)
                if method == "auto"
                else k_run
            )
            if method == "auto" and k_cap < 0:
                route["chosen"] = "exact"
                route["why"] = (
                    "on this machine the exact path beats even a Taylor guess without Newton-Schulz steps "
                    f"(estimated {_fast_cost(0, unit, converted=r != w, geo=geo) / exact_choice['per_matrix_s']:.2f}x "
                    "its "
                    "time per matrix)"
                )
                todo = torch.zeros(0, dtype=torch.long, device=dev)
                k_run = 0
            elif method == "auto" and bsz >= 2 * PROBE_MIN:
                k_run = min(k_run, k_cap)
                key = (
                    None
                    if isinstance(init, Network)
                    else (
                        geo.centers.tobytes(),
                        geo.radii,
                        None if geo.scale is None else geo.scale.tobytes(),
                        w,
                        r,
                        float(tol),
                        str(dev),
                        init,
                        k_run,
                    )
                )
                decision = _DECISIONS.get(key)
                if decision is None or decision["calls"] >= REPROBE_EVERY:
                    decision = _probe(
                        t,
                        geo,
                        x,
                        bound,
                        steps,
                        flags,
                        good,
                        k_run=k_run,
                        unit=unit,
                        c_exact=exact_choice["per_matrix_s"],
                        converted=r != w,
                        kw=kw,
                    )
                    if key is not None:
                        _DECISIONS[key] = decision
                        while len(_DECISIONS) > 64:
                            _DECISIONS.pop(next(iter(_DECISIONS)))
                    route["why"] = decision["why"]
                else:
                    decision["calls"] += 1
                    route["why"] = f"{decision['why']} (a probe of an earlier batch of this region, remembered)"
                route["probe"] = decision["probe"]
                good.fill_(False)  # the probe's answers are redone with the rest: whole-batch passes, no gathers
                flags["outside"].fill_(False)
                if decision["max_steps"] is None:
                    route["chosen"] = "exact"
                    todo = torch.zeros(0, dtype=torch.long, device=dev)
                else:
                    route["chosen"] = "fast"
                    k_run, lane = decision["max_steps"], decision["lane"]
            else:
                k_run = min(k_run, k_cap)
                route["chosen"] = "fast"
                route["why"] = (
                    "method fast"
                    if method == "fast"
                    else f"a batch of {bsz} is too small to probe: the fast path where it certifies, at most "
                    f"{k_run} steps (more would cost more than the exact path)"
                )
            route["max_steps"] = k_run
            # Only a close call is timed: a cold process (fresh buffers, first kernel calls) makes the first timed
            # eighth look slower than it is, which must not overturn a clear estimate.
            verify = (
                method == "auto"
                and decision is not None
                and not decision.get("verified")
                and decision["max_steps"] is not None
                and bsz >= 4 * PROBE_MIN
                and decision["probe"]["estimated_time_vs_exact"] >= VERIFY_ABOVE
            )
            if verify:
                # The cost model chose the fast path; time it on the first eighth of the batch (answers kept) against
                # the exact path's measured cost, and keep going only if it really is faster here.
                m = bsz // 8
                t0 = time.perf_counter()
                g = _fast_region(
                    t[:m], geo, x[:m], bound[:m], steps[:m], flags["outside"][:m], max_steps=k_run, lane=lane, **kw
                )
                per = (time.perf_counter() - t0) / m + float((~g).float().mean()) * exact_choice["per_matrix_s"]
                good[:m] = g
                decision.update(verified=True, measured_fast_per_matrix_s=per)
                route["measured_fast_vs_exact"] = per / exact_choice["per_matrix_s"]
                if per >= exact_choice["per_matrix_s"]:
                    decision["max_steps"] = None
                    decision["why"] += (
                        f"; but measured on {m} matrices the fast path took "
                        f"{per / exact_choice['per_matrix_s']:.2f}x the exact path's time"
                    )
                    route["chosen"], route["why"] = "exact", decision["why"]
                else:
                    decision["why"] += (
                        f"; measured on {m} matrices: {per / exact_choice['per_matrix_s']:.2f}x the exact path's time"
                    )
                    route["why"] = decision["why"]
                    good[m:] = _fast_region(
                        t[m:], geo, x[m:], bound[m:], steps[m:], flags["outside"][m:], max_steps=k_run, lane=lane, **kw
                    )
            elif todo is None:
                good |= _fast_region(t, geo, x, bound, steps, flags["outside"], max_steps=k_run, lane=lane, **kw)
            elif todo.numel():
                xs, bs, ks, os = x[todo], bound[todo], steps[todo], flags["outside"][todo]
                g = _fast_region(t[todo], geo, xs, bs, ks, os, max_steps=k_run, lane=lane, **kw)
                x[todo], bound[todo], steps[todo], flags["outside"][todo], good[todo] = xs, bs, ks, os, g
        else:
            route["chosen"] = "exact"
            route["why"] = "method exact" if method == "exact" else singular or "empty batch"
        x, bound = _exact_rest(
            t,
            x,
            bound,
            steps,
            flags,
            good,
            spd=spd,
            choice=exact_choice,
            tol=tol,
            float32_residual=_float32_residual_suffices(geo, w, tol),
        )
    route["exact_alone_s_estimate"] = exact_choice["per_matrix_s"] * bsz
    fallback, singular, nonfinite, outside = (flags[k] for k in _FLAGS)
    message = _message(bsz, tol, fallback, singular, nonfinite, outside, bound)

    def back(v, shape):
        v = v.reshape(shape)
        return v.cpu().numpy() if was_numpy else v

    return CertifiedInverse(
        inverse=back(x, batch + (reg.n, reg.n)),
        bound=back(bound, batch),
        steps=back(steps, batch),
        fallback=back(fallback, batch),
        singular=back(singular, batch),
        nonfinite=back(nonfinite, batch),
        outside=back(outside, batch),
        tol=float(tol),
        message=message,
        route=route,
    )


def _exact_rest(t, x, bound, steps, flags: dict, good, *, spd: bool, choice: dict, tol: float, float32_residual: bool):
    """The exact path for every matrix not certified (good False); NaN/Inf are not inverted. Returns (x, bound): the
    destinations, or for a batch that goes exact whole, the exact path's own tensors (no copies, no gathers).
    float32_residual: try a float32 residual first for the bounds, redoing in float64 those above tol (see
    exact.exact_inverse)."""
    flags["outside"] &= ~good
    dtype = torch.float64 if choice["dtype"] == "float64" else torch.float32
    if not bool(good.any()):
        # NaN/Inf need no pass of their own: their inverse has a non-finite bound, so they come back singular.
        xe, be, se = exact.exact_inverse(
            t, method=choice["method"], dtype=dtype, out_dtype=t.dtype, tol=tol, float32_residual=float32_residual
        )
        flags["fallback"].fill_(True)
        flags["singular"].copy_(se)
        if bool(se.any()):
            pos = se.nonzero().squeeze(1)
            nonfinite = ~torch.isfinite(t[pos]).flatten(1).all(1)
            flags["nonfinite"][pos] = nonfinite
            flags["singular"][pos] = ~nonfinite
        return xe, be
    pos = (~good).nonzero().squeeze(1)
    if not pos.numel():
        return x, bound
    sub = t[pos]
    fin = torch.isfinite(sub).flatten(1).all(1)
    xe = torch.full_like(sub, math.nan)
    be = torch.full((pos.numel(),), math.inf, dtype=torch.float64, device=t.device)
    se = torch.zeros(pos.numel(), dtype=torch.bool, device=t.device)
    if bool(fin.any()):
        part = sub if bool(fin.all()) else sub[fin]
        xf, bf, sf = exact.exact_inverse(
            part, method=choice["method"], dtype=dtype, out_dtype=t.dtype, tol=tol, float32_residual=float32_residual
        )
        if bool(fin.all()):
            xe, be, se = xf, bf, sf
        else:
            xe[fin], be[fin], se[fin] = xf, bf, sf
    x[pos], bound[pos], steps[pos] = xe, be, 0
    flags["fallback"][pos], flags["singular"][pos], flags["nonfinite"][pos] = True, se, ~fin
    flags["outside"][pos] &= fin
    return x, bound


def _as_init(init, n: int | None):
    if isinstance(init, Network):
        if n is not None and init.n != n:
            raise InputError(f"init: the network is for {init.n}x{init.n} matrices, the region for {n}x{n}")
        return init
    if isinstance(init, str) and init in INITS:
        return init
    if isinstance(init, (str, Path)):
        from neuralinv.nets import checkpoint

        if not Path(init).is_file():
            raise InputError(f"init: expected one of {', '.join(INITS)}, a checkpoint file or a Network, got {init!r}")
        return checkpoint.load(init, n=n)
    raise InputError(f"init: expected one of {', '.join(INITS)}, a checkpoint file or a Network, got {init!r}")


def _as_tensor(a, n: int):
    """(tensor (B, n, n) in the working dtype, batch shape, was_numpy) from a NumPy array or torch tensor."""
    was_numpy = not isinstance(a, torch.Tensor)
    if was_numpy:
        arr = np.asarray(a)
        if arr.dtype.kind not in "fiu":
            raise InputError(f"a: expected a real numeric array, got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr)
        t = torch.from_numpy(arr if arr.flags.writeable else arr.copy())  # torch warns on read-only memory
    else:
        t = a.detach()
        if t.is_complex() or t.dtype == torch.bool:
            raise InputError(f"a: expected a real numeric tensor, got dtype {t.dtype}")
    if t.dim() < 2 or t.shape[-1] != t.shape[-2]:
        raise InputError(f"a: expected shape (..., n, n), got {tuple(t.shape)}")
    if t.shape[-1] != n:
        raise InputError(f"a: the region is for {n}x{n} matrices, got {t.shape[-2]}x{t.shape[-1]}")
    if t.dtype == torch.float64:
        w = torch.float64
    elif t.is_floating_point() and t.dtype != torch.float64:
        w = torch.float32  # float16 / bfloat16 are widened: products in them cannot reach useful bounds
    else:
        w = torch.float64
    batch = tuple(t.shape[:-2])
    return t.to(w).reshape(math.prod(batch), n, n).contiguous(), batch, was_numpy


def _as_dtype(value, default: torch.dtype) -> torch.dtype:
    if value is None:
        return default
    if isinstance(value, torch.dtype) and value in _DTYPES.values():
        return value
    if isinstance(value, (str, torch.dtype)):
        name = str(value).removeprefix("torch.")
    else:
        try:
            name = np.dtype(value).name
        except TypeError:
            name = None
    if name not in _DTYPES:
        raise InputError(f"residual_dtype: expected float32 or float64, got {value!r}")
    return _DTYPES[name]


def _message(count, tol, fallback, singular, nonfinite, outside, bound) -> str:
    """One line: how many were certified on the fast path, why the others took the exact path, what is uncertified."""
    nf, ns, nn, no = (int(m.sum()) for m in (fallback, singular, nonfinite, outside))
    unc = int((fallback & ~nonfinite & ~outside).sum())
    over = int((torch.isfinite(bound) & ~(bound <= tol)).sum())
    text = f"{count - nf} of {count} matrices certified by Newton-Schulz (bound <= {tol:g})"
    if nf:
        why = [
            f"{k} {w}"
            for k, w in [(no, "outside the region"), (unc, "not certified by Newton-Schulz"), (nn, "with NaN/Inf")]
            if k
        ]
        text += f"; {nf} on the exact path ({', '.join(why)})"
    if ns + nn:
        text += f"; {ns + nn} not inverted (NaN: {ns} singular, {nn} with NaN/Inf)"
    if over:
        text += f"; {over} inverted with bound > tol"
    return text


# ---------------------------------------------------------------------------------------------------------------------
# Benchmark


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
    if threads is not None:
        old = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return benchmark_certified(
                count,
                tol,
                residual_dtype=residual_dtype,
                init=init,
                device=device,
                repeats=repeats,
                warmup=warmup,
                seed=seed,
                dataset=dataset,
                method=method,
            )
        finally:
            torch.set_num_threads(old)
    box = get_dataset(dataset).region
    dev = torch.device(device)
    a = box.sample(count, generator=torch.Generator().manual_seed(seed)).to(torch.float32).to(dev)
    res = certified_inverse(a, region=box, tol=tol, init=init, residual_dtype=residual_dtype, method=method)
    ref = torch.linalg.inv(a.double())
    err = torch.linalg.matrix_norm(res.inverse.double() - ref) / torch.linalg.matrix_norm(ref)
    b = res.bound

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    def timed(fn):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        return time.perf_counter() - t0

    def run_cert():
        return certified_inverse(a, region=box, tol=tol, init=init, residual_dtype=residual_dtype, method=method)

    run_inv = lambda: torch.linalg.inv(a)  # noqa: E731
    for _ in range(warmup):
        run_cert(), run_inv()
    t_cert, t_inv = [], []
    for _ in range(repeats):
        t_cert.append(timed(run_cert))
        t_inv.append(timed(run_inv))
    med_c, med_i = float(np.median(t_cert)), float(np.median(t_inv))
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
        "residual_dtype": str(_as_dtype(residual_dtype, torch.float32)).removeprefix("torch."),
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "repeats": repeats,
        "warmup": warmup,
        "seed": seed,
        "certified_s_median": med_c,
        "inv_s_median": med_i,
        "certified_s_all": t_cert,
        "inv_s_all": t_inv,
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
    no_fast = _singular_centre(_Geometry.of(reg), torch.float64 if sub.dtype == np.float64 else torch.float32)
    fast = certified_inverse(sub, region=reg, tol=tol, method="exact" if no_fast else "fast", max_steps=AUTO_MAX_STEPS)
    ok = ~fast.fallback
    ref = torch.linalg.inv_ex(torch.from_numpy(sub.astype(np.float64)))[0].numpy()  # singular ones: bound inf
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.linalg.norm(fast.inverse - ref, axis=(-2, -1)) / np.linalg.norm(ref, axis=(-2, -1))
    t = torch.from_numpy(sub)

    # Timed by hand, not with bench.time_fn: its inference mode would make certified_inverse's cached work buffers
    # inference tensors, unusable by later calls outside it.
    def median_time(fn, warm: bool = True) -> float:
        if warm:
            fn()
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t0)
        return float(np.median(runs))

    auto = certified_inverse(sub, region=reg, tol=tol, method="auto")  # its route; and the warm-up of the timing
    t_auto = median_time(lambda: certified_inverse(sub, region=reg, tol=tol, method="auto"), warm=False)
    t_torch = median_time(lambda: torch.linalg.inv_ex(t))  # inv_ex: torch.linalg.inv raises on a singular matrix
    try:
        t_numpy = median_time(lambda: np.linalg.inv(sub))
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
