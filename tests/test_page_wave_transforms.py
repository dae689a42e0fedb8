"""The Wave Transforms page through Streamlit's AppTest, on the published reference model (and,
for the claims, the embedded model and a hand-built Pizza).

The page must state the filters' measured narrowbandness, put the product's markers at the
sum and difference frequencies (folded), state where an aliased sum lands, and follow its
widgets; it must say whether attention mixes (``attention-additive``) and what its products
carry (``attention-products-in-logits``) in the wording that fits the loaded model's verdict,
each with its card: mixing on the real models, additive on the Pizza.
"""

from __future__ import annotations

import pytest
from page_testing import (
    MAX_POINTS,
    app_run,
    chart_with,
    charts,
    markdown,
    open_page,
    reference_env,
    tiny_run_dir,
)


@pytest.fixture
def page(env):
    return open_page("pages/wave-transforms.py")


def _labels(chart) -> set[str]:
    return {v for df in chart.frames if "label" in df for v in df["label"]}


def test_renders_within_budget_and_states_the_filters(page, env):
    from lens.analysis import filter_responses

    assert not page.exception
    found = charts(page)
    assert len(found) >= 5
    for chart in found:
        assert chart.rows <= MAX_POINTS
    run = app_run(env)
    text = markdown(page)
    direct = filter_responses(run, "embed").table["narrowbandness"]
    through = filter_responses(run, "ov").table["narrowbandness"]
    assert f"**{direct.median():.0%}** of its response into its top frequency" in text
    assert f"the median neuron puts **{through.median():.0%}**" in text
    # The overview charts have one point per neuron.
    assert sum(len(df) for df in chart_with(page, "sorted by top frequency").frames) >= run.cfg.d_mlp


def test_neuron_slider_and_path_change_the_response(page, env):
    from lens.analysis import filter_responses

    before = chart_with(page, "response to the embedding waves")
    page.slider(key="wave_transforms.response.neuron").set_value(7).run()
    assert not page.exception
    after = chart_with(page, "response to the embedding waves")
    assert after.fingerprint != before.fingerprint and "neuron 7" in after.title.splitlines()
    table = filter_responses(app_run(env), "embed").table
    row = table.iloc[7]
    assert f"Neuron **7**'s top frequency is **{int(row['top_frequency'])}**" in markdown(page)
    # Where it sits in the overview strip, counted from the left in the strip's own data.
    (strip,) = [df for df in chart_with(page, "sorted by top frequency").frames if "rank" in df.columns]
    place = int(strip.loc[strip["neuron"] == 7, "rank"].iloc[0]) + 1
    assert f"it is dot {place} of {len(table)} from the left" in markdown(page)

    page.radio(key="wave_transforms.path").set_value("through one attention head: W_E · W_V W_O · W_in").run()
    page.selectbox(key="wave_transforms.head").set_value(2).run()
    assert not page.exception
    assert "through head 2" in chart_with(page, "response to the embedding waves").text


def test_product_markers_sit_at_the_folded_sum_and_difference(page, env):
    from lens.analysis import key_frequencies

    run = app_run(env)
    p, kf = run.p, key_frequencies(run)
    first = chart_with(page, "Two waves and their product")
    assert f"cos {kf[0]}" in first.text and f"cos {kf[1]}" in first.text  # defaults from the model
    f1, f2 = 10, p // 2 - 1  # the sum passes Nyquist for any p >= 7
    page.number_input(key="wave_transforms.f1").set_value(f1)
    page.number_input(key="wave_transforms.f2").set_value(f2)
    page.run()
    assert not page.exception
    chart = chart_with(page, "Two waves and their product")
    assert chart.fingerprint != first.fingerprint
    folded = p - (f1 + f2)
    assert f"f₁+f₂ = {f1 + f2} → {folded}" in _labels(chart)
    assert f"|f₁−f₂| = {f2 - f1}" in _labels(chart)
    assert "they hold **100%**" in markdown(page)

    page.radio(key="wave_transforms.product").set_value("(cos f₁ + cos f₂)²").run()
    labels = _labels(chart_with(page, "Two waves and their product"))
    assert f"2f₁ = {2 * f1}" in labels


def test_aliasing_states_where_the_sum_lands(page, env):
    from lens.analysis import key_frequencies

    run = app_run(env)
    p, kf = run.p, key_frequencies(run)
    text = markdown(page)
    # The default pair is two key frequencies whose sum passes p / 2.
    pair = [f for f in kf if 2 * f > p / 2]
    if pair:
        f = pair[0]
        assert (
            f"**{f} + {f} = {2 * f}** is above p/2 = {p / 2}, so it folds to **{p} − {2 * f} = {p - 2 * f}**"
            in text
        )
    page.number_input(key="wave_transforms.alias_f1").set_value(3)
    page.number_input(key="wave_transforms.alias_f2").set_value(4)
    page.run()
    assert not page.exception
    assert "**3 + 4 = 7** is below p/2" in markdown(page)
    assert "7" in _labels(chart_with(page, "Where the product lands"))
    s = p // 2 + 3
    page.number_input(key="wave_transforms.alias_f1").set_value(p // 2)
    page.number_input(key="wave_transforms.alias_f2").set_value(3)
    page.run()
    assert f"so it folds to **{p} − {s} = {p - s}**" in markdown(page)
    assert f"{s} → {p - s}" in _labels(chart_with(page, "Where the product lands"))
    assert chart_with(page, "window starts at token")  # the continuous-vs-sampled picture


@pytest.mark.parametrize("p", [7, 31])
def test_works_for_another_prime(tmp_path, p):
    """Nothing is tied to p = 113: a tiny sinusoidal model with p = 7 or 31 renders too."""
    with reference_env(tiny_run_dir(tmp_path, p)):
        at = open_page("pages/wave-transforms.py")
    assert not at.exception and not at.error
    assert len(charts(at)) >= 4
    assert f"p/2 = {p / 2}" in markdown(at)


# ---------------------------------------------------------------- the claims: attention mixes


def _captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def _claim(run, claim_id: str):
    from lens.claims import CLAIMS, evaluate

    return evaluate(CLAIMS[claim_id], run)


def test_states_attention_mixing_with_cards_on_the_published_model(page, env):
    """The published model: attention is not additive (its failing sentence, with the number)
    and its products carry a third of the cos(w (a + b - c)) term (the holding sentence)."""
    run = app_run(env)
    text, cards = markdown(page), _captions(page)
    additive, mixed = _claim(run, "attention-additive"), _claim(run, "attention-products-in-logits")
    assert not additive.holds and mixed.holds
    assert additive.statement in text and "Attention already mixes: 10.4%" in text
    assert mixed.statement in text and "Attention's products reach the answer" in text
    assert "33% at the median key frequency" in text
    # the gate decides where: 35, 42 and 52 lead heads' scores, 14 and 41 none
    assert "exactly the ones that lead some head's score: **35, 42 and 52**" in text
    assert "No head's gate is tuned to **14 and 41**, and there attention's share stays under 10%" in text
    for claim_id in ("attention-additive", "attention-products-in-logits", "relu-products-essential"):
        assert f"**`{claim_id}`**" in cards
    assert ":orange-badge[fails] **`attention-additive`**" in cards
    assert ":green-badge[holds] **`attention-products-in-logits`**" in cards
    # the seed's hypothesis, part by part
    assert "**Every step but the ReLU is linear.** Fails on this model" in text
    assert "its products carry part of the logits' $\\cos(\\omega(a + b - c))$ term" in text
    products = _claim(run, "relu-products-essential")
    assert f"Fails on this model. {products.statement}" in text
    # the old wording, which the model contradicts, is gone
    assert "the one nonlinear step" not in text.lower() and "almost everything" not in text.lower()


def test_states_attention_mixing_on_the_embedded_model(monkeypatch):
    from lens.paths import default_run

    monkeypatch.setenv("LENS_CHECKPOINT", str(default_run()))
    at = open_page("pages/wave-transforms.py")
    assert not at.exception
    text = markdown(at)
    assert "Attention already mixes: 7.1%" in text
    assert "Attention's products reach the answer" in text and "(5: 31%, 8: 33%, 44: 30%, 50: 0%)" in text
    assert "No head's gate is tuned to **50**" in text


def test_an_additive_attention_gets_the_other_wording(tmp_path, monkeypatch):
    """claim_models' Pizza: constant attention, so resid_mid is E[a] + E[b] and none of the
    logits' cos(w (a + b - c)) term comes from attention: both claims flip."""
    from claim_models import wave_model

    from lens.checkpoint import save_run

    path = save_run(
        tmp_path / "pizza", wave_model(13, [2, 5], scale=3.0), {"kind": "seeded", "frac": 0.3, "seed": 0}
    )
    monkeypatch.setenv("LENS_CHECKPOINT", str(path))
    at = open_page("pages/wave-transforms.py")
    assert not at.exception and not at.error
    run = app_run(path)
    text, cards = markdown(at), _captions(at)
    additive, mixed = _claim(run, "attention-additive"), _claim(run, "attention-products-in-logits")
    assert additive.holds and not mixed.holds
    assert additive.statement in text and "Attention's output is additive in a and b" in text
    assert mixed.statement in text and "Attention's products barely reach the answer" in text
    assert "only 0% at the median key frequency" in text
    assert "lead some head's score" not in text  # no gate sentence where the claim fails
    assert "**Every step but the ReLU is linear.** Holds on this model" in text
    assert ":green-badge[holds] **`attention-additive`**" in cards
    assert ":orange-badge[fails] **`attention-products-in-logits`**" in cards
    products = _claim(run, "relu-products-essential")
    verdict = "Fails on this model." if products.holds else "Holds on this model."
    assert f"{verdict} {products.statement}" in text
