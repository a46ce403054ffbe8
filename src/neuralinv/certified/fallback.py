"""The exact path for every matrix the fast path did not certify: the exact inverse chosen by calibration, with its
own a posteriori bound (neuralinv.linalg.exact). NaN/Inf and singular matrices are not inverted: NaN, bound inf."""

from __future__ import annotations

import math

import torch

from neuralinv.linalg.exact import Scratch, inverse_with_bound


def _exact(t, choice: dict, tol: float, float32_residual: bool, scratch: Scratch):
    """(X, bound, singular) of t by the calibrated exact candidate, in t's dtype."""
    dtype = torch.float64 if choice["dtype"] == "float64" else torch.float32
    return inverse_with_bound(
        t,
        method=choice["method"],
        dtype=dtype,
        out_dtype=t.dtype,
        tol=tol,
        float32_residual=float32_residual,
        scratch=scratch,
    )


def exact_rest(t, x, bound, steps, flags: dict, good, *, choice: dict, tol: float, float32_residual: bool, scratch):
    """The exact path for every matrix not certified (good False); NaN/Inf are not inverted. Returns (x, bound): the
    destinations, or for a batch that goes exact whole, the exact path's own tensors (no copies, no gathers).
    float32_residual: try a float32 residual first for the bounds, redoing in float64 those above tol (see
    exact.inverse_with_bound)."""
    flags["outside"] &= ~good
    if not bool(good.any()):
        # NaN/Inf need no pass of their own: their inverse has a non-finite bound, so they come back singular.
        xe, be, se = _exact(t, choice, tol, float32_residual, scratch)
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
        xf, bf, sf = _exact(part, choice, tol, float32_residual, scratch)
        if bool(fin.all()):
            xe, be, se = xf, bf, sf
        else:
            xe[fin], be[fin], se[fin] = xf, bf, sf
    x[pos], bound[pos], steps[pos] = xe, be, 0
    flags["fallback"][pos], flags["singular"][pos], flags["nonfinite"][pos] = True, se, ~fin
    flags["outside"][pos] &= fin
    return x, bound
