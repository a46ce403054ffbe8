"""Why can't: the paper's impossibility results (Section 3) demonstrated on real models.

Near a rank n-1 matrix S the inverse blows up: sigma_min(A) = dist(A, singular set) (2-norm and Frobenius,
Eckart-Young-Mirsky) and ||A^-1||_2 = 1 / sigma_min(A). A network F is bounded on a bounded region, so wherever the
region holds S, ||A^-1 - F(A)|| >= 1 / sigma_min(A) - ||F(A)|| exceeds any E (Thm 3.7). Uniform samples of a box
crossed by the singular hypersurface have P(||A^-1 - F|| > t) ~ C / t: a tail index of 1, so the k-th moments for
k >= 1 are infinite (stronger than the paper's k > n^2 of Thm 3.9); their sample estimates grow without settling.

Each experiment takes any model F: a Network or a callable mapping a float64 tensor (..., n, n) to (..., n, n), and
any neuralinv.regions.shapes.Region (boxes, balls, symmetric perturbations, unions, equilibrated regions). The
modules, one concept each:
- model_error: F's error against the exact inverse, its norms, input checks;
- geometry: the nearest singular matrix, projections into a region, its edge along a line;
- singular: finding a singular matrix in a region (find_singular), widening a region until it holds one;
- counterexamples: a matrix x in a region with ||inv(x) - F(x)|| > E, checked in float64 with numpy (LAPACK), or a
  certificate that the region holds no singular matrix;
- distance: per-sample error against sigma_min(A) (error_vs_distance);
- moments: E_N ||A^-1 - F||^k against the sample size N, and the Hill estimate of the error's tail index;
- plots: the three figures;
- settings: the report's boxes, its budget table (BUDGET_SETTINGS) and its figure names;
- report and section: the reproduce report's "Why can't" section (it trains its own 2-FC and 3-FC nets) and its text.

This package re-exports the names that the CLI, the reproduce report and the tests use.
"""

from neuralinv.experiments.limits.counterexamples import (
    Counterexample,
    counterexample,
    null_directions,
    step_direction,
    verify,
)
from neuralinv.experiments.limits.distance import error_vs_distance
from neuralinv.experiments.limits.geometry import certificate_formula, nearest_singular, project_to_region
from neuralinv.experiments.limits.model_error import NORMS, Model, check_region, check_threshold, error_norm
from neuralinv.experiments.limits.moments import hill_tail_index, moment_growth
from neuralinv.experiments.limits.plots import plot_error_vs_distance, plot_moments, plot_tail
from neuralinv.experiments.limits.report import report_section
from neuralinv.experiments.limits.section import document, section_markdown, verdict
from neuralinv.experiments.limits.settings import BUDGET_SETTINGS, FIGURES, SAFE_BOX, SINGULAR_BOX
from neuralinv.experiments.limits.singular import SingularPoint, find_singular, widen_to_singular

__all__ = [
    "BUDGET_SETTINGS",
    "FIGURES",
    "NORMS",
    "SAFE_BOX",
    "SINGULAR_BOX",
    "Counterexample",
    "Model",
    "SingularPoint",
    "certificate_formula",
    "check_region",
    "check_threshold",
    "counterexample",
    "document",
    "error_norm",
    "error_vs_distance",
    "find_singular",
    "hill_tail_index",
    "moment_growth",
    "nearest_singular",
    "null_directions",
    "plot_error_vs_distance",
    "plot_moments",
    "plot_tail",
    "project_to_region",
    "report_section",
    "section_markdown",
    "step_direction",
    "verdict",
    "verify",
    "widen_to_singular",
]
