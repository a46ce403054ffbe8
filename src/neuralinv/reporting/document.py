"""The report engine: every report the toolkit writes is Markdown (readable as it is) and one self-contained HTML page.

Authors write Markdown sections with the helpers here:

- `figure(key, file, caption)`: a numbered figure, the image then its caption; "{fig:key}" anywhere in the document
  becomes its number, so text can say "Figure {fig:curves}" before or after the figure itself.
- `table(headers, rows, shown=, total=)`: a pipe table that says "Shown: N of M" when rows were cut.
- `details(summary, body)`: a folded block, for long detail tables.
- `Document(title, ...)`: a title, a short header, a Summary (the verdict, first), sections and an appendix;
  `Document.write(out, stem)` writes stem.md and stem.html.

The HTML page is built for reading on any screen and in print: a viewport tag and `lang`, a table of contents with an
anchor on every h2, wide tables in horizontal-scroll containers (the page itself never scrolls sideways), numbers that
never wrap, figures with captions, print CSS that keeps headings with what follows, and every PNG embedded as a data
URI, so the file works offline and fetches nothing.
"""

from __future__ import annotations

import base64
import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from neuralinv.common.files import write_text

FIGURE_KEY = re.compile(r"\{fig:([A-Za-z0-9_.-]+)\}")
FIGURE_LABEL = re.compile(r"\*\*Figure \{fig:([A-Za-z0-9_.-]+)\}\.\*\*")
CONTENTS_MARK = "@@CONTENTS@@"
# A number in scientific notation, or any number with a sign: browsers may break a line at its hyphen.
NUMBER = re.compile(
    r"(?<![\w.])\d{4}-\d\d-\d\d(?:T[\d:]+(?:[+-]\d\d:\d\d)?)?|(?<![\w.])[-+−]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?(?:\s?±\s?\d+(?:\.\d+)?(?:e[-+]?\d+)?)?"
    r"(?=[^\w]|$)"
)
SHORT_CELL = 40  # characters: a table cell this short never wraps


def figure(key: str, file: str, caption: str, alt: str | None = None) -> str:
    """Markdown for a numbered figure: the image, then "**Figure N.** caption" (N filled in when the document is
    written). alt defaults to the caption's first sentence."""
    alt = alt or caption.split(". ")[0].rstrip(".")
    alt = alt.replace("[", "(").replace("]", ")")
    return f"![{alt}]({file})\n\n**Figure {{fig:{key}}}.** {caption}"


def cell(value) -> str:
    """A table cell: a bare "|" would end it."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(
    headers: list[str], rows: list[list], *, shown: int | None = None, total: int | None = None, what: str = "rows"
) -> str:
    """A Markdown pipe table; with total > shown, a line under it says how many of how many are shown."""
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    if total is not None and total > (shown if shown is not None else len(rows)):
        lines += ["", f"Shown: {shown if shown is not None else len(rows):,} of {total:,} {what}."]
    return "\n".join(lines)


def details(summary: str, body: str) -> str:
    """A folded block: closed in the browser, its summary line visible (GitHub renders it the same way)."""
    return f'<details markdown="1">\n<summary>{html.escape(summary)}</summary>\n\n{body.strip()}\n\n</details>'


def number_figures(text: str) -> tuple[str, dict[str, int]]:
    """Replace every {fig:key} with the figure's number: figures are numbered in the order they are defined."""
    numbers: dict[str, int] = {}
    for key in FIGURE_LABEL.findall(text):
        if key in numbers:
            raise ValueError(f"figure {key!r} is defined twice")
        numbers[key] = len(numbers) + 1
    missing = sorted(set(FIGURE_KEY.findall(text)) - set(numbers))
    if missing:
        raise ValueError(f"reference to undefined figure(s): {', '.join(missing)}")
    return FIGURE_KEY.sub(lambda m: str(numbers[m.group(1)]), text), numbers


def slug(title: str) -> str:
    """The id the HTML gives a heading (the toc extension's), for links from the text."""
    from markdown.extensions.toc import slugify

    return slugify(title, "-")


def link(title: str, text: str | None = None) -> str:
    """A Markdown link to the section headed title."""
    return f"[{text or title}](#{slug(title)})"


@dataclass
class Document:
    """A report: title, header lines, the Summary (bullets, the verdict), sections and an appendix.

    Sections and appendix entries are Markdown strings, each starting with its "## " heading.
    """

    title: str
    html_title: str
    header: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    appendix: list[str] = field(default_factory=list)
    lang: str = "en"

    def _markdown(self, contents: bool) -> str:
        parts = [f"# {self.title}", "\n".join(self.header)]
        if self.summary:
            parts.append("## Summary\n\n" + "\n".join(f"- {point}" for point in self.summary))
        if contents:
            parts.append(CONTENTS_MARK)
        parts += [s.strip() for s in self.sections]
        if self.appendix:
            parts.append("## Appendix\n\nDetail tables behind the sections above; each is folded: click to open.")
            parts += [s.strip() for s in self.appendix]
        text, _ = number_figures("\n\n".join(p for p in parts if p) + "\n")
        return text

    def markdown(self) -> str:
        """The document as Markdown (figures numbered, no table of contents)."""
        return self._markdown(contents=False)

    def html(self, base: Path) -> str:
        """The page; images are read from base (the directory the Markdown's image paths are relative to)."""
        return to_html(self._markdown(contents=True), base, title=self.html_title, lang=self.lang)

    def write(self, out: str | Path, stem: str = "report") -> tuple[Path, Path]:
        """out/stem.md and out/stem.html."""
        out = Path(out)
        md = write_text(out / f"{stem}.md", self.markdown())
        page = write_text(out / f"{stem}.html", self.html(out))
        return md, page


# ---------------------------------------------------------------------------------------------------------------------
# Markdown to HTML


def _tree_fixes(root: ET.Element) -> None:
    """Figures with captions, tables in scroll containers, short cells that never wrap."""
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag == "table":
                box = ET.Element("div", {"class": "scroll"})
                parent[list(parent).index(child)] = box  # in place: the table keeps its position
                box.append(child)
            elif (
                child.tag == "p"
                and len(child) == 1
                and child[0].tag == "img"
                and not (child.text or "").strip()
                and not (child[0].tail or "").strip()
            ):
                child.tag = "figure"
                siblings = list(parent)
                i = siblings.index(child)
                nxt = siblings[i + 1] if i + 1 < len(siblings) else None
                if (
                    nxt is not None
                    and nxt.tag == "p"
                    and len(nxt)
                    and nxt[0].tag == "strong"
                    and (nxt[0].text or "").startswith("Figure ")
                    and not (nxt.text or "").strip()
                ):
                    child.set("id", f"figure-{(nxt[0].text or '').split()[1].rstrip('.')}")
                    caption = ET.SubElement(child, "figcaption")
                    for sub in list(nxt):
                        caption.append(sub)
                    parent.remove(nxt)
    for c in root.iter():
        if c.tag == "td" and len("".join(c.itertext())) <= SHORT_CELL:
            c.set("class", "nw")


def _keep_numbers_whole(page: str) -> str:
    """Wrap numbers in text (never inside tags) in a no-wrap span, so "2.05e-05" never splits at its hyphen."""
    parts = re.split(r"(<[^>]+>)", page)
    inside_pre = False
    for i, part in enumerate(parts):
        if part.startswith("<"):
            if part.startswith("<pre"):
                inside_pre = True
            elif part.startswith("</pre"):
                inside_pre = False
            continue
        if not inside_pre and part:
            parts[i] = NUMBER.sub(
                lambda m: (
                    f'<span class="num">{m.group(0)}</span>' if any(c in m.group(0) for c in "e-+−±") else m.group(0)
                ),
                part,
            )
    return "".join(parts)


def _embed_images(page: str, base: Path) -> str:
    def embed(match):
        path = base / match.group(1)
        if not path.is_file():
            return match.group(0)
        return f'src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"'

    return re.sub(r'src="([^"]+\.png)"', embed, page)


def _contents(tokens: list[dict]) -> str:
    """A <nav> listing every h2 with a link to its anchor."""
    items = []

    def walk(nodes):
        for node in nodes:
            if node["level"] == 2:
                items.append(f'<li><a href="#{node["id"]}">{node["html"]}</a></li>')
            walk(node["children"])

    walk(tokens)
    return f'<nav class="toc" aria-label="Contents"><strong>Contents</strong><ol>{"".join(items)}</ol></nav>'


def to_html(markdown_text: str, base: Path, *, title: str, lang: str = "en") -> str:
    """A self-contained page from Markdown (see the module docstring); CONTENTS_MARK becomes the table of contents."""
    import markdown
    from markdown.extensions import Extension
    from markdown.treeprocessors import Treeprocessor

    class Fixes(Treeprocessor):
        def run(self, root):
            _tree_fixes(root)

    class FixesExtension(Extension):
        def extendMarkdown(self, md):
            md.treeprocessors.register(Fixes(md), "neuralinv_fixes", 1)

    md = markdown.Markdown(
        extensions=["tables", "fenced_code", "md_in_html", "toc", FixesExtension()],
        extension_configs={"toc": {"anchorlink": True}},
    )
    body = md.convert(markdown_text)
    body = body.replace(f"<p>{CONTENTS_MARK}</p>", _contents(md.toc_tokens))
    body = _embed_images(_keep_numbers_whole(body), base)
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:0 auto;
 padding:1em 1.2em 3em;line-height:1.5;color:#1b1b1b;overflow-wrap:break-word}
h1{font-size:1.65em;line-height:1.25;margin:.6em 0 .3em}
h2{font-size:1.35em;margin-top:2.2em;padding-bottom:.2em;border-bottom:1px solid #ddd}
h3{font-size:1.12em;margin-top:1.6em}
h1 a,h2 a,h3 a,h4 a{color:inherit;text-decoration:none}
h2:target,h3:target{background:#fff7d6}
a{color:#0b57d0}
.scroll{overflow-x:auto;max-width:100%;margin:1em 0}
table{border-collapse:collapse;font-size:90%}
th,td{border:1px solid #ccc;padding:3px 8px;vertical-align:top;text-align:left}
th{background:#f3f3f3}
.nw,.num{white-space:nowrap}
figure{margin:1.6em 0}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{font-size:92%;color:#333;margin-top:.5em}
pre{overflow-x:auto;background:#f6f6f6;padding:.7em;font-size:85%;line-height:1.35}
code{background:#f3f3f3;padding:0 3px;font-size:92%}
pre code{background:none;padding:0}
nav.toc{background:#f7f7f9;border:1px solid #e3e3e8;border-radius:6px;padding:.6em 1em;margin:1.5em 0}
nav.toc ol{margin:.3em 0 0;padding-left:1.6em;columns:2 22em}
nav.toc li{margin:.15em 0;break-inside:avoid}
details{margin:1em 0;border:1px solid #e3e3e8;border-radius:6px;padding:.3em .8em}
summary{cursor:pointer;font-weight:600}
@media (max-width:600px){body{padding:.6em .8em 2em;font-size:15px}table{font-size:85%}}
@media print{
 body{max-width:none;padding:0;font-size:10.5pt}
 h1,h2,h3,h4{break-after:avoid;page-break-after:avoid}
 figure,pre,tr,nav.toc{break-inside:avoid;page-break-inside:avoid}
 .scroll{overflow:visible}
 a{color:inherit;text-decoration:none}
}
"""
