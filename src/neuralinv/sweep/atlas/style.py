"""How the atlas's figures look: fonts, one colour and marker per method and model, log axes with readable ticks,
panel grids, and the legend entries the figures share."""

from __future__ import annotations

import math

from neuralinv.linalg.classical import TAYLOR1_NS1
from neuralinv.reporting.plotting import pyplot
from neuralinv.sweep.atlas.trials import finite

RC = {
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9.5,
}
DPI = 110
CLASSICAL_LONG = {
    "taylor1": "Taylor-1 (the linear approximation)",
    "taylor2": "Taylor-2 (second-order Taylor)",
    TAYLOR1_NS1: "NS1 (Taylor-1, then one Newton-Schulz step)",
}
METHOD_COLORS = {"taylor1": "#1f77b4", "taylor2": "#ff7f0e", TAYLOR1_NS1: "#2ca02c", "exact": "0.25"}
METHOD_MARKERS = {"taylor1": "s", "taylor2": "^", TAYLOR1_NS1: "D"}
MODEL_COLORS = ["#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
MODEL_MARKERS = ["o", "v", "P", "X", "*", "h", "<"]


def model_style(models: list[str], name: str) -> tuple[str, str]:
    """The (colour, marker) of a model, by its place among the sweep's models."""
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


def fixed_ticks(axis, values: list[float]) -> None:
    """Exactly these ticks, each labelled (a log axis may skip some of them)."""
    from matplotlib import ticker

    axis.set_major_locator(ticker.FixedLocator(values))
    axis.set_major_formatter(ticker.FuncFormatter(tick_text))
    axis.set_minor_formatter(ticker.NullFormatter())


def padded(lo: float, hi: float, pad: float = 0.12) -> tuple[float, float]:
    """Log-axis limits a little beyond the data (a single value gets a factor-of-2 window)."""
    if lo == hi:
        return lo / 2, hi * 2
    span = (hi / lo) ** pad
    return lo / span, hi * span


def panels(count: int, height: float):
    """A figure of count panels, two to a row (one when there is a single panel); spare panels are hidden."""
    plt = pyplot()
    cols = 1 if count <= 1 else 2
    rows = max(1, math.ceil(count / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(8.5, height * rows + 1.0), squeeze=False, layout="constrained")
    for ax in list(axes.flat)[count:]:
        ax.axis("off")
    return fig, axes


def finish_log_axes(ax, xs: list[float], ys: list[float], xlog: bool = True) -> None:
    """Log scales (x only when xlog) fitted to the positive data, readable ticks and a light grid."""
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


def plot_points(ax, pts: list[tuple[float, float]], **style) -> None:
    """One line through (x, y) points."""
    ax.plot([p[0] for p in pts], [p[1] for p in pts], **style)


def scatter_points(ax, pts: list[tuple[float, float]], **style) -> None:
    """One marker per (x, y) point."""
    ax.scatter([p[0] for p in pts], [p[1] for p in pts], **style)


def classical_handles(**style) -> list:
    """Legend entries of the classical methods, in their colours and markers."""
    from matplotlib.lines import Line2D

    return [
        Line2D([], [], marker=METHOD_MARKERS[m], color=METHOD_COLORS[m], label=CLASSICAL_LONG[m], **style)
        for m in CLASSICAL_LONG
    ]


def save(fig, path) -> None:
    """Write the figure as a PNG at the atlas's resolution."""
    fig.savefig(path, dpi=DPI)
    pyplot().close(fig)
