"""Throughput of the certified inverse against torch.linalg.inv, 16x16 preset box, float32 matrices.

Runs neuralinv.certified.solve.benchmark_certified for: tol 1e-4 with a float32 residual (the target: >= 3x
torch.linalg.inv), tol 1e-6 with a float64 residual, and tol 1e-6 with a float32 residual; each at the given thread
counts. Every configuration checks its answers (bound <= tol, error <= bound) before it is timed. Writes
benchmarks/results/certified_inverse.json (atomically) and prints a table.

    .venv/bin/python benchmarks/certified_inverse.py [--count 10000] [--repeats 15] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from neuralinv.bench.certified import benchmark_certified
from neuralinv.cli.output import print_table
from neuralinv.common.files import write_json

CONFIGS = [
    {"tol": 1e-4, "residual_dtype": "float32", "init": "taylor1"},
    {"tol": 1e-6, "residual_dtype": "float64", "init": "taylor2"},
    {"tol": 1e-6, "residual_dtype": "float32", "init": "taylor2"},
]


def main() -> None:
    """Time each configuration, write the results and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, torch.get_num_threads()])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "certified_inverse.json"))
    args = parser.parse_args()
    load_before = os.getloadavg()
    start = time.perf_counter()
    runs = []
    for threads in dict.fromkeys(args.threads):
        for cfg in CONFIGS:
            runs.append(
                benchmark_certified(
                    args.count,
                    cfg["tol"],
                    residual_dtype=cfg["residual_dtype"],
                    init=cfg["init"],
                    device=args.device,
                    repeats=args.repeats,
                    threads=threads,
                )
            )
    result = {
        "benchmark": "certified_inverse",
        "count": args.count,
        "repeats": args.repeats,
        "device": args.device,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "note": "medians of interleaved timings in one run; the machine's cores are shared with other processes "
        "(see the load averages), so absolute times vary between runs more than the ratios do",
        "wall_s": time.perf_counter() - start,
        "runs": runs,
    }
    write_json(args.out, result)
    print_runs(runs)
    print(f"wrote {args.out}")


def print_runs(runs: list[dict]) -> None:
    """One line per configuration and thread count: times, ratio, fallbacks and the bounds' check."""
    print_table(
        [
            "threads",
            "tol",
            "residual",
            "init",
            "certified ms",
            "inv ms",
            "ratio",
            "fallbacks",
            "max bound",
            "max err/bound",
        ],
        [
            [
                r["threads"],
                r["tol"],
                r["residual_dtype"],
                r["init"],
                1e3 * r["certified_s_median"],
                1e3 * r["inv_s_median"],
                r["throughput_ratio"],
                r["fallbacks"],
                r["bound_quantiles"]["max"],
                r["max_error_over_bound"],
            ]
            for r in runs
        ],
    )


if __name__ == "__main__":
    main()
