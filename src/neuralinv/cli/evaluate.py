"""neuralinv evaluate: metrics of a run or checkpoint on a seeded test set or on one's own matrices, beside the
classical baselines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from neuralinv.cli.options import add_json, add_region, as_flags, parse_region
from neuralinv.cli.output import print_json, print_table
from neuralinv.common.errors import InputError
from neuralinv.common.files import read_matrices
from neuralinv.nets import checkpoint
from neuralinv.paper.presets import get_dataset
from neuralinv.reporting.formats import sci, share
from neuralinv.training.data import TEST_SEED, AcceptRule, matrix_pairs, sample_test_set
from neuralinv.training.evaluation import evaluate, skipped_baselines
from neuralinv.training.metrics import field_metrics
from neuralinv.training.runs import RUN_FILE, read_run
from neuralinv.training.train import TrainConfig, evaluation_pairs


def register(sub) -> None:
    """The `evaluate` command."""
    p = sub.add_parser(
        "evaluate",
        help="metrics of a run directory or a checkpoint",
        description="Recompute MAE per entry, max error and relative Frobenius error for the network(s) and for "
        "the exact inverse, Taylor-1 (the linear approximation), Taylor-2 and Taylor-1 + one "
        "Newton-Schulz step, all around the centre of the network's region. The test matrices: a "
        "seeded sample of the checkpoint's region (kept by its training's rejection rule, if any), of "
        "another region (--region, --dataset), or one's own (--matrices); a run directory trained on "
        "--matrices is evaluated on its held-out matrices. The Taylor baselines expand around A0^-1, "
        "so when the centre is singular they are left out (and the output says so). For the network(s) also the "
        "field's scores: LAWT's accuracy (the share of matrices with sum |AP - I| / n below 5%, 2%, 1%, 0.5%), "
        "the same tolerances on the relative error, its quantiles, and the MAE in decade bins of sigma_min.",
    )
    p.add_argument("path", metavar="DIR|CHECKPOINT", help="a run directory (with run.json) or a .safetensors file")
    p.add_argument("--test-size", type=int, default=10_000, metavar="N", help="test matrices (default 10000)")
    p.add_argument("--seed", type=int, default=TEST_SEED, help=f"test set seed (default {TEST_SEED})")
    source = p.add_mutually_exclusive_group()
    add_region(source, "evaluate on samples of this region")
    source.add_argument("--dataset", metavar="NAME", help="evaluate on this preset's box (the same as --region NAME)")
    source.add_argument(
        "--matrices",
        metavar="MATS.npy",
        help="evaluate on these matrices, a .npy array (m, n, n), instead of sampled ones",
    )
    p.add_argument(
        "--min-abs-det",
        type=float,
        metavar="D",
        help="keep only sampled test matrices with |det A| > D (default: the training's rule)",
    )
    p.add_argument(
        "--min-sigma",
        type=float,
        metavar="S",
        help="keep only sampled test matrices with sigma_min(A) > S (default: the training's rule)",
    )
    add_json(p)
    p.set_defaults(run=run)


def load_networks(path: Path, n: int | None = None) -> dict:
    """The networks of a run directory ("seed S": one per seed) or of one checkpoint file (by its stem)."""
    if path.is_dir():
        run = read_run(path)
        return {f"seed {s}": checkpoint.load_network(path / name, n=n) for s, name in run["checkpoints"].items()}
    if path.is_file():
        return {path.stem: checkpoint.load_network(path, n=n)}
    raise InputError(f"path: {str(path)!r} is neither a run directory (with {RUN_FILE}) nor a checkpoint file")


def run(args) -> int:
    """`evaluate`: the metrics of the network(s) and the baselines on the chosen test matrices; library errors in
    the command line's words (min_abs_det: ... as --min-abs-det: ...)."""
    try:
        return run_evaluation(args)
    except InputError as err:
        raise InputError(as_flags(str(err))) from None


def run_evaluation(args) -> int:
    """run, with the library's errors as they are."""
    if args.test_size <= 0:
        raise InputError(f"--test-size: expected a positive integer, got {args.test_size}")
    path = Path(args.path)
    given = args.region or args.dataset
    region = (get_dataset(args.dataset).region if args.dataset else parse_region(args.region)) if given else None
    networks = load_networks(path, n=region.n if region else None)
    regions = {json.dumps(net.region.to_json(), sort_keys=True) for net in networks.values()}
    if len(regions) > 1:
        raise InputError(f"{args.path}: checkpoints are for different regions")
    first = next(iter(networks.values()))
    box = first.region  # the baselines expand around the centre of the network's own region
    matrices, source, where = evaluation_matrices(args, path, region, first)
    rows = evaluate(networks, box, matrices=matrices)
    skipped = skipped_baselines(box)
    field = network_field_metrics(networks, matrices)
    if args.json:
        print_json(
            {
                "test_size": len(matrices),
                "seed": args.seed,
                "source": source,
                "metrics": rows,
                "skipped_baselines": skipped,
                "field_metrics": field,
            }
        )
        return 0
    print(f"{where}; baselines around the centre of the {box.describe()}")
    print_table(
        ["method", "MAE", "max error", "rel. Frobenius (mean)", "rel. Frobenius (max)"],
        [[k, r["mae"], r["max_error"], r["rel_fro_mean"], r["rel_fro_max"]] for k, r in rows.items()],
    )
    if skipped:
        reasons = sorted(set(skipped.values()))
        print(f"left out {', '.join(skipped)} (they expand around A0^-1): {'; '.join(reasons)}")
    for name, metrics in field.items():
        print(field_line(name, metrics))
    return 0


def network_field_metrics(networks: dict, matrices) -> dict:
    """{name: training.metrics.field_metrics} of each network on the test matrices, against float64 LAPACK
    inverses (the reference of evaluate's rows)."""
    a = torch.as_tensor(matrices, dtype=torch.float64)
    a_inv = torch.from_numpy(np.linalg.inv(a.numpy()))
    with torch.no_grad():
        return {name: field_metrics(a, net(a), a_inv) for name, net in networks.items()}


def field_line(name: str, metrics: dict) -> str:
    """One network's field metrics in one line: LAWT accuracy (sum |AP - I| / n below each tolerance), the same
    tolerances on the relative error, its quantiles, and the MAE (and count) per non-empty bin of sigma_min."""

    def shares(d: dict) -> str:
        return " ".join(share(v) for v in d.values())

    tols = "/".join(f"{100 * float(t):g}%" for t in metrics["lawt_accuracy"])
    quantiles = " ".join(f"q{100 * float(q):g} {sci(v, 2)}" for q, v in metrics["relative_error_quantiles"].items())
    bins = metrics["mae_by_sigma_min"]
    by_sigma = ", ".join(
        f"[{sci(lo, 1)}, {sci(hi, 1)}) {sci(m, 2)} ({c})"
        for lo, hi, c, m in zip(bins["edges"], bins["edges"][1:], bins["counts"], bins["mae"])
        if c
    )
    return (
        f"{name}: within {tols}: residual (LAWT) {shares(metrics['lawt_accuracy'])}, "
        f"relative {shares(metrics['relative_accuracy'])}; relative error {quantiles}; "
        f"MAE by sigma_min {by_sigma}"
    )


def evaluation_matrices(args, path: Path, region, first) -> tuple:
    """(matrices, source, where): the test matrices (--matrices, a run's held-out matrices, or a seeded sample of
    region or of the first network's own region), the JSON saying where they came from, and the same in words."""
    flags_rule = AcceptRule.make(args.min_abs_det, args.min_sigma)
    if args.matrices is not None:
        if flags_rule is not None:
            raise InputError("--min-abs-det/--min-sigma: apply to sampled matrices, not to --matrices")
        a = read_matrices(args.matrices, name="--matrices", n=first.n)
        matrices, _ = matrix_pairs(a)  # refuses singular matrices (no exact inverse to compare with)
        return matrices, {"matrices": str(args.matrices), "count": len(a)}, f"{len(a)} matrices from {args.matrices}"
    if region is None and path.is_dir() and flags_rule is None and read_run(path)["config"].get("matrices") is not None:
        config = TrainConfig.from_json(read_run(path)["config"])
        matrices, _ = evaluation_pairs(config)  # the held-out matrices, as in run.json
        source = {"matrices": config.matrices, "count": len(matrices), "held_out": True}
        return matrices, source, f"the {len(matrices)} held-out matrices of {config.matrices}"
    sampled = region or first.region
    rule = flags_rule
    if rule is None and region is None:  # the checkpoint's own region: its training's rejection rule
        rule = AcceptRule.from_json(first.info.get("accept"))
    matrices, _ = sample_test_set(sampled, args.test_size, args.seed, rule=rule)
    source = {
        "region": sampled.to_json(),
        "test_size": args.test_size,
        "seed": args.seed,
        "accept": None if rule is None else rule.to_json(),
    }
    kept = f", kept when {rule.describe()}" if rule is not None else ""
    return matrices, source, f"{args.test_size} test matrices (seed {args.seed}) of the {sampled.describe()}{kept}"
