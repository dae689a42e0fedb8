"""The Ablation lab in a real browser, end to end: open /ablation-lab, press a preset, and see
the losses, the controls chart and the map of failing pairs drawn, with no error.

Run with ``pytest -m browser`` (see conftest.py for the skip policy).
"""

from __future__ import annotations

import pytest
from browser_harness import CHART, ERROR_ALERT, EXCEPTION, ConsoleWatch, WsWatch, charts_drawn, wait_idle

pytestmark = pytest.mark.browser

TABLE = '[data-testid="stTable"]'
RUNNING = "Ablating, and running 20 random controls"
# Records whether the page ever showed the running status: an ablation takes about a second,
# too short to catch by polling, so a MutationObserver watches from the first paint.
SAW_RUNNING = (
    """
window.__sawRunning = false;
new MutationObserver(() => {
  if (!window.__sawRunning && document.body && document.body.innerText.includes(%r)) {
    window.__sawRunning = true;
  }
}).observe(document, {childList: true, subtree: true, characterData: true});
"""
    % RUNNING
)


def _drawn(page, n: int) -> None:
    """Wait until ``n`` charts have a non-empty canvas or svg."""
    page.wait_for_function(
        """([sel, n]) => {
            const drawn = [...document.querySelectorAll(sel)].filter((c) => {
                const m = c.querySelector('canvas, svg.marks');
                if (!m) return false;
                const r = m.getBoundingClientRect();
                return r.width > 0 && r.height > 0;
            });
            return drawn.length >= n;
        }""",
        arg=[CHART, n],
        timeout=60_000,
    )


def test_an_ablation_end_to_end(app_server, chromium):
    page = chromium.new_page()
    page.add_init_script(SAW_RUNNING)
    ws = WsWatch().attach(page)
    console = ConsoleWatch(origin=app_server.url).attach(page)
    try:
        page.goto(f"{app_server.url}/ablation-lab", wait_until="domcontentloaded", timeout=60_000)
        wait_idle(page, ws, since=0, timeout=240)
        _drawn(page, 2)  # the opening ablation: its controls chart and its map
        assert page.locator("h1").first.inner_text().strip() == "Ablation lab"
        assert "after the ablation" in page.locator(TABLE).first.inner_text()

        since = len(ws.frames)
        page.evaluate("window.__sawRunning = false")
        page.get_by_role("button", name="Product test").click()
        wait_idle(page, ws, since=since, timeout=120)
        _drawn(page, 2)
        # While it ran, a status said so; once done, it says what ran.
        assert page.evaluate("window.__sawRunning")
        assert page.get_by_text("Ablation done, with 20 random controls.").is_visible()
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert "2-D products (±f, ±f)" in text and "Removing" in text
        table = page.locator(TABLE).first.inner_text()
        assert "after the ablation" in table and "random sets (mean of" in table
        assert "rank 1 of 21" in text
        drawn = charts_drawn(page)
        assert len(drawn) >= 2 and all(c["width"] > 0 and c["height"] > 0 for c in drawn)
        # The map is one image: the chart with the larger plot, 420 px tall.
        assert max(c["height"] for c in drawn) > 300
        assert not page.locator(EXCEPTION).all_inner_texts()
        assert not page.locator(ERROR_ALERT).all_inner_texts()
        assert not console.errors, console.errors
    finally:
        page.close()
