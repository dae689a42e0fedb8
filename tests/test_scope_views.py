"""The tensor scope's views and its element (ui/scope.py, ui/scope_layers.py): the three line
views share one spec, so a change of view only swaps rows and the browser keeps its chart and
the reader's play position; a play axis can be titled by labels (the ReLU's cut); the chart's
element has a fixed height, which keeps it (and its play position) in fullscreen.

What the browser does with these specs is checked in tests/browser/test_scope_browser.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from lens.fourier import n_freqs
from ui.scope import (
    BINDINGS_PX,
    LINE_VIEWS,
    MAX_POINTS,
    Marker,
    chrome_height,
    element_height,
    point_count,
    scope_chart,
)

P = 13


def waves(n_play: int = P, p: int = P) -> dict[str, np.ndarray]:
    n = np.arange(p)
    grow = np.linspace(0.5, 3.0, n_play)[:, None]
    return {
        "cos": grow * np.cos(2 * np.pi * 3 * (n[None] - np.arange(n_play)[:, None] / 2) / p),
        "flat": np.broadcast_to(np.sin(2 * np.pi * n / p), (n_play, p)),
    }


def chart(view: str, data=None, **kw):
    marks = [Marker(2, "two"), Marker(3, "f = 3", "fourier")]
    caps = [f"slice {c}" for c in range(P)]
    return scope_chart(
        waves() if data is None else data,
        x_axis="n",
        play="c",
        view=view,
        markers=marks,
        captions=caps,
        title="T",
        fixed={"d": 1},
        y_title="signal",
        **kw,
    )


def info_row(ch) -> dict:
    return ch.datasets["info"].iloc[0].to_dict()


def test_the_line_views_share_one_spec_and_differ_in_their_rows():
    charts = {view: chart(view) for view in LINE_VIEWS}
    specs = {view: c.to_dict()["layer"] for view, c in charts.items()}
    assert specs["space"] == specs["fourier"] == specs["magnitude"]
    whole = {view: {k: v for k, v in c.vega_lite().items() if k != "datasets"} for view, c in charts.items()}
    assert whole["space"] == whole["fourier"] == whole["magnitude"]
    assert set(charts["space"].datasets) == set(charts["fourier"].datasets)  # the same names
    # Each view's points carry its code; each data layer keeps its own.
    codes = {view: set(c.datasets["points"]["view"]) for view, c in charts.items()}
    assert codes == {"space": {0}, "fourier": {1}, "magnitude": {2}}
    layers = specs["space"]
    kept = [t["filter"] for lyr in layers for t in lyr.get("transform", []) if "datum.view ==" in str(t)]
    assert kept == ["datum.view == 0", "datum.view == 1", "datum.view == 2"]
    # The x range and the axis titles are the view's, read from the info rows.
    k = n_freqs(P)
    assert {c: (info_row(ch)["x0"], info_row(ch)["x1"]) for c, ch in charts.items()} == {
        "space": (0.0, P - 1.0),
        "fourier": (-0.5, k + 0.5),
        "magnitude": (-0.5, k + 0.5),
    }
    titles = {view: (info_row(c)["xtitle"], info_row(c)["ytitle"]) for view, c in charts.items()}
    assert titles == {
        "space": ("n", "signal"),
        "fourier": ("frequency   (sin left, cos right)", "signal (amplitude)"),
        "magnitude": ("frequency", "|signal|"),
    }
    line = layers[1]  # after the markers' rule
    assert line["mark"]["type"] == "line"
    assert line["encoding"]["x"]["axis"]["title"] == {"signal": "data('info')[0].xtitle"}
    assert line["encoding"]["y"]["axis"]["title"] == {"signal": "data('info')[0].ytitle"}
    assert line["encoding"]["x"]["scale"]["domain"] == [
        {"expr": "data('info')[0].x0"},
        {"expr": "data('info')[0].x1"},
    ]
    # The y = 0 rule is drawn in the Fourier views only (one info row says so).
    assert [int(c.datasets["info"]["zero"].sum()) for c in charts.values()] == [0, 1, 1]
    # Markers follow the view in the data: the Fourier one only in the Fourier views.
    labels = {view: set(c.datasets["markers"]["label"]) for view, c in charts.items()}
    assert labels == {"space": {"two"}, "fourier": {"f = 3"}, "magnitude": {"f = 3"}}


def test_the_heatmap_keeps_a_spec_of_its_own():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((4, 5, P))
    heat = scope_chart(data, x_axis="n", row_axis="a", play="c", view="heatmap").to_dict()
    space = scope_chart(data[:, 0], x_axis="n", play="c").to_dict()
    assert heat["layer"][0]["mark"]["type"] == "rect" and heat["layer"] != space["layer"]


def test_the_line_views_keep_the_same_slices_when_the_budget_subsamples():
    """The magnitude view's fewer stems would fit more slices: it keeps those of the space
    view, so that the slider (its step, in the spec) does not change with the view."""
    data = {f"line {i}": np.random.default_rng(i).standard_normal((113, 113)) for i in range(4)}
    steps = {}
    for view in LINE_VIEWS:
        spec = scope_chart(data, x_axis="n", play="c", view=view).to_dict()
        (scrub,) = [p for p in spec["params"] if p["name"] == "play_c"]
        steps[view] = scrub["bind"]["step"]
        assert "every 2" in spec["title"]["text"]["expr"]
        assert point_count(spec) <= MAX_POINTS
    assert steps == {"space": 2, "fourier": 2, "magnitude": 2}


def test_play_labels_title_the_slice_shown():
    labels = [f"cut = {v:+.2f}" for v in np.linspace(-1, 1, P)]
    ch = chart("fourier", play_labels=labels)
    spec = ch.to_dict()
    row = "data('info')[(play_c - 0) / 1]"
    wide = f"[{row}.title, {row}.head + {row}.at, {row}.caption]"
    assert spec["title"]["text"]["expr"].endswith(f" : {wide}")
    info = ch.datasets["info"]
    assert list(info["at"]) == labels  # row c: the label of slice c
    assert set(info["head"]) == {"d = 1, "}  # no "c = ": the label stands for the index
    # Without labels the index itself follows the slider, as before.
    assert chart("fourier").to_dict()["title"]["text"]["expr"].count(".head + play_c") == 2  # wide, narrow
    assert [p["bind"]["name"] for p in spec["params"] if "bind" in p][0].strip() == "c"
    titled = chart("fourier", play_labels=labels, play_title="c step").to_dict()
    assert [p["bind"]["name"] for p in titled["params"] if "bind" in p][0].strip() == "c step"
    with pytest.raises(ValueError, match="play_labels"):
        chart("space", play_labels=labels[:-1])


def test_play_labels_follow_the_kept_slices():
    data = {f"line {i}": np.random.default_rng(i).standard_normal((113, 113)) for i in range(4)}
    labels = [f"at {i}" for i in range(113)]
    ch = scope_chart(data, x_axis="n", play="c", play_labels=labels)
    assert list(ch.datasets["info"]["at"]) == labels[::2]


def test_the_element_holds_the_chart_and_its_bindings():
    """A fixed element height: Streamlit sizes the chart by its container in the page and in
    fullscreen alike (a resize, no new chart); the chart fits it whole ("fit")."""
    ch = chart("space", height=300)
    spec = ch.to_dict()
    assert spec["autosize"] == {"type": "fit", "contains": "padding"}
    # title, index line, caption: three lines; two lines: a legend on top
    assert spec["height"] == 300 + chrome_height(3, True)
    assert element_height(ch) == spec["height"] + BINDINGS_PX
    still = scope_chart(np.zeros(P), x_axis="n", height=300)
    assert element_height(still) == still.spec["height"] == 300 + chrome_height(0, False)
    assert chrome_height(3, True) > chrome_height(1, False) > 0


def test_the_svg_of_a_line_view_has_its_axis_titles():
    """The axis titles are read from the info rows: the SVG export (vl-convert, from the same
    spec) writes them too."""
    from ui import export

    if not export.svg_available():
        pytest.skip("vl-convert is not installed")
    svg = export.svg_text(chart("fourier").vega_lite())
    assert "sin left, cos right" in svg and "signal (amplitude)" in svg
