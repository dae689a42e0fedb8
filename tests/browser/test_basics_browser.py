"""The Basics page's two maps in a real browser: the tooltip names the pair under the pointer
(its answer, its split and what the model says, not the image's data), and a click on a
cell picks that pair.

Run with ``pytest -m browser tests/browser/test_basics_browser.py`` (see conftest.py for the
skip policy).
"""

from __future__ import annotations

import re

import pytest
from browser_harness import CHART, ERROR_ALERT, EXCEPTION, ConsoleWatch, WsWatch, wait_idle

pytestmark = pytest.mark.browser

TOOLTIP = "#vg-tooltip-element"
P = 113  # the reference checkpoint's and the embedded model's


def _inputs(page) -> tuple[int, int]:
    a = page.locator('[data-testid="stNumberInput"] input[aria-label="a"]').first.input_value()
    b = page.locator('[data-testid="stNumberInput"] input[aria-label="b"]').first.input_value()
    return int(a), int(b)


@pytest.fixture(scope="module")
def basics_page(app_server, chromium):
    page = chromium.new_page()
    page.set_viewport_size({"width": 1400, "height": 900})
    ws = WsWatch().attach(page)
    console = ConsoleWatch(origin=app_server.url).attach(page)
    page.goto(f"{app_server.url}/basics?a=3&b=4", wait_until="domcontentloaded", timeout=60_000)
    wait_idle(page, ws, since=0, timeout=240)
    page.wait_for_function(
        """(sel) => [...document.querySelectorAll(sel)].slice(0, 2).filter((c) => {
            const m = c.querySelector('canvas, svg.marks');
            return m && m.getBoundingClientRect().width > 0;
        }).length === 2""",
        arg=CHART,
        timeout=60_000,
    )
    yield page, ws, console
    page.close()


def _hover(page, chart_index: int, fx: float, fy: float) -> str:
    chart = page.locator(CHART).nth(chart_index)
    chart.scroll_into_view_if_needed()
    box = chart.locator("canvas, svg.marks").first.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] * fx, box["y"] + box["height"] * fy
    page.mouse.move(x, y)
    page.mouse.move(x + 1, y + 1)
    tip = page.locator(TOOLTIP)
    tip.wait_for(state="visible", timeout=10_000)
    return tip.inner_text()


@pytest.mark.parametrize("chart_index", [0, 1])
def test_the_tooltip_names_the_pair_not_the_image(basics_page, chart_index):
    page, ws, console = basics_page
    since = len(ws.frames)
    text = _hover(page, chart_index, 0.3, 0.35)
    page.wait_for_timeout(500)
    # The hover cells appear on the pointer's first pass, in the browser: no rerun.
    assert ws.count("sent", "rerun_script", since) == 0
    assert "data:image" not in text and "url" not in text, text
    a, b = (int(re.search(rf"(?m)^{k}\s+([0-9]+)", text).group(1)) for k in ("a", "b"))
    assert re.search(r"(?m)^answer c\s+([0-9]+)", text), text
    answer = int(re.search(r"(?m)^answer c\s+([0-9]+)", text).group(1))
    if chart_index == 1:  # the split map also says which split, and what the model answers
        assert re.search(r"(?m)^split\s+(train|test)$", text), text
        says = re.search(r"(?m)^model says\s+([0-9]+) \((right|wrong)\)$", text)
        assert says, text
        assert (says.group(2) == "right") == (int(says.group(1)) == answer)
    assert (a + b) % P == answer
    assert not console.errors, console.errors


def test_a_click_on_a_map_picks_that_pair(basics_page):
    page, ws, console = basics_page
    text = _hover(page, 1, 0.6, 0.55)
    want = tuple(int(re.search(rf"(?m)^{k}\s+([0-9]+)", text).group(1)) for k in ("a", "b"))
    assert want != (3, 4)
    box = page.locator(CHART).nth(1).locator("canvas, svg.marks").first.bounding_box()
    since = len(ws.frames)
    page.mouse.click(box["x"] + box["width"] * 0.6 + 1, box["y"] + box["height"] * 0.55 + 1)
    wait_idle(page, ws, since=since, timeout=120)
    assert ws.count("sent", "rerun_script", since) >= 1
    assert _inputs(page) == want
    assert page.get_by_text(f"[{want[0]}, {want[1]},", exact=False).count() >= 1
    assert not page.locator(EXCEPTION).all_inner_texts()
    assert not page.locator(ERROR_ALERT).all_inner_texts()
    assert not console.errors, console.errors
