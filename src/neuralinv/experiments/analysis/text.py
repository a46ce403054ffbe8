"""The analysis as text: entry names, affine maps written out, the Markdown section, its appendix tables and the
stand-alone report of `neuralinv analyze --out`."""

from __future__ import annotations

import numpy as np

from neuralinv.experiments.analysis.result import Analysis
from neuralinv.reporting.formats import compact, share


def entry_name(n: int, m: int) -> str:
    """Name of output entry m (row-major) of A^-1: b11, b12, ... (b_kl = (A^-1)_kl, 1-based)."""
    row, col = divmod(m, n)
    return f"b{row + 1}{col + 1}" if n <= 9 else f"b{row + 1},{col + 1}"


def _pert_name(n: int, m: int) -> str:
    i, j = divmod(m, n)
    return f"a'{i + 1}{j + 1}" if n <= 9 else f"a'{i + 1},{j + 1}"


def affine_text(n: int, intercept: float, coeffs: np.ndarray, digits: int = 4) -> str:
    """'1.500000 - 2.2500 a'11 + 1.5000 a'12 ...': an entry of A^-1 as an affine function of the perturbation.

    The intercept gets two more digits: a trained net's intercepts differ from A0^-1 by about 1e-5.
    """
    text = f"{intercept:.{digits + 2}f}"
    for m, v in enumerate(coeffs):
        text += f" {'-' if v < 0 else '+'} {abs(v):.{digits}f} {_pert_name(n, m)}"
    return text


def summary_rows(result: Analysis, top: int = 20) -> list[list]:
    """The pattern table's rows (SUMMARY_HEADERS) for the top patterns: rank, bits, share as text, the two gaps, the
    sampled maximum and the largest LP bound (or the LP status when there is none)."""
    rows = []
    for p in result.patterns[:top]:
        lp = None if p.lp_bound is None else float(p.lp_bound.max())
        rows.append(
            [
                p.rank,
                p.bits,
                share(p.share, decimals=2),
                p.slope_gap,
                p.intercept_gap,
                float(p.sampled_max.max()),
                lp if lp is not None else p.status,
            ]
        )
    return rows


SUMMARY_HEADERS = ["#", "pattern", "share", "slope gap", "intercept gap", "sampled max |net-lin|", "LP bound |net-lin|"]


def markdown(
    result: Analysis,
    *,
    title: str = "What the network learned",
    figure: str | None = None,
    top: int = 20,
    level: int = 2,
    entries: bool = True,
) -> str:
    """A Markdown section: summary, pattern table, Eq. 13 comparison of the top two, and (entries, n <= 3) the
    per-entry LP tables folded at the end (entry_tables gives them on their own, for an appendix)."""
    from neuralinv.reporting.document import table

    n = result.n
    lines = [f"{'#' * level} {title}", "", _overview(result)]
    if result.other_count:
        lines.append(
            f"Patterns beyond the {len(result.patterns)} largest hold "
            f"{100 * result.other_count / result.samples:.3f}% of the samples and are not analysed."
        )
    rows = [
        [str(row[0]), f"`{row[1]}`", row[2], *(compact(v) if not isinstance(v, str) else v for v in row[3:])]
        for row in summary_rows(result, top)
    ]
    domain = "the box" if _uniform_box(result) or result.lp_domain is None else "the region's bounding box"
    lines += [
        "",
        table(SUMMARY_HEADERS, rows, total=result.num_patterns, what="patterns (the largest, by share)"),
        "",
        f"Columns: **pattern** is which hidden units are on (1) or off (0), layers separated by /; "
        f"**share** the share of the samples in it; **slope gap** max |J - J_lin| and **intercept gap** "
        f"max |K - A0^-1| against the linear approximation (Taylor-1, Eq. 10); **sampled max** the largest "
        f"|net - Taylor-1| over the samples in the pattern; **LP bound** max |net - Taylor-1| over the whole "
        f"polytope ({domain} intersected with the pattern's half-spaces), by linear programming (HiGHS), in "
        f"units of A^-1: it is never below the sampled maximum.",
    ]
    if figure:
        lines += ["", _figure(result, figure)]
    if n * n <= 9:
        lines += [""] + eq13_lines(result, level=level + 1)
        if entries:
            lines += [
                "",
                entry_tables(result, title="Per output entry (as the paper's Tables 4-7)", level=level + 1, top=top),
            ]
    return "\n".join(lines).rstrip() + "\n"


def _overview(result: Analysis) -> str:
    """The section's first paragraph: the network, the region, how many patterns hold the samples."""
    n = result.n
    info = result.info
    source = ", ".join(f"{k} {info[k]}" for k in ("dataset", "model", "seed", "steps") if k in info)
    if _uniform_box(result):
        where = f"the {n}x{n} box of half-width c = {result.box['radius']:g} around A0 = {result.box['center']}"
    else:
        where = f"the region: {result.region_text or result.region_shape}"
    drawn = "uniform samples" if result.region_shape == "box" else "samples of the region"
    top_share = sum(p.share for p in result.patterns[:3])
    return (
        f"ReLU MLP {'-'.join(map(str, result.layer_sizes))} ({result.scaling} scaling{'; ' + source if source else ''})"
        f" on {where}. "
        f"{result.samples:,} {drawn} (sampling seed {result.seed}) fall into {result.num_patterns} activation "
        f"patterns; "
        f"the largest {min(3, len(result.patterns))} hold {100 * top_share:.1f}% of them. Inside a pattern the network "
        f"is affine, A^-1 ~= K + J (A - A0). {result.distinct_maps} distinct affine map(s) among the "
        f"{len(result.patterns)} analysed patterns." + (f" Note: {result.lp_note}." if result.lp_note else "")
    )


def _uniform_box(result: Analysis) -> bool:
    """The region is a box of one half-width c (written as such in the text)."""
    return result.region_shape == "box" and isinstance(result.box.get("radius"), (int, float))


def _figure(result: Analysis, figure: str) -> str:
    """The pattern figure with its numbered caption."""
    from neuralinv.reporting.document import figure as numbered_figure

    return numbered_figure(
        "patterns",
        figure,
        f"The largest activation patterns of the {'-'.join(map(str, result.layer_sizes))} network over its "
        f"{'box' if result.region_shape == 'box' else 'region'} ({result.samples:,} samples), by share of the "
        "samples (top, log scale: the shares span decades), and "
        "the largest |net - Taylor-1| in each (bottom): the LP bound over the pattern's "
        "whole polytope beside the "
        "maximum over the samples that fell into it.",
    )


def document(result: Analysis, figure: str | None, *, top: int = 20):
    """The stand-alone report of `neuralinv analyze --out` (analysis.md and analysis.html)."""
    from neuralinv.reporting.document import Document

    bounded = [p for p in result.patterns if p.lp_bound is not None]
    points = [
        f"{result.samples:,} samples fall into {result.num_patterns} activation patterns; the largest "
        f"{min(3, len(result.patterns))} hold {100 * sum(p.share for p in result.patterns[:3]):.1f}% of them, "
        f"with {result.distinct_maps} distinct affine map(s) among the {len(result.patterns)} analysed."
    ]
    if bounded:
        worst = max(bounded, key=lambda p: float(p.lp_bound.max()))
        points.append(
            f"The largest LP bound on |net - Taylor-1| is {compact(float(worst.lp_bound.max()))} (pattern "
            f"{worst.rank}, {share(worst.share, decimals=2)} of the samples); every bound is at least its sampled "
            f"maximum: {'yes' if all(p.lp_ok for p in bounded) else 'no'}."
        )
    return Document(
        title=f"Activation patterns of a {'-'.join(map(str, result.layer_sizes))} ReLU MLP",
        html_title=f"neuralinv analyze: {'-'.join(map(str, result.layer_sizes))} ReLU MLP",
        summary=points,
        sections=[markdown(result, figure=figure, top=top)],
    )


def entry_tables(result: Analysis, *, title: str, level: int = 2, top: int = 20) -> str:
    """The per-output-entry tables (the paper's Tables 4-7), each folded in a <details> block."""
    from neuralinv.reporting.document import details, table

    n, d = result.n, result.n**2
    lines = [
        f"{'#' * level} {title}",
        "",
        "For each entry bkl of A^-1: each pattern's affine map in the perturbations a'ij = (A - A0)ij, its largest "
        "slope difference from the linear approximation, and |net - Taylor-1| sampled and bounded by LP.",
    ]
    for m in range(d):
        name = entry_name(n, m)
        rows = []
        for p in result.patterns[:top]:
            coeffs = p.slopes.reshape(d, d)[m]
            gap = np.abs(coeffs - result.linear_slopes.reshape(d, d)[m]).max()
            lp = None if p.lp_bound is None else float(p.lp_bound.ravel()[m])
            rows.append(
                [
                    p.rank,
                    share(p.share, decimals=2),
                    affine_text(n, p.intercept.ravel()[m], coeffs),
                    compact(float(gap)),
                    compact(float(p.sampled_max.ravel()[m])),
                    compact(lp) if lp is not None else p.status,
                ]
            )
        body = (
            f"Linear approximation: {name} = "
            f"{affine_text(n, result.linear_intercept.ravel()[m], result.linear_slopes.reshape(d, d)[m])}\n\n"
            + table(
                ["#", "share", "affine map", "slope gap", "sampled max", "LP bound"],
                rows,
                total=result.num_patterns,
                what="patterns",
            )
        )
        lines += ["", details(f"{name}: {len(rows)} patterns", body)]
    return "\n".join(lines) + "\n"


def eq13_lines(result: Analysis, *, level: int = 3) -> list[str]:
    """The two largest patterns' maps beside the linear approximation, entry by entry (the paper's Eq. 13)."""
    n, d = result.n, result.n**2
    lines = [
        f"{'#' * level} The two largest patterns against the linear approximation (as the paper's Eq. 13)",
        "",
        "Perturbation a'ij = (A - A0)ij; bkl = (A^-1)kl.",
        "",
        "```",
    ]
    lin_j = result.linear_slopes.reshape(d, d)
    for m in range(d):
        name = entry_name(n, m)
        lines.append(f"linear      {name} = {affine_text(n, result.linear_intercept.ravel()[m], lin_j[m])}")
        for p in result.patterns[:2]:
            label = f"pattern {p.rank}".ljust(11)
            lines.append(f"{label} {name} = {affine_text(n, p.intercept.ravel()[m], p.slopes.reshape(d, d)[m])}")
        lines.append("")
    lines[-1] = "```"
    gaps = ", ".join(
        f"pattern {p.rank} ({100 * p.share:.1f}%): slope gap {p.slope_gap:.3g}, intercept gap {p.intercept_gap:.3g}"
        for p in result.patterns[:2]
    )
    return lines + ["", f"Largest coefficient differences from the linear approximation: {gaps}.", ""]
