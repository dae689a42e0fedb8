"""lens.claims.waves: ``attention-products-in-logits`` on hand-built models that pass and fail
it, the split it measures checked against its definition, and the real models' numbers.

Models (``claim_models``): a Pizza (constant attention: resid_mid = E[a] + E[b], additive)
and the same with a gated attention (the score on a token is a wave at the first frequency:
the softmax mixes a and b). "Read slot A" adds a direct readout of attention's output to
W_U, so its cross terms reach the logits without the ReLU; without it nothing linear reads
them (W_U reads only the MLP's output, and the neurons' linear halves cancel over their
uniform phases).
"""

from __future__ import annotations

import numpy as np
import pytest
from claim_models import run_of, wave_model

from lens import fourier
from lens.analysis import key_frequencies
from lens.claims import CLAIMS, SECTIONS, evaluate, logits, waves

P, FREQS = 13, [2, 5]
ID = "attention-products-in-logits"


def _read_slot_a(w: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """W_U also reads slot A (attention's output) as cos / sin(w f c): a direct path."""
    w = dict(w, W_U=w["W_U"].copy())
    t = np.arange(P)
    for j, f in enumerate(FREQS):
        w["W_U"][2 * j] = np.cos(2 * np.pi * f * t / P)
        w["W_U"][2 * j + 1] = np.sin(2 * np.pi * f * t / P)
    return w


MODELS = {
    # constant attention: additive, so attention's cross terms are zero and so is the share
    "pizza_read": _read_slot_a(wave_model(P, FREQS, scale=3.0)),
    # a gated softmax mixes a and b, and the direct readout carries its products
    "gated_read": _read_slot_a(wave_model(P, FREQS, scale=3.0, attention="gated", gate=-3.0)),
    # the same mixing attention, but nothing linear reads what it writes
    "gated": wave_model(P, FREQS, scale=3.0, attention="gated", gate=-3.0),
    "clock": wave_model(P, FREQS, scale=3.0, mlp="product", attention="split"),
}


@pytest.fixture(scope="module")
def runs():
    return {name: run_of(w, name) for name, w in MODELS.items()}


def test_registered_in_its_section():
    claim = CLAIMS[ID]
    assert claim.section == "wave-transforms" and claim.direction == "at_least"
    assert claim.threshold == waves.MIXING_MATTERS
    ids = list(CLAIMS)
    assert ids.index("attention-additive") < ids.index(ID)  # the cross terms, then what they carry
    assert [SECTIONS.index(c.section) for c in CLAIMS.values()] == sorted(
        SECTIONS.index(c.section) for c in CLAIMS.values()
    )


def test_additive_attention_credits_nothing(runs):
    r = evaluate(CLAIMS[ID], runs["pizza_read"])
    assert not r.holds and abs(r.value) < 1e-6
    assert "barely reach the answer" in r.statement and "only 0%" in r.statement
    # the direct readout is there: it just has no cross term to read
    assert evaluate(CLAIMS["attention-additive"], runs["pizza_read"]).holds


def test_mixing_attention_read_straight_holds(runs):
    r = evaluate(CLAIMS[ID], runs["gated_read"])
    assert r.holds and r.value >= 0.1, r.statement
    per = r.details["per_frequency"]
    # the head's gate is the first frequency: that is where attention's products sit
    assert r.details["gates"] == [FREQS[0]] and per[str(FREQS[0])]["gated"]
    assert per[str(FREQS[0])]["share"] > 0.5 > abs(per[str(FREQS[1])]["share"])
    assert r.details["shares_follow_gates"] is True
    assert "reach the answer" in r.statement and "1 of 2" in r.statement
    # all of it on the direct path: the neurons' linear halves cancel
    assert per[str(FREQS[0])]["direct"] == pytest.approx(per[str(FREQS[0])]["share"], abs=1e-6)
    assert abs(per[str(FREQS[0])]["mlp_linear"]) < 1e-6


def test_mixing_attention_nothing_reads_straight_fails(runs):
    """Cross terms in resid_mid (attention-additive fails) are not enough: they must reach
    the answer without the rectification."""
    assert not evaluate(CLAIMS["attention-additive"], runs["gated"]).holds
    r = evaluate(CLAIMS[ID], runs["gated"])
    assert not r.holds and abs(r.value) < 1e-6


def test_clock_with_fixed_weights_credits_nothing(runs):
    r = evaluate(CLAIMS[ID], runs["clock"])
    assert not r.holds and abs(r.value) < 1e-6


@pytest.mark.parametrize("model", ["gated_read", "gated", "clock"])
def test_the_halves_add_up_to_the_logits_term(runs, model):
    """Straight + rectified = the logits' own weight, the one ``logits-sum-of-cosines`` fits."""
    run = runs[model]
    m = waves.attention_products(run)
    fitted = logits.sum_of_cosines(run).details["per_frequency"]
    for f, v in m.details["per_frequency"].items():
        assert v["straight"] + v["rectified"] == pytest.approx(v["weight"], rel=1e-9)
        assert v["weight"] == pytest.approx(fitted[f]["alpha"], rel=1e-4, abs=1e-6)
        assert v["direct"] + v["mlp_linear"] == pytest.approx(v["share"], rel=1e-9)


def test_straight_part_is_the_cross_terms(runs):
    """The definition: resid_mid's additive part (constant and one-axis components) adds
    nothing to cos(w (a + b - c)) through the linear path; only its cross terms do."""
    run = runs["gated_read"]
    w = {k: run.weights[k].astype(np.float64) for k in ("W_in", "W_out", "W_U")}
    m = w["W_U"] + 0.5 * w["W_in"] @ w["W_out"] @ w["W_U"]
    r = run.by_ab("resid_mid").astype(np.float64)  # [d_model, a, b]
    k = P // 2
    cross = np.ones((k + 1, k + 1), dtype=bool)
    cross[0, :] = cross[:, 0] = False
    r_cross = fourier.filter_2d(r, cross)
    r_additive = r - r_cross
    flat = lambda x: x.reshape(x.shape[0], -1).T  # noqa: E731  [d_model, a, b] -> [a * p + b, d_model]
    kf = key_frequencies(run)
    whole = waves.cosine_weights(flat(r) @ m, run, kf)
    np.testing.assert_allclose(waves.cosine_weights(flat(r_cross) @ m, run, kf), whole, rtol=1e-9)
    np.testing.assert_allclose(waves.cosine_weights(flat(r_additive) @ m, run, kf), 0, atol=1e-9)
    m_ = waves.attention_products(run).details["per_frequency"]
    np.testing.assert_allclose([m_[f]["straight"] for f in kf], whole, rtol=1e-6)


def test_cosine_weights_of_a_made_to_order_term():
    class _Run:
        p = P
        labels = (np.arange(P)[:, None] + np.arange(P)[None]).ravel() % P

    s = _Run.labels[:, None]
    c = np.arange(P)[None]
    z = 2.5 * np.cos(2 * np.pi * 2 * (s - c) / P) + np.sin(2 * np.pi * 5 * (s - c) / P) + 7.0
    np.testing.assert_allclose(waves.cosine_weights(z, _Run, [2, 5, 3]), [2.5, 0, 0], atol=1e-12)


def test_embedded_model(embedded):
    r = evaluate(CLAIMS[ID], embedded)
    assert r.holds and r.value == pytest.approx(0.30, abs=0.02)
    per = r.details["per_frequency"]
    assert {f: round(v["share"], 2) for f, v in per.items()} == {"5": 0.31, "8": 0.33, "44": 0.30, "50": 0.0}
    assert r.details["ungated"] == [50] and r.details["shares_follow_gates"] is True


def test_published_model(reference_path):
    from lens.checkpoint import load
    from lens.run import run_model

    r = evaluate(CLAIMS[ID], run_model(load(reference_path), engine="numpy"))
    assert r.holds and r.value == pytest.approx(0.33, abs=0.02)
    shares = {f: v["share"] for f, v in r.details["per_frequency"].items()}
    assert all(0.25 <= shares[f] <= 0.41 for f in ("35", "42", "52"))  # a quarter to a third, and more
    assert abs(shares["14"]) < 0.01 and abs(shares["41"]) < 0.01
    assert r.details["ungated"] == [14, 41] and r.details["shares_follow_gates"] is True


@pytest.fixture(scope="module")
def embedded():
    from lens.checkpoint import load
    from lens.paths import default_run
    from lens.run import run_model

    return run_model(load(default_run()), engine="numpy")
