"""The atlas's table sections: the wins, the failed runs, the results per trial and how the atlas was made."""

from __future__ import annotations

from pathlib import Path

from neuralinv.linalg.classical import TAYLOR1_NS1
from neuralinv.reporting.document import details, table
from neuralinv.reporting.formats import measured, plain, sci, setting, times
from neuralinv.sweep.atlas.compare import error_groups, wins
from neuralinv.sweep.atlas.titles import TITLES
from neuralinv.sweep.atlas.trials import (
    CLASSICAL,
    NAN,
    SETTINGS,
    Axis,
    Trial,
    finite,
    hidden,
    order,
    settings_text,
    varying_settings,
)

FOLD_ROWS = 12  # a table longer than this is folded
WINS_FOLD_ROWS = 40  # except the wins table, the atlas's answer, which stays open longer
MAX_ROWS = 400  # and cut to this many rows ("Shown: N of M")
RESULT_COLUMNS = [
    "seeds ok",
    "net MAE",
    "net max error",
    "Taylor-1 MAE",
    "Taylor-2 MAE",
    "NS1 MAE",
    "net / Taylor-1",
    "net s",
    "Taylor-1 s",
    "Taylor-2 s",
    "NS1 s",
    "exact s",
    "train s",
    "final loss",
]


def fold(summary_line: str, headers: list[str], body: list[list], what: str = "rows", after: int = FOLD_ROWS) -> str:
    """A table, cut to MAX_ROWS ("Shown: N of M") and folded when it has more than after rows."""
    shown = body[:MAX_ROWS]
    text = table(headers, shown, shown=len(shown), total=len(body), what=what)
    return details(summary_line, text) if len(body) > after else text


def compare_cell(c: dict) -> str:
    """A wins-table cell: whether the network wins against one method, with its MAE and time as multiples."""
    if not c["known"]:
        return "-"
    if c["wins"]:
        return f"**yes**: MAE {times(c['mae_ratio'])}, time {times(c['time_ratio'])}"
    if not c["more_accurate"]:
        return f"no: MAE {times(c['mae_ratio'])}"
    return f"no: time {times(c['time_ratio'])}"


_WINS_INTRO = (
    "A network **wins** against a classical method when its median test MAE is lower and its median inference "
    "time is at most the method's, both measured in the same trial on the same worker. Each method column "
    "gives the network's MAE and time as multiples of that method's (\"MAE 0.3x\": the network's error is "
    "0.3 times the method's). **Best classical at <= net time** is the most accurate of Taylor-1, Taylor-2 "
    "and NS1 that runs no slower than the network; **Exact at <= net time** says whether torch.linalg.inv "
    "itself is at least as fast (exact time / network time)."
)


def _wins_row(w: dict, axis: Axis, varying: list[tuple[str, str]]) -> list:
    t = w["trial"]
    within = w["best_within"]
    best = f"{CLASSICAL[within[0]]} ({sci(within[1])})" if within else "none"
    exact = ("yes" if w["exact_no_slower"] else "no") + (
        f" ({measured(w['exact_ratio'])}x)" if finite(w["exact_ratio"]) else ""
    )
    return (
        [t.n, plain(axis.of(t)), t.model]
        + ([settings_text(t, varying)] if varying else [])
        + [sci(t.mae("net")), measured(t.time("net"))]
        + [compare_cell(w["against"][m]) for m in CLASSICAL]
        + [best, exact]
    )


def wins_section(ts: list[Trial], axis: Axis) -> str:
    """Where a network wins at equal or lower inference time: one row per such trial, or "Nowhere"."""
    found = wins(ts)
    varying = varying_settings(ts)
    lines = [f"## {TITLES['wins']}", "", _WINS_INTRO, ""]
    if not any(t.ok for t in ts):
        lines.append("No run succeeded, so there is nothing to compare.")
        return "\n".join(lines)
    if not found:
        lines.append(
            "**Nowhere:** no network beats any classical method (Taylor-1, Taylor-2 or NS1) at equal or "
            f"lower inference time, in any of the {sum(1 for t in ts if t.ok):,} successful trials."
        )
        return "\n".join(lines)
    body = [_wins_row(w, axis, varying) for w in sorted(found, key=lambda w: order(w["trial"], axis))]
    headers = (
        ["n", axis.name, "model"]
        + (["settings"] if varying else [])
        + ["net MAE", "net s / 10k"]
        + [f"vs {CLASSICAL[m]}" for m in CLASSICAL]
        + ["Best classical at <= net time (MAE)", "Exact at <= net time"]
    )
    lines.append(
        f"{len(found)} of {sum(1 for t in ts if t.ok):,} successful trials have a network that wins against "
        "at least one method:"
    )
    lines.append("")
    lines.append(fold(f"{len(found)} trials where a network wins", headers, body, what="trials", after=WINS_FOLD_ROWS))
    return "\n".join(lines)


def _failure_places(where: list[tuple[Trial, int | None]], axis: Axis) -> str:
    """Where one error happened: "trial seeds 0, 1 (n = 2, relative radius 0.5, 2fc); ..." (six trials at most)."""
    per_trial: dict[str, list] = {}
    for t, seed in where:
        per_trial.setdefault(t.trial_id, [t]).append(seed)
    entries = [
        f"{tid} seed{'s' if len(v) > 2 else ''} {', '.join(setting(x) for x in v[1:])} (n = {v[0].n}, "
        f"{axis.name} {plain(axis.of(v[0]))}, {v[0].model})"
        for tid, v in per_trial.items()
    ]
    return "; ".join(entries[:6]) + (f"; and {len(entries) - 6} more trials" if len(entries) > 6 else "")


def failures_section(ts: list[Trial], axis: Axis) -> str | None:
    """The failed runs grouped by the first line of their error; None when every run finished."""
    groups = error_groups(ts)
    if not groups:
        return None
    body = [[len(where), f"`{err}`", _failure_places(where, axis)] for err, where in groups]
    runs = sum(len(t.seeds) for t in ts)
    return "\n".join(
        [
            f"## {TITLES['failures']}",
            "",
            f"{sum(len(w) for _, w in groups)} of {runs} runs did not finish with status ok, grouped by the "
            "first line of their error:",
            "",
            fold(f"{len(groups)} distinct errors", ["Runs", "Error", "Where (trial, seed)"], body, what="errors"),
        ]
    )


def _metrics(t: Trial) -> list[str]:
    """A trial's medians as the results table shows them ("failed" and dashes when no seed succeeded)."""
    if not t.ok:
        return ["failed"] + ["-"] * 13
    ratio = t.mae("net") / t.mae("taylor1") if finite(t.mae("taylor1")) and t.mae("taylor1") > 0 else NAN
    maes = [t.mae("net"), t.get("max_error"), t.mae("taylor1"), t.mae("taylor2"), t.mae(TAYLOR1_NS1)]
    seconds = [t.time(m) for m in ("net", "taylor1", "taylor2", TAYLOR1_NS1, "exact")] + [t.get("train_seconds")]
    return [sci(v) for v in maes] + [measured(ratio)] + [measured(v) for v in seconds] + [sci(t.get("final_loss"))]


_RESULTS_INTRO = (
    "One row per trial: medians over its successful seeds (**seeds ok** counts them). MAE columns are the mean "
    "absolute error per entry of A^-1 on the trial's 10,000 test matrices; **net max error** is the largest "
    "entry error; **net / Taylor-1** below 1 means the network is more accurate; the **s** columns are seconds "
    "per 10,000 matrices on the trial's worker; **train s** is training wall time; **final loss** the last "
    "training loss (scaled units); **hidden** is hidden layers x hidden units."
)


def results_section(ts: list[Trial], axis: Axis) -> str:
    """Every trial's settings and medians, one row per trial."""
    varying = varying_settings(ts)
    body = [
        [t.trial_id, t.n, plain(axis.of(t)), t.model, hidden(t)]
        + ([settings_text(t, varying)] if varying else [])
        + [f"{len(t.ok_seeds)}/{len(t.seeds)}"]
        + _metrics(t)
        for t in sorted(ts, key=lambda t: order(t, axis))
    ]
    headers = ["trial", "n", axis.name, "model", "hidden"] + (["settings"] if varying else []) + RESULT_COLUMNS
    return "\n".join(
        [f"## {TITLES['results']}", "", _RESULTS_INTRO, "", fold(f"{len(body)} trials", headers, body, what="trials")]
    )


def setup_section(path: Path, rows: list[dict], ts: list[Trial], axis: Axis) -> str:
    """Where the numbers come from, the radius axis, the methods and the settings that are fixed or vary."""
    varying = varying_settings(ts)
    fixed = [
        (label, getattr(ts[0], key))
        for key, label in SETTINGS
        if (key, label) not in varying and key not in ("depth", "width")
    ]
    return "\n".join(
        [
            f"## {TITLES['setup']}",
            "",
            f"- **Source:** every number comes from `{path.name}` in this directory ({len(rows):,} rows, one per trial "
            "and seed); medians are over a trial's runs with status ok.",
            f"- **Radius:** {axis.long}.",
            "- **Methods:** Taylor-1 is the linear approximation A0^-1 - A0^-1 (A - A0) A0^-1; Taylor-2 adds the "
            "second-order term; NS1 is Taylor-1 followed by one Newton-Schulz step X <- X (2I - A X); exact is "
            "torch.linalg.inv. All are evaluated on the same test matrices as the network.",
            "- **Settings the same in every trial:** "
            + (", ".join(f"{label} {setting(v)}" for label, v in fixed) or "none")
            + ".",
            "- **Settings that differ between trials:** " + (", ".join(label for _, label in varying) or "none") + ".",
        ]
    )
