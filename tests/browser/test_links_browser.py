"""Deep links in a real browser: every server-side widget of a page moved off its default,
"Link to this view" pressed, the address opened in a new tab shows every widget the same;
and a link's bad parameter is named in a notice while its good ones stay.

The widgets are found by their keys (Streamlit marks a keyed widget's container with the
class ``st-key-<key>``) in the main area, read and moved as a reader does: a click on a
segmented control's option, a radio's label, a select's option or a number input's step
button, an arrow key on a slider. Run with
``pytest tests/browser/test_links_browser.py`` (see conftest.py for the skip policy).
"""

from __future__ import annotations

import re

import pytest
from browser_harness import ERROR_ALERT, EXCEPTION, ConsoleWatch, WsWatch, wait_idle

pytestmark = pytest.mark.browser

# Every keyed widget in the main area: {key (as in its class): "kind:value"}.
SNAPSHOT_JS = r"""() => Object.fromEntries(
  [...document.querySelectorAll('[data-testid="stMain"] [class*="st-key-"]')].flatMap((e) => {
    const key = [...e.classList].find((c) => c.startsWith('st-key-')).slice(7);
    const q = (s) => e.querySelector(s);
    if (q('[data-testid="stSlider"]')) {
      const r = q('input[type="range"]');
      return [[key, `slider:${r.value}:${r.max}`]];
    }
    if (q('[data-testid="stNumberInput"]')) {
      const i = q('input');
      return [[key, `number:${i.value}:${i.max}`]];
    }
    if (q('[data-testid="stSelectbox"]')) return [[key, `select:${q('input[role="combobox"]').value}`]];
    if (q('[data-testid="stRadio"]')) {
      const i = [...e.querySelectorAll('input[type="radio"]')].findIndex((r) => r.checked);
      return [[key, `radio:${i}`]];
    }
    if (q('[data-testid="stButtonGroup"]')) {
      const b = q('button[aria-checked="true"]');
      return [[key, `segmented:${b ? b.innerText.trim() : ''}`]];
    }
    return [];
  }))"""


def _snapshot(page) -> dict[str, str]:
    return page.evaluate(SNAPSHOT_JS)


def _settle(page, ws: WsWatch, since: int, timeout: float = 240) -> None:
    wait_idle(page, ws, since=since, timeout=timeout)


def _open(context, url: str, widgets: int = 1):
    page = context.new_page()
    ws = WsWatch().attach(page)
    console = ConsoleWatch(origin=re.match(r"https?://[^/]+", url).group(0)).attach(page)
    page.goto(url, wait_until="domcontentloaded", timeout=60_000)
    _settle(page, ws, 0)
    # the page's widgets drawn (the first script run of a session can end before the page's)
    page.wait_for_function(
        f"() => Object.keys(({SNAPSHOT_JS})()).length >= {widgets}",
        timeout=120_000,
    )
    _settle(page, ws, 0)
    return page, ws, console


def _move(page, ws: WsWatch, key: str, state: str) -> None:
    """Move the widget keyed ``key`` (now showing ``state``) to another value, as a reader."""
    box = page.locator(f".st-key-{key}").first
    box.scroll_into_view_if_needed()
    kind = state.split(":")[0]
    mark = len(ws.frames)
    if kind == "slider":
        _, value, top = state.split(":")
        box.locator('input[type="range"]').focus()
        page.keyboard.press("ArrowLeft" if value == top else "ArrowRight")
    elif kind == "number":
        _, value, top = state.split(":")
        step = "stNumberInputStepDown" if value == top else "stNumberInputStepUp"
        box.locator(f'[data-testid="{step}"]').click()
    elif kind == "select":
        box.locator('button[aria-label="Open"]').click()
        options = page.locator('[role="listbox"] [role="option"]:not([aria-selected="true"])')
        options.first.wait_for(state="visible", timeout=10_000)
        options.first.click()
    elif kind == "radio":
        labels = box.locator('label:has(input[type="radio"])')
        now = int(state.split(":")[1])
        labels.nth((now + 1) % labels.count()).click()
    elif kind == "segmented":
        box.locator('button[aria-checked="false"]').first.click()
    _settle(page, ws, mark, timeout=120)


def _clean(page, console) -> None:
    assert not page.locator(EXCEPTION).all_inner_texts()
    assert not page.locator(ERROR_ALERT).all_inner_texts()
    assert not console.errors, console.errors


@pytest.mark.parametrize("path", ["attention", "relu", "basics", "wave-transforms"])
def test_every_widget_moved_survives_the_link(app_server, chromium, path):
    page, ws, console = _open(chromium, f"{app_server.url}/{path}")
    default = _snapshot(page)
    assert default, "no keyed widget found"
    moved: set[str] = set()
    for _ in range(40):  # a move may reveal a widget (a head once the path goes through one)
        now = _snapshot(page)
        pending = [k for k in now if k not in moved and k not in ("upload", "links-share")]
        if not pending:
            break
        key = pending[0]
        _move(page, ws, key, now[key])
        moved.add(key)
        assert _snapshot(page).get(key) != now[key], f"{key} did not move"
    view = _snapshot(page)
    same = [k for k in view if k in default and view[k] == default[k]]
    assert same == [], f"still at their defaults: {same}"
    assert "?" not in page.url  # moving widgets writes no address
    mark = len(ws.frames)
    page.get_by_role("button", name="Link to this view").click()
    _settle(page, ws, mark, timeout=60)
    link = page.url
    assert "?" in link
    assert _snapshot(page) == view  # asking for the link changed nothing
    _clean(page, console)
    again, _ws2, console2 = _open(chromium, link, widgets=len(view))
    try:
        assert _snapshot(again) == view
        assert again.url == link
        _clean(again, console2)
    finally:
        again.close()
        page.close()


def test_a_bad_parameter_is_named_and_the_good_ones_stay(app_server, chromium):
    page, _ws, console = _open(chromium, f"{app_server.url}/relu?f1=20&f2=30&signal=bogus")
    try:
        alerts = " ".join(page.locator('[data-testid="stAlert"]').all_inner_texts())
        assert "signal=bogus" in alerts and "ignored" in alerts
        assert "f1=20" in page.url and "f2=30" in page.url and "signal" not in page.url
        view = _snapshot(page)
        assert view["relu-f1"].startswith("select:20") and view["relu-f2"].startswith("select:30")
        _clean(page, console)
    finally:
        page.close()
    page, _ws, console = _open(chromium, f"{app_server.url}/neurons?freq=999")
    try:
        alerts = " ".join(page.locator('[data-testid="stAlert"]').all_inner_texts())
        assert "freq=999" in alerts and "ignored" in alerts
        assert "freq" not in page.url
        _clean(page, console)
    finally:
        page.close()


def test_leaving_a_page_and_coming_back_keeps_its_choices(app_server, chromium):
    page, ws, console = _open(chromium, f"{app_server.url}/relu")
    try:
        for key in ("relu-f1", "relu-signal", "relu-sweep-view"):
            _move(page, ws, key, _snapshot(page)[key])
        view = _snapshot(page)

        def go(title: str, widgets: int) -> None:
            mark = len(ws.frames)
            page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
            _settle(page, ws, mark)
            page.wait_for_function(
                f"() => Object.keys(({SNAPSHOT_JS})()).length >= {widgets}", timeout=120_000
            )

        go("Basics", 1)
        assert "relu-f1" not in _snapshot(page)
        go("ReLU", len(view))
        assert _snapshot(page) == view
        assert "?" not in page.url  # remembered, not linked
        _clean(page, console)
    finally:
        page.close()
