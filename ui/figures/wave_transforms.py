"""Wave Transforms' own charts: the filters' overview (strip and histogram) and the aliasing
picture (continuous waves against their samples on the tokens).

Builders return ``alt.Chart`` objects (testable through ``.to_dict()``); ``*_specs`` /
``*_spec`` turn them into the styled dicts the page caches with ``ui.data.of_run`` /
``ui.data.of_args`` and draws with ``ui.charts.show``.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lens.run import Run
from lens.story import wave_transforms as story
from ui.charts import spec
from ui.theme import PALETTE


def overview_frame(path_facts: story.FilterFacts, head: int = 0) -> pd.DataFrame:
    """One row per neuron of row ``head`` (0 on the direct path), in the strip's order (top
    frequency, then share): columns ``neuron``, ``top_frequency`` (also the colour, as a
    nominal field), ``narrowbandness`` and ``rank`` (the place in the strip, 0 = leftmost)."""
    df = pd.DataFrame(
        {
            "neuron": np.arange(path_facts.share.shape[1]),
            "top_frequency": path_facts.top_frequency[head],
            "narrowbandness": path_facts.share[head],
            "rank": path_facts.strip_place[head],
        }
    )
    return df.sort_values("rank").reset_index(drop=True)


def overview_charts(df: pd.DataFrame) -> tuple[alt.Chart, alt.Chart]:
    """Narrowbandness of every neuron, sorted by top frequency then narrowbandness, and its
    histogram (two charts, drawn side by side in columns)."""
    order = [int(x) for x in sorted(df["top_frequency"].unique())]
    # Okabe-Ito first; more top frequencies than it has colours cycle through it again.
    color = alt.Color(
        "top_frequency:N", sort=order, scale=alt.Scale(domain=order, range=PALETTE), title="top frequency"
    )
    strip = (
        alt.Chart(df)
        .mark_circle(size=40, opacity=0.85)
        .encode(
            # Fixed domains: every path and head is drawn on the same axes.
            x=alt.X(
                "rank:Q",
                title="neurons, sorted by top frequency then by share",
                axis=alt.Axis(labels=False),
                scale=alt.Scale(domain=[-1, len(df)], nice=False),
            ),
            y=alt.Y(
                "narrowbandness:Q",
                title="share in the top frequency",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
            ),
            color=color,
            tooltip=["neuron:Q", "top_frequency:Q", alt.Tooltip("narrowbandness:Q", format=".1%")],
        )
    )
    hist = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X(
                "narrowbandness:Q",
                bin=alt.Bin(step=0.05, extent=[0, 1]),
                title="share in the top frequency",
                axis=alt.Axis(format="%"),
            ),
            y=alt.Y("count():Q", title="neurons"),
            color=color,
            tooltip=[
                alt.Tooltip("count():Q", title="neurons"),
                alt.Tooltip("top_frequency:N", title="top frequency"),
            ],
        )
    )
    legend = dict(orient="top")
    return (
        alt.layer(strip).properties(height=320).configure_legend(**legend),
        hist.properties(height=320).configure_legend(**legend),
    )


def overview_specs(run: Run, path: str, head: int) -> tuple[dict, dict]:
    """The two overview specs for one path (and head): cache with ``ui.data.of_run``."""
    f = story.facts(run)
    path_facts = f.direct if path == "embed" else f.through_head
    left, right = overview_charts(overview_frame(path_facts, head if path == "ov" else 0))
    return spec(left), spec(right)


def alias_spec(p: int, s: int, folded: int) -> dict:
    """cos at the frequency s over continuous t, the folded frequency too, and the integer
    samples they share. A browser-side slider moves a window of the token axis. Cache with
    ``ui.data.of_args``.

    Shaped like the scope for a fast slider: the browser holds the points of one window
    (``j``, their offset in it) and, on each step, computes each point's key and looks its
    value up, instead of filtering every point of both curves (Streamlit's Vega interprets
    every expression, per point). Written as a dict, not through Altair: building and
    serialising the Altair chart took 200-300 ms per new pair of frequencies, the dict ~1 ms."""
    from ui.charts import dict_spec, frame_name

    per = 8  # points per token for the continuous curves
    width = min(p, 24)
    names = [f"cos at {s} (continuous)", f"cos at {folded} (continuous)", "samples at the tokens"]
    m = np.arange(p * per + 1)
    values = pd.DataFrame(
        {
            "k": np.r_[m, m + len(m)].astype(np.int32),
            "t": np.r_[m, m].astype(np.float32) / per,
            "y": np.r_[np.cos(2 * np.pi * s * m / per / p), np.cos(2 * np.pi * folded * m / per / p)],
        }
    )
    j = np.arange(width * per + 1)
    window = pd.DataFrame(
        {"j": np.r_[j, j], "offset": np.repeat([0, len(m)], len(j)), "wave": np.repeat(names[:2], len(j))}
    )
    samples = pd.DataFrame({"j": np.arange(width + 1), "wave": names[2]})
    values_name, window_name, samples_name = (frame_name(df) for df in (values, window, samples))
    lookup = {"lookup": "k", "from": {"data": {"name": values_name}, "key": "k", "fields": ["t", "y"]}}
    color = {
        "field": "wave",
        "type": "nominal",
        "title": None,
        "scale": {"domain": names, "range": ["#0072B2", "#E69F00", "#000000"]},
    }
    x = {
        "field": "t",
        "type": "quantitative",
        "title": "token index (continuous between tokens)",
        "axis": {"tickMinStep": 1},
        "scale": {"domain": {"expr": f"[alias_from, alias_from + {width}]"}, "nice": False},
    }
    y = {"field": "y", "type": "quantitative", "title": "value", "scale": {"domain": [-1.1, 1.1]}}
    lines = {
        "data": {"name": window_name},
        "transform": [{"calculate": f"datum.offset + alias_from * {per} + datum.j", "as": "k"}, lookup],
        "mark": {"type": "line", "strokeWidth": 2.5},
        "encoding": {"x": x, "y": y, "color": color},
    }
    dots = {
        "data": {"name": samples_name},
        "transform": [{"calculate": f"(alias_from + datum.j) * {per}", "as": "k"}, lookup],
        "mark": {"type": "circle", "size": 110},
        "encoding": {
            "x": x,
            "y": y,
            "color": color,
            "tooltip": [
                {"field": "t", "type": "quantitative"},
                {"field": "y", "type": "quantitative", "format": ".4f"},
            ],
        },
    }
    start = {
        "name": "alias_from",
        "value": 0,
        "bind": {"input": "range", "min": 0, "max": p - width, "step": 1, "name": "window starts at token "},
    }
    body = {
        "layer": [lines, dots],
        "params": [start],
        "height": 320,
        "config": {"legend": {"orient": "top"}},
        "usermeta": {"embedOptions": {"renderer": "canvas"}},
    }
    return dict_spec(body, values, window, samples)
