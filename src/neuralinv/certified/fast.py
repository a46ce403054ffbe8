"""The fast path of the certified inverse around one centre: a Taylor guess, Newton-Schulz steps and a rigorous bound
on each answer's error, computed from the same products.

Method. Write A = A0 + E for the region's centre A0 nearest to A (as stored in the working dtype; for an equilibrated
region everything below happens to B = D A D, D of powers of two, and is carried back exactly, see
neuralinv.certified.geometry) and fix C ~= A0^-1. Every approximate inverse is kept in the form Y = (I + D) C with
a small per-matrix D, whose exact right residual is

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

Nothing here needs A to lie in the region: the bound is a posteriori. What this path does not certify (outside a box
region, NaN/Inf, a residual that stops shrinking, a bound above tol) is left to the exact path.
"""

from __future__ import annotations

import math

import torch

from neuralinv.certified.plan import Plan, as_torch, flat, fro, host
from neuralinv.linalg.exact import Scratch
from neuralinv.linalg.rounding import SAFE, fro_bound
from neuralinv.nets.mlp import Network

# Matrix entries per chunk (2048 16x16 matrices): a chunk's work tensors (2 MB each in float32) stay in cache; measured
# fastest on the 16x16 box among 512..32768 matrices per chunk.
CHUNK_ENTRIES = 1 << 19
# Newton-Schulz goes on only while ||S||_F shrinks, and not at all from above this (hopeless within a few steps).
RESIDUAL_CAP = 16.0


class Buffers:
    """The fast path's (b, n, n) work tensors, from a Scratch (at most 12 of CHUNK_ENTRIES entries per dtype, 24 MB in
    float32, since the fast path runs chunk by chunk)."""

    def __init__(self, scratch: Scratch, n: int, device):
        self.scratch, self.n, self.device = scratch, n, device

    def __call__(self, name: str, b: int, dtype: torch.dtype, *avoid: torch.Tensor) -> torch.Tensor:
        """A (b, n, n) work tensor; with avoid, one that shares memory with none of those tensors."""
        return self.scratch.get(name, (b, self.n, self.n), dtype, self.device, *avoid)


def _init(p: Plan, a: torch.Tensor, e: torch.Tensor, emax, init, buf: Buffers):
    """Initial D, residual estimate S and scalars (B,) s >= ||S||_F, g >= ||eps - S||_2, d >= ||D||_F, r0."""
    b, n = a.shape[0], p.n
    s0 = torch.baddbmm(p.rc_r.expand(b, n, n), p.c_r.expand(b, n, n), e, alpha=-1, out=buf("n", b, p.r))
    if p.r != p.w:
        s0 = buf("s0", b, p.w).copy_(s0)
    s0n = fro(s0)
    g0 = p.s0_err + p.s0_per_e * emax + p.cast_s * (1 + p.u_w) * s0n
    r0 = s0n + g0
    if isinstance(init, Network):
        x_net = init(a).to(p.w)
        dd = (x_net.reshape(-1, n) @ p.a0_w).view(x_net.shape)
        dd.diagonal(dim1=-2, dim2=-1).sub_(1)
        dn = fro(dd)
        # S = fl(fl(S0 - D) + D S0): eps - S = (I + D) G0 - (the two roundings).
        v = torch.sub(s0, dd)
        vn = (s0n + dn) * (1 + p.u_w)
        s = torch.baddbmm(v, dd, s0)
        g = p.u_w * vn + p.gam_n1 * (vn + dn * s0n) + p.tiny_w + (1 + dn) * g0
        return dd, s, fro(s), g, dn, r0
    s1 = torch.bmm(s0, s0, out=buf("s1", b, p.w))
    s1n = fro(s1)
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
    return dd, s, fro(s), g, dn, r0


class _Answers:
    """Where the fast path's answers for one chunk go: X, bound and steps of the certified, and their mask; idx maps the
    active matrices to their positions in the chunk (None: all of them, so no gathers in the common case)."""

    def __init__(self, p: Plan, fused: bool, x_dst, b_dst, k_dst):
        self.p, self.fused, self.x_dst, self.b_dst, self.k_dst = p, fused, x_dst, b_dst, k_dst
        self.ok = torch.zeros(x_dst.shape[0], dtype=torch.bool, device=x_dst.device)
        self.idx = None
        self.k = 0  # Newton-Schulz steps taken so far

    def finish(self, mask, count: int, d, fin) -> None:
        """The answers X from D for the active matrices in mask (count of them), with bounds fin."""
        sel = None if count == len(mask) else mask
        d_sel, fin = (d, fin) if sel is None else (d[sel], fin[sel])
        idx, n = self.idx, self.p.n
        where = (slice(None) if sel is None else flat(sel)) if idx is None else (idx if sel is None else idx[sel])
        whole = isinstance(where, slice)
        where, fin = (
            (where, as_torch(fin, self.b_dst)) if whole else (as_torch(where, self.b_dst), as_torch(fin, self.b_dst))
        )
        x = self.x_dst if whole else torch.empty_like(d_sel)
        if self.fused:  # X = fl(fl(I + D) C); D is not needed afterwards
            d_sel.diagonal(dim1=-2, dim2=-1).add_(1)
            torch.mm(d_sel.reshape(-1, n), self.p.c_w, out=x.view(-1, n))
        else:  # X = fl(C + fl(D C))
            torch.mm(d_sel.reshape(-1, n), self.p.c_w, out=x.view(-1, n))
            x.add_(self.p.c_w)
        if not whole:
            self.x_dst[where] = x
        self.b_dst[where], self.k_dst[where], self.ok[where] = fin, self.k, True

    def keep(self, state: dict, mask) -> dict:
        """Drop from the active set (and from the per-matrix state) every matrix not in mask."""
        self.idx = flat(mask) if self.idx is None else self.idx[mask]
        return {name: v[mask] for name, v in state.items()}


def _verdicts(p: Plan, st: dict, fused: bool, tol: float, can_step: bool):
    """(now, nxt, cont, fin_now, fin_next): certified as they are, certified after one more step, worth a step that
    will not yet certify; the bounds now and after that step (which needs no new product)."""
    sn, g, r0 = st["sn"], st["g"], st["r0"]
    fin_now = p.final(sn + g, st["dn"], r0, fused)
    fin_next = p.final(sn * sn + (1 + sn) * g + st["f"] * (1 + r0), st["dn1"], r0, fused)
    now = fin_now <= tol
    # Go on while the residual estimate shrinks: its Frobenius norm may start above 1 (the bound after a step,
    # from s^2, is then no use) and still fall fast, since eps_k = eps_0^(2^k) shrinks with eps_0's spectral
    # radius. A residual that grows, or starts above RESIDUAL_CAP, is left to the exact path.
    can = (~now) & (sn < st["prev"]) & (sn < RESIDUAL_CAP) if can_step else now & ~now
    nxt = can & (fin_next <= tol)
    return now, nxt, can & ~nxt, fin_now, fin_next


def _fast(p: Plan, a, e, emax, x_dst, b_dst, k_dst, *, tol: float, init, max_steps: int, buf: Buffers):
    """Certify the in-region matrices a (B, n, n) (w), E-hat e (r), writing X, bound and steps into the destinations.

    Returns the mask (B,) of the matrices certified (the others are left for the exact path).
    """
    fused = p.fuse(tol)
    out = _Answers(p, fused, x_dst, b_dst, k_dst)
    d, s, sn, g, dn, r0 = _init(p, a, e, emax, init, buf)
    # prev: ||S||_F one step earlier (a matrix whose residual stops shrinking is dropped)
    st = {"d": d, "s": s, "sn": sn, "prev": sn * 0 + math.inf, "g": g, "dn": dn, "r0": r0}
    while True:
        st["f"], st["dn1"] = p.step_error(st["sn"], st["dn"], fused)
        now, nxt, cont, fin_now, fin_next = _verdicts(p, st, fused, tol, out.k < max_steps)
        n_now, n_nxt, n_cont = int(now.sum()), int(nxt.sum()), int(cont.sum())
        if n_now:
            out.finish(now, n_now, st["d"], fin_now)
        if not (n_nxt or n_cont):
            return out.ok
        step = nxt | cont
        if n_nxt + n_cont < len(step):  # drop the finished and the failed from the active set
            st = out.keep(st, step)
            fin_next, nxt, cont = fin_next[step], nxt[step], cont[step]
        # Newton-Schulz: D <- D + S + S D (see Plan.step_error for the two forms and their rounding).
        d, s = st["d"], st["s"]
        work = buf("t", d.shape[0], p.w, d, s)
        st["d"] = torch.add(d, s, out=work).baddbmm_(s, d) if fused else torch.bmm(s, d, out=work).add_(s).add_(d)
        out.k += 1
        if n_nxt:
            out.finish(nxt, n_nxt, st["d"], fin_next)
        if not n_cont:
            return out.ok
        del st["dn"]  # replaced by dn1 below
        if n_cont < len(cont):
            st = out.keep(st, cont)
        sn = st["sn"]
        s_new = torch.bmm(st["s"], st["s"])
        st["g"] = (1 + sn) * st["g"] + st["f"] * (1 + st["r0"]) + p.gam_n * sn * sn + p.tiny_w
        st.update(s=s_new, prev=sn, sn=fro(s_new), dn=st.pop("dn1"))


def _lane_products(p: Plan, t, x, chunk: int, buf: Buffers):
    """The lane's products over t (B, n, n) chunk by chunk, writing X = fl(M C) into x; returns the computed norms
    (2, B) of S0 and S1 and max |E_ij| (B,) float64 (inf for chunks not entirely inside the box, or with NaN/Inf)."""
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
    return norms, emax


def _lane(p: Plan, t, x, bound, steps, *, tol: float, chunk: int, buf: Buffers):
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
    norms, emax = _lane_products(p, t, x, chunk, buf)
    s0n, s1n = (fro_bound(host(v.double()), p.n, p.w) for v in norms)
    emax = host(emax)
    g0 = p.s0_err + p.rc_norm + p.s0_per_e * emax
    r0 = s0n + g0
    h0 = p.gam_n * s0n * s0n + p.tiny_w
    u = p.u_w
    q = (1 + u) * (1 + s0n)
    f_m = p.gam_n1 * q * (1 + s1n) + p.tiny_w
    rho = s1n * s1n + (1 + s1n) * h0 + (1 + s1n) * (1 + s0n) * g0 + ((1 + s1n) * u * (1 + s0n) + f_m) * (1 + r0)
    out = (rho + (p.gam_p * (q * (1 + s1n) + f_m) + p.tiny_p) * (1 + r0)) * SAFE
    # Routing only (the general path bounds what it returns itself): might taylor1 alone certify it?
    taylor1 = p.final(s1n + (1 + s0n) * g0 + h0, s0n, r0, True) <= tol
    redo = ~((out <= tol) & (rho < 1)) | taylor1  # emax inf (chunk not inside) gives out NaN or inf: redone
    bound.copy_(as_torch(out, bound))
    steps.fill_(1)
    return as_torch(flat(redo), t)


def _chunk(p: Plan, a, x, bound, steps, *, tol, init, max_steps, buf: Buffers):
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
    emax = host(torch.maximum(e.amax(dim=(-2, -1)), e.amin(dim=(-2, -1)).neg_()).double())
    inside = as_torch(emax <= p.radius + p.slack, a)
    kw = dict(tol=tol, init=init, max_steps=max_steps, buf=buf)
    if bool(inside.all()):
        return _fast(p, a, e, emax, x, bound, steps, **kw), inside
    good = torch.zeros(b, dtype=torch.bool, device=a.device)
    if bool(inside.any()):
        sel = flat(inside)
        xs, bs, ks = torch.empty_like(a[sel]), bound[sel], steps[sel]
        good[sel] = _fast(p, a[sel], e[sel], emax[host(sel)], xs, bs, ks, **kw)
        x[sel], bound[sel], steps[sel] = xs, bs, ks
    return good, inside


def fast_batch(p: Plan, t, x, bound, steps, outside, *, tol, init, max_steps, lane: bool, buf) -> torch.Tensor:
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
