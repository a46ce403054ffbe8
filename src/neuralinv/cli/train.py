"""neuralinv train: train all seeds as one batched ensemble, on a preset, a region of one's own, or one's matrices."""

from __future__ import annotations

from pathlib import Path

from neuralinv.cli.options import add_json, add_quiet, add_region, as_flags, parse_region
from neuralinv.cli.output import print_json, print_table
from neuralinv.common.errors import InputError
from neuralinv.nets.mlp import MODELS
from neuralinv.nets.scaling import TRAIN_SCALINGS
from neuralinv.paper.presets import DATASETS
from neuralinv.regions.files import load_region
from neuralinv.training.config import BUDGETS, TrainConfig
from neuralinv.training.data import AcceptRule
from neuralinv.training.runs import run_training

DESCRIPTION = (
    "Train with the paper's recipe (Adam lr 5e-5, weight decay 1e-7, cosine warm restarts T_0=3, T_mult=2, MSE, "
    "batch 128). All seeds train together as one batched ensemble. Writes DIR/run.json and DIR/seed-S.safetensors. "
    "The data: a preset (--dataset), samples of a region (--region, a fixed set of --train-size samples, optionally "
    "kept by --min-abs-det/--min-sigma), or matrices of one's own (--matrices, a seeded --holdout share held out as "
    "the test set; the region bound into the checkpoints is fitted to the training share unless --region is given)."
)


def register(sub) -> None:
    """Add the train command and its flags to the subparsers sub."""
    p = sub.add_parser(
        "train",
        help="train a model on a preset data set, a region of one's own or one's matrices (all seeds at once)",
        description=DESCRIPTION,
    )
    add_data_flags(p)
    p.add_argument("--model", required=True, metavar="NAME", help=f"model preset: {', '.join(MODELS)}")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], metavar="S", help="seeds (default 0 1 2)")
    add_schedule_flags(p)
    add_size_flags(p)
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run in DIR (its state is saved every 30 s and on Ctrl-C/kill)",
    )
    p.add_argument(
        "--save-every",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="seconds between saves of the resumable state (default 30)",
    )
    add_json(p, "run.json instead of a summary")
    add_quiet(p, "progress bar")
    p.set_defaults(run=run)


def add_data_flags(p) -> None:
    """--dataset, --region and --matrices: where the training data come from."""
    p.add_argument("--dataset", metavar="NAME", help=f"data set preset: {', '.join(DATASETS)}")
    add_region(
        p,
        "train on samples of this region (a preset name is the same as --dataset NAME); with --matrices, the region "
        "bound into the checkpoints instead of a fitted one",
    )
    p.add_argument(
        "--matrices", metavar="MATS.npy", help="train on these matrices, a .npy array of shape (m, n, n) with m >= 100"
    )


def add_schedule_flags(p) -> None:
    """--steps or --budget, and --scaling."""
    steps = p.add_mutually_exclusive_group()
    steps.add_argument(
        "--steps",
        type=int,
        metavar="N",
        help="number of training steps (batches); off the presets the schedule is compressed into "
        "20 epochs over the run",
    )
    steps.add_argument(
        "--budget",
        choices=list(BUDGETS),
        default="quick",
        help="quick: a short run (20,000 steps off the presets); fast: a tenth of the paper's steps "
        "(20,000 off the presets) with lr 1e-2, the recipe of docs/recipe; paper: the paper's "
        "step count (200,000 off the presets, epoch = one pass) (default quick)",
    )
    p.add_argument(
        "--scaling",
        choices=TRAIN_SCALINGS,
        help="paper: x = vec(A - A0)/c, y = vec(A^-1 - A0^-1)/c; raw: vec(A) -> vec(A^-1); data: the "
        "paper's offsets, divided by the RMS of A - A0 and A^-1 - A0^-1 over the training set "
        "(default: data with --matrices, paper otherwise)",
    )


def add_size_flags(p) -> None:
    """The sizes of the training and test sets, the rejection rule, and the split of one's own matrices."""
    p.add_argument(
        "--train-size",
        type=int,
        metavar="N",
        help="fixed training set size for --region (default 100000; a preset's own otherwise)",
    )
    p.add_argument("--test-size", type=int, metavar="N", help="test set size for sampled data (default 10000)")
    p.add_argument(
        "--min-abs-det",
        type=float,
        metavar="D",
        help="keep only sampled matrices with |det A| > D (training and test sets; rejected ones redrawn)",
    )
    p.add_argument(
        "--min-sigma",
        type=float,
        metavar="S",
        help="keep only sampled matrices with sigma_min(A) > S (training and test sets)",
    )
    p.add_argument(
        "--holdout",
        type=float,
        metavar="SHARE",
        help="with --matrices: the share held out as the test set (default 0.1)",
    )
    p.add_argument(
        "--split-seed", type=int, metavar="S", help="with --matrices: seed of the train/test split (default 0)"
    )


def check_data_flags(args) -> tuple[str | None, str | None]:
    """(dataset, region) after checking that the data flags fit together; a preset name given as --region is the
    preset (so its finished runs are reused)."""
    dataset, region = args.dataset, args.region
    if dataset is not None and region is not None:
        raise InputError("give one of --dataset and --region (--dataset NAME is --region NAME for a preset)")
    if region is not None and args.matrices is None and region in DATASETS and not Path(region).is_file():
        dataset, region = region, None  # a preset name: the preset's own recipe
    if dataset is not None and args.matrices is not None:
        raise InputError("--dataset with --matrices: to bind the matrices to a preset's box, use --region NAME")
    if dataset is None and region is None and args.matrices is None:
        raise InputError("give the data: --dataset NAME, --region NAME|FILE|JSON or --matrices MATS.npy")
    if args.matrices is None and (args.holdout is not None or args.split_seed is not None):
        raise InputError("--holdout/--split-seed: only with --matrices")
    if args.matrices is not None:
        if args.train_size is not None or args.test_size is not None:
            raise InputError("--train-size/--test-size: with --matrices the split is set by --holdout")
        if args.min_abs_det is not None or args.min_sigma is not None:
            raise InputError(
                "--min-abs-det/--min-sigma: the rejection rule applies to sampled matrices; with "
                "--matrices, filter the file instead"
            )
    return dataset, region


def config_from_args(args) -> TrainConfig:
    """The TrainConfig the command line asks for (one-line InputErrors for contradictory or missing options)."""
    dataset, region = check_data_flags(args)
    rule = AcceptRule.make(args.min_abs_det, args.min_sigma)
    common = dict(steps=args.steps, budget=args.budget, seeds=tuple(args.seeds), device=args.device)
    if args.matrices is not None:
        return TrainConfig.for_matrices(
            args.matrices,
            args.model,
            region=None if region is None else parse_region(region),
            holdout=0.1 if args.holdout is None else args.holdout,
            split_seed=0 if args.split_seed is None else args.split_seed,
            scaling=args.scaling or "data",
            **common,
        )
    if args.test_size is not None:
        common["test_size"] = args.test_size
    if dataset is not None:
        if args.train_size is not None:
            common["train_size"] = args.train_size
        return TrainConfig.resolve(dataset, args.model, scaling=args.scaling or "paper", rule=rule, **common)
    train_size = 100_000 if args.train_size is None else args.train_size
    return TrainConfig.for_region(
        parse_region(region), args.model, train_size=train_size, scaling=args.scaling or "paper", rule=rule, **common
    )


def run(args) -> int:
    """Train as args ask, write the run directory and print its summary (or run.json with --json)."""
    try:
        config = config_from_args(args)
        summary = run_training(
            config, args.out, progress=not args.quiet, resume=args.resume, save_every_s=args.save_every
        )
    except InputError as err:
        raise InputError(as_flags(str(err))) from None
    if args.json:
        print_json({k: v for k, v in summary.items() if k != "curve"})
        return 0
    print_summary(summary, args.out)
    return 0


def describe_source(summary: dict) -> str:
    """What the run was trained on, in words, from run.json's content."""
    config = summary["config"]
    data = summary.get("data", {})
    if config.get("matrices") is not None:
        return (
            f"{config['matrices_shape'][0]} matrices from {Path(config['matrices']).name} "
            f"({data.get('train_count', config['train_size'])} train / "
            f"{data.get('test_count', config['test_size'])} held out, split seed {config['split_seed']}); "
            f"region {load_region(config['region']).describe()}"
        )
    if config.get("region") is not None:
        where = f"custom {load_region(config['region']).describe()}"
    else:
        where = config["dataset"]
    if data.get("accept_rule"):
        where += f", kept when {data['accept_rule']}"
    return where


def print_summary(summary: dict, out) -> None:
    """Print the text summary of a finished run: summary is run.json's content, out the run directory."""
    config = summary["config"]
    seeds = config["seeds"]
    print(
        f"{describe_source(summary)}; {config['model']}, {config['steps']} steps, {config['scaling']} scaling, "
        f"{len(seeds)} seeds, {summary['wall_time_s']:.1f} s"
    )
    rows = [[s, summary["test_mae"][str(s)], summary["per_seed"][str(s)]["max_error"]] for s in seeds]
    print_table(["seed", "test MAE", "max error"], rows)
    linear = summary["linear_mae"]
    linear = "n/a (singular centre)" if linear is None else f"{linear:.4g}"
    print(f"mean {summary['mae_mean']:.4g} (std {summary['mae_std']:.2g}); linear approximation: {linear}")
    print(f"wrote {out}/run.json and {len(seeds)} checkpoints")
