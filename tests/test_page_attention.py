"""The Attention page through Streamlit's AppTest, on the published reference model.

The page must state measured facts (the per-head attention gap, the swap symmetry), keep its
demos honest (the mirrored wave is symmetric) and follow its widgets.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from page_testing import (
    MAX_POINTS,
    app_run,
    chart_with,
    charts,
    markdown,
    open_page,
    reference_env,
    scope_slices,
    scope_values,
    tiny_run_dir,
)


@pytest.fixture
def page(env):
    return open_page("pages/attention.py")


def _titles(chart) -> str:
    return str(chart.spec.get("title"))


def test_renders_every_section_within_budget(page):
    assert not page.exception
    found = charts(page)
    assert len(found) >= 5
    for chart in found:
        assert chart.rows <= MAX_POINTS
    # resid_mid in c-order plays over c in the browser, with the mirror markers per c.
    resid = chart_with(page, "in c-order")
    assert any(p.get("name") == "play_c" for p in resid.spec["params"])
    labels = {v for df in resid.frames if "label" in df for v in df["label"]}
    assert {"a", "b", "c/2", "c/2 + p/2"} <= labels


def test_states_the_measured_attention_gap_and_swap_symmetry(page, env):
    from lens.analysis import attention_ab_gap, swap_symmetry
    from lens.claims import CLAIMS, evaluate

    run = app_run(env)
    text = markdown(page)
    # the seed's claim, equal weights, fails here: the page says so with each head's gap
    equal = evaluate(CLAIMS["attention-weights-equal"], run)
    assert not equal.holds and equal.statement in text
    assert ", ".join(f"{g:.2f}" for g in attention_ab_gap(run)) in equal.statement
    for name in ("attn_out", "resid_mid", "resid_post"):
        assert f"**{swap_symmetry(run, name):.2%}**" in text
    (table,) = [t.value for t in page.table if "mean weight on a" in t.value.columns]
    assert len(table) == run.cfg.n_heads
    pat = run.acts["pattern"].astype(np.float64)
    assert list(table["mean weight on a"]) == [f"{x:.3f}" for x in pat[:, :, 0].mean(axis=0)]


def test_the_mirrored_wave_demo_is_symmetric(page):
    match = re.search(r"largest departure from mirror symmetry is ([0-9.e+-]+)", markdown(page))
    assert match, "the demo states its measured asymmetry"
    assert float(match.group(1)) < 1e-9


def test_the_examples_scope_holds_every_c_mirrored_about_c_over_2(page, env):
    from lens.story.attention import default_c

    p = app_run(env).p
    examples = chart_with(page, "The inputs with answer c")
    assert examples.opening == default_c(p)  # c lives in the browser; it opens on the default
    assert scope_values(examples.frames) == p * p + p  # b for every c, a (the same for all) once
    slices = scope_slices(examples.frames)
    b = np.rint([slices[c] for c in range(p)])  # [c, row]; tokens are whole numbers
    k = np.arange(p)
    for c in (0, 11, p - 1):
        assert ((k + b[c]) % p == c).all()  # row k holds the input (k, (c - k) mod p)
        assert (b[c][(c - k) % p] == k).all()  # rows k and c - k hold each other's pair
    assert ((b == k).sum(axis=1) == 1).all()  # exactly one self-paired input for every c
    assert "row 62 holds a = b = 62" in examples.text  # c = 11: (11 + 113) / 2, in its caption


def test_choosing_c_updates_the_idealised_section_and_the_link(page, env):
    page.slider(key="attention.c").set_value(11).run()
    assert not page.exception
    assert "Idealised residual stream for c = 11" in chart_with(page, "Idealised").text
    assert page.query_params == {}  # the address is written when the reader asks for a link
    page.button(key="links.share").click().run()
    assert page.query_params == {"c": "11"}


def test_idealised_model_follows_c_and_frequency(page, env):
    from lens.analysis import key_frequencies

    kf = key_frequencies(app_run(env))
    page.slider(key="attention.c").set_value(9)
    page.selectbox(key="attention.ideal_freq").set_value(kf[-1])
    page.run()
    assert not page.exception
    ideal = chart_with(page, "Idealised residual stream for c = 9")
    assert f"seed's ideal, f = {kf[-1]}" in ideal.text and "model's row" in ideal.text
    assert " mod " in ideal.text and "= 9" in ideal.text  # the caption "a + b mod p = c"
    amplitude = chart_with(page, "The amplitude A(c) of each row")
    assert f"at f = {kf[-1]}, over the answers" in amplitude.text
    assert f"f = {kf[-1]}: A(9) = " in amplitude.text and "c = 9" in amplitude.text  # caption, marker


def test_the_model_rows_beside_the_seeds_cosine_are_the_fitted_rows(page, env):
    """The idealised chart: the seed's cosine and the model's row for the chosen c along the
    frequency's direction, scaled by the largest |A(c)| (neither moves with a: sent once);
    the amplitude chart: A(c) over every answer, and its half-frequency fit."""
    from lens.claims.attention import row_amplitudes
    from lens.story.attention import default_c

    run = app_run(env)
    p, ra, c = run.p, row_amplitudes(run), default_c(run.p)
    f, largest = ra.key_freqs[0], np.abs(ra.amplitude[0]).max()
    still = scope_slices(chart_with(page, f"Idealised residual stream for c = {c}").frames)[-1]
    np.testing.assert_allclose(still[:p], np.cos(2 * np.pi * f * (np.arange(p) - c / 2) / p), atol=1e-6)
    np.testing.assert_allclose(still[p:], ra.rows[0, c] / largest, atol=1e-6)
    (amp,) = scope_slices(chart_with(page, "The amplitude A(c) of each row").frames).values()
    np.testing.assert_allclose(amp[:p], ra.amplitude[0] / largest, atol=1e-6)
    np.testing.assert_allclose(amp[p:], ra.half_wave[0] / largest, atol=1e-6)


def test_says_where_the_rows_peak_and_that_attention_mixes(page, env):
    from lens.claims import CLAIMS, evaluate
    from lens.story.attention import facts
    from ui.theme import pct

    run = app_run(env)
    text = markdown(page)
    peaks = evaluate(CLAIMS["attention-peaks-at-c-half"], run)
    assert not peaks.holds and peaks.statement in text
    assert "The mirror about c/2 is there; the peak at c/2 is not." in text
    additive = evaluate(CLAIMS["attention-additive"], run)
    assert not additive.holds and additive.statement in text
    assert "it already mixes" in text
    f = facts(run)
    assert f.gate_freq == [35, 42, 52, 42]
    for h, (g, x) in enumerate(zip(f.gate_freq, f.gate_share, strict=True)):
        assert f"head {h} by f = {g} ({pct(x)}" in text
    cards = [c.value for c in page.caption]
    for claim_id in (
        "swap-symmetry",
        "attention-weights-equal",
        "attention-peaks-at-c-half",
        "attention-additive",
    ):
        assert any(f"**`{claim_id}`**" in card for card in cards), claim_id


def test_head_slider_and_wave_seed_change_their_charts(page):
    heat = chart_with(page, "to a, per input (a, b)")
    wave = chart_with(page, "A wave, its reflection about c")
    page.slider(key="attention.pattern.head").set_value(1)
    page.number_input(key="attention.wave_seed").set_value(3)
    page.run()
    assert not page.exception
    assert chart_with(page, "to a, per input (a, b)").fingerprint != heat.fingerprint
    assert "head 1:" in chart_with(page, "to a, per input (a, b)").text
    assert chart_with(page, "A wave, its reflection about c").fingerprint != wave.fingerprint


@pytest.mark.parametrize("p", [7, 31])
def test_works_for_another_prime(tmp_path, p):
    """Nothing is tied to p = 113: a tiny sinusoidal model with p = 7 or 31 renders too."""
    with reference_env(tiny_run_dir(tmp_path, p)):
        at = open_page("pages/attention.py")
    assert not at.exception and not at.error
    assert len(charts(at)) >= 4
    examples = chart_with(at, "The inputs with answer c")
    slices = scope_slices(examples.frames)
    b = np.rint([slices[c] for c in range(p)])  # [c, row]
    assert ((b == np.arange(p)).sum(axis=1) == 1).all()


def test_the_reader_chooses_the_axis_that_plays(page):
    """Issue 12's point 13: any non-drawn axis can play. resid_mid in c-order plays along c;
    switched to the residual dimension, that axis plays in the browser, c gets a slider that
    opens on the page's c, and the browser's slices are now one per dimension."""
    control = page.segmented_control(key="attention.resid_mid.play")
    assert control.value == "c" and set(control.options) == {"residual dimension", "c"}
    control.set_value("residual dimension").run()
    assert not page.exception
    resid = chart_with(page, "in c-order")
    names = {p.get("name") for p in resid.spec["params"]}
    assert "play_residual_dimension" in names and "play_c" not in names
    (c_slider,) = [s for s in page.slider if s.key == "attention.resid_mid.c"]
    assert c_slider.value == page.slider(key="attention.c").value
    c_slider.set_value(7).run()
    assert not page.exception
    (info,) = [df for df in chart_with(page, "in c-order").frames if "caption" in df]
    assert set(info["head"].str.startswith("c = 7,")) == {True}  # every dimension's slice is at c = 7
    assert len(info) == 128
