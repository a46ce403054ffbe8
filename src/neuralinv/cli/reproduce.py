"""neuralinv reproduce: every table and figure of the paper into one report."""

from __future__ import annotations

from neuralinv.reproduce import PARTS, reproduce
from neuralinv.train import BUDGETS


def register(sub) -> None:
    p = sub.add_parser(
        "reproduce", help="run the paper's experiments and write the report",
        description="Train and evaluate every Table 1 cell (3 seeds), Table 2 with classical baselines, time Table 3, "
                    "draw Figures 1-2 and the training curves, analyse the small network's activation patterns and "
                    "run the why-can't experiments; write DIR/report.md, DIR/report.html (self-contained), "
                    "DIR/results.json and the figures. A second call with the same DIR reuses finished runs.")
    p.add_argument("--budget", choices=BUDGETS, default="quick",
                   help="quick: every table and figure in about 10 minutes on 2 CPU cores, reduced step counts; "
                        "paper: the paper's step counts and data sizes (hours on a CPU for 16x16) (default quick)")
    p.add_argument("--only", metavar="PARTS", help=f"comma-separated subset of: {','.join(PARTS)}")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--steps", type=int, metavar="N",
                   help="override every cell's step count (smoke runs; the report shows it beside the paper's)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run)


def run(args) -> int:
    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    reproduce(args.out, budget=args.budget, only=only, device=args.device, progress=not args.quiet,
              steps=args.steps)
    return 0
