"""The scope's view toggle runs in the browser: a radio inside the chart (a Vega parameter)
switches space / Fourier / magnitude without a rerun, keeps the scrubbed position and the
sweep, and each view, switched to, draws exactly what the one-view chart draws.

Run with ``pytest -m browser`` (see conftest.py for the skip policy).
"""

from __future__ import annotations

import textwrap

import pytest
from browser_harness import CHART, SCRUB_INPUT, STATUS_WIDGET, StreamlitServer, WsWatch, wait_idle

pytestmark = pytest.mark.browser

VIEW_RADIO = '.vega-bindings input[type="radio"]'
TOGGLE = '.vega-bindings input[type="checkbox"]'


def _plot(chart) -> str:
    """The chart's canvas bitmap, as drawn (not a screenshot of the page, whose crop depends
    on where the canvas sits); not the bindings under it."""
    return chart.locator("canvas").first.evaluate("(c) => c.toDataURL('image/png')")


def _choose(chart, view: str) -> None:
    chart.locator(f'{VIEW_RADIO}[value="{view}"]').check()


def _checked(chart) -> str:
    return chart.locator(VIEW_RADIO).evaluate_all("(rs) => rs.find((r) => r.checked)?.value ?? null")


def _scrub(slider, value: int) -> None:
    slider.evaluate(
        "(e, v) => { e.value = String(v); e.dispatchEvent(new Event('input', {bubbles: true})); }", value
    )


@pytest.fixture(scope="module")
def basics(app_server, chromium):
    page = chromium.new_page()
    ws = WsWatch().attach(page)
    page.goto(f"{app_server.url}/basics", wait_until="domcontentloaded", timeout=60_000)
    wait_idle(page, ws, since=0, timeout=240)
    chart = page.locator(CHART).filter(has=page.locator(VIEW_RADIO)).first
    chart.wait_for(timeout=30_000)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    yield page, ws, chart
    page.close()


def test_switching_the_view_keeps_the_scrub_and_reruns_nothing(basics):
    page, ws, chart = basics
    slider = chart.locator(SCRUB_INPUT.split(" ", 1)[1]).first
    lo, hi, now = slider.evaluate("(e) => [Number(e.min), Number(e.max), Number(e.value)]")
    target = next(t for t in (lo + 2 * (hi - lo) // 3, lo + 1, hi) if t != now)
    _scrub(slider, target)
    page.wait_for_timeout(400)
    assert _checked(chart) == "space"  # the scope opens on the page's default view
    before = _plot(chart)

    mark = len(ws.frames)
    running = False
    for view in ("fourier", "magnitude", "space", "fourier"):
        _choose(chart, view)
        for _ in range(4):
            page.wait_for_timeout(100)
            running |= page.locator(STATUS_WIDGET).filter(has_text="Running").count() > 0
        after = _plot(chart)
        assert after != before, f"the plot did not redraw on the switch to {view}"
        before = after
        assert _checked(chart) == view
        assert int(slider.evaluate("(e) => Number(e.value)")) == target, (
            f"the switch to {view} moved the scrub"
        )
    page.wait_for_timeout(500)  # let any (unwanted) rerun reach the websocket
    assert ws.count("sent", "rerun_script", since=mark) == 0, "a view switch asked the server to rerun"
    assert ws.count("received", "script_finished", since=mark) == 0, "the server ran the script"
    assert not running, "the 'Running' status showed during a view switch"


def test_switching_the_view_keeps_the_sweep_running(basics):
    page, ws, chart = basics
    slider = chart.locator(SCRUB_INPUT.split(" ", 1)[1]).first
    toggle = chart.locator(TOGGLE).first
    toggle.check()
    try:
        page.wait_for_timeout(600)
        _choose(chart, "magnitude")
        page.wait_for_timeout(100)
        seen = {int(slider.evaluate("(e) => Number(e.value)"))}
        for _ in range(8):
            page.wait_for_timeout(150)
            seen.add(int(slider.evaluate("(e) => Number(e.value)")))
        assert toggle.is_checked(), "the switch stopped Play"
        assert len(seen) > 2, f"the sweep did not go on after the switch (values seen: {sorted(seen)})"
    finally:
        toggle.uncheck()
        _choose(chart, "space")


# -- each view, switched to, is the one-view chart ---------------------------------------------

SAME_APP = textwrap.dedent(
    """
    import numpy as np
    import streamlit as st

    from ui.scope import Marker, scope_chart

    p = 31
    n = np.arange(p)
    rng = np.random.default_rng(3)
    data = {
        "wave": np.cos(2 * np.pi * 4 * (n[None] - np.arange(12)[:, None]) / p) * np.linspace(0.5, 2, 12)[:, None],
        "noise": 0.3 * rng.standard_normal((12, p)),
    }
    marks = [[Marker(c, "c"), Marker(4, "f = 4", "fourier"), Marker(9, "any", "any")] for c in range(12)]
    kw = dict(x_axis="a", play="c", play_start=5, y_title="W_E", markers=marks, title="T", fixed={"d": 2}, height=260)
    for v in ("space", "fourier", "magnitude"):
        st.vega_lite_chart(scope_chart(data, view=v, **kw).vega_lite(), width="stretch")
    st.vega_lite_chart(
        scope_chart(data, view="space", views=("space", "fourier", "magnitude"), **kw).vega_lite(), width="stretch"
    )
    """
)


@pytest.fixture(scope="module")
def same_app(tmp_path_factory, chromium):
    script = tmp_path_factory.mktemp("view_toggle") / "same_app.py"
    script.write_text(SAME_APP)
    with StreamlitServer(script) as server:
        server.wait_healthy(timeout=120)
        page = chromium.new_page()
        ws = WsWatch().attach(page)
        page.goto(server.url, wait_until="domcontentloaded", timeout=60_000)
        wait_idle(page, ws, since=0, timeout=120)
        page.wait_for_function(
            "(sel) => document.querySelectorAll(sel).length === 4", arg=f"{CHART} canvas", timeout=30_000
        )
        page.wait_for_timeout(800)
        yield page
        page.close()


def test_each_view_switched_to_draws_what_the_one_view_chart_draws(same_app):
    page = same_app
    charts = page.locator(CHART)
    toggled = charts.nth(3)
    toggled.scroll_into_view_if_needed()
    for i, view in enumerate(("space", "fourier", "magnitude")):
        _choose(toggled, view)
        page.wait_for_timeout(500)
        one = charts.nth(i)
        one.scroll_into_view_if_needed()
        expected = _plot(one)
        toggled.scroll_into_view_if_needed()
        assert _plot(toggled) == expected, f"the {view} view differs from the one-view {view} chart"
