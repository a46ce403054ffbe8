"""Open an HTML file in headless Chromium and write what a reader's browser sees, as JSON.

    python tests/browser_check.py REPORT.html --out JSON [--screenshots DIR]

It measures and asserts nothing: tests/test_report_browser.py reads the JSON and decides. The browser is
Debian's Chromium (/usr/bin/chromium, `apt-get install chromium`) driven by Playwright for Python over pipes;
never `playwright install`, which would download a browser of its own. The test runs this script inside a
network namespace with only loopback (`unshare -n`), so nothing the page asks for can leave the machine;
the requests it asked for are recorded all the same.

For each width (1280 as a desktop, 390 as a phone) the JSON has: the document's scrollWidth against the
viewport, every image (loaded or not), every h2 with its id and position, the contents' (nav) links, where
the Summary and Table 1 headings sit, any ``` left in the rendered text, console errors, and every request
URL the page made; once: title, lang, the viewport meta tag, the network interfaces the script could see.
With --screenshots DIR: DIR/desktop.png, DIR/phone.png (full page) and DIR/report.pdf.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import sys
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"

# Headless, and quiet on the network: no sync, updates, field trials or QUIC; the namespace is the real fence.
# --no-sandbox: Chromium's sandbox refuses to start as root (CI runs as root). --disable-dev-shm-usage:
# containers often have a small /dev/shm.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--metrics-recording-only",
    "--no-pings",
    "--mute-audio",
]

# name: (context options, screenshot file name)
WIDTHS = {
    "desktop": ({"viewport": {"width": 1280, "height": 900}}, "desktop.png"),
    "phone": (
        {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True},
        "phone.png",
    ),
}

# One pass over the page, run after load. Kept to plain measurements; positions are document y offsets.
MEASURE_JS = r"""
() => {
  const de = document.documentElement, body = document.body;
  const y = el => Math.round(el.getBoundingClientRect().top + window.scrollY);
  const h2 = [...document.querySelectorAll('h2')].map((el, index) => ({
    index, text: el.textContent.replace(/\s+/g, ' ').trim(), id: el.id || null, y: y(el),
    in_nav: !!el.closest('nav')}));
  const navLinks = [...document.querySelectorAll('nav a[href^="#"]')].map(a => {
    const href = a.getAttribute('href');
    let target = href.slice(1);
    try { target = decodeURIComponent(target); } catch (e) {}
    return {href, target, text: a.textContent.replace(/\s+/g, ' ').trim(),
            target_exists: !!document.getElementById(target)};
  });
  const images = [...document.images].map(img => ({
    src: img.getAttribute('src') && img.getAttribute('src').length > 80
         ? img.getAttribute('src').slice(0, 80) + '...' : img.getAttribute('src'),
    complete: img.complete, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
    width: Math.round(img.getBoundingClientRect().width)}));
  // The outermost elements sticking out past the viewport's right edge, unless a scrolling ancestor holds them.
  const clipped = el => {
    for (let p = el.parentElement; p && p !== body && p !== de; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
    }
    return false;
  };
  const wide = [], wideEls = [];
  for (const el of body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right > de.clientWidth + 0.5 && !clipped(el) && !wideEls.some(w => w.contains(el))) {
      wideEls.push(el);
      wide.push({tag: el.tagName.toLowerCase(), id: el.id || null, right: Math.round(r.right),
                 text: (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 60)});
      if (wide.length >= 15) break;
    }
  }
  const text = body.innerText;
  const fences = [];
  for (let i = text.indexOf('```'); i >= 0 && fences.length < 5; i = text.indexOf('```', i + 3))
    fences.push(text.slice(Math.max(0, i - 40), i + 43));
  const meta = document.querySelector('meta[name="viewport"]');
  return {
    title: document.title, lang: de.getAttribute('lang'), viewport_meta: meta ? meta.getAttribute('content') : null,
    inner_width: window.innerWidth, client_width: de.clientWidth,
    scroll_width: Math.max(de.scrollWidth, body.scrollWidth), scroll_height: de.scrollHeight,
    visual_viewport_width: window.visualViewport ? window.visualViewport.width : null,
    images, h2, nav_count: document.querySelectorAll('nav').length, nav_links: navLinks, wide_elements: wide,
    has_backtick_fence: text.includes('```'), backtick_fences: fences,
  };
}
"""


def _heading_index(h2: list[dict], pattern: str) -> dict | None:
    """The first h2 whose text matches pattern (a trailing pilcrow/#/section mark from anchor links ignored)."""
    for h in h2:
        if re.fullmatch(pattern, re.sub(r"[\s¶#§]+$", "", h["text"])):
            return {"index": h["index"], "y": h["y"], "text": h["text"], "id": h["id"]}
    return None


def _short(url: str) -> str:
    return url if len(url) <= 120 else f"{url[:80]}... ({len(url)} chars)"


def measure(html: Path, out: Path, shots: Path | None) -> dict:
    from playwright.sync_api import sync_playwright

    url = html.resolve().as_uri()
    result = {
        "url": url,
        "chromium": CHROMIUM,
        "args": CHROMIUM_ARGS,
        "interfaces": sorted(name for _, name in socket.if_nameindex()),
        "widths": {},
    }
    started = time.perf_counter()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000)
        result["browser_version"] = browser.version
        for name, (options, shot) in WIDTHS.items():
            context = browser.new_context(**options)  # a fresh, incognito-like context per width
            page = context.new_page()
            page.set_default_timeout(30_000)
            requests, failed, console, page_errors, sockets = [], [], [], [], []
            page.on("request", lambda r: requests.append(r.url))
            page.on("requestfailed", lambda r: failed.append({"url": _short(r.url), "error": r.failure}))
            page.on("console", lambda m: console.append({"type": m.type, "text": m.text}))
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("websocket", lambda w: sockets.append(w.url))
            t = time.perf_counter()
            response = page.goto(url, wait_until="load")
            page.evaluate("() => document.fonts.ready.then(() => true)")
            data = page.evaluate(MEASURE_JS)
            data.update(
                {
                    "viewport": options["viewport"],
                    "load_s": round(time.perf_counter() - t, 3),
                    "status": response.status if response else None,
                    "requests": [_short(u) for u in requests],
                    "request_schemes": sorted({u.split(":", 1)[0] for u in requests}),
                    "failed_requests": failed,
                    "websockets": sockets,
                    "console_errors": [c["text"] for c in console if c["type"] == "error"],
                    "console": console[:50],
                    "page_errors": page_errors,
                    "summary": _heading_index(data["h2"], r"Summary"),
                    "table1": _heading_index(data["h2"], r"Table 1\b.*"),
                }
            )
            if shots is not None:
                page.screenshot(path=str(shots / shot), full_page=True)
                if name == "desktop":
                    page.emulate_media(media="print")
                    page.pdf(path=str(shots / "report.pdf"), format="A4", print_background=True)
            result["widths"][name] = data
            context.close()
        browser.close()
    result["seconds"] = round(time.perf_counter() - started, 3)
    out.write_text(json.dumps(result, indent=1))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", type=Path, help="the HTML file to open (as a file:// URL)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the measurements (JSON)")
    parser.add_argument("--screenshots", type=Path, help="folder for desktop.png, phone.png and report.pdf")
    args = parser.parse_args(argv)
    if not args.html.is_file():
        parser.error(f"{args.html}: no such file")
    if not Path(CHROMIUM).exists():
        print(f"browser_check: {CHROMIUM} not found; install it with `sudo apt-get install chromium`", file=sys.stderr)
        return 3
    if args.screenshots is not None:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    result = measure(args.html, args.out, args.screenshots)
    print(f"browser_check: {args.html} measured in {result['seconds']} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
