"""The atlas's line and scatter figures: MAE against training steps, against radius (or n), and against inference
time, one panel per matrix size n."""

from __future__ import annotations

import statistics
from pathlib import Path

from neuralinv.reporting.formats import plain
from neuralinv.reporting.plotting import pyplot
from neuralinv.sweep.atlas.compare import best_by
from neuralinv.sweep.atlas.style import (
    METHOD_COLORS,
    METHOD_MARKERS,
    MODEL_MARKERS,
    RC,
    classical_handles,
    finish_log_axes,
    fixed_ticks,
    model_style,
    panels,
    plot_points,
    save,
    scatter_points,
)
from neuralinv.sweep.atlas.trials import CLASSICAL, Axis, Trial, finite, median, model_names

STEPS_FIGURE = "atlas_steps.png"
RADIUS_FIGURE = "atlas_radius.png"
TIME_FIGURE = "atlas_time.png"
STYLES = ["-", "--", "-.", ":"]  # line style per model in the steps figure, where colour is the radius
MAE_LABEL = "test MAE (median over seeds)"


# ---------------------------------------------------------------------------------------------------------------------
# MAE against training steps


def _steps_panel(ax, n: int, ok: list[Trial], best: dict, radii: list, models: list[str], colour: dict, axis: Axis):
    xs, ys = [], []
    for r in radii:
        for i, model in enumerate(models):
            pts = sorted((k[3], t.mae("net")) for k, t in best.items() if k[:3] == (n, r, model))
            if not pts:
                continue
            style = {"ls": STYLES[i % len(STYLES)], "marker": MODEL_MARKERS[i % len(MODEL_MARKERS)]}
            plot_points(ax, pts, **style, ms=5, lw=1.5, color=colour[r])
            xs += [p[0] for p in pts]
            ys += [p[1] for p in pts]
        t1 = median([t.mae("taylor1") for t in ok if t.n == n and axis.of(t) == r])
        if finite(t1):
            ax.axhline(t1, color=colour[r], ls=":", lw=1.2, alpha=0.9)
            ys.append(t1)
    finish_log_axes(ax, xs, ys)
    if 0 < len(set(xs)) <= 7:  # the step counts themselves, each labelled (a log axis may skip some)
        fixed_ticks(ax.xaxis, sorted(set(xs)))
    ax.set_title(f"n = {n}")
    ax.set_xlabel("training steps")
    ax.set_ylabel(MAE_LABEL)


def _steps_handles(radii: list, models: list[str], colour: dict, axis: Axis) -> list:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colour[r], lw=2.5, label=f"{axis.name} {plain(r)}") for r in radii]
    handles += [
        Line2D([], [], color="0.2", ls=STYLES[i % len(STYLES)], marker=MODEL_MARKERS[i % 7], ms=5, label=f"network {m}")
        for i, m in enumerate(models)
    ]
    handles.append(Line2D([], [], color="0.2", ls=":", lw=1.2, label="Taylor-1 at that radius (no training)"))
    return handles


def steps_figure(out: Path, ts: list[Trial], axis: Axis) -> str:
    """Network MAE against training steps, one panel per n; colour: radius, line style and marker: model; dotted:
    Taylor-1 at that radius."""
    plt = pyplot()
    models = model_names(ts)
    ok = [t for t in ts if t.ok and t.steps is not None and axis.of(t) is not None]
    ns = sorted({t.n for t in ok})
    radii = sorted({axis.of(t) for t in ok})
    cmap = plt.get_cmap("viridis")
    colour = {r: cmap(0.85 * i / max(1, len(radii) - 1)) for i, r in enumerate(radii)}
    best = best_by(ok, lambda t: (t.n, axis.of(t), t.model, t.steps))
    with plt.rc_context(RC):
        fig, axes = panels(len(ns), 3.3)
        for ax, n in zip(axes.flat, ns):
            _steps_panel(ax, n, ok, best, radii, models, colour, axis)
        handles = _steps_handles(radii, models, colour, axis)
        fig.legend(handles=handles, loc="outside lower center", ncol=min(3, len(handles)), frameon=False)
        save(fig, out / STEPS_FIGURE)
    return STEPS_FIGURE


# ---------------------------------------------------------------------------------------------------------------------
# MAE against radius (or n)


def _radius_panel(ax, inside: list[Trial], x_of, models: list[str]) -> tuple[list, list]:
    """Every method's MAE against x_of(t) on one panel; returns the x values and the MAEs drawn."""
    xs_all = sorted({x_of(t) for t in inside})
    ys = []
    for m in CLASSICAL:
        pts = [(x, median([t.mae(m) for t in inside if x_of(t) == x])) for x in xs_all]
        pts = [p for p in pts if finite(p[1])]
        plot_points(ax, pts, ls="--", marker=METHOD_MARKERS[m], ms=5, lw=1.4, color=METHOD_COLORS[m])
        ys += [p[1] for p in pts]
    best = best_by(inside, lambda t: (x_of(t), t.model))
    for model in models:
        pts = sorted((k[0], t.mae("net")) for k, t in best.items() if k[1] == model)
        color, marker = model_style(models, model)
        plot_points(ax, pts, ls="-", marker=marker, ms=6, lw=2, color=color)
        ys += [p[1] for p in pts]
    return xs_all, ys


def _radius_handles(models: list[str]) -> list:
    from matplotlib.lines import Line2D

    handles = []
    for m in models:
        color, marker = model_style(models, m)
        handles.append(Line2D([], [], color=color, marker=marker, ms=6, lw=2, label=f"network {m} (best trial)"))
    return handles + classical_handles(ms=5, ls="--", lw=1.4)


def radius_figure(out: Path, ts: list[Trial], axis: Axis) -> tuple[str, str]:
    """MAE of every method against radius, one panel per n (or, with a single radius, against n in one panel): the
    network's best trial per point, medians over seeds. Returns (file, what the x axis is)."""
    plt = pyplot()
    models = model_names(ts)
    ok = [t for t in ts if t.ok and axis.of(t) is not None]
    radii = sorted({axis.of(t) for t in ok})
    by_radius = len(radii) > 1
    panel_ns = sorted({t.n for t in ok}) if by_radius else [None]
    x_of = (lambda t: axis.of(t)) if by_radius else (lambda t: t.n)
    with plt.rc_context(RC):
        fig, axes = panels(len(panel_ns), 3.4)
        for ax, n in zip(axes.flat, panel_ns):
            xs_all, ys = _radius_panel(ax, [t for t in ok if n is None or t.n == n], x_of, models)
            finish_log_axes(ax, xs_all, ys, xlog=by_radius)
            if not by_radius:
                ax.set_xticks(xs_all, [str(x) for x in xs_all])
            ax.set_title(f"n = {n}" if n is not None else f"{axis.name} {plain(radii[0])}")
            ax.set_xlabel(axis.name if by_radius else "n (matrix size)")
            ax.set_ylabel(MAE_LABEL)
        fig.legend(handles=_radius_handles(models), loc="outside lower center", ncol=2, frameon=False)
        save(fig, out / RADIUS_FIGURE)
    return RADIUS_FIGURE, ("radius" if by_radius else "n")


# ---------------------------------------------------------------------------------------------------------------------
# MAE against inference time


def _time_panel(ax, inside: list[Trial], models: list[str]) -> None:
    xs, ys = [], []
    for m in CLASSICAL:
        pts = [(t.time(m), t.mae(m)) for t in inside if finite(t.time(m)) and finite(t.mae(m))]
        style = {"s": 34, "marker": METHOD_MARKERS[m], "color": METHOD_COLORS[m], "alpha": 0.85, "lw": 0}
        scatter_points(ax, pts, **style, zorder=3)
        xs += [p[0] for p in pts]
        ys += [p[1] for p in pts]
    for model in models:
        color, marker = model_style(models, model)
        pts = [
            (t.time("net"), t.mae("net"))
            for t in inside
            if t.model == model and finite(t.time("net")) and finite(t.mae("net"))
        ]
        scatter_points(ax, pts, s=44, marker=marker, facecolor="none", edgecolor=color, lw=1.6, zorder=4)
        xs += [p[0] for p in pts]
        ys += [p[1] for p in pts]
    exact = [t.time("exact") for t in inside if finite(t.time("exact"))]
    if exact:
        ax.axvline(statistics.median(exact), color=METHOD_COLORS["exact"], ls="--", lw=1.4, zorder=2)
        xs += [min(exact), max(exact)]
    finish_log_axes(ax, xs, ys)


def _time_handles(models: list[str]) -> list:
    from matplotlib.lines import Line2D

    handles = []
    for m in models:
        color, marker = model_style(models, m)
        handles.append(
            Line2D([], [], ls="none", marker=marker, ms=7, mfc="none", mew=1.6, color=color, label=f"network {m}")
        )
    handles += classical_handles(ls="none", ms=6)
    exact = "exact inverse: median time (MAE not measured)"
    handles.append(Line2D([], [], color=METHOD_COLORS["exact"], ls="--", lw=1.4, label=exact))
    return handles


def time_figure(out: Path, ts: list[Trial]) -> str:
    """MAE against seconds per 10,000 matrices, log-log, one panel per n: one point per successful trial and method;
    the exact inverse, which has no MAE here, as a vertical line at its median time."""
    plt = pyplot()
    models = model_names(ts)
    ok = [t for t in ts if t.ok]
    ns = sorted({t.n for t in ok})
    with plt.rc_context(RC):
        fig, axes = panels(len(ns), 3.5)
        for ax, n in zip(axes.flat, ns):
            _time_panel(ax, [t for t in ok if t.n == n], models)
            ax.set_title(f"n = {n}")
            ax.set_xlabel("seconds per 10,000 matrices")
            ax.set_ylabel(MAE_LABEL)
        fig.legend(handles=_time_handles(models), loc="outside lower center", ncol=2, frameon=False)
        save(fig, out / TIME_FIGURE)
    return TIME_FIGURE
