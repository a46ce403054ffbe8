"""neuralinv sweep: where networks beat classical methods, over sizes, radii, depths and budgets, on Ray."""

from __future__ import annotations

from pathlib import Path

from neuralinv.cli.options import add_quiet, add_ray


def register(sub) -> None:
    """Add `neuralinv sweep run` and `neuralinv sweep report` to the command line."""
    p = sub.add_parser(
        "sweep",
        help="sweep sizes, radii, models and recipes on Ray; map where networks win",
        description="Run a sweep described by a TOML file (see examples/sweeps/tiny.toml and the README) as Ray Tune "
        "trials on a local Ray (started here) or a cluster (--address), then draw its atlas.",
    )
    s = p.add_subparsers(dest="sweep_command", metavar="ACTION", required=True)
    r = s.add_parser(
        "run",
        help="run or resume a sweep into DIR",
        description="Train every trial and seed of SPEC.toml, trials of one shape packed into one batched ensemble "
        "per Ray trial, and write DIR/results.csv (one row per trial and seed) as they finish. Rerunning "
        "the same command resumes: finished units are reused, failed ones are tried again. The spec is "
        "checked before any work starts.",
    )
    r.add_argument("spec", metavar="SPEC.toml", help="the sweep file")
    r.add_argument("--out", required=True, metavar="DIR", help="output directory (results.csv, units/, ray/)")
    add_ray(
        r,
        address_help="join a running Ray cluster (host:port of `ray start --head`); default: start a local Ray",
        unit="Ray trial",
    )
    r.add_argument("--num-cpus", type=int, metavar="N", help="CPUs of the local Ray (default: all of this machine's)")
    add_quiet(r, "progress line")
    r.set_defaults(run=run_sweep)
    rep = s.add_parser(
        "report",
        help="draw DIR/atlas.md, DIR/atlas.html and figures from DIR/results.csv",
        description="The atlas of a sweep: where networks beat Taylor-1, Taylor-2 and one "
        "Newton-Schulz step, and at what inference cost.",
    )
    rep.add_argument("dir", metavar="DIR", help="a sweep's output directory")
    rep.set_defaults(run=run_report)


def run_sweep(args) -> int:
    """Run or resume a sweep; exit status 1 when a unit failed."""
    from neuralinv.sweep import run as sweep

    counts = sweep.run(
        args.spec,
        args.out,
        address=args.address,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
        num_cpus=args.num_cpus,
        progress=not args.quiet,
    )
    print(
        f"{counts['units']} units (trial x seed): {counts['skipped']} reused from an earlier run, {counts['ok']} "
        f"finished now, {counts['failed']} failed; wrote {Path(args.out) / 'results.csv'}"
    )
    return 1 if counts["failed"] else 0


def run_report(args) -> int:
    """Draw a sweep's atlas."""
    from neuralinv.sweep import atlas

    md, html = atlas.write(args.dir)
    print(f"wrote {md} and {html}")
    return 0
