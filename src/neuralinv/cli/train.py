"""neuralinv train: train all seeds of a preset as one batched ensemble."""

from __future__ import annotations

from neuralinv.cli.output import print_json, print_table
from neuralinv.data import SCALINGS
from neuralinv.models import MODELS
from neuralinv.regions import DATASETS
from neuralinv.runs import run_training
from neuralinv.train import BUDGETS, TrainConfig


def register(sub) -> None:
    p = sub.add_parser(
        "train", help="train a preset model on a preset data set (all seeds at once)",
        description="Train with the paper's recipe (Adam lr 5e-5, weight decay 1e-7, cosine warm restarts T_0=3, "
                    "T_mult=2, MSE, batch 128). All seeds train together as one batched ensemble. Writes "
                    "DIR/run.json and DIR/seed-S.safetensors.")
    p.add_argument("--dataset", required=True, metavar="NAME", help=f"data set preset: {', '.join(DATASETS)}")
    p.add_argument("--model", required=True, metavar="NAME", help=f"model preset: {', '.join(MODELS)}")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], metavar="S", help="seeds (default 0 1 2)")
    steps = p.add_mutually_exclusive_group()
    steps.add_argument("--steps", type=int, metavar="N", help="number of training steps (batches)")
    steps.add_argument("--budget", choices=BUDGETS, default="quick",
                       help="quick: a short run; paper: the paper's step count (default quick)")
    p.add_argument("--scaling", choices=SCALINGS, default="paper",
                   help="paper: x = vec(A - A0)/c, y = vec(A^-1 - A0^-1)/c; raw: vec(A) -> vec(A^-1) (default paper)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run in DIR (its state is saved every 30 s and on Ctrl-C/kill)")
    p.add_argument("--save-every", type=float, default=30.0, metavar="SECONDS",
                   help="seconds between saves of the resumable state (default 30)")
    p.add_argument("--json", action="store_true", help="print run.json instead of a summary")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args) -> int:
    config = TrainConfig.resolve(args.dataset, args.model, steps=args.steps, budget=args.budget,
                                 seeds=tuple(args.seeds), scaling=args.scaling, device=args.device)
    summary = run_training(config, args.out, progress=not args.quiet, resume=args.resume,
                           save_every_s=args.save_every)
    if args.json:
        print_json({k: v for k, v in summary.items() if k != "curve"})
        return 0
    print_summary(summary, args.out)
    return 0


def print_summary(summary: dict, out) -> None:
    """Print the text summary of a finished run: summary is run.json's content, out the run directory."""
    config = summary["config"]
    seeds = config["seeds"]
    where = config["dataset"]
    if config.get("center") is not None:
        n = len(config["center"])
        where = f"custom {n}x{n} box (c = {config['radius']:g})"
    print(f"{where} {config['model']}, {config['steps']} steps, {len(seeds)} seeds, {summary['wall_time_s']:.1f} s")
    rows = [[s, summary["test_mae"][str(s)], summary["per_seed"][str(s)]["max_error"]] for s in seeds]
    print_table(["seed", "test MAE", "max error"], rows)
    linear = summary["linear_mae"]
    linear = "n/a (singular centre)" if linear is None else f"{linear:.4g}"
    print(f"mean {summary['mae_mean']:.4g} (std {summary['mae_std']:.2g}); linear approximation: {linear}")
    print(f"wrote {out}/run.json and {len(seeds)} checkpoints")
