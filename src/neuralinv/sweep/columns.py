"""The columns of a sweep's results.csv (one row per trial and seed): written by sweep.run, read by the atlas."""

from __future__ import annotations

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
    "taylor1_mae",
    "taylor2_mae",
    "ns1_mae",
    "net_seconds_per_10k",
    "taylor1_seconds_per_10k",
    "taylor2_seconds_per_10k",
    "ns1_seconds_per_10k",
    "exact_seconds_per_10k",
    "train_seconds",
    "final_loss",
    "node",
]
INTEGERS = ["n", "depth", "width", "steps", "batch_size", "seed"]
TEXT = ["trial_id", "center", "model", "schedule", "status", "error", "node"]
FLOATS = [c for c in COLUMNS if c not in INTEGERS and c not in TEXT]
METRICS = FLOATS[FLOATS.index("mae") :]  # the per-seed measurements a trial's medians are taken over
