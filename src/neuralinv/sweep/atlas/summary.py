"""The atlas's Summary: one bullet per finding, every number computed from the trials."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict

from neuralinv.linalg.classical import TAYLOR1_NS1
from neuralinv.reporting.document import link
from neuralinv.reporting.formats import measured, plain, times
from neuralinv.sweep.atlas.compare import best_per_cell, error_groups, wins
from neuralinv.sweep.atlas.titles import TITLES
from neuralinv.sweep.atlas.trials import CLASSICAL, Axis, Trial, finite, model_names

EXACT = "exact (torch.linalg.inv)"


def plural(count: int, word: str) -> str:
    """ "1 trial", "2,000 trials"."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


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
            f"n = {', '.join(map(str, ns))} at {axis.name} {', '.join(plain(r) for r in rs)}" for ns, rs in picture
        )
        for picture, models in pictures.items()
    )


def _sweep_point(ts: list[Trial], rows: list[dict], axis: Axis) -> str:
    runs = len(rows)
    ok_runs = sum(len(t.ok_seeds) for t in ts)
    seeds = sorted({r["seed"] for r in rows if r["seed"] is not None})
    ns = sorted({t.n for t in ts})
    radii = sorted({axis.of(t) for t in ts if axis.of(t) is not None})
    return (
        f"**Sweep:** {len(ts):,} trials x seeds = {runs:,} runs (seeds {', '.join(map(str, seeds)) or '-'}) over "
        f"n = {', '.join(map(str, ns))}, {axis.name} {', '.join(plain(r) for r in radii) or '-'} and models "
        f"{', '.join(model_names(ts))}; {ok_runs:,} runs ok, {runs - ok_runs:,} failed"
        + (
            f" ({plural(sum(1 for t in ts if not t.ok), 'trial')} with no successful run)"
            if any(not t.ok for t in ts)
            else ""
        )
        + "."
    )


def _radius_point(ts: list[Trial]) -> str:
    return (
        "**Radius axis:** results.csv gives no relative radius for "
        + ("any trial" if all(t.relative_radius is None for t in ts) else "some trials")
        + ", so the atlas uses the absolute half-width c of the box throughout."
    )


def _failures_point(groups: list) -> str:
    return (
        f"**Failures ({link(TITLES['failures'], 'details')}):** "
        + "; ".join(f"{len(where)} x `{err}`" for err, where in groups[:5])
        + (f"; and {len(groups) - 5} other error(s)" if len(groups) > 5 else "")
        + "."
    )


def _taylor1_point(ts: list[Trial], axis: Axis) -> str | None:
    best = best_per_cell(ts, axis)
    better = [k for k, t in best.items() if t.mae("net") < t.mae("taylor1")]
    head = f"**Networks against Taylor-1, accuracy alone ({link(TITLES['heatmap'], 'heatmap')}):** "
    if better:
        return (
            head + f"a network is more accurate than Taylor-1 in {len(better)} of {len(best)} "
            f"(n, {axis.name}, model) cells: {cells_text(better, axis)}."
        )
    if best:
        k, t = min(best.items(), key=lambda kv: kv[1].mae("net") / kv[1].mae("taylor1"))
        return (
            head + f"no network is more accurate than Taylor-1 in any of the {len(best)} (n, "
            f"{axis.name}, model) cells; the closest is {k[2]} at n = {k[0]}, {axis.name} {plain(k[1])} "
            f"({times(t.mae('net') / t.mae('taylor1'))} Taylor-1's MAE)."
        )
    return None


def _wins_point(ts: list[Trial], axis: Axis) -> str:
    found = wins(ts)
    head = f"**At equal or lower inference time ({link(TITLES['wins'], 'table')}):** "
    if not found:
        return (
            head + "nowhere: no network is both more accurate than a classical method (Taylor-1, "
            "Taylor-2 or NS1) and at most as slow as it."
        )
    parts = []
    for m in CLASSICAL:
        w = [x for x in found if x["against"][m]["wins"]]
        keys = [(x["trial"].n, axis.of(x["trial"]), x["trial"].model) for x in w]
        keys = list(dict.fromkeys(k for k in keys if k[1] is not None))
        where = f" ({cells_text(keys, axis)})" if keys else ""
        parts.append(f"{CLASSICAL[m]} in {plural(len(w), 'trial')}{where}")
    t2ns = [x for x in found if x["against"]["taylor2"]["wins"] or x["against"][TAYLOR1_NS1]["wins"]]
    return (
        head
        + f"of {plural(sum(1 for t in ts if t.ok), 'successful trial')}, a network beats "
        + "; ".join(parts)
        + ("; so no network beats Taylor-2 or NS1 at equal or lower time" if not t2ns else "")
        + "."
    )


def _exact_point(ts: list[Trial]) -> str | None:
    exact_trials = [t for t in ts if t.ok and finite(t.time("exact")) and finite(t.time("net"))]
    if not exact_trials:
        return None
    faster = [t for t in exact_trials if t.time("exact") <= t.time("net")]
    return (
        f"**Exact inverse:** {EXACT} is at least as fast as the network in {len(faster)} of "
        f"{len(exact_trials)} successful trials (median time ratio exact / network "
        f"{measured(statistics.median(t.time('exact') / t.time('net') for t in exact_trials))})."
    )


def _machines_point(rows: list[dict]) -> str:
    nodes = Counter(r["node"] for r in rows if r["node"])
    return (
        "**Machines:** "
        + (
            ", ".join(f"`{node}` ({count} run{'s' if count != 1 else ''})" for node, count in nodes.most_common())
            if nodes
            else "no node recorded"
        )
        + "; times are per worker, so compare "
        "times within a trial (every method of a trial ran on the same worker)."
    )


def summary(ts: list[Trial], rows: list[dict], axis: Axis) -> list[str]:
    """The Summary's bullets: the sweep, the radius axis when absolute, failures, networks against Taylor-1, the wins
    at equal or lower time, the exact inverse's speed and the machines."""
    points = [_sweep_point(ts, rows, axis)]
    if not axis.relative:
        points.append(_radius_point(ts))
    groups = error_groups(ts)
    if groups:
        points.append(_failures_point(groups))
    if sum(len(t.ok_seeds) for t in ts) == 0:
        points.append("**No run succeeded**, so there are no accuracies or times to compare.")
    else:
        points += [p for p in (_taylor1_point(ts, axis), _wins_point(ts, axis), _exact_point(ts)) if p is not None]
    points.append(_machines_point(rows))
    return points
