"""The why-can't figures: error against distance to the singular set, moment growth, and the error's tail.

Drawn on matplotlib Figure objects through neuralinv.reporting.plotting (no display needed, no backend switched);
matplotlib is imported inside each function, since the CLI loads this package and matplotlib is slow to import.
No titles on single-panel figures: the report's captions say what they show.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Counterexample paths, drawn in order, largest hollow marker first: a later, smaller marker shows inside an earlier
# one. (marker, line style, marker size)
_PATH_STYLES = [("o", "-", 10), ("s", "--", 7), ("^", ":", 5), ("D", "-.", 4), ("v", (0, (1, 3)), 3)]
_INVERSE_GREY = "0.72"


def plot_error_vs_distance(
    result: dict, path: str | Path, *, paths: dict[str, list[dict]] | None = None, max_points: int = 5000
) -> Path:
    """Log-log scatter of error against sigma_min per model, with ||A^-1|| and 1 / sigma_min beside it; counterexample
    search paths as lines, each with its own marker and line style, so paths that run on top of one another all stay
    visible. The legend sits below the axes, clear of the data; no title (the report's caption says what it shows)."""
    from matplotlib.lines import Line2D

    from neuralinv.reporting.plotting import pyplot

    plt = pyplot()
    sig = result["sigma_min"]
    norm = result.get("summary", {}).get("norm", "fro")
    sub = {"fro": "F", "l1": "1", "linf": r"\max"}.get(norm, norm)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    paths = paths or {}
    with plt.rc_context(
        {"font.size": 10, "axes.labelsize": 10.5, "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 9.5}
    ):
        fig, ax = plt.subplots(figsize=(8, 6.4), layout="constrained")
        order = np.argsort(sig)
        ax.plot(
            sig[order], result["inverse_norm"][order], "-", color=_INVERSE_GREY, lw=5, solid_capstyle="round", zorder=1
        )
        handles = _draw_samples(ax, result, colors, stride=max(1, len(sig) // max_points))
        lo = min([sig.min()] + [p["sigma_min"] for steps in paths.values() for p in steps])
        grid = np.geomspace(lo, sig.max(), 50)
        ax.plot(grid, 1 / grid, "--", color="black", lw=1, zorder=3)
        names = list(result["errors"])
        path_handles = _draw_paths(ax, paths, names, colors)
        # two columns, filled column by column: samples and ||A^-1|| on the left, paths and 1 / sigma_min on the right
        inverse_label = f"$\\|A^{{-1}}\\|_{{{sub}}}$ (the exact inverse)"
        handles.append(Line2D([], [], color=_INVERSE_GREY, lw=5, label=inverse_label))
        handles += path_handles
        handles.append(
            Line2D(
                [], [], color="black", ls="--", lw=1, label=r"$1/\sigma_{\min}$ (nearly coincides with $\|A^{-1}\|$)"
            )
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\sigma_{\min}(A)$ = distance to the nearest singular matrix")
        ax.set_ylabel(f"error $\\|A^{{-1}} - F(A)\\|_{{{sub}}}$")
        ax.grid(True, which="major", alpha=0.3)
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False, handlelength=3)
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return Path(path)


def _draw_samples(ax, result: dict, colors: list, *, stride: int) -> list:
    """One scatter of every stride-th sample per model; their legend handles."""
    from matplotlib.lines import Line2D

    sig = result["sigma_min"]
    handles = []
    for i, (name, err) in enumerate(result["errors"].items()):
        color = colors[i % len(colors)]
        ax.scatter(sig[::stride], err[::stride], s=3, alpha=0.3, color=color, lw=0, zorder=2, rasterized=True)
        handles.append(
            Line2D([], [], ls="none", marker="o", ms=5, color=color, label=f"{name}: uniform samples of the box")
        )
    return handles


def _draw_paths(ax, paths: dict[str, list[dict]], names: list[str], colors: list) -> list:
    """The counterexample search paths as lines with markers (a model's own colour where it has samples too); their
    legend handles."""
    from matplotlib.lines import Line2D

    handles = []
    for j, (pname, steps) in enumerate(paths.items()):
        if not steps:
            continue
        color = colors[names.index(pname) % len(colors)] if pname in names else colors[(len(names) + j) % 10]
        marker, ls, ms = _PATH_STYLES[j % len(_PATH_STYLES)]
        hollow = j < len(paths) - 1  # the last one drawn (smallest) is filled
        style = {"ls": ls, "lw": 1.6, "color": color, "marker": marker, "mew": 1.5, "mfc": "none" if hollow else color}
        ax.plot([p["sigma_min"] for p in steps], [p["error"] for p in steps], ms=ms, zorder=4 + j, **style)
        handles.append(Line2D([], [], ms=min(ms, 8), label=f"{pname}: counterexample search path", **style))
    return handles


def plot_moments(results: dict[str, dict], path: str | Path) -> Path:
    """Typical N-sample estimate of E||A^-1 - F||^k relative to the smallest N, against N, one panel per box (at most
    2 columns; solid with markers: median over disjoint blocks of N samples; faint: one running mean over a single
    sample path, both explained in the legend). Growth means the moment is infinite, flat means finite."""
    from neuralinv.reporting.plotting import pyplot

    plt = pyplot()
    count = max(1, len(results))
    cols = min(2, count)
    rows = (count + cols - 1) // cols
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    sizes = {"font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "xtick.labelsize": 10, "ytick.labelsize": 10}
    with plt.rc_context({**sizes, "legend.fontsize": 9.5}):
        fig, axes = plt.subplots(
            rows, cols, figsize=(8.5, 3.9 * rows + 0.7), squeeze=False, sharey=True, layout="constrained"
        )
        lo, hi = np.inf, 0.0
        for ax, (title, summary) in zip(axes.flat, results.items()):
            panel_lo, panel_hi = _moment_panel(ax, title, summary, colors)
            lo, hi = min(lo, panel_lo), max(hi, panel_hi)
        for ax in list(axes.flat)[len(results) :]:
            ax.axis("off")
        _shared_log_axis(axes, lo, hi)
        first = next(iter(results.values()), {"sizes": [1000]})
        for ax in axes[:, 0]:
            ax.set_ylabel(f"N-sample mean of $\\|A^{{-1}} - F\\|^k$,\nrelative to N = {first['sizes'][0]:,}")
        fig.legend(handles=_moment_legend(), loc="outside lower center", ncol=1, frameon=False)
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return Path(path)


def _moment_panel(ax, title: str, summary: dict, colors: list) -> tuple[float, float]:
    """One box's panel: per order k the typical and the running means relative to the first typical one; the
    smallest and largest positive finite values drawn (inf and 0 when none)."""
    lo, hi = np.inf, 0.0
    sizes = summary["sizes"]
    for i, (k, values) in enumerate(summary["typical"].items()):
        color = colors[i % len(colors)]
        typical = np.array(values) / values[0]
        running = np.array(summary["running"][k]) / values[0]
        ax.plot(sizes, typical, "-o", ms=4, lw=1.6, color=color, label=f"k = {k}: slope {summary['slope'][k]:.2f}")
        ax.plot(sizes, running, "-", lw=1, alpha=0.35, color=color)
        both = np.concatenate([typical, running])
        both = both[np.isfinite(both) & (both > 0)]
        if both.size:
            lo, hi = min(lo, both.min()), max(hi, both.max())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sample size N")
    head = f"{title}\nHill tail index {summary['tail_index']:.2f}"
    if summary["certified_distance"] > 0:
        head += " (bounded error:\nno power-law tail)"
    ax.set_title(head)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left", framealpha=0.8)
    return lo, hi


def _shared_log_axis(axes, lo: float, hi: float) -> None:
    """Headroom above the data for the panels' legends on the shared y axis, and labelled ticks on a short range."""
    from matplotlib import ticker

    if not 0 < lo <= hi < np.inf:
        return
    axes[0, 0].set_ylim(lo / (hi / lo) ** 0.05, hi * (hi / lo) ** 0.4)
    if hi / lo < 30:  # under ~1.5 decades a log axis may show no labelled tick
        for ax in axes.flat:
            ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0), numticks=12))
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:.3g}"))
            ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def _moment_legend() -> list:
    """The figure legend explaining the two kinds of line."""
    from matplotlib.lines import Line2D

    return [
        Line2D(
            [],
            [],
            color="0.25",
            marker="o",
            ms=4,
            lw=1.6,
            label="median over disjoint blocks of N samples (typical N-sample mean)",
        ),
        Line2D(
            [],
            [],
            color="0.25",
            lw=1,
            alpha=0.35,
            label="faint: one running mean over a single sample path (first N samples)",
        ),
    ]


def plot_tail(errors: dict[str, np.ndarray], path: str | Path) -> Path:
    """Empirical survival function P(error > t) on log-log axes, with a C / t reference line. No title: the report's
    caption says what it shows."""
    from neuralinv.reporting.plotting import pyplot

    plt = pyplot()
    with plt.rc_context(
        {"font.size": 10, "axes.labelsize": 10.5, "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10}
    ):
        fig, ax = plt.subplots(figsize=(7, 4.6), layout="constrained")
        for name, err in errors.items():
            srt = np.sort(err)
            surv = 1.0 - np.arange(len(srt)) / len(srt)
            stride = max(1, len(srt) // 4000)
            idx = np.unique(
                np.concatenate([np.arange(0, len(srt), stride), np.arange(max(0, len(srt) - 2000), len(srt))])
            )
            ax.plot(srt[idx], surv[idx], "-", lw=1.8, label=name)
        first = next(iter(errors.values()))
        t0 = np.quantile(first, 0.99)
        grid = np.geomspace(t0, first.max(), 20)
        ax.plot(grid, 0.01 * t0 / grid, "--", color="black", lw=1.2, label="C / t (tail index 1)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("t (error threshold)")
        ax.set_ylabel(r"$P(\|A^{-1} - F(A)\| > t)$")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="upper right", framealpha=0.85)
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return Path(path)
