"""neuralinv reproduce: every table and figure of the paper into one report."""

from __future__ import annotations

from neuralinv.cli.options import add_quiet, add_ray
from neuralinv.common.errors import InputError
from neuralinv.reproduce.pipeline import PARTS, reproduce
from neuralinv.training.train import BUDGETS


def register(sub) -> None:
    """Add `neuralinv reproduce` to the command line."""
    p = sub.add_parser(
        "reproduce",
        help="run the paper's experiments and write the report",
        description="Train and evaluate every Table 1 cell (3 seeds), Table 2 with classical baselines, time Table 3, "
        "draw Figures 1-2 and the training curves, analyse the small network's activation patterns and "
        "run the why-can't experiments; write DIR/report.md, DIR/report.html (self-contained), "
        "DIR/results.json and the figures. A second call with the same DIR reuses finished runs.",
    )
    p.add_argument(
        "--budget",
        choices=list(BUDGETS),
        default="quick",
        help="quick: every table and figure in about 5 minutes on 2 CPU cores, reduced step counts; "
        "fast: a tenth of the paper's steps with lr 1e-2 (the recipe of docs/recipe, which reaches "
        "Table 1's MAE on the 2x2 and 3x3 cells); paper: the paper's step counts and data sizes "
        "(hours on a CPU for 16x16) (default quick)",
    )
    p.add_argument("--only", metavar="PARTS", help=f"comma-separated subset of: {','.join(PARTS)}")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument(
        "--steps",
        type=int,
        metavar="N",
        help="override every cell's step count (smoke runs; the report shows it beside the paper's)",
    )
    add_ray(
        p,
        address_help="train the Table 1 ensembles as tasks on the Ray cluster at ADDR (host:port of `ray start "
        "--head`); the run directories come back to DIR. Default: train here",
        unit="training task",
    )
    add_quiet(p, "progress output")
    p.set_defaults(run=run)


def run(args) -> int:
    """Run the requested parts and write the report."""
    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    if args.address is None and (args.cpus_per_trial != 1 or args.gpus_per_trial):
        raise InputError("--cpus-per-trial/--gpus-per-trial: only with --address (training on a Ray cluster)")
    reproduce(
        args.out,
        budget=args.budget,
        only=only,
        device=args.device,
        progress=not args.quiet,
        steps=args.steps,
        address=args.address,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
    )
    return 0
