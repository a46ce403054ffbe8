"""`neuralinv reproduce`: run the paper's experiments into one directory and build the report from the results.

Every step caches its output in the directory (run directories, JSON files), so a second call with the same
directory reuses what already finished. The report is built from results.json alone (see report.py).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from neuralinv.common.errors import InputError
from neuralinv.common.files import write_json
from neuralinv.common.machine import describe
from neuralinv.nets import checkpoint
from neuralinv.nets.mlp import get_model
from neuralinv.paper import numbers as paper
from neuralinv.paper.budgets import get_budget
from neuralinv.paper.presets import TABLE1_DATASETS, TABLE1_MODELS, get_dataset
from neuralinv.training.data import sample_test_set
from neuralinv.training.evaluation import baseline_predictions
from neuralinv.training.metrics import summarize
from neuralinv.training.runs import checkpoint_name, finished, run_group
from neuralinv.training.train import TrainConfig

PARTS = ("table1", "table2", "table3", "figures", "analysis", "limits")

# Exceptions to the presets' quick step counts. The small net is cheap enough for the paper's count; a 16x16 3-FC
# step costs 12 GFLOP for 3 models, so on a 2-core CPU it gets a token run (flagged in the report).
QUICK_STEPS = {("2x2-first", "2fc-small"): 156_250, ("16x16", "3fc"): 60}


def quick_steps(dataset: str, model: str) -> int:
    """The quick budget's step count of a Table 1 cell (the preset's, but for QUICK_STEPS's exceptions)."""
    return QUICK_STEPS.get((dataset, model), get_dataset(dataset).quick_steps)


def cell_config(dataset: str, model: str, budget: str, device: str, steps: int | None = None) -> TrainConfig:
    """The training configuration of one cell (seeds 0, 1, 2) at a budget; steps overrides its step count."""
    if steps is None and budget == "quick":
        steps = quick_steps(dataset, model)
    return TrainConfig.resolve(dataset, model, steps=steps, budget=budget, seeds=(0, 1, 2), device=device)


def training_groups(
    parts: set[str], budget: str, device: str, steps: int | None = None
) -> list[tuple[str, list[TrainConfig]]]:
    """The ensembles to train: cells of one matrix size and model (and step count) share one ensemble."""
    cells = []
    if "table1" in parts or "table2" in parts:
        datasets = TABLE1_DATASETS if "table1" in parts else ("2x2-first",)
        cells += [(d, m) for m in TABLE1_MODELS for d in datasets]
    if "table2" in parts or "analysis" in parts:
        cells.append(("2x2-first", "2fc-small"))
    groups: dict[tuple, list[TrainConfig]] = {}
    for dataset, model in cells:
        config = cell_config(dataset, model, budget, device, steps)
        key = (config.region.n, model, config.steps, config.epoch_steps)
        groups.setdefault(key, []).append(config)
    return [(f"{n}x{n}-{model}", configs) for (n, model, _, _), configs in groups.items()]


def run_dir(out: Path, config: TrainConfig) -> Path:
    """Where a cell's run directory lives under out."""
    return out / "runs" / f"{config.dataset}-{config.model}"


def train_all(
    out: Path,
    parts: set[str],
    budget: str,
    device: str,
    progress: bool,
    steps: int | None = None,
    cluster: dict | None = None,
) -> dict[tuple, dict]:
    """Train every group (locally, or with cluster = {"address", "cpus_per_trial", "gpus_per_trial"} on Ray) and
    return the run summaries keyed by (dataset, model)."""
    groups = [
        (name, configs, [run_dir(out, c) for c in configs])
        for name, configs in training_groups(parts, budget, device, steps)
    ]
    if cluster is not None:
        from neuralinv.sweep.cluster import train_groups

        todo = [g for g in groups if any(finished(d, c) is None for c, d in zip(g[1], g[2]))]
        errors = train_groups(todo, progress=progress, **cluster) if todo else []
        if errors:
            raise InputError("training on the cluster failed for " + "; ".join(errors))
    runs = {}
    for name, configs, dirs in groups:
        summaries = run_group(configs, dirs, state_path=out / "runs" / f".{name}.state.safetensors", progress=progress)
        for config, summary in zip(configs, summaries):
            runs[(config.dataset, config.model)] = summary
    return runs


def table1(runs: dict) -> list[dict]:
    """Table 1's rows: each trained cell's MAE beside the paper's and the linear approximation's."""
    rows = []
    for dataset in TABLE1_DATASETS:
        for model in TABLE1_MODELS:
            run = runs.get((dataset, model))
            if run is None:
                continue
            ours, theirs = run["mae_mean"], paper.TABLE1[(dataset, model)]
            rows.append(
                {
                    "dataset": dataset,
                    "title": get_dataset(dataset).title,
                    "model": model,
                    "model_title": get_model(model).title,
                    "mae_mean": ours,
                    "mae_std": run["mae_std"],
                    "test_mae": run["test_mae"],
                    "linear_mae": run["linear_mae"],
                    "paper_mae": theirs,
                    "ratio": ours / theirs,
                    "flag": ours > 2 * theirs,
                    "beats_linear": ours < run["linear_mae"],
                    "steps": run["steps"],
                    "paper_steps": get_dataset(dataset).paper_steps,
                    "wall_time_s": run["wall_time_s"],
                    "curve": run["curve"],
                }
            )
    return rows


def table2(runs: dict) -> list[dict]:
    """2x2 (First): networks beside the linear approximation and the classical methods the paper leaves out."""
    box = get_dataset("2x2-first").region
    first = runs.get(("2x2-first", "2fc")) or runs.get(("2x2-first", "2fc-small"))
    test_size = first["config"]["test_size"] if first else 10_000
    a, _ = sample_test_set(box, test_size)
    a_inv = torch.from_numpy(np.linalg.inv(a.numpy()))
    classical = {k: summarize(x, a_inv)["mae"] for k, x in baseline_predictions(box, a, a_inv).items()}
    rows = [
        {
            "method": "taylor1",
            "label": "Linear approximation (Taylor-1, Eq. 10)",
            "mae": classical["taylor1"],
            "paper": paper.TABLE2["taylor1"],
        }
    ]
    for model in ("2fc-small", "2fc", "3fc"):
        run = runs.get(("2x2-first", model))
        if run is not None:
            rows.append(
                {
                    "method": model,
                    "label": get_model(model).title + (" (h = 8)" if model == "2fc-small" else ""),
                    "mae": run["mae_mean"],
                    "mae_std": run["mae_std"],
                    "paper": paper.TABLE2[model],
                    "steps": run["steps"],
                    "paper_steps": get_dataset("2x2-first").paper_steps,
                }
            )
    rows += [
        {
            "method": "taylor2",
            "label": "Second-order Taylor (not in the paper)",
            "mae": classical["taylor2"],
            "paper": None,
        },
        {
            "method": "taylor1+ns1",
            "label": "Linear + one Newton-Schulz step (not in the paper)",
            "mae": classical["taylor1+ns1"],
            "paper": None,
        },
    ]
    for row in rows:
        row["ratio"] = row["mae"] / row["paper"] if row["paper"] else None
        row["flag"] = bool(row["paper"]) and row["mae"] > 2 * row["paper"]
    return rows


def light(budget: str) -> str:
    """The settings of the parts that do not train Table 1 (timing, why can't): "fast" runs them as "quick" does."""
    return get_budget(budget).light


def cached(path: Path, compute):
    """JSON at path if a previous call wrote it, else compute() written there."""
    if path.is_file():
        return json.loads(path.read_text())
    value = compute()
    write_json(path, value)
    return value


class _Steps:
    """Runs the pipeline's named steps, saying each one's name first (when progress is on) and timing it."""

    def __init__(self, progress: bool):
        self.say = print if progress else (lambda *_, **__: None)
        self.timings: dict[str, float] = {}

    def __call__(self, name: str, fn):
        t = time.perf_counter()
        self.say(f"[reproduce] {name} ...", flush=True)
        value = fn()
        self.timings[name] = time.perf_counter() - t
        return value


def _check_request(budget: str, only: list[str] | None, device: str, address: str | None) -> set[str]:
    """The parts to run, after checking the budget, the part names, the device and the cluster's address."""
    get_budget(budget)
    parts = set(only or PARTS)
    unknown = parts - set(PARTS)
    if unknown:
        raise InputError(f"--only: unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device: {device!r} requested but CUDA is not available here; use --device cpu")
    if address is not None:
        from neuralinv.sweep.cluster import reachable

        reachable(address)
    return parts


def _analysis(out: Path, budget: str, device: str, steps: int | None) -> dict:
    """What the small network learned, from the first seed of the 2x2 (First) 2-FC (h = 8) run."""
    from neuralinv.experiments.analysis import report_section as analysis_section

    ckpt = run_dir(out, cell_config("2x2-first", "2fc-small", budget, device, steps)) / checkpoint_name(0)
    samples = 1_000_000
    return cached(out / f"analysis-{budget}.json", lambda: analysis_section(ckpt, out, samples=samples))


def _limits(out: Path, budget: str, progress: bool) -> dict:
    """The why-can't experiments."""
    from neuralinv.experiments.limits import report_section as limits_section

    return cached(out / f"limits-{budget}.json", lambda: limits_section(out, budget=light(budget), progress=progress))


def _run_parts(results: dict, parts: set[str], runs: dict, out: Path, step: _Steps, **how) -> None:
    """Each requested part after training into results (how: budget, device, steps, progress)."""
    budget, device = how["budget"], how["device"]
    if "table1" in parts:
        results["table1"] = table1(runs)
    if "table2" in parts:
        results["table2"] = step("table 2 baselines", lambda: table2(runs))
    if "table3" in parts:
        results["table3"] = step(
            "table 3 timing",
            lambda: cached(
                out / f"table3-{budget}.json", lambda: time_table3(runs, out, budget, device, how["progress"])
            ),
        )
    if "figures" in parts:
        from neuralinv.reproduce.figures import meps_slices

        results["figures"] = step("figures 1-2", lambda: meps_slices(out))
    if "analysis" in parts:
        results["analysis"] = step("what the network learned", lambda: _analysis(out, budget, device, how["steps"]))
    if "limits" in parts:
        results["limits"] = step("why can't", lambda: _limits(out, budget, how["progress"]))


def reproduce(
    out: str | Path,
    *,
    budget: str = "quick",
    only: list[str] | None = None,
    device: str = "cpu",
    progress: bool = True,
    steps: int | None = None,
    address: str | None = None,
    cpus_per_trial: int = 1,
    gpus_per_trial: float = 0,
) -> dict:
    """Run the selected parts into out and write results.json, report.md, report.html and the figures.

    steps, when given, overrides every cell's step count (smoke tests); the report shows it beside the paper's.
    address: train the Table 1 groups as tasks on the Ray cluster there (GPUs with gpus_per_trial > 0); everything
    else runs here.
    """
    from neuralinv.reproduce import report

    parts = _check_request(budget, only, device, address)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    step = _Steps(progress)
    results = {
        "budget": budget,
        "device": device,
        "parts": sorted(parts, key=PARTS.index),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": describe(),
    }
    if steps is not None and steps <= 0:
        raise InputError(f"steps: expected a positive integer, got {steps}")
    results["steps_override"] = steps
    cluster = (
        None
        if address is None
        else {"address": address, "cpus_per_trial": cpus_per_trial, "gpus_per_trial": gpus_per_trial}
    )
    results["cluster"] = cluster
    runs = step("training", lambda: train_all(out, parts, budget, device, progress, steps, cluster))
    _run_parts(results, parts, runs, out, step, budget=budget, device=device, steps=steps, progress=progress)
    results["timings_s"] = step.timings
    results["wall_time_s"] = time.perf_counter() - start
    write_json(out / "results.json", results)
    report.write(out)
    step.say(f"[reproduce] wrote {out / 'report.md'} and {out / 'report.html'} in {results['wall_time_s']:.0f} s")
    return results


def time_table3(runs: dict, out: Path, budget: str, device: str, progress: bool) -> dict:
    """Table 3: the timing benchmark on the Table 1 networks (first seed), quick settings unless the budget is paper."""
    from neuralinv.bench.table3 import Settings, table3

    networks = {}
    for (dataset, model), run in runs.items():
        if dataset in TABLE1_DATASETS and model in TABLE1_MODELS:
            networks[(dataset, model)] = checkpoint.load_network(
                out / "runs" / f"{dataset}-{model}" / checkpoint_name(0)
            )
    settings = Settings.quick() if light(budget) == "quick" else Settings()
    say = (lambda msg: print(f"  {msg}", flush=True)) if progress else None
    return table3(device, settings=settings, networks=networks, progress=say)
