"""The inference benchmark behind issue 6's numbers: Table 3, roofline ratios and the accuracy-versus-time figure.

It runs `neuralinv bench` (see `neuralinv bench --help`) and, unless --out is given, writes bench.json, bench.md and
frontier.png to benchmarks/results/inference-<device>/. It runs from a checkout without installing (src/ is put on
the path), so the GPU machine's own PyTorch can run it.

    python benchmarks/inference.py                          # CPU, full settings
    python benchmarks/inference.py --threads 1 --quick      # any `neuralinv bench` flag passes through
    python benchmarks/inference.py --device cuda --out DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from neuralinv.cli import main  # noqa: E402


def run(argv: list[str]) -> int:
    """`neuralinv bench` with argv, on the CPU and into benchmarks/results/inference-<device>/ unless given."""
    args = list(argv)
    if "--device" not in args:
        args += ["--device", "cpu"]
    if "--out" not in args:
        device = args[args.index("--device") + 1].split(":")[0]
        args += ["--out", str(ROOT / "benchmarks" / "results" / f"inference-{device}")]
    return main(["bench", *args])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
