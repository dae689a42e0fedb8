"""The tensor scope in a real browser (ReLU's threshold sweep, on a 1280 x 720 projector):

- a change of view (space, Fourier, magnitude) keeps the scrubbed position and the play
  state: the server sends new rows for the same spec, and the browser keeps its chart;
- fullscreen keeps them too, and the chart with its sliders fits the window;
- the line over the caption gives the cut of the slice shown ("cut = +1.22"), following the
  scrub, with the value the sweep computed (lens.story.relu).

The chart draws on a canvas: what it writes is read from the canvas' ``fillText`` calls,
recorded by a script installed before the page's own. Run with
``pytest tests/browser/test_scope_browser.py`` (see conftest.py for the skip policy).
"""

from __future__ import annotations

import pytest
from browser_harness import CHART, ConsoleWatch, WsWatch, wait_idle

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1280, 720
SWEEP = f"{CHART}:has(.vega-bindings input[type=range])"
FRAME = '[data-testid="stFullScreenFrame"]'

# Every string a chart's canvas draws, in order (reset by the test when it wants).
TEXTS_JS = r"""
(() => {
  window.__texts = [];
  const orig = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
    if (this.canvas && this.canvas.closest && this.canvas.closest('[data-testid="stVegaLiteChart"]')) {
      window.__texts.push(String(text));
    }
    return orig.call(this, text, ...rest);
  };
})();
"""

STATE_JS = """(sel) => {
  const c = document.querySelector(sel);
  const r = c.querySelector('.vega-bindings input[type=range]');
  const b = c.querySelector('.vega-bindings input[type=checkbox]');
  const m = c.querySelector('canvas').getBoundingClientRect();
  const bind = c.querySelector('.vega-bindings').getBoundingClientRect();
  return {value: Number(r.value), playing: b.checked, top: m.top, bottom: bind.bottom,
          width: m.width, height: m.height};
}"""


@pytest.fixture(scope="module")
def relu(app_server, chromium):
    page = chromium.new_page()
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    page.add_init_script(TEXTS_JS)
    ws = WsWatch().attach(page)
    console = ConsoleWatch(app_server.url).attach(page)
    page.goto(f"{app_server.url}/relu", wait_until="domcontentloaded", timeout=60_000)
    wait_idle(page, ws, since=0, timeout=240)
    page.wait_for_selector(f"{SWEEP} canvas", timeout=60_000)
    page.locator(SWEEP).scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    yield page, ws, console
    page.close()


def _state(page) -> dict:
    return page.evaluate(STATE_JS, SWEEP)


def _scrub(page, value: int) -> None:
    page.locator(f"{SWEEP} .vega-bindings input[type=range]").evaluate(
        """(e, v) => { e.value = String(v); e.dispatchEvent(new Event('input', {bubbles: true})); }""", value
    )
    page.wait_for_timeout(300)


def _set_playing(page, on: bool) -> None:
    box = page.locator(f"{SWEEP} .vega-bindings input[type=checkbox]")
    if box.is_checked() != on:
        box.click()
    page.wait_for_timeout(200)


def _switch_view(page, ws, label: str) -> None:
    mark = len(ws.frames)
    page.locator(".st-key-relu-sweep-view button").filter(has=page.get_by_text(label, exact=True)).click()
    wait_idle(page, ws, mark, timeout=120)
    page.wait_for_timeout(500)


def _texts(page) -> list[str]:
    return page.evaluate("() => window.__texts.slice()")


def test_a_change_of_view_keeps_the_scrub_and_the_play_state(relu):
    page, ws, console = relu
    _set_playing(page, False)
    start = _state(page)["value"]
    target = 90 if start != 90 else 30
    _scrub(page, target)
    assert _state(page)["value"] == target
    for label in ("space", "magnitude", "Fourier"):
        page.evaluate("() => { window.__texts = []; }")
        _switch_view(page, ws, label)
        now = _state(page)
        assert now["value"] == target, f"{label}: the scrub went from {target} to {now['value']}"
        assert now["playing"] is False
        assert _texts(page), f"{label}: the chart drew nothing after the switch"
    # Playing: a switch leaves it playing, from where it was (not from the opening step).
    _set_playing(page, True)
    _switch_view(page, ws, "space")
    first = _state(page)
    page.wait_for_timeout(600)
    second = _state(page)
    assert first["playing"] and second["playing"], "a change of view stopped Play"
    assert second["value"] != first["value"], "the sweep stopped moving after the change of view"
    _switch_view(page, ws, "Fourier")
    assert _state(page)["playing"], "a change of view stopped Play"
    _set_playing(page, False)
    assert not console.errors, console.errors


def test_fullscreen_fits_the_window_and_keeps_the_position(relu):
    page, _ws, console = relu
    _set_playing(page, False)
    _scrub(page, 37)
    before = _state(page)
    frame = page.locator(FRAME).filter(has=page.locator(SWEEP)).first
    frame.hover()
    frame.get_by_role("button", name="Fullscreen").click()
    page.wait_for_timeout(1500)
    full = _state(page)
    assert full["value"] == 37, f"fullscreen moved the scrub from 37 to {full['value']}"
    assert full["height"] > before["height"], "fullscreen did not enlarge the chart"
    assert full["top"] >= 0 and full["bottom"] <= HEIGHT, (
        f"fullscreen: the chart and its sliders span {full['top']:.0f}..{full['bottom']:.0f} px "
        f"in a {HEIGHT} px window"
    )
    page.keyboard.press("Escape")
    page.wait_for_timeout(1500)
    back = _state(page)
    assert back["value"] == 37, f"leaving fullscreen moved the scrub from 37 to {back['value']}"
    assert back["height"] == pytest.approx(before["height"], abs=2)
    assert not console.errors, console.errors


def test_the_title_gives_the_cut_of_the_slice_shown(relu):
    from lens.story.relu import sweep

    page, _ws, _console = relu
    _set_playing(page, False)
    sw = sweep(113, *_frequencies(page), _signal(page))
    for step in (10, 56, 100):
        page.evaluate("() => { window.__texts = []; }")
        _scrub(page, step)
        drawn = _texts(page)
        want = f"cut = {sw.level[step]:+.2f}"
        assert want in drawn, f"step {step}: {want!r} not drawn; drew {[t for t in drawn if 'cut' in t]}"
        assert not any(t.endswith(f"threshold = {step}") for t in drawn)


def _frequencies(page) -> tuple[int, int]:
    """f₁ and f₂ as the page's select boxes show them ("14  (key)" -> 14)."""
    out = []
    for key in ("relu-f1", "relu-f2"):
        text = page.locator(f'.st-key-{key} input[role="combobox"]').input_value()
        out.append(int(text.split()[0]))
    return out[0], out[1]


def _signal(page) -> str:
    """The signal radio's choice, as the sweep names it (the page's order: wave, sum, product)."""
    checked = page.locator('.st-key-relu-signal input[type="radio"]').evaluate_all(
        "(rs) => rs.findIndex((r) => r.checked)"
    )
    return ("wave", "sum", "product")[checked]


def test_basics_keeps_the_scrubbed_dimension_on_a_change_of_view(app_server, chromium):
    """The issue's case: W_E's scope scrubbed to dimension 127 went back to 101 on a switch
    to Fourier."""
    page = chromium.new_page()
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    ws = WsWatch().attach(page)
    try:
        page.goto(f"{app_server.url}/basics", wait_until="domcontentloaded", timeout=60_000)
        wait_idle(page, ws, since=0, timeout=240)
        page.wait_for_selector(f"{CHART} .vega-bindings input[type=range]", timeout=60_000)
        ranges = page.locator(f"{CHART} .vega-bindings input[type=range]")
        (scrub,) = [r for r in ranges.all() if r.get_attribute("max") == "127"]  # d_model - 1
        scrub.scroll_into_view_if_needed()
        scrub.evaluate("(e) => { e.value = '127'; e.dispatchEvent(new Event('input', {bubbles: true})); }")
        page.wait_for_timeout(300)
        for label in ("Fourier", "magnitude", "space"):
            mark = len(ws.frames)
            view = page.locator(".st-key-basics-embed-view button").filter(
                has=page.get_by_text(label, exact=True)
            )
            view.click()
            wait_idle(page, ws, mark, timeout=120)
            page.wait_for_timeout(500)
            assert scrub.evaluate("(e) => Number(e.value)") == 127, f"{label}: the dimension left 127"
    finally:
        page.close()
