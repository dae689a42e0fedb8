"""The ReLU page through Streamlit's AppTest, on the published reference model.

Charts reach AppTest only as Vega-Lite specs (element type ``vega_lite_chart``), so the
tests read the spec JSON: the threshold sweep's markers and data must follow the widgets.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from page_testing import open_page, scope_slices, scope_values, tiny_run_dir


def charts(at) -> list[tuple[dict, list]]:
    """Each chart's spec and its data frames (Streamlit ships the data as Arrow datasets)."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    return [
        (
            json.loads(el.proto.spec),
            [convert_arrow_bytes_to_pandas_df(ds.data.data) for ds in el.proto.datasets],
        )
        for el in at.get("vega_lite_chart")
    ]


def _scope(at) -> tuple[dict, list]:
    """The threshold sweep: the chart with a play parameter over the threshold."""
    for spec, frames in charts(at):
        if any(p.get("name") == "play_threshold" for p in spec.get("params", [])):
            return spec, frames
    raise AssertionError("no threshold scope on the page")


def _line_rows(at) -> np.ndarray:
    """The sweep's values: every threshold's moving line, then the input (sent once)."""
    slices = scope_slices(_scope(at)[1])
    return np.concatenate([slices[k] for k in sorted(slices, key=lambda k: (k < 0, k))])


def _marker_labels(at) -> set[str]:
    _, frames = _scope(at)
    return {lbl for df in frames if "label" in df for lbl in df["label"]}


@pytest.fixture(scope="module")
def page(env):
    return open_page("pages/relu.py")


def test_renders_sweep_and_ablation_charts(page):
    assert not page.exception
    assert len(charts(page)) >= 2
    spec, frames = _scope(page)
    # Every browser-side slice is shipped: p thresholds x p points x 2 lines, within budget.
    assert scope_values(frames) == 113 * 113 + 113  # the input once
    # Default: f1 + f2 with the two lowest key frequencies (14, 35 on the reference).
    labels = _marker_labels(page)
    assert "f₁ = 14" in labels and "f₂ = 35" in labels
    assert "f₁+f₂ = 49" in labels and "|f₁−f₂| = 21" in labels
    assert "3f₁ = 42" in labels


def test_ablation_table_is_live_and_scientific(page):
    from lens.ablation import product_ablations
    from lens.analysis import ablations, key_frequencies
    from ui.data import run as cached_run

    table = page.table[0].value
    assert list(table.index) == [
        "regular",
        "without sum/difference frequencies (along b)",
        "only key frequencies (along b)",
        "without the products (±f, ±f)",
        "only constant + one-axis parts + products",
    ]
    cells = table.to_numpy().ravel()
    assert all(re.fullmatch(r"\d\.\d{3}e[-+]\d\d", c) for c in cells), cells
    text = " ".join(" ".join(m.value.split()) for m in page.markdown)  # line breaks -> spaces
    # The removed frequencies are listed (21 = 35 - 14 among them).
    assert "21, " in text
    # The numbers are the model's own: recompute them from the run the app cached.
    run = cached_run(str(Path(os.environ["LENS_CHECKPOINT"]).resolve()))
    kf = key_frequencies(run)
    abl = ablations(run, kf)
    assert table.iloc[0, 2] == f"{abl['regular']['test']:.3e}"
    assert table.iloc[2, 2] == f"{abl['only_key_frequencies']['test']:.3e}"
    prod = product_ablations(run, kf)
    assert table.iloc[3, 2] == f"{prod['without_products']['loss']['test']:.3e}"
    assert table.iloc[4, 0] == f"{prod['only_products']['loss']['all']:.3e}"
    # Without its products the published model is worse than a uniform guess (ln 113 = 4.73).
    assert float(table.iloc[3, 2]) > np.log(113) > float(table.iloc[4, 2]) * 1e6


def test_ablation_chart_shows_all_five_edits_on_a_log_axis(page):
    (spec, frames) = next((s, f) for s, f in charts(page) if "uniform guess" in json.dumps(s) + str(f))
    text = json.dumps(spec, ensure_ascii=False)
    assert '"type": "log"' in text
    dots = next(df for df in frames if {"ablation", "split", "loss"} <= set(df.columns))
    assert len(dots) == 5 * 3 and set(dots["split"]) == {"all", "train", "test"}
    table = page.table[0].value
    for label in table.index:  # the chart plots the table's numbers
        row = dots[dots["ablation"] == label].set_index("split")["loss"]
        assert f"{row['test']:.3e}" == table.loc[label, "loss, test"]
    rule = next(df for df in frames if "label" in df.columns and "loss" in df.columns)
    assert rule["loss"].iloc[0] == pytest.approx(np.log(113))


def test_in_numbers_names_the_slice_it_describes(page):
    """The sentence under the sweep is about the slice the chart opens on, and says so with
    that slice's cut (not a step number); its figures are the sweep's own."""
    from lens.story.relu import sweep

    f1, f2 = page.selectbox(key="relu.f1").value, page.selectbox(key="relu.f2").value
    sw = sweep(113, int(f1), int(f2), page.radio(key="relu.signal").value)
    text = " ".join(" ".join(m.value.split()) for m in page.markdown)
    h = sw.half
    assert f"At the cut **{sw.level[h]:+.2f}**, which clips {sw.clipped[h]} of the 113 samples" in text
    assert f"fall on frequencies {sw.sum_freq} and {sw.diff_freq}" in text
    assert f"on {sw.harmonic2} and {sw.harmonic3}" in text
    assert f"(step {h} of" not in text


def test_widgets_change_the_sweep(page):
    before = _line_rows(page)
    page.radio(key="relu.signal").set_value("wave").run()
    assert not page.exception
    after = _line_rows(page)
    assert after.shape == before.shape and not np.array_equal(after, before)
    labels = _marker_labels(page)
    assert "2f₁ = 28" in labels and not any("f₂" in lbl for lbl in labels)

    page.selectbox(key="relu.f1").set_value(20).run()
    assert not page.exception
    labels = _marker_labels(page)
    assert "f₁ = 20" in labels and "2f₁ = 40" in labels and "3f₁ = 53" in labels  # 60 folds to 53
    page.selectbox(key="relu.f1").set_value(14)
    page.radio(key="relu.signal").set_value("sum").run()


@pytest.mark.parametrize("p", [7, 31])
def test_any_prime(p, tmp_path, monkeypatch):
    """A tiny sinusoidal model: other p, other key frequencies; aliasing folds at p / 2."""
    from lens.fourier import fold

    monkeypatch.setenv("LENS_CHECKPOINT", str(tiny_run_dir(tmp_path, p)))
    at = open_page("pages/relu.py")
    assert not at.exception
    assert len(charts(at)) >= 2
    f1 = at.selectbox(key="relu.f1").value
    # Names of one frequency share a rule: "2f₁ = |f₁−f₂| = 2" at p = 7.
    assert any("2f₁" in lbl and lbl.endswith(f"= {int(fold(2 * f1, p))}") for lbl in _marker_labels(at))
    # the clipped wave at p thresholds, p components each; the input (the same at every
    # threshold) once
    assert len(_line_rows(at)) == p * p + p


def test_the_sweep_is_titled_by_its_cut_not_its_step(page):
    """Above the chart, the line that follows the threshold slider gives the cut of the slice
    shown (the sweep's own levels), not the step the slider moves."""
    from lens.story.relu import sweep

    f1, f2 = page.selectbox(key="relu.f1").value, page.selectbox(key="relu.f2").value
    sw = sweep(113, int(f1), int(f2), page.radio(key="relu.signal").value)
    spec, frames = _scope(page)
    (info,) = [df for df in frames if "start" in df.columns]
    assert list(info["at"]) == [f"cut = {level:+.2f}" for level in sw.level]
    assert ".at" in spec["title"]["text"]["expr"]
    assert not any("threshold = " in h for h in info["head"])
    (scrub,) = [p for p in spec["params"] if p["name"] == "play_threshold"]
    assert scrub["bind"]["name"].strip() == "threshold step"  # the slider moves the step
