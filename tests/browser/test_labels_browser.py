"""Marker labels in a real browser: on ReLU's chart and Wave Transforms' product chart, no two
marker labels overlap, and no label overlaps a stem (a bar of the Fourier view), on a phone
and on a wide screen.

What is checked is what Vega drew: the chart's scenegraph, read from the Vega view that
Streamlit's chart element holds (found through the element's React state: Streamlit keeps
the view in a hook, and neither Streamlit nor vega-embed puts it on ``window``). Each item's
bounds are Vega's own, the ones its renderer and hit test use: a text's measured box, a
rule's extent with its stroke. The label rows are chosen on the server
(``ui.scope_tables.label_rows``, unit-tested in tests/test_scope.py) from an estimate of the
text's width; this test holds that estimate against the fonts the browser really draws.

Run with ``pytest tests/browser/test_labels_browser.py`` (see conftest.py for the skip policy).
"""

from __future__ import annotations

import pytest
from browser_harness import CHART, VIEW_OF_JS, WsWatch, wait_idle

pytestmark = pytest.mark.browser

# (page, the chart's title starts with) for the two charts of the issue
CHARTS = [("relu", "ReLU(signal"), ("wave-transforms", "Two waves and their product")]
SCREENS = {"phone": (390, 844), "wide": (1920, 1080)}
SLACK_PX = 0.5  # antialiasing: boxes that touch within half a pixel do not overlap

# The scene of the chart whose title starts with ``prefix``: its marker labels (text marks
# of the chart's own layers, drawn) and its stems (solid rules at least 2 px wide: the
# dashed marker rules and the 1 px zero line are not bars), each with its bounds in the
# chart's coordinates (group offsets added up).
SCENE_JS = (
    r"""([sel, prefix]) => {
"""
    + VIEW_OF_JS
    + r"""
  for (const el of document.querySelectorAll(sel)) {
    const view = viewOf(el);
    if (!view) continue;
    const out = {titles: [], labels: [], stems: []};
    const walk = (node, mark, ox, oy) => {
      if (!node) return;
      if (node.marktype) {
        for (const it of node.items || []) walk(it, node, ox, oy);
        return;
      }
      const b = node.bounds;
      const box = b ? [b.x1 + ox, b.y1 + oy, b.x2 + ox, b.y2 + oy] : null;
      const shown = node.opacity !== 0 && node.fillOpacity !== 0 && b && b.x2 > b.x1;
      if (mark && mark.marktype === 'text' && mark.role === 'title-text') {
        out.titles.push(...[].concat(node.text));
      } else if (mark && mark.marktype === 'text' && mark.role === 'mark' && shown) {
        out.labels.push({text: String(node.text), box});
      } else if (mark && mark.marktype === 'rule' && mark.role === 'mark' && shown
                 && !node.strokeDash && (node.strokeWidth || 1) >= 2) {
        out.stems.push({x: node.x, box});
      }
      const group = mark && mark.marktype === 'group';
      for (const it of node.items || []) {
        walk(it, null, ox + (group ? node.x || 0 : 0), oy + (group ? node.y || 0 : 0));
      }
    };
    walk(view.scenegraph().root, null, 0, 0);
    if (out.titles.some((t) => String(t).startsWith(prefix))) return out;
  }
  return null;
}"""
)


def _overlap(p: list[float], q: list[float]) -> bool:
    return (
        p[0] < q[2] - SLACK_PX
        and q[0] < p[2] - SLACK_PX
        and p[1] < q[3] - SLACK_PX
        and q[1] < p[3] - SLACK_PX
    )


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize(("path", "title"), CHARTS, ids=[p for p, _ in CHARTS])
def test_marker_labels_overlap_neither_each_other_nor_a_stem(app_server, chromium, path, title, screen):
    width, height = SCREENS[screen]
    page = chromium.new_page()
    try:
        page.set_viewport_size({"width": width, "height": height})
        ws = WsWatch().attach(page)
        page.goto(f"{app_server.url}/{path}", wait_until="domcontentloaded", timeout=60_000)
        wait_idle(page, ws, since=0, timeout=240)
        handle = page.wait_for_function(
            f"(a) => {{ const s = ({SCENE_JS})(a); return s && s.labels.length && s.stems.length ? s : null; }}",
            arg=[CHART, title],
            timeout=60_000,
        )
        scene = handle.json_value()
        labels, stems = scene["labels"], scene["stems"]
        assert len(labels) >= 2, f"{path}: expected the chart's marker labels, got {labels}"
        piles = [
            (a["text"], b["text"])
            for i, a in enumerate(labels)
            for b in labels[i + 1 :]
            if _overlap(a["box"], b["box"])
        ]
        assert not piles, f"/{path} at {width} px: labels overlap each other: {piles}"
        under = sorted(
            {(a["text"], round(s["x"])) for a in labels for s in stems if _overlap(a["box"], s["box"])}
        )
        assert not under, f"/{path} at {width} px: labels over stems (label, stem's x in px): {under}"
    finally:
        page.close()
