"""Figures from results: the M_eps slices of 2x2 matrices (the paper's Figures 1-2) and training curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from neuralinv.regions import sigma_min  # noqa: E402


def _slice_panel(ax, grid_x, grid_y, matrices, eps, xlabel, ylabel, title, curve):
    s = sigma_min(matrices)
    mesh = ax.pcolormesh(grid_x, grid_y, np.log10(np.maximum(s, 1e-6)), cmap="viridis", shading="auto")
    ax.contourf(grid_x, grid_y, s, levels=[0, eps], colors=["#d62728"], alpha=0.55)
    ax.plot(*curve, "w--", lw=1.2, label="det = 0")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(loc="upper left", fontsize=8)
    return mesh


def meps_slices(out_dir: str | Path, *, eps: float = 0.1, ball_center=((1.0, 0.0), (0.0, 1.0)),
                ball_radius=0.5) -> dict:
    """Draw M_eps = {A : sigma_min(A) < eps} on slices of 2x2 matrices: figure1_meps_slices.png and figure2_meps_3d.png.

    (a) a11 = 1, a12 = 2: a band around a22 = 2 a21; (b) a11 = 1, a22 = 2: a band around a12 a21 = 2;
    (c) a11 = 1: the surface det = 0 (a22 = a12 a21) and a training ball that avoids it. The band is computed from
    the real distance to the singular set, sigma_min, not from |det|. Returns the numbers the figure states.
    """
    t = np.linspace(-3, 3, 301)
    gx, gy = np.meshgrid(t, t)
    one, two = np.ones_like(gx), 2 * np.ones_like(gx)
    out_dir = Path(out_dir)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True)
    m1 = np.stack([np.stack([one, two], -1), np.stack([gx, gy], -1)], -2)  # [[1, 2], [a21, a22]]
    mesh = _slice_panel(ax1, gx, gy, m1, eps, "$a_{21}$", "$a_{22}$", "(a) $a_{11}=1, a_{12}=2$",
                        (t, 2 * t))
    ax1.set_ylim(-3, 3)
    m2 = np.stack([np.stack([one, gx], -1), np.stack([gy, two], -1)], -2)  # [[1, a12], [a21, 2]]
    hyper = np.where(np.abs(t) > 0.6, 2 / np.where(t == 0, np.nan, t), np.nan)
    _slice_panel(ax2, gx, gy, m2, eps, "$a_{12}$", "$a_{21}$", "(b) $a_{11}=1, a_{22}=2$",
                 (t, hyper))
    ax2.set_ylim(-3, 3)
    fig.colorbar(mesh, ax=[ax1, ax2], label=r"$\log_{10}\sigma_{\min}(A)$", shrink=0.8)
    fig.suptitle(f"$M_\\varepsilon$ (red) for $\\varepsilon$ = {eps:g}: (a) a band around $a_{{22}} = 2a_{{21}}$, "
                 f"(b) a band around $a_{{12}}a_{{21}} = 2$")
    fig.savefig(out_dir / "figure1_meps_slices.png", dpi=110)
    plt.close(fig)

    fig = plt.figure(figsize=(6.5, 5.5))
    ax3 = fig.add_subplot(projection="3d")
    u = np.linspace(-2, 2, 41)
    su, sv = np.meshgrid(u, u)
    ax3.plot_surface(su, sv, su * sv, alpha=0.45, cmap="coolwarm", linewidth=0)
    c = np.array(ball_center, dtype=float)
    center_dist = float(sigma_min(c))
    phi, theta = np.meshgrid(np.linspace(0, np.pi, 20), np.linspace(0, 2 * np.pi, 30))
    ball = (c[0, 1] + ball_radius * np.sin(phi) * np.cos(theta), c[1, 0] + ball_radius * np.sin(phi) * np.sin(theta),
            c[1, 1] + ball_radius * np.cos(phi))
    ax3.plot_surface(*ball, color="#2ca02c", alpha=0.7)
    ax3.set(xlabel="$a_{12}$", ylabel="$a_{21}$", zlabel="$a_{22}$",
            title=f"$a_{{11}}=1$: the surface det = 0 and a ball of radius {ball_radius:g}\n"
                  f"around $a_{{12}}={c[0, 1]:g}, a_{{21}}={c[1, 0]:g}, a_{{22}}={c[1, 1]:g}$ "
                  f"($\\sigma_{{\\min}}$ = {center_dist:.3g})")
    ax3.set_zlim(-4, 4)
    ax3.set_box_aspect((1, 1, 2))  # equal units on all axes, so the ball looks like one
    fig.savefig(out_dir / "figure2_meps_3d.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return {"files": ["figure1_meps_slices.png", "figure2_meps_3d.png"], "eps": eps, "ball_center": c.tolist(),
            "ball_radius": ball_radius, "ball_center_sigma_min": center_dist,
            "ball_avoids_singular_set": center_dist > ball_radius}


def training_curves(path: str | Path, cells: dict[str, dict]) -> None:
    """One panel per cell: loss (log scale) against step, one line per seed. cells: {title: {"steps", "loss"}}."""
    count = len(cells)
    cols = min(4, count)
    rows = (count + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, (title, curve) in zip(axes.flat, cells.items()):
        losses = np.array(curve["loss"])
        for seed in range(losses.shape[1] if losses.ndim == 2 else 0):
            ax.plot(curve["steps"], losses[:, seed], lw=1, label=f"seed {curve.get('seeds', range(99))[seed]}")
        ax.set_yscale("log")
        ax.set(title=title, xlabel="step", ylabel="training MSE (scaled units)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[count:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
