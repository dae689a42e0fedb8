"""The Clock-or-pizza page's charts: Zhong et al.'s two diagnostics with their reference values.

Each builder takes plain tuples and returns a styled spec (:func:`ui.charts.spec`), so the
page caches it with ``ui.data.of_args`` and draws it with :func:`ui.charts.show`:

- :func:`plane_spec`: the (gradient symmetricity, distance irrelevance) plane, with the
  ranges of Zhong et al.'s clocks and pizzas filled, the verdict's regions outlined, the
  run's snapshots joined in step order and the loaded model marked;
- :func:`over_training_spec`: one measure over the snapshots' steps, with the clocks' and
  pizzas' ranges as bands on the same axis.

A region is a tuple ``(name, gs_low, gs_high, di_low, di_high)`` (None: open on that side;
:class:`lens.story.clock_pizza.Region`'s fields in order).
"""

from __future__ import annotations

import pandas as pd

from ui.theme import CHART_TITLE_FONT, FONT, MUTED, PALETTE

KIND_COLOUR = {"clock": PALETTE[0], "pizza": PALETTE[1]}
Regions = tuple[tuple, ...]
MEASURES = {
    "gradient_symmetricity": "gradient symmetricity",
    "distance_irrelevance": "distance irrelevance",
}


def _domain(values, low: float = 0.0, high: float = 1.0) -> list[float]:
    vals = [v for v in values if v is not None]
    return [min([low, *vals]) - 0.02, max([high, *vals]) + 0.02]


def _rect(regions: Regions, gs_dom: list[float], di_dom: list[float]) -> pd.DataFrame:
    def clip(v, dom, side):
        return dom[side] if v is None else v

    return pd.DataFrame(
        [
            {
                "kind": name,
                "gs0": clip(g0, gs_dom, 0),
                "gs1": clip(g1, gs_dom, 1),
                "di0": clip(d0, di_dom, 0),
                "di1": clip(d1, di_dom, 1),
            }
            for name, g0, g1, d0, d1 in regions
        ]
    )


def _title(alt, text: str, subtitle: str):
    return alt.TitleParams(
        text, subtitle=subtitle, fontSize=CHART_TITLE_FONT, subtitleFontSize=FONT - 1, anchor="start"
    )


def plane_spec(
    typical: Regions,
    verdict: Regions,
    steps: tuple[int, ...],
    gs: tuple[float, ...],
    di: tuple[float, ...],
    model: tuple[float, float],
    model_label: str,
) -> dict:
    """The plane: filled typical ranges, outlined verdict regions, the snapshots in order
    (labelled by step) and the loaded model (a diamond)."""
    import altair as alt

    from ui.charts import spec

    gs_dom, di_dom = _domain([*gs, model[0]]), _domain([*di, model[1]])

    def xy(gs_field: str, di_field: str) -> dict:
        # Every layer titles its axes: a layer left untitled would name the axis by its field.
        ticks = [round(0.1 * i, 1) for i in range(-10, 11)]
        return {
            "x": alt.X(
                f"{gs_field}:Q",
                title="gradient symmetricity",
                scale=alt.Scale(domain=gs_dom, nice=False),
                axis=alt.Axis(values=ticks),
            ),
            "y": alt.Y(
                f"{di_field}:Q",
                title="distance irrelevance",
                scale=alt.Scale(domain=di_dom, nice=False),
                axis=alt.Axis(values=ticks),
            ),
        }

    colour = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=list(KIND_COLOUR), range=list(KIND_COLOUR.values())),
        legend=alt.Legend(title="Zhong et al.'s", orient="top"),
    )
    filled = (
        alt.Chart(_rect(typical, gs_dom, di_dom))
        .mark_rect(opacity=0.25)
        .encode(**xy("gs0", "di0"), x2="gs1:Q", y2="di1:Q", color=colour, tooltip=["kind:N"])
    )
    outlined = (
        alt.Chart(_rect(verdict, gs_dom, di_dom))
        .mark_rect(filled=False, strokeDash=[6, 4], strokeWidth=2)
        .encode(
            **xy("gs0", "di0"),
            x2="gs1:Q",
            y2="di1:Q",
            stroke=alt.Stroke(
                "kind:N",
                scale=alt.Scale(domain=list(KIND_COLOUR), range=list(KIND_COLOUR.values())),
                legend=None,
            ),
        )
    )
    layers = [filled, outlined]
    if steps:
        path = pd.DataFrame(
            {"step": list(steps), "gs": list(gs), "di": list(di), "label": [f"{s:,}" for s in steps]}
        )
        base = alt.Chart(path).encode(
            **xy("gs", "di"),
            order="step:Q",
            tooltip=[
                alt.Tooltip("step:Q", format=","),
                alt.Tooltip("gs:Q", title="gradient symmetricity", format=".3f"),
                alt.Tooltip("di:Q", title="distance irrelevance", format=".3f"),
            ],
        )
        layers += [
            base.mark_line(color=PALETTE[6], strokeWidth=1.5, opacity=0.6),
            base.mark_circle(color=PALETTE[6], size=70, opacity=1),
            base.mark_text(align="left", dx=7, dy=-7, fontSize=FONT - 2, color=MUTED).encode(text="label:N"),
        ]
    point = pd.DataFrame({"gs": [model[0]], "di": [model[1]], "label": [model_label]})
    pbase = alt.Chart(point).encode(**xy("gs", "di"))
    layers += [
        pbase.mark_point(shape="diamond", size=260, filled=True, color=PALETTE[5]).encode(
            tooltip=[
                alt.Tooltip("label:N", title="model"),
                alt.Tooltip("gs:Q", title="gradient symmetricity", format=".3f"),
                alt.Tooltip("di:Q", title="distance irrelevance", format=".3f"),
            ]
        ),
        pbase.mark_text(align="right", dx=-12, fontSize=FONT - 1, color=PALETTE[5], fontWeight="bold").encode(
            text="label:N"
        ),
    ]
    chart = alt.layer(*layers).properties(
        height=420,
        title=_title(
            alt,
            "Clock or pizza: the two diagnostics",
            "filled: the ranges of Zhong et al.'s clocks and pizzas; dashed: the verdict's regions; "
            "dots: the run's snapshots, by step",
        ),
    )
    return spec(chart)


def over_training_spec(
    measure: str, typical: Regions, steps: tuple[int, ...], values: tuple[float, ...]
) -> dict:
    """``measure`` (a key of :data:`MEASURES`) at the snapshots' steps (a symmetric log step
    axis), with the clocks' and pizzas' typical ranges as bands on the same y axis."""
    import altair as alt

    from ui.charts import spec

    name = MEASURES[measure]
    lo, hi = (1, 2) if measure == "gradient_symmetricity" else (3, 4)
    dom = _domain(values)
    bands = pd.DataFrame([{"kind": r[0], "low": r[lo], "high": r[hi], "label": f"{r[0]}s"} for r in typical])
    colour = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=list(KIND_COLOUR), range=list(KIND_COLOUR.values())),
        legend=alt.Legend(title="Zhong et al.'s", orient="top"),
    )
    y = alt.Y("low:Q", title=name, scale=alt.Scale(domain=dom, nice=False))
    band = alt.Chart(bands).mark_rect(opacity=0.22).encode(y=y, y2="high:Q", color=colour, tooltip=["kind:N"])
    last = max(steps) if steps else 1
    ticks = [0] + [m * 10**e for e in range(1, 8) for m in (1, 3) if m * 10**e <= last]
    x = alt.X(
        "step:Q",
        title="training step (kept snapshots)",
        scale=alt.Scale(type="symlog", constant=10, nice=False),
        axis=alt.Axis(values=ticks, labelExpr="format(datum.value, ',')", labelFlush=True),
    )
    df = pd.DataFrame({"step": list(steps), "value": list(values)})
    line = (
        alt.Chart(df)
        .mark_line(color=PALETTE[6], strokeWidth=3, point=alt.OverlayMarkDef(color=PALETTE[6], size=70))
        .encode(
            x=x,
            y=alt.Y("value:Q", title=name, scale=alt.Scale(domain=dom, nice=False)),
            tooltip=[alt.Tooltip("step:Q", format=","), alt.Tooltip("value:Q", title=name, format=".3f")],
        )
    )
    chart = alt.layer(band, line).properties(
        height=280, title=_title(alt, f"{name.capitalize()} over training", "bands: Zhong et al.'s ranges")
    )
    return spec(chart)
