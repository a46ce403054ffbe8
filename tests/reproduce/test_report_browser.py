"""The HTML report as a reader's browser shows it: headless Debian Chromium, inside a network namespace.

A small real report is built once (reproduce at 12 steps), tests/browser_check.py opens it at 1280 and 390 px
and writes its measurements; each check below reads them and is its own test, so a failure names what is
wrong. The browser runs under `unshare -n` with only loopback up, so the page cannot fetch anything from
outside whatever it asks for; the requests it asked for are recorded and checked all the same.

Needs /usr/bin/chromium (`sudo apt-get install chromium`; `make test` installs it when run as root), the
pinned Playwright from the test extras (never `playwright install`: the browser is Debian's), unshare and ip.
Missing any of them, the tests are skipped, or fail under CI=true.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from struct import pack

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[1] / "browser_check.py"
CHROMIUM = "/usr/bin/chromium"
PHONE = 390
HINT = (
    "the browser test needs Debian's Chromium and Playwright: `sudo apt-get install chromium iproute2` "
    "(or `make browser` as root) and `pip install -e '.[test]'`"
)


def _ip() -> str | None:
    return shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip") if os.access(p, os.X_OK)), None)


def _unshare() -> list[str]:
    # As root a plain network namespace; otherwise inside a user namespace too, where we are root enough for lo.
    return ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]


def _unavailable(why: str):
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"CI: {why}; {HINT}", pytrace=False)
    pytest.skip(f"{why}; {HINT}")


@pytest.fixture(scope="module")
def browser_ready():
    """Everything the browser check needs is here, or the module is skipped (failed under CI=true)."""
    import importlib.util

    missing = [
        name
        for name, ok in [
            (CHROMIUM, os.access(CHROMIUM, os.X_OK)),
            ("playwright (pip)", importlib.util.find_spec("playwright") is not None),
            ("unshare (util-linux)", shutil.which("unshare") is not None),
            ("ip (iproute2)", _ip() is not None),
        ]
        if not ok
    ]
    if missing:
        _unavailable(f"missing {', '.join(missing)}")
    probe = subprocess.run([*_unshare(), _ip(), "link", "set", "lo", "up"], capture_output=True, text=True)
    if probe.returncode != 0:
        _unavailable(f"cannot make a network namespace ({' '.join(_unshare())}): {probe.stderr.strip()}")


def browser_check(html: Path, out: Path, screenshots: bool = False) -> dict:
    """Run tests/browser_check.py on html inside a fresh network namespace (loopback only); its JSON."""
    out.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, str(SCRIPT), str(html), "--out", str(out / "browser.json")]
    if screenshots:
        args += ["--screenshots", str(out)]
    cmd = [*_unshare(), "sh", "-c", f'{_ip()} link set lo up && exec "$0" "$@"', *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        pytest.fail(
            f"browser check failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}",
            pytrace=False,
        )
    return json.loads((out / "browser.json").read_text())


# --- the checks: each takes the measurements and the run's budget, and returns what is wrong (empty: fine) ---


def summary_before_table1(m, budget):
    d = m["widths"]["desktop"]
    if d["summary"] is None:
        return [f"no h2 'Summary'; h2s: {[h['text'] for h in d['h2']]}"]
    if d["table1"] is None:
        return [f"no h2 starting 'Table 1'; h2s: {[h['text'] for h in d['h2']]}"]
    if not (d["summary"]["index"] < d["table1"]["index"] and d["summary"]["y"] < d["table1"]["y"]):
        return [
            f"Summary (h2 #{d['summary']['index']}, y={d['summary']['y']}) is not before "
            f"Table 1 (h2 #{d['table1']['index']}, y={d['table1']['y']})"
        ]
    return []


def no_markdown_fences(m, budget):
    return [
        f"{name}: rendered text holds ```: {w['backtick_fences']}"
        for name, w in m["widths"].items()
        if w["has_backtick_fence"]
    ]


def fits_the_viewport(m, budget):
    problems = []
    phone = m["widths"]["phone"]
    if phone["inner_width"] != PHONE:
        problems.append(
            f"phone: layout viewport is {phone['inner_width']} px, not {PHONE} "
            f"(viewport meta: {phone['viewport_meta']!r}; needs width=device-width)"
        )
    for name, w in m["widths"].items():
        if w["scroll_width"] > w["inner_width"]:
            problems.append(
                f"{name}: document is {w['scroll_width']} px wide in a {w['inner_width']} px viewport; "
                f"sticking out: {w['wide_elements'][:5]}"
            )
    return problems


def images_load(m, budget):
    problems = []
    for name, w in m["widths"].items():
        if not w["images"]:
            problems.append(f"{name}: no images")
        problems += [
            f"{name}: image not loaded: {img}"
            for img in w["images"]
            if not (img["complete"] and img["naturalWidth"] > 0)
        ]
    return problems


def headings_linked_from_contents(m, budget):
    d = m["widths"]["desktop"]
    if d["nav_count"] == 0:
        return ["no <nav> (contents) in the page"]
    linked = {link["target"] for link in d["nav_links"]}
    problems = [
        f"contents link to a missing id: {link['href']}" for link in d["nav_links"] if not link["target_exists"]
    ]
    for h in d["h2"]:
        if h["in_nav"]:
            continue  # the contents' own heading
        if not h["id"]:
            problems.append(f"h2 without an id: {h['text']!r}")
        elif h["id"] not in linked:
            problems.append(f"h2 #{h['id']} ({h['text']!r}) not linked from the contents")
    return problems


def nothing_leaves_the_file(m, budget):
    problems = []
    if m["interfaces"] != ["lo"]:
        problems.append(f"the browser was not isolated: network interfaces {m['interfaces']}")
    for name, w in m["widths"].items():
        problems += [
            f"{name}: request outside the file: {url}"
            for url in w["requests"]
            if not url.startswith(("file:", "data:"))
        ]
        problems += [f"{name}: websocket: {url}" for url in w["websockets"]]
    return problems


def head_metadata(m, budget):
    d = m["widths"]["desktop"]
    problems = []
    if not d["viewport_meta"] or "width=device-width" not in d["viewport_meta"].replace(" ", ""):
        problems.append(f"viewport meta tag: {d['viewport_meta']!r}, expected width=device-width")
    if not (d["lang"] or "").strip():
        problems.append("<html> has no lang")
    if "Rethinking" not in d["title"] or budget not in d["title"]:
        problems.append(f"title {d['title']!r} should name the paper ('Rethinking') and the budget ({budget!r})")
    return problems


def no_console_errors(m, budget):
    return [
        f"{name}: {kind}: {text}"
        for name, w in m["widths"].items()
        for kind, texts in [("console error", w["console_errors"]), ("page error", w["page_errors"])]
        for text in texts
    ]


CHECKS = {
    f.__name__: f
    for f in [
        summary_before_table1,
        no_markdown_fences,
        fits_the_viewport,
        images_load,
        headings_linked_from_contents,
        nothing_leaves_the_file,
        head_metadata,
        no_console_errors,
    ]
}


# --- the real report ---


@pytest.fixture(scope="module")
def report_seen(browser_ready, tmp_path_factory):
    """(measurements, budget) for a tiny real report; screenshots and a PDF sit beside the JSON."""
    from neuralinv.reproduce.pipeline import reproduce

    out = tmp_path_factory.mktemp("browser-report")
    results = reproduce(out / "rep", only=["table1", "table2", "figures"], steps=12, progress=False)
    return browser_check(out / "rep" / "report.html", out / "browser", screenshots=True), results["budget"]


@pytest.mark.parametrize("check", CHECKS)
def test_report_in_a_browser(report_seen, check):
    measurements, budget = report_seen
    problems = CHECKS[check](measurements, budget)
    assert not problems, "\n".join(problems)


# --- the harness itself, on two hand-made pages: every check passes on one and fails on the other ---


def _png(width=3, height=2) -> str:
    """A tiny valid PNG as a data: URI."""

    def chunk(kind, data):
        return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x80\x20\x20" * width for _ in range(height))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode()


WIDE_TABLE = "<table><tr>" + "".join(f"<td style='min-width:90px'>cell{i}</td>" for i in range(16)) + "</tr></table>"

GOOD_PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reproduction of Rethinking Neural-based Matrix Inversion (quick budget)</title>
<style>body{{max-width:1100px;margin:auto;padding:0 1em}} img{{max-width:100%}} .scroll{{overflow-x:auto}}</style>
</head><body><h1>Reproduction</h1>
<nav><h2>Contents</h2><ul><li><a href="#summary">Summary</a></li><li><a href="#table-1">Table 1</a></li>
<li><a href="#figures">Figures</a></li></ul></nav>
<h2 id="summary">Summary</h2><p>All fine. <code>code</code></p>
<h2 id="table-1">Table 1: test MAE</h2><div class="scroll">{WIDE_TABLE}</div>
<h2 id="figures">Figures</h2><img alt="figure" src="{_png()}">
</body></html>"""

BAD_PAGE = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>report</title></head><body>
<nav><a href="#nowhere">Nowhere</a></nav>
<h2>Table 1: test MAE</h2>{WIDE_TABLE.replace("min-width:90px", "min-width:120px")}
<h2 id="summary">Summary</h2><p>```python</p>
<img alt="broken" src="data:image/png;base64,AAAA"><img alt="remote" src="http://example.invalid/x.png">
<script>console.error("boom")</script>
</body></html>"""


def test_harness_flags_a_bad_page(browser_ready, tmp_path):
    (tmp_path / "good.html").write_text(GOOD_PAGE)
    (tmp_path / "bad.html").write_text(BAD_PAGE)
    good = browser_check(tmp_path / "good.html", tmp_path / "good")
    bad = browser_check(tmp_path / "bad.html", tmp_path / "bad")
    assert any(u.startswith("http://example.invalid") for u in bad["widths"]["desktop"]["requests"])
    for name, check in CHECKS.items():
        assert check(good, "quick") == [], (name, check(good, "quick"))
        assert check(bad, "quick"), f"{name} let the bad page through"
