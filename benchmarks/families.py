"""certified_inverse(method="auto") on real matrix families against the faster of torch.linalg.inv and numpy.linalg.inv.

For each family of neuralinv.regions.families (bootstrap covariances and correlations of scikit-learn's bundled data
sets, Lorenz-96 implicit-Euler matrices, FPU chain Hessians), a region is fitted on one draw (fit_region, seed 1) and
the timed batch is another draw (seed 0) of --count matrices. Every answer is first checked against numpy's float64
inverse (bound violations must be 0). Then auto, torch.linalg.inv and numpy.linalg.inv are timed on the same batch,
interleaved, after warm-up; medians give the ratios. Also runs the 16x16 preset (float32, tol 1e-4) against
torch.linalg.inv. Writes benchmarks/results/families.json and .md (atomically) and prints the table.

    .venv/bin/python benchmarks/families.py [--count 20000] [--repeats 9] [--threads 2] [--dtype float64 float32]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch

from neuralinv.bench.certified import benchmark_certified
from neuralinv.certified.solve import certified_inverse
from neuralinv.cli.output import print_table
from neuralinv.common.files import write_json, write_text
from neuralinv.common.machine import cpu_name
from neuralinv.common.timing import time_interleaved
from neuralinv.regions.families import make_family
from neuralinv.regions.fit import fit_region

FAMILIES = [
    "wine-correlation",
    "wine-covariance",
    "diabetes-correlation",
    "breast-cancer-correlation",
    "lorenz96-jacobian",
    "fpu-hessian",
]


def median_times(fns: dict, repeats: int) -> dict:
    """Median seconds of each callable, run interleaved (one of each per round) after one warm-up round."""
    return {k: t.median for k, t in time_interleaved(fns, warmup=1, repeats=repeats).items()}


def measure(name: str, count: int, dtype: str, tol: float, repeats: int) -> dict:
    """One family: the certified inverse's answers checked against numpy's float64 inverse, then timed."""
    a = make_family(name, count, seed=0).astype(dtype)
    region = fit_region(make_family(name, 5000, seed=1))
    res = certified_inverse(a, region=region, tol=tol)
    ref = np.linalg.inv(a.astype(np.float64))
    err = np.linalg.norm(res.inverse - ref, axis=(-2, -1)) / np.linalg.norm(ref, axis=(-2, -1))
    t = torch.from_numpy(a)
    times = median_times(
        {
            "auto": lambda: certified_inverse(a, region=region, tol=tol),
            "torch": lambda: torch.linalg.inv(t),
            "numpy": lambda: np.linalg.inv(a),
        },
        repeats,
    )
    fast = certified_inverse(a, region=region, tol=tol, method="fast", max_steps=6)
    best = min(times["torch"], times["numpy"])
    ok = ~fast.fallback
    return {
        "family": name,
        "n": int(a.shape[-1]),
        "dtype": dtype,
        "count": count,
        "tol": tol,
        "region": region.describe(),
        "certified_distance": region.certified_distance,
        "violations": int((err > res.bound).sum()),
        "max_error_over_bound": float((err / res.bound).max()),
        "auto_chosen": res.route["chosen"],
        "auto_why": res.route["why"],
        "exact_path": res.route["exact_path"],
        "auto_fast_share": float((~res.fallback).mean()),
        "fast_share_within_6_steps": float(ok.mean()),
        "fast_share_within_3_steps": float((ok & (fast.steps <= 3)).mean()),
        "auto_s": times["auto"],
        "torch_inv_s": times["torch"],
        "numpy_inv_s": times["numpy"],
        "auto_vs_best_exact": times["auto"] / best,
        "speedup_vs_best_exact": best / times["auto"],
    }


def markdown(rows: list[dict], preset: dict, header: str) -> str:
    """The results as families.md."""
    lines = [
        header,
        "",
        "| family | n | dtype | auto chose | fast share | certify in <= 3 steps | auto | torch.inv | "
        "numpy.inv | auto / best exact | violations |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['family']} | {r['n']} | {r['dtype']} | {r['auto_chosen']} | {r['auto_fast_share']:.1%} | "
            f"{r['fast_share_within_3_steps']:.1%} | {r['auto_s'] * 1e3:.1f} ms | "
            f"{r['torch_inv_s'] * 1e3:.1f} ms | {r['numpy_inv_s'] * 1e3:.1f} ms | "
            f"**{r['auto_vs_best_exact']:.2f}** | {r['violations']} |"
        )
    lines += [
        "",
        f"16x16 preset, {preset['count']} float32 matrices, tol {preset['tol']:g}: certified inverse "
        f"{preset['certified_s_median'] * 1e3:.1f} ms, torch.linalg.inv {preset['inv_s_median'] * 1e3:.1f} ms, "
        f"**{preset['throughput_ratio']:.2f}x** ({preset['route']['chosen']} path; all bounds within tol: "
        f"{preset['all_bounds_within_tol']}; all errors within bound: {preset['all_errors_within_bound']})",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Measure every family, write the results and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"])
    parser.add_argument("--families", nargs="+", default=FAMILIES)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "families"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    rows = []
    for dtype in args.dtype:
        for name in args.families:
            rows.append(measure(name, args.count, dtype, args.tol, args.repeats))
            r = rows[-1]
            print(
                f"{name} {dtype}: auto {r['auto_vs_best_exact']:.2f}x the best exact ({r['auto_chosen']}), "
                f"violations {r['violations']}",
                flush=True,
            )
    preset = benchmark_certified(10_000, args.tol, residual_dtype=None, repeats=max(args.repeats, 9))
    load_after = os.getloadavg()
    header = (
        f"Measured on {cpu_name()}, {os.cpu_count()} cores, {args.threads} torch threads, torch "
        f"{torch.__version__}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        f"medians of {args.repeats} interleaved runs after warm-up."
    )
    out = Path(args.out)
    write_json(
        out.with_suffix(".json"),
        {"header": header, "families": rows, "preset_16x16": preset, "threads": args.threads, "cpu": cpu_name()},
    )
    write_text(out.with_suffix(".md"), markdown(rows, preset, header))
    print(header)
    print_table(
        ["family", "dtype", "chose", "fast", "auto ms", "best exact ms", "auto/best", "violations"],
        [
            [
                r["family"],
                r["dtype"],
                r["auto_chosen"],
                f"{r['auto_fast_share']:.0%}",
                r["auto_s"] * 1e3,
                min(r["torch_inv_s"], r["numpy_inv_s"]) * 1e3,
                r["auto_vs_best_exact"],
                r["violations"],
            ]
            for r in rows
        ],
    )
    print(f"16x16 preset: {preset['throughput_ratio']:.2f}x torch.linalg.inv ({preset['route']['chosen']})")


if __name__ == "__main__":
    main()
