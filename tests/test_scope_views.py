"""The scope's view toggle (ui/scope.py, ``views=``): every line view in one chart, switched
by a Vega parameter bound to a radio, each view drawing what its one-view chart draws.

The browser side (a switch reruns nothing, keeps the scrub and the sweep, and matches the
one-view chart pixel for pixel) is in tests/browser/test_view_toggle_browser.py.
"""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pytest
from test_scope import P, decoded, info, param, waves

from lens.fourier import n_freqs, to_fourier
from ui.scope import AXIS_DEFAULTS, LINE_VIEWS, MAX_POINTS, VIEW_PARAM, Marker, point_count, scope_chart


@pytest.fixture(autouse=True)
def _no_row_limit():
    with alt.data_transformers.disable_max_rows():
        yield


KEYED = f"[{VIEW_PARAM}]"


def toggled(**kw) -> dict:
    """A chart holding every line view, opening on ``kw["view"]`` (default space)."""
    data = kw.pop("data", None)
    return scope_chart(waves() if data is None else data, views=LINE_VIEWS, **kw).to_dict()


def shown_as(spec: dict, view: str) -> dict:
    """A chart that holds several views, as the browser draws it with ``view`` shown: that
    view's layers (its filter on the view parameter dropped), every expression keyed by the
    parameter evaluated, its datasets and value range under the one-view names, the toggle
    gone; axis properties a view leaves out compared as their defaults. Everything else is
    kept, so what differs from the one-view chart shows."""
    names = {f"{role}_{view}": role for role in ("points", "values", "markers")}
    keyed_range = {f"['{end}_' + {VIEW_PARAM}]": f".{end}" for end in ("lo", "hi")}

    def sub(x):
        if isinstance(x, dict):
            if set(x) == {"expr"} and x["expr"].startswith("{") and x["expr"].endswith(KEYED):
                return json.loads(x["expr"][: -len(KEYED)])[view]
            if set(x) == {"expr"}:
                expr = x["expr"]
                for k, v in keyed_range.items():
                    expr = expr.replace(k, v)
                return {"expr": expr}
            if "name" in x and x["name"] in names:
                x = {**x, "name": names[x["name"]]}
            return {k: sub(v) for k, v in x.items()}
        return [sub(v) for v in x] if isinstance(x, list) else x

    mine = {"filter": f'{VIEW_PARAM} == "{view}"'}
    layers = []
    for layer in spec["layer"]:
        steps = layer.get("transform", [])
        if steps and VIEW_PARAM in str(steps[0]):
            if steps[0] != mine:
                continue
            layer = {k: v for k, v in layer.items() if k != "transform"}
            if steps[1:]:
                layer["transform"] = steps[1:]
        layer = sub(layer)
        for ch in ("x", "y"):
            ax = layer.get("encoding", {}).get(ch, {}).get("axis")
            for k, default in AXIS_DEFAULTS.items():
                if isinstance(ax, dict) and ax.get(k) == default:
                    del ax[k]
        layers.append(layer)
    out = {
        k: sub(v) for k, v in spec.items() if k not in ("layer", "datasets", "params", "usermeta", "autosize")
    }
    out["layer"] = layers
    out["autosize"] = {k: v for k, v in spec["autosize"].items() if k != "resize"}
    out["datasets"] = {names[k]: v for k, v in spec["datasets"].items() if k in names}
    out["datasets"]["info"] = [
        {
            **{k: v for k, v in r.items() if not k.startswith(("lo_", "hi_"))},
            "lo": r[f"lo_{view}"],
            "hi": r[f"hi_{view}"],
        }
        for r in spec["datasets"]["info"]
    ]
    if params := [q for q in spec.get("params", []) if q["name"] != VIEW_PARAM]:
        out["params"] = params
    scope = {
        k: v
        for k, v in spec["usermeta"].get("scope", {}).items()
        if k not in ("view_param", "views", "axis_titles")
    }
    out["usermeta"] = {**spec["usermeta"], **({"scope": scope} if scope else {})}
    if not scope:
        out["usermeta"].pop("scope", None)
    return out


def canonical(spec: dict) -> dict:
    return json.loads(json.dumps(spec, sort_keys=True, default=float))


def test_the_view_is_a_radio_inside_the_chart():
    spec = toggled(x_axis="b", play="c", view="fourier")
    (radio,) = [q for q in spec["params"] if q["name"] == VIEW_PARAM]
    assert radio["value"] == "fourier"  # the opening view, from the server
    assert radio["bind"] == {
        "input": "radio",
        "options": ["space", "fourier", "magnitude"],
        "labels": ["space", "Fourier", "magnitude"],
        "name": "view ",
    }
    assert [q["name"] for q in spec["params"]][:2] == [VIEW_PARAM, "start_c"]  # the radio first
    assert spec["autosize"]["resize"] is True  # laid out again when the axes change
    # Every data layer of every view sits behind its view's filter, before anything else.
    for layer in spec["layer"][:-1]:
        assert layer["transform"][0]["filter"].startswith(f"{VIEW_PARAM} == ")
    assert spec["layer"][-1]["data"]["name"] == "info"


def test_every_view_ships_its_values_and_reads_its_own_range():
    data = waves()
    spec = toggled(data=data, x_axis="b", play="c")
    assert {"values_space", "values_fourier", "values_magnitude"} <= set(spec["datasets"])
    got = decoded(spec["datasets"]["values_magnitude"])
    amp = to_fourier(data["cos"][7])
    mag = [abs(amp[0])] + [np.hypot(amp[2 * f - 1], amp[2 * f]) for f in range(1, n_freqs(P) + 1)]
    np.testing.assert_allclose(got[7][: n_freqs(P) + 1], mag, rtol=1e-5, atol=1e-5)
    row = info(spec)[0]
    lo = min(to_fourier(v).min() for v in data.values())
    assert row["lo_fourier"] == pytest.approx(min(lo, 0)) and row["lo_magnitude"] == 0.0
    assert row["lo_space"] == pytest.approx(min(v.min() for v in data.values()))
    y = spec["layer"][0]["encoding"]["y"]["scale"]["domain"]
    assert y == [
        {"expr": f"data('info')[0]['lo_' + {VIEW_PARAM}]"},
        {"expr": f"data('info')[0]['hi_' + {VIEW_PARAM}]"},
    ]


def test_markers_show_only_in_their_views():
    marks = [Marker(2, "space only"), Marker(3, "f = 3", "fourier"), Marker(1, "both", "any")]
    spec = toggled(x_axis="b", play="c", markers=marks)
    assert {r["label"] for r in spec["datasets"]["markers_space"]} == {"space only", "both"}
    assert {r["label"] for r in spec["datasets"]["markers_fourier"]} == {"f = 3", "both"}
    assert {r["label"] for r in spec["datasets"]["markers_magnitude"]} == {"f = 3", "both"}
    for layer in spec["layer"]:
        if layer.get("data", {}).get("name", "").startswith("markers_"):
            view = layer["data"]["name"].split("_", 1)[1]
            assert layer["transform"][0] == {"filter": f'{VIEW_PARAM} == "{view}"'}


def test_axis_titles_follow_the_view_in_the_spec_handed_out():
    chart = scope_chart(waves(), x_axis="b", play="c", y_title="W_E", views=LINE_VIEWS)
    handed = chart.vega_lite()
    y = handed["layer"][0]["encoding"]["y"]["axis"]
    assert json.loads(y["title"]["expr"][: -len(KEYED)]) == {
        "space": "W_E",
        "fourier": "W_E (amplitude)",
        "magnitude": "|W_E|",
    }
    # The short space title stands upright and larger; the others lie along the axis.
    assert json.loads(y["titleAngle"]["expr"][: -len(KEYED)]) == {
        "space": 0,
        "fourier": -90,
        "magnitude": -90,
    }
    # The schema wants text: the spec validated holds the opening view's title.
    assert chart.spec["layer"][0]["encoding"]["y"]["axis"]["title"] == "W_E"
    assert isinstance(chart.to_dict(validate=True)["layer"][0]["encoding"]["x"]["axis"]["title"], dict)


@pytest.mark.parametrize("opening", LINE_VIEWS)
@pytest.mark.parametrize("play", ["c", None])
def test_each_view_of_a_toggled_chart_is_that_views_own_chart(opening, play):
    """Switched to, each view draws what its one-view chart draws: the same layers (the same
    marks, encodings, axes and scales), values, markers, range and title. (In a real
    browser, pixel for pixel: tests/browser/test_view_toggle_browser.py.)"""
    data = waves() if play else {k: v[0] for k, v in waves().items()}
    per_slice = [
        [Marker(c / 2, "c/2"), Marker(3, "f = 3", "fourier"), Marker(1, "one", "any")] for c in range(P)
    ]
    marks = per_slice if play else per_slice[0]
    kw = dict(x_axis="b", play=play, y_title="W_E", markers=marks, captions="cap", title="T", fixed={"d": 1})
    spec = toggled(data=data, view=opening, **kw)
    for view in LINE_VIEWS:
        alone = scope_chart(data, view=view, **kw).to_dict()
        assert canonical(shown_as(spec, view)) == canonical(alone), view


@pytest.mark.parametrize("opening", LINE_VIEWS)
def test_toggled_specs_are_valid_vega_lite(opening):
    marks = [Marker(2, "two", "any"), Marker(3, "three", "fourier")]
    scope_chart(
        waves(), x_axis="b", play="c", view=opening, views=LINE_VIEWS, markers=marks, captions="c", title="T"
    ).to_dict(validate=True)


def test_validation_sets_aside_only_what_the_scope_declares():
    """The spec handed out (timers in, axis titles as expressions) validates once what its
    usermeta declares is set aside; an expression title it does not declare still fails."""
    from ui.scope import validate_spec

    spec = scope_chart(waves(), x_axis="b", play="c", views=LINE_VIEWS).to_dict()
    validate_spec(spec)
    broken = json.loads(json.dumps(spec))
    (i, layer) = next(
        (i, lyr) for i, lyr in enumerate(broken["layer"]) if "axis" in lyr.get("encoding", {}).get("x", {})
    )
    layer["encoding"]["x"]["axis"]["title"] = {"expr": "'undeclared'"}
    with pytest.raises(Exception, match="title|valid"):
        validate_spec(broken)


def test_the_budget_counts_every_view_shipped():
    one = point_count(scope_chart(waves(), x_axis="b", play="c"))
    every = point_count(scope_chart(waves(), x_axis="b", play="c", views=LINE_VIEWS))
    k = n_freqs(P) + 1  # magnitude: frequencies 0..P // 2
    # the Fourier and magnitude values of every slice, their points, their y = 0 baselines
    assert every - one == P * 2 * (P + k) + 2 * (P + k) + 2
    data = {f"line {i}": np.random.default_rng(i).standard_normal((113, 113)) for i in range(2)}
    spec = scope_chart(data, x_axis="b", play="c", views=LINE_VIEWS).to_dict()
    assert point_count(spec) <= MAX_POINTS and param(spec, "play_c")["bind"]["step"] == 2


def test_the_heatmap_does_not_switch_in_the_browser():
    with pytest.raises(ValueError, match="line views"):
        scope_chart(np.zeros((5, P)), row_axis="a", view="heatmap", views=("heatmap", "space"))
    with pytest.raises(ValueError, match="opening view"):
        scope_chart(waves(), play="c", view="space", views=("fourier", "magnitude"))
