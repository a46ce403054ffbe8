"""Comparisons between a trial's network and the classical methods: the best trial per cell, the wins at equal or
lower inference time, how fast each method's error grows with the radius, and the failed runs by error."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

from neuralinv.sweep.atlas.trials import CLASSICAL, NAN, Axis, Trial, finite, median, model_names


def best_per_cell(ts: list[Trial], axis: Axis) -> dict[tuple[int, float, str], Trial]:
    """Per (n, radius, model): the successful trial with the lowest network MAE relative to Taylor-1 (the best the sweep
    found there, when several training settings share the cell)."""
    best: dict[tuple[int, float, str], Trial] = {}
    for t in ts:
        r = axis.of(t)
        score = t.mae("net") / t.mae("taylor1") if t.ok else NAN
        if r is None or not finite(score):
            continue
        key = (t.n, r, t.model)
        if key not in best or score < best[key].mae("net") / best[key].mae("taylor1"):
            best[key] = t
    return best


def best_by(ts: list[Trial], key) -> dict:
    """The successful trial with the lowest network MAE per key(t) (several training settings may share a key)."""
    best: dict = {}
    for t in ts:
        if not t.ok or not finite(t.mae("net")):
            continue
        k = key(t)
        if k not in best or t.mae("net") < best[k].mae("net"):
            best[k] = t
    return best


def compare(t: Trial, method: str) -> dict:
    """The network of trial t against one classical method: "wins" when its median MAE is lower AND its median time is
    at most the method's."""
    net_mae, net_time = t.mae("net"), t.time("net")
    mae, time = t.mae(method), t.time(method)
    known = all(finite(v) for v in (net_mae, net_time, mae, time))
    return {
        "method": method,
        "known": known,
        "more_accurate": known and net_mae < mae,
        "no_slower": known and net_time <= time,
        "wins": known and net_mae < mae and net_time <= time,
        "mae_ratio": net_mae / mae if known and mae > 0 else NAN,
        "time_ratio": net_time / time if known and time > 0 else NAN,
    }


def best_classical_within(t: Trial) -> tuple[str, float, float] | None:
    """The most accurate classical approximation whose median time is at most the network's: (method, MAE, time)."""
    net_time = t.time("net")
    if not finite(net_time):
        return None
    fits = [(t.mae(m), m) for m in CLASSICAL if finite(t.mae(m)) and finite(t.time(m)) and t.time(m) <= net_time]
    if not fits:
        return None
    mae, m = min(fits)
    return m, mae, t.time(m)


def wins(ts: list[Trial]) -> list[dict]:
    """Every successful trial whose network beats at least one classical method at equal or lower inference time, with
    its comparison against each of Taylor-1, Taylor-2 and NS1, the best classical method at equal or lower time, and
    whether the exact inverse is at least as fast."""
    out = []
    for t in ts:
        if not t.ok:
            continue
        against = {m: compare(t, m) for m in CLASSICAL}
        if any(c["wins"] for c in against.values()):
            exact = t.time("exact")
            out.append(
                {
                    "trial": t,
                    "against": against,
                    "best_within": best_classical_within(t),
                    "exact_no_slower": finite(exact) and finite(t.time("net")) and exact <= t.time("net"),
                    "exact_ratio": exact / t.time("net") if finite(exact) and t.time("net") > 0 else NAN,
                }
            )
    return out


def _mae_by_radius(ts: list[Trial], axis: Axis) -> dict[str, dict[int, dict[float, float]]]:
    """label -> n -> radius -> MAE: classical medians over trials, networks their best trial per point."""
    ok = [t for t in ts if t.ok and finite(axis.of(t)) and axis.of(t) > 0]
    series: dict[str, dict[int, dict[float, float]]] = defaultdict(lambda: defaultdict(dict))
    for m in CLASSICAL:
        for n in {t.n for t in ok}:
            for r in {axis.of(t) for t in ok if t.n == n}:
                series[CLASSICAL[m]][n][r] = median([t.mae(m) for t in ok if t.n == n and axis.of(t) == r])
    for (n, r, model), t in best_by(ok, lambda t: (t.n, axis.of(t), t.model)).items():
        series[f"network {model}"][n][r] = t.mae("net")
    return series


def radius_slopes(ts: list[Trial], axis: Axis) -> dict[str, float]:
    """Per method (networks: their best trial per point): the least-squares slope of log MAE against log radius within
    each n with at least two radii, then the median over n."""
    import numpy as np

    series = _mae_by_radius(ts, axis)
    out = {}
    for label in [CLASSICAL[m] for m in CLASSICAL] + [f"network {m}" for m in model_names(ts)]:
        slopes = []
        for points in series.get(label, {}).values():
            pts = [(r, v) for r, v in points.items() if finite(v) and v > 0]
            if len(pts) >= 2:
                x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
                slopes.append(float(np.polyfit(x, y, 1)[0]))
        if slopes:
            out[label] = statistics.median(slopes)
    return out


def first_line(text: str, limit: int = 160) -> str:
    """The first line of an error, cut to limit characters."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else "(no error text)"
    return line if len(line) <= limit else line[: limit - 3] + "..."


def error_groups(ts: list[Trial]) -> list[tuple[str, list[tuple[Trial, int | None]]]]:
    """Failed runs grouped by the first line of their error, most frequent first."""
    groups: dict[str, list[tuple[Trial, int | None]]] = defaultdict(list)
    for t in ts:
        for seed, status, error in t.failures:
            key = first_line(error) if status == "failed" else f"status {status!r}: {first_line(error)}"
            groups[key].append((t, seed))
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def log_ratio(t: Trial) -> float | None:
    """log10(network MAE / Taylor-1 MAE), None unless both are positive."""
    if t.mae("net") > 0 and t.mae("taylor1") > 0:
        return math.log10(t.mae("net") / t.mae("taylor1"))
    return None
