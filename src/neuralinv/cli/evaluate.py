"""neuralinv evaluate: metrics of a run or checkpoint on a fresh seeded test set, beside the classical baselines."""

from __future__ import annotations

from pathlib import Path

from neuralinv import checkpoint
from neuralinv.cli.output import print_json, print_table
from neuralinv.data import TEST_SEED
from neuralinv.errors import InputError
from neuralinv.evaluate import evaluate, skipped_baselines
from neuralinv.regions import get_dataset
from neuralinv.runs import RUN_FILE, read_run


def register(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="metrics of a run directory or a checkpoint",
        description="Recompute, on a fresh seeded test set of the checkpoint's box: MAE per entry, max error and "
                    "relative Frobenius error, for the network(s) and for the exact inverse, Taylor-1 (the linear "
                    "approximation), Taylor-2 and Taylor-1 + one Newton-Schulz step. The Taylor baselines expand "
                    "around A0^-1, so on a box with a singular centre they are left out (and the output says so).")
    p.add_argument("path", metavar="DIR|CHECKPOINT", help="a run directory (with run.json) or a .safetensors file")
    p.add_argument("--test-size", type=int, default=10_000, metavar="N", help="test matrices (default 10000)")
    p.add_argument("--seed", type=int, default=TEST_SEED, help=f"test set seed (default {TEST_SEED})")
    p.add_argument("--dataset", metavar="NAME", help="evaluate on this preset's box (default: the checkpoint's own)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def load_networks(path: Path, n: int | None = None) -> dict:
    if path.is_dir():
        run = read_run(path)
        return {f"seed {s}": checkpoint.load(path / name, n=n) for s, name in run["checkpoints"].items()}
    if path.is_file():
        return {path.stem: checkpoint.load(path, n=n)}
    raise InputError(f"path: {str(path)!r} is neither a run directory (with {RUN_FILE}) nor a checkpoint file")


def run(args) -> int:
    if args.test_size <= 0:
        raise InputError(f"--test-size: expected a positive integer, got {args.test_size}")
    preset = get_dataset(args.dataset) if args.dataset else None
    networks = load_networks(Path(args.path), n=preset.n if preset else None)
    boxes = {(tuple(net.box.center.ravel()), net.box.radius) for net in networks.values()}
    if len(boxes) > 1:
        raise InputError(f"{args.path}: checkpoints are for different boxes")
    box = preset.box if preset else next(iter(networks.values())).box
    rows = evaluate(networks, box, test_size=args.test_size, seed=args.seed)
    skipped = skipped_baselines(box)
    if args.json:
        print_json({"test_size": args.test_size, "seed": args.seed, "metrics": rows, "skipped_baselines": skipped})
        return 0
    print(f"{box.n}x{box.n} box, c = {box.radius:g}; {args.test_size} test matrices (seed {args.seed})")
    print_table(["method", "MAE", "max error", "rel. Frobenius (mean)", "rel. Frobenius (max)"],
                [[k, r["mae"], r["max_error"], r["rel_fro_mean"], r["rel_fro_max"]] for k, r in rows.items()])
    if skipped:
        reasons = sorted(set(skipped.values()))
        print(f"left out {', '.join(skipped)} (they expand around A0^-1): {'; '.join(reasons)}")
    return 0
