"""The reproduce report: DIR/report.md and a self-contained DIR/report.html, built from DIR/results.json alone.

Every number comes from results.json (our runs) or neuralinv.paper.numbers (the paper's, labelled as such); the Summary
is computed from the same results, so nothing in it is typed by hand. The page itself is neuralinv.reporting.document's.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from neuralinv.paper import numbers as paper
from neuralinv.reporting.document import Document, figure, link, table
from neuralinv.reporting.formats import sci as e
from neuralinv.reporting.formats import share, short

CURVES_FIGURE = "training_curves.png"
TITLES = {
    "table1": "Table 1: test MAE per entry",
    "table2": "Table 2: 2x2 (First), networks beside classical methods",
    "table3": "Table 3: seconds for 10,000 matrices",
    "figures": "Figures 1-2: where M_eps lies for 2x2 matrices",
    "curves": "Training curves",
    "analysis": "What the network learned",
    "limits": "Why can't: near-singular matrices",
    "setup": "How this report was made",
}
# One name per method across Tables 2 and 3 and the Summary.
METHODS = {
    "taylor1": "Linear approximation (Taylor-1)",
    "taylor2": "Second-order Taylor",
    "taylor1+ns1": "Linear + one Newton-Schulz step",
    "exact closed form": "Exact, closed form",
    "numpy.linalg.inv": "numpy.linalg.inv",
    "torch.linalg.inv": "torch.linalg.inv",
}
NOT_IN_PAPER = {"taylor2", "taylor1+ns1"}


def ratio(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def method_title(row: dict) -> str:
    """The name a row of Table 2 or 3 goes by everywhere in the report."""
    from neuralinv.nets.mlp import get_model

    if row.get("kind") == "network" or row.get("method") in ("2fc", "3fc", "2fc-small"):
        title = get_model(row["method"]).title + (" (h = 8)" if row["method"] == "2fc-small" else "")
        return f"{title} network"
    return METHODS.get(row["method"], row["method"])


def dataset_title(name: str) -> str:
    from neuralinv.paper.presets import get_dataset

    return get_dataset(name).title


# ---------------------------------------------------------------------------------------------------------------------
# The Summary: one verdict per claim, computed from results.json.


def _budget_reason(row: dict) -> str:
    if row["steps"] < row["paper_steps"]:
        return (
            f"{row['steps']:,} of the paper's {row['paper_steps']:,} steps ({share(row['steps'] / row['paper_steps'])})"
        )
    return f"at the paper's {row['paper_steps']:,} steps, so not a budget effect"


def summary_table1(rows: list[dict]) -> str:
    within = [r for r in rows if not r["flag"]]
    text = (
        f"**{link(TITLES['table1'], 'Table 1')}:** {len(within)} of {len(rows)} cells are within 2x of the paper's MAE"
    )
    flagged = [r for r in rows if r["flag"]]
    if flagged:
        text += "; not within 2x: " + "; ".join(
            f"{r['title']} {r['model_title']} ({e(r['mae_mean'])} against {e(r['paper_mae'])}, {_budget_reason(r)})"
            for r in flagged
        )
    better = [r for r in rows if r["ratio"] < 0.5]
    if better:
        text += "; more than 2x better than the paper's: " + ", ".join(
            f"{r['title']} {r['model_title']} ({r['ratio']:.3g}x)" for r in better
        )
    return text + "."


def summary_table2(rows: list[dict]) -> str:
    rated = [r for r in rows if r.get("paper")]
    ours = [method_title(r) for r in sorted(rated, key=lambda r: r["mae"])]
    theirs = [method_title(r) for r in sorted(rated, key=lambda r: r["paper"])]
    head = f"**{link(TITLES['table2'], 'Table 2')}:** "
    if ours == theirs:
        return head + f"the paper's ordering holds (lowest MAE first): {' < '.join(ours)}."
    return head + f"the ordering differs from the paper's: ours {' < '.join(ours)}; the paper's {' < '.join(theirs)}."


def table3_rows(t3: dict) -> list[dict]:
    """Rows a reader compares: every classical path and each network's full path (matrices in, inverses out)."""
    return [r for r in t3["rows"] if r["kind"] != "network" or r.get("variant") == "full"]


def fastest(t3: dict) -> list[tuple[str, dict, dict | None, str]]:
    """Per data set at the largest batch: the fastest path, the fastest network path, and the batch size."""
    big = str(max(t3["settings"]["batches"]))
    out = []
    by_dataset: dict[str, list[dict]] = {}
    for r in table3_rows(t3):
        if big in r["times"]:
            by_dataset.setdefault(r["dataset"], []).append(r)
    for ds, rows in by_dataset.items():
        best = min(rows, key=lambda r: r["times"][big]["seconds"])
        nets = [r for r in rows if r["kind"] == "network"]
        net = min(nets, key=lambda r: r["times"][big]["seconds"]) if nets else None
        out.append((ds, best, net, big))
    return out


def summary_table3(t3: dict) -> str:
    big = str(max(t3["settings"]["batches"]))
    winners: dict[str, list[str]] = {}
    slower = []
    for ds, best, net, _ in fastest(t3):
        winners.setdefault(method_title(best), []).append(
            f"{dataset_title(ds)} ({short(best['times'][big]['seconds'])} s)"
        )
        if net is not None and net is not best:
            slower.append(net["times"][big]["seconds"] / best["times"][big]["seconds"])
    heading = link(f"{TITLES['table3']} ({t3['device']})", "Table 3")
    text = f"**{heading}:** the fastest path for 10,000 matrices in batches of {int(big):,} is " + "; ".join(
        f"{method} on {', '.join(where)}" for method, where in winners.items()
    )
    if slower:
        text += (
            f"; the fastest network is {short(min(slower))}x"
            + (f" to {short(max(slower))}x" if len(slower) > 1 else "")
            + " slower than that"
        )
    return text + "."


def summary_limits(lim: dict) -> str:
    from neuralinv.experiments.limits import verdict

    heading = link(TITLES["limits"], "Why can't")
    return f"**{heading}:** " + verdict(lim)


def summary_beyond(results: dict) -> list[str]:
    """Findings the paper does not report: the linear approximation and classical methods against the networks."""
    points = []
    rows = results.get("table1", [])
    beaten = [r for r in rows if r["linear_mae"] < r["paper_mae"]]
    if beaten:
        points.append(
            "**Beyond the paper, linear approximation:** on our test sets the linear approximation (Taylor-1) beats "
            "the paper's own networks in "
            + ", ".join(
                f"{r['title']} {r['model_title']} ({e(r['linear_mae'])} against the paper's {e(r['paper_mae'])})"
                for r in beaten
            )
            + "; the paper does not report the linear approximation there."
        )
    t2 = {r["method"]: r for r in results.get("table2", [])}
    nets = [r for r in results.get("table2", []) if r["method"] in ("2fc-small", "2fc", "3fc")]
    classical = [t2[m] for m in ("taylor2", "taylor1+ns1") if m in t2]
    if nets and classical:
        best = min(nets, key=lambda r: r["mae"])
        best_paper = min(nets, key=lambda r: r["paper"] or float("inf"))
        wins = [r for r in classical if r["mae"] < best["mae"]]
        verdict = f"beat{'s' if len(wins) == 1 else ''} every network" if wins else "do not beat the best network"
        points.append(
            "**Beyond the paper, classical methods:** on 2x2 (First), "
            + " and ".join(f"{method_title(r)} ({e(r['mae'])})" for r in (wins or classical))
            + f" {verdict}: the best network "
            f"here reaches {e(best['mae'])} ({method_title(best)}), the paper's best {e(best_paper['paper'])}; "
            "each costs a few small matrix products per matrix."
        )
    return points


def summary(results: dict) -> list[str]:
    points = []
    if results["budget"] == "fast":
        points.append(
            "**Budget `fast`:** a tenth of the paper's steps with Adam lr 1e-2 instead of 5e-5 (the recipe "
            "search in docs/recipe found it reaches Table 1's MAE on the six 2x2 and 3x3 cells; 16x16 was "
            "not searched); not the paper's protocol, and every cell states its steps beside the paper's."
        )
    elif results["budget"] != "paper":
        points.append(
            f"**Budget `{results['budget']}`:** reduced step counts, not the paper's protocol; every cell "
            "states its steps beside the paper's"
            + (
                f" (every cell overridden to {results['steps_override']:,} steps)"
                if results.get("steps_override")
                else ""
            )
            + "."
        )
    points += [
        verdict(results[key])
        for key, verdict in (("table1", summary_table1), ("table2", summary_table2), ("table3", summary_table3))
        if key in results
    ]
    if "limits" in results and "results" in results["limits"]:
        points.append(summary_limits(results["limits"]["results"]))
    points += summary_beyond(results)
    return points


# ---------------------------------------------------------------------------------------------------------------------
# Sections


def header(results: dict) -> list[str]:
    m = results["machine"]
    when = results["started"][:10]
    return [
        f"Ji, Wu and Xi, arXiv 2506.00642. Generated by `neuralinv reproduce --budget {results['budget']}` on "
        f"{when}, {m['cpu']} ({m['cores']} cores), device `{results['device']}`; details in "
        f"{link(TITLES['setup'], 'how this report was made')}."
    ]


def setup_section(results: dict) -> str:
    m = results["machine"]
    gpu = m.get("gpu") or "none"
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    lines = [
        f"## {TITLES['setup']}",
        "",
        f"- **Command:** `neuralinv reproduce --budget {results['budget']}`, started {results['started']}.",
        f"- **Budget:** `{results['budget']}`"
        + (
            " (reduced step counts: **not the paper's protocol**; each cell's steps are shown beside the paper's)"
            if results["budget"] != "paper"
            else " (the paper's step counts and data sizes)"
        )
        + (f"; every cell overridden to {results['steps_override']:,} steps" if results.get("steps_override") else ""),
        f"- **Machine:** {m['cpu']}, {m['cores']} cores, GPU: {gpu}; device used: `{results['device']}`.",
        f"- **Versions:** Python {m['python']}, {versions}.",
        f"- **Wall time:** {results['wall_time_s']:.0f} s in all ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in results.get("timings_s", {}).items())
        + ").",
        "- **Protocol:** uniform samples in boxes of half-width c = 0.01, the paper's scaled inputs and targets "
        "(x = vec(A - A0)/c, y = vec(A^-1 - A0^-1)/c), Adam lr "
        + ("1e-2 (budget fast)" if results["budget"] == "fast" else "5e-5")
        + ", weight decay 1e-7, cosine warm restarts (T_0 = 3, T_mult = 2), MSE, batch 128, seeds 0, 1, 2; test sets "
        "of 10,000 fresh matrices.",
        "- **Sources:** every number of ours comes from `results.json` in this directory; the paper's numbers are "
        "labelled as the paper's.",
    ]
    return "\n".join(lines)


def table1_section(rows: list[dict]) -> str:
    body = []
    for r in rows:
        body.append(
            [
                r["title"],
                r["model_title"],
                f"{e(r['mae_mean'])} ± {e(r['mae_std'], 2)}",
                e(r["paper_mae"]),
                ratio(r["ratio"]),
                "**no**" if r["flag"] else "yes",
                e(r["linear_mae"]),
                "yes" if r["beats_linear"] else "**no**",
                f"{r['steps']:,} / {r['paper_steps']:,}",
            ]
        )
    beaten = [
        f"{r['title']} {r['model_title']} ({e(r['paper_mae'])} against {e(r['linear_mae'])})"
        for r in rows
        if r["linear_mae"] < r["paper_mae"]
    ]
    note = ""
    if beaten:
        note = (
            " Where the paper's own network is worse than the linear approximation on our test set: "
            + ", ".join(beaten)
            + ". The paper does not report the linear approximation for these data sets."
        )
    return "\n".join(
        [
            f"## {TITLES['table1']}",
            "",
            table(
                [
                    "Data set",
                    "Model",
                    "Ours (mean ± std)",
                    "Paper",
                    "Ours / paper",
                    "Within 2x",
                    "Linear approx.",
                    "Beats linear",
                    "Steps (ours / paper)",
                ],
                body,
            ),
            "",
            "Columns: **Ours** is the mean test MAE per entry of A^-1 over seeds 0, 1, 2 (± the "
            "sample standard deviation "
            "over seeds); **Paper** is the paper's mean (its printed spreads are far smaller than plausible run-to-run "
            "variation, so they are left out); **Ours / paper** below 1 means ours is better; **Within 2x** is whether "
            "ours is at most twice the paper's; **Linear approx.** is the MAE of the linear approximation A0^-1 - "
            "A0^-1 (A - A0) A0^-1 (Taylor-1, Eq. 10) on the same test set, and **Beats linear** whether our network "
            "is better than it; **Steps** are training steps, ours beside the paper's." + note,
        ]
    )


def table2_section(rows: list[dict]) -> str:
    body = []
    for r in rows:
        within = "-" if not r.get("paper") else ("**no**" if r["flag"] else "yes")
        steps = f"{r['steps']:,} / {r['paper_steps']:,}" if r.get("steps") else "closed form"
        name = method_title(r) + (" (not in the paper)" if r["method"] in NOT_IN_PAPER else "")
        body.append(
            [
                name,
                e(r["mae"]) + (f" ± {e(r['mae_std'], 2)}" if r.get("mae_std") is not None else ""),
                e(r.get("paper")),
                ratio(r.get("ratio")),
                within,
                steps,
            ]
        )
    return "\n".join(
        [
            f"## {TITLES['table2']}",
            "",
            table(["Method", "Ours (MAE)", "Paper", "Ours / paper", "Within 2x", "Steps (ours / paper)"], body),
            "",
            "Same test set for every row. Networks: mean ± std over seeds, trained for the steps shown; "
            "classical methods have no training (closed form). Second-order Taylor and one Newton-Schulz "
            "step after the "
            "linear approximation are not in the paper; they cost a few small matrix products per matrix and are shown "
            "for a fair comparison.",
        ]
    )


def table3_section(t3: dict) -> str:
    batches = [str(b) for b in t3["settings"]["batches"]]
    body = []
    seen_exact = set()
    for r in table3_rows(t3):
        times = [short(r["times"][b]["seconds"]) if b in r["times"] else "-" for b in batches]
        p = r.get("paper") or {}
        paper_bs1 = short(p.get("cpu_bs1")) if r["kind"] == "network" else "-"
        paper_exact = "-"
        if r["kind"] == "exact" and r["dataset"] not in seen_exact and paper.exact_cpu_seconds(r["n"]) is not None:
            seen_exact.add(r["dataset"])
            paper_exact = short(paper.exact_cpu_seconds(r["n"]))
        roof = ratio(r.get("ratio")) if r["kind"] == "network" else "-"
        body.append(
            [
                dataset_title(r["dataset"]),
                method_title(r),
                *times,
                paper_bs1,
                paper_exact,
                short(p.get("gpu_bs10000")) if p else "-",
                roof,
            ]
        )
    big = batches[-1]
    best = "; ".join(
        f"{dataset_title(ds)}: {method_title(b)}"
        + (
            f" (fastest network: {method_title(n)}, {short(n['times'][bs]['seconds'] / b['times'][bs]['seconds'])}x "
            "its time)"
            if n is not None and n is not b
            else ""
        )
        for ds, b, n, bs in fastest(t3)
    )
    return "\n".join(
        [
            f"## {TITLES['table3']} ({t3['device']})",
            "",
            f"Ours measured on this machine (median of {t3['settings']['repeats']} repeats after warm-up, "
            f"{t3['threads']} threads); the paper's on {paper.TABLE3_MACHINE}. Networks are timed on the path a "
            "user calls (matrices in, inverses out). A batch-1 column calls the method once per matrix.",
            "",
            table(
                [
                    "Data set",
                    "Method",
                    *(f"Ours, bs {int(b):,}" for b in batches),
                    "Paper, network CPU bs 1",
                    "Paper, exact inverse CPU",
                    "Paper, network GPU bs 10,000",
                    "Network time / roofline",
                ],
                body,
            ),
            "",
            f"Fastest at batch {int(big):,}, per data set: {best}.",
            "",
            "Columns: times are seconds for 10,000 matrices; **bs** is the batch size. **Paper, exact "
            "inverse CPU** is the "
            "paper's time for its exact inverse (printed once per size). **Network time / roofline** is our "
            f"batch-{int(big):,} time divided by the least time this machine could take for the network's arithmetic "
            "(its FLOPs at the machine's measured sgemm rate) or its memory traffic (inputs, outputs "
            "and weights at the "
            "measured copy bandwidth), whichever is larger: 1.0 would be a perfect implementation.",
        ]
    )


def figures_section(fig: dict) -> str:
    return "\n".join(
        [
            f"## {TITLES['figures']}",
            "",
            f"M_eps is the set of matrices within eps = {fig['eps']:g} of a singular one, drawn from the true distance "
            "sigma_min(A) (Eckart-Young-Mirsky), not from |det A|.",
            "",
            figure(
                "meps",
                fig["files"][0],
                f"Two slices of 2x2 matrices (the paper's Figure 1): (a) a11 = 1, a12 = 2, where M_eps is a band "
                f"around the line a22 = 2 a21; (b) a11 = 1, a22 = 2, a band around the hyperbola a12 a21 = 2. Grey "
                f"scale: log10 sigma_min(A); red: M_eps, the matrices within eps = {fig['eps']:g} of a singular one; "
                "black dashed: det A = 0. The band is narrow where the slice crosses the singular set steeply and wide "
                "where it runs along it.",
            ),
            "",
            figure(
                "ball",
                fig["files"][1],
                f"With a11 = 1, the singular matrices form the surface a22 = a12 a21 (the paper's Figure 2). A "
                f"training ball of radius {fig['ball_radius']:g} around a centre with sigma_min = "
                f"{fig['ball_center_sigma_min']:.3g} {'avoids' if fig['ball_avoids_singular_set'] else 'touches'} "
                "it: the question of where a network can learn the inverse is whether its region keeps clear of this "
                "surface.",
            ),
        ]
    )


def curves_section(rows: list[dict], out: Path) -> str:
    from neuralinv.reproduce.figures import training_curves

    cells = {
        f"{r['title']} {r['model_title']} ({r['steps']:,} steps)": {**r["curve"], "seeds": [0, 1, 2]} for r in rows
    }
    training_curves(out / CURVES_FIGURE, cells)
    return "\n".join(
        [
            f"## {TITLES['curves']}",
            "",
            figure(
                "curves",
                CURVES_FIGURE,
                "Training loss (MSE in the scaled units) against step, log scale, one line per seed, one "
                "panel per Table 1 cell. Curves that still fall at their last step would gain from a "
                "longer budget.",
            ),
        ]
    )


def analysis_sections(section: dict) -> tuple[str, str | None]:
    """The "What the network learned" section and its appendix of per-entry tables (None for a stored section)."""
    from neuralinv.experiments import analysis

    if "results" not in section:  # a section stored as Markdown alone
        return section["markdown"].strip(), None
    result = analysis.Analysis.from_json(section["results"])
    main = analysis.markdown(result, title=TITLES["analysis"], figure=analysis.FIGURE_NAME, entries=False)
    if result.n == 2 and len(result.patterns) >= 2:
        ours = result.patterns[:2]
        main += (
            f"\nThe paper's two largest patterns hold {share(paper.PATTERNS['shares'][0])} and "
            f"{share(paper.PATTERNS['shares'][1])} of the samples, with coefficient gaps up to "
            f"{paper.PATTERNS['max_coefficient_gaps'][0]:g} and {paper.PATTERNS['max_coefficient_gaps'][1]:g}; "
            f"ours {share(ours[0].share)} and {share(ours[1].share)}, with slope gaps {ours[0].slope_gap:.3g} and "
            f"{ours[1].slope_gap:.3g}.\n"
        )
    return main, analysis.entry_tables(result, title="Per output entry (the paper's Tables 4-7)", level=3)


def limits_section(section: dict) -> str:
    from neuralinv.experiments import limits

    if "results" not in section:
        return section["markdown"].strip()
    return limits.section_markdown(section["results"], list(limits.FIGURES))


def build(results: dict, out: Path) -> Document:
    appendix = []
    sections = [
        make(results[key])
        for key, make in (
            ("table1", table1_section),
            ("table2", table2_section),
            ("table3", table3_section),
            ("figures", figures_section),
        )
        if key in results
    ]
    if "table1" in results:
        sections.append(curves_section(results["table1"], out))
    if "analysis" in results:
        main, entries = analysis_sections(results["analysis"])
        sections.append(main)
        if entries:
            appendix.append(entries)
    if "limits" in results:
        sections.append(limits_section(results["limits"]))
    sections.append(setup_section(results))
    date = datetime.fromisoformat(results["started"]).date().isoformat()
    return Document(
        title="Reproduction of *Rethinking Neural-based Matrix Inversion: Why can't, and Where can*",
        html_title=f"Rethinking Neural-based Matrix Inversion: reproduction, {results['budget']} budget, {date}",
        header=header(results),
        summary=summary(results),
        sections=sections,
        appendix=appendix,
    )


def build_markdown(results: dict, out: Path) -> str:
    return build(results, out).markdown()


def write(out: str | Path) -> tuple[Path, Path]:
    """Build DIR/report.md and DIR/report.html from DIR/results.json."""
    out = Path(out)
    results = json.loads((out / "results.json").read_text())
    return build(results, out).write(out, "report")
