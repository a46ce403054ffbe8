"""The trial model of the atlas: one Trial per trial_id with medians over its successful seeds, the radius axis, and
the training settings that tell trials apart."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from neuralinv.linalg.classical import TAYLOR1_NS1
from neuralinv.reporting.formats import setting
from neuralinv.sweep.columns import COLUMNS, METRICS

NAN = float("nan")
# The classical approximations with a measured MAE, in order of cost; exact (torch.linalg.inv) has a time only.
CLASSICAL = {"taylor1": "Taylor-1", "taylor2": "Taylor-2", TAYLOR1_NS1: "NS1"}
# Training settings besides n, radius and model that may differ between trials; the tables name those that do.
SETTINGS = [
    ("center", "centre"),
    ("depth", "depth"),
    ("width", "width"),
    ("lr", "lr"),
    ("steps", "steps"),
    ("batch_size", "batch"),
    ("schedule", "schedule"),
]
# What a trial is: the columns its seeds share (taken from its first row), n to schedule in results.csv.
_TRIAL_COLUMNS = COLUMNS[COLUMNS.index("n") : COLUMNS.index("seed")]


@dataclass
class Trial:
    """One trial of the sweep: its settings, which of its seeds ran, failed and where, and its medians."""

    trial_id: str
    n: int
    center: str
    radius: float | None
    relative_radius: float | None
    model: str
    depth: int | None
    width: int | None
    lr: float | None
    steps: int | None
    batch_size: int | None
    schedule: str
    seeds: list[int | None] = field(default_factory=list)
    ok_seeds: list[int | None] = field(default_factory=list)
    failures: list[tuple[int | None, str, str]] = field(default_factory=list)  # (seed, status, error)
    nodes: list[str] = field(default_factory=list)
    median: dict[str, float] = field(default_factory=dict)  # metric -> median over ok seeds (nan if none)

    @property
    def ok(self) -> bool:
        """Whether at least one seed finished with status ok."""
        return bool(self.ok_seeds)

    def get(self, metric: str) -> float:
        """The median of a results.csv measurement column (NaN when no seed measured it)."""
        return self.median.get(metric, NAN)

    def mae(self, method: str) -> float:
        """The median test MAE of "net" (the network) or of a classical method."""
        return self.get("mae" if method == "net" else f"{method}_mae")

    def time(self, method: str) -> float:
        """The median seconds per 10,000 matrices of "net", a classical method or "exact"."""
        return self.get(f"{method}_seconds_per_10k")


def finite(x) -> bool:
    """Whether x is a number and neither NaN nor infinite."""
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def median(values: list[float | None]) -> float:
    """The median of the finite values, NaN when there is none."""
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(kept) if kept else NAN


def trials(rows: list[dict]) -> list[Trial]:
    """One Trial per trial_id (in file order), its settings from its first row, medians over its "ok" rows."""
    grouped: dict[str, list[dict]] = {}
    for r in rows:
        grouped.setdefault(r["trial_id"], []).append(r)
    out = []
    for tid, group in grouped.items():
        t = Trial(trial_id=tid, **{k: group[0][k] for k in _TRIAL_COLUMNS})
        ok = [r for r in group if r["status"] == "ok"]
        t.seeds = [r["seed"] for r in group]
        t.ok_seeds = [r["seed"] for r in ok]
        t.failures = [(r["seed"], r["status"] or "(empty)", r["error"]) for r in group if r["status"] != "ok"]
        t.nodes = [r["node"] for r in group if r["node"]]
        t.median = {m: median([r[m] for r in ok]) for m in METRICS}
        out.append(t)
    return out


def model_names(ts: list[Trial]) -> list[str]:
    """The models of the sweep, in order of first appearance."""
    return list(dict.fromkeys(t.model for t in ts))


@dataclass
class Axis:
    """The radius axis: relative radius when every trial has one, else the absolute half-width c."""

    relative: bool

    def of(self, t: Trial) -> float | None:
        """The trial's position on this axis."""
        return t.relative_radius if self.relative else t.radius

    @property
    def name(self) -> str:
        """The axis label."""
        return "relative radius" if self.relative else "radius c"

    @property
    def long(self) -> str:
        """The axis as a sentence explains it."""
        return (
            "relative radius (c = relative radius x sigma_min(A0) / n; 1 touches the certified limit)"
            if self.relative
            else "absolute radius c (half-width of the box; results.csv gives no relative radius)"
        )


def radius_axis(ts: list[Trial]) -> Axis:
    """Relative radius when every trial has one, else the absolute radius."""
    return Axis(relative=bool(ts) and all(t.relative_radius is not None for t in ts))


def varying_settings(ts: list[Trial]) -> list[tuple[str, str]]:
    """The settings (besides n, radius and model) that differ between trials of one (n, radius, model) or between
    models: those a row must name to be told apart. depth and width follow the model, so they count only when one
    model name has several."""
    out = []
    for key, label in SETTINGS:
        if key in ("depth", "width"):
            per_model = defaultdict(set)
            for t in ts:
                per_model[(t.model, t.n)].add(getattr(t, key))
            if any(len(v) > 1 for v in per_model.values()):
                out.append((key, label))
        elif len({getattr(t, key) for t in ts}) > 1:
            out.append((key, label))
    return out


def settings_text(t: Trial, varying: list[tuple[str, str]]) -> str:
    """The trial's values of the varying settings: "lr 0.001, steps 1,000" (a dash when none vary)."""
    return ", ".join(f"{label} {setting(getattr(t, key))}" for key, label in varying) or "-"


def order(t: Trial, axis: Axis) -> tuple:
    """Rows sort by n, radius, model, then each setting (numbers before text, missing last), then trial id."""

    def key(v):
        """Numbers first, then text, missing last."""
        return (2, "") if v is None or v == "" else (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))

    r = axis.of(t)
    return (t.n, r if r is not None else math.inf, t.model, *(key(getattr(t, k)) for k, _ in SETTINGS), t.trial_id)


def hidden(t: Trial) -> str:
    """Hidden layers x hidden units: "2x32" ("?" for a missing one, a dash when both are)."""
    if t.depth is None and t.width is None:
        return "-"
    return f"{t.depth if t.depth is not None else '?'}x{t.width if t.width is not None else '?'}"
