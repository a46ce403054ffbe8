"""neuralinv analyze: activation patterns of a ReLU MLP checkpoint over its box (or --region), affine maps and LP
bounds."""

from __future__ import annotations

from pathlib import Path

from neuralinv.cli.options import add_json, add_region, parse_region
from neuralinv.cli.output import print_json, print_table
from neuralinv.common.errors import InputError
from neuralinv.common.files import write_json
from neuralinv.experiments import analysis
from neuralinv.nets import checkpoint
from neuralinv.regions.shapes import Box
from neuralinv.reporting.formats import share


def register(sub) -> None:
    """The `analyze` command."""
    p = sub.add_parser(
        "analyze",
        help="activation patterns, affine maps and LP bounds of a ReLU network",
        description="Sample matrices uniformly from the checkpoint's box and group them by activation pattern. For "
        "each of the largest patterns: its share, the affine map A -> A^-1 the network computes there "
        "(in the user's units, as a function of A - A0), the largest coefficient gap to the linear "
        "approximation A0^-1 - A0^-1 (A - A0) A0^-1, and per output entry the largest |network - linear "
        "approximation| over the pattern's whole polytope (box intersected with its half-spaces), by "
        "linear programming with SciPy's HiGHS. Works on any ReLU MLP checkpoint (see `neuralinv import`). "
        "With --region the samples come from that region instead (a preset or a region file of any "
        "shape, of the checkpoint's size) and A0 is its centre; for a region other than a box the LP runs "
        "over its bounding box, so the bounds are valid but possibly loose (the output says so).",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a .safetensors checkpoint")
    add_region(p, "analyse over this region instead of the checkpoint's own (default: the checkpoint's region)")
    p.add_argument(
        "--samples",
        type=int,
        default=analysis.DEFAULT_SAMPLES,
        metavar="N",
        help=f"matrices to sample (default {analysis.DEFAULT_SAMPLES})",
    )
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument(
        "--max-patterns",
        type=int,
        default=50,
        metavar="K",
        help="analyse (maps, LP bounds) the K largest patterns (default 50)",
    )
    p.add_argument("--top", type=int, default=20, metavar="T", help="patterns shown in tables (default 20)")
    p.add_argument("--no-lp", action="store_true", help="skip the linear programs (maps and gaps only)")
    add_json(p, "the full analysis as JSON")
    p.add_argument(
        "--out", metavar="DIR", help="also write DIR/analysis.json, DIR/analysis.md and a PNG of the patterns"
    )
    p.set_defaults(run=run)


def run(args) -> int:
    """`analyze`: the analysis of the checkpoint over its region (or --region), printed, as JSON or written."""
    for flag, value in (("--samples", args.samples), ("--max-patterns", args.max_patterns), ("--top", args.top)):
        if value <= 0:
            raise InputError(f"{flag}: expected a positive integer, got {value}")
    net = checkpoint.load_network(args.checkpoint)
    region = _region(args, net)
    result = analysis.analyze(
        net, region=region, samples=args.samples, seed=args.seed, max_patterns=args.max_patterns, bound=not args.no_lp
    )
    data = result.to_json()
    data["checkpoint"] = str(args.checkpoint)
    data["region_source"] = "the checkpoint's own region" if args.region is None else f"--region {args.region}"
    if args.out:
        out = Path(args.out)
        figure = analysis.plot(result, out / analysis.FIGURE_NAME, top=args.top)
        write_json(out / "analysis.json", data)
        analysis.document(result, figure.name, top=args.top).write(out, "analysis")
    if args.json:
        print_json(data)
        return 0
    print_analysis(args, result, region)
    if args.out:
        print(f"wrote {args.out}/analysis.json, analysis.md, {analysis.FIGURE_NAME}")
    return 0


def _region(args, net):
    """The region of --region (of the checkpoint's size), else the checkpoint's own."""
    if args.region is None:
        return net.region
    region = parse_region(args.region)
    if region.n != net.n:
        raise InputError(
            f"--region: a {region.n}x{region.n} {region.shape} region, but the checkpoint is for "
            f"{net.n}x{net.n} matrices"
        )
    return region


def print_analysis(args, result: analysis.Analysis, region) -> None:
    """The analysis as text: a summary line, the pattern table and, for n <= 3, the LP bounds per entry and Eq. 13."""
    n = result.n
    if isinstance(region, Box) and region.uniform:
        where = f"{n}x{n} box (c = {region.radius:g}, {result.scaling} scaling)"
    else:
        where = f"{region.describe()} ({result.scaling} scaling)"
    print(
        f"{'-'.join(map(str, result.layer_sizes))} ReLU MLP, {where}"
        f"{'' if args.region is None else ' from --region ' + args.region}: {result.samples} samples, "
        f"{result.num_patterns} activation patterns, "
        f"{result.distinct_maps} distinct affine map(s) among the {len(result.patterns)} largest; "
        f"{result.wall_time_s:.1f} s"
    )
    if result.lp_note and not args.no_lp:
        print(f"note: {result.lp_note}")
    print_table(analysis.SUMMARY_HEADERS, analysis.summary_rows(result, args.top))
    if n * n <= 9 and result.patterns:
        print("\nLP bound of |net - Taylor-1| per output entry")
        names = [analysis.entry_name(n, m) for m in range(n * n)]
        rows = [
            [
                p.rank,
                share(p.share, decimals=2),
                *(p.lp_bound.ravel().tolist() if p.lp_bound is not None else [p.status] * n * n),
            ]
            for p in result.patterns[: args.top]
        ]
        print_table(["#", "share", *names], rows)
        print()
        print("\n".join(analysis.eq13_lines(result)[2:]).replace("```\n", "").replace("```", "").rstrip())
    empty = [p.rank for p in result.patterns if p.status == "empty"]
    if empty:
        print(f"patterns with an empty polytope (seen only through rounding): {empty}")
    bad = [p.rank for p in result.patterns if p.lp_ok is False]
    if bad:
        print(f"warning: LP bound below the sampled maximum in patterns {bad} (LP tolerance)")
