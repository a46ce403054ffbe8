"""The certified inverse: fast approximate inverses of matrices from a region, each with a rigorous error bound, and
the choice ("auto") between that fast path and the exact one.

Modules, in the order a call runs through them: inputs (arguments made uniform), geometry (the region's centres,
equilibration and box test), plan (what is fixed per centre), fast (Taylor guess, Newton-Schulz steps and their
bounds), cost (the auto cost model and the machine's calibration), fallback (the exact path for the rest), result
(CertifiedInverse), inverter (CertifiedInverter: route, then execute) and solve (certified_inverse).

Nothing needs A to lie in the region: every bound is a posteriori. Matrices outside a box region (the one shape
with a membership test this cheap), with NaN/Inf, whose residual stops shrinking, or whose bound stays above tol go
to the exact path: the fastest exact inverse measured on this machine (neuralinv.linalg.exact), with its own
a posteriori bound from a float64 residual. A matrix that is singular there (a zero pivot, an inverse that overflows
the output dtype, or a residual >= 1 so that not even invertibility is proved) is not inverted: NaN, bound inf. So
every returned inverse has a finite bound.
"""
