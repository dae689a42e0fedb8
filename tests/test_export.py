"""ui/export.py: a chart's CSV has its axis titles as headers and its data as rows; a scope's
CSV is what it draws in its view; the SVG is a valid SVG document of the same chart."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from lens.fourier import basis_labels, to_fourier
from ui import export


def _groups():
    from ui.figures.neurons import groups_spec

    return groups_spec((5, 8, 44), (209, 89, 163), (0.91, 0.84, 0.88))


def test_a_charts_csv_names_its_columns_by_the_axis_titles_and_holds_its_rows():
    spec = _groups()
    back = pd.read_csv(io.BytesIO(export.csv_bytes(spec)))
    assert list(back.columns) == ["dominant key frequency", "neurons", "mean share"]
    assert back["dominant key frequency"].tolist() == [5, 8, 44]
    assert back["neurons"].tolist() == [209, 89, 163]
    assert back["mean share"].tolist() == pytest.approx([0.91, 0.84, 0.88])


def test_a_chart_of_several_datasets_stacks_them_with_the_mark_that_draws_each():
    from ui.charts import with_layer

    base = _groups()  # a bar layer and its count labels, over one dataset
    extra = pd.DataFrame({"frequency": [8], "neurons": [89]})
    layer = {"mark": "rule", "encoding": {"x": {"field": "frequency", "type": "ordinal", "title": "picked"}}}
    both = with_layer(base, layer, extra)
    t = export.table(both)
    assert t.columns[0] == "mark"
    assert t["mark"].tolist() == ["bar"] * 3 + ["rule"]
    assert t.loc[t["mark"] == "rule", "picked"].tolist() == [8]
    assert t.loc[t["mark"] == "bar", "dominant key frequency"].tolist() == [5, 8, 44]


def test_a_field_without_a_title_keeps_its_name_and_two_fields_never_share_one():
    df = pd.DataFrame({"u": [1, 2], "v": [3, 4], "w": [5, 6]})
    spec = {
        "datasets": {"d": df},
        "data": {"name": "d"},
        "mark": "point",
        "encoding": {
            "x": {"field": "u", "type": "quantitative", "title": "step"},
            "y": {"field": "v", "type": "quantitative", "axis": {"title": "step"}},
            "color": {"field": "w", "type": "nominal", "title": " "},  # hidden, as Streamlit leaves it
        },
    }
    assert list(export.table(spec).columns) == ["step", "v", "w"]


def test_a_scopes_csv_is_its_view_with_its_axes_named():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 7))  # [play c, token b]
    t = export.scope_table({"logit": x}, "space", ["c", "b"], {"b": "token b"})
    assert list(t.columns) == ["c", "token b", "logit"]
    assert len(t) == 28 and t["logit"].to_numpy() == pytest.approx(x.ravel())
    assert t.loc[(t["c"] == 2) & (t["token b"] == 5), "logit"].item() == pytest.approx(x[2, 5])
    f = export.scope_table(
        {"logit": x}, "fourier", ["c", "b"], {"b": "token b"}, play_index=np.arange(0, 8, 2)
    )
    assert list(f.columns) == ["c", "Fourier basis", "logit"]
    assert f["Fourier basis"].tolist()[:7] == basis_labels(7) and sorted(set(f["c"])) == [0, 2, 4, 6]
    assert f["logit"].to_numpy() == pytest.approx(to_fourier(x, axis=-1).ravel())
    m = export.scope_table({"one": x[0], "two": x[1]}, "magnitude", ["b"], {})
    assert list(m.columns) == ["frequency", "one", "two"] and m["frequency"].tolist() == [0, 1, 2, 3]
    amp = to_fourier(x[0], axis=-1)
    assert m["one"][1] == pytest.approx(np.hypot(amp[1], amp[2]))
    h = export.scope_table({"value": x}, "heatmap", ["a", "b"], {"a": "row a", "b": "column b"})
    assert list(h.columns) == ["row a", "column b", "value"] and h["value"].to_numpy() == pytest.approx(
        x.ravel()
    )


def test_file_names_come_from_the_key_or_the_title():
    assert export.file_stem({}, "relu.ablations") == "relu-ablations"
    assert export.file_stem({"title": {"text": "W_E's spectrum"}}, None) == "w-e-s-spectrum"
    assert export.file_stem({}, None) == "chart"


def test_the_svg_is_a_valid_svg_of_the_chart():
    if not export.svg_available():
        pytest.skip("vl-convert-python is not installed (requirements.txt lists it): no SVG export")
    svg = export.svg_text(_groups())
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and float(root.get("width")) >= export.SVG_WIDTH
    assert "dominant key frequency" in svg and ">209<" in svg


def _marks(svg: str, kind: str) -> int:
    """Items drawn by the chart's ``kind`` marks ("line", "rect", "image"): the children of
    Vega's ``mark-<kind> role-mark`` groups (axes and legends have roles of their own)."""
    root = ET.fromstring(svg)
    return sum(
        len(g)
        for g in root.iter()
        if f"mark-{kind} role-mark" in (g.get("class") or "") and g.tag.endswith("g")
    )


@pytest.mark.parametrize("view", ["space", "heatmap"])
def test_a_scopes_svg_draws_its_data_and_its_title(view):
    """A scope reads its value range, opening slice and title from its info rows: its SVG
    must keep them (an SVG without its info rows had axes of nothing and no title)."""
    if not export.svg_available():
        pytest.skip("vl-convert-python is not installed (requirements.txt lists it): no SVG export")
    from ui.scope import scope_chart

    rng = np.random.default_rng(1)
    shape = (4, 5, 13) if view == "heatmap" else (4, 13)
    ch = scope_chart(
        {"wave": rng.normal(size=shape)}, x_axis="b", row_axis="a", play="c", view=view, title="the scope"
    )
    svg = export.svg_text(ch.vega_lite())
    assert "the scope" in svg and "c = 0" in svg  # the title and the opening slice
    assert _marks(svg, "rect" if view == "heatmap" else "line") > 0


def test_an_image_maps_svg_leaves_out_only_its_invisible_click_cells():
    if not export.svg_available():
        pytest.skip("vl-convert-python is not installed (requirements.txt lists it): no SVG export")
    from ui.figures.basics import answer_grid_spec, picked

    p = 31
    svg = export.svg_text(picked(answer_grid_spec(p), 3, 4))
    assert svg.count("<image") == 1 and "c = (a + b) mod p" in svg  # the picture and its legend
    assert _marks(svg, "image") == 1 and _marks(svg, "rect") == 0  # no empty path per pair
