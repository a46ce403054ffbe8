"""The claim behind the training section of `neuralinv bench`: training k models as one batched ensemble costs less
per model-step than a plain one-model PyTorch loop (nn.Sequential, torch.optim.Adam, the scheduler).

Both are timed by neuralinv.bench.training.time_training in one run (per_step_seconds: the median over repeats of
(t(steps[1]) - t(steps[0])) / (steps[1] - steps[0]), so set-up cancels); the plain loop with the default thread
count and with one thread, the faster being the baseline. It prints both medians and their ratio for each ensemble
size, and exits 1 if the largest ensemble is not faster per model-step than the plain loop.

    python benchmarks/ensemble_training.py            # 500 and 2,500 steps, 5 repeats
    python benchmarks/ensemble_training.py --quick    # 200 and 1,000 steps, 3 repeats
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from neuralinv.bench.training import time_training  # noqa: E402
from neuralinv.common.machine import describe, machine_line  # noqa: E402


def main(argv: list[str]) -> int:
    """Time the two loops, print the medians and ratios, and check the claim."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 and 1,000 steps, 3 repeats")
    parser.add_argument("--models", type=int, nargs="+", default=[1, 6, 24], help="ensemble sizes (default 1 6 24)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    steps, repeats = ((200, 1000), 3) if args.quick else ((500, 2500), 5)
    r = time_training(models=tuple(args.models), steps=steps, repeats=repeats, device=args.device)
    print(machine_line(describe()))
    print(f"{r['model']} on {r['dataset']}, batch {r['batch']}, steps {steps}, medians of {repeats}")
    for threads, seconds in r["plain_step_s"].items():
        print(f"plain loop, {threads} thread(s): {seconds * 1e3:.4f} ms per step")
    print(f"baseline (the faster plain loop): {r['baseline_s'] * 1e3:.4f} ms per step")
    for row in r["rows"]:
        print(
            f"ensemble of {row['models']:>2}: {row['step_s'] * 1e3:.4f} ms per step, "
            f"{row['per_model_s'] * 1e3:.4f} ms per model-step; plain / ensemble = {row['speedup']:.2f}x"
        )
    largest = max(r["rows"], key=lambda row: row["models"])
    faster = largest["speedup"] > 1
    print(f"claim: the {largest['models']}-model ensemble is faster per model-step: {'yes' if faster else 'NO'}")
    return 0 if faster else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
