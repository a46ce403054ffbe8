"""Train the 18 runs of Table 1's 2x2 and 3x3 cells (2 data sets x 2 models x 3 seeds for 2x2, 2 x 3 for 3x3)
at the paper's full step counts, as `neuralinv reproduce --budget paper` groups them, and time it.

    python benchmarks/train_table1.py [--out runs/paper] [--steps-scale 1.0]

The run directories land where `neuralinv reproduce --budget paper --out DIR` looks for them, so a later reproduce
reuses them. Writes benchmarks/results/train_table1.json (wall time per group and in all, MAE per cell, machine).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from neuralinv.common.files import write_json
from neuralinv.common.machine import describe
from neuralinv.reproduce.pipeline import run_dir, training_groups
from neuralinv.training.runs import run_group


def main() -> None:
    """Train the 2x2 and 3x3 cells of Table 1 as reproduce groups them, and write the wall times and MAEs."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/paper", help="reproduce directory to train into (default runs/paper)")
    parser.add_argument("--results", default=str(Path(__file__).parent / "results" / "train_table1.json"))
    args = parser.parse_args()
    out = Path(args.out)
    groups = [
        (name, configs) for name, configs in training_groups({"table1"}, "paper", "cpu") if configs[0].region.n <= 3
    ]
    report = {"machine": describe(), "groups": {}, "cells": {}}
    start = time.perf_counter()
    for name, configs in groups:
        t = time.perf_counter()
        summaries = run_group(
            configs, [run_dir(out, c) for c in configs], state_path=out / "runs" / f".{name}.state.safetensors"
        )
        report["groups"][name] = {
            "models": sum(len(c.seeds) for c in configs),
            "steps": configs[0].steps,
            "wall_time_s": time.perf_counter() - t,
            "train_time_s": summaries[0]["wall_time_s"],
        }
        for c, s in zip(configs, summaries):
            report["cells"][f"{c.dataset} {c.model}"] = {
                "mae_mean": s["mae_mean"],
                "mae_std": s["mae_std"],
                "test_mae": s["test_mae"],
                "linear_mae": s["linear_mae"],
            }
        print(name, report["groups"][name], flush=True)
    report["runs"] = sum(g["models"] for g in report["groups"].values())
    report["wall_time_s"] = time.perf_counter() - start
    write_json(args.results, report)
    print(f"{report['runs']} runs in {report['wall_time_s']:.0f} s; wrote {args.results}")


if __name__ == "__main__":
    main()
