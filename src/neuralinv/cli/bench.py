"""neuralinv bench: fair timing tables (Table 3 and beyond), roofline ratios and the accuracy-versus-time figure."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from neuralinv.bench import certified
from neuralinv.bench.frontier import frontier_figure
from neuralinv.bench.networks import networks_from_runs, short_training
from neuralinv.bench.roofline import measure_rates
from neuralinv.bench.table3 import Settings, table3
from neuralinv.bench.tables import certified_tables, inference_tables, packing_tables, training_tables
from neuralinv.bench.training import time_training
from neuralinv.cli.options import add_json, add_region, parse_region
from neuralinv.cli.output import print_json, print_table
from neuralinv.common.errors import InputError
from neuralinv.common.files import read_matrices, write_json
from neuralinv.common.machine import describe, machine_line
from neuralinv.nets.mlp import MODELS
from neuralinv.paper.presets import DATASETS, TABLE1_DATASETS, TABLE1_MODELS

DESCRIPTION = (
    "Time every inverse path fairly (warm-up, repeats, medians, synchronised devices) on 10,000 "
    "matrices of each data set at batch 1 (a Python loop of single calls, as the paper measured), "
    "100 and 10,000: each Table 1 network three ways (full: matrices in, inverses out through the "
    "fast path; plain: Network.__call__; mlp: the raw forward on encoded inputs), beside the exact "
    "paths (closed form for n <= 3, numpy and torch batched LAPACK), Taylor-1, Taylor-2 and "
    "Taylor-1 + one Newton-Schulz step, with the paper's Table 3 times. Each network's time at "
    "batch 10,000 is compared with its roofline bound, max(FLOPs / GEMM rate, bytes / bandwidth), "
    "both rates measured in the same run. Writes DIR/bench.json, DIR/bench.md, DIR/bench.html and "
    "DIR/frontier.png (MAE against seconds, log-log, one panel per data set). With --region (a preset "
    "or a region file of any shape) the certified section times certified_inverse(method='auto') on "
    "samples of that region, or on --matrices, against torch.linalg.inv and numpy.linalg.inv instead."
)


def register(sub) -> None:
    """The bench command and its flags."""
    p = sub.add_parser(
        "bench", help="timing tables: Table 3, roofline ratios, accuracy against time", description=DESCRIPTION
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="fewer repeats (3) and shorter timed loops (long batch-1 loops measured on a prefix and "
        "scaled); no training for the figure unless --train-steps is given",
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    add_table3_flags(p)
    p.add_argument(
        "--sections",
        default=None,
        metavar="LIST",
        help="which parts to run, comma-separated: training (batched ensemble vs a plain loop), inference "
        "(Table 3, rooflines, frontier), certified (certified inverse vs torch.linalg.inv), packing "
        "(a sweep's 24-model pack vs one model per trial) (default: training, inference, certified; "
        "only certified with --region or --matrices)",
    )
    add_certified_flags(p.add_argument_group("certified inverse on a region of one's own"))
    p.add_argument(
        "--out", default=None, metavar="DIR", help="write bench.json, bench.md, bench.html and frontier.png here"
    )
    add_json(p, "the results as JSON instead of tables")
    p.set_defaults(run=run)


def add_table3_flags(p) -> None:
    """What Table 3 times and how hard: data sets, models, trained networks, repeats, pass length, threads."""
    p.add_argument(
        "--datasets",
        nargs="+",
        choices=list(DATASETS),
        default=list(TABLE1_DATASETS),
        metavar="NAME",
        help="data sets (default: all four of Table 1)",
    )
    p.add_argument(
        "--models",
        nargs="+",
        choices=[m for m in MODELS],
        default=list(TABLE1_MODELS),
        metavar="NAME",
        help="model presets (default: 2fc 3fc)",
    )
    p.add_argument(
        "--runs",
        nargs="+",
        default=[],
        metavar="DIR",
        help="run directories (searched recursively for run.json) whose trained networks give the "
        "networks' MAE in the figure; the others are timed with random weights",
    )
    p.add_argument(
        "--train-steps",
        type=int,
        default=None,
        metavar="N",
        help="train networks not found in --runs for N steps (one seed; 16x16 at most its quick "
        "steps) to give them an MAE in the figure; 0: none, marked as missing (default: 0 with "
        "--quick, else each data set's quick steps, about a minute in all)",
    )
    p.add_argument("--repeats", type=int, default=None, metavar="R", help="timed repeats (default 5, quick 3)")
    p.add_argument(
        "--max-pass",
        type=float,
        default=None,
        metavar="S",
        help="longest timed loop in seconds before it is cut to a prefix and scaled (default 2, quick 0.3)",
    )
    p.add_argument("--threads", type=int, default=None, metavar="T", help="torch CPU threads (default: torch's choice)")


def add_certified_flags(c) -> None:
    """--region, --matrices, --samples, --tol and --seed: the certified inverse on a region of one's own."""
    add_region(
        c,
        "time certified_inverse(region=REGION, method='auto') against torch.linalg.inv and numpy.linalg.inv on "
        "samples of this region, on the CPU (the ratio, the fast-path share, the route auto chose and why, and bound "
        "violations against numpy's float64 inverse, which must be 0)",
    )
    c.add_argument(
        "--matrices",
        metavar="MATS.npy",
        help="time on these matrices (m, n, n) instead of samples of --region (which is still the region "
        "the certificate uses)",
    )
    c.add_argument(
        "--samples",
        type=int,
        default=certified.CERTIFIED_REGION_COUNT,
        metavar="N",
        help=f"float32 samples of --region (default {certified.CERTIFIED_REGION_COUNT:,})",
    )
    c.add_argument(
        "--tol",
        type=float,
        default=1e-4,
        metavar="TOL",
        help="relative error bound asked of the certified inverse with --region (default 1e-4)",
    )
    c.add_argument("--seed", type=int, default=0, help="sampling seed for --region (default 0)")


def check_args(args) -> None:
    """One-line InputErrors for bad flags; reads --region and --matrices before any section runs."""
    if args.device not in ("cpu", "cuda") and not args.device.startswith("cuda:"):
        raise InputError(f"--device: expected cpu or cuda, got {args.device!r}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device: {args.device!r} requested but CUDA is not available here; use --device cpu")
    for flag, value in [("--repeats", args.repeats), ("--threads", args.threads), ("--train-steps", args.train_steps)]:
        if value is not None and value < (0 if flag == "--train-steps" else 1):
            raise InputError(f"{flag}: expected a positive integer, got {value}")
    if args.max_pass is not None and not args.max_pass > 0:
        raise InputError(f"--max-pass: expected seconds > 0, got {args.max_pass}")
    own = args.region is not None or args.matrices is not None
    if args.sections is None:
        args.sections = "certified" if own else "training,inference,certified"
    if own:
        if args.region is None:
            raise InputError("--matrices: give --region too, the region the certificate is for")
        if "certified" not in args.sections.split(","):
            raise InputError("--region/--matrices: they apply to the certified section; add certified to --sections")
        if args.samples <= 0:
            raise InputError(f"--samples: expected a positive integer, got {args.samples}")
        if not (0 < args.tol < 1):
            raise InputError(f"--tol: expected a number between 0 and 1, got {args.tol}")
        # Read both before any section runs, so bad input fails at once.
        args.region_obj = parse_region(args.region)
        args.matrices_arr = read_own_matrices(args.matrices, args.region_obj.n) if args.matrices is not None else None
    unknown = set(args.sections.split(",")) - {key for key, _, _ in SECTIONS}
    if unknown:
        raise InputError(
            f"--sections: unknown {', '.join(sorted(unknown))}; choose from {', '.join(key for key, _, _ in SECTIONS)}"
        )


def read_own_matrices(path, n: int):
    """--matrices: the user's (m, n, n) matrices, float32 or float64 as stored, checked by the one matrix reader;
    a size other than the region's is an error naming both sizes."""
    a = read_matrices(path, name="--matrices", keep_dtype=True, half=True)
    if a.shape[1] != n:
        raise InputError(f"--matrices: {a.shape[1]}x{a.shape[1]} matrices, but the region is {n}x{n}")
    return a


def settings_for(args) -> Settings:
    """Table 3's settings: quick or full, with --repeats and --max-pass applied."""
    base = Settings.quick() if args.quick else Settings()
    return replace(base, repeats=args.repeats or base.repeats, max_pass_s=args.max_pass or base.max_pass_s)


def say(msg: str) -> None:
    """Progress on stderr."""
    print(f"  {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------------------------------
# Sections. Each is (key, measure(args) -> dict, tables(dict) -> list of (title, headers, rows)); run() measures them in
# order, stores each result under its key in bench.json and prints its tables. A new section (the batched-training
# timings of issue 6, say) is one function pair and one entry in SECTIONS.


def measure_inference(args) -> dict:
    """Table 3 with rooflines: trained networks from --runs or a short training, the machine's rates, then table3."""
    networks = networks_from_runs(args.runs) if args.runs else {}
    steps = args.train_steps if args.train_steps is not None else (0 if args.quick else None)
    missing = [ds for ds in args.datasets if any((ds, m) not in networks for m in args.models)]
    if steps != 0 and missing:
        say(f"short training ({steps or 'quick'} steps, one seed) for the figure's MAE: {', '.join(missing)}")
        trained = short_training(missing, args.models, steps=steps, device=args.device)
        networks = {**trained, **networks}
    say("measuring the machine's GEMM rate, bandwidth and per-op overhead")
    rates = measure_rates(args.device, quick=args.quick)
    return table3(
        args.device,
        datasets=tuple(args.datasets),
        models=tuple(args.models),
        settings=settings_for(args),
        networks=networks,
        rates=rates,
        progress=say,
    )


def measure_training(args) -> dict:
    """The batched ensemble's training step time against a plain one-model loop."""
    say("timing batched-ensemble training against a plain one-model loop (4-32-4, batch 128)")
    steps = (200, 1000) if args.quick else (500, 2500)
    return time_training(steps=steps, repeats=3 if args.quick else 5, device=args.device)


def measure_packing(args) -> dict:
    """A sweep's 24-model pack against one model per trial, one thread each."""
    say("timing a sweep's packing: a 24-model pack against one model per trial, one thread each (a 1-CPU worker)")
    steps = (200, 1000) if args.quick else (500, 2500)
    from neuralinv.sweep.pack_timing import time_packing

    return time_packing(steps=steps, repeats=3 if args.quick else 5, device=args.device)


def measure_certified(args) -> dict:
    """The certified inverse against torch.linalg.inv on the 16x16 box, or on --region when given."""
    from neuralinv.bench.certified import benchmark_certified

    if args.region is not None:
        return measure_certified_region(args)
    say("timing the certified inverse against torch.linalg.inv (16x16 box, 10,000 float32 matrices)")
    repeats = 5 if args.quick else 15
    return {
        "runs": [
            benchmark_certified(
                10_000, 1e-4, residual_dtype="float32", init="taylor1", device=args.device, repeats=repeats
            ),
            benchmark_certified(
                10_000, 1e-6, residual_dtype="float64", init="taylor2", device=args.device, repeats=repeats
            ),
        ]
    }


def measure_certified_region(args) -> dict:
    """The certified inverse on samples of --region (or on --matrices) against the exact inverses."""
    region, matrices = args.region_obj, args.matrices_arr
    what = (
        f"{len(matrices):,} matrices from {args.matrices}"
        if matrices is not None
        else f"{args.samples:,} float32 samples"
    )
    say(
        f"timing the certified inverse against torch.linalg.inv and numpy.linalg.inv on {what} of "
        f"{region.describe()} (CPU)"
    )
    result = certified.certified_on_region(
        region,
        matrices,
        count=args.samples,
        seed=args.seed,
        tol=args.tol,
        repeats=args.repeats or (3 if args.quick else 5),
    )
    result["region_source"] = args.region
    result["matrices_file"] = args.matrices
    return {"region_runs": [result]}


SECTIONS = [
    ("training", measure_training, training_tables),
    ("inference", measure_inference, inference_tables),
    ("certified", measure_certified, certified_tables),
    ("packing", measure_packing, packing_tables),
]


def document(tables, header: str, frontier: str | None = None):
    """bench.md and bench.html: one section per table, and the accuracy-time frontier when measured."""
    from neuralinv.reporting.document import Document, figure, table

    sections = [f"## {title}\n\n" + table(headers, rows) for title, headers, rows in tables]
    if frontier:
        sections.append(
            "## Accuracy against time\n\n"
            + figure(
                "frontier",
                frontier,
                "Test MAE against seconds per 10,000 matrices for every path measured: the lower "
                "left is better; a method is worth its time only if no other is both faster and more accurate.",
            )
        )
    return Document(title="neuralinv bench", html_title="neuralinv bench", header=[header], sections=sections)


def load_note(load: dict | None) -> str:
    """A sentence on the load average during the run, and a warning when other processes shared the CPU."""
    if not load:
        return ""
    note = f" Load average {load['start']:.1f} at the start and {load['end']:.1f} at the end on {load['cores']} cores"
    if max(load["start"], load["end"]) > 0.5 * load["cores"]:
        note += ": other processes shared the CPU, so absolute times are noisy"
    return note + "."


def run(args) -> int:
    """Measure the chosen sections, print their tables (or JSON) and write them under --out."""
    check_args(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    result = {"machine": describe(), "device": args.device, "quick": args.quick, "threads": torch.get_num_threads()}
    tables = []
    chosen = args.sections.split(",")
    for key, measure, make_tables in SECTIONS:
        if key not in chosen:
            continue
        result[key] = measure(args)
        tables += make_tables(result[key])
    result["wall_time_s"] = time.perf_counter() - start
    busy = load_note(result.get("inference", {}).get("load_average"))
    header = (
        f"{machine_line(result['machine'])}; device {args.device}, "
        f"{result['threads']} threads; {'quick' if args.quick else 'full'} settings; "
        f"wall time {result['wall_time_s']:.0f} s. Medians over repeats after warm-up.{busy}"
    )
    if args.out:
        out = Path(args.out)
        write_json(out / "bench.json", result)
        frontier = None
        if "inference" in result:
            frontier_figure(result["inference"], out / "frontier.png")
            frontier = "frontier.png"
        document(tables, header, frontier).write(out, "bench")
    if args.json:
        print_json(result)
        return 0
    print(header)
    for title, headers, rows in tables:
        print(f"\n{title}")
        print_table(headers, rows)
    if args.out:
        print(
            f"\nwrote {args.out}/bench.json, bench.md, bench.html" + (", frontier.png" if "inference" in result else "")
        )
    return 0
