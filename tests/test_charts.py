"""ui/charts.py: the pages' own Altair charts as styled Vega-Lite dicts."""

from __future__ import annotations

import json
import pickle
import re

import altair as alt
import numpy as np
import pandas as pd
import pytest

from ui.charts import ARIA_ROWS, spec, with_layer
from ui.theme import FONT


def _bars(n: int = 5) -> alt.Chart:
    df = pd.DataFrame(
        {"f": np.arange(n), "share": np.linspace(0, 1, n), "kind": ["x", "y"] * (n // 2) + ["x"] * (n % 2)}
    )
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(x=alt.X("f:Q", title="frequency"), y=alt.Y("share:Q", title="a"), color="kind:N")
        .properties(height=200)
    )


def test_data_stay_dataframes_under_content_names():
    out = spec(_bars())
    (name,) = out["datasets"]
    assert isinstance(out["datasets"][name], pd.DataFrame) and len(out["datasets"][name]) == 5
    assert out["data"] == {"name": name} and name.startswith("data-")
    assert spec(_bars())["datasets"].keys() == out["datasets"].keys()  # same data, same name
    assert spec(_bars(6))["datasets"].keys() != out["datasets"].keys()


def test_a_large_frame_is_not_refused_and_not_turned_into_records():
    big = pd.DataFrame({"a": np.arange(20_000) % 113, "b": np.arange(20_000) // 113})
    out = spec(alt.Chart(big).mark_rect().encode(x="b:O", y="a:O"))
    assert len(next(iter(out["datasets"].values()))) == 20_000
    assert out["config"]["mark"]["aria"] is False  # no per-item ARIA text for thousands of marks
    assert len(big) > ARIA_ROWS


def test_one_look_on_every_axis_and_legend():
    out = spec(_bars())
    enc = out["encoding"]
    assert enc["x"]["axis"]["labelFontSize"] == FONT and enc["x"]["axis"]["titleFontSize"] == FONT + 1
    # a one-letter y title is larger and upright
    assert enc["y"]["axis"]["titleAngle"] == 0 and enc["y"]["axis"]["titleFontSize"] == FONT + 4
    assert enc["color"]["legend"]["labelFontSize"] == FONT and enc["color"]["legend"]["labelLimit"] == 0
    assert out["config"]["range"]["category"][0] == "#0072B2"  # Okabe-Ito
    assert out["autosize"] == {"type": "fit-x", "contains": "padding"}  # height is the plot's own


def test_first_run_ships_what_a_cached_run_ships():
    """st.cache_data hands back a pickled copy: the first run must send the same bytes."""
    from streamlit.dataframe_util import convert_anything_to_arrow_bytes

    parts = [
        pd.DataFrame({"t": [0.0, 1.0], "w": ["a", "a"]}),
        pd.DataFrame({"t": [0.0, 1.0], "w": ["b", "b"]}),
    ]
    df = pd.concat(parts)  # chunked string column, duplicate index
    out = spec(alt.Chart(df).mark_line().encode(x="t:Q", y="t:Q", color="w:N"))
    frame = next(iter(out["datasets"].values()))
    again = pickle.loads(pickle.dumps(frame))
    assert convert_anything_to_arrow_bytes(frame) == convert_anything_to_arrow_bytes(again)


def test_with_layer_keeps_the_spec_when_only_its_rows_change():
    """A highlighted point as a layer with a named one-row dataset: moving it changes the
    data only, so the browser swaps the rows in instead of drawing the chart anew."""
    base = spec(
        alt.layer(alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_point().encode(x="x:Q", y="y:Q"))
    )
    layer = {"mark": {"type": "point"}, "encoding": {"x": {"field": "x", "type": "quantitative"}}}
    one = with_layer(base, layer, pd.DataFrame({"x": [1]}))
    two = with_layer(base, layer, pd.DataFrame({"x": [2]}))
    strip = lambda s: {k: v for k, v in s.items() if k != "datasets"}  # noqa: E731
    assert strip(one) == strip(two) and one["datasets"].keys() == two["datasets"].keys()
    assert len(base["layer"]) == 1 and len(one["layer"]) == 2  # base left alone


PAGES = ["basics", "attention", "wave-transforms", "relu", "neurons", "grokking", "trace", "clock-or-pizza"]


def contrast(colour: str, background: str = "#ffffff") -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours."""

    def luminance(hex_colour: str) -> float:
        rgb = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(colour), luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def guides(node) -> list[tuple[str, dict]]:
    """Every axis and legend written in a spec's views (encodings, layers, concatenations),
    as (``"axis"`` or ``"legend"``, its definition); the spec's ``config`` is not a view."""
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("axis", "legend") and isinstance(value, dict):
                out.append((key, value))
            elif key != "config":
                out += guides(value)
    elif isinstance(node, list):
        for value in node:
            out += guides(value)
    return out


def test_contrast_of_the_ink():
    assert contrast("#000000") == pytest.approx(21.0)
    assert contrast("#767676") == pytest.approx(4.54, abs=0.01)  # the lightest grey that passes
    assert contrast("#888888") < 4.5


def assert_projector_readable(s: dict) -> None:
    """Tick labels and titles of at least 12 px, in a colour of contrast >= 4.5:1 on white
    (set on the guide or in the spec's config for its kind: Streamlit's theme is light grey)."""
    config = s.get("config", {})
    for kind, g in guides(s):
        own = {**config.get(kind, {}), **g}
        for part in ("label", "title"):
            if f"{part}FontSize" in own:
                size = own[f"{part}FontSize"]
                # a size chosen in the browser (the scope's titles, by their length): each choice
                sizes = (
                    [float(n) for n in re.findall(r"[?:] (\d+(?:\.\d+)?)", size["expr"])]
                    if isinstance(size, dict)
                    else [size]
                )
                assert min(sizes) >= 12, g
            assert contrast(own.get(f"{part}Color", "#ffffff")) >= 4.5, g


@pytest.mark.parametrize("page", PAGES)
def test_every_chart_of_every_page_is_valid_vega_lite(reference_path, page):
    """The pages build their specs without validation (speed): check all of them here, as
    the browser receives them. The scope's play timer (``on``) is Vega, not Vega-Lite, and
    is set aside (tests/test_scope.py checks it)."""
    from page_testing import open_page, reference_env

    from ui.scope import validate_spec

    with reference_env(reference_path):
        at = open_page(f"pages/{page}.py")
    assert not at.exception
    specs = [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]
    assert specs
    for s in specs:
        assert_projector_readable(s)
        for param in s.get("params", []):
            param.pop("on", None)
        validate_spec(s)


def test_arrow_bytes_are_made_once_per_content_name_and_read_back_the_same():
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    from ui.charts import arrow_bytes

    out = spec(_bars(7))
    (name, frame) = next(iter(out["datasets"].items()))
    first = arrow_bytes(frame, name)
    assert arrow_bytes(frame.copy(), name) is first  # remembered: the same object, not a new conversion
    pd.testing.assert_frame_equal(convert_arrow_bytes_to_pandas_df(first), frame, check_dtype=False)
    # Equal values under another dtype get another name, so they never share bytes.
    same = spec(alt.Chart(frame).mark_bar().encode(x="f:Q"))
    wider = spec(alt.Chart(frame.astype({"f": "float64"})).mark_bar().encode(x="f:Q"))
    assert name in same["datasets"] and name not in wider["datasets"]
    # A name that does not promise its content (a layer's rows) is converted every time.
    assert arrow_bytes(frame, "layer-1") is not arrow_bytes(frame, "layer-1")


def test_every_dataset_reads_back_as_streamlit_would_convert_it():
    """ui.charts converts column by column (no pandas metadata); the browser must read the same
    frame as from Streamlit's own conversion, for every column kind a chart ships, and a column
    pyarrow cannot take alone still goes through Streamlit's conversion."""
    from streamlit.dataframe_util import convert_anything_to_arrow_bytes, convert_arrow_bytes_to_pandas_df

    from ui.charts import arrow_bytes, shipped_datasets

    frame = pd.DataFrame(
        {
            "i": np.arange(5, dtype=np.int16),
            "v": np.linspace(-1, 1, 5, dtype=np.float32),
            "line": pd.Categorical(["a", "b", "a", "c", "b"]),
            "right": np.array([True, False, True, False, False]),
            "label": ["x", "y", "z", "w", "v"],
        }
    )
    mixed = pd.DataFrame({"m": [1, "two", 3.0, None, b"5"]})  # no single Arrow type
    for df in (frame, mixed):
        got = convert_arrow_bytes_to_pandas_df(arrow_bytes(df))
        want = convert_arrow_bytes_to_pandas_df(convert_anything_to_arrow_bytes(df))
        pd.testing.assert_frame_equal(got, want)
    spec_in = {"mark": "point", "datasets": {"points": frame, "already": b"bytes"}}
    shipped = shipped_datasets(spec_in)
    assert isinstance(shipped["datasets"]["points"], bytes) and shipped["datasets"]["already"] == b"bytes"
    assert spec_in["datasets"]["points"] is frame  # the page's spec is not changed
