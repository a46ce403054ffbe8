"""The pattern figure: share of samples and max |net - Taylor-1| (LP bound and sampled) of the largest patterns.

Drawn through neuralinv.reporting.plotting; matplotlib is imported inside the functions, as it is slow to import.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuralinv.experiments.analysis.result import Analysis, Pattern


def plot(result: Analysis, path: str | Path, *, top: int = 20) -> Path:
    """PNG: share of samples (bars, log scale so the small patterns show) and max LP bound / sampled max (markers)
    of the largest patterns. No title: the report's caption says which network and how many samples."""
    from neuralinv.reporting.plotting import pyplot

    plt = pyplot()
    pats = result.patterns[:top]
    with plt.rc_context(
        {"font.size": 10, "axes.labelsize": 10.5, "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10}
    ):
        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7.5, 5.8), sharex=True, layout="constrained")
        _share_panel(ax1, pats)
        _bound_panel(ax2, pats)
        fig.legend(*ax2.get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return path


def _share_panel(ax, pats: list[Pattern]) -> None:
    """Top panel: each pattern's share of the samples, in percent, as bars on a log axis."""
    from matplotlib import ticker

    ranks = [p.rank for p in pats]
    shares = [100 * p.share for p in pats]
    ax.bar(ranks, shares, color="tab:blue")
    ax.set_yscale("log")
    if pats and min(shares) > 0:  # bars start at the decade below the smallest share, not at an arbitrary floor
        ax.set_ylim(bottom=10.0 ** np.floor(np.log10(min(shares))))
    _log_ticks(ax, shares, ticker.FuncFormatter(lambda v, _pos: f"{v:.3g}%"))
    ax.set_ylabel("share of samples\n(log scale)")
    ax.grid(True, axis="y", which="major", alpha=0.3)


def _bound_panel(ax, pats: list[Pattern]) -> None:
    """Bottom panel: each pattern's largest LP bound and sampled maximum of |net - Taylor-1|, on a log axis."""
    from matplotlib import ticker

    ranks = [p.rank for p in pats]
    lp = [np.nan if p.lp_bound is None else p.lp_bound.max() for p in pats]
    sampled = [max(p.sampled_max.max(), 1e-300) for p in pats]
    ax.semilogy(ranks, lp, "o", ms=7, color="tab:red", label="LP bound over the polytope")
    ax.semilogy(ranks, sampled, "x", ms=7, mew=1.5, color="k", label="sampled max")
    _log_ticks(ax, lp + sampled, ticker.LogFormatterSciNotation(labelOnlyBase=False))
    ax.set_ylabel("max |net - Taylor-1|")
    ax.set_xlabel("pattern (rank by share)")
    ax.grid(True, axis="y", which="major", alpha=0.3)
    if len(ranks) <= 20:
        ax.set_xticks(ranks)
    else:
        ax.xaxis.set_major_locator(ticker.MaxNLocator(10, integer=True))


def _log_ticks(ax, values, formatter) -> None:
    """Labelled ticks on a log axis whatever its range: decades when it spans two of them, else 1-2-5 steps."""
    from matplotlib import ticker

    v = np.asarray([x for x in values if np.isfinite(x) and x > 0])
    decades = ticker.LogLocator(numticks=6).tick_values(v.min(), v.max()) if v.size else []
    if [t for t in decades if v.min() <= t <= v.max()][1:]:
        ax.yaxis.set_major_locator(ticker.LogLocator(numticks=6))
    else:
        ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0), numticks=12))
    ax.yaxis.set_major_formatter(formatter)
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())
