"""The Attention page's claims and the prose built on them.

``attention-peaks-at-c-half`` (the seed's idealised cosines "each peak at n = c/2") on
hand-built models that pass and fail it, its measure checked against an independent
computation, and the verdicts of the two real models; then the page itself, opened on a
model where each of its claims holds and on models where they fail: it must write the
sentence that fits each verdict, with the claim's card.

The passing model is a Pizza-like model (constant attention, resid_mid = E[a] + E[b]) whose
embedding is one sine of frequency 1. A sum of two waves has, in c-order, the row
2 sin(pi c / p) cos(w (n - c/2)): its amplitude keeps one sign for every answer 0 < c < p.
With both the sine and the cosine of a frequency (any real model) or a frequency above 1,
the amplitude 2 cos(w c/2 + phi) turns over about f times as c runs from 0 to p - 1.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from claim_models import run_of, wave_model
from page_testing import markdown, open_page, reference_env

from lens.claims import CLAIMS, evaluate
from lens.claims.attention import PEAK_THRESHOLD, row_amplitudes

P = 13
PEAKS = "attention-peaks-at-c-half"
PAGE_CLAIMS = ("swap-symmetry", "attention-weights-equal", PEAKS, "attention-additive")


def one_wave(p: int, part: str = "sine", **kw) -> dict[str, np.ndarray]:
    """A constant-attention model whose embedding is only the sine (or only the cosine) of
    frequency 1 (wave_model's slot A: column 0 the cosine, column 1 the sine)."""
    w = wave_model(p, [1], scale=3.0, **kw)
    w["W_E"][:p, 0 if part == "sine" else 1] = 0.0
    return w


@pytest.fixture(scope="module")
def runs():
    return {
        "sine": run_of(one_wave(P), "sine"),
        "cosine": run_of(one_wave(P, "cosine"), "cosine"),
        "pizza": run_of(wave_model(P, [2, 5], scale=3.0), "pizza"),
        "gated": run_of(wave_model(P, [2, 5], scale=3.0, attention="gated"), "gated"),
        "clock": run_of(wave_model(P, [2, 5], scale=3.0, mlp="product", attention="split"), "clock"),
    }


# ---------------------------------------------------------------- the claim on hand-built models


@pytest.mark.parametrize(
    "model, holds",
    [
        ("sine", True),  # 2 sin(pi c / p) >= 0: every row peaks at c/2
        ("cosine", False),  # 2 cos(pi c / p): positive for c < p/2 only
        ("pizza", False),  # both parts of frequencies 2 and 5: the amplitude turns in a plane
        ("gated", False),  # unequal weights, the same turning amplitude
        ("clock", False),  # a and b kept apart: no mirror at all
    ],
)
def test_peaks_at_c_half_passes_and_fails(runs, model, holds):
    r = evaluate(CLAIMS[PEAKS], runs[model])
    assert r.holds is holds, (model, r.value, r.statement)
    assert r.threshold == PEAK_THRESHOLD and r.direction == "at_least"
    if holds:
        assert r.statement.startswith("Each row peaks at c/2")
    else:
        assert r.statement.startswith("The rows do not all peak at c/2")
        assert "where c/2 is a trough" in r.statement
    assert "{" not in r.statement and "n/a" not in r.statement


def test_the_one_sine_model_is_a_cosine_at_c_half_for_every_answer(runs):
    ra = row_amplitudes(runs["sine"])
    assert ra.key_freqs == [1]
    c = np.arange(P)
    want = np.sin(np.pi * c / P)
    got = ra.amplitude[0] / np.abs(ra.amplitude[0]).max()
    np.testing.assert_allclose(got, want / want.max(), atol=1e-6)
    assert ra.row_fit[0] == pytest.approx(1.0, abs=1e-9)  # every row is the cosine, nothing else
    assert ra.direction_share[0] == pytest.approx(1.0, abs=1e-9)  # one direction: the sine's
    assert ra.sign_changes[0] == 0
    assert ra.positive_share[0] >= (P - 1) / P  # all but c = 0, where A(0) = 0
    r = evaluate(CLAIMS[PEAKS], runs["sine"])
    assert f"keeps one sign for {(P - 1) / P:.0%} of the answers at key frequency 1 (" in r.statement


def test_a_sum_of_two_waves_has_a_half_frequency_amplitude(runs):
    """resid_mid = E[a] + E[b] with the cosine and sine of f: A(c) = 2 cos(w c/2 + phi) along
    any direction, turning in the plane of the two, about f sign changes."""
    ra = row_amplitudes(runs["pizza"])
    assert ra.key_freqs == [2, 5]
    np.testing.assert_allclose(ra.row_fit, 1.0, atol=1e-9)
    np.testing.assert_allclose(ra.half_wave_fit, 1.0, atol=1e-9)
    np.testing.assert_allclose(ra.half_wave, ra.amplitude, atol=1e-6 * np.abs(ra.amplitude).max())
    np.testing.assert_allclose(ra.direction_share, 0.5, atol=1e-3)
    for i, f in enumerate(ra.key_freqs):
        assert f - 1 <= ra.sign_changes[i] <= f
        negative = (ra.amplitude[i] < -1e-6).mean()
        assert negative <= ra.positive_share[i] < 0.6  # one answer of 13 may sit on a zero


def test_the_amplitude_against_an_independent_dft(tiny_run):
    """A(c) from the flat activations (row a * p + b) by numpy's FFT: the frequency-f
    coefficient X(c) of each row, turned to the centre c/2, is (p/2) (A(c) + i B(c)); the
    direction's amplitudes have the top singular value's energy, and the sign leaves at
    least half of them positive."""
    run, p = tiny_run, tiny_run.p
    rm = run.acts["resid_mid"].astype(np.float64)  # [N, d_model]
    c, n = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    ca = rm[n * p + (c - n) % p]  # [c, n, d_model]
    ra = row_amplitudes(run)
    assert ra.key_freqs
    for i, f in enumerate(ra.key_freqs):
        x = np.fft.fft(ca, axis=1)[:, f, :]  # [c, d_model]: sum_n r e^{-i w n}
        turned = x * np.exp(1j * np.pi * f * np.arange(p) / p)[:, None]  # e^{i w c / 2}
        amps = (2 / p) * turned.real  # [c, d_model]
        top = np.linalg.svd(amps, compute_uv=False)[0]
        assert np.linalg.norm(ra.amplitude[i]) == pytest.approx(top, rel=1e-6)
        tiny = 1e-9 * np.abs(ra.amplitude[i]).max()
        assert ra.positive_share[i] == pytest.approx((ra.amplitude[i] > tiny).mean())
        assert ra.positive_share[i] >= (ra.amplitude[i] < -tiny).mean()
        # the rows drawn are the ones fitted: their A(c) is the amplitude
        cos = np.cos(2 * np.pi * f * (n - c / 2) / p)
        np.testing.assert_allclose((2 / p) * (ra.rows[i] * cos).sum(axis=1), ra.amplitude[i], atol=1e-9)
        np.testing.assert_allclose(ra.rows[i].mean(axis=1), 0.0, atol=1e-9)


def test_the_value_is_the_smallest_share_and_the_details_say_per_frequency(runs):
    r = evaluate(CLAIMS[PEAKS], runs["pizza"])
    per = r.details["per_frequency"]
    assert set(per) == {"2", "5"}
    assert r.value == min(d["positive_share"] for d in per.values())
    for d in per.values():
        assert set(d) == {"positive_share", "sign_changes", "row_fit", "direction_share", "half_wave_fit"}
    shares = [f"{per[f]['positive_share']:.0%}" for f in ("2", "5")]
    assert f"{shares[0]} and {shares[1]} of the answers at key frequencies 2 and 5" in r.statement


def test_without_a_key_frequency_nothing_is_measured():
    w = wave_model(P, [2])
    w["W_E"][:P] = 0.0
    r = evaluate(CLAIMS[PEAKS], run_of(w, "flat"))
    assert not r.holds and math.isnan(r.value)
    assert r.details == {"not_measured": "no key frequency"}


# ---------------------------------------------------------------- the real models


def _check_real(r, key_freqs):
    assert not r.holds
    assert 0.5 <= r.value < 0.6  # a sign that turns over as a wave: about one half
    per = r.details["per_frequency"]
    assert [int(f) for f in per] == key_freqs
    for f, d in per.items():
        assert 0.5 <= d["positive_share"] < 0.6
        assert abs(d["sign_changes"] - int(f)) <= 1  # about f sign changes, as for u(a) + u(b)
        assert d["row_fit"] > 0.85 and d["half_wave_fit"] > 0.99


def test_the_published_model_fails_it(ref_run):
    _check_real(evaluate(CLAIMS[PEAKS], ref_run), [14, 35, 41, 42, 52])


def test_the_embedded_model_fails_it():
    from lens.checkpoint import load
    from lens.paths import default_run
    from lens.run import run_model

    _check_real(evaluate(CLAIMS[PEAKS], run_model(load(default_run()), engine="numpy")), [5, 8, 44, 50])


# ---------------------------------------------------------------- the page's wording, both ways


def _results(path) -> dict:
    """Every claim of the page measured on the checkpoint at ``path`` (None: the embedded
    model), independently of the app."""
    from lens.checkpoint import load
    from lens.paths import default_run
    from lens.run import run_model

    run = run_model(load(path or default_run()), engine="numpy")
    return {cid: evaluate(CLAIMS[cid], run) for cid in PAGE_CLAIMS}


def _open(path):
    if path is None:
        return open_page("pages/attention.py")
    with reference_env(path):
        return open_page("pages/attention.py")


def _check_wording(path, verdicts: dict[str, bool]) -> str:
    from ui.claims import card_line

    results = _results(path)
    assert {cid: r.holds for cid, r in results.items()} == verdicts
    at = _open(path)
    assert not at.exception and not at.error
    text, cards = markdown(at), [c.value for c in at.caption]
    for cid, r in results.items():
        assert r.statement in text, cid  # the sentence that fits the verdict
        claim = CLAIMS[cid]
        other = claim.fails_statement if r.holds else claim.statement
        assert other.split("{")[0] not in text, cid  # and not the other one
        assert card_line(r) in cards, cid  # with its card
        badge = ":green-badge[holds]" if r.holds else ":orange-badge[fails]"
        assert any(line.startswith(f"- {badge}") and f"(`{cid}`)" in line for line in text.splitlines())
    return text


@pytest.fixture
def embedded(monkeypatch):
    monkeypatch.delenv("LENS_CHECKPOINT", raising=False)


def test_on_a_model_where_every_claim_holds_the_page_says_so(tmp_path):
    from lens.checkpoint import save_run

    path = save_run(tmp_path / "one-sine", one_wave(31), {"kind": "seeded", "frac": 0.3, "seed": 0})
    text = _check_wording(path, dict.fromkeys(PAGE_CLAIMS, True))
    assert "Here the rows do peak at c/2, as the seed pictures them." in text
    assert "Here attention only adds" in text
    assert "Equal weights are one way to symmetry: a swap is enough." in text
    assert "Head 0 gives every token the same score: no gate." in text
    assert "already mixes" not in text


def test_on_the_embedded_model_the_seeds_claims_fail_and_the_page_says_so(embedded):
    text = _check_wording(
        None,
        {"swap-symmetry": True, "attention-weights-equal": False, PEAKS: False, "attention-additive": False},
    )
    assert "The mirror about c/2 is there; the peak at c/2 is not." in text
    assert "Equal weights are not needed: a swap is enough." in text
    assert "not equal weights, that the mirror symmetry of the rows above rests on" in text
    assert "Attention's score is a frequency-selective gate, and it already mixes." in text
    assert "Here the rows do peak" not in text and "Here attention only adds" not in text


def test_on_a_model_without_the_mirror_the_page_says_so(tmp_path):
    from lens.checkpoint import save_run

    clock = wave_model(P, [2, 5], scale=3.0, mlp="product", attention="split")
    path = save_run(tmp_path / "clock", clock, {"kind": "seeded", "frac": 0.3, "seed": 0})
    text = _check_wording(
        path,
        {"swap-symmetry": False, "attention-weights-equal": False, PEAKS: False, "attention-additive": True},
    )
    assert "Nor are the weights swap-symmetric" in text
    assert "The mirror about c/2 is there" not in text and "a swap is enough" not in text
    assert "Heads 0 and 1 give every token the same score: no gate." in text
