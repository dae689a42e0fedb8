"""The Trace page in a real browser: a deep link opens that pair, and a click on the map of
pairs picks the pair under the pointer (a Vega point selection reported to Streamlit).

Run with ``pytest -m browser tests/browser/test_trace_browser.py`` (see conftest.py for the
skip policy).
"""

from __future__ import annotations

import re

import pytest
from browser_harness import CHART, ERROR_ALERT, EXCEPTION, ConsoleWatch, WsWatch, wait_idle

pytestmark = pytest.mark.browser

TOOLTIP = "#vg-tooltip-element"


def _inputs(page) -> tuple[int, int]:
    a = page.locator('[data-testid="stNumberInput"] input[aria-label="a"]').input_value()
    b = page.locator('[data-testid="stNumberInput"] input[aria-label="b"]').input_value()
    return int(a), int(b)


def _settle(page, ws: WsWatch, since: int) -> None:
    wait_idle(page, ws, since=since, timeout=240)
    page.wait_for_function(
        """(sel) => {
            const charts = [...document.querySelectorAll(sel)];
            return charts.length >= 8 && charts.every((c) => {
                const m = c.querySelector('canvas, svg.marks');
                return m && m.getBoundingClientRect().width > 0;
            });
        }""",
        arg=CHART,
        timeout=60_000,
    )


@pytest.fixture(scope="module")
def trace_page(app_server, chromium):
    page = chromium.new_page()
    ws = WsWatch().attach(page)
    console = ConsoleWatch(origin=app_server.url).attach(page)
    page.goto(f"{app_server.url}/trace?a=5&b=7", wait_until="domcontentloaded", timeout=60_000)
    _settle(page, ws, 0)
    yield page, ws, console
    page.close()


def test_a_deep_link_shows_that_pair(trace_page):
    page, _ws, console = trace_page
    assert page.locator("h1").first.inner_text().strip() == "Trace one example"
    assert not page.locator(EXCEPTION).all_inner_texts()
    assert not page.locator(ERROR_ALERT).all_inner_texts()
    assert _inputs(page) == (5, 7)
    assert page.get_by_text("[5, 7, =]", exact=True).count() >= 1
    assert not console.errors, console.errors


def test_a_click_on_the_map_picks_the_pair_under_the_pointer(trace_page):
    page, ws, console = trace_page
    chart = page.locator(CHART).first  # the map of pairs comes first
    chart.scroll_into_view_if_needed()
    box = chart.locator("canvas, svg.marks").first.bounding_box()
    assert box is not None
    # Somewhere inside the plot (left of the legend, above the axis): which pair is there is
    # read from the tooltip of the cell under the pointer, then the cell is clicked.
    x, y = box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.4
    page.mouse.move(x, y)
    page.mouse.move(x + 1, y + 1)
    tip = page.locator(TOOLTIP)
    tip.wait_for(state="visible", timeout=10_000)
    text = tip.inner_text()
    want = tuple(int(re.search(rf"\b{k}\s*([0-9]+)", text).group(1)) for k in ("a", "b"))
    assert want != (5, 7)
    since = len(ws.frames)
    page.mouse.click(x + 1, y + 1)
    wait_idle(page, ws, since=since, timeout=120)
    assert ws.count("sent", "rerun_script", since) >= 1
    assert _inputs(page) == want
    assert page.get_by_text(f"[{want[0]}, {want[1]}, =]", exact=True).count() >= 1
    assert not page.locator(EXCEPTION).all_inner_texts()
    assert not console.errors, console.errors
