"""The columns of a sweep's results.csv (one row per trial and seed): written by sweep.run, read by the atlas."""

from __future__ import annotations

from neuralinv.linalg.classical import METHODS, OLD_NAMES

# A classical method's columns are named by linalg.classical's vocabulary (taylor1_mae, ..., taylor1+ns1_mae).
CLASSICAL_MAE = [f"{m}_mae" for m in METHODS]
CLASSICAL_SECONDS = [f"{m}_seconds_per_10k" for m in METHODS]

COLUMNS = [
    "trial_id",
    "n",
    "center",
    "radius",
    "relative_radius",
    "model",
    "depth",
    "width",
    "lr",
    "steps",
    "batch_size",
    "schedule",
    "seed",
    "status",
    "error",
    "mae",
    "max_error",
    *CLASSICAL_MAE,
    "net_seconds_per_10k",
    *CLASSICAL_SECONDS,
    "exact_seconds_per_10k",
    "train_seconds",
    "final_loss",
    "node",
]
INTEGERS = ["n", "depth", "width", "steps", "batch_size", "seed"]
TEXT = ["trial_id", "center", "model", "schedule", "status", "error", "node"]
FLOATS = [c for c in COLUMNS if c not in INTEGERS and c not in TEXT]
METRICS = FLOATS[FLOATS.index("mae") :]  # the per-seed measurements a trial's medians are taken over


def current_column(name: str) -> str:
    """The column name of today's vocabulary for one a results.csv of an older version may hold (ns1_mae was
    taylor1+ns1_mae's name)."""
    method, sep, rest = name.partition("_")
    return OLD_NAMES[method] + sep + rest if sep and method in OLD_NAMES else name
