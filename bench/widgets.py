"""Every server-side widget of a page, driven in the browser and timed (for bench/app.py).

A widget is found in the page's main area by its kind (Streamlit's ``data-testid``) and its
label (plus an index among widgets of the same kind and label), and looked up afresh before
each change: a rerun may rebuild it (Neurons' direction slider is keyed by the frequency).
Each change moves it to a neighbouring value (sliders by the keyboard, number inputs by their
+/- buttons, selects, radios and segmented controls by a click on the next option, toggles by a
click), turning back at either end, and is timed from the reader's input (the key or pointer
press) to the server's script_finished and to the last chart drawn with the app idle.
"""

from __future__ import annotations

import base64
import time

from browser_harness import message_type

MAIN = '[data-testid="stMain"]'
# kind -> the element that holds one widget (label and control)
KINDS = {
    "slider": '[data-testid="stSlider"]',
    "number input": '[data-testid="stNumberInput"]',
    "select": '[data-testid="stSelectbox"]',
    "radio": '[data-testid="stRadio"]',
    "segmented control": '[data-testid="stButtonGroup"]',
    "toggle": '[data-testid="stCheckbox"]',
}
MARK = "data-bench-widget"

# The widgets of the main area: [{kind, label, nth}], in page order.
INVENTORY_JS = """
([kinds, main]) => {
  const root = document.querySelector(main) || document;
  const sel = Object.entries(kinds).map(([k, s]) => s).join(', ');
  const kindOf = (el) => Object.keys(kinds).find((k) => el.matches(kinds[k]));
  const seen = {};
  return [...root.querySelectorAll(sel)].map((el) => {
    const kind = kindOf(el);
    const lab = el.querySelector('[data-testid="stWidgetLabel"]');
    const label = ((lab && lab.textContent) || el.getAttribute('aria-label') || '').trim();
    const id = kind + '|' + label;
    seen[id] = (seen[id] || 0) + 1;
    return {kind, label, nth: seen[id] - 1};
  });
}
"""

# Mark the nth widget of this kind and label (and only it); false when it is gone.
LOCATE_JS = """
([kinds, main, mark, w]) => {
  document.querySelectorAll('[' + mark + ']').forEach((e) => e.removeAttribute(mark));
  const root = document.querySelector(main) || document;
  const hits = [...root.querySelectorAll(kinds[w.kind])].filter((el) => {
    const lab = el.querySelector('[data-testid="stWidgetLabel"]');
    return ((lab && lab.textContent) || el.getAttribute('aria-label') || '').trim() === w.label;
  });
  const el = hits[w.nth];
  if (!el) return false;
  el.setAttribute(mark, '1');
  return true;
}
"""


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def ws_since(page, index: int) -> list[dict]:
    """The websocket messages recorded in the page from ``index`` on, with decoded types."""
    entries = page.evaluate("(i) => window.__lens.ws.slice(i)", index)
    for e in entries:
        raw = base64.b64decode(e["b64"]) if e["b64"] else None
        e["type"] = message_type(e["dir"], raw) if raw is not None else None
    return entries


def wait_settled(
    page, since_ws: int, since_t: float, timeout: float = 240.0, quiet_ms: float = 400.0
) -> dict:
    """Wait for a script_finished received after ``since_t`` (page ms), then ``quiet_ms`` without
    websocket traffic or chart drawing. Returns {finished, last_paint, paints} in page ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.wait_for_timeout(50)
        msgs = ws_since(page, since_ws)
        done = [
            m["t"]
            for m in msgs
            if m["dir"] == "received" and m["type"] == "script_finished" and m["t"] >= since_t
        ]
        if not done:
            continue
        state = page.evaluate(
            """() => {
                const L = window.__lens;
                return {now: performance.now(), lastPaint: L.lastPaint, paints: L.paintCount,
                        lastWs: L.ws.length ? L.ws[L.ws.length - 1].t : 0};
            }"""
        )
        if state["lastPaint"] is not None and state["lastPaint"] < since_t:
            state["lastPaint"] = None
        last = max(state["lastWs"], state["lastPaint"] or 0)
        if state["now"] - last >= quiet_ms:
            return {"finished": min(done), "last_paint": state["lastPaint"], "paints": state["paints"]}
    raise TimeoutError(f"page did not settle within {timeout} s")


def inventory(page) -> list[dict]:
    return page.evaluate(INVENTORY_JS, [KINDS, MAIN])


def _locate(page, w: dict):
    if not page.evaluate(LOCATE_JS, [KINDS, MAIN, MARK, w]):
        return None
    return page.locator(f"[{MARK}]").first


def _step(page, el, kind: str, up: bool) -> tuple[bool, bool]:
    """Move the widget one value on (``up``) or back; returns (changed, up) with ``up`` flipped
    at an end. Nothing changed when the widget has a single value."""
    if kind == "slider":
        thumb = el.locator('input[type="range"]').first
        now, lo, hi = thumb.evaluate("(e) => [Number(e.value), Number(e.min), Number(e.max)]")
        if lo == hi:
            return False, up
        up = now < hi if up else now <= lo
        thumb.focus()
        thumb.press("ArrowRight" if up else "ArrowLeft")
        return True, up
    if kind == "number input":
        for _ in range(2):
            button = el.locator(
                '[data-testid="stNumberInputStepUp"]' if up else '[data-testid="stNumberInputStepDown"]'
            )
            if not button.is_disabled():
                button.click()
                return True, up
            up = not up
        return False, up
    if kind in ("radio", "segmented control"):
        if kind == "radio":
            options = el.locator('label:has(input[type="radio"])')
            js = "(ls) => ls.findIndex((l) => l.querySelector('input').checked)"
        else:
            options = el.locator('button[role="radio"]')  # not the label's help button
            js = "(bs) => bs.findIndex((b) => b.getAttribute('aria-checked') === 'true')"
        n = options.count()
        if n < 2:
            return False, up
        j, up = _neighbour(options.evaluate_all(js), n, up)
        options.nth(j).click()
        return True, up
    if kind == "select":
        el.locator('[role="combobox"]').first.click()
        options = page.locator('[role="listbox"] [role="option"]')
        options.first.wait_for(timeout=5000)
        n = options.count()
        i = options.evaluate_all("(os) => os.findIndex((o) => o.getAttribute('aria-selected') === 'true')")
        if n < 2 or i < 0:
            page.keyboard.press("Escape")
            return False, up
        j, up = _neighbour(i, n, up)
        options.nth(j).click()
        return True, up
    if kind == "toggle":
        el.locator("label").first.click()
        return True, up
    raise ValueError(f"unknown widget kind {kind!r}")


def _neighbour(i: int, n: int, up: bool) -> tuple[int, bool]:
    """The option next to ``i`` of ``n`` in the direction ``up``, turning back at either end."""
    j = i + 1 if up else i - 1
    if not 0 <= j < n:
        up = not up
        j = i + 1 if up else i - 1
    return j, up


def _rerun_sent(page, mark: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if any(m["dir"] == "sent" and m["type"] == "rerun_script" for m in ws_since(page, mark)):
            return True
        page.wait_for_timeout(30)
    return False


def drive(page, w: dict, n: int) -> dict:
    """Change the widget ``w`` (from :func:`inventory`) ``n`` times; per change, ms from the
    input to the app idle with its charts redrawn ("total") and to script_finished ("server").
    A change that sends no rerun within 3 s is counted in "no_rerun" (a view moved to the
    browser, or a widget at a single value)."""
    out = {"kind": w["kind"], "label": w["label"], "nth": w["nth"], "total_ms": [], "server_ms": []}
    out["no_rerun"] = 0
    up = True
    for _ in range(n):
        el = _locate(page, w)
        if el is None:
            out["gone"] = True
            break
        el.scroll_into_view_if_needed()
        mark = page.evaluate("() => window.__lens.ws.length")
        changed, up = _step(page, el, w["kind"], up)
        if not changed:
            break
        t0 = page.evaluate("() => window.__lens.lastInput")
        if not _rerun_sent(page, mark, 3.0):
            out["no_rerun"] += 1
            continue
        settled = wait_settled(page, mark, t0, timeout=120)
        out["total_ms"].append(max(settled["finished"], settled["last_paint"] or 0) - t0)
        out["server_ms"].append(settled["finished"] - t0)
    return out


def drive_all(page, n: int, only: list[str] | None = None) -> list[dict]:
    """Every widget of the page's main area (those whose label contains one of ``only``)."""
    found = inventory(page)
    if only:
        found = [w for w in found if any(s.lower() in w["label"].lower() for s in only)]
    out = []
    for w in found:
        try:
            out.append(drive(page, w, n))
        except Exception as err:  # noqa: BLE001 - one widget that cannot be driven: say so, go on
            page.keyboard.press("Escape")
            out.append(
                {**w, "total_ms": [], "server_ms": [], "no_rerun": 0, "error": str(err).splitlines()[0]}
            )
    return out
