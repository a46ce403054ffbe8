"""The atlas's heatmap: log10(network MAE / Taylor-1 MAE) over matrix size n and radius, one panel per model."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from neuralinv.reporting.formats import plain
from neuralinv.reporting.plotting import pyplot
from neuralinv.sweep.atlas.compare import best_per_cell, log_ratio
from neuralinv.sweep.atlas.style import RC, save
from neuralinv.sweep.atlas.trials import Axis, Trial, model_names

HEATMAP = "atlas_heatmap.png"
PANELS_PER_HEATMAP = 4  # more models than this: several heatmap files
_HATCH = {"facecolor": "0.88", "edgecolor": "0.45", "hatch": "///"}


@dataclass
class _Grid:
    """What every panel shares: the rows (n), the columns (radii), the trials per cell, the values and their scale."""

    ns: list[int]
    radii: list[float]
    cells: dict[tuple[int, float, str], list[Trial]]
    values: dict[tuple[int, float, str], float]
    limit: float
    cmap: object


def _grid(ts: list[Trial], axis: Axis) -> _Grid:
    import numpy as np
    from matplotlib.colors import ListedColormap

    cells: dict[tuple[int, float, str], list[Trial]] = defaultdict(list)
    for t in ts:
        if axis.of(t) is not None:
            cells[(t.n, axis.of(t), t.model)].append(t)
    values = {k: v for k, t in best_per_cell(ts, axis).items() if (v := log_ratio(t)) is not None}
    limit = max([0.5] + [abs(v) for v in values.values()])
    limit = math.ceil(limit * 2) / 2  # a round end to the scale
    # no near-black ends under the text
    cmap = ListedColormap(pyplot().get_cmap("RdBu_r")(np.linspace(0.04, 0.96, 256)))
    return _Grid(
        ns=sorted({t.n for t in ts}),
        radii=sorted({axis.of(t) for t in ts if axis.of(t) is not None}),
        cells=cells,
        values=values,
        limit=limit,
        cmap=cmap,
    )


def _failed_cell(ax, i: int, j: int, failed: int, runs: int) -> None:
    """A cell with no value: hatched, labelled "failed" when every run failed, else "no MAE"."""
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, **_HATCH, lw=0))
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


def _cell(ax, i: int, j: int, value: float, group: list[Trial], limit: float) -> None:
    """One cell's text: its value, "no run" without a trial, hatched without a value, and how many runs failed."""
    import numpy as np

    runs = sum(len(t.seeds) for t in group)
    failed = sum(len(t.failures) for t in group)
    if not group:
        ax.text(j, i, "no run", ha="center", va="center", fontsize=8.5, color="0.45")
        return
    if not np.isfinite(value):
        _failed_cell(ax, i, j, failed, runs)
        return
    text = f"{value:+.2f}".replace("-", "\u2212")
    if failed:
        text += f"\n{failed}/{runs} failed"
    ax.text(
        j,
        i,
        text,
        ha="center",
        va="center",
        fontsize=9.5 if not failed else 8.5,
        color="white" if abs(value) > 0.6 * limit else "black",
    )


def _panel(ax, model: str, grid: _Grid, ts: list[Trial], axis: Axis):
    """One model's panel; returns its image (for the colour bar)."""
    import numpy as np

    ns, radii = grid.ns, grid.radii
    values = np.full((len(ns), len(radii)), np.nan)
    for (n, r, m), v in grid.values.items():
        if m == model:
            values[ns.index(n), radii.index(r)] = v
    image = ax.imshow(values, cmap=grid.cmap, vmin=-grid.limit, vmax=grid.limit, aspect="auto", origin="lower")
    ax.set_facecolor("white")
    for i, n in enumerate(ns):
        for j, r in enumerate(radii):
            _cell(ax, i, j, values[i, j], grid.cells.get((n, r, model), []), grid.limit)
    ax.set_xticks(range(len(radii)), [plain(r) for r in radii], rotation=0 if len(radii) <= 8 else 45)
    ax.set_yticks(range(len(ns)), [str(n) for n in ns])
    ax.set_xlabel(axis.name)
    ax.set_ylabel("n (matrix size)")
    depth = {t.depth for t in ts if t.model == model}
    d = depth.pop() if len(depth) == 1 else None
    ax.set_title(model + (f" ({d} hidden layer{'s' if d != 1 else ''})" if d is not None else ""))
    ax.tick_params(length=0)
    return image


def _legends(fig, axes, image, grid: _Grid) -> None:
    """The colour bar (when any cell has a value) and, when a cell is hatched, what hatching means."""
    from matplotlib.patches import Patch

    if image is not None and grid.values:
        bar = fig.colorbar(image, ax=axes, location="bottom", shrink=0.7, aspect=35, pad=0.02)
        bar.set_label("log10(network MAE / Taylor-1 MAE):  blue = network more accurate,  red = Taylor-1 more accurate")
    if any(p.get_hatch() for ax in axes.flat for p in ax.patches):
        fig.legend(
            handles=[Patch(**_HATCH, label="every run of the cell failed (or gave no MAE)")],
            loc="outside upper center",
            frameon=False,
        )


def _figure(path: Path, chunk: list[str], grid: _Grid, ts: list[Trial], axis: Axis, cols: int) -> None:
    plt = pyplot()
    rows = max(1, math.ceil(len(chunk) / cols))
    panel_h = 0.5 * len(grid.ns) + 1.1
    with plt.rc_context(RC):
        fig, axes = plt.subplots(rows, cols, figsize=(8.5, panel_h * rows + 1.3), squeeze=False, layout="constrained")
        image = None
        for ax, model in zip(axes.flat, chunk):
            image = _panel(ax, model, grid, ts, axis)
        for ax in list(axes.flat)[len(chunk) :]:
            ax.axis("off")
        _legends(fig, axes, image, grid)
        save(fig, path)


def heatmaps(out: Path, ts: list[Trial], axis: Axis) -> list[tuple[str, list[str]]]:
    """log10(network MAE / Taylor-1 MAE) over n x radius, one panel per model, shared colour scale centred at 0 (blue:
    network better); cells whose every run failed are hatched. Returns [(file, models)] (several files when there are
    more than PANELS_PER_HEATMAP models)."""
    models = model_names(ts)
    grid = _grid(ts, axis)
    cols = 2 if len(models) > 1 and len(grid.radii) <= 5 else 1
    chunks = [models[i : i + PANELS_PER_HEATMAP] for i in range(0, len(models), PANELS_PER_HEATMAP)] or [[]]
    files = []
    for index, chunk in enumerate(chunks):
        name = HEATMAP if len(chunks) == 1 else HEATMAP.replace(".png", f"_{index + 1}.png")
        _figure(out / name, chunk, grid, ts, axis, cols)
        files.append((name, chunk))
    return files
