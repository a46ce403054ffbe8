"""Figures from results: the M_eps slices of 2x2 matrices (the paper's Figures 1-2) and training curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuralinv.regions.shapes import sigma_min
from neuralinv.reporting.formats import short
from neuralinv.reporting.plotting import pyplot

plt = pyplot()


def _slice_panel(ax, grid_x, grid_y, matrices, eps, xlabel, ylabel, title, curve):
    """One slice: log10 sigma_min on a light grey scale (clipped below at log10(eps) - 1, where the red band already
    covers it), M_eps = {sigma_min < eps} as a solid red band, det = 0 as a black dashed line."""
    from matplotlib.colors import ListedColormap

    s = sigma_min(matrices)
    # light greys only, darker near the singular set, so the red band reads as red on top of it
    greys = ListedColormap(plt.get_cmap("Greys_r")(np.linspace(0.2, 1.0, 256)), name="light_greys")
    mesh = ax.pcolormesh(
        grid_x,
        grid_y,
        np.log10(np.maximum(s, 1e-12)),
        cmap=greys,
        vmin=np.log10(eps) - 1,
        vmax=max(0.5, np.log10(eps) + 0.5),
        shading="auto",
        rasterized=True,
    )
    ax.contourf(grid_x, grid_y, s, levels=[0, eps], colors=["#e31a1c"])
    ax.plot(*curve, color="black", ls="--", lw=1.4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.set_aspect("equal")
    ax.xaxis.set_major_locator(plt.MaxNLocator(7))
    ax.yaxis.set_major_locator(plt.MaxNLocator(7))
    return mesh


FIGURE_FILES = ["figure1_meps_slices.png", "figure2_meps_3d.png"]
RED = "#e31a1c"
SURFACE = "#6baed6"
BALL = "#2ca02c"
_MEPS_RC = {"font.size": 11, "axes.labelsize": 11, "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10}
_CURVES_RC = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 10,
}


def _slices_figure(path: Path, eps: float) -> None:
    """Figure 1: the slices (a) a11 = 1, a12 = 2 and (b) a11 = 1, a22 = 2, one colour bar, one legend."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    t = np.linspace(-3, 3, 301)
    gx, gy = np.meshgrid(t, t)
    one, two = np.ones_like(gx), 2 * np.ones_like(gx)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.5, 4.6), layout="constrained")
    m1 = np.stack([np.stack([one, two], -1), np.stack([gx, gy], -1)], -2)  # [[1, 2], [a21, a22]]
    mesh = _slice_panel(ax1, gx, gy, m1, eps, "$a_{21}$", "$a_{22}$", "(a) $a_{11}=1,\\ a_{12}=2$", (t, 2 * t))
    ax1.set_ylim(-3, 3)
    m2 = np.stack([np.stack([one, gx], -1), np.stack([gy, two], -1)], -2)  # [[1, a12], [a21, 2]]
    hyper = np.where(np.abs(t) > 0.6, 2 / np.where(t == 0, np.nan, t), np.nan)
    _slice_panel(ax2, gx, gy, m2, eps, "$a_{12}$", "$a_{21}$", "(b) $a_{11}=1,\\ a_{22}=2$", (t, hyper))
    ax2.set_ylim(-3, 3)
    bar = fig.colorbar(mesh, ax=[ax1, ax2], extend="min", shrink=0.85, pad=0.02)
    bar.set_label(r"$\log_{10}\sigma_{\min}(A)$")
    bar.ax.axhline(np.log10(eps), color=RED, lw=2.5)  # the M_eps threshold on the scale
    fig.legend(
        handles=[
            Patch(facecolor=RED, label=f"$M_\\varepsilon$: $\\sigma_{{\\min}}(A) < {eps:g}$"),
            Line2D([], [], color="black", ls="--", lw=1.4, label="det $A$ = 0"),
        ],
        loc="outside lower center",
        ncol=2,
        frameon=False,
    )
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _singular_surface(ax3, zmax: float) -> None:
    """The surface det A = 0 of 2x2 matrices with a11 = 1: a22 = a12 a21, its far corners clipped at |a22| = zmax."""
    u = np.linspace(-2, 2, 121)
    su, sv = np.meshgrid(u, u)
    surface = su * sv
    # clip the saddle's far corners: a shorter box keeps equal units on all axes with room for the tick labels
    surface = np.where(np.abs(surface) <= zmax, surface, np.nan)
    ax3.plot_surface(su, sv, surface, color=SURFACE, alpha=0.5, linewidth=0, shade=True)


def _ball(ax3, c: np.ndarray, radius: float) -> None:
    """The training ball around c, drawn in the (a12, a21, a22) coordinates."""
    phi, theta = np.meshgrid(np.linspace(0, np.pi, 20), np.linspace(0, 2 * np.pi, 30))
    ball = (
        c[0, 1] + radius * np.sin(phi) * np.cos(theta),
        c[1, 0] + radius * np.sin(phi) * np.sin(theta),
        c[1, 1] + radius * np.cos(phi),
    )
    ax3.plot_surface(*ball, color=BALL, alpha=0.8, linewidth=0)


def _ball_axes(ax3, zmax: float) -> None:
    ax3.set_xlabel("$a_{12}$", labelpad=8)
    ax3.set_ylabel("$a_{21}$", labelpad=8)
    ax3.set_zlabel("$a_{22}$", labelpad=6)
    ax3.set_xlim(-2, 2)
    ax3.set_ylim(-2, 2)
    ax3.set_zlim(-zmax, zmax)
    for axis in (ax3.xaxis, ax3.yaxis, ax3.zaxis):
        axis.set_major_locator(plt.MaxNLocator(5, steps=[1, 2, 5, 10]))
    ax3.set_yticks([-1, 0, 1, 2])  # no a21 = -2 label: it would sit on the a12 = 2 label at the front corner
    ax3.tick_params(pad=2)
    ax3.view_init(elev=22, azim=-55)
    ax3.set_box_aspect((4, 4, 2 * zmax), zoom=0.9)  # equal units on all axes, so the ball looks like one


def _ball_figure(path: Path, c: np.ndarray, radius: float, center_dist: float) -> None:
    """Figure 2: the singular surface of a11 = 1 and a training ball beside it."""
    from matplotlib.patches import Patch

    zmax = 3.0
    fig = plt.figure(figsize=(6.4, 6.4))
    ax3 = fig.add_subplot(projection="3d")
    _singular_surface(ax3, zmax)
    _ball(ax3, c, radius)
    _ball_axes(ax3, zmax)
    ball_label = f"ball of radius {radius:g} ($\\sigma_{{\\min}}$ = {center_dist:.3g} at its centre)"
    ax3.legend(
        handles=[
            Patch(facecolor=SURFACE, alpha=0.6, label="det $A$ = 0: $a_{22} = a_{12}a_{21}$"),
            Patch(facecolor=BALL, alpha=0.8, label=ball_label),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, 1.02),
        ncol=1,
        framealpha=0.9,
    )
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def meps_slices(
    out_dir: str | Path, *, eps: float = 0.1, ball_center=((1.0, 0.0), (0.0, 1.0)), ball_radius=0.5
) -> dict:
    """Draw M_eps = {A : sigma_min(A) < eps} on slices of 2x2 matrices: figure1_meps_slices.png and figure2_meps_3d.png.

    (a) a11 = 1, a12 = 2: a band around a22 = 2 a21; (b) a11 = 1, a22 = 2: a band around a12 a21 = 2;
    (c) a11 = 1: the surface det = 0 (a22 = a12 a21) and a training ball that avoids it. The band is computed from
    the real distance to the singular set, sigma_min, not from |det|. Returns the numbers the figure states.
    The figures carry no overall title: the report's caption says what they show.
    """
    out_dir = Path(out_dir)
    c = np.array(ball_center, dtype=float)
    center_dist = float(sigma_min(c))
    with plt.rc_context(_MEPS_RC):
        _slices_figure(out_dir / FIGURE_FILES[0], eps)
        _ball_figure(out_dir / FIGURE_FILES[1], c, ball_radius, center_dist)
    return {
        "files": list(FIGURE_FILES),
        "eps": eps,
        "ball_center": c.tolist(),
        "ball_radius": ball_radius,
        "ball_center_sigma_min": center_dist,
        "ball_avoids_singular_set": center_dist > ball_radius,
    }


def _thousands(v, _pos=None) -> str:
    """A step tick: 80000 -> 80k, 1500 -> 1.5k, 60 -> 60."""
    return f"{v / 1000:.3g}k" if abs(v) >= 1000 else f"{v:g}"


def _log_ticks(ax, lo: float, hi: float) -> None:
    """Labelled y ticks on a log axis whatever its range: decades when it spans two of them, else 1-2-5 or plain
    linear steps (a log axis over less than a decade has no major tick of its own)."""
    from matplotlib import ticker

    three_digits = ticker.FuncFormatter(lambda v, _pos=None: short(v))  # 0.135, 2e-05
    for locator, formatter in (
        (ticker.LogLocator(numticks=6), ticker.LogFormatterSciNotation()),
        (ticker.LogLocator(subs=(1.0, 2.0, 5.0), numticks=12), three_digits),
        (ticker.MaxNLocator(4), three_digits),
    ):
        ticks = [v for v in locator.tick_values(lo, hi) if lo <= v <= hi]
        if len(ticks) >= 2 or isinstance(locator, ticker.MaxNLocator):
            break
    ax.yaxis.set_major_locator(locator)
    ax.yaxis.set_major_formatter(formatter)
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def _curve_panel(ax, title: str, curve: dict, colors: dict) -> None:
    """One cell's loss against step, one line per seed (colors: seed -> colour, shared by the panels)."""
    from matplotlib import ticker

    losses = np.asarray(curve["loss"], dtype=float)
    if losses.ndim == 1:
        losses = losses[:, None]
    seeds = list(curve.get("seeds", range(losses.shape[1])))
    for j in range(losses.shape[1] if losses.size else 0):
        seed = seeds[j] if j < len(seeds) else j
        color = colors.setdefault(seed, f"C{len(colors) % 10}")
        ax.plot(curve["steps"], losses[:, j], lw=1.1, color=color)
    ax.set_yscale("log")
    positive = losses[np.isfinite(losses) & (losses > 0)]
    if positive.size:
        _log_ticks(ax, float(positive.min()), float(positive.max()))
    ax.xaxis.set_major_locator(ticker.MaxNLocator(5, steps=[1, 2, 2.5, 5, 10], integer=True, min_n_ticks=3))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(_thousands))
    ax.set_title(title)
    ax.grid(alpha=0.3)


def training_curves(path: str | Path, cells: dict[str, dict]) -> None:
    """One panel per cell (at most 2 columns): loss (log scale) against step, one line per seed, with one legend for
    the seeds. cells: {title: {"steps", "loss", optional "seeds"}}; loss is [[seed0, seed1, ...] per step]."""
    from matplotlib.lines import Line2D

    count = len(cells)
    cols = max(1, min(2, count))
    rows = max(1, (count + cols - 1) // cols)
    colors = {}  # seed -> colour, the same in every panel
    with plt.rc_context(_CURVES_RC):
        fig, axes = plt.subplots(rows, cols, figsize=(8.5, 2.3 * rows + 0.5), squeeze=False, layout="constrained")
        for i, (ax, (title, curve)) in enumerate(zip(axes.flat, cells.items())):
            _curve_panel(ax, title, curve, colors)
            if i % cols == 0:
                ax.set_ylabel("training MSE\n(scaled units)")
            if i + cols >= count:  # nothing below it
                ax.set_xlabel("step")
        for ax in list(axes.flat)[count:]:
            ax.axis("off")
        if colors:
            fig.legend(
                handles=[Line2D([], [], color=c, lw=2, label=f"seed {s}") for s, c in colors.items()],
                loc="outside upper center",
                ncol=len(colors),
                frameon=False,
            )
        fig.savefig(path, dpi=110)
        plt.close(fig)
