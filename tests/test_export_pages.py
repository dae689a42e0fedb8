"""Every chart on every page exports its data as CSV with named columns, and an SVG.

Each page is opened with AppTest on the reference model while ``ui.export``'s two button
makers are watched: what each chart's CSV button would download is then made here, as the
button makes it on a click. A p x p map drawn as one image (ui/raster.py) has no rows for
its cells in its spec: its CSV must still hold one row per pair, headed by the map's axes.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from page_testing import app_run, open_page, routed_pages

from ui import export

# The pages that draw charts (Claims and the Glossary draw none).
PAGES = [p for p in routed_pages() if p not in ("claims", "glossary")]
IMAGE_MAPS = ("basics.grid_c", "basics.grid_split", "trace.map", "lab.map")


@pytest.fixture
def recorded(monkeypatch):
    """``{key: (spec, csv table maker)}`` for every chart the pages draw while it is on."""
    seen: dict[str, tuple[dict, object]] = {}
    buttons, scope_buttons = export.buttons, export.scope_buttons

    def chart(spec, key=None, table=None):
        seen[key] = (spec, (table or (lambda: export.table(spec))))
        return buttons(spec, key, table=table)

    def scope(spec, make_table, key):
        seen[key] = (spec, make_table)
        return scope_buttons(spec, make_table, key)

    monkeypatch.setattr(export, "buttons", chart)
    monkeypatch.setattr(export, "scope_buttons", scope)
    return seen


def _csv(make) -> pd.DataFrame:
    """The table as the CSV button writes it, read back."""
    return pd.read_csv(io.BytesIO(make().to_csv(index=False).encode("utf-8")))


@pytest.mark.parametrize("page", PAGES)
def test_every_chart_exports_rows_under_named_columns(page, env, recorded):
    at = open_page(f"pages/{page}.py")
    assert not at.exception
    assert recorded, f"{page} drew no chart through ui.charts.show or the scope"
    for key, (_spec, make) in recorded.items():
        back = _csv(make)
        assert len(back) > 0, f"{key}: its CSV has no rows"
        assert not any(str(c).startswith("Unnamed") for c in back.columns), f"{key}: {list(back.columns)}"
        # One column per quantity: no copy of a column under its title's spelling.
        spellings = [str(c).replace("_", " ") for c in back.columns]
        assert len(set(spellings)) == len(spellings), f"{key}: {list(back.columns)}"
        if key in IMAGE_MAPS:
            p = app_run(env).p
            assert len(back) == p * p, f"{key}: one row per pair"
            assert list(back.columns[:3]) == ["a", "b", "answer c"]
            assert (back["answer c"] == (back["a"] + back["b"]) % p).all()
            assert (back["a"] * p + back["b"]).tolist() == list(range(p * p))  # a-major


def test_the_split_maps_csv_is_the_models_answers_and_splits(env, recorded):
    from lens.story.basics import model_answers

    open_page(None)
    run = app_run(env)
    back = _csv(recorded["basics.grid_split"][1])
    assert list(back.columns) == ["a", "b", "answer c", "split", "model says", "correct"]
    assert (back["split"] == np.where(run.train_mask, "train", "test")).all()
    assert back["model says"].tolist() == model_answers(run).tolist()
    assert back["correct"].tolist() == (model_answers(run) == run.labels).tolist()


def test_the_lab_maps_csv_names_each_pair_as_its_legend_does(env, recorded):
    from ui.figures.ablation_lab import MAP_COLOURS

    open_page("pages/ablation-lab.py")
    spec, make = recorded["lab.map"]
    back = _csv(make)
    assert list(back.columns) == ["a", "b", "answer c", "split", "after the ablation"]
    legend = next(v["encoding"]["color"] for v in spec["layer"] if "color" in v.get("encoding", {}))
    assert legend["title"] == "after the ablation"
    assert set(back["after the ablation"]) <= set(MAP_COLOURS)
    wrong = back["after the ablation"] != "right"
    train = back["split"] == "train"
    assert (back.loc[wrong & train, "after the ablation"] == "wrong, training pair").all()
    assert (back.loc[wrong & ~train, "after the ablation"] == "wrong, test pair").all()


def test_an_image_maps_svg_has_its_picture_and_not_its_invisible_cells(env, recorded):
    if not export.svg_available():
        pytest.skip("vl-convert-python is not installed (requirements.txt lists it): no SVG export")
    open_page(None)
    p = app_run(env).p
    spec, _ = recorded["basics.grid_split"]
    svg = export.svg_text(spec)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert svg.count("<image") == 1 and "data:image/png;base64," in svg
    # The p² cells that take clicks and tooltips draw nothing: not one path each.
    assert svg.count("<path") < p
    assert "split" in svg and "train" in svg  # its legend
