"""Every page on a phone and on a projector, in a real browser.

- At 390 x 844 (a phone) no page scrolls sideways: the document is no wider than the screen,
  and no chart title is cut: each line of every title, measured in the font Vega draws it
  with, fits within the width Vega may draw it in (its ``limit``; beyond it Vega writes "…").
- At 1280 x 720 (a projector) every chart that has a browser-side slider fits on one screen
  with its slider: from the chart's top to the bottom of its slider and play control is at
  most the window's height less Streamlit's header. So does a chart with the server-side
  slider right above it (Attention's head, answer c and residual dimension): from the
  slider's top to the chart's bottom (its own slider included).

Run with ``pytest -m browser tests/browser/test_screens_browser.py`` (see conftest.py for the
skip policy).
"""

from __future__ import annotations

import pytest
from browser_harness import CHART, NAV, VIEW_OF_JS, WsWatch, wait_idle

pytestmark = pytest.mark.browser

NO_NEXT = ("summary", "glossary")  # the pages without a "Next:" link at their end
HEADER_PX = 60  # Streamlit's header bar, which covers the top of the page
SCOPE_HEIGHTS = f"""() => [...document.querySelectorAll('{CHART}')]
    .filter((c) => c.querySelector('.vega-bindings input[type=range]'))
    .map((c) => c.querySelector('.vega-bindings').getBoundingClientRect().bottom
                - c.getBoundingClientRect().top)"""

# Every chart's title lines that do not fit their limit: [title line, its width, the limit].
CUT_TITLES = (
    r"""(sel) => {"""
    + VIEW_OF_JS
    + r"""
  const ctx = document.createElement('canvas').getContext('2d');
  const cut = [];
  const walk = (node, mark) => {
    if (!node) return;
    if (node.marktype) { for (const it of node.items || []) walk(it, node); return; }
    if (mark && mark.marktype === 'text' && mark.role === 'title-text' && node.limit) {
      ctx.font = `${node.fontStyle || ''} ${node.fontWeight || ''} ${node.fontSize}px ${node.font}`;
      for (const line of [].concat(node.text)) {
        const w = ctx.measureText(String(line)).width;
        if (w > node.limit + 0.5) cut.push([String(line), Math.round(w), Math.round(node.limit)]);
      }
    }
    for (const it of node.items || []) walk(it, null);
  };
  for (const el of document.querySelectorAll(sel)) {
    const view = viewOf(el);
    if (view) walk(view.scenegraph().root, null);
  }
  return cut;
}"""
)

# Each chart with server-side sliders right above it (after the chart before it, with no prose
# in between): from the first such slider's top to the bottom of the chart or its bindings.
SLIDER_CHART_HEIGHTS = f"""() => {{
  const charts = [...document.querySelectorAll('{CHART}')];
  const sliders = [...document.querySelectorAll('[data-testid="stSlider"]')];
  const prose = [...document.querySelectorAll('[data-testid="stMarkdown"]')]
    .filter((m) => m.innerText.trim().length > 0);
  const out = [];
  charts.forEach((c, i) => {{
    const r = c.getBoundingClientRect();
    const after = i ? charts[i - 1].getBoundingClientRect().bottom : -Infinity;
    const above = sliders.map((s) => s.getBoundingClientRect())
      .filter((q) => q.top >= after && q.bottom <= r.top + 1)
      .filter((q) => !prose.some((m) => {{
        const t = m.getBoundingClientRect();
        return t.top >= q.bottom && t.bottom <= r.top + 1;
      }}));
    if (!above.length) return;
    const b = c.querySelector('.vega-bindings');
    const bottom = Math.max(r.bottom, b ? b.getBoundingClientRect().bottom : -Infinity);
    out.push(bottom - Math.min(...above.map((q) => q.top)));
  }});
  return out;
}}"""


def _open(chromium, url: str, width: int, height: int):
    page = chromium.new_page()
    page.set_viewport_size({"width": width, "height": height})
    ws = WsWatch().attach(page)
    page.goto(url, wait_until="domcontentloaded", timeout=60_000)
    wait_idle(page, ws, since=0, timeout=240)
    # The whole page, not its first part: a page on the path ends with its link to the next
    # section (ui/nav.py). An idle websocket alone let the measuring start on a page that
    # showed its first paragraph only, and pass with nothing measured.
    if not url.rstrip("/").endswith(NO_NEXT):
        page.get_by_text("Next:").first.wait_for(state="attached", timeout=240_000)
    try:  # pages with charts: wait until each is drawn (Claims and the Glossary have none)
        page.wait_for_function(
            "(sel) => [...document.querySelectorAll(sel)].every((c) => c.querySelector('canvas, svg.marks'))",
            arg=CHART,
            timeout=30_000,
        )
    except Exception:  # noqa: BLE001 - a page without charts
        pass
    return page


@pytest.mark.parametrize("path", [p for p, _ in NAV])
def test_no_page_scrolls_sideways_on_a_phone(app_server, chromium, path):
    page = _open(chromium, f"{app_server.url}/{path}", 390, 844)
    try:
        wide = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert wide[0] <= wide[1] + 1, f"/{path} is {wide[0]} px wide on a {wide[1]} px screen"
        assert page.evaluate(CUT_TITLES, CHART) == [], f"/{path}: titles cut on a phone"
    finally:
        page.close()


@pytest.mark.parametrize("path", [p for p, _ in NAV])
def test_a_chart_and_its_slider_fit_on_a_projector(app_server, chromium, path):
    page = _open(chromium, f"{app_server.url}/{path}", 1280, 720)
    try:
        heights = page.evaluate(SCOPE_HEIGHTS)
        assert all(h <= 720 - HEADER_PX for h in heights), f"/{path}: {[round(h) for h in heights]} px"
        with_sliders = page.evaluate(SLIDER_CHART_HEIGHTS)
        assert all(h <= 720 - HEADER_PX for h in with_sliders), (
            f"/{path}: slider + chart {[round(h) for h in with_sliders]} px"
        )
    finally:
        page.close()
