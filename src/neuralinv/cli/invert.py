"""neuralinv invert: certified inverses of a batch of matrices from a box region."""

from __future__ import annotations

import sys
import time

import numpy as np

from neuralinv.certified.solve import INITS, METHODS, certified_inverse
from neuralinv.cli.options import add_region, parse_region
from neuralinv.cli.output import print_json, print_table
from neuralinv.common.errors import InputError
from neuralinv.common.files import atomic_path, read_matrices
from neuralinv.nets import checkpoint

QUANTILES = {"min": 0.0, "median": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0}


def register(sub) -> None:
    """Add the invert command and its flags to the subparsers sub."""
    p = sub.add_parser(
        "invert",
        help="certified fast inverses of matrices from a region, never slower than the exact path",
        description="Invert the matrices of IN.npy, shape (..., n, n), float32, float64 or integer. Each gets an "
        "initial guess (Taylor around the nearest centre of the region, or a trained network), "
        "Newton-Schulz steps, and a rigorous bound on its relative error ||X - A^-1||_F / ||A^-1||_F, "
        "floating-point rounding included. With --method auto (the default) a probe of the batch decides "
        "whether that fast path wins here; matrices it does not certify within --tol, and every matrix "
        "when it does not win, take the fastest exact inverse measured on this machine (LU or Cholesky, "
        "torch or numpy, float32 or float64), with its own bound; one that is singular there is not "
        "inverted (NaN). Writes OUT.npy atomically, in the input's dtype (integers give float64). Exit 0 "
        "when every bound is within --tol, 3 when some are not (see the summary and --bounds), 2 on bad "
        "input.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    add_region(src, "the region the matrices come from (e.g. 16x16, or a file from `neuralinv region fit`)")
    src.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="a trained network (.safetensors): its box is the region, its output the initial guess",
    )
    p.add_argument("input", metavar="IN.npy", help="the matrices, shape (..., n, n)")
    p.add_argument("--out", required=True, metavar="OUT.npy", help="where to write the inverses")
    p.add_argument("--tol", type=float, default=1e-4, help="relative error tolerance, in (0, 1) (default 1e-4)")
    p.add_argument(
        "--method",
        choices=METHODS,
        default="auto",
        help="auto: the fast path only where it certifies and wins (default); fast: always try it first; "
        "exact: the fastest exact inverse only",
    )
    p.add_argument(
        "--spd",
        action="store_true",
        help="declare the matrices symmetric positive definite (the exact path may use Cholesky; a "
        "region of symmetric perturbations that certifies positive definiteness implies it)",
    )
    p.add_argument(
        "--init", choices=INITS, help="with --region: the Taylor order of the initial guess (default taylor1)"
    )
    p.add_argument(
        "--residual-dtype",
        choices=["float32", "float64"],
        help="precision of the first-order residual (default: the input's); float64 for tighter bounds "
        "on float32 input",
    )
    p.add_argument(
        "--max-steps",
        type=int,
        metavar="K",
        help="at most K Newton-Schulz steps (default: 3 with --method fast, chosen by the probe with auto)",
    )
    p.add_argument("--bounds", metavar="FILE.npy", help="also write the per-matrix bounds, float64, shape (...)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=run)


def save_array(path: str, arr: np.ndarray) -> None:
    """Write arr as .npy atomically (a reader never sees half a file)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, arr)


def summarize(res, a: np.ndarray, seconds: float) -> dict:
    """The JSON summary of a CertifiedInverse: counts, bounds, steps, the route and the time taken."""
    count = int(res.bound.size)
    finite = res.bound[np.isfinite(res.bound)]
    steps = np.bincount(res.steps[~res.fallback].ravel()) if count else np.zeros(0, int)
    return {
        "count": count,
        "n": int(a.shape[-1]),
        "dtype": str(res.inverse.dtype),
        "tol": res.tol,
        "certified_by_newton_schulz": int((~res.fallback).sum()),
        "steps": {str(k): int(v) for k, v in enumerate(steps) if v},
        "exact_path": int(res.fallback.sum()),
        "outside_region": int(res.outside.sum()),
        "not_certified_by_newton_schulz": int((res.fallback & ~res.outside).sum()),
        "singular": int(res.singular.sum()),
        "within_tol": int((res.bound <= res.tol).sum()),
        "bound_quantiles": {k: float(np.quantile(finite, q)) for k, q in QUANTILES.items()} if finite.size else {},
        "seconds": seconds,
        "matrices_per_s": count / seconds if seconds > 0 else None,
        "message": res.message,
    }


def print_text(info: dict, args, n: int) -> None:
    """The human-readable summary of an invert run: the route, a table of counts and bounds, the time."""
    route, seconds = info["route"], info["seconds"]
    print(
        f"{info['count']} {info['dtype']} {n}x{n} matrices; {info['source']}; tol {args.tol:g}; "
        f"residual {info['residual_dtype']}"
    )
    print(f"method {args.method}: {route['chosen']} path ({route['why']})")
    q = info["bound_quantiles"]
    rows = [
        [
            "certified by Newton-Schulz",
            info["certified_by_newton_schulz"],
            ", ".join(f"after {k} step{'' if k == '1' else 's'}: {v}" for k, v in info["steps"].items()) or "-",
        ],
        [
            "exact path",
            info["exact_path"],
            (
                f"the whole batch ({route['exact_path']}), singular (NaN): {info['singular']}"
                if route["chosen"] == "exact" and not info["certified_by_newton_schulz"]
                else f"outside the region: {info['outside_region']}, not certified: "
                f"{info['not_certified_by_newton_schulz']}, singular (NaN): {info['singular']}"
            ),
        ],
        ["within tol", info["within_tol"], f"of {info['count']}"],
        ["bound (relative, Frobenius)", "", "  ".join(f"{k} {v:.3g}" for k, v in q.items()) or "-"],
        [
            "time",
            f"{seconds:.3g} s",
            (f"{info['matrices_per_s']:,.0f} matrices/s" if info["matrices_per_s"] else "-")
            + f"; the exact path ({route['exact_path']}) alone: about "
            f"{route['exact_alone_s_estimate']:.3g} s (measured per matrix on this machine)",
        ],
    ]
    print_table(["", "count", "detail"], rows)
    print(f"wrote {args.out}" + (f" and {args.bounds}" if args.bounds else ""))


def run(args) -> int:
    """`neuralinv invert`: certified inverses of a file of matrices, written with their bounds; exit 0."""
    if not (np.isfinite(args.tol) and 0 < args.tol < 1):
        raise InputError(f"--tol: expected a number in (0, 1), got {args.tol}")
    if args.max_steps is not None and args.max_steps < 0:
        raise InputError(f"--max-steps: expected an integer >= 0, got {args.max_steps}")
    if args.checkpoint is not None:
        if args.init is not None:
            raise InputError("--init goes with --region; with --checkpoint the network is the initial guess")
        init = checkpoint.load_network(args.checkpoint)
        box, source = init.region, f"checkpoint {args.checkpoint}"
    else:
        box, init = parse_region(args.region), args.init or "taylor1"
        source = f"region {args.region} ({box.describe()}), {init}"
    a = read_matrices(args.input, name=args.input, n=box.n, keep_dtype=True, flat=False)
    start = time.perf_counter()
    res = certified_inverse(
        a,
        region=box,
        tol=args.tol,
        init=init,
        max_steps=args.max_steps,
        residual_dtype=args.residual_dtype,
        method=args.method,
        spd=True if args.spd else None,
    )
    seconds = time.perf_counter() - start
    save_array(args.out, res.inverse)
    if args.bounds:
        save_array(args.bounds, res.bound)
    info = {
        "input": args.input,
        "output": args.out,
        "bounds_file": args.bounds,
        "source": source,
        "region": box.to_json(),
        "residual_dtype": res.route.get("residual_dtype", str(res.inverse.dtype)),
        "max_steps": res.route.get("max_steps"),
        "route": res.route,
        **summarize(res, a, seconds),
    }
    if args.json:
        print_json(info)
    else:
        print_text(info, args, box.n)
    if info["within_tol"] < info["count"]:
        print(
            f"neuralinv invert: warning: {info['count'] - info['within_tol']} matrices without a bound within tol "
            f"({res.message})",
            file=sys.stderr,
        )
        return 3
    return 0
