"""The report builder on small fake results, and one end-to-end reproduce at a tiny budget."""

import json
import re

import pytest

from neuralinv.common.files import write_json
from neuralinv.paper import numbers as paper
from neuralinv.reporting.formats import fixed, sci, short
from neuralinv.reproduce import report
from neuralinv.reproduce.pipeline import reproduce
from reporting.images import assert_drawn


def fake_results(tmp_path):
    """A results.json as reproduce writes it, with made-up numbers a test can look for."""
    curve = {"steps": [10, 20], "loss": [[1.0, 2.0, 3.0], [0.5, 0.6, 0.7]]}
    table1 = []
    for i, (ds, title) in enumerate([("2x2-first", "2x2 (First)"), ("16x16", "16x16")]):
        ours = 1.111e-5 * (i + 1) if i == 0 else 9.876e-4
        table1.append(
            {
                "dataset": ds,
                "title": title,
                "model": "2fc",
                "model_title": "2-FC",
                "mae_mean": ours,
                "mae_std": 1.0e-6,
                "test_mae": {},
                "linear_mae": 1.95e-4,
                "paper_mae": paper.TABLE1[(ds, "2fc")],
                "ratio": ours / paper.TABLE1[(ds, "2fc")],
                "flag": ours > 2 * paper.TABLE1[(ds, "2fc")],
                "beats_linear": ours < 1.95e-4,
                "steps": 1234,
                "paper_steps": 156250,
                "wall_time_s": 1.0,
                "curve": curve,
            }
        )
    table2 = [
        {
            "method": "taylor1",
            "label": "Linear approximation (Taylor-1, Eq. 10)",
            "mae": 1.949e-4,
            "paper": paper.TABLE2["taylor1"],
            "ratio": 1.949e-4 / paper.TABLE2["taylor1"],
            "flag": False,
        },
        {
            "method": "taylor2",
            "label": "Second-order Taylor (not in the paper)",
            "mae": 3.884e-6,
            "paper": None,
            "ratio": None,
            "flag": False,
        },
    ]
    table3 = {
        "device": "cpu",
        "threads": 2,
        "settings": {"batches": [1, 100, 10000], "repeats": 3},
        "rows": [
            {
                "dataset": "2x2-first",
                "n": 2,
                "method": "2fc",
                "kind": "network",
                "variant": "full",
                "paper": paper.TABLE3[("2x2", "2fc")],
                "ratio": 1.5,
                "times": {"1": {"seconds": 0.4321}, "100": {"seconds": 0.0123}, "10000": {"seconds": 0.00456}},
            },
            {
                "dataset": "2x2-first",
                "n": 2,
                "method": "exact closed form",
                "kind": "exact",
                "times": {"1": {"seconds": 0.111}, "100": {"seconds": 0.00222}, "10000": {"seconds": 0.000333}},
            },
        ],
    }
    from neuralinv.reproduce.figures import meps_slices

    figures = meps_slices(tmp_path, eps=0.2)
    results = {
        "budget": "quick",
        "device": "cpu",
        "started": "2026-01-01T00:00:00+00:00",
        "machine": {
            "cpu": "Test CPU",
            "cores": 2,
            "gpu": None,
            "python": "3.11",
            "versions": {"torch": "2.13.0", "numpy": "2", "scipy": "1"},
        },
        "wall_time_s": 42.0,
        "timings_s": {"training": 40.0},
        "table1": table1,
        "table2": table2,
        "table3": table3,
        "figures": figures,
        "analysis": {"markdown": "## What the network learned\n\nPATTERN-TABLE-MARKER"},
        "limits": {"markdown": "## Why can't: near-singular matrices\n\nLIMITS-MARKER"},
    }
    write_json(tmp_path / "results.json", results)
    return results


def test_report_has_every_table_and_figure(tmp_path):
    fake_results(tmp_path)
    md_path, html_path = report.write(tmp_path)
    md = md_path.read_text()
    headings = [
        "## Summary",
        "## Table 1",
        "## Table 2",
        "## Table 3",
        "## Figures 1-2",
        "## Training curves",
        "## What the network learned",
        "## Why can't",
        "## How this report was made",
    ]
    positions = [md.index(h) for h in headings]
    assert positions == sorted(positions)  # the Summary first, the set-up last
    for figure in ["figure1_meps_slices.png", "figure2_meps_3d.png", "training_curves.png"]:
        assert f"]({figure})" in md
        assert_drawn(tmp_path / figure, min_width=500, min_height=250)  # decoded, drawn, not blank
    assert "PATTERN-TABLE-MARKER" in md and "LIMITS-MARKER" in md


def test_report_copies_numbers_and_paper_values(tmp_path):
    fake_results(tmp_path)
    md = report.write(tmp_path)[0].read_text()
    row = next(line for line in md.splitlines() if line.startswith("| 2x2 (First) | 2-FC"))
    assert "1.11e-05" in row and "2.05e-05" in row and "0.54" in row and "1,234 / 156,250" in row
    row16 = next(line for line in md.splitlines() if line.startswith("| 16x16 | 2-FC"))
    cells = [c.strip() for c in row16.split("|")]
    assert "1.68e-04" in row16 and cells[6] == "**no**" and cells[8] == "**no**"  # not within 2x; loses to linear
    assert "1.97e-04" in md and "1.95e-04" in md  # Table 2: paper's and ours for the linear approximation
    assert "0.432" in md and "1.7" in md  # Table 3: our batch-1 time and the paper's CPU time (1.703)
    assert "eps = 0.2" in md and "Test CPU" in md and "42 s" in md
    assert "16x16 2-FC (1.68e-04 against 1.95e-04)" not in md  # the linear MAE is above the paper's there
    assert "worse than the linear approximation" not in md


def test_report_notes_where_linear_beats_the_paper(tmp_path):
    results = fake_results(tmp_path)
    results["table1"][1]["linear_mae"] = 4.89e-5
    write_json(tmp_path / "results.json", results)
    md = report.write(tmp_path)[0].read_text()
    assert "16x16 2-FC (1.68e-04 against 4.89e-05)" in md


def _row_cells(md: str, start: str) -> list[str]:
    """The cells of the Markdown table row that starts with start."""
    row = next(line for line in md.splitlines() if line.startswith(start))
    return [c.strip() for c in row.strip().strip("|").split("|")]


def test_page_numbers_are_the_results(tmp_path):
    """Each number in Tables 1-3 is the one in results.json (ours) or neuralinv.paper.numbers (the paper's), written
    by reporting.formats; a number changed in results.json changes in the page, and only there."""
    results = fake_results(tmp_path)
    md = report.write(tmp_path)[0].read_text()
    for r in results["table1"]:
        cells = _row_cells(md, f"| {r['title']} | {r['model_title']} |")
        assert cells[2:5] == [f"{sci(r['mae_mean'])} ± {sci(r['mae_std'], 2)}", sci(r["paper_mae"]), fixed(r["ratio"])]
        assert cells[4] == fixed(r["mae_mean"] / paper.TABLE1[(r["dataset"], r["model"])])
        assert cells[6] == sci(r["linear_mae"]) and cells[8] == f"{r['steps']:,} / {r['paper_steps']:,}"
    t2 = _row_cells(md, "| Linear approximation (Taylor-1) |")
    assert t2[1:4] == [
        sci(results["table2"][0]["mae"]),
        sci(paper.TABLE2["taylor1"]),
        fixed(results["table2"][0]["ratio"]),
    ]
    net = results["table3"]["rows"][0]
    t3 = _row_cells(md, "| 2x2 (First) | 2-FC network |")
    assert t3[2:5] == [short(net["times"][b]["seconds"]) for b in ("1", "100", "10000")]
    assert t3[5] == short(paper.TABLE3[("2x2", "2fc")]["cpu_bs1"]) and t3[-1] == fixed(net["ratio"])

    results["table1"][0].update(mae_mean=3.217e-6, ratio=3.217e-6 / paper.TABLE1[("2x2-first", "2fc")])
    write_json(tmp_path / "results.json", results)
    changed = report.write(tmp_path)[0].read_text()
    cells = _row_cells(changed, "| 2x2 (First) | 2-FC |")
    assert cells[2].startswith(sci(3.217e-6) + " ± ") and sci(3.217e-6) not in md
    assert cells[4] == fixed(3.217e-6 / paper.TABLE1[("2x2-first", "2fc")])
    assert _row_cells(changed, "| 16x16 | 2-FC |") == _row_cells(md, "| 16x16 | 2-FC |")


def test_html_is_self_contained(tmp_path):
    fake_results(tmp_path)
    html = report.write(tmp_path)[1].read_text()
    sources = re.findall(r'src="([^"]+)"', html)
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<table>" in html and "<link" not in html and "<script" not in html
    assert not re.findall(r'(?:src|href)="https?:', html)


def test_reproduce_end_to_end_tiny(tmp_path):
    """A tiny real run: every requested part lands in results.json and the report; a second call reuses runs."""
    out = tmp_path / "rep"
    results = reproduce(out, only=["table1", "table2", "figures"], steps=12, progress=False)
    saved = json.loads((out / "results.json").read_text())
    assert saved["table1"] == json.loads(json.dumps(results["table1"]))
    assert len(saved["table1"]) == 8 and all(r["steps"] == 12 for r in saved["table1"])
    md = (out / "report.md").read_text()
    run = json.loads((out / "runs" / "3x3-3fc" / "run.json").read_text())
    assert f"{run['mae_mean']:.2e}" in md
    assert (out / "report.html").is_file() and (out / "training_curves.png").is_file()
    assert "every cell overridden to 12 steps" in md
    before = (out / "runs" / "3x3-3fc" / "run.json").stat().st_mtime_ns
    again = reproduce(out, only=["table1"], steps=12, progress=False)
    assert (out / "runs" / "3x3-3fc" / "run.json").stat().st_mtime_ns == before
    assert again["timings_s"]["training"] < results["timings_s"]["training"]


def test_reproduce_bad_input(tmp_path):
    from neuralinv.common.errors import InputError

    with pytest.raises(InputError, match="tables"):
        reproduce(tmp_path, only=["tables"], progress=False)
    with pytest.raises(InputError, match="budget"):
        reproduce(tmp_path, budget="huge", progress=False)


def html_text(html: str) -> str:
    """The page's visible text, roughly: tags and the style block removed."""
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", "", html)


def test_summary_is_computed_from_results(tmp_path):
    """Every verdict in the Summary follows the numbers: change a number and the verdict changes."""
    results = fake_results(tmp_path)
    md = report.write(tmp_path)[0].read_text()
    summary = md[md.index("## Summary") : md.index("## Table 1")]
    assert "1 of 2 cells are within 2x" in summary
    assert "16x16 2-FC (9.88e-04 against 1.68e-04, 1,234 of the paper's 156,250 steps (0.8%))" in summary
    assert "the paper's ordering holds" in summary  # Table 2: the linear approximation only, one row rated
    assert (
        "is Exact, closed form on 2x2 (First) (0.000333 s); the fastest network is 13.7x slower than that" in summary
    )  # Table 3
    results["table1"][1].update(mae_mean=1.0e-4, ratio=1.0e-4 / 1.68e-4, flag=False)
    results["table3"]["rows"][0]["times"]["10000"]["seconds"] = 0.0001
    write_json(tmp_path / "results.json", results)
    summary = report.write(tmp_path)[0].read_text().split("## Table 1")[0]
    assert "2 of 2 cells are within 2x" in summary and "not within 2x" not in summary
    assert "is 2-FC network on 2x2 (First) (0.0001 s)." in summary  # the network is now the fastest
    assert "Second-order Taylor (3.88e-06) beats every network" not in summary  # no network row in this Table 2


def test_table2_ordering_and_classical_verdicts(tmp_path):
    results = fake_results(tmp_path)
    results["table2"][1:1] = [
        {
            "method": "2fc",
            "label": "2-FC",
            "mae": 3.0e-4,
            "mae_std": 1e-6,
            "paper": paper.TABLE2["2fc"],
            "ratio": 3.0e-4 / paper.TABLE2["2fc"],
            "flag": True,
            "steps": 1234,
            "paper_steps": 156250,
        },
        {
            "method": "3fc",
            "label": "3-FC",
            "mae": 1.0e-5,
            "mae_std": 1e-6,
            "paper": paper.TABLE2["3fc"],
            "ratio": 1.0e-5 / paper.TABLE2["3fc"],
            "flag": False,
            "steps": 1234,
            "paper_steps": 156250,
        },
    ]
    write_json(tmp_path / "results.json", results)
    md = report.write(tmp_path)[0].read_text()
    summary = md.split("## Table 1")[0]
    # Ours: 3-FC < linear < 2-FC; the paper's: 3-FC < 2-FC < linear.
    assert (
        "the ordering differs from the paper's: ours 3-FC network < Linear approximation (Taylor-1) < 2-FC "
        "network; the paper's 3-FC network < 2-FC network < Linear approximation (Taylor-1)"
    ) in summary
    assert "Second-order Taylor (3.88e-06) beats every network: the best network here reaches 1.00e-05" in summary
    row = next(line for line in md.splitlines() if line.startswith("| 2-FC network |"))
    assert "**no**" in row and "1,234 / 156,250" in row  # Table 2 has a filled within-2x column and the steps
    assert "| Second-order Taylor (not in the paper) | 3.88e-06 | - | - | - | closed form |" in md


def test_figures_are_numbered_with_captions(tmp_path):
    fake_results(tmp_path)
    md, page = (p.read_text() for p in report.write(tmp_path))
    numbers = [int(n) for n in re.findall(r"\*\*Figure (\d+)\.\*\*", md)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) == 3
    figures = re.findall(
        r'<figure id="figure-(\d+)"><img [^>]*/><figcaption><strong>Figure (\d+)\.</strong> ([^<]+)', page
    )
    assert [(int(a), int(b)) for a, b, _ in figures] == [(n, n) for n in numbers]
    assert all(len(caption) > 40 for _, _, caption in figures)
    assert "{fig:" not in md and "{fig:" not in page


def test_html_reads_on_any_screen(tmp_path):
    """The page's structure: viewport, lang, title, contents linking every h2, scroll containers, no raw fences."""
    results = fake_results(tmp_path)
    results["analysis"]["markdown"] += "\n```\nb11 = 1 + 2 a'11\nb12 = 3\n```\n"
    write_json(tmp_path / "results.json", results)
    page = report.write(tmp_path)[1].read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert '<html lang="en">' in page
    title = re.search(r"<title>([^<]+)</title>", page).group(1)
    assert "Rethinking" in title and "quick budget" in title and "2026-01-01" in title
    ids = re.findall(r'<h2 id="([^"]+)"', page)
    nav = re.search(r"<nav[^>]*>(.*?)</nav>", page, re.S).group(1)
    assert ids and set(re.findall(r'href="#([^"]+)"', nav)) == set(ids)
    assert page.count("<table>") == page.count('<div class="scroll"><table>')
    assert "```" not in html_text(page) and "<pre><code>b11 = 1 + 2 a'11\nb12 = 3" in page
    assert '<span class="num">2.05e-05</span>' in page  # never split at the exponent's hyphen
    assert "break-after:avoid" in page  # print CSS keeps headings with their content
