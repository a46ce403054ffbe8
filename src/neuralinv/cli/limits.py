"""neuralinv limits: the "why can't" experiments (paper Section 3) on real checkpoints."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from neuralinv.cli.options import add_json, add_quiet, add_region, parse_region
from neuralinv.cli.output import print_json, print_table
from neuralinv.common.errors import InputError
from neuralinv.common.files import write_json
from neuralinv.experiments import limits
from neuralinv.nets import checkpoint
from neuralinv.regions.shapes import Box, Region

DESCRIPTION = """\
Why a network cannot learn A -> A^-1 near singular matrices (Section 3 of the paper), shown on real models.

The inverse grows like 1 / sigma_min(A), where sigma_min(A) is the distance from A to the nearest singular matrix,
while a network (any polynomial-Lipschitz model) stays bounded on a bounded region. So on a region that holds a
singular matrix the network's error has no bound, and its average error over the region is infinite.

experiments:
  counterexample     Find a matrix x in the region whose error ||inv(x) - F(x)|| exceeds a threshold E (Thm 3.7):
                     locate a singular matrix in the region (of any rank, the zero matrix too), step towards it
                     along its zero singular directions, stop once the error passes E, and confirm x independently
                     in float64. If the region provably holds no singular matrix, say so and give the largest
                     ||A^-1|| possible there instead.
  error-vs-distance  Sample the region and show each matrix's error against its distance to the singular set: near
                     it the error follows 1 / sigma_min, whatever the network.
  moments            Estimate the mean of ||A^-1 - F(A)||^k (k = 1, 2, n^2 + 1) on 10^3 ... 10^6 samples. On a
                     region that touches the singular set these estimates keep growing (the moments are infinite,
                     Thms 3.8-3.9); the error's tail index (Hill estimate) is about 1, so every moment of order >= 1
                     is infinite. On a region certified clear of it they settle.
  report             Train small 2-FC and 3-FC nets and run all of the above; write the "Why can't" report section.

The region defaults to the checkpoint's own box, widened until it holds a singular matrix (the output says so).
Give another with --region: a preset name, a region file of any shape (box, ball, symmetric, union, equilibrated;
see `neuralinv region`), or a region's JSON as text such as {"center": [[...]], "radius": c}; or with --radius C
(the checkpoint's centre, half-width C)."""


def register(sub) -> None:
    """The `limits` command and its experiments: counterexample, error-vs-distance, moments and report."""
    p = sub.add_parser(
        "limits",
        help="the why-can't experiments: counterexamples, error vs distance, moments",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    experiments = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    _add_counterexample(experiments)
    _add_error_vs_distance(experiments)
    _add_moments(experiments)
    _add_report(experiments)


def _add_counterexample(experiments) -> None:
    c = experiments.add_parser(
        "counterexample",
        help="a matrix in the region where the model's error exceeds E",
        description="Find x in the region with ||inv(x) - F(x)|| > E (Theorem 3.7), or certify that the region "
        "holds no singular matrix (sigma_min(A0) - n c > 0) and report the largest ||A^-1||_2 possible "
        "there. Every x reported is checked in float64 with numpy: it lies in the region and its error, "
        "less the rounding bound of inv(x), exceeds E. Exit 0 whether or not one is found ('found' in "
        "--json), 2 on bad input.",
    )
    c.add_argument("checkpoint", metavar="CHECKPOINT", help="a .safetensors checkpoint (e.g. from train or construct)")
    c.add_argument("--threshold", "-E", type=float, required=True, metavar="E", help="the error to exceed (> 0)")
    add_region_args(c)
    c.add_argument(
        "--norm",
        choices=limits.NORMS,
        default="fro",
        help="vectorised norm of the error: fro (L2), l1 or linf (default fro)",
    )
    c.add_argument("--save-x", metavar="PATH.npy", help="also write the matrix x found to a .npy file")
    add_json(c, "JSON (with x, the singular matrix and the search path)")
    c.set_defaults(run=run_counterexample)


def _add_error_vs_distance(experiments) -> None:
    e = experiments.add_parser(
        "error-vs-distance",
        help="error against distance to the singular set, per sample",
        description="Sample the region uniformly and compare each matrix's error ||A^-1 - F(A)||_F with its "
        "distance to the singular set, sigma_min(A): the log-log slope near it (about -1 means the "
        "error grows like 1 / sigma_min), the median relative error away from it, and the median error "
        "per decade of sigma_min. Optionally plot it.",
    )
    e.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT", help="one or more checkpoints of the same size")
    add_region_args(e)
    e.add_argument("--samples", type=int, default=20_000, metavar="N", help="samples (default 20000)")
    e.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    e.add_argument("--plot", metavar="PATH.png", help="write the log-log scatter to a PNG")
    add_json(e)
    e.set_defaults(run=run_error_vs_distance)


def _add_moments(experiments) -> None:
    m = experiments.add_parser(
        "moments",
        help="moment estimates against sample size, and the tail index",
        description="Estimate E||A^-1 - F(A)||^k for each order k on nested samples of size 10^3 ... N: the running "
        "mean and the typical value (median over disjoint blocks) of an N-sample estimate, and its "
        "log-log growth rate; then Hill's estimate of the error's tail index alpha. Moments of order "
        "k >= alpha are infinite: their estimates grow like N^(k/alpha - 1) instead of settling.",
    )
    m.add_argument("checkpoint", metavar="CHECKPOINT", help="a .safetensors checkpoint")
    add_region_args(m)
    m.add_argument("--max-samples", type=int, default=1_000_000, metavar="N", help="largest sample (default 10^6)")
    m.add_argument("--orders", type=int, nargs="+", metavar="K", help="moment orders (default 1 2 n^2+1)")
    m.add_argument("--seed", type=int, default=1, help="sampling seed (default 1)")
    m.add_argument("--plot", metavar="PATH.png", help="write the growth plot to a PNG")
    add_json(m)
    m.set_defaults(run=run_moments)


def _add_report(experiments) -> None:
    r = experiments.add_parser(
        "report",
        help="train small nets, run every experiment, write the report section",
        description="Train 2-FC and 3-FC nets on a 2x2 box that the singular set cuts through and a 2-FC net on the "
        "paper's 2x2 (First) box, then run every experiment above. Writes DIR/limits.md (the \"Why "
        "can't\" section), DIR/limits.json (every number) and the figures as PNG. The quick budget takes "
        "well under a minute on two CPU cores.",
    )
    r.add_argument("--out", required=True, metavar="DIR", help="output directory")
    r.add_argument(
        "--budget",
        choices=list(limits.BUDGET_SETTINGS),
        default="quick",
        help="quick: 2000 steps per net; paper: 20000 steps, 3 seeds (default quick)",
    )
    add_quiet(r)
    r.set_defaults(run=run_report)


def add_region_args(p) -> None:
    """--region (a preset, a region file or inline JSON) or --radius (the checkpoint's centre), one at most."""
    group = p.add_mutually_exclusive_group()
    add_region(group, "the region to search (default: the checkpoint's box, widened until it holds a singular matrix)")
    group.add_argument("--radius", type=float, metavar="C", help="the checkpoint's centre with half-width C")


def region_text(region: Region) -> str:
    """'2x2 box, c = 0.08' for a box of one half-width (as before), else the region's own description."""
    if isinstance(region, Box) and region.uniform:
        return f"{region.n}x{region.n} box, c = {region.radius:g}"
    return region.describe()


def resolve_region(args, net) -> tuple[Region, str]:
    """The region named by --region / --radius (checked against the model's size), else the widened default."""
    if args.region is not None:
        box = parse_region(args.region)
        note = f"--region {args.region}"
    elif args.radius is not None:
        box = Box(net.region.center, args.radius)
        note = f"the checkpoint's centre with --radius {args.radius:g}"
    else:
        return limits.widen_to_singular(net.region)
    limits.check_region(net, box)
    return box, note


def matrix_text(a: np.ndarray) -> str:
    """Rows of full-precision floats (repr round-trips), so a printed x can be pasted back and checked."""
    return "[" + ",\n ".join("[" + ", ".join(repr(float(v)) for v in row) + "]" for row in a) + "]"


def run_counterexample(args) -> int:
    """`limits counterexample`: search, then print the result (or its JSON); save x with --save-x."""
    limits.check_threshold(args.threshold)
    net = checkpoint.load_network(args.checkpoint)
    region, note = resolve_region(args, net)
    result = limits.counterexample(net, args.threshold, region=region, norm=args.norm)
    result.region_note = note
    if args.save_x and result.found:
        np.save(args.save_x, result.x)
    if args.json:
        print_json({"checkpoint": str(args.checkpoint), **result.to_json()})
        return 0
    n = region.n
    print(f"region: {region_text(region)}: {note}")
    print(
        f"certified distance to the singular set: {limits.certificate_formula(region)} = "
        f"{region.certified_distance:.6g}"
    )
    if result.certified:
        print(f"no counterexample: {result.message}")
        return 0
    if result.singular is not None:
        print(f"singular matrix in the region ({result.singular_method}):")
        if n <= 4:
            print(matrix_text(result.singular))
        print(f"stepping along the {result.direction}: {len(result.path)} steps")
    print(("found: " if result.found else "not found: ") + result.message)
    if result.x is not None:
        if n <= 4:
            print("x =")
            print(matrix_text(result.x))
        else:
            print(f"x: a {n}x{n} matrix; see --json or --save-x")
        print_table(
            [
                "sigma_min(x)",
                f"||inv(x) - F(x)||_{args.norm}",
                f"||inv(x)||_{args.norm}",
                f"||F(x)||_{args.norm}",
                "threshold E",
            ],
            [[result.sigma_min, result.error, result.inverse_norm, result.model_norm, args.threshold]],
        )
        if args.save_x and result.found:
            print(f"wrote x to {args.save_x}")
    return 0


def load_all(paths: list[str]) -> dict:
    """The checkpoints by file stem (a repeated stem gets a prime), all for one matrix size."""
    nets = {}
    for path in paths:
        name = Path(path).stem
        while name in nets:
            name += "'"
        nets[name] = checkpoint.load_network(path)
    sizes = {net.n for net in nets.values()}
    if len(sizes) > 1:
        raise InputError(f"checkpoints: all must be for the same matrix size, got sizes {sorted(sizes)}")
    return nets


def run_error_vs_distance(args) -> int:
    """`limits error-vs-distance`: the slopes, relative errors and per-decade table of each checkpoint."""
    if args.samples < 100:
        raise InputError(f"--samples: expected at least 100, got {args.samples}")
    nets = load_all(args.checkpoints)
    region, note = resolve_region(args, next(iter(nets.values())))
    result = limits.error_vs_distance(nets, region, samples=args.samples, seed=args.seed)
    summary = {"region_note": note, **result["summary"]}
    if args.plot:
        limits.plot_error_vs_distance(result, args.plot)
    if args.json:
        print_json(summary)
        return 0
    print(f"region: {region_text(region)}: {note}")
    print(
        f"{summary['samples']} samples; smallest sigma_min {summary['sigma_min_min']:.3g}; slope of log ||A^-1|| "
        f"against log sigma_min near the singular set: {summary['inverse_slope']:.3f}"
    )
    for name, m in summary["models"].items():
        print(
            f"\n{name}: slope near the singular set {m['slope_near_singular']:.3f} (-1: error ~ 1/sigma_min); "
            f"median relative error on the far half {m['median_relative_error_far_half']:.3g}; "
            f"max error {m['max_error']:.4g}"
        )
        print_table(
            ["sigma_min from", "to", "samples", "median error", "max error", "median ||A^-1||"],
            [
                [
                    b["sigma_min_from"],
                    b["sigma_min_to"],
                    b["count"],
                    b["median_error"],
                    b["max_error"],
                    b["median_inverse_norm"],
                ]
                for b in m["bins"]
            ],
        )
    if args.plot:
        print(f"\nwrote {args.plot}")
    return 0


def run_moments(args) -> int:
    """`limits moments`: the typical N-sample moments, their growth and the Hill tail index."""
    if args.max_samples < 1000:
        raise InputError(f"--max-samples: expected at least 1000, got {args.max_samples}")
    if args.orders is not None and any(k <= 0 for k in args.orders):
        raise InputError(f"--orders: expected positive integers, got {args.orders}")
    net = checkpoint.load_network(args.checkpoint)
    region, note = resolve_region(args, net)
    result = limits.moment_growth(
        net, region, orders=tuple(args.orders) if args.orders else None, max_samples=args.max_samples, seed=args.seed
    )
    s = {"region_note": note, **result["summary"]}
    if args.plot:
        limits.plot_moments({f"{Path(args.checkpoint).stem}, c = {region.radius:g}": s}, args.plot)
    if args.json:
        print_json(s)
        return 0
    print(f"region: {region_text(region)}: {note}")
    print("typical N-sample mean of ||A^-1 - F(A)||^k (median over disjoint blocks of N samples):")
    print_table(
        ["N", *(f"k = {k}" for k in s["orders"])],
        [[size, *(s["typical"][str(k)][i] for k in s["orders"])] for i, size in enumerate(s["sizes"])],
    )
    print_table(
        ["k", "growth N=10^3 -> max", "last decade", "log-log slope", "expected slope (k/alpha - 1)"],
        [
            [k, s["growth"][str(k)], s["last_decade_growth"][str(k)], s["slope"][str(k)], s["expected_slope"][str(k)]]
            for k in s["orders"]
        ],
    )
    alpha = s["tail_index"]
    print(
        f"Hill tail index (top {s['hill_k']} of {s['sizes'][-1]}): {alpha:.3f} +- {s['tail_index_se']:.2f}; "
        f"other k: " + ", ".join(f"{a:.3f} (k = {k})" for k, a in s["hill"].items())
    )
    if region.certified_distance > 0:
        print("the region is certified clear of the singular set: the error is bounded and every moment is finite")
    else:
        infinite = [k for k in s["orders"] if k >= alpha]
        print(
            f"moments of order k >= {alpha:.2f} are infinite"
            + (f": here k = {', '.join(map(str, infinite))}" if infinite else "")
        )
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


def run_report(args) -> int:
    """`limits report`: the "Why can't" section with limits.md, limits.html, limits.json and its figures."""
    out = Path(args.out)
    section = limits.report_section(out, budget=args.budget, progress=not args.quiet)
    write_json(out / "limits.json", section["results"])
    limits.document(section["results"], [Path(f).name for f in section["figures"]]).write(out, "limits")
    print(
        f"wrote {out / 'limits.md'}, {out / 'limits.html'}, {out / 'limits.json'} "
        f"and {len(section['figures'])} figures "
        f"({section['results']['timings']['total_s']:.0f} s)"
    )
    return 0
