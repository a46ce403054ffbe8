"""The atlas's figure sections: the heatmap, MAE against steps, against radius and against inference time, each with
its prose, or a sentence saying why there is nothing to draw."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from neuralinv.reporting.document import figure, link
from neuralinv.reporting.formats import plain
from neuralinv.sweep.atlas.compare import radius_slopes
from neuralinv.sweep.atlas.curves import radius_figure, steps_figure, time_figure
from neuralinv.sweep.atlas.heatmap import heatmaps
from neuralinv.sweep.atlas.titles import NOTHING, TITLES
from neuralinv.sweep.atlas.trials import Axis, Trial


def _heatmap_caption(axis: Axis, models: list[str], part: int, parts: int, crowded: bool) -> str:
    caption = (
        f"log10(network MAE / Taylor-1 MAE) over n (rows) and {axis.name} (columns), "
        f"{'one panel per model' if len(models) > 1 else 'model ' + models[0] if models else ''}"
        f"{f' (part {part} of {parts})' if parts > 1 else ''}; shared colour scale centred "
        'at 0, blue where the network is more accurate. Hatched: every run of the cell failed; "k/m '
        'failed": k of the cell\'s m runs failed and the value is from the rest; "no run": the sweep '
        "has no trial there."
    )
    if crowded:
        caption += " Where several trials share a cell (different training settings), the cell shows the best of them."
    return caption


def heatmap_section(out: Path, ts: list[Trial], axis: Axis) -> str:
    """Where a network beats Taylor-1: the heatmaps (drawn into out) and how to read them."""
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
        caption = _heatmap_caption(axis, models, i + 1, len(files), bool(crowded))
        lines += [figure(f"heatmap{i + 1}", name, caption), ""]
    return "\n".join(lines)


def steps_section(out: Path, ts: list[Trial], axis: Axis) -> str:
    """MAE against training steps, when the sweep ran more than one step count."""
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


def _slopes_text(fitted: dict[str, float], axis: Axis) -> list[str]:
    return [
        "How fast each method's error grows with the radius: the log-log slope of MAE against "
        f"{axis.name}, fitted per n and then the median over n, is "
        + ", ".join(f"{v:.2f} ({label})" for label, v in fitted.items())
        + ". Truncating the Taylor series after the k-th term leaves an error of order radius^(k+1), "
        "so 2 and 3 are expected for Taylor-1 and Taylor-2; a network whose slope is smaller loses "
        "ground to them as the radius shrinks.",
        "",
    ]


def radius_section(out: Path, ts: list[Trial], axis: Axis) -> str:
    """MAE against radius (or against n when the sweep has one radius), with the fitted slopes."""
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
            lines += _slopes_text(fitted, axis)
    else:
        caption = (
            f"The sweep has a single {axis.name} ({plain(radii[0])}), so this shows test MAE (median over "
            "seeds, log scale) against n instead. Solid lines: each network model (its best trial per point); "
            "dashed: the classical approximations."
        )
        lines.append(f"The sweep has a single {axis.name}, {plain(radii[0])}; the figure shows MAE against n instead.")
        lines.append("")
    lines.append(figure("radius", name, caption))
    return "\n".join(lines)


def time_section(out: Path, ts: list[Trial]) -> str:
    """Accuracy against inference time for every method."""
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
