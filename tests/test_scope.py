"""The tensor scope's chart specs (ui/scope.py), read through ``chart.to_dict()``.

Browser behaviour (the timer actually sweeping the slider) is checked in a real browser
elsewhere; here we check that the spec the browser receives says the right things.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pytest

from lens.fourier import basis_labels, n_freqs, to_fourier
from ui.scope import (
    MAX_POINTS,
    Marker,
    ScopeChart,
    fit_play_axis,
    play_param_name,
    point_count,
    scope_chart,
)
from ui.scope_codec import decoded

P = 13  # a small odd "p": fast, and every view still has several frequencies


@pytest.fixture(autouse=True)
def _no_row_limit():
    # Altair refuses to inline more than 5 000 rows in to_dict(); scoped to each test.
    with alt.data_transformers.disable_max_rows():
        yield


def waves(n_play: int = P, p: int = P, seed: int = 0) -> dict[str, np.ndarray]:
    """Two lines [play, x] whose amplitude grows along the play axis (ranges differ per slice)."""
    rng = np.random.default_rng(seed)
    n = np.arange(p)
    grow = np.linspace(0.5, 3.0, n_play)[:, None]
    return {
        "cos": grow * np.cos(2 * np.pi * 3 * (n[None] - np.arange(n_play)[:, None] / 2) / p),
        "noise": rng.standard_normal((n_play, p)),
    }


def spec_of(chart) -> dict:
    return chart.to_dict()


def layer_rows(spec: dict, i: int) -> list[dict]:
    # Altair hoists data shared by every layer to the top level.
    data = spec["layer"][i].get("data", spec.get("data"))
    return spec["datasets"][data["name"]]


def points(spec: dict, i: int) -> list[dict]:
    """The points layer ``i`` draws, every play slice, made as the browser makes them: each
    point of one slice (its ``i``, line, x, ...) finds the values row of that slice (play -1
    for a line the same on every slice) and decodes value ``i`` of it; ``play`` is the
    slice's play index."""
    layer = spec["layer"][i]
    (lookup,) = [t for t in layer["transform"] if "lookup" in t]
    assert lookup["from"]["key"] == "play" and lookup["from"]["fields"] == ["s", "lo", "q"]
    rows = decoded(spec["datasets"][lookup["from"]["data"]["name"]])
    base = layer_rows(spec, i)
    scrub = [q for q in spec.get("params", []) if q["name"].startswith("play_")]
    if scrub:
        bind = scrub[0]["bind"]
        plays = range(bind["min"], bind["max"] + 1, bind["step"])
    else:
        plays = [next(k for k in rows if k >= 0)]
    return [
        {**row, "play": play if scrub else None, "y": rows[play if row["moves"] else -1][row["i"]]}
        for play in plays
        for row in base
    ]


# What the browser draws differs from the data by float32 rounding and half a code step
# (the data's range / 36**5 / 2): well below a pixel, and below 1e-7 of the range.
RTOL, ATOL = 1e-6, 1e-6


def info(spec: dict) -> list[dict]:
    """The rows the title, the value range and the opening play index are read from."""
    return spec["datasets"]["info"]


def domain(spec: dict) -> list[float]:
    """The value range the browser reads for the data layers' y (or colour) scale."""
    y = spec["layer"][0]["encoding"].get("y", {})
    scale = y.get("scale") if "lo" in str(y.get("scale")) else spec["layer"][0]["encoding"]["color"]["scale"]
    assert scale["domain"] == [{"expr": "data('info')[0].lo"}, {"expr": "data('info')[0].hi"}]
    return [info(spec)[0]["lo"], info(spec)[0]["hi"]]


def opening(spec: dict) -> int:
    """The play index the chart opens on (read by the browser from the info dataset)."""
    return info(spec)[0]["start"]


def param(spec: dict, name: str) -> dict:
    matches = [p for p in spec.get("params", []) if p["name"] == name]
    assert matches, f"no param {name!r} in {[p['name'] for p in spec.get('params', [])]}"
    return matches[0]


# ----------------------------------------------------------------------------- play axis


def test_play_param_is_a_range_input_over_the_play_axis():
    spec = spec_of(scope_chart(waves(), x_axis="b", play="c", play_start=4))
    scrub = param(spec, "play_c")
    assert play_param_name("c") == "play_c"
    assert scrub["expr"] == "start_c" and opening(spec) == 4
    assert param(spec, "start_c")["expr"] == "data('info')[0].start"
    assert scrub["bind"]["input"] == "range"
    assert (scrub["bind"]["min"], scrub["bind"]["max"], scrub["bind"]["step"]) == (0, P - 1, 1)
    assert scrub["bind"]["name"].strip() == "c"  # the label names the axis


def test_play_checkbox_drives_a_vega_timer_on_the_play_param():
    spec = spec_of(scope_chart(waves(), x_axis="b", play="c", sweep_seconds=6.5))
    toggle = param(spec, "playing_c")
    assert toggle["bind"]["input"] == "checkbox" and toggle["value"] is False
    handler, follow = param(spec, "play_c")["on"]
    assert handler["events"]["type"] == "timer"
    # ...and a new opening index from the server moves the play index there.
    assert follow == {"events": {"signal": "start_c"}, "update": "start_c"}
    # A full pass of P slices takes about sweep_seconds.
    assert handler["events"]["throttle"] * P == pytest.approx(6500, rel=0.1)
    # Advances only while playing, wraps from the last index to the first.
    assert handler["update"].startswith("playing_c ?")
    assert f"> {P - 1} ? 0" in handler["update"]


def test_autoplay_ticks_the_checkbox():
    spec = spec_of(scope_chart(waves(), x_axis="b", play="c", autoplay=True))
    assert param(spec, "playing_c")["value"] is True


def test_timer_survives_altair_copies():
    # .properties() copies the chart; the handler lives in usermeta, so it must survive.
    chart = scope_chart(waves(), x_axis="b", play="c").properties(height=200)
    assert isinstance(chart, ScopeChart)
    assert "on" in param(chart.to_dict(), "play_c")


def test_every_data_layer_follows_the_play_param():
    m = [[Marker(c / 2, "c/2")] for c in range(P)]
    spec = spec_of(scope_chart(waves(), x_axis="b", play="c", markers=m))
    for layer in spec["layer"]:
        if layer["data"]["name"] == "info":
            # read by expressions and drawn by nothing, or the y = 0 rule (of no slice)
            assert layer["mark"].get("opacity") == 0 or layer["transform"] == [{"filter": "datum.zero"}]
            continue
        steps = layer.get("transform", [])
        assert {"filter": "datum.play == play_c || datum.play < 0"} in steps or any(
            "play_c" in t.get("calculate", "") for t in steps
        )


def test_a_line_the_same_on_every_slice_is_sent_once():
    data = waves()
    data["flat"] = np.broadcast_to(data["cos"][:1], data["cos"].shape)  # e.g. an input beside its outputs
    spec = spec_of(scope_chart(data, x_axis="b", play="c"))
    # two moving lines, one sent once, the points, the info rows
    assert point_count(spec) == 2 * P * P + P + 3 * P + P
    got = {(r["line"], r["play"], r["x"]): r["y"] for r in points(spec, 0)}
    for c in (0, 6, P - 1):
        np.testing.assert_allclose([got[("flat", c, x)] for x in range(P)], data["cos"][0], RTOL, ATOL)
        np.testing.assert_allclose([got[("noise", c, x)] for x in range(P)], data["noise"][c], RTOL, ATOL)


def test_markers_the_same_on_every_slice_are_sent_once_and_never_filtered():
    spec = spec_of(scope_chart(waves(), x_axis="b", play="c", markers=[Marker(3, "three")]))
    rule = spec["layer"][0]
    assert rule["mark"]["type"] == "rule" and len(layer_rows(spec, 0)) == 1
    assert layer_rows(spec, 0)[0]["play"] == -1  # shown on every slice


def test_no_play_axis_means_no_params_and_no_filter():
    spec = spec_of(scope_chart(waves()["cos"][0], x_axis="a"))
    assert "params" not in spec
    # no filter but the one by which each layer keeps the points of its view
    view_filters = [{"filter": f"datum.view == {code}"} for code in range(3)] + [{"filter": "datum.zero"}]
    assert not any(
        "filter" in t and t not in view_filters for layer in spec["layer"] for t in layer.get("transform", [])
    )
    assert len(points(spec, 0)) == P


def test_a_scrub_step_looks_up_one_slice_instead_of_filtering_every_point():
    """A scrub step computes one key per point drawn and looks the values up (a hash join):
    Streamlit's Vega evaluates every expression with an interpreter, so no step may visit
    every point of every slice."""
    spec = spec_of(scope_chart(waves(), x_axis="b", play="c"))
    keep, *steps = spec["layer"][0]["transform"]
    assert keep == {"filter": "datum.view == 0"}  # the space view's points: filtered once, not per step
    assert steps[0] == {"calculate": "datum.moves ? play_c : -1", "as": "k"}
    assert steps[1]["lookup"] == "k" and steps[1]["from"]["key"] == "play"
    assert "parseInt(substring(datum.s" in steps[2]["calculate"] and steps[2]["as"] == "code"
    assert steps[3]["as"] == "y"
    assert not any("filter" in t for t in steps)
    assert len(spec["datasets"]["values"]) == P  # one row of values per slice
    assert len(layer_rows(spec, 0)) == 2 * P  # the points of one slice
    # every slice's values, one slice's points, one info row per slice
    assert point_count(spec) == 2 * P * P + 2 * P + P


# ----------------------------------------------------------------------------- values, views


def test_space_view_sends_the_points_of_a_slice_and_the_values_of_all():
    data = waves()
    spec = spec_of(scope_chart(data, x_axis="b", play="c"))
    assert set(layer_rows(spec, 0)[0]) == {"i", "moves", "line", "x", "view"}  # only what the marks need
    got = {(r["line"], r["play"], r["x"]): r["y"] for r in points(spec, 0)}
    for name, arr in data.items():
        for c in (0, 7, P - 1):
            np.testing.assert_allclose([got[(name, c, x)] for x in range(P)], arr[c], RTOL, ATOL)
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domain"] == ["cos", "noise"]
    assert spec["layer"][0]["mark"]["type"] == "line"


def test_y_domain_is_global_over_all_slices():
    data = waves()
    spec = spec_of(scope_chart(data, x_axis="b", play="c"))
    lo = min(v.min() for v in data.values())
    hi = max(v.max() for v in data.values())
    scale = spec["layer"][0]["encoding"]["y"]["scale"]
    assert domain(spec) == pytest.approx([lo, hi])
    assert scale["nice"] is False  # a nice domain would still be fixed, but not the data's
    # ...which is wider than the opening slice's own range.
    assert hi > max(v[0].max() for v in data.values())


def test_y_domain_from_the_caller_wins():
    spec = spec_of(scope_chart(waves(), x_axis="b", play="c", y_domain=(-10.0, 10.0)))
    assert domain(spec) == [-10.0, 10.0]


def test_fourier_view_labels_and_amplitudes_match_lens_fourier():
    data = waves()
    spec = spec_of(scope_chart(data, x_axis="b", play="c", view="fourier"))
    rows = points(spec, 0)
    for name, arr in data.items():
        for c in (0, 5, P - 1):
            sel = [r for r in rows if r["line"] == name and r["play"] == c]
            assert [r["component"] for r in sel] == basis_labels(P)
            np.testing.assert_allclose([r["y"] for r in sel], to_fourier(arr[c]), rtol=1e-5, atol=1e-6)
    # x positions sit at the frequency: sin f left of f, cos f right of it.
    one = [r for r in rows if r["line"] == "cos" and r["play"] == 0]
    for r in one:
        f = 0 if r["component"] == "const" else int(r["component"].split()[1])
        assert abs(r["x"] - f) < 0.5
        if r["component"] != "const":
            assert (r["x"] < f) if r["component"].startswith("sin") else (r["x"] > f)
    lo = min(to_fourier(v).min() for v in data.values())
    hi = max(to_fourier(v).max() for v in data.values())
    assert domain(spec) == pytest.approx([min(lo, 0), hi])


def test_magnitude_view_has_one_value_per_frequency():
    arr = waves()["cos"]
    spec = spec_of(scope_chart(arr, x_axis="b", play="c", view="magnitude"))
    rows = [r for r in points(spec, 0) if r["play"] == 2]
    assert [round(r["x"]) for r in rows] == list(range(n_freqs(P) + 1))
    amp = to_fourier(arr[2])
    expected = [abs(amp[0])] + [np.hypot(amp[2 * f - 1], amp[2 * f]) for f in range(1, n_freqs(P) + 1)]
    np.testing.assert_allclose([r["y"] for r in rows], expected, rtol=1e-5, atol=1e-6)
    assert domain(spec)[0] == 0.0


def test_missing_values_are_gaps_not_the_range():
    """A NaN or an infinity in the data is sent as a missing value (the browser draws a gap)
    and leaves the value range and every other value alone."""
    data = waves()["cos"].copy()
    data[3, 4], data[5, 0], data[5, 1] = np.nan, np.inf, -np.inf
    spec = spec_of(scope_chart(data, x_axis="b", play="c"))
    got = {(r["play"], r["x"]): r["y"] for r in points(spec, 0)}
    assert np.isnan(got[(3, 4)]) and np.isnan(got[(5, 0)]) and np.isnan(got[(5, 1)])
    assert got[(3, 5)] == pytest.approx(data[3, 5], rel=RTOL, abs=ATOL)
    finite = data[np.isfinite(data)]
    assert domain(spec) == pytest.approx([finite.min(), finite.max()])
    (decode,) = [t for t in spec["layer"][0]["transform"] if t.get("as") == "y"]
    assert decode["calculate"].startswith("datum.code == ") and "? null :" in decode["calculate"]


def test_fourier_views_need_a_token_axis():
    with pytest.raises(ValueError, match="token axis"):
        scope_chart(np.zeros((4, 2)), play="head", view="fourier")


# ----------------------------------------------------------------------------- markers, captions


def test_markers_are_per_play_slice_and_per_view():
    def marks(c: int) -> list[Marker]:
        return [Marker(c / 2, "c/2"), Marker(c / 2 + P / 2, "c/2 + p/2"), Marker(3, "f = 3", "fourier")]

    per_slice = [marks(c) for c in range(P)]
    spec = spec_of(scope_chart(waves(), x_axis="b", play="c", markers=per_slice))
    # rules under the data (the line, the two views' stems, the y = 0 rule), labels over it
    rule, line, _stems, _magnitude, _zero, left, right, hidden = spec["layer"]
    assert rule["mark"]["type"] == "rule" and line["mark"]["type"] == "line"
    assert left["mark"]["type"] == right["mark"]["type"] == "text"
    assert left["encoding"]["text"]["field"] == "label"
    assert not any("calculate" in t for t in left["transform"])  # placed on the server
    rows = layer_rows(spec, 0)
    assert {(r["play"], r["x"], r["label"]) for r in rows} == {
        (c, x, lbl) for c in range(P) for x, lbl in [(c / 2, "c/2"), (c / 2 + P / 2, "c/2 + p/2")]
    }  # the Fourier marker is not drawn in the space view

    fspec = spec_of(scope_chart(waves(), x_axis="b", play="c", view="fourier", markers=per_slice))
    assert {r["label"] for r in layer_rows(fspec, 0)} == {"f = 3"}


def test_caption_follows_the_play_index():
    caps = [f"symmetric about {c / 2:g}" for c in range(P)]
    spec = spec_of(scope_chart(waves(), x_axis="b", play="c", captions=caps, title="T", fixed={"d_model": 3}))
    expr = spec["title"]["text"]["expr"]
    row = "data('info')[(play_c - 0) / 1]"
    wide = f"[{row}.title, {row}.head + play_c, {row}.caption]"
    # On a plot narrower than the row's longest line (wrap_px), phone-width lines: a phone.
    narrow = f"split({row}.title_w + '\\n' + {row}.head + play_c + '\\n' + {row}.caption_w, '\\n')"
    assert expr == f"width < {row}.wrap_px ? {narrow} : {wide}"
    assert {r["title"] for r in info(spec)} == {"T"}
    assert [r["caption"] for r in info(spec)] == caps  # the caption of slice c is on row c
    assert {r["head"] for r in info(spec)} == {"d_model = 3, c = "}


def test_long_title_and_caption_lines_wrap_to_a_phones_width_on_a_narrow_plot():
    from ui.theme import WRAP_CHARS, text_px

    title = "W_E for one residual dimension, over the number tokens"
    caps = [
        f"row {c} holds ({c}, 7), row 7 holds (7, {c}); mirror points {c / 2:g} and more" for c in range(P)
    ]
    spec = spec_of(scope_chart(waves(), x_axis="b", play="c", title=title, captions=caps))
    rows = info(spec)
    assert {r["title_w"] for r in rows} == {"W_E for one residual dimension,\nover the number tokens"}
    for r, cap in zip(rows, caps, strict=True):
        lines = r["caption_w"].split("\n")
        assert " ".join(lines) == cap and all(len(line) <= WRAP_CHARS for line in lines)
        assert r["wrap_px"] == max(text_px(title), text_px(cap))
    # Wider than a phone's plot (~300 px) and narrower than a laptop's: only a phone wraps it.
    assert 300 < text_px(title) < 700


def test_static_caption_without_play_axis():
    spec = spec_of(scope_chart(waves()["cos"][0], x_axis="a", captions="hello", fixed={"d_model": 1}))
    assert spec["title"]["text"]["expr"].endswith(" : [data('info')[0].head, data('info')[0].caption]")
    assert [(r["head"], r["caption"]) for r in info(spec)] == [("d_model = 1", "hello")]


# ----------------------------------------------------------------------------- heatmap


def test_heatmap_uses_rects_with_a_fixed_colour_domain_and_a_play_axis():
    rng = np.random.default_rng(1)
    data = rng.standard_normal((4, P, P))  # [head, a, b]
    spec = spec_of(scope_chart(data, x_axis="b", row_axis="a", play="head", view="heatmap"))
    rect = spec["layer"][0]
    assert rect["mark"]["type"] == "rect"
    # one cell per (row, x): edges at +-0.5, rows top to bottom
    assert (rect["encoding"]["x"]["field"], rect["encoding"]["x2"]["field"]) == ("x0", "x1")
    assert rect["encoding"]["y"]["scale"]["reverse"] is True
    assert {"calculate": "datum.x - 0.5", "as": "x0"} in rect["transform"]
    m = np.abs(data).max()
    assert domain(spec) == pytest.approx([-m, m])
    assert rect["encoding"]["color"]["scale"]["scheme"] == "blueorange"
    assert len(layer_rows(spec, 0)) == P * P  # the cells of one slice
    rows = points(spec, 0)
    assert len(rows) == data.size
    got = {(r["play"], r["row"], r["x"]): r["y"] for r in rows}
    assert got[(2, 5, 7)] == pytest.approx(data[2, 5, 7], rel=RTOL, abs=ATOL)
    assert param(spec, "play_head")["bind"]["max"] == 3


def test_heatmap_draws_one_array():
    with pytest.raises(ValueError, match="one array"):
        scope_chart({"x": np.zeros((P, P)), "y": np.zeros((P, P))}, view="heatmap")


# ----------------------------------------------------------------------------- budget


def test_budget_subsamples_the_play_axis_with_a_stride():
    data = {f"line {i}": np.random.default_rng(i).standard_normal((113, 113)) for i in range(4)}
    assert point_count(data) > MAX_POINTS  # 4 x 113 x 113 = 51 076
    chart = scope_chart(data, x_axis="b", play="c", play_start=5)
    assert point_count(chart) <= MAX_POINTS
    spec = chart.to_dict()
    assert point_count(spec) == point_count(chart)
    scrub = param(spec, "play_c")
    # The kept slices do not depend on the opening one (the spec must not); it snaps to the nearest.
    assert scrub["bind"]["step"] == 2 and opening(spec) == 4
    plays = sorted({r["play"] for r in points(spec, 0)})
    assert plays == list(range(0, 113, 2))
    assert "every 2" in spec["title"]["text"]["expr"]


def test_budget_raises_when_subsampling_is_refused_or_one_slice_is_too_big():
    data = {f"line {i}": np.zeros((113, 113)) for i in range(4)}
    with pytest.raises(ValueError, match="subsample"):
        scope_chart(data, x_axis="b", play="c", subsample=False)
    with pytest.raises(ValueError, match="one slice"):
        scope_chart(np.zeros((2, 300, 300)), play="head", view="heatmap")


def test_fit_play_axis():
    assert list(fit_play_axis(10, 100, max_points=1000)) == list(range(10))
    kept = fit_play_axis(113, 1000, start=40, max_points=50_000)
    assert len(kept) <= 50 and 40 in kept and len(set(np.diff(kept))) == 1


# ----------------------------------------------------------------------------- the wrapper


def _scope_app():
    import numpy as np

    from ui.scope_widget import show_scope

    x = np.arange(4 * 5 * 13, dtype=float).reshape(4, 5, 13)  # [d_model, c, a]
    show_scope(x, ("d_model", "c", "a"), key="t", play="c", start={"d_model": 2, "c": 3})


def _chart(at) -> tuple[dict, list]:
    import json

    import pyarrow as pa

    (el,) = [e for e in at.main if e.type == "vega_lite_chart"]
    frames = [pa.ipc.open_stream(d.data.data).read_pandas() for d in el.proto.datasets]
    return json.loads(el.proto.spec), frames


def test_show_scope_keys_slices_and_ships_the_timer():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_scope_app, default_timeout=30).run()
    assert not at.exception
    # Only the non-play axis is a Streamlit slider, keyed f"{key}.{axis}", labelled by axis.
    assert [(s.key, s.label, s.value) for s in at.slider] == [("t.d_model", "d_model", 2)]
    assert at.button_group(key="t.view").value == "space"
    spec, frames = _chart(at)
    assert "on" in param(spec, "play_c")  # reached st.vega_lite_chart
    (values,) = [decoded(f) for f in frames if "s" in f]
    (info_rows,) = [f for f in frames if "start" in f]
    assert set(info_rows["start"]) == {3}
    x = np.arange(4 * 5 * 13, dtype=float).reshape(4, 5, 13)
    assert sorted(values) == list(range(5))  # every slice along c, 13 points each
    np.testing.assert_allclose(values[4], x[2, 4], RTOL, ATOL)
    # The y range is global over the whole tensor, not over the d_model = 2 slice.
    assert [info_rows["lo"][0], info_rows["hi"][0]] == [0.0, x.max()]

    at.slider(key="t.d_model").set_value(1).run()
    after, frames = _chart(at)
    assert after == spec  # a server slider swaps the data; the browser keeps the chart
    (values,) = [decoded(f) for f in frames if "s" in f]
    np.testing.assert_allclose(values[0], x[1, 0], RTOL, ATOL)
    (info_rows,) = [f for f in frames if "start" in f]
    assert info_rows["head"][0] == "d_model = 1, c = "

    at.button_group(key="t.view").set_value("magnitude").run()
    assert not at.exception
    spec_magnitude, frames = _chart(at)
    # The line views share one spec: a change of view swaps the rows (the browser keeps the
    # chart and the play position), and the magnitude view's points are drawn by its stems.
    assert spec_magnitude == after
    (pts,) = [f for f in frames if "moves" in f]
    assert set(pts["view"]) == {2} and len(pts) == n_freqs(13) + 1


def _heatmap_app():
    import numpy as np

    from ui.scope_widget import show_scope

    show_scope(np.zeros((2, 5, 7)), ("head", "a", "b"), key="h", heatmap=True, x_title="b", y_title="a")


def test_show_scope_heatmap_opens_as_heatmap_and_y_title_naming_the_rows_titles_the_rows():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_heatmap_app, default_timeout=30).run()
    assert not at.exception
    assert at.button_group(key="h.view").value == "heatmap"
    assert [s.key for s in at.slider] == ["h.head"]
    spec, frames = _chart(at)
    rect = spec["layer"][0]
    assert rect["mark"]["type"] == "rect"
    assert rect["encoding"]["y"]["axis"]["title"] == "a"
    assert rect["encoding"]["color"]["legend"]["title"] == "value"
    (cells,) = [f for f in frames if "row" in f]
    assert len(cells) == 5 * 7


# ----------------------------------------------------------------------------- the spec itself


@pytest.mark.parametrize("view", ["space", "fourier", "magnitude"])
@pytest.mark.parametrize("play", ["c", None])
def test_specs_are_valid_vega_lite(view, play):
    """The scope writes its spec as a dict (no Altair objects): check it against the schema."""
    data = waves() if play else {k: v[0] for k, v in waves().items()}
    marks = [Marker(2, "two", "any")]
    chart = scope_chart(data, x_axis="b", play=play, view=view, markers=marks, captions="c", title="T")
    chart.to_dict(validate=True)


def test_heatmap_specs_are_valid_vega_lite():
    rng = np.random.default_rng(2)
    scope_chart(
        rng.standard_normal((3, 5, P)), x_axis="b", row_axis="a", play="head", view="heatmap"
    ).to_dict(validate=True)
    scope_chart(rng.standard_normal((5, P)), x_axis="b", row_axis="a", view="heatmap").to_dict(validate=True)


def test_validation_catches_a_broken_spec():
    from ui.scope import validate_spec

    spec = scope_chart(waves()["cos"][0], x_axis="a").to_dict()
    with pytest.raises(Exception, match="mark|layer|valid"):
        validate_spec({**spec, "layer": [{"mark": "no-such-mark"}]})


def test_scope_draws_on_a_canvas_without_per_item_aria():
    """A scrub step repaints one canvas; no ARIA description is formatted per item per step."""
    spec = spec_of(scope_chart(waves(), x_axis="b", play="c"))
    assert spec["usermeta"]["embedOptions"]["renderer"] == "canvas"
    assert spec["config"]["mark"]["aria"] is False
    assert spec["config"]["legend"]["labelLimit"] == 0  # legend names are never cut


def test_a_short_axis_title_stands_upright():
    spec = spec_of(scope_chart(np.zeros((5, P)), x_axis="b", row_axis="a", view="heatmap"))
    y = spec["layer"][0]["encoding"]["y"]["axis"]
    assert y["title"] == "a" and y["titleAngle"] == 0 and y["titleFontSize"] > y["labelFontSize"]


def _one_view_app():
    import numpy as np

    from ui.scope_widget import show_scope

    show_scope(np.zeros((3, 13)), ("c", "n"), key="one", play="c", fourier=False)


def test_no_view_control_when_only_one_view_applies():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_one_view_app, default_timeout=30).run()
    assert not at.exception
    assert not at.get("button_group")  # a segmented control with one option would only puzzle
    assert len(_chart(at)[1]) >= 2


def test_marker_labels_never_overlap_on_a_narrow_plot():
    """The ReLU sweep's crowded markers (f₁, f₂, their sum, difference and harmonics, some a
    frequency apart): every label gets a row where its box touches no other, on the
    narrowest plot a scope is drawn at; rows are added as needed, not cycled."""
    from ui.scope_tables import LABEL_CHAR_PX, LABEL_PAD_PX, NARROW_PLOT_PX, label_rows

    x = np.array([3, 4, 5, 14, 15, 28, 29, 35, 42, 49, 50, 53])
    labels = ["|f₁ − f₂| = 3", "f = 4", "f = 5", "f₁ = 14", "f = 15", "2f₁ = 28", "f = 29"]
    labels += ["f₂ = 35", "3f₁ = 42", "f₁+f₂ = 49", "f = 50", "2f₂ = 53"]
    x_max = 56
    right = x > 0.8 * x_max
    rows = label_rows(x.astype(float), labels, right, x_max)
    per_unit = NARROW_PLOT_PX / x_max
    boxes = []
    for xi, text, r, row in zip(x, labels, right, rows, strict=True):
        w = LABEL_CHAR_PX * len(text) + LABEL_PAD_PX
        lo = xi * per_unit - w if r else xi * per_unit
        boxes.append((int(row), lo, lo + w))
    for i, (ri, a0, a1) in enumerate(boxes):
        for rj, b0, b1 in boxes[i + 1 :]:
            assert ri != rj or a1 <= b0 or b1 <= a0, (boxes[i], (rj, b0, b1))
    assert rows.max() >= 3  # more than the old three cycled rows were needed here
    # Far apart, every label keeps the top row.
    assert label_rows(np.array([0.0, 30.0]), ["a", "b"], np.array([False, False]), 56).tolist() == [0, 0]
