"""Screenshots of every page at the three sizes readers use: laptop, projector, phone.

    python bench/screenshots.py [--pages basics,relu] [--out bench/results/screenshots]

Starts the app (the reference checkpoint beside the repository when present, else the
default model), opens each page of the navigation at 1400x900, 1280x720 and 390x844 in
Debian's Chromium, waits for the script run to finish and the charts to draw, and saves the
whole page as PNG (``<page>-<width>x<height>.png``). It also records, per shot, whether the
page scrolls sideways (document wider than the viewport): what a phone reader would feel.
Writes ``index.json`` beside the images; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from browser_harness import (  # noqa: E402
    CHART,
    NAV,
    StreamlitServer,
    WsWatch,
    close_chromium,
    find_chromium,
    launch_chromium,
    screenshot_whole,
    wait_idle,
)

SIZES = [(1400, 900), (1280, 720), (390, 844)]
NO_NEXT = ("summary", "glossary")  # the pages that end without a "Next:" link (ui/nav.py)


def shoot(context, url: str, path: Path) -> dict:
    page = context.new_page()
    ws = WsWatch().attach(page)
    t0 = time.perf_counter()
    page.goto(url)
    wait_idle(page, ws, since=0, timeout=240)
    if not url.rstrip("/").endswith(NO_NEXT):  # the page's end: its link to the next section
        page.get_by_text("Next:").first.wait_for(state="attached", timeout=240_000)
        wait_idle(page, ws, since=0, timeout=240)
    try:  # pages with charts: wait for them to be drawn (the Claims page has none)
        page.wait_for_function(
            """(sel) => [...document.querySelectorAll(sel)].every((c) =>
                c.querySelector('canvas, svg.marks'))""",
            arg=CHART,
            timeout=30_000,
        )
    except Exception:
        pass
    sideways = page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
    )
    screenshot_whole(page, str(path))
    page.close()
    return {"file": path.name, "seconds": round(time.perf_counter() - t0, 2), "scrolls_sideways": sideways}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", help="comma-separated URL paths (default: every page of the navigation)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "screenshots"))
    args = ap.parse_args()
    exe = find_chromium()
    if exe is None:
        print("no Chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    pages = args.pages.split(",") if args.pages else [url for url, _ in NAV]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    index = []
    with StreamlitServer() as server, sync_playwright() as pw:
        server.wait_healthy()
        for width, height in SIZES:
            context, profile = launch_chromium(pw, exe, width=width, height=height)
            try:
                for name in pages:
                    shot = shoot(context, f"{server.url}/{name}", out / f"{name}-{width}x{height}.png")
                    index.append({"page": name, "size": f"{width}x{height}", **shot})
                    print(
                        f"{name:<18} {width}x{height:<5} {shot['seconds']:>6.1f} s  "
                        f"{'scrolls sideways' if shot['scrolls_sideways'] else ''}"
                    )
            finally:
                close_chromium(context, profile)
    (out / "index.json").write_text(json.dumps(index, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
