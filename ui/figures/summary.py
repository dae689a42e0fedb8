"""The Summary page's diagram: the five stages of the algorithm, top to bottom, each box with
its name, what it does, its measured figure and its claims' verdicts, joined by arrows.

Everything written in it comes from ``lens.story.summary.facts`` and the claims' results
(``ui.claims.claim``); this module only lays them out and formats them (``ui.theme``).
"""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from lens.claims import ClaimResult
from lens.story.summary import Stage, SummaryFacts
from ui.theme import CHART_TITLE_FONT, FONT, MUTED, PALETTE, listing, num, pct

HOLDS, FAILS = PALETTE[2], PALETTE[5]  # green, vermilion (Okabe-Ito)
LINE = 24  # px per line of text
PAD = 12  # px above the first line and below the last, inside a box
GAP = 40  # px between boxes: the arrow's room
INDENT = 0.015  # text's left edge, as a share of the width


def figure_text(stage: Stage, f: SummaryFacts) -> str:
    """The stage's measured figure as one line: the value, then what it measures."""
    if stage.kind == "share":
        value = pct(stage.value)
    elif stage.kind == "count":
        value = str(int(stage.value))
    else:  # a ratio reads after its definition: "‖…‖ / ‖r‖ at resid_mid: 0.00306"
        return f"{stage.label}: {num(stage.value)}"
    text = f"{value} {stage.label}"
    if stage.key == "embedding":
        text += f" ({listing(f.key_freqs)})"
    elif stage.key == "neurons":
        text += ": " + ", ".join(f"{k}: {n}" for k, n in f.neurons_per_frequency.items())
    elif stage.key == "logits":
        text += f"; test loss {num(f.test_loss, '.2e')}"
    return text


def rule(result: ClaimResult) -> str:
    """A claim's threshold as it reads: ≥ 0.95, ≤ 0.01, 0.5 ± 0.2."""
    return result.rule.replace("+-", "±").replace(">=", "≥").replace("<=", "≤")


def verdict_text(result: ClaimResult) -> str:
    """One claim's line: its verdict, id, measured value and threshold."""
    word = "✓ holds" if result.holds else "✗ fails"
    return f"{word} · {result.id}: measured {num(result.value)}, passes at {rule(result)}"


def rows(f: SummaryFacts, results: Mapping[str, ClaimResult]) -> tuple[pd.DataFrame, ...]:
    """The diagram's data: (boxes, text lines, arrows), in pixels from the top."""
    boxes, lines, arrows = [], [], []
    top = 0
    for i, stage in enumerate(f.stages):
        texts = [
            ("title", f"{i + 1}. {stage.title}", ""),
            ("does", stage.does, ""),
            ("figure", figure_text(stage, f), ""),
        ]
        for cid in stage.claims:
            r = results[cid]
            texts.append(("claim", verdict_text(r), "holds" if r.holds else "fails"))
        height = 2 * PAD + LINE * len(texts)
        boxes.append({"stage": stage.title, "top": top, "bottom": top + height, "left": 0.0, "right": 1.0})
        for j, (role, text, verdict) in enumerate(texts):
            y = top + PAD + LINE * j + LINE / 2
            lines.append({"stage": stage.title, "role": role, "text": text, "verdict": verdict, "y": y})
        top += height
        if i < len(f.stages) - 1:
            arrows.append({"from": stage.title, "top": top + 4, "bottom": top + GAP - 4, "x": 0.5})
            top += GAP
    return pd.DataFrame(boxes), pd.DataFrame(lines), pd.DataFrame(arrows)


def diagram_spec(f: SummaryFacts, results: Mapping[str, ClaimResult]) -> dict:
    """The whole diagram as a styled spec (:func:`ui.charts.spec`). ``results`` maps every
    claim id of every stage to its result on the same model."""
    import altair as alt

    from ui.charts import spec

    boxes, lines, arrows = rows(f, results)
    height = int(boxes["bottom"].max())
    xs = alt.Scale(domain=[0, 1])
    ys = alt.Scale(domain=[0, height], reverse=True, nice=False)  # pixels from the top
    x = alt.X("left:Q", scale=xs, axis=None)
    y = alt.Y("top:Q", scale=ys, axis=None)
    box = (
        alt.Chart(boxes)
        .mark_rect(fill="#F4F6FA", stroke=PALETTE[0], strokeWidth=2, cornerRadius=8)
        .encode(x=x, x2="right:Q", y=y, y2="bottom:Q", tooltip=[alt.Tooltip("stage:N", title="stage")])
    )
    shaft = (
        alt.Chart(arrows)
        .mark_rule(color=MUTED, strokeWidth=3)
        .encode(x=alt.X("x:Q", scale=xs, axis=None), y=y, y2="bottom:Q")
    )
    head = (
        alt.Chart(arrows)
        .mark_point(shape="triangle-down", filled=True, size=220, color=MUTED, opacity=1)
        .encode(
            x=alt.X("x:Q", scale=xs, axis=None),
            y=alt.Y("bottom:Q", scale=ys, axis=None),
        )
    )
    lines = lines.assign(x=INDENT)
    tx = alt.X("x:Q", scale=xs, axis=None)
    ty = alt.Y("y:Q", scale=ys, axis=None)

    def text_layer(role: str, **mark) -> alt.Chart:
        return (
            alt.Chart(lines[lines["role"] == role])
            .mark_text(align="left", baseline="middle", **mark)
            .encode(x=tx, y=ty, text="text:N")
        )

    title = text_layer("title", fontSize=CHART_TITLE_FONT + 1, fontWeight="bold", color="#111111")
    does = text_layer("does", fontSize=FONT, color=MUTED, fontStyle="italic")
    figure = text_layer("figure", fontSize=FONT + 1, color="#111111")
    claims = text_layer("claim", fontSize=FONT, fontWeight="bold").encode(
        color=alt.Color(
            "verdict:N", scale=alt.Scale(domain=["holds", "fails"], range=[HOLDS, FAILS]), legend=None
        )
    )
    chart = alt.layer(box, shaft, head, title, does, figure, claims).properties(height=height)
    return spec(chart)
