"""The tables of `neuralinv bench`: each section's result (a dict, as stored in bench.json) as a list of
(title, headers, rows), for the terminal, bench.md and bench.html."""

from __future__ import annotations

from neuralinv.bench.roofline import ROOFLINE_TARGET
from neuralinv.bench.table3 import PAPER_MACHINE, paper_times
from neuralinv.reporting.formats import short

# The paper's Table 3 column at each batch size, as (CPU key, GPU key): on a CPU only batch 1 has one.
PAPER_KEYS = {"1": ("cpu_bs1", "gpu_bs1"), "100": (None, "gpu_bs100"), "10000": (None, "gpu_bs10000")}


def inference_tables(result: dict) -> list[tuple[str, list[str], list[list]]]:
    """Table 3 (networks), the exact and classical paths, and the rooflines, as (title, headers, rows)."""
    batches = [str(b) for b in result["settings"]["batches"]]
    gpu = result["device"].startswith("cuda")
    head = [f"bs {int(b):,}" for b in batches]
    paper_batches = [b for b in batches if b in PAPER_KEYS and PAPER_KEYS[b][gpu]]
    paper_head = [f"paper {'GPU' if gpu or b != '1' else 'CPU'} bs {int(b):,}" for b in paper_batches]
    nets = [r for r in result["rows"] if r["kind"] == "network"]
    rates = result["rates"]
    return [
        (
            f"Table 3: seconds per 10,000 matrices, networks ({result['device']}, {result['threads']} threads; "
            f"paper: {PAPER_MACHINE})",
            ["model", "data set", "path", "MAE", "trained steps", *head, *paper_head],
            [network_row(r, batches, paper_batches, gpu) for r in nets],
        ),
        (
            "Exact and classical paths: MAE against numpy float64 inverse, seconds per 10,000 matrices",
            ["method", "data set", "MAE", *head, "paper exact CPU"],
            [classical_row(r, batches) for r in result["rows"] if r["kind"] != "network"],
        ),
        (
            f"Roofline at batch {int(batches[-1]):,}: GEMM {rates['gemm_flops'] / 1e9:.3g} GFLOP/s, copy "
            f"{rates['bandwidth'] / 1e9:.3g} GB/s, {rates['op_overhead_s'] * 1e6:.2g} us per op "
            "(measured now, best of repeats); "
            f"target <= {ROOFLINE_TARGET:g}x",
            ["model", "data set", "path", "FLOPs", "min bytes", "bound ms", "time ms", "ratio", "within", "why not"],
            [roofline_row(r) for r in nets if "ratio" in r],
        ),
    ]


def batch_seconds(row: dict, batches: list[str]) -> list[str]:
    """A row's seconds per 10,000 matrices at each batch size, "-" where not measured."""
    return [short(row["times"][b]["seconds"]) if b in row["times"] else "-" for b in batches]


def network_row(r: dict, batches: list[str], paper_batches: list[str], gpu: bool) -> list:
    """One network path of Table 3: its MAE and steps (full path only), its times and the paper's."""
    paper = r.get("paper") or {}
    return [
        r["method"],
        r["dataset"],
        r["variant"],
        short(r["mae"]) if r["variant"] == "full" else "",
        f"{r['steps']:,}" if r.get("steps") and r["variant"] == "full" else "",
        *batch_seconds(r, batches),
        *[short(paper.get(PAPER_KEYS[b][gpu])) for b in paper_batches],
    ]


def classical_row(r: dict, batches: list[str]) -> list:
    """One exact or classical path: its MAE, its times and, for an exact path, the paper's exact CPU time."""
    exact_cpu = short((paper_times("2fc", r["n"]) or {}).get("exact_cpu")) if r["kind"] == "exact" else "-"
    return [r["method"], r["dataset"], short(r["mae"]), *batch_seconds(r, batches), exact_cpu]


def roofline_row(r: dict) -> list:
    """One network path against its roofline bound at the largest batch."""
    return [
        r["method"],
        r["dataset"],
        r["variant"],
        f"{r['flops']:.3g}",
        f"{r['bytes']:.3g}",
        f"{r['bound_s'] * 1e3:.3g}",
        f"{r['seconds'] * 1e3:.3g}",
        f"{r['ratio']:.2f}",
        "yes" if r["ratio"] <= ROOFLINE_TARGET else "NO",
        r.get("miss") or "",
    ]


def training_tables(result: dict) -> list[tuple[str, list[str], list[list]]]:
    """The training section's table: step times and speed-ups per ensemble size."""
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


def packing_tables(result: dict) -> list[tuple[str, list[str], list[list]]]:
    """The packing section's table: ms per model-step alone and in a pack."""
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


def certified_region_tables(result: dict) -> list[tuple[str, list[str], list[list]]]:
    """One table per --region run: times, ratios, fast-path shares, the route and bound violations."""
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
    """The certified section's table (or the --region tables)."""
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
