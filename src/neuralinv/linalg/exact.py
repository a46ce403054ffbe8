"""The exact path of the certified inverse: the fastest batched inverse on this machine, with an a posteriori bound.

Candidates (chosen by measurement, never assumed: which one wins depends on n, the dtype, the CPU and its BLAS):
    lu-float32 / lu-float64        torch.linalg.inv_ex in that dtype
    numpy-float32 / numpy-float64  numpy.linalg.inv (LAPACK gesv per matrix)
    cholesky-float32 / -float64    torch.linalg.cholesky_ex + cholesky_inverse, for symmetric positive definite input
    gauss-jordan-float32 / -64     Gauss-Jordan without pivoting, vectorised across the batch in cache-sized chunks:
                                   n rank-1 updates of whole chunks instead of one LAPACK call per matrix, which is
                                   what costs most for small n. Without pivoting it is stable for symmetric positive
                                   definite matrices, so it is a candidate only for those, like Cholesky; a matrix
                                   whose bound then exceeds tol (or sqrt(eps)) is redone by LU.
A float32 input may be inverted in float64 (on some machines LAPACK's float64 batch is even the faster one) and is
returned in float32. calibrate() times each candidate, its bound included, on matrices of the caller's kind, and the
choice is stored between processes (common.timing_cache), keyed by (n, dtype, device, threads, spd); a caller that
calls it often keeps the answer (neuralinv.certified.cost.Calibration does).

Bound. With X the computed inverse (float64 or float32 values) and A the input, R-hat = fl(I - X A) in float64.
By the standard model, |R-hat - R| <= gamma_{n+1} (I + |X||A|) entrywise (any summation order; forming I - P from
P = fl(X A) adds one more rounding, inside gamma_{n+1}), and || |X||A| ||_F <= ||X||_F ||A||_F, so
||R||_2 <= ||R||_F <= rho = ||R-hat||_F + gamma_{n+1} (sqrt(n) + ||X||_F ||A||_F), each computed norm widened by its
own rounding. X - A^-1 = -R A^-1 gives ||X - A^-1||_F / ||A^-1||_F <= rho, and
rho < 1 proves A invertible. Rounding X to the output dtype adds u_out (1 + rho). A matrix whose factorisation fails,
whose inverse is not finite, or with rho >= 1 is reported singular: NaN, bound inf. A Cholesky answer for a matrix
that is not symmetric positive definite fails or gets a large bound; such matrices are redone by LU.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import torch

from neuralinv.common.timing import time_fn
from neuralinv.common.timing_cache import remember_timing, remembered_timing
from neuralinv.linalg.rounding import SAFE, U64, fro_upper, gamma, unit_roundoff

CANDIDATES = ("lu", "numpy", "cholesky", "gauss-jordan")
CALIBRATION_ENTRIES = 1 << 21  # matrix entries per candidate timing (20,971 10x10 matrices): batches of a realistic
# size, since which candidate wins depends on whether the batch fits in cache; measured once per machine
GJ_CHUNK_ENTRIES = 1 << 17  # matrix entries per Gauss-Jordan chunk (512 KB in float32): its n passes stay in cache
CALIBRATION_KIND = "exact-2"  # bumped whenever the candidates change, so that stored choices are measured again


def gauss_jordan(a: torch.Tensor) -> torch.Tensor:
    """Inverses of a (B, n, n) by Gauss-Jordan elimination in place, without pivoting, chunk by chunk. A zero or
    non-finite pivot gives non-finite entries (the caller's bound flags them)."""
    n = a.shape[-1]
    out = a.clone()
    step = max(1, GJ_CHUNK_ENTRIES // (n * n))
    for m in out.split(step):
        for k in range(n):
            # Row k becomes row k / p with its pivot entry 1 / p; every other row i loses c_i times the new row k,
            # its entry in column k starting from 0, so that it ends as -c_i / p.
            c = m[:, :, k].clone()
            c[:, k] = 0
            inv_p = m[:, k, k].reciprocal()
            m[:, :, k] = 0
            m[:, k, k] = 1
            row = m[:, k, :].mul_(inv_p[:, None]).clone()
            m.addcmul_(c[:, :, None], row[:, None, :], value=-1)
    return out


def invert(a: torch.Tensor, method: str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(X, failed) for a (B, n, n): X in dtype, failed (B,) where the factorisation reported a zero pivot."""
    x_in = a if a.dtype == dtype else a.to(dtype)
    if method == "numpy":
        arr = x_in.cpu().numpy()
        try:
            x = torch.from_numpy(np.linalg.inv(arr)).to(a.device)
            return x, torch.zeros(a.shape[0], dtype=torch.bool, device=a.device)
        except np.linalg.LinAlgError:  # one singular matrix fails the whole call: fall back to LU for this batch
            method = "lu"
    if method == "cholesky":
        low, info = torch.linalg.cholesky_ex(x_in)
        return torch.cholesky_inverse(low), info != 0
    if method == "gauss-jordan":
        return gauss_jordan(x_in), torch.zeros(a.shape[0], dtype=torch.bool, device=a.device)
    x, info = torch.linalg.inv_ex(x_in)
    return x, info != 0


class Scratch:
    """Reusable work tensors by name, each thread its own: freshly allocated memory costs page faults on first touch,
    comparable in time to the small products that fill it. The caller holds it (a CertifiedInverter keeps one and
    passes it to the exact path); without one, work tensors are allocated afresh."""

    def __init__(self):
        self._local = threading.local()

    def get(self, name: str, shape: tuple, dtype: torch.dtype, device, *avoid: torch.Tensor) -> torch.Tensor:
        """A work tensor of that shape (contents undefined), grown as needed; with avoid, one that shares memory with
        none of those tensors (there are two of each name)."""
        store = self._local.__dict__.get("store")
        if store is None:
            store = self._local.store = {}
        key = (name, dtype, device)
        for _ in range(2):
            entry = store.get(key)
            if entry is None or entry[0] != shape:  # the view of the last shape asked for is kept: no tensor ops
                entry = store[key] = _grown(entry, shape, dtype, device)
            view = entry[1]
            if not avoid or all(view.data_ptr() != x.data_ptr() for x in avoid):
                return view
            key = (name + "'", dtype, device)
        raise AssertionError("work tensors exhausted")


def _grown(entry: tuple | None, shape: tuple, dtype: torch.dtype, device) -> tuple:
    """(shape, a view of that shape, the storage): on entry's storage, or on a new one when that is too small."""
    size = math.prod(shape)
    flat = None if entry is None else entry[2]
    if flat is None or flat.numel() < size:
        flat = torch.empty(size, dtype=dtype, device=device)
    return shape, flat[:size].view(shape), flat


def _work(scratch: Scratch | None, name: str, like: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A work tensor shaped like `like` in dtype: from scratch when given, else fresh."""
    if scratch is None:
        return torch.empty(like.shape, dtype=dtype, device=like.device)
    return scratch.get("exact-" + name, tuple(like.shape), dtype, like.device)


def bound_of(
    a: torch.Tensor,
    x: torch.Tensor,
    out_dtype: torch.dtype,
    *,
    residual: torch.dtype = torch.float64,
    scratch: Scratch | None = None,
) -> torch.Tensor:
    """rho (B,) float64 of the module docstring for inputs a and inverses x (B, n, n), plus the output rounding.
    residual: the precision of R-hat (float32 only for float32 a and x: cheaper, with gamma_{n+1} of float32).
    scratch: where the float64 work tensors come from (None: fresh ones)."""
    n = a.shape[-1]
    if residual == torch.float32 and a.dtype == x.dtype == torch.float32:
        a_r, x_r, u = a, x, unit_roundoff(torch.float32)
    else:
        a_r = a if a.dtype == torch.float64 else _work(scratch, "a", a, torch.float64).copy_(a)
        x_r = x if x.dtype == torch.float64 else _work(scratch, "x", x, torch.float64).copy_(x)
        u = U64
    eye = torch.eye(n, dtype=a_r.dtype, device=a.device).expand_as(a_r)
    res = torch.baddbmm(eye, x_r, a_r, alpha=-1, out=_work(scratch, "r", a, a_r.dtype))  # I - X A in one kernel
    rho = fro_upper(res) + gamma(n + 1, u) * (math.sqrt(n) + fro_upper(x) * fro_upper(a))
    u_out = unit_roundoff(out_dtype) if out_dtype != torch.float64 else 0.0
    return (rho + u_out * (1 + rho)) * SAFE


def inverse_with_bound(
    a: torch.Tensor,
    *,
    method: str,
    dtype: torch.dtype,
    out_dtype: torch.dtype | None = None,
    tol: float | None = None,
    float32_residual: bool = False,
    scratch: Scratch | None = None,
):
    """(X in out_dtype, bound (B,) float64, singular (B,)) for a (B, n, n) by one candidate; see the module docstring.
    Singular matrices (a failed factorisation, a non-finite inverse, or rho >= 1) come back NaN with bound inf.

    scratch: work tensors for the residuals (None: fresh ones).
    tol: Cholesky and Gauss-Jordan answers with a bound above it (default sqrt(eps)) are redone by LU.
    float32_residual (with tol, everything float32): the residual is formed in float32 first (one float32 product)
    and only the matrices whose bound then exceeds tol get the float64 residual; for callers that expect float32's
    rounding, gamma_{n+1} (sqrt(n) + ||X||_F ||A||_F), well below tol."""
    out_dtype = out_dtype or a.dtype
    if a.dtype != dtype:  # one conversion serves the inverse and its residual (float32 values are exact in float64)
        a = a.to(dtype)
    x, failed = invert(a, method, dtype)
    if float32_residual and tol is not None and a.dtype == x.dtype == torch.float32:
        bound = bound_of(a, x, out_dtype, residual=torch.float32, scratch=scratch)
        loose = ~(bound <= tol)
        if bool(loose.any()):
            pos = loose.nonzero().squeeze(1)
            bound[pos] = bound_of(a[pos], x[pos], out_dtype, scratch=scratch)
    else:
        bound = bound_of(a, x, out_dtype, scratch=scratch)
    if method in ("cholesky", "gauss-jordan"):  # not positive definite, or unstable without pivoting: LU instead
        # A stable inverse has a bound near n u ||X|| ||A|| (LU's would be no better); one far above that, and above
        # tol (default sqrt(eps)), lost accuracy without pivoting and is redone by LU.
        n = a.shape[-1]
        stable = 16 * gamma(n, unit_roundoff(dtype)) * fro_upper(x) * fro_upper(a)
        limit = tol if tol is not None else math.sqrt(torch.finfo(dtype).eps)
        redo = failed | ~((bound <= limit) | (bound <= stable))
        if bool(redo.any()):
            pos = redo.nonzero().squeeze(1)
            xr, fr = invert(a[pos], "lu", dtype)
            x[pos], failed[pos], bound[pos] = xr, fr, bound_of(a[pos], xr, out_dtype, scratch=scratch)
    # A non-finite X has a non-finite bound already; a cast to a narrower dtype may overflow, which its norm shows.
    singular = failed | ~(bound < 1)
    if x.dtype != out_dtype:
        x = x.to(out_dtype)
        singular |= ~torch.isfinite(torch.linalg.vector_norm(x, dim=(-2, -1)))
    if bool(singular.any()):
        bound[singular] = math.inf
        x[singular] = math.nan
    return x, bound, singular


def _candidates(w: torch.dtype, spd: bool, device) -> list[tuple[str, torch.dtype]]:
    dtypes = [w] if w == torch.float64 else [w, torch.float64]
    # Cholesky and Gauss-Jordan without pivoting are for symmetric (positive definite) matrices: on others the first
    # fails and the second can lose all accuracy, and either would then be redone by LU.
    methods = [
        m
        for m in CANDIDATES
        if (m not in ("cholesky", "gauss-jordan") or spd) and (m != "numpy" or torch.device(device).type == "cpu")
    ]
    return [(m, d) for m in methods for d in dtypes]


def _synthetic(n: int, count: int, w: torch.dtype, spd: bool, device) -> torch.Tensor:
    """Well-conditioned test matrices of the kind the caller has (SPD or general), for timing only."""
    g = torch.Generator().manual_seed(0)
    m = torch.randn((count, n, n), generator=g, dtype=torch.float64) / math.sqrt(n)
    a = m @ m.mT + torch.eye(n, dtype=torch.float64) if spd else m + 2 * torch.eye(n, dtype=torch.float64)
    return a.to(w).to(device)


def calibrate(n: int, w: torch.dtype, device="cpu", *, spd: bool = False) -> dict:
    """The fastest exact candidate for (n, w, device, spd), timed with its bound on matrices of that kind:
    {"method", "dtype", "per_matrix_s", "timings": {name: per-matrix seconds}, "calibrated_on"}. Read from the
    on-disk timing cache when this machine measured it before; otherwise measured (a second or so) and stored."""
    key = (n, w, str(device), torch.get_num_threads(), bool(spd))
    stored = remembered_timing(CALIBRATION_KIND, key)
    if stored is not None:
        return stored
    count = max(256, CALIBRATION_ENTRIES // (n * n))
    a = _synthetic(n, count, w, spd, device)
    timings = {}
    for method, dtype in _candidates(w, spd, device):
        # The first run warms caches and allocators; the median of the rest is the candidate's time.
        run = time_fn(
            lambda: inverse_with_bound(a, method=method, dtype=dtype, out_dtype=w),
            device=device,
            warmup=1,
            repeats=2,
            inference=False,
        )
        timings[f"{method}-{str(dtype).removeprefix('torch.')}"] = run.median / a.shape[0]
    best = min(timings, key=timings.get)
    method, dtype = best.rsplit("-", 1)
    choice = {
        "method": method,
        "dtype": dtype,
        "per_matrix_s": timings[best],
        "timings": timings,
        "calibrated_on": int(a.shape[0]),
    }
    remember_timing(CALIBRATION_KIND, key, choice)
    return choice
