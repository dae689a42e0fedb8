"""One look for every chart and sentence: palette, type sizes, and the number formats.

Every chart (the scope, the pages' own Altair charts, Grokking's) and every sentence that
quotes a figure takes these from here, so a share reads the same on every page.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"]
OTHER = "#BBBBBB"  # "everything else" beside the palette's named series
MUTED = "#555555"  # secondary text on a chart (annotations)
# Axis and legend text. Streamlit's chart theme draws tick labels in a light grey; on a
# projector they must stand out: this is its body text, 12.6:1 against white (WCAG asks 4.5).
INK = "#31333F"


# The sliders Vega binds under a chart (a scope's play axis, Wave Transforms' window): a track
# without a filled part. Streamlit paints the fill from a CSS variable that it updates on the
# reader's own "input" events only, so after Play (a Vega timer moving the value) or a rerun
# the blue fill stayed at the old position while the thumb moved on (issue 12; seen in
# headless Chromium). A plain track cannot disagree with its thumb; its grey has 3:1 contrast
# against the page, as WCAG asks of a control's outline.
PAGE_CSS = """<style>
.vega-bindings input[type="range"]::-webkit-slider-runnable-track { background: #8b929c !important; }
.vega-bindings input[type="range"]::-moz-range-progress { background: transparent !important; }
</style>"""

FONT = 14  # axis labels and legends: readable on a projector
TITLE_FONT = FONT + 1  # axis titles
CHART_TITLE_FONT = FONT + 2  # a chart's own title
LINE_WIDTH = 3
# A chart title's width, estimated: the average glyph of the sans-serif at CHART_TITLE_FONT
# is about 0.55 em wide. Used to wrap long title lines on a plot too narrow for them.
TITLE_EM = 0.55
# A phone's plot is ~300 px wide (390 px screen): title lines of at most this many characters.
WRAP_CHARS = 34


def text_px(text: str) -> int:
    """The estimated width in pixels of one title line at CHART_TITLE_FONT."""
    return int(len(text) * CHART_TITLE_FONT * TITLE_EM) + 1


@lru_cache(maxsize=4096)  # a scope wraps each of its captions (113 at p = 113) on every rerun
def wrapped(text: str) -> str:
    """``text`` as lines of at most :data:`WRAP_CHARS` characters (at spaces), joined by a
    newline: a phone's title lines (a scope's title and captions, which the browser splits at
    the newlines; the other charts' titles, which ``ui.charts.style`` lists)."""
    import textwrap

    return "\n".join(textwrap.wrap(text, WRAP_CHARS, break_long_words=False)) or text


def pct(x: float | None, digits: int | None = None) -> str:
    """A share as a percentage: "12.3%". ``None`` prints "n/a".

    With ``digits`` None the precision follows the value: whole percent in the middle, one
    decimal near 0 and 100% where rounding would hide the difference, and never "100%" for
    a share below 1 (nor "0%" for one above 0)."""
    if x is None:
        return "n/a"
    if x >= 1.0 - 1e-9:  # 1 up to float rounding (a sum of shares) is all of it
        return "100%"
    if digits is not None:
        while digits < 4 and float(f"{100 * x:.{digits}f}") >= 100:
            digits += 1  # 0.9996 is "99.96%", not "100.0%"
        return f"{100 * x:.{digits}f}%"
    if x <= 0.0:
        return "0%"
    for d in (0, 1, 2, 3):
        text = f"{100 * x:.{d}f}"
        if 0 < float(text) < 100 and (d > 0 or 0.02 <= x <= 0.98):
            return f"{text}%"
    return f"{min(100 * x, 99.999):.3f}%"


def num(x: float | None, fmt: str = "#.3g") -> str:
    """A measured value (a loss, a ratio) to three significant figures; ``None`` is "n/a"."""
    return "n/a" if x is None else format(x, fmt)


def listing(items: Iterable[object]) -> str:
    """ "5", "5 and 8", "5, 8 and 44"; "none" when empty."""
    words = [str(int(i)) if isinstance(i, (int, float)) and float(i).is_integer() else str(i) for i in items]
    if not words:
        return "none"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# The model's weight names as prose writes them (KaTeX): W_E, W_U, W_in, W_out, b_out, ...
_WEIGHT = re.compile(r"(?<![\w\\{])([Wb])_(E|U|V|O|Q|K|in|out)(?![\w{])")
_MATH_OR_CODE = re.compile(r"(\$\$.*?\$\$|\$[^$]*\$|`[^`]*`)", re.S)


def math_names(text: str) -> str:
    """``text`` with each weight name written as math ("W_out" -> "$W_{out}$"), for prose
    whose names come from a figure or claim also drawn as plain text (a chart, a card).
    What is already math or code is left as it is."""
    parts = _MATH_OR_CODE.split(text)
    for i in range(0, len(parts), 2):  # the parts outside $...$ and `...`
        parts[i] = _WEIGHT.sub(
            lambda m: f"${m[1]}_{{{m[2]}}}$" if len(m[2]) > 1 else f"${m[1]}_{m[2]}$", parts[i]
        )
    return "".join(parts)
