"""The report engine: figure numbering, tables that say what they cut, folded blocks, a self-contained page."""

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from neuralinv.reporting.document import Document, details, figure, number_figures, table  # noqa: E402


def test_figures_are_numbered_in_order_of_definition():
    text = "See Figure {fig:b}.\n\n" + figure("a", "a.png", "First.") + "\n\n" + figure("b", "b.png", "Second.")
    out, numbers = number_figures(text)
    assert numbers == {"a": 1, "b": 2} and out.startswith("See Figure 2.")
    assert "**Figure 1.** First." in out and "**Figure 2.** Second." in out


def test_figure_errors():
    with pytest.raises(ValueError, match="undefined figure"):
        number_figures("Figure {fig:nowhere}")
    with pytest.raises(ValueError, match="twice"):
        number_figures(figure("a", "a.png", "One.") + "\n\n" + figure("a", "b.png", "Two."))


def test_table_says_what_it_cut_and_escapes_bars():
    text = table(["a", "b"], [["x|y", 1], ["z", 2]], total=31, what="patterns")
    assert "Shown: 2 of 31 patterns." in text and "x\\|y" in text
    assert "Shown" not in table(["a"], [[1], [2]], total=2)


def test_document_page(tmp_path):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    fig.savefig(tmp_path / "line.png")
    plt.close(fig)
    doc = Document(
        title="T",
        html_title="A title",
        header=["By a test."],
        summary=["All good: 1.5e-05."],
        sections=[
            "## One\n\n" + figure("line", "line.png", "A line. It goes up."),
            "## Two\n\n" + table(["n", "value"], [[1, "2.05e-05"]]),
        ],
        appendix=["### Details\n\n" + details("Open me", table(["k"], [[3]]))],
    )
    md_path, html_path = doc.write(tmp_path, "doc")
    md, page = md_path.read_text(), html_path.read_text()
    assert md.index("## Summary") < md.index("## One") < md.index("## Appendix")
    assert "**Figure 1.** A line. It goes up." in md and '<details markdown="1">' in md
    assert '<html lang="en">' in page and "<title>A title</title>" in page and 'name="viewport"' in page
    assert re.search(
        r'<figure id="figure-1"><img alt="A line" src="data:image/png;base64,[A-Za-z0-9+/=]+" />'
        r"<figcaption><strong>Figure 1\.</strong> A line\. It goes up\.</figcaption></figure>",
        page,
    )
    nav = re.search(r"<nav[^>]*>(.*?)</nav>", page, re.S).group(1)
    assert re.findall(r'href="#([^"]+)"', nav) == re.findall(r'<h2 id="([^"]+)"', page)
    assert "<details>" in page and "<summary>Open me</summary>" in page and 'markdown="1"' not in page
    assert '<td class="nw"><span class="num">2.05e-05</span></td>' in page
    assert page.count('<div class="scroll"><table>') == 2 and "http" not in page.replace("w3.org", "")


def test_blocks_keep_their_order(tmp_path):
    """Figures (which swallow their caption paragraph) and tables (wrapped for scrolling) stay where they were."""
    text = (
        "## S\n\nFirst.\n\n"
        + figure("a", "a.png", "Fig A.")
        + "\n\nSecond.\n\n"
        + table(["t1"], [[1]])
        + "\n\nThird.\n\n"
        + figure("b", "b.png", "Fig B.")
        + "\n\nFourth.\n\n"
        + table(["t2"], [[2]])
        + "\n\nFifth."
    )
    page = Document(title="T", html_title="T", sections=[text]).html(tmp_path)
    order = [
        page.index(marker)
        for marker in (
            "First.",
            'id="figure-1"',
            "Second.",
            "<th>t1</th>",
            "Third.",
            'id="figure-2"',
            "Fourth.",
            "<th>t2</th>",
            "Fifth.",
        )
    ]
    assert order == sorted(order)


def test_written_files_are_readable_by_others(tmp_path):
    """Atomic writes go through mkstemp (mode 0600); the result gets the usual mode for the umask instead."""
    import os
    import stat

    from neuralinv.common.files import UMASK, write_text

    path = write_text(tmp_path / "r.md", "x")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~UMASK
