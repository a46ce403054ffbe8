"""CertifiedInverter: the certified inverse for one region and one set of settings, as an object that owns its state
(the machine's calibration, the decisions of auto, the plans around each centre and the work buffers), like
scipy's lu_factor / lu_solve or a lineax solver. Calling it routes a batch (decides which path) and executes it.

Auto: a probe of the batch and costs measured on this machine decide, per batch, which path is cheaper; the exact
path always remains available and correct.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from neuralinv.certified.cost import (
    AUTO_MAX_STEPS,
    PROBE_MIN,
    PROBE_SHARE,
    REPROBE_EVERY,
    VERIFY_ABOVE,
    Calibration,
    decide,
    fast_cost,
    steps_worth_trying,
)
from neuralinv.certified.fallback import exact_rest
from neuralinv.certified.fast import Buffers
from neuralinv.certified.geometry import (
    Geometry,
    fast_region,
    float32_residual_suffices,
    residual_dtype,
    residual_radius,
    singular_centre,
)
from neuralinv.certified.inputs import as_dtype, as_tensor, check_settings, resolve
from neuralinv.certified.plan import Plan, ieee_matmul
from neuralinv.certified.result import FLAGS, CertifiedInverse, package
from neuralinv.common.errors import InputError
from neuralinv.common.timing import time_fn
from neuralinv.linalg.exact import Scratch
from neuralinv.nets.mlp import Network

MAX_DECISIONS = 64  # auto's remembered decisions per inverter (one per dtype, residual dtype, device, step cap)
_WHOLE = slice(None)  # the whole batch, in _fast_on


@dataclass
class _Job:
    """One call's matrices t (B, n, n) in the working dtype, its initial guess, and the destinations every path
    writes into: x, bound, steps, the flags (result.FLAGS) and good (certified on the fast path)."""

    t: torch.Tensor
    init: object
    x: torch.Tensor
    bound: torch.Tensor
    steps: torch.Tensor
    flags: dict
    good: torch.Tensor
    buf: Buffers

    @classmethod
    def of(cls, t: torch.Tensor, init, scratch: Scratch) -> "_Job":
        """A job for t with empty destinations (bound inf, steps 0, no flags) and buffers from scratch."""
        bsz, dev = t.shape[0], t.device
        return cls(
            t=t,
            init=init,
            x=torch.empty_like(t),
            bound=torch.full((bsz,), math.inf, dtype=torch.float64, device=dev),
            steps=torch.zeros(bsz, dtype=torch.int64, device=dev),
            flags={k: torch.zeros(bsz, dtype=torch.bool, device=dev) for k in FLAGS},
            good=torch.zeros(bsz, dtype=torch.bool, device=dev),
            buf=Buffers(scratch, t.shape[-1], dev),
        )


@dataclass
class _Run:
    """A routed batch's fast-path run: residual dtype r, at most max_steps steps, the taylor1 lane or not, and the
    auto decision it follows (None: not probed)."""

    r: torch.dtype
    max_steps: int
    lane: bool
    decision: dict | None


class CertifiedInverter:
    """Inverses of matrices from one region, each with a rigorous relative error bound; call it on a batch.

    region: a Region (box, ball, symmetric, union, equilibrated), a region file, a preset name ("16x16", ...), a
        DatasetPreset or a Network (its region); optional when init is a network or a checkpoint.
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
    calibration: the machine's costs (cost.Calibration; None: a new one, measured on first use or read from the
        on-disk timing cache); pass a shared one to measure once for several inverters, or fixed costs to mock one.
    scratch: the work buffers (linalg.exact.Scratch; None: a new one); safe to share, each thread has its own.

    The inverter remembers auto's probe decisions (REPROBE_EVERY calls each) and the plans around its centres; it
    is safe to call from several threads.
    """

    def __init__(
        self,
        region=None,
        *,
        tol: float = 1e-4,
        method: str = "auto",
        init="taylor1",
        max_steps: int | None = None,
        residual_dtype=None,
        spd: bool | None = None,
        calibration: Calibration | None = None,
        scratch: Scratch | None = None,
    ):
        check_settings(tol, method, max_steps)
        self.region, self.init = resolve(region, init)
        self.geometry = Geometry.of(self.region)
        if isinstance(self.init, Network) and (self.geometry.scale is not None or len(self.geometry.centers) > 1):
            raise InputError("init: a network's guess needs a single-centre region without equilibration")
        self.tol, self.method, self.max_steps = tol, method, max_steps
        self.residual_dtype = None if residual_dtype is None else as_dtype(residual_dtype, None)
        # Cholesky is worth trying wherever the region's matrices are symmetric (certified definite or not): a matrix
        # that is not positive definite fails it, or gets a large bound, and is redone by LU.
        self.spd = self.geometry.symmetric if spd is None else bool(spd)
        self.calibration = calibration if calibration is not None else Calibration()
        self.scratch = scratch if scratch is not None else Scratch()
        self._plans: dict = {}
        self._decisions: dict = {}

    def __call__(self, a) -> CertifiedInverse:
        """The certified inverses of a (..., n, n): NumPy array or torch tensor (any device); float32 stays float32,
        float64 stays float64, integers become float64. Returns a CertifiedInverse; its route says what was chosen
        and why. Matrices not certified go to the fastest exact path measured on this machine, with a bound."""
        n = self.region.n
        t, shape, was_numpy = as_tensor(a, n)
        init = self.init.to(t.device) if isinstance(self.init, Network) else self.init
        job = _Job.of(t, init, self.scratch)
        route = {"method": self.method, "tol": float(self.tol)}
        with torch.no_grad(), ieee_matmul():
            choice = self.calibration.exact_choice(n, t.dtype, t.device, spd=self.spd)
            route.update(
                exact_path=f"{choice['method']} ({choice['dtype']})", exact_per_matrix_s=choice["per_matrix_s"]
            )
            run = self._route(job, route, choice)
            if run is not None:
                self._execute(job, run, route, choice)
            x, bound = exact_rest(
                t,
                job.x,
                job.bound,
                job.steps,
                job.flags,
                job.good,
                choice=choice,
                tol=self.tol,
                float32_residual=float32_residual_suffices(self.geometry, t.dtype, self.tol),
                scratch=self.scratch,
            )
        route["exact_alone_s_estimate"] = choice["per_matrix_s"] * t.shape[0]
        return package(x, bound, job.steps, job.flags, shape=shape, n=n, was_numpy=was_numpy, tol=self.tol, route=route)

    # -----------------------------------------------------------------------------------------------------------------
    # Route: which path a batch takes

    def _route(self, job: _Job, route: dict, choice: dict) -> _Run | None:
        """Decide the path of a batch, saying why in route: None for the exact path alone, else the fast-path run."""
        w, bsz = job.t.dtype, job.t.shape[0]
        singular = singular_centre(self.geometry, w)
        if singular and self.method == "fast":
            raise InputError(
                f"region: {singular}; the fast path expands around the centre's inverse (use method auto or exact)"
            )
        if self.method == "exact" or not bsz or singular:
            route["chosen"] = "exact"
            route["why"] = "method exact" if self.method == "exact" else singular or "empty batch"
            return None
        r = self.residual_dtype or residual_dtype(
            self.geometry, residual_radius(self.region), self._plan, w, self.tol, job.t.device
        )
        route["residual_dtype"] = str(r).removeprefix("torch.")
        k_run = self.max_steps if self.max_steps is not None else (3 if self.method == "fast" else AUTO_MAX_STEPS)
        if self.method == "fast":
            route["chosen"], route["why"], route["max_steps"] = "fast", "method fast", k_run
            return _Run(r, k_run, True, None)
        return self._route_auto(job, route, choice, r, k_run)

    def _route_auto(self, job: _Job, route: dict, choice: dict, r: torch.dtype, k_run: int) -> _Run | None:
        """Auto: the exact path if no step count can beat it, else the fast path for a batch too small to probe, else
        what a probe (or a remembered one) of the batch finds cheaper."""
        w, bsz = job.t.dtype, job.t.shape[0]
        unit = self.calibration.unit_costs(self.region.n, w, job.t.device)
        c_exact, converted = choice["per_matrix_s"], r != w
        k_cap = steps_worth_trying(c_exact, unit, converted=converted, geo=self.geometry)
        if k_cap < 0:
            ratio = fast_cost(0, unit, converted=converted, geo=self.geometry) / c_exact
            route["chosen"] = "exact"
            route["why"] = (
                "on this machine the exact path beats even a Taylor guess without Newton-Schulz steps "
                f"(estimated {ratio:.2f}x its time per matrix)"
            )
            route["max_steps"] = 0
            return None
        k_run = min(k_run, k_cap)
        if bsz < 2 * PROBE_MIN:
            route["chosen"] = "fast"
            route["why"] = (
                f"a batch of {bsz} is too small to probe: the fast path where it certifies, at most "
                f"{k_run} steps (more would cost more than the exact path)"
            )
            route["max_steps"] = k_run
            return _Run(r, k_run, True, None)
        decision = self._decision(job, route, r, k_run, unit, c_exact)
        route["probe"] = decision["probe"]
        job.good.fill_(False)  # the probe's answers are redone with the rest: whole-batch passes, no gathers
        job.flags["outside"].fill_(False)
        if decision["max_steps"] is None:
            route["chosen"], route["max_steps"] = "exact", k_run
            return None
        route["chosen"], route["max_steps"] = "fast", decision["max_steps"]
        return _Run(r, decision["max_steps"], decision["lane"], decision)

    def _decision(self, job: _Job, route: dict, r, k_run: int, unit: dict, c_exact: float) -> dict:
        """Auto's decision for this batch: a remembered probe of an earlier batch (for REPROBE_EVERY calls), or a new
        probe. A network's guess is never remembered."""
        key = None if isinstance(self.init, Network) else (job.t.dtype, r, str(job.t.device), k_run)
        decision = self._decisions.get(key)
        if decision is None or decision["calls"] >= REPROBE_EVERY:
            decision = self._probe(job, r=r, k_run=k_run, unit=unit, c_exact=c_exact)
            if key is not None:
                self._decisions[key] = decision
                while len(self._decisions) > MAX_DECISIONS:
                    self._decisions.pop(next(iter(self._decisions)))
            route["why"] = decision["why"]
        else:
            decision["calls"] += 1
            route["why"] = f"{decision['why']} (a probe of an earlier batch of this region, remembered)"
        return decision

    def _probe(self, job: _Job, *, r, k_run: int, unit: dict, c_exact: float) -> dict:
        """Run the fast path on one matrix in PROBE_SHARE of the batch (at least PROBE_MIN), at most k_run steps,
        writing their answers; return the decision: {"max_steps" (None: exact), "lane", "why", "probe", "calls"}."""
        bsz = job.t.shape[0]
        stride = max(1, min(PROBE_SHARE, bsz // PROBE_MIN))
        probe = torch.arange(0, bsz, stride, device=job.t.device)
        g = self._fast_on(job, probe, _Run(r, k_run, False, None))
        job.good[probe] = g
        counts = np.bincount(job.steps[probe][g].cpu().numpy(), minlength=k_run + 1)[: k_run + 1]
        k_best, ratio = decide(counts, int((~g).sum()), c_exact, unit, converted=r != job.t.dtype, geo=self.geometry)
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

    # -----------------------------------------------------------------------------------------------------------------
    # Execute: the fast path where routed (the exact path for the rest follows in __call__)

    def _execute(self, job: _Job, run: _Run, route: dict, choice: dict) -> None:
        """Run the fast path over the batch; a close auto choice (estimated >= VERIFY_ABOVE of the exact path's time)
        not yet verified is timed on the first eighth of the batch first."""
        d = run.decision
        verify = (
            d is not None
            and not d.get("verified")
            and job.t.shape[0] >= 4 * PROBE_MIN
            and d["probe"]["estimated_time_vs_exact"] >= VERIFY_ABOVE
        )
        if verify:
            self._verify_then_run(job, run, route, choice)
        else:
            job.good |= self._fast_on(job, _WHOLE, run)

    def _verify_then_run(self, job: _Job, run: _Run, route: dict, choice: dict) -> None:
        """The cost model chose the fast path; time it on the first eighth of the batch (answers kept) against the
        exact path's measured cost, and go on with the rest only if it really is faster here. Only a close call is
        timed: a cold process (fresh buffers, first kernel calls) makes the first timed eighth look slower than it
        is, which must not overturn a clear estimate."""
        m, c_exact, decision = job.t.shape[0] // 8, choice["per_matrix_s"], run.decision
        found = []
        took = time_fn(
            lambda: found.append(self._fast_on(job, slice(0, m), run)),
            device=job.t.device,
            warmup=0,
            repeats=1,
            inference=False,
        )
        g = found[0]
        per = took.median / m + float((~g).float().mean()) * c_exact
        job.good[:m] = g
        decision.update(verified=True, measured_fast_per_matrix_s=per)
        route["measured_fast_vs_exact"] = per / c_exact
        if per >= c_exact:
            decision["max_steps"] = None
            decision["why"] += (
                f"; but measured on {m} matrices the fast path took {per / c_exact:.2f}x the exact path's time"
            )
            route["chosen"], route["why"] = "exact", decision["why"]
        else:
            decision["why"] += f"; measured on {m} matrices: {per / c_exact:.2f}x the exact path's time"
            route["why"] = decision["why"]
            job.good[m:] = self._fast_on(job, slice(m, None), run)

    def _fast_on(self, job: _Job, where, run: _Run) -> torch.Tensor:
        """The fast path on the batch's matrices at where (a slice: written in place; positions: gathered, then
        written back); returns their certified mask."""
        kw = dict(tol=self.tol, init=job.init, max_steps=run.max_steps, r=run.r, lane=run.lane, buf=job.buf)
        outside = job.flags["outside"]
        if where is _WHOLE:  # the tensors themselves, not views of them
            return fast_region(job.t, self.geometry, self._plan, job.x, job.bound, job.steps, outside, **kw)
        if isinstance(where, slice):
            views = (job.x[where], job.bound[where], job.steps[where], outside[where])
            return fast_region(job.t[where], self.geometry, self._plan, *views, **kw)
        xs, bs, ks, os = job.x[where], job.bound[where], job.steps[where], outside[where]
        g = fast_region(job.t[where], self.geometry, self._plan, xs, bs, ks, os, **kw)
        job.x[where], job.bound[where], job.steps[where], outside[where] = xs, bs, ks, os
        return g

    def _plan(self, a0: np.ndarray, radius: float, w: torch.dtype, r: torch.dtype, device) -> Plan:
        """The plan around a centre, built once (an SVD and an inverse: milliseconds) and kept."""
        key = (a0.tobytes(), a0.shape, radius, w, r, str(device))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = Plan.build(a0, radius, w, r, device)
        return plan
