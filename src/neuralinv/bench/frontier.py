"""The accuracy-versus-time figure: MAE against seconds per 10,000 matrices, log-log, one panel per data set."""

from __future__ import annotations

import math

from neuralinv.common.files import atomic_path

MAE_FLOOR = 1e-17  # exact paths can match the float64 reference bit for bit; draw them here on a log axis
COLORS = {"exact": "black", "classical": "tab:blue", "network": "tab:red"}
MARKERS = {"exact": "s", "classical": "D", "network": "o"}


def frontier_figure(result: dict, path, *, batch: int | None = None) -> None:
    """MAE against seconds per 10,000 matrices (log-log), one panel per data set, every path of result (a table3
    result) at batch (default: the largest measured), written as a PNG to path.

    Networks without an MAE (untrained) are drawn as dotted vertical lines at their time.
    """
    from neuralinv.reporting.plotting import pyplot  # here, not at the top: matplotlib is slow to import

    plt = pyplot()
    batch = str(batch or max(result["settings"]["batches"]))
    datasets = list(dict.fromkeys(r["dataset"] for r in result["rows"]))
    cols = min(2, len(datasets))
    rows_ = math.ceil(len(datasets) / cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(6.2 * cols, 4.6 * rows_), squeeze=False)
    for ax, ds in zip(axes.ravel(), datasets):
        _draw_panel(ax, [r for r in result["rows"] if r["dataset"] == ds], batch)
        ax.set_title(f"{ds} (batch {int(batch):,})")
    for ax in axes.ravel()[len(datasets) :]:
        ax.axis("off")
    fig.suptitle(
        f"Accuracy against time on {result['device']} ({result['threads']} threads); "
        f"exact paths at or below 1e-16 are drawn at {MAE_FLOOR:g}",
        fontsize=9,
    )
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def _draw_panel(ax, rows: list[dict], batch: str) -> None:
    """One data set's paths at batch on ax: a marker per path with an MAE, a dotted line per untrained network."""
    import matplotlib.ticker

    for r in rows:
        # Networks on the path a user calls; "plain" and "mlp" give the same answers, only slower.
        if r["variant"] in ("plain", "mlp") or batch not in r["times"]:
            continue
        t = r["times"][batch]["seconds"]
        label = r["method"] + (f" ({r['steps']:,} steps)" if r.get("steps") else "")
        color = COLORS[r["kind"]]
        if r["mae"] is None:
            ax.axvline(t, color=color, ls=":", lw=1)
            ax.annotate(
                f"{label}: no MAE (untrained)",
                (t, 0.02),
                xycoords=("data", "axes fraction"),
                rotation=90,
                fontsize=7,
                va="bottom",
                ha="right",
                color=color,
            )
            continue
        mae = max(r["mae"], MAE_FLOOR)
        ax.loglog(t, mae, MARKERS[r["kind"]], color=color, ms=7)
        ax.annotate(label, (t, mae), textcoords="offset points", xytext=(5, 3), fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("seconds per 10,000 matrices")
    ax.set_ylabel("MAE per entry")
    ax.grid(True, which="major", alpha=0.3)
