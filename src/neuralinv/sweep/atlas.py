"""The sweep atlas: DIR/atlas.md, a self-contained DIR/atlas.html and PNG figures, built from DIR/results.csv alone.

`neuralinv sweep report DIR` calls `write(DIR)`. results.csv has one row per trial and seed, as the sweep runner writes
it; every number in the atlas is computed from it (medians over a trial's successful seeds), so nothing is typed by
hand. The page itself is neuralinv.reporting.document's.

What the atlas shows: where over matrix size n and box radius a trained network is more accurate than the linear
approximation (Taylor-1), how accuracy moves with training steps and radius, accuracy against inference time for every
method, and where (if anywhere) a network beats a classical method at equal or lower inference time.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from neuralinv.common.errors import InputError
from neuralinv.reporting.document import Document, details, figure, link, table
from neuralinv.reporting.formats import sci as e
from neuralinv.reporting.plotting import pyplot
from neuralinv.sweep.run import COLUMNS

RESULTS = "results.csv"
INTEGERS = ["n", "depth", "width", "steps", "batch_size", "seed"]
FLOATS = [
    "radius",
    "relative_radius",
    "lr",
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
]
METRICS = FLOATS[3:]  # the per-seed measurements a trial's medians are taken over
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
# The classical approximations with a measured MAE, in order of cost; exact (torch.linalg.inv) has a time only.
CLASSICAL = {"taylor1": "Taylor-1", "taylor2": "Taylor-2", "ns1": "NS1"}
CLASSICAL_LONG = {
    "taylor1": "Taylor-1 (the linear approximation)",
    "taylor2": "Taylor-2 (second-order Taylor)",
    "ns1": "NS1 (Taylor-1, then one Newton-Schulz step)",
}
EXACT = "exact (torch.linalg.inv)"
TITLES = {
    "heatmap": "Where a network beats Taylor-1",
    "steps": "MAE against training steps",
    "radius": "MAE against radius",
    "time": "Accuracy against inference time",
    "wins": "Where a network wins at equal or lower inference time",
    "failures": "Failed runs",
    "results": "Results per trial",
    "setup": "How this atlas was made",
}
HEATMAP = "atlas_heatmap.png"
STEPS_FIGURE = "atlas_steps.png"
RADIUS_FIGURE = "atlas_radius.png"
TIME_FIGURE = "atlas_time.png"
PANELS_PER_HEATMAP = 4  # more models than this: several heatmap files
FOLD_ROWS = 12  # a table longer than this is folded
WINS_FOLD_ROWS = 40  # except the wins table, the atlas's answer, which stays open longer
MAX_ROWS = 400  # and cut to this many rows ("Shown: N of M")
NAN = float("nan")
NOTHING = "No run succeeded, so there is nothing to plot."


# ---------------------------------------------------------------------------------------------------------------------
# Reading results.csv


def _number(text: str, column: str, line: int, path: Path, kind=float):
    text = text.strip()
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{path}: line {line}, column {column}: {text!r} is not a number") from None
    if kind is int:
        if not value.is_integer():
            raise InputError(f"{path}: line {line}, column {column}: {text!r} is not a whole number")
        return int(value)
    return value


def read(path: str | Path) -> list[dict]:
    """The rows of a results.csv, numbers parsed (None where the cell is empty); a one-line InputError when the file is
    missing, has no rows, lacks a column or holds a non-number where a number belongs."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"sweep report: no {path.name} at {str(path)!r} (run the sweep first)")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = []
        for line, raw in enumerate(reader, start=2):
            row = {c: (raw.get(c) or "").strip() for c in COLUMNS}
            for c in INTEGERS:
                row[c] = _number(row[c], c, line, path, int)
            for c in FLOATS:
                row[c] = _number(row[c], c, line, path)
            if not row["trial_id"]:
                raise InputError(f"{path}: line {line}: empty trial_id")
            if row["n"] is None:
                raise InputError(f"{path}: line {line}: empty n")
            rows.append(row)
    if not rows:
        raise InputError(f"{path}: no rows (the sweep has not finished a run yet)")
    return rows


# ---------------------------------------------------------------------------------------------------------------------
# Trials: one per trial_id, medians over its successful seeds


@dataclass
class Trial:
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
        return bool(self.ok_seeds)

    def get(self, metric: str) -> float:
        return self.median.get(metric, NAN)

    def mae(self, method: str) -> float:
        return self.get("mae" if method == "net" else f"{method}_mae")

    def time(self, method: str) -> float:
        return self.get(f"{method}_seconds_per_10k")


def _median(values: list[float | None]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(finite) if finite else NAN


def trials(rows: list[dict]) -> list[Trial]:
    """One Trial per trial_id (in file order), its settings from its first row, medians over its "ok" rows."""
    grouped: dict[str, list[dict]] = {}
    for r in rows:
        grouped.setdefault(r["trial_id"], []).append(r)
    out = []
    for tid, group in grouped.items():
        first = group[0]
        t = Trial(
            trial_id=tid,
            **{
                k: first[k]
                for k in (
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
                )
            },
        )
        ok = [r for r in group if r["status"] == "ok"]
        t.seeds = [r["seed"] for r in group]
        t.ok_seeds = [r["seed"] for r in ok]
        t.failures = [(r["seed"], r["status"] or "(empty)", r["error"]) for r in group if r["status"] != "ok"]
        t.nodes = [r["node"] for r in group if r["node"]]
        t.median = {m: _median([r[m] for r in ok]) for m in METRICS}
        out.append(t)
    return out


def finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


@dataclass
class Axis:
    """The radius axis: relative radius when every trial has one, else the absolute half-width c."""

    relative: bool

    def of(self, t: Trial) -> float | None:
        return t.relative_radius if self.relative else t.radius

    @property
    def name(self) -> str:
        return "relative radius" if self.relative else "radius c"

    @property
    def long(self) -> str:
        return (
            "relative radius (c = relative radius x sigma_min(A0) / n; 1 touches the certified limit)"
            if self.relative
            else "absolute radius c (half-width of the box; results.csv gives no relative radius)"
        )


def radius_axis(ts: list[Trial]) -> Axis:
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
    parts = []
    for key, label in varying:
        v = getattr(t, key)
        parts.append(f"{label} {fmt_setting(v)}")
    return ", ".join(parts) or "-"


def fmt_setting(v) -> str:
    if v is None or v == "":
        return "-"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def order(t: Trial, axis: Axis) -> tuple:
    """Rows sort by n, radius, model, then each setting (numbers before text, missing last), then trial id."""

    def key(v):
        return (2, "") if v is None or v == "" else (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))

    r = axis.of(t)
    return (t.n, r if r is not None else math.inf, t.model, *(key(getattr(t, k)) for k, _ in SETTINGS), t.trial_id)


def hidden(t: Trial) -> str:
    if t.depth is None and t.width is None:
        return "-"
    return f"{t.depth if t.depth is not None else '?'}x{t.width if t.width is not None else '?'}"


# ---------------------------------------------------------------------------------------------------------------------
# Number formats


def g(x) -> str:
    return f"{x:.3g}" if finite(x) else "-"


def rad(x) -> str:
    return f"{x:g}" if finite(x) else "-"


def times_text(x: float) -> str:
    return f"{x:.2g}x" if x < 10 else f"{x:.3g}x"


# ---------------------------------------------------------------------------------------------------------------------
# Comparisons


def best_per_cell(ts: list[Trial], axis: Axis) -> dict[tuple[int, float, str], Trial]:
    """Per (n, radius, model): the successful trial with the lowest network MAE relative to Taylor-1 (the best the sweep
    found there, when several training settings share the cell)."""
    best: dict[tuple[int, float, str], Trial] = {}
    for t in ts:
        r = axis.of(t)
        score = t.mae("net") / t.mae("taylor1") if t.ok else NAN
        if r is None or not finite(score):
            continue
        key = (t.n, r, t.model)
        if key not in best or score < best[key].mae("net") / best[key].mae("taylor1"):
            best[key] = t
    return best


def compare(t: Trial, method: str) -> dict:
    """The network of trial t against one classical method: "wins" when its median MAE is lower AND its median time is
    at most the method's."""
    net_mae, net_time = t.mae("net"), t.time("net")
    mae, time = t.mae(method), t.time(method)
    known = all(finite(v) for v in (net_mae, net_time, mae, time))
    return {
        "method": method,
        "known": known,
        "more_accurate": known and net_mae < mae,
        "no_slower": known and net_time <= time,
        "wins": known and net_mae < mae and net_time <= time,
        "mae_ratio": net_mae / mae if known and mae > 0 else NAN,
        "time_ratio": net_time / time if known and time > 0 else NAN,
    }


def best_classical_within(t: Trial) -> tuple[str, float, float] | None:
    """The most accurate classical approximation whose median time is at most the network's: (method, MAE, time)."""
    net_time = t.time("net")
    if not finite(net_time):
        return None
    fits = [(t.mae(m), m) for m in CLASSICAL if finite(t.mae(m)) and finite(t.time(m)) and t.time(m) <= net_time]
    if not fits:
        return None
    mae, m = min(fits)
    return m, mae, t.time(m)


def wins(ts: list[Trial]) -> list[dict]:
    """Every successful trial whose network beats at least one classical method at equal or lower inference time, with
    its comparison against each of Taylor-1, Taylor-2 and NS1, the best classical method at equal or lower time, and
    whether the exact inverse is at least as fast."""
    out = []
    for t in ts:
        if not t.ok:
            continue
        against = {m: compare(t, m) for m in CLASSICAL}
        if any(c["wins"] for c in against.values()):
            exact = t.time("exact")
            out.append(
                {
                    "trial": t,
                    "against": against,
                    "best_within": best_classical_within(t),
                    "exact_no_slower": finite(exact) and finite(t.time("net")) and exact <= t.time("net"),
                    "exact_ratio": exact / t.time("net") if finite(exact) and t.time("net") > 0 else NAN,
                }
            )
    return out


def compare_cell(c: dict) -> str:
    if not c["known"]:
        return "-"
    if c["wins"]:
        return f"**yes**: MAE {times_text(c['mae_ratio'])}, time {times_text(c['time_ratio'])}"
    if not c["more_accurate"]:
        return f"no: MAE {times_text(c['mae_ratio'])}"
    return f"no: time {times_text(c['time_ratio'])}"


# ---------------------------------------------------------------------------------------------------------------------
# Figures (matplotlib, Agg backend)


RC = {
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9.5,
}
METHOD_COLORS = {"taylor1": "#1f77b4", "taylor2": "#ff7f0e", "ns1": "#2ca02c", "exact": "0.25"}
METHOD_MARKERS = {"taylor1": "s", "taylor2": "^", "ns1": "D"}
MODEL_COLORS = ["#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
MODEL_MARKERS = ["o", "v", "P", "X", "*", "h", "<"]


def model_style(models: list[str], name: str) -> tuple[str, str]:
    i = models.index(name)
    return MODEL_COLORS[i % len(MODEL_COLORS)], MODEL_MARKERS[i % len(MODEL_MARKERS)]


def tick_text(v, _pos=None) -> str:
    """A tick label: 500, 2k, 0.05, 0.002 as 2x10^-3 (mathtext), never "1e+03"."""
    if v >= 1000 and float(v).is_integer():
        return f"{v / 1000:g}k"
    if v >= 1e-2:
        return f"{v:.3g}"
    mantissa, exponent = f"{v:.0e}".split("e")
    return f"${mantissa}\\times10^{{{int(exponent)}}}$"


def log_axis(axis, lo: float, hi: float) -> None:
    """Labelled ticks on a log axis whatever its range: decades when at least three fall in it, else 1-2-5 steps, else
    1-9 steps (a log axis over less than a decade may have no labelled tick of its own)."""
    from matplotlib import ticker

    if not (finite(lo) and finite(hi) and 0 < lo <= hi):
        return
    for locator, formatter, fewest in (
        (ticker.LogLocator(numticks=7), ticker.LogFormatterSciNotation(), 3),
        (ticker.LogLocator(subs=(1.0, 2.0, 5.0), numticks=12), ticker.FuncFormatter(tick_text), 2),
        (ticker.LogLocator(subs=tuple(range(1, 10)), numticks=20), ticker.FuncFormatter(tick_text), 0),
    ):
        ticks = [v for v in locator.tick_values(lo, hi) if lo <= v <= hi]
        if fewest <= len(ticks) <= 7:
            break
    axis.set_major_locator(locator)
    axis.set_major_formatter(formatter)
    axis.set_minor_formatter(ticker.NullFormatter())


def padded(lo: float, hi: float, pad: float = 0.12) -> tuple[float, float]:
    """Log-axis limits a little beyond the data (a single value gets a factor-of-2 window)."""
    if lo == hi:
        return lo / 2, hi * 2
    span = (hi / lo) ** pad
    return lo / span, hi * span


def heatmaps(out: Path, ts: list[Trial], axis: Axis) -> list[tuple[str, list[str]]]:
    """log10(network MAE / Taylor-1 MAE) over n x radius, one panel per model, shared colour scale centred at 0 (blue:
    network better); cells whose every run failed are hatched. Returns [(file, models)] (several files when there are
    more than PANELS_PER_HEATMAP models)."""
    plt = pyplot()
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch, Rectangle

    models = list(dict.fromkeys(t.model for t in ts))
    ns = sorted({t.n for t in ts})
    radii = sorted({axis.of(t) for t in ts if axis.of(t) is not None})
    best = best_per_cell(ts, axis)
    cells: dict[tuple[int, float, str], list[Trial]] = defaultdict(list)
    for t in ts:
        if axis.of(t) is not None:
            cells[(t.n, axis.of(t), t.model)].append(t)
    values = {
        k: math.log10(t.mae("net") / t.mae("taylor1"))
        for k, t in best.items()
        if t.mae("net") > 0 and t.mae("taylor1") > 0
    }
    limit = max([0.5] + [abs(v) for v in values.values()])
    limit = math.ceil(limit * 2) / 2  # a round end to the scale
    cmap = ListedColormap(plt.get_cmap("RdBu_r")(np.linspace(0.04, 0.96, 256)))  # no near-black ends under the text
    cols = 2 if len(models) > 1 and len(radii) <= 5 else 1
    chunks = [models[i : i + PANELS_PER_HEATMAP] for i in range(0, len(models), PANELS_PER_HEATMAP)] or [[]]
    files = []
    for index, chunk in enumerate(chunks):
        name = HEATMAP if len(chunks) == 1 else HEATMAP.replace(".png", f"_{index + 1}.png")
        rows = max(1, math.ceil(len(chunk) / cols))
        panel_h = 0.5 * len(ns) + 1.1
        with plt.rc_context(RC):
            fig, axes = plt.subplots(
                rows, cols, figsize=(8.5, panel_h * rows + 1.3), squeeze=False, layout="constrained"
            )
            image = None
            for ax, model in zip(axes.flat, chunk):
                grid = np.full((len(ns), len(radii)), np.nan)
                for (n, r, m), v in values.items():
                    if m == model:
                        grid[ns.index(n), radii.index(r)] = v
                image = ax.imshow(grid, cmap=cmap, vmin=-limit, vmax=limit, aspect="auto", origin="lower")
                ax.set_facecolor("white")
                for i, n in enumerate(ns):
                    for j, r in enumerate(radii):
                        group = cells.get((n, r, model), [])
                        runs = sum(len(t.seeds) for t in group)
                        failed = sum(len(t.failures) for t in group)
                        if not group:
                            ax.text(j, i, "no run", ha="center", va="center", fontsize=8.5, color="0.45")
                            continue
                        if not np.isfinite(grid[i, j]):
                            ax.add_patch(
                                Rectangle(
                                    (j - 0.5, i - 0.5), 1, 1, facecolor="0.88", edgecolor="0.45", hatch="///", lw=0
                                )
                            )
                            label = "failed" if failed == runs else "no MAE"
                            ax.text(
                                j,
                                i,
                                label,
                                ha="center",
                                va="center",
                                fontsize=9.5,
                                color="black",
                                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5},
                            )
                            continue
                        v = grid[i, j]
                        text = f"{v:+.2f}".replace("-", "\u2212")
                        if failed:
                            text += f"\n{failed}/{runs} failed"
                        ax.text(
                            j,
                            i,
                            text,
                            ha="center",
                            va="center",
                            fontsize=9.5 if not failed else 8.5,
                            color="white" if abs(v) > 0.6 * limit else "black",
                        )
                ax.set_xticks(range(len(radii)), [rad(r) for r in radii], rotation=0 if len(radii) <= 8 else 45)
                ax.set_yticks(range(len(ns)), [str(n) for n in ns])
                ax.set_xlabel(axis.name)
                ax.set_ylabel("n (matrix size)")
                depth = {t.depth for t in ts if t.model == model}
                d = depth.pop() if len(depth) == 1 else None
                title = model + (f" ({d} hidden layer{'s' if d != 1 else ''})" if d is not None else "")
                ax.set_title(title)
                ax.tick_params(length=0)
            for ax in list(axes.flat)[len(chunk) :]:
                ax.axis("off")
            if image is not None and values:
                bar = fig.colorbar(image, ax=axes, location="bottom", shrink=0.7, aspect=35, pad=0.02)
                bar.set_label(
                    "log10(network MAE / Taylor-1 MAE):  blue = network more accurate,  red = Taylor-1 more accurate"
                )
            if any(p.get_hatch() for ax in axes.flat for p in ax.patches):
                fig.legend(
                    handles=[
                        Patch(
                            facecolor="0.88",
                            edgecolor="0.45",
                            hatch="///",
                            label="every run of the cell failed (or gave no MAE)",
                        )
                    ],
                    loc="outside upper center",
                    frameon=False,
                )
            fig.savefig(out / name, dpi=110)
            plt.close(fig)
        files.append((name, chunk))
    return files


def _panels(count: int, height: float):
    plt = pyplot()
    cols = 1 if count <= 1 else 2
    rows = max(1, math.ceil(count / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(8.5, height * rows + 1.0), squeeze=False, layout="constrained")
    for ax in list(axes.flat)[count:]:
        ax.axis("off")
    return fig, axes


def _finish_log_axes(ax, xs: list[float], ys: list[float], xlog: bool = True) -> None:
    xs = [v for v in xs if finite(v) and v > 0]
    ys = [v for v in ys if finite(v) and v > 0]
    if ys:
        ax.set_yscale("log")
        ax.set_ylim(*padded(min(ys), max(ys)))
        log_axis(ax.yaxis, *ax.get_ylim())
    if xs and xlog:
        ax.set_xscale("log")
        ax.set_xlim(*padded(min(xs), max(xs), 0.08))
        log_axis(ax.xaxis, *ax.get_xlim())
    ax.grid(True, which="major", alpha=0.3)


def best_by(ts: list[Trial], key) -> dict:
    """The successful trial with the lowest network MAE per key(t) (several training settings may share a key)."""
    best: dict = {}
    for t in ts:
        if not t.ok or not finite(t.mae("net")):
            continue
        k = key(t)
        if k not in best or t.mae("net") < best[k].mae("net"):
            best[k] = t
    return best


def steps_figure(out: Path, ts: list[Trial], axis: Axis) -> str:
    """Network MAE against training steps, one panel per n; colour: radius, line style and marker: model; dotted:
    Taylor-1 at that radius."""
    plt = pyplot()
    from matplotlib.lines import Line2D

    models = list(dict.fromkeys(t.model for t in ts))
    ok = [t for t in ts if t.ok and t.steps is not None and axis.of(t) is not None]
    ns = sorted({t.n for t in ok})
    radii = sorted({axis.of(t) for t in ok})
    cmap = plt.get_cmap("viridis")
    colour = {r: cmap(0.85 * i / max(1, len(radii) - 1)) for i, r in enumerate(radii)}
    styles = ["-", "--", "-.", ":"]
    best = best_by(ok, lambda t: (t.n, axis.of(t), t.model, t.steps))
    with plt.rc_context(RC):
        fig, axes = _panels(len(ns), 3.3)
        for ax, n in zip(axes.flat, ns):
            xs, ys = [], []
            for r in radii:
                for model in models:
                    pts = sorted((k[3], t.mae("net")) for k, t in best.items() if k[:3] == (n, r, model))
                    if not pts:
                        continue
                    i = models.index(model)
                    ax.plot(
                        [p[0] for p in pts],
                        [p[1] for p in pts],
                        ls=styles[i % len(styles)],
                        marker=MODEL_MARKERS[i % len(MODEL_MARKERS)],
                        ms=5,
                        lw=1.5,
                        color=colour[r],
                    )
                    xs += [p[0] for p in pts]
                    ys += [p[1] for p in pts]
                t1 = _median([t.mae("taylor1") for t in ok if t.n == n and axis.of(t) == r])
                if finite(t1):
                    ax.axhline(t1, color=colour[r], ls=":", lw=1.2, alpha=0.9)
                    ys.append(t1)
            _finish_log_axes(ax, xs, ys)
            if 0 < len(set(xs)) <= 7:  # the step counts themselves, each labelled (a log axis may skip some)
                from matplotlib import ticker

                ax.xaxis.set_major_locator(ticker.FixedLocator(sorted(set(xs))))
                ax.xaxis.set_major_formatter(ticker.FuncFormatter(tick_text))
                ax.xaxis.set_minor_formatter(ticker.NullFormatter())
            ax.set_title(f"n = {n}")
            ax.set_xlabel("training steps")
            ax.set_ylabel("test MAE (median over seeds)")
        handles = [Line2D([], [], color=colour[r], lw=2.5, label=f"{axis.name} {rad(r)}") for r in radii]
        handles += [
            Line2D(
                [], [], color="0.2", ls=styles[i % len(styles)], marker=MODEL_MARKERS[i % 7], ms=5, label=f"network {m}"
            )
            for i, m in enumerate(models)
        ]
        handles.append(Line2D([], [], color="0.2", ls=":", lw=1.2, label="Taylor-1 at that radius (no training)"))
        fig.legend(handles=handles, loc="outside lower center", ncol=min(3, len(handles)), frameon=False)
        fig.savefig(out / STEPS_FIGURE, dpi=110)
        plt.close(fig)
    return STEPS_FIGURE


def radius_figure(out: Path, ts: list[Trial], axis: Axis) -> tuple[str, str]:
    """MAE of every method against radius, one panel per n (or, with a single radius, against n in one panel): the
    network's best trial per point, medians over seeds. Returns (file, what the x axis is)."""
    plt = pyplot()
    from matplotlib.lines import Line2D

    models = list(dict.fromkeys(t.model for t in ts))
    ok = [t for t in ts if t.ok and axis.of(t) is not None]
    radii = sorted({axis.of(t) for t in ok})
    by_radius = len(radii) > 1
    ns = sorted({t.n for t in ok})
    panels = ns if by_radius else [None]
    x_of = (lambda t: axis.of(t)) if by_radius else (lambda t: t.n)
    with plt.rc_context(RC):
        fig, axes = _panels(len(panels), 3.4)
        for ax, n in zip(axes.flat, panels):
            inside = [t for t in ok if n is None or t.n == n]
            xs_all = sorted({x_of(t) for t in inside})
            ys = []
            for m in CLASSICAL:
                pts = [(x, _median([t.mae(m) for t in inside if x_of(t) == x])) for x in xs_all]
                pts = [p for p in pts if finite(p[1])]
                ax.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    ls="--",
                    marker=METHOD_MARKERS[m],
                    ms=5,
                    lw=1.4,
                    color=METHOD_COLORS[m],
                )
                ys += [p[1] for p in pts]
            best = best_by(inside, lambda t: (x_of(t), t.model))
            for model in models:
                pts = sorted((k[0], t.mae("net")) for k, t in best.items() if k[1] == model)
                color, marker = model_style(models, model)
                ax.plot([p[0] for p in pts], [p[1] for p in pts], ls="-", marker=marker, ms=6, lw=2, color=color)
                ys += [p[1] for p in pts]
            _finish_log_axes(ax, xs_all, ys, xlog=by_radius)
            if not by_radius:
                ax.set_xticks(xs_all, [str(x) for x in xs_all])
            ax.set_title(f"n = {n}" if n is not None else f"{axis.name} {rad(radii[0])}")
            ax.set_xlabel(axis.name if by_radius else "n (matrix size)")
            ax.set_ylabel("test MAE (median over seeds)")
        handles = [
            Line2D(
                [],
                [],
                color=model_style(models, m)[0],
                marker=model_style(models, m)[1],
                ms=6,
                lw=2,
                label=f"network {m} (best trial)",
            )
            for m in models
        ]
        handles += [
            Line2D(
                [], [], color=METHOD_COLORS[m], marker=METHOD_MARKERS[m], ms=5, ls="--", lw=1.4, label=CLASSICAL_LONG[m]
            )
            for m in CLASSICAL
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
        fig.savefig(out / RADIUS_FIGURE, dpi=110)
        plt.close(fig)
    return RADIUS_FIGURE, ("radius" if by_radius else "n")


def time_figure(out: Path, ts: list[Trial]) -> str:
    """MAE against seconds per 10,000 matrices, log-log, one panel per n: one point per successful trial and method;
    the exact inverse, which has no MAE here, as a vertical line at its median time."""
    plt = pyplot()
    from matplotlib.lines import Line2D

    models = list(dict.fromkeys(t.model for t in ts))
    ok = [t for t in ts if t.ok]
    ns = sorted({t.n for t in ok})
    with plt.rc_context(RC):
        fig, axes = _panels(len(ns), 3.5)
        for ax, n in zip(axes.flat, ns):
            inside = [t for t in ok if t.n == n]
            xs, ys = [], []
            for m in CLASSICAL:
                pts = [(t.time(m), t.mae(m)) for t in inside if finite(t.time(m)) and finite(t.mae(m))]
                ax.scatter(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    s=34,
                    marker=METHOD_MARKERS[m],
                    color=METHOD_COLORS[m],
                    alpha=0.85,
                    lw=0,
                    zorder=3,
                )
                xs += [p[0] for p in pts]
                ys += [p[1] for p in pts]
            for model in models:
                color, marker = model_style(models, model)
                pts = [
                    (t.time("net"), t.mae("net"))
                    for t in inside
                    if t.model == model and finite(t.time("net")) and finite(t.mae("net"))
                ]
                ax.scatter(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    s=44,
                    marker=marker,
                    facecolor="none",
                    edgecolor=color,
                    lw=1.6,
                    zorder=4,
                )
                xs += [p[0] for p in pts]
                ys += [p[1] for p in pts]
            exact = [t.time("exact") for t in inside if finite(t.time("exact"))]
            if exact:
                ax.axvline(statistics.median(exact), color=METHOD_COLORS["exact"], ls="--", lw=1.4, zorder=2)
                xs += [min(exact), max(exact)]
            _finish_log_axes(ax, xs, ys)
            ax.set_title(f"n = {n}")
            ax.set_xlabel("seconds per 10,000 matrices")
            ax.set_ylabel("test MAE (median over seeds)")
        handles = [
            Line2D(
                [],
                [],
                ls="none",
                marker=model_style(models, m)[1],
                ms=7,
                mfc="none",
                mew=1.6,
                color=model_style(models, m)[0],
                label=f"network {m}",
            )
            for m in models
        ]
        handles += [
            Line2D([], [], ls="none", marker=METHOD_MARKERS[m], ms=6, color=METHOD_COLORS[m], label=CLASSICAL_LONG[m])
            for m in CLASSICAL
        ]
        handles.append(
            Line2D(
                [],
                [],
                color=METHOD_COLORS["exact"],
                ls="--",
                lw=1.4,
                label="exact inverse: median time (MAE not measured)",
            )
        )
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
        fig.savefig(out / TIME_FIGURE, dpi=110)
        plt.close(fig)
    return TIME_FIGURE


# ---------------------------------------------------------------------------------------------------------------------
# The Summary


def first_line(text: str, limit: int = 160) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else "(no error text)"
    return line if len(line) <= limit else line[: limit - 3] + "..."


def error_groups(ts: list[Trial]) -> list[tuple[str, list[tuple[Trial, int | None]]]]:
    """Failed runs grouped by the first line of their error, most frequent first."""
    groups: dict[str, list[tuple[Trial, int | None]]] = defaultdict(list)
    for t in ts:
        for seed, status, error in t.failures:
            key = first_line(error) if status == "failed" else f"status {status!r}: {first_line(error)}"
            groups[key].append((t, seed))
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def cells_text(keys: list[tuple[int, float, str]], axis: Axis) -> str:
    """(n, radius, model) cells, compactly: "2fc, 3fc: n = 2, 3 at relative radius 0.5, 1; 2fc: n = 4 at ..."."""
    by_model: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for n, r, m in sorted(keys, key=lambda k: (k[0], k[1], k[2])):
        by_model[m][n].append(r)
    # per model: radii -> the n that have exactly those radii; then models with the same picture share one entry
    pictures: dict[tuple, list[str]] = defaultdict(list)
    for m, by_n in by_model.items():
        groups: dict[tuple[float, ...], list[int]] = defaultdict(list)
        for n, rs in by_n.items():
            groups[tuple(rs)].append(n)
        pictures[tuple((tuple(ns), rs) for rs, ns in groups.items())].append(m)
    return "; ".join(
        f"{', '.join(models)}: "
        + ", ".join(
            f"n = {', '.join(map(str, ns))} at {axis.name} {', '.join(rad(r) for r in rs)}" for ns, rs in picture
        )
        for picture, models in pictures.items()
    )


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def summary(ts: list[Trial], rows: list[dict], axis: Axis) -> list[str]:
    points = []
    runs = len(rows)
    ok_runs = sum(len(t.ok_seeds) for t in ts)
    failed_runs = runs - ok_runs
    seeds = sorted({r["seed"] for r in rows if r["seed"] is not None})
    ns = sorted({t.n for t in ts})
    radii = sorted({axis.of(t) for t in ts if axis.of(t) is not None})
    models = list(dict.fromkeys(t.model for t in ts))
    points.append(
        f"**Sweep:** {len(ts):,} trials x seeds = {runs:,} runs (seeds {', '.join(map(str, seeds)) or '-'}) over "
        f"n = {', '.join(map(str, ns))}, {axis.name} {', '.join(rad(r) for r in radii) or '-'} and models "
        f"{', '.join(models)}; {ok_runs:,} runs ok, {failed_runs:,} failed"
        + (
            f" ({plural(sum(1 for t in ts if not t.ok), 'trial')} with no successful run)"
            if any(not t.ok for t in ts)
            else ""
        )
        + "."
    )
    if not axis.relative:
        points.append(
            "**Radius axis:** results.csv gives no relative radius for "
            + ("any trial" if all(t.relative_radius is None for t in ts) else "some trials")
            + ", so the atlas uses the absolute half-width c of the box throughout."
        )
    groups = error_groups(ts)
    if groups:
        points.append(
            f"**Failures ({link(TITLES['failures'], 'details')}):** "
            + "; ".join(f"{len(where)} x `{err}`" for err, where in groups[:5])
            + (f"; and {len(groups) - 5} other error(s)" if len(groups) > 5 else "")
            + "."
        )
    if ok_runs == 0:
        points.append("**No run succeeded**, so there are no accuracies or times to compare.")
    else:
        best = best_per_cell(ts, axis)
        better = [k for k, t in best.items() if t.mae("net") < t.mae("taylor1")]
        head = f"**Networks against Taylor-1, accuracy alone ({link(TITLES['heatmap'], 'heatmap')}):** "
        if better:
            points.append(
                head + f"a network is more accurate than Taylor-1 in {len(better)} of {len(best)} "
                f"(n, {axis.name}, model) cells: {cells_text(better, axis)}."
            )
        elif best:
            k, t = min(best.items(), key=lambda kv: kv[1].mae("net") / kv[1].mae("taylor1"))
            points.append(
                head + f"no network is more accurate than Taylor-1 in any of the {len(best)} (n, "
                f"{axis.name}, model) cells; the closest is {k[2]} at n = {k[0]}, {axis.name} {rad(k[1])} "
                f"({times_text(t.mae('net') / t.mae('taylor1'))} Taylor-1's MAE)."
            )
        found = wins(ts)
        head = f"**At equal or lower inference time ({link(TITLES['wins'], 'table')}):** "
        parts = []
        for m in CLASSICAL:
            w = [x for x in found if x["against"][m]["wins"]]
            keys = [(x["trial"].n, axis.of(x["trial"]), x["trial"].model) for x in w]
            keys = list(dict.fromkeys(k for k in keys if k[1] is not None))
            where = f" ({cells_text(keys, axis)})" if keys else ""
            parts.append(f"{CLASSICAL[m]} in {plural(len(w), 'trial')}{where}")
        if not found:
            points.append(
                head + "nowhere: no network is both more accurate than a classical method (Taylor-1, "
                "Taylor-2 or NS1) and at most as slow as it."
            )
        else:
            t2ns = [x for x in found if x["against"]["taylor2"]["wins"] or x["against"]["ns1"]["wins"]]
            points.append(
                head
                + f"of {plural(sum(1 for t in ts if t.ok), 'successful trial')}, a network beats "
                + "; ".join(parts)
                + ("; so no network beats Taylor-2 or NS1 at equal or lower time" if not t2ns else "")
                + "."
            )
        exact_trials = [t for t in ts if t.ok and finite(t.time("exact")) and finite(t.time("net"))]
        faster = [t for t in exact_trials if t.time("exact") <= t.time("net")]
        if exact_trials:
            points.append(
                f"**Exact inverse:** {EXACT} is at least as fast as the network in {len(faster)} of "
                f"{len(exact_trials)} successful trials (median time ratio exact / network "
                f"{g(statistics.median(t.time('exact') / t.time('net') for t in exact_trials))})."
            )
    nodes = Counter(r["node"] for r in rows if r["node"])
    points.append(
        "**Machines:** "
        + (
            ", ".join(f"`{node}` ({count} run{'s' if count != 1 else ''})" for node, count in nodes.most_common())
            if nodes
            else "no node recorded"
        )
        + "; times are per worker, so compare "
        "times within a trial (every method of a trial ran on the same worker)."
    )
    return points


# ---------------------------------------------------------------------------------------------------------------------
# Sections


def heatmap_section(out: Path, ts: list[Trial], axis: Axis) -> str:
    files = heatmaps(out, ts, axis)
    crowded = [k for k, v in Counter((t.n, axis.of(t), t.model) for t in ts if t.ok).items() if v > 1]
    lines = [
        f"## {TITLES['heatmap']}",
        "",
        f"Each cell is log10(network MAE / Taylor-1 MAE) for one model at one matrix size n and {axis.long}: "
        "the network's median test MAE over seeds divided by that of the linear approximation A0^-1 - A0^-1 "
        "(A - A0) A0^-1 on the same 10,000 test matrices. Below 0 (blue) the network is more accurate; -1 means "
        "ten times more accurate. This compares accuracy alone; inference time comes in "
        f"{link(TITLES['time'], 'later')}.",
        "",
    ]
    for i, (name, models) in enumerate(files):
        caption = (
            f"log10(network MAE / Taylor-1 MAE) over n (rows) and {axis.name} (columns), "
            f"{'one panel per model' if len(models) > 1 else 'model ' + models[0] if models else ''}"
            f"{f' (part {i + 1} of {len(files)})' if len(files) > 1 else ''}; shared colour scale centred "
            'at 0, blue where the network is more accurate. Hatched: every run of the cell failed; "k/m '
            'failed": k of the cell\'s m runs failed and the value is from the rest; "no run": the sweep '
            "has no trial there."
        )
        if crowded:
            caption += (
                " Where several trials share a cell (different training settings), the cell shows the best of them."
            )
        lines += [figure(f"heatmap{i + 1}", name, caption), ""]
    return "\n".join(lines)


def steps_section(out: Path, ts: list[Trial], axis: Axis) -> str:
    steps = sorted({t.steps for t in ts if t.ok and t.steps is not None})
    lines = [f"## {TITLES['steps']}", ""]
    if not any(t.ok for t in ts):
        return "\n".join(lines + [NOTHING])
    if len(steps) <= 1:
        lines.append(
            (
                f"The sweep trained every successful network for the same number of steps ({steps[0]:,})"
                if steps
                else "No successful run records its training steps"
            )
            + ", so there is no MAE-against-steps curve to draw; "
            + f"{link(TITLES['radius'], 'MAE against radius')} shows how accuracy moves instead."
        )
        return "\n".join(lines)
    name = steps_figure(out, ts, axis)
    lines += [
        f"The sweep ran {len(steps)} step counts ({', '.join(f'{s:,}' for s in steps)}).",
        "",
        figure(
            "steps",
            name,
            "Network test MAE (median over seeds) against training steps, log-log, one panel per n; colour: "
            f"{axis.name}; line style and marker: model; dotted: Taylor-1 at the radius of that colour, which "
            "needs no training. A network line that drops below the dotted line of its colour has become more "
            "accurate than Taylor-1 there. Where trials differ in other settings too, each point is the "
            "best of them.",
        ),
    ]
    return "\n".join(lines)


def radius_slopes(ts: list[Trial], axis: Axis) -> dict[str, float]:
    """Per method (networks: their best trial per point): the least-squares slope of log MAE against log radius within
    each n with at least two radii, then the median over n."""
    import numpy as np

    ok = [t for t in ts if t.ok and finite(axis.of(t)) and axis.of(t) > 0]
    models = list(dict.fromkeys(t.model for t in ts))
    out = {}
    series: dict[str, dict[int, dict[float, float]]] = defaultdict(lambda: defaultdict(dict))
    for m in CLASSICAL:
        for n in {t.n for t in ok}:
            for r in {axis.of(t) for t in ok if t.n == n}:
                series[CLASSICAL[m]][n][r] = _median([t.mae(m) for t in ok if t.n == n and axis.of(t) == r])
    for (n, r, model), t in best_by(ok, lambda t: (t.n, axis.of(t), t.model)).items():
        series[f"network {model}"][n][r] = t.mae("net")
    for label in [CLASSICAL[m] for m in CLASSICAL] + [f"network {m}" for m in models]:
        slopes = []
        for points in series.get(label, {}).values():
            pts = [(r, v) for r, v in points.items() if finite(v) and v > 0]
            if len(pts) >= 2:
                x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
                slopes.append(float(np.polyfit(x, y, 1)[0]))
        if slopes:
            out[label] = statistics.median(slopes)
    return out


def radius_section(out: Path, ts: list[Trial], axis: Axis) -> str:
    ok = [t for t in ts if t.ok and axis.of(t) is not None]
    radii = sorted({axis.of(t) for t in ok})
    ns = sorted({t.n for t in ok})
    lines = [f"## {TITLES['radius']}", ""]
    if not ok:
        return "\n".join(lines + [NOTHING])
    if len(radii) <= 1 and len(ns) <= 1:
        lines.append(
            f"The sweep has a single n and a single {axis.name}, so there is no curve over radius or n to "
            f"draw; {link(TITLES['time'], 'accuracy against inference time')} shows every method's MAE."
        )
        return "\n".join(lines)
    name, over = radius_figure(out, ts, axis)
    if over == "radius":
        caption = (
            f"Test MAE (median over seeds) against {axis.name}, log-log, one panel per n. Solid lines: each "
            "network model (its best trial per point when several training settings share one); dashed: the "
            "classical approximations, which need no training."
        )
        fitted = radius_slopes(ts, axis)
        if fitted:
            lines += [
                "How fast each method's error grows with the radius: the log-log slope of MAE against "
                f"{axis.name}, fitted per n and then the median over n, is "
                + ", ".join(f"{v:.2f} ({label})" for label, v in fitted.items())
                + ". Truncating the Taylor series after the k-th term leaves an error of order radius^(k+1), "
                "so 2 and 3 are expected for Taylor-1 and Taylor-2; a network whose slope is smaller loses "
                "ground to them as the radius shrinks.",
                "",
            ]
    else:
        caption = (
            f"The sweep has a single {axis.name} ({rad(radii[0])}), so this shows test MAE (median over "
            "seeds, log scale) against n instead. Solid lines: each network model (its best trial per point); "
            "dashed: the classical approximations."
        )
        lines.append(f"The sweep has a single {axis.name}, {rad(radii[0])}; the figure shows MAE against n instead.")
        lines.append("")
    lines.append(figure("radius", name, caption))
    return "\n".join(lines)


def time_section(out: Path, ts: list[Trial]) -> str:
    lines = [f"## {TITLES['time']}", ""]
    if not any(t.ok for t in ts):
        return "\n".join(lines + [NOTHING])
    name = time_figure(out, ts)
    lines.append(
        figure(
            "time",
            name,
            "Test MAE (median over seeds) against inference time (median seconds per 10,000 matrices on the trial's "
            "worker), log-log, one panel per n. One point per successful trial and method: hollow markers "
            "are networks, "
            "filled ones the classical approximations; the dashed vertical line is the median time of "
            "the exact inverse "
            "(torch.linalg.inv), whose error is rounding error and not measured here. Better is down and "
            "to the left: a "
            "network earns its place only where no filled marker lies both below it and to its left.",
        )
    )
    return "\n".join(lines)


def wins_section(ts: list[Trial], axis: Axis) -> str:
    found = wins(ts)
    varying = varying_settings(ts)
    lines = [
        f"## {TITLES['wins']}",
        "",
        "A network **wins** against a classical method when its median test MAE is lower and its median inference "
        "time is at most the method's, both measured in the same trial on the same worker. Each method column "
        "gives the network's MAE and time as multiples of that method's (\"MAE 0.3x\": the network's error is "
        "0.3 times the method's). **Best classical at <= net time** is the most accurate of Taylor-1, Taylor-2 "
        "and NS1 that runs no slower than the network; **Exact at <= net time** says whether torch.linalg.inv "
        "itself is at least as fast (exact time / network time).",
        "",
    ]
    if not any(t.ok for t in ts):
        lines.append("No run succeeded, so there is nothing to compare.")
        return "\n".join(lines)
    if not found:
        lines.append(
            "**Nowhere:** no network beats any classical method (Taylor-1, Taylor-2 or NS1) at equal or "
            f"lower inference time, in any of the {sum(1 for t in ts if t.ok):,} successful trials."
        )
        return "\n".join(lines)
    body = []
    for w in sorted(found, key=lambda w: order(w["trial"], axis)):
        t = w["trial"]
        within = w["best_within"]
        best = f"{CLASSICAL[within[0]]} ({e(within[1])})" if within else "none"
        exact = ("yes" if w["exact_no_slower"] else "no") + (
            f" ({g(w['exact_ratio'])}x)" if finite(w["exact_ratio"]) else ""
        )
        body.append(
            [t.n, rad(axis.of(t)), t.model]
            + ([settings_text(t, varying)] if varying else [])
            + [e(t.mae("net")), g(t.time("net"))]
            + [compare_cell(w["against"][m]) for m in CLASSICAL]
            + [best, exact]
        )
    headers = (
        ["n", axis.name, "model"]
        + (["settings"] if varying else [])
        + ["net MAE", "net s / 10k"]
        + [f"vs {CLASSICAL[m]}" for m in CLASSICAL]
        + ["Best classical at <= net time (MAE)", "Exact at <= net time"]
    )
    lines.append(
        f"{len(found)} of {sum(1 for t in ts if t.ok):,} successful trials have a network that wins against "
        "at least one method:"
    )
    lines.append("")
    lines.append(fold(f"{len(found)} trials where a network wins", headers, body, what="trials", after=WINS_FOLD_ROWS))
    return "\n".join(lines)


def fold(summary_line: str, headers: list[str], body: list[list], what: str = "rows", after: int = FOLD_ROWS) -> str:
    """A table, cut to MAX_ROWS ("Shown: N of M") and folded when it has more than after rows."""
    shown = body[:MAX_ROWS]
    text = table(headers, shown, shown=len(shown), total=len(body), what=what)
    return details(summary_line, text) if len(body) > after else text


def failures_section(ts: list[Trial], axis: Axis) -> str | None:
    groups = error_groups(ts)
    if not groups:
        return None
    body = []
    for err, where in groups:
        per_trial: dict[str, list] = {}
        for t, seed in where:
            per_trial.setdefault(t.trial_id, [t]).append(seed)
        entries = [
            f"{tid} seed{'s' if len(v) > 2 else ''} {', '.join(fmt_setting(x) for x in v[1:])} (n = {v[0].n}, "
            f"{axis.name} {rad(axis.of(v[0]))}, {v[0].model})"
            for tid, v in per_trial.items()
        ]
        places = "; ".join(entries[:6]) + (f"; and {len(entries) - 6} more trials" if len(entries) > 6 else "")
        body.append([len(where), f"`{err}`", places])
    runs = sum(len(t.seeds) for t in ts)
    return "\n".join(
        [
            f"## {TITLES['failures']}",
            "",
            f"{sum(len(w) for _, w in groups)} of {runs} runs did not finish with status ok, grouped by the "
            "first line of their error:",
            "",
            fold(f"{len(groups)} distinct errors", ["Runs", "Error", "Where (trial, seed)"], body, what="errors"),
        ]
    )


def results_section(ts: list[Trial], axis: Axis) -> str:
    varying = varying_settings(ts)
    body = []
    for t in sorted(ts, key=lambda t: order(t, axis)):
        seeds = f"{len(t.ok_seeds)}/{len(t.seeds)}"
        if not t.ok:
            metrics = ["failed"] + ["-"] * 13
        else:
            ratio = t.mae("net") / t.mae("taylor1") if finite(t.mae("taylor1")) and t.mae("taylor1") > 0 else NAN
            metrics = [
                e(t.mae("net")),
                e(t.get("max_error")),
                e(t.mae("taylor1")),
                e(t.mae("taylor2")),
                e(t.mae("ns1")),
                g(ratio),
                g(t.time("net")),
                g(t.time("taylor1")),
                g(t.time("taylor2")),
                g(t.time("ns1")),
                g(t.time("exact")),
                g(t.get("train_seconds")),
                e(t.get("final_loss")),
            ]
        body.append(
            [t.trial_id, t.n, rad(axis.of(t)), t.model, hidden(t)]
            + ([settings_text(t, varying)] if varying else [])
            + [seeds]
            + metrics
        )
    headers = (
        ["trial", "n", axis.name, "model", "hidden"]
        + (["settings"] if varying else [])
        + [
            "seeds ok",
            "net MAE",
            "net max error",
            "Taylor-1 MAE",
            "Taylor-2 MAE",
            "NS1 MAE",
            "net / Taylor-1",
            "net s",
            "Taylor-1 s",
            "Taylor-2 s",
            "NS1 s",
            "exact s",
            "train s",
            "final loss",
        ]
    )
    return "\n".join(
        [
            f"## {TITLES['results']}",
            "",
            "One row per trial: medians over its successful seeds (**seeds ok** counts them). MAE columns are the mean "
            "absolute error per entry of A^-1 on the trial's 10,000 test matrices; **net max error** is the largest "
            "entry error; **net / Taylor-1** below 1 means the network is more accurate; the **s** columns are seconds "
            "per 10,000 matrices on the trial's worker; **train s** is training wall time; **final loss** the last "
            "training loss (scaled units); **hidden** is hidden layers x hidden units.",
            "",
            fold(f"{len(body)} trials", headers, body, what="trials"),
        ]
    )


def setup_section(path: Path, rows: list[dict], ts: list[Trial], axis: Axis) -> str:
    varying = varying_settings(ts)
    fixed = [
        (label, getattr(ts[0], key))
        for key, label in SETTINGS
        if (key, label) not in varying and key not in ("depth", "width")
    ]
    return "\n".join(
        [
            f"## {TITLES['setup']}",
            "",
            f"- **Source:** every number comes from `{path.name}` in this directory ({len(rows):,} rows, one per trial "
            "and seed); medians are over a trial's runs with status ok.",
            f"- **Radius:** {axis.long}.",
            "- **Methods:** Taylor-1 is the linear approximation A0^-1 - A0^-1 (A - A0) A0^-1; Taylor-2 adds the "
            "second-order term; NS1 is Taylor-1 followed by one Newton-Schulz step X <- X (2I - A X); exact is "
            "torch.linalg.inv. All are evaluated on the same test matrices as the network.",
            "- **Settings the same in every trial:** "
            + (", ".join(f"{label} {fmt_setting(v)}" for label, v in fixed) or "none")
            + ".",
            "- **Settings that differ between trials:** " + (", ".join(label for _, label in varying) or "none") + ".",
        ]
    )


def build(out: str | Path) -> Document:
    out = Path(out)
    path = out / RESULTS
    rows = read(path)
    ts = trials(rows)
    axis = radius_axis(ts)
    sections = [
        heatmap_section(out, ts, axis),
        steps_section(out, ts, axis),
        radius_section(out, ts, axis),
        time_section(out, ts),
        wins_section(ts, axis),
    ]
    failures = failures_section(ts, axis)
    if failures:
        sections.append(failures)
    sections += [results_section(ts, axis), setup_section(path, rows, ts, axis)]
    ns = sorted({t.n for t in ts})
    return Document(
        title="Sweep atlas: where a neural inverse beats classical approximations",
        html_title=f"neuralinv sweep atlas, {out.name}: {len(ts)} trials, n = {', '.join(map(str, ns))}",
        header=[
            f"Generated by `neuralinv sweep report` from `{RESULTS}` in `{out.name}`: {len(ts):,} trials, "
            f"{len(rows):,} runs; details in {link(TITLES['setup'], 'how this atlas was made')}."
        ],
        summary=summary(ts, rows, axis),
        sections=sections,
    )


def write(out: str | Path) -> tuple[Path, Path]:
    """Build DIR/atlas.md, DIR/atlas.html and the figures from DIR/results.csv; returns (md path, html path)."""
    out = Path(out)
    return build(out).write(out, "atlas")
