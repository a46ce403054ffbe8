"""neuralinv bench: fair timing tables (Table 3 and beyond), roofline ratios and the accuracy-versus-time figure."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from neuralinv.bench import certified
from neuralinv.bench import core as bench
from neuralinv.cli.output import print_json, print_table
from neuralinv.common.errors import InputError
from neuralinv.common.files import write_json
from neuralinv.common.machine import describe, machine_line
from neuralinv.nets.mlp import MODELS
from neuralinv.paper.presets import DATASETS
from neuralinv.reporting.formats import short


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="timing tables: Table 3, roofline ratios, accuracy against time",
        description="Time every inverse path fairly (warm-up, repeats, medians, synchronised devices) on 10,000 "
        "matrices of each data set at batch 1 (a Python loop of single calls, as the paper measured), "
        "100 and 10,000: each Table 1 network three ways (full: matrices in, inverses out through the "
        "fast path; plain: Network.__call__; mlp: the raw forward on encoded inputs), beside the exact "
        "paths (closed form for n <= 3, numpy and torch batched LAPACK), Taylor-1, Taylor-2 and "
        "Taylor-1 + one Newton-Schulz step, with the paper's Table 3 times. Each network's time at "
        "batch 10,000 is compared with its roofline bound, max(FLOPs / GEMM rate, bytes / bandwidth), "
        "both rates measured in the same run. Writes DIR/bench.json, DIR/bench.md, DIR/bench.html and "
        "DIR/frontier.png (MAE against seconds, log-log, one panel per data set). With --region (a preset "
        "or a region file of any shape) the certified section times certified_inverse(method='auto') on "
        "samples of that region, or on --matrices, against torch.linalg.inv and numpy.linalg.inv instead.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="fewer repeats (3) and shorter timed loops (long batch-1 loops measured on a prefix and "
        "scaled); no training for the figure unless --train-steps is given",
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument(
        "--datasets",
        nargs="+",
        choices=list(DATASETS),
        default=list(bench.TABLE1_DATASETS),
        metavar="NAME",
        help="data sets (default: all four of Table 1)",
    )
    p.add_argument(
        "--models",
        nargs="+",
        choices=[m for m in MODELS],
        default=list(bench.TABLE1_MODELS),
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
    p.add_argument(
        "--sections",
        default=None,
        metavar="LIST",
        help="which parts to run, comma-separated: training (batched ensemble vs a plain loop), inference "
        "(Table 3, rooflines, frontier), certified (certified inverse vs torch.linalg.inv), packing "
        "(a sweep's 24-model pack vs one model per trial) (default: training, inference, certified; "
        "only certified with --region or --matrices)",
    )
    c = p.add_argument_group("certified inverse on a region of one's own")
    c.add_argument(
        "--region",
        metavar="NAME|FILE",
        help="time certified_inverse(region=REGION, method='auto') against torch.linalg.inv and "
        "numpy.linalg.inv on samples of this region (a preset name, a region file of any shape or a "
        "region's JSON as text), on the CPU: the ratio, the fast-path share, the route auto chose and "
        "why, and bound violations against numpy's float64 inverse (must be 0)",
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
    p.add_argument(
        "--out", default=None, metavar="DIR", help="write bench.json, bench.md, bench.html and frontier.png here"
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    p.set_defaults(run=run)


def check_args(args) -> None:
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
        from neuralinv.cli.limits import parse_region

        args.region_obj = parse_region(args.region)
        args.matrices_arr = bench.load_matrices(args.matrices, args.region_obj.n) if args.matrices is not None else None
    unknown = set(args.sections.split(",")) - {key for key, _, _ in SECTIONS}
    if unknown:
        raise InputError(
            f"--sections: unknown {', '.join(sorted(unknown))}; choose from {', '.join(key for key, _, _ in SECTIONS)}"
        )


def settings_for(args) -> bench.Settings:
    base = bench.Settings.quick() if args.quick else bench.Settings()
    return replace(base, repeats=args.repeats or base.repeats, max_pass_s=args.max_pass or base.max_pass_s)


def say(msg: str) -> None:
    print(f"  {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------------------------------
# Sections. Each is (key, measure(args) -> dict, tables(dict) -> list of (title, headers, rows)); run() measures them in
# order, stores each result under its key in bench.json and prints its tables. A new section (the batched-training
# timings of issue 6, say) is one function pair and one entry in SECTIONS.


def measure_inference(args) -> dict:
    networks = bench.networks_from_runs(args.runs) if args.runs else {}
    steps = args.train_steps if args.train_steps is not None else (0 if args.quick else None)
    missing = [ds for ds in args.datasets if any((ds, m) not in networks for m in args.models)]
    if steps != 0 and missing:
        say(f"short training ({steps or 'quick'} steps, one seed) for the figure's MAE: {', '.join(missing)}")
        trained = bench.short_training(missing, args.models, steps=steps, device=args.device)
        networks = {**trained, **networks}
    say("measuring the machine's GEMM rate, bandwidth and per-op overhead")
    rates = bench.measure_rates(args.device, quick=args.quick)
    return bench.table3(
        args.device,
        datasets=tuple(args.datasets),
        models=tuple(args.models),
        settings=settings_for(args),
        networks=networks,
        rates=rates,
        progress=say,
    )


def inference_tables(result: dict) -> list[tuple[str, list[str], list[list]]]:
    rows = result["rows"]
    batches = [str(b) for b in result["settings"]["batches"]]
    gpu = result["device"].startswith("cuda")
    seconds = {b: (lambda r, b=b: short(r["times"][b]["seconds"]) if b in r["times"] else "-") for b in batches}
    paper_key = {"1": "gpu_bs1" if gpu else "cpu_bs1", "100": "gpu_bs100", "10000": "gpu_bs10000"}

    def paper(r, b):
        p = r.get("paper") or {}
        key = paper_key.get(b)
        return short(p.get(key)) if key and (gpu or b == "1") else "-"

    head = [f"bs {int(b):,}" for b in batches]
    paper_head = [
        f"paper {'GPU' if gpu or b != '1' else 'CPU'} bs {int(b):,}"
        for b in batches
        if b in paper_key and (gpu or b == "1")
    ]
    nets = [r for r in rows if r["kind"] == "network"]
    t3 = [
        [
            r["method"],
            r["dataset"],
            r["variant"],
            short(r["mae"]) if r["variant"] == "full" else "",
            f"{r['steps']:,}" if r.get("steps") and r["variant"] == "full" else "",
            *[seconds[b](r) for b in batches],
            *[paper(r, b) for b in batches if b in paper_key and (gpu or b == "1")],
        ]
        for r in nets
    ]
    cls = [
        [
            r["method"],
            r["dataset"],
            short(r["mae"]),
            *[seconds[b](r) for b in batches],
            short((bench.paper_times("2fc", r["n"]) or {}).get("exact_cpu")) if r["kind"] == "exact" else "-",
        ]
        for r in rows
        if r["kind"] != "network"
    ]
    roof = [
        [
            r["method"],
            r["dataset"],
            r["variant"],
            f"{r['flops']:.3g}",
            f"{r['bytes']:.3g}",
            f"{r['bound_s'] * 1e3:.3g}",
            f"{r['seconds'] * 1e3:.3g}",
            f"{r['ratio']:.2f}",
            "yes" if r["ratio"] <= bench.ROOFLINE_TARGET else "NO",
            r.get("miss") or "",
        ]
        for r in nets
        if "ratio" in r
    ]
    rates = result["rates"]
    big = f"{int(batches[-1]):,}"
    return [
        (
            f"Table 3: seconds per 10,000 matrices, networks ({result['device']}, {result['threads']} threads; "
            f"paper: {bench.PAPER_MACHINE})",
            ["model", "data set", "path", "MAE", "trained steps", *head, *paper_head],
            t3,
        ),
        (
            "Exact and classical paths: MAE against numpy float64 inverse, seconds per 10,000 matrices",
            ["method", "data set", "MAE", *head, "paper exact CPU"],
            cls,
        ),
        (
            f"Roofline at batch {big}: GEMM {rates['gemm_flops'] / 1e9:.3g} GFLOP/s, copy "
            f"{rates['bandwidth'] / 1e9:.3g} GB/s, {rates['op_overhead_s'] * 1e6:.2g} us per op "
            "(measured now, best of repeats); "
            f"target <= {bench.ROOFLINE_TARGET:g}x",
            ["model", "data set", "path", "FLOPs", "min bytes", "bound ms", "time ms", "ratio", "within", "why not"],
            roof,
        ),
    ]


def measure_training(args) -> dict:
    say("timing batched-ensemble training against a plain one-model loop (4-32-4, batch 128)")
    steps = (200, 1000) if args.quick else (500, 2500)
    return bench.time_training(steps=steps, repeats=3 if args.quick else 5, device=args.device)


def training_tables(result: dict) -> list[tuple[str, list[str], list[list]]]:
    plain = ", ".join(f"{t} thread(s) {v * 1e3:.3f} ms" for t, v in result["plain_step_s"].items())
    rows = [
        [r["models"], f"{r['step_s'] * 1e3:.3f}", f"{r['per_model_s'] * 1e3:.4f}", f"{r['speedup']:.1f}x"]
        for r in result["rows"]
    ]
    return [
        (
            f"Training step time, {result['model']} on {result['dataset']}, batch {result['batch']} "
            f"(plain nn.Sequential + torch.optim.Adam loop: {plain}; the faster is the baseline)",
            ["models in the ensemble", "ms per step", "ms per model-step", "speed-up over plain"],
            rows,
        )
    ]


def measure_packing(args) -> dict:
    say("timing a sweep's packing: a 24-model pack against one model per trial, one thread each (a 1-CPU worker)")
    steps = (200, 1000) if args.quick else (500, 2500)
    from neuralinv.sweep.pack_timing import time_packing

    return time_packing(steps=steps, repeats=3 if args.quick else 5, device=args.device)


def packing_tables(result: dict) -> list[tuple[str, list[str], list[list]]]:
    rows = [
        [
            r["n"],
            r["model"],
            "-".join(map(str, r["layer_sizes"])),
            f"{r['single_model_step_s'] * 1e3:.4f}",
            f"{r['packed_model_step_s'] * 1e3:.4f}",
            f"{r['speedup']:.2f}x",
        ]
        for r in result["rows"]
    ]
    return [
        (
            f"Sweep packing: ms per model-step, {result['rows'][0]['pack']}-model pack against one model per trial "
            f"(batch {result['batch']}, {result['threads']} thread, the share of a 1-CPU Ray trial)",
            ["n", "model", "layers", "one model per trial", "in a pack", "pack speed-up"],
            rows,
        )
    ]


def measure_certified(args) -> dict:
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


def certified_region_tables(result: dict) -> list[tuple[str, list[str], list[list]]]:
    tables = []
    for r in result["region_runs"]:
        a = r["assess"]
        what = (
            f"{r['count']:,} {r['input_dtype']} matrices from {r['matrices_file']}"
            if r["source"] == "matrices"
            else f"{r['count']:,} {r['input_dtype']} samples (seed {r['seed']})"
        )
        rows = [
            [
                r["tol"],
                f"{a['auto_s'] * 1e3:.2f}",
                f"{a['torch_inv_s'] * 1e3:.2f}",
                f"{a['numpy_inv_s'] * 1e3:.2f}",
                f"{r['ratio_vs_torch']:.2f}x",
                f"{r['ratio_vs_numpy']:.2f}x",
                f"{100 * a['auto_fast_share']:.1f}%",
                f"{100 * a['fast_share']:.1f}%",
                r["route_chosen"],
                r["violations_total"],
            ]
        ]
        tables.append(
            (
                f"Certified inverse on --region {r['region_source']} ({r['region_text']}), {what}, CPU; "
                f"ratio > 1: faster than the exact inverse. auto chose {r['route_chosen']}: {r['route_why']}",
                [
                    "tol",
                    "certified ms",
                    "torch.linalg.inv ms",
                    "numpy.linalg.inv ms",
                    "ratio vs torch",
                    "ratio vs numpy",
                    "fast-path share (auto)",
                    "fast path certifies",
                    "route",
                    "bound violations",
                ],
                rows,
            )
        )
    return tables


def certified_tables(result: dict) -> list[tuple[str, list[str], list[list]]]:
    if "region_runs" in result:
        return certified_region_tables(result)
    rows = [
        [
            r["tol"],
            r["residual_dtype"],
            r["init"],
            f"{r['certified_s_median'] * 1e3:.2f}",
            f"{r['inv_s_median'] * 1e3:.2f}",
            f"{r['throughput_ratio']:.2f}x",
            r["fallbacks"],
            f"{r['bound_quantiles']['max']:.2e}",
            f"{r['max_error_over_bound']:.2f}",
        ]
        for r in result["runs"]
    ]
    return [
        (
            "Certified inverse, 16x16 box, 10,000 float32 matrices (same run as torch.linalg.inv)",
            [
                "tol",
                "residual",
                "init",
                "certified ms",
                "torch.linalg.inv ms",
                "throughput ratio",
                "fallbacks",
                "max bound",
                "max error / bound",
            ],
            rows,
        )
    ]


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
    if not load:
        return ""
    note = f" Load average {load['start']:.1f} at the start and {load['end']:.1f} at the end on {load['cores']} cores"
    if max(load["start"], load["end"]) > 0.5 * load["cores"]:
        note += ": other processes shared the CPU, so absolute times are noisy"
    return note + "."


def run(args) -> int:
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
            bench.frontier_figure(result["inference"], out / "frontier.png")
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
