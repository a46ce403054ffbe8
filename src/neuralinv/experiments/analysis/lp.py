"""LP bounds of |net - Taylor-1| over a pattern's polytope (SciPy's HiGHS), and what the LP domain is."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from neuralinv.experiments.analysis.geometry import Geometry
from neuralinv.regions.shapes import Box, Region

# HiGHS's default tolerances (1e-7) are loose next to bounds of order 1e-5; the objective is also normalised.
HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}


def lp_bound(geo: Geometry, on: list[np.ndarray], k: np.ndarray, j: np.ndarray) -> tuple[np.ndarray | None, str]:
    """max over the pattern's polytope of |(K - K_lin)_m + ((J - J_lin)_m * c) u| per output entry m: (n^2,), status."""
    pieces, _, _ = geo.affine(on)
    a_ub, b_ub, feasible = geo.constraints(pieces, on)
    if not feasible:
        return None, "empty"
    d = geo.n**2
    dk, dj = k - geo.k_lin, (j - geo.j_lin) * geo.c
    a_ub, b_ub = (a_ub, b_ub) if len(a_ub) else (None, None)

    def solve(objective):
        """The LP min objective . u over the polytope (u in [-1, 1]^(n^2))."""
        return linprog(objective, A_ub=a_ub, b_ub=b_ub, bounds=(-1.0, 1.0), method="highs", options=HIGHS_OPTIONS)

    if not np.any(dj):  # every entry's difference is constant: only feasibility is in question
        res = solve(np.zeros(d))
        return (np.abs(dk), "bounded") if res.status == 0 else (None, "empty" if res.status == 2 else "lp failed")
    bound = np.empty(d)
    for m in range(d):
        # Normalise the objective so HiGHS's absolute tolerances act relative to the bound's size.
        scale = max(np.abs(dj[m]).max(), abs(dk[m]), 1e-300)
        best = 0.0
        for sign in (1.0, -1.0):
            res = solve(-sign * dj[m] / scale)
            if res.status == 2:
                return None, "empty"
            if res.status != 0:
                return None, "lp failed"
            best = max(best, sign * dk[m] + scale * -res.fun)
        bound[m] = best
    return bound, "bounded"


def lp_note(region: Region) -> str | None:
    """What the LP domain is, when it is not the region itself (None for a box)."""
    if isinstance(region, Box):
        return None
    article = "an" if region.shape == "equilibrated" else "a"
    return (
        f"LP over the bounding box of {article} {region.shape} region: bounds are valid, possibly loose "
        f"(the box is larger than the region)"
    )
