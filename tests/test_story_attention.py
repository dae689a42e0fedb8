"""lens.story.attention: the Attention page's facts and scope data, checked against
independent computations from the flat activations (row a * p + b), against models built
to have a known answer, and on the published reference model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_models import TINY_DIMS, TINY_FREQS, sinusoid_weights

from lens.story import attention as story


def _swap_rows(p: int) -> np.ndarray:
    """For flat row a * p + b, the row of its swap (b, a)."""
    i = np.arange(p * p)
    return (i % p) * p + i // p


def _run_of(raw: dict[str, np.ndarray], p: int):
    from lens.checkpoint import Checkpoint, validate_weights
    from lens.run import run_model

    cfg, weights = validate_weights(raw, f"<built p={p}>")
    return run_model(Checkpoint(cfg, weights, {"kind": "seeded", "frac": 0.3, "seed": 0}, "<built>", "run"))


# ---------------------------------------------------------------- facts on tiny models


def test_facts_match_an_independent_computation(tiny_run):
    run, p = tiny_run, tiny_run.p
    f = story.facts(run)
    pat = run.acts["pattern"].astype(np.float64)  # [N, head, key]
    diff = np.abs(pat[:, :, 0] - pat[:, :, 1])  # [N, head]
    assert f.p == p and f.n_heads == TINY_DIMS["n_heads"]
    assert f.key_freqs == sorted(TINY_FREQS[p])  # the embedding holds exactly these
    np.testing.assert_allclose(f.mean_to, pat.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(f.mean_to.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(f.gap, diff.mean(axis=0), atol=1e-12)
    assert f.gap_threshold == 0.1
    np.testing.assert_allclose(f.frac_gap_over, (diff > 0.1).mean(axis=0), atol=1e-12)
    swap = _swap_rows(p)
    np.testing.assert_allclose(
        f.swap_weight_gap, np.abs(pat[:, :, 0] - pat[swap, :, 1]).mean(axis=0), atol=1e-12
    )
    assert f.swap_weight_gap_max == f.swap_weight_gap.max()
    for name in ("attn_out", "resid_mid", "resid_post"):
        x = run.acts[name].astype(np.float64)
        want = np.linalg.norm(x - x[swap]) / np.linalg.norm(x)
        assert getattr(f, f"swap_{name}") == pytest.approx(want, rel=1e-9)
    rm = run.acts["resid_mid"].astype(np.float64)
    assert f.loudest_dim == int(np.argmax(rm.var(axis=0)))


def test_each_heads_gate_is_its_scores_leading_frequency(tiny_run):
    """The score from "=" to a key holding token t, written out from the weights, and its
    strongest frequency by numpy's FFT."""
    run, p = tiny_run, tiny_run.p
    w = {k: v.astype(np.float64) for k, v in run.weights.items()}
    q = np.einsum("d,hde->he", w["W_E"][p] + w["W_pos"][2], w["W_Q"])
    k = np.einsum("td,hde->hte", w["W_E"][:p] + w["W_pos"][0], w["W_K"])
    scores = np.einsum("he,hte->ht", q, k) / np.sqrt(run.cfg.d_head)  # [head, token]
    np.testing.assert_allclose(story.head_scores(run), scores, atol=1e-9)
    f = story.facts(run)
    for h, score in enumerate(scores):
        power = np.abs(np.fft.fft(score)) ** 2
        energy = power[1 : p // 2 + 1] + power[p - 1 : p - p // 2 - 1 : -1]  # f and p - f
        if score.std() < 1e-3:
            assert f.gate_freq[h] is None and np.isnan(f.gate_share[h])
            continue
        assert f.gate_freq[h] == int(np.argmax(energy)) + 1
        assert f.gate_share[h] == pytest.approx(energy.max() / energy.sum(), rel=1e-9)


def test_a_head_without_queries_has_no_gate():
    p = 13
    raw = sinusoid_weights(p, TINY_FREQS[p], **TINY_DIMS)
    raw["W_Q"] = np.zeros_like(raw["W_Q"])
    f = story.facts(_run_of(raw, p))
    assert f.gate_freq == [None] * TINY_DIMS["n_heads"] and np.isnan(f.gate_share).all()


def test_key_share_is_the_key_frequencies_energy_along_a_in_c_order(tiny_run):
    run, p = tiny_run, tiny_run.p
    rm = run.acts["resid_mid"].astype(np.float64)  # [N, d_model]
    c, a = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    ca = rm[a * p + (c - a) % p]  # [c, a, d_model]
    power = (np.abs(np.fft.fft(ca, axis=1)) ** 2).sum(axis=(0, 2))  # [frequency 0..p-1]
    kf = story.facts(run).key_freqs
    want = sum(power[f] + power[p - f] for f in kf) / power[1:].sum()
    assert story.facts(run).key_share_ca == pytest.approx(want, rel=1e-9)


def test_without_queries_every_head_attends_uniformly():
    """W_Q = 0 makes every score 0: weight 1/3 on a, b and "=", so no gap at all."""
    p = 13
    raw = sinusoid_weights(p, TINY_FREQS[p], **TINY_DIMS)
    raw["W_Q"] = np.zeros_like(raw["W_Q"])
    f = story.facts(_run_of(raw, p))
    np.testing.assert_allclose(f.mean_to, 1 / 3, atol=1e-6)
    np.testing.assert_allclose(f.gap, 0.0, atol=1e-6)
    np.testing.assert_array_equal(f.frac_gap_over, 0.0)
    np.testing.assert_allclose(f.swap_weight_gap, 0.0, atol=1e-6)


def test_equal_position_embeddings_make_the_weights_swap_symmetric_but_not_equal():
    """With W_pos[0] = W_pos[1], (a, b) and (b, a) are the same set of keys in swapped
    places: the weight a gets in (a, b) is the weight b gets in (b, a), and everything after
    attention is symmetric, while a and b still get different weights."""
    p = 31
    raw = sinusoid_weights(p, TINY_FREQS[p], **TINY_DIMS)
    raw["W_pos"][1] = raw["W_pos"][0]
    f = story.facts(_run_of(raw, p))
    assert f.gap.max() > 0.2 and f.frac_gap_over.max() > 0.5  # head 1: 0.25 and 75%
    np.testing.assert_allclose(f.swap_weight_gap, 0.0, atol=1e-6)
    for x in (f.swap_attn_out, f.swap_resid_mid, f.swap_resid_post):
        assert x < 1e-5


def test_facts_are_frozen_and_printable_as_json(tiny_run):
    import dataclasses

    from lens import story as registry

    f = registry.facts("attention", tiny_run)
    assert isinstance(f, story.AttentionFacts)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.p = 5
    plain = json.loads(json.dumps(registry.to_plain(f), allow_nan=False))
    assert plain["key_freqs"] == f.key_freqs and len(plain["mean_to"]) == f.n_heads


# ---------------------------------------------------------------- the scopes' data


def test_scope_tensors_index_the_flat_activations(tiny_run):
    run, p = tiny_run, tiny_run.p
    rm, pat = run.acts["resid_mid"], run.acts["pattern"]
    ca = story.resid_mid_ca(run)
    ab, ba, diff = story.resid_mid_swap(run)
    to_a = story.attention_to_a(run)
    assert ca.shape == ab.shape == (TINY_DIMS["d_model"], p, p) and to_a.shape == (TINY_DIMS["n_heads"], p, p)
    assert ca.flags.c_contiguous and ba.flags.c_contiguous
    for a, b in [(0, 0), (1, p - 1), (p - 1, 2), (3, 5)]:
        c = (a + b) % p
        np.testing.assert_array_equal(ca[:, c, a], rm[a * p + b])
        np.testing.assert_array_equal(ab[:, a, b], rm[a * p + b])
        np.testing.assert_array_equal(ba[:, a, b], rm[b * p + a])
        np.testing.assert_allclose(diff[:, a, b], rm[a * p + b] - rm[b * p + a])
        np.testing.assert_array_equal(to_a[:, a, b], pat[a * p + b, :, 0])


@pytest.mark.parametrize("p", [7, 31, 113])
def test_defaults_and_examples(p):
    c = story.default_c(p)
    assert 0 <= c < p and c % 2 == 0
    a = story.default_a(p, c)
    assert 0 <= a < c // 2  # left of c/2, its partner (c - a) as far right of it
    ex = story.examples(p)
    k = np.arange(p)
    assert ex.a.shape == ex.b.shape == (p, p)
    for cc in range(p):
        np.testing.assert_array_equal(ex.a[cc], k)
        np.testing.assert_array_equal((ex.a[cc] + ex.b[cc]) % p, cc)
        me = ex.self_paired[cc]
        assert ex.b[cc, me] == me and (2 * me) % p == cc
    assert ex.one_self_pair_each


def test_the_wave_demo_is_symmetric_whatever_the_wave():
    p = 31
    demo = story.wave_demo(p, 3)
    w = demo.rows[0, 0]
    n = np.arange(p)
    np.testing.assert_array_equal(demo.rows[0], np.broadcast_to(w, (p, p)))
    for c in (0, 5, p - 1):
        np.testing.assert_array_equal(demo.rows[1, c], w[(c - n) % p])
    np.testing.assert_allclose(demo.rows[2], demo.rows[0] + demo.rows[1])
    assert demo.asym < 1e-12
    power = np.abs(np.fft.fft(w)) ** 2
    assert demo.top_share == pytest.approx(
        max(power[f] + power[p - f] for f in range(1, p // 2 + 1)) / power[1:].sum()
    )
    assert demo.top_share < 0.9  # hand-made, not a sinusoid
    assert story.wave_demo(p, 4).top_share != demo.top_share


def test_the_ideal_cosines_peak_at_c_over_2():
    p, kf, c = 31, (4, 11), 10
    ideal = story.ideal(p, kf, c)
    assert ideal.shape == (len(kf) + 1, p, p)
    n = np.arange(p)
    for row, f in enumerate(kf):
        np.testing.assert_allclose(ideal[row, 7], np.cos(2 * np.pi * f * (n - c / 2) / p), atol=1e-6)
    np.testing.assert_allclose(ideal[-1, 0], ideal[:-1, 0].mean(axis=0), atol=1e-6)
    assert int(np.argmax(ideal[-1, 0])) == c // 2


# ---------------------------------------------------------------- the page's figures


def test_markers_and_captions_sit_on_the_mirror_points():
    from ui.figures import attention as fig

    p = 31
    marks = {m.label: m.x for m in fig.mirror_markers(11, p, 2)}
    assert marks == {"a": 2, "b": 9, "c/2": 5.5, "c/2 + p/2": 21.0}
    ex = story.examples(p)
    assert "row 20 holds a = b = 20" in fig.examples_caption(p, ex)({"c": 9})
    assert fig.ideal_caption(p, 9)({"a": 12}) == "12 + 28 mod 31 = 9"
    lines = fig.wave_lines(story.wave_demo(p, 0))
    np.testing.assert_allclose(lines["w(n) + 3"] - 3 + lines["w(c − n)"], lines["w(n) + w(c − n) − 4"] + 4)


def _rows(p: int, freq: int, amplitude: np.ndarray):
    from lens.story.attention import RowAmplitudes

    one = np.array([0.5])
    return RowAmplitudes(
        key_freqs=[freq],
        amplitude=amplitude[None],
        half_wave=amplitude[None] / 2,
        rows=np.zeros((1, p, p)),
        positive_share=one,
        sign_changes=np.array([freq]),
        row_fit=one,
        direction_share=one,
        half_wave_fit=one,
    )


def test_the_amplitude_caption_says_where_the_row_peaks():
    """A(c) > 0: a peak at c/2; A(c) < 0: a trough there, and for odd f the peak at
    c/2 + p/2 (cos(pi f) = -1), for even f a trough there too."""
    from ui.figures import attention as fig

    p = 31
    amp = np.where(np.arange(p) < 10, 2.0, -1.0)
    for freq in (3, 4):
        rows = _rows(p, freq, amp)
        up = fig.amplitude_caption(p, rows, freq, 6)({})
        assert f"f = {freq}: A(6) = +1.00 of its largest, so the row peaks at c/2 = 3;" in up
        assert f"changes sign {freq} times" in up
        down = fig.amplitude_caption(p, rows, freq, 12)({})
        assert "A(12) = -0.50 of its largest" in down
        if freq % 2:
            assert "c/2 = 6 is a trough and the peak is at c/2 + p/2 = 21.5" in down
        else:
            assert "c/2 = 6 and c/2 + p/2 = 21.5 are both troughs" in down
        lines = fig.amplitude_lines(rows, freq)
        np.testing.assert_allclose(lines["A(c) ÷ largest |A|"], amp / 2)
        assert [m.x for m in fig.amplitude_markers(12)({})] == [12]
    # the caption's reading, on the formula: -cos(w (n - c/2)) at n = c/2 + p/2 is -cos(pi f)
    for f, top in ((3, 1.0), (4, -1.0)):
        assert -np.cos(2 * np.pi * f * (p / 2) / p) == pytest.approx(top)


def test_the_gate_figure_marks_each_heads_frequency():
    from ui.figures import attention as fig

    caption = fig.gate_caption([5, None, 44], np.array([0.73, np.nan, 0.988]))({})
    assert caption == "head 0: 73% at f = 5; head 1: flat; head 2: 98.8% at f = 44"
    assert [(m.x, m.view) for m in fig.gate_markers([5, None, 5, 44])({})] == [
        (5, "fourier"),
        (44, "fourier"),
    ]
    lines = fig.gate_lines(np.arange(6.0).reshape(2, 3))
    assert list(lines) == ["head 0", "head 1"]


# ---------------------------------------------------------------- the published model


def test_the_published_model(ref_run):
    """Nanda et al.'s model: five key frequencies; every head weights a and b unequally on
    most inputs (a gap near 0.5) yet swap-symmetrically to 1e-3; the key frequencies hold
    over 90% of resid_mid's energy along a; each head's score is over 97% one key frequency."""
    f = story.facts(ref_run)
    assert f.p == 113 and f.n_heads == 4
    assert f.key_freqs == [14, 35, 41, 42, 52]
    assert ((0.45 < f.gap) & (f.gap < 0.55)).all()
    assert (f.frac_gap_over > 0.8).all()
    assert (f.swap_weight_gap < 1e-3).all()
    assert 0 < f.swap_resid_mid < 0.01 and 0 < f.swap_attn_out < 0.01 and 0 < f.swap_resid_post < 0.01
    assert 0.9 < f.key_share_ca < 1
    assert f.loudest_dim == 38  # std 1.278 against the runner-up's 1.257
    assert f.gate_freq == [35, 42, 52, 42]  # each head's score: one key frequency
    assert (f.gate_share > 0.97).all()
    pat = ref_run.acts["pattern"].astype(np.float64)
    np.testing.assert_allclose(f.mean_to, pat.mean(axis=0), atol=1e-12)
