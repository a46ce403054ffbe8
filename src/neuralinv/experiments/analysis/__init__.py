"""Inside a ReLU MLP: activation patterns over its box (or any region), the affine map in each, and LP bounds against
Taylor-1.

Units. The network sees x = (vec(A) - o_in) / s_in and returns y with vec(A^-1) ~= o_out + s_out y (data.Scaling).
Write A = A0 + E with E = A' the perturbation, |E_ij| <= c_ij (c_ij = c for the paper's boxes; per-entry half-widths
in general), and E = c * u (entrywise) with u in [-1, 1]^(n^2).
A hidden layer's pre-activation z_l is affine in x; fixing which units are on (the activation pattern: bit = z > 0,
one bit per hidden unit, layers in order) makes the whole network affine:

    vec(A^-1)_net = K + J vec(E),   K (n^2,): the map's value at A0,  J (n^2, n^2): J[(k,l), (i,j)] = d(A^-1)_kl / dA_ij

in the user's units (the scaling undone). The linear approximation (Taylor-1, Eq. 10) is K_lin = vec(A0^-1),
J_lin = -kron(A0^-1, A0^-T) (d(A^-1)/dA_ij = -A0^-1 E_ij A0^-1). The "slope gap" of a pattern is max |J - J_lin| and
its "intercept gap" max |K - K_lin|.

The pattern's polytope is {u in [-1, 1]^(n^2): z_l(u) >= 0 for on units, <= 0 for off units}. For each output entry m
the difference to Taylor-1 is affine there, f_m(u) = (K - K_lin)_m + ((J - J_lin)_m * c) u, so max |f_m| over the
polytope is the larger of two linear programs, max f_m and max -f_m (SciPy's HiGHS). It bounds |net - Taylor-1| for
every matrix of the box whose pattern is this one, so it is never below the sampled maximum (up to the LP tolerance).
An infeasible LP means the polytope is empty (a pattern seen only through rounding on a boundary).

Other regions (a ball, symmetric perturbations, a union, an equilibrated region): the samples come from the region and
the LP runs over its bounding box (Region.bounding_box(), which holds it) intersected with the half-spaces. The bounds
stay valid for every matrix of the region, but may be loose: the bounding box is larger than the region.

The analysis runs in float64 on float64 copies of the weights, whatever dtype the checkpoint holds.

The modules, one concept each: result (Pattern, Analysis), geometry (a network's weights and the LP's change of
variables), lp (the linear programs), patterns (analyze: grouping samples by pattern), text (the Markdown and the
report), figure (the PNG) and report (the reproduce report's section). This package re-exports the names that the
CLI, the reproduce report and the tests use.
"""

from neuralinv.experiments.analysis.figure import plot
from neuralinv.experiments.analysis.geometry import Geometry
from neuralinv.experiments.analysis.lp import lp_bound, lp_note
from neuralinv.experiments.analysis.patterns import DEFAULT_SAMPLES, analyze
from neuralinv.experiments.analysis.report import FIGURE_NAME, report_section
from neuralinv.experiments.analysis.result import Analysis, Pattern
from neuralinv.experiments.analysis.text import (
    SUMMARY_HEADERS,
    affine_text,
    document,
    entry_name,
    entry_tables,
    eq13_lines,
    markdown,
    summary_rows,
)

__all__ = [
    "DEFAULT_SAMPLES",
    "FIGURE_NAME",
    "SUMMARY_HEADERS",
    "Analysis",
    "Geometry",
    "Pattern",
    "affine_text",
    "analyze",
    "document",
    "entry_name",
    "entry_tables",
    "eq13_lines",
    "lp_bound",
    "lp_note",
    "markdown",
    "plot",
    "report_section",
    "summary_rows",
]
