"""The Neurons page through Streamlit's AppTest, on the published reference model.

Charts reach AppTest only as Vega-Lite specs plus Arrow datasets (element type
``vega_lite_chart``); the tests decode both. Expected values are recomputed here from the
run the app cached, so nothing below is a number typed in from one checkpoint except where
the reference's published facts are the point.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from page_testing import open_page, scope_slices, scope_values, tiny_run_dir, title_text

BUDGET = 50_000


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


def _chart(at, words: str) -> tuple[dict, list]:
    """The chart whose title contains ``words``."""
    found = [c for c in charts(at) if words in title_text(*c)]
    assert found, f"no chart titled with {words!r}: {[title_text(*c) for c in charts(at)]}"
    return found[0]


def _params(spec: dict) -> set[str]:
    return {p.get("name") for p in spec.get("params", [])}


def _text(at) -> str:
    return " ".join(" ".join(m.value.split()) for m in at.markdown)  # line breaks -> spaces


@pytest.fixture(scope="module")
def run(reference_path):
    from ui.data import run as cached_run

    return cached_run(str(Path(reference_path).resolve()))  # the app's own cached run


@pytest.fixture(scope="module")
def page(env, run):
    return open_page("pages/neurons.py")


@pytest.fixture(scope="module")
def groups(run):
    from lens import analysis

    kf = analysis.key_frequencies(run)
    dom = analysis.neuron_frequencies(run, kf)
    return kf, {f: int((dom == f).sum()) for f in kf}


def test_renders_every_section_within_budget(page):
    assert not page.exception
    found = charts(page)
    assert len(found) >= 8  # bar chart, sorted, heatmap, mock, 2 running sums, residual, pulled
    for spec, frames in found:
        assert sum(len(df) for df in frames) <= BUDGET, title_text(spec, frames)


def test_groups_chart_and_table_match_the_model(page, run, groups):
    kf, counts = groups
    assert sum(counts.values()) == run.acts["pre"].shape[1]
    table = page.dataframe[0].value
    assert dict(zip(table["frequency"], table["neurons"], strict=True)) == counts
    bars = [frames[0] for spec, frames in charts(page) if frames and "neurons" in frames[0]]
    assert bars and dict(zip(bars[0]["frequency"], bars[0]["neurons"], strict=True)) == counts
    text = _text(page)
    big = max(counts, key=counts.get)
    assert f"frequency {big}, has {counts[big]} neurons" in text


def test_default_group_is_the_lowest_key_frequency(page, groups):
    kf, counts = groups
    f, n = min(kf), counts[min(kf)]
    assert page.selectbox(key="neurons.freq").value == f
    assert f"{n} neurons have frequency {f}" in _text(page)
    spec, frames = _chart(page, "in phase order")
    assert "play_member" in _params(spec)  # n x p points fit: the neurons play in the browser
    assert scope_values(frames) == n * 113
    # The running sums open on the last neuron (the full sum), with a playing in the browser.
    assert page.slider(key=f"neurons.mock_sums.f{f}.member").value == n - 1
    assert page.slider(key=f"neurons.real_sums.f{f}.member").value == n - 1
    spec, frames = _chart(page, f"Running sums over {n} ideal")
    lines = {v for df in frames if "line" in df for v in df["line"]}
    assert "play_a" in _params(spec) and {"running sum, with ReLU", "running sum, without ReLU"} <= lines
    assert _chart(page, "pre-activation over (a, b)")[0]["layer"][0]["mark"]["type"] == "rect"


def test_mock_sum_is_a_wave_in_a_plus_b_only_with_relu(page, groups):
    from lens.analysis import mock_neurons
    from lens.token_dependence import sum_share

    kf, counts = groups
    mock = mock_neurons(113, min(kf), counts[min(kf)])
    share = sum_share(np.maximum(mock, 0).sum(0))
    assert share > 0.999
    from ui.theme import pct

    assert f"**{pct(share, 1)}** of its energy" in _text(page)  # the theme's one share format


def test_direction_slider_changes_the_real_running_sums(page, groups):
    f = min(groups[0])
    values = lambda frames: scope_slices(frames)  # noqa: E731
    before = values(_chart(page, "weighted by W_out")[1])
    key = f"neurons.direction.f{f}"
    d = page.slider(key=key).value
    page.slider(key=key).set_value((d + 1) % 128).run()
    assert not page.exception
    spec, frames = _chart(page, "weighted by W_out")
    assert f"W_out[·, {(d + 1) % 128}]" in title_text(spec, frames)
    after = values(frames)
    assert any(not np.array_equal(after[k], before[k]) for k in after)


def test_frequency_choice_changes_the_charts(page, groups):
    kf, counts = groups
    other = max(kf)
    page.selectbox(key="neurons.freq").set_value(other).run()
    assert not page.exception
    n = counts[other]
    assert f"{n} neurons have frequency {other}" in _text(page)
    spec, frames = _chart(page, f"frequency-{other} neurons, in phase order")
    play = "play_member" if n * 113 <= BUDGET - 8 else "play_a"
    assert play in _params(spec)
    _chart(page, f"only frequency {other} kept")
    page.selectbox(key="neurons.freq").set_value(min(kf)).run()
    assert not page.exception


@pytest.mark.parametrize("p", [7, 13, 31])
def test_any_prime_and_small_groups(p, tmp_path, monkeypatch):
    """A tiny sinusoidal model: other p, other key frequencies, groups of one neuron."""
    monkeypatch.setenv("LENS_CHECKPOINT", str(tiny_run_dir(tmp_path, p)))
    at = open_page("pages/neurons.py")
    assert not at.exception
    assert len(charts(at)) >= 8
    box = at.selectbox(key="neurons.freq")
    for f in box.options[1:]:  # every other group, the smallest included
        box.set_value(int(f.split()[0])).run()
        assert not at.exception, f
        assert len(charts(at)) >= 8


# ---------------------------------------------------------------- the claims the page states

NEURON_CLAIMS = ("neurons-one-frequency", "phase-alignment")
DECOY_CLOCK = dict(scale=3.0, mlp="product", attention="split", decoy=4)  # claim_models: fails both


def _captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def _check_claims(at, run, holds: bool) -> dict:
    """Both neuron claims written as their verdict on ``run`` says, each with its card."""
    from lens.claims import CLAIMS, evaluate
    from ui.claims import card_line

    assert not at.exception, [e.value for e in at.exception]
    results = {i: evaluate(CLAIMS[i], run) for i in NEURON_CLAIMS}
    text, captions = _text(at), _captions(at)
    for r in results.values():
        assert r.holds is holds, (r.id, r.value)
        assert " ".join(r.statement.split()) in text, r.id
        assert card_line(r) in captions, r.id
    # The prose around them follows the verdicts.
    assert ("add up at the right answer" in text) is holds
    assert ("partly cancel" in text) is not holds
    assert ("partly an artefact of the rule" in text) is not holds
    # The group on screen: its own resultant length, from the claim's details.
    freq = at.selectbox(key="neurons.freq").value
    group = results["phase-alignment"].details["groups"][str(freq)]
    assert f"For the frequency-{freq} group shown above the length is **{group['length']:.3f}**" in text
    return results


def test_neuron_claims_hold_on_the_reference(page, run):
    results = _check_claims(page, run, holds=True)
    assert results["neurons-one-frequency"].value > 0.9


def test_neuron_claims_hold_on_the_default_model(monkeypatch):
    from page_testing import app_run

    from lens.paths import DEFAULT_RUN

    monkeypatch.setenv("LENS_CHECKPOINT", str(DEFAULT_RUN))
    at = open_page("pages/neurons.py")
    _check_claims(at, app_run(DEFAULT_RUN), holds=True)


def test_neuron_claims_fail_on_a_hand_built_model(tmp_path, monkeypatch):
    """A Clock whose signal rides a frequency nothing reads (claim_models' decoy): its neurons
    are not one key frequency each and their output phases are not aligned."""
    from claim_models import wave_model
    from page_testing import app_run

    from lens.checkpoint import save_run

    path = save_run(
        tmp_path / "decoy", wave_model(13, [2, 5], **DECOY_CLOCK), {"kind": "seeded", "frac": 0.3, "seed": 0}
    )
    monkeypatch.setenv("LENS_CHECKPOINT", str(path))
    at = open_page("pages/neurons.py")
    _check_claims(at, app_run(path), holds=False)
    assert ":orange-badge[fails]" in _captions(at)


def test_every_group_and_direction_stays_within_the_shared_bound(env, run):
    """One reader through every key frequency, sweeping the residual direction in each: the
    shared read-only cache stays within its byte bound, the direction adds no entry of its
    own (the running sums are computed a slice at a time), and the groups do not evict one
    another (they evicted each other on every rerun when a group and a direction's running
    sums did not fit together)."""
    from ui import data

    at = open_page("pages/neurons.py")
    freqs = [int(label.split()[0]) for label in at.selectbox(key="neurons.freq").options]
    for freq in freqs:
        at.selectbox(key="neurons.freq").set_value(freq).run()
        assert not at.exception
        (direction,) = [s for s in at.slider if s.key.startswith("neurons.direction.")]
        for d in (0, 64, 127):
            at.slider(key=direction.key).set_value(d).run()
            assert not at.exception
        assert data._SHARED.held <= data.SHARED_BYTES
    source = str(Path(env).resolve())
    ours = [k for k in data._SHARED._items if k[1] == source]
    assert not any("weighted_running" in k[0] for k in ours)
    groups = [k for k in ours if k[0].endswith(".group")]
    assert len(groups) == len(freqs)  # every group still held: none evicted another


def test_the_other_groups_are_computed_in_the_background_so_a_pick_costs_no_group(env):
    """Opening the page queues the other key frequencies' groups (ui.data.prefetch_of_run):
    once the worker is done, picking another frequency computes nothing new."""
    import time

    from ui import data

    source = str(Path(env).resolve())
    data._SHARED.drop(lambda k: k[1] == source and k[0].endswith(".group"))
    at = open_page("pages/neurons.py")
    freqs = [int(label.split()[0]) for label in at.selectbox(key="neurons.freq").options]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        held = {k[2][0] for k in data._SHARED._items if k[1] == source and k[0].endswith(".group")}
        if held == set(freqs):
            break
        time.sleep(0.2)
    assert held == set(freqs)
    before = data._SHARED.computed
    at.selectbox(key="neurons.freq").set_value(freqs[-1]).run()
    assert not at.exception
    assert data._SHARED.computed == before
