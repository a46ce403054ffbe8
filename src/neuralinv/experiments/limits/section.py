"""The "Why can't" section's text: the Markdown of the report section, its one-line verdict and the stand-alone
report of `neuralinv limits report`. Every number comes from the results of report_section."""

from __future__ import annotations

from neuralinv.reporting.formats import short


def section_markdown(results: dict, figures: list[str]) -> str:
    """The "Why can't" section in Markdown; every number comes from results, figures are file names in out_dir."""
    lines = [
        "## Why can't: near-singular matrices",
        "",
        _introduction(results),
        "",
        "**Counterexamples (Theorem 3.7).** For each model, a matrix x in the region with ||inv(x) - F(x)||_F > "
        "E = 10^6, found by stepping towards a singular matrix of the region along its smallest singular direction, "
        "and confirmed independently in float64 (numpy's LAPACK inverse, with the rounding bound of inv(x) "
        "subtracted):",
        "",
        _counterexample_table(results),
        *_error_vs_distance_lines(results, figures[0]),
        *_moment_lines(results, figures[1]),
        *_tail_lines(results, figures[2]),
        "",
        f"Budget {results['budget']}: {results['settings']['steps']} training steps per net on "
        f"{results['settings']['train_size']} fixed matrices, the paper's recipe but Adam lr "
        f"{results['settings']['lr']:g} (at 5e-5 a short run ends near the constant A0^-1 on the singular box); "
        f"{results['timings']['total_s']:.0f} s for the whole section.",
    ]
    return "\n".join(lines) + "\n"


def _introduction(results: dict) -> str:
    """The section's first paragraph: the theorem, and the two boxes the nets are trained on."""
    sb, fb = results["singular_box"], results["safe_box"]
    return (
        "Section 3 of the paper proves that no bounded network (any polynomial-Lipschitz model: FC, ReLU, attention, "
        "...) can approximate A -> A^-1 on a region that holds a singular matrix: the inverse grows like "
        "1 / sigma_min(A) as A nears the singular set, while the network stays bounded. Here 2-FC and 3-FC nets are "
        f"trained on the 2x2 box centred on {sb['center']} with half-width c = {sb['radius']:g}, which the singular "
        f"set det = 0 cuts through (sigma_min(A0) - n c = {sb['certified_distance']:.3g} < 0), and compared with a "
        f"2-FC net on the paper's 2x2 (First) box, centre {fb['center']}, c = {fb['radius']:g}, certified clear of "
        f"it (sigma_min(A) >= {fb['certified_distance']:.3g} everywhere)."
    )


def _counterexample_table(results: dict) -> str:
    """One row per model: its region, whether a counterexample was found, sigma_min(x), the error and ||F(x)||."""
    from neuralinv.reporting.document import table

    rows = []
    for name, ce in results["counterexamples"].items():
        region = (
            "own box"
            if ce["region_note"].startswith("the model's own box")
            else f"own box widened to c = {ce['region']['radius']:.3g}"
        )
        found = "yes" if ce["found"] else "no"
        rows.append([name, region, found, short(ce["sigma_min"]), short(ce["error"]), short(ce["model_norm"])])
    return table(["Model", "Region", "Found", "sigma_min(x)", "||inv(x) - F(x)||_F", "||F(x)||_F"], rows)


def _error_vs_distance_lines(results: dict, figure_file: str) -> list[str]:
    """The safe box's certificate, the error-vs-distance figure and its paragraph (slopes, far-half errors, the
    training losses)."""
    from neuralinv.reporting.document import figure

    evd = results["error_vs_distance"]
    cert = results["safe_box_certificate"]
    return [
        "",
        "The networks' outputs stay bounded (last column) while ||inv(x)|| passes 10^6. On the safe box itself "
        f"there is nothing to find: it is certified free of singular matrices, so ||A^-1||_2 <= "
        f"{cert['max_inverse_norm']:.4g} on all of it.",
        "",
        figure(
            "error-vs-distance",
            figure_file,
            "Error against the distance to the singular set, log-log. Dots: one uniform sample of the singular "
            "box each, per model; lines with markers: the counterexample searches; grey and dashed lines: "
            "||A^-1|| and 1 / sigma_min, which nearly coincide. The error follows ||A^-1|| as sigma_min falls.",
        ),
        "",
        "**Error against distance to the singular set.** Each dot is one uniform sample of the singular box. The "
        "error follows ||A^-1|| ~ 1 / sigma_min: the fitted log-log slope over the 5% of samples closest to the "
        "singular set is "
        + ", ".join(f"{m['slope_near_singular']:.2f} ({name})" for name, m in evd["models"].items())
        + " (-1 is pure 1 / sigma_min). The lines are the counterexample searches, which continue the same law far "
        "below the sampled range. On the half of the samples furthest from the singular set the median relative "
        "error ||A^-1 - F|| / ||A^-1|| is "
        + ", ".join(f"{m['median_relative_error_far_half']:.3g} ({name})" for name, m in evd["models"].items())
        + ": ordinary fitting error, which more training or a better method reduces; the blow-up is not. Training "
        "itself is ill-posed here: its loss is the MSE, a k = 2 moment, which is infinite on this box; "
        "the last training loss (scaled units) was "
        + ", ".join(
            f"{v['final_loss']:.3g} ({name})"
            for name, v in results["training"].items()
            if v.get("final_loss") is not None
        )
        + ".",
    ]


def _moment_lines(results: dict, figure_file: str) -> list[str]:
    """The moments figure and its paragraph: growth on the singular box, settling on the safe box."""
    from neuralinv.reporting.document import figure

    sing, safe = results["moments"]["singular"], results["moments"]["safe"]
    return [
        "",
        figure(
            "moments",
            figure_file,
            "The typical N-sample mean of ||A^-1 - F(A)||^k against N, relative to N = 1000, on the singular box "
            "(left) and the safe box (right). Solid lines with markers: the median over disjoint blocks of N "
            "samples; faint lines: one running mean over a single sample path. Growth with N means the moment is "
            "infinite; a flat line means it is finite.",
        ),
        "",
        "**Moments that do not settle (Theorems 3.8-3.9).** The typical N-sample mean of ||A^-1 - F(A)||^k (median "
        f"over disjoint blocks of N samples) for k = {', '.join(map(str, sing['orders']))}, N = {sing['sizes'][0]} "
        f"to {sing['sizes'][-1]}. On the singular box it grows by "
        + ", ".join(
            f"x{sing['growth'][k]:.3g} (k = {k}, log-log slope {sing['slope'][k]:.2f}, expected "
            f"{sing['expected_slope'][k]:.2f})"
            for k in sing["growth"]
        )
        + ". Over the last decade alone (N/10 to N) it still grows by "
        + ", ".join(f"x{sing['last_decade_growth'][k]:.3g} (k = {k})" for k in sing["growth"])
        + ", while on the safe box it changes by "
        + ", ".join(f"x{safe['last_decade_growth'][k]:.3f} (k = {k})" for k in safe["growth"])
        + ": there every moment has settled (its rise at small N, x"
        + ", x".join(f"{safe['growth'][k]:.3f}" for k in safe["growth"])
        + " in all, is the skew of a bounded error, not growth). The k = 1 mean on the singular box grows only like "
        "log N, so its slope is small but not 0.",
    ]


def _tail_lines(results: dict, figure_file: str) -> list[str]:
    """The tail figure and its paragraph: the Hill estimates and what a tail index of about 1 means."""
    from neuralinv.reporting.document import figure

    sing, safe = results["moments"]["singular"], results["moments"]["safe"]
    return [
        "",
        figure(
            "tail",
            figure_file,
            "The tail of the error: P(error > t) against t, log-log, on the singular and the safe box, with a "
            "C / t line (tail index 1). A tail parallel to that line has infinite mean.",
        ),
        "",
        f"**Tail index.** The Hill estimate of the error's tail index on the singular box, from the top "
        f"{sing['hill_k']} of {sing['sizes'][-1]} samples, is **{sing['tail_index']:.3f}** (standard error "
        f"{sing['tail_index_se']:.2f}; {results['moments']['singular_model']}); on "
        f"{results['tail_index_per_model_samples']:,} other samples: "
        + ", ".join(f"{name} {a:.2f}" for name, a in results["tail_index_per_model"].items())
        + ". So P(error > t) ~ C / t, as expected when the singular hypersurface crosses the box (sigma_min has a "
        "positive density at 0). Every moment of order k >= the tail index, about 1, is infinite: even the mean "
        "error (k = 1) and the MSE (k = 2) have no finite value to converge to, which is stronger than the paper's "
        f"Theorem 3.9 (k > n^2 = {len(results['singular_box']['center'])}^2). On the safe box the error is bounded; "
        f"its Hill estimate, {safe['tail_index']:.3g}, is large, meaning no heavy tail.",
    ]


def verdict(results: dict) -> str:
    """One sentence for a Summary: the slopes near the singular set, the tail index, the counterexamples found."""
    evd = results["error_vs_distance"]["models"]
    sing = results["moments"]["singular"]
    found = sum(1 for c in results["counterexamples"].values() if c["found"])
    slopes = ", ".join(f"{m['slope_near_singular']:.2f} ({name})" for name, m in evd.items())
    return (
        f"on a box the singular set cuts through, the error grows like 1 / sigma_min: log-log slopes near the "
        f"singular set {slopes} (-1 is exact 1 / sigma_min); the error's tail index is {sing['tail_index']:.2f} "
        f"(standard error {sing['tail_index_se']:.2f}), so its mean and its MSE are infinite; counterexamples "
        f"with error above 10^6 were found for {found} of {len(results['counterexamples'])} models."
    )


def document(results: dict, figures: list[str]):
    """The stand-alone report of `neuralinv limits report` (limits.md and limits.html)."""
    from neuralinv.reporting.document import Document

    return Document(
        title="Why can't: neural inverses near singular matrices",
        html_title=f"neuralinv limits report, {results['budget']} budget",
        header=[f"`neuralinv limits report --budget {results['budget']}`."],
        summary=[verdict(results)[0].upper() + verdict(results)[1:]],
        sections=[section_markdown(results, figures)],
    )
