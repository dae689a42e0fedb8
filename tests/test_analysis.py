"""lens.analysis on synthetic waves, tiny sinusoidal models and the reference model."""

import numpy as np
import pandas as pd
import pytest
from tiny_models import TINY_FREQS, make_checkpoint

from lens import analysis as A
from lens import fourier, task
from lens.report import KEYS, report
from lens.run import Run

# ---------------------------------------------------------------- synthetic waves


@pytest.mark.parametrize("p", (7, 13, 113))
def test_reversed_shifted_waves_sum_is_symmetric_about_half_c(p):
    w = A.custom_wave(p, seed=1)
    out = A.reversed_shifted_waves(w)
    assert out.shape == (3, p, p)
    c, n = np.arange(p)[:, None], np.arange(p)[None, :]
    np.testing.assert_array_equal(out[0], np.broadcast_to(w, (p, p)))
    np.testing.assert_array_equal(out[1], w[(c - n) % p])
    np.testing.assert_allclose(out[2], out[0] + out[1])
    np.testing.assert_allclose(out[2], out[2][np.arange(p)[:, None], (c - n) % p])  # n -> c - n
    assert not np.allclose(out[0], out[0][:, (c - n) % p][0])  # w itself is not symmetric


def test_symmetry_points():
    assert A.symmetry_points(6, 113) == (3.0, 59.5)
    assert A.symmetry_points(5, 113) == (2.5, 59.0)
    assert A.symmetry_points(112, 113) == (56.0, 112.5)


def test_custom_wave_is_seeded_and_not_a_sinusoid():
    w = A.custom_wave(113, seed=0)
    np.testing.assert_array_equal(w, A.custom_wave(113, seed=0))
    assert not np.allclose(w, A.custom_wave(113, seed=1))
    assert w.min() == -1.0 and w.max() == 1.0
    for seed in range(5):
        assert fourier.energy_share(A.custom_wave(113, seed)).max() < 0.4  # a sinusoid: 1.0


def test_relu_sweep():
    x = A.make_wave(31, 4) + 0.5 * A.make_wave(31, 9, phase=0.3)
    sweep = A.relu_sweep(x)
    assert sweep.shape == (31, 31)
    np.testing.assert_allclose(sweep[0], x - x.min())
    assert (np.diff(sweep, axis=0) <= 1e-12).all()  # the threshold only ever falls... the wave
    assert (sweep >= 0).all() and (sweep[-1] > 0).sum() < 31
    assert A.relu_sweep(np.stack([x, 2 * x]), steps=5).shape == (5, 2, 31)


def test_relu_of_a_pure_wave_grows_harmonics():
    p, f = 113, 14
    sweep = A.relu_sweep(A.make_wave(p, f))
    e0, e_half = fourier.frequency_energy(sweep[0]), fourier.frequency_energy(sweep[p // 2])
    harm = fourier.harmonics([f], p)[0]
    assert e0[harm] < 1e-12 * e0[f]
    assert e_half[harm] > 0.01 * e_half[f]


def test_product_frequencies_alias_past_nyquist():
    assert A.product_frequencies(35, 35, 113) == (43, 0)
    assert A.product_frequencies(14, 35, 113) == (49, 21)
    # and the product of the waves really holds them
    prod = A.make_wave(113, 35) * A.make_wave(113, 35)
    e = fourier.frequency_energy(prod)
    assert set(np.flatnonzero(e > 1e-6)) == {0, 43}


@pytest.mark.parametrize("c", (0, 5, 6))
def test_idealised_cosine_slice(c):
    p, freqs = 13, [2, 5]
    s = A.idealised_cosine_slice(p, freqs, c)
    assert set(s) == set(A.IDEAL_NAMES)
    wave = s["cos_wave"]
    assert wave.shape == (3, p, p) and wave.dtype == np.float32
    a, b = np.arange(p)[:, None], np.arange(p)[None, :]
    np.testing.assert_allclose(wave, wave[:, a, (c - b) % p], atol=1e-6)  # symmetric about c/2
    np.testing.assert_allclose(wave[0, 0], np.cos(2 * np.pi * 2 * (np.arange(p) - c / 2) / p), atol=1e-6)
    assert np.abs(wave[-1]).max() <= 1 + 1e-6
    diag = np.eye(p, dtype=bool)
    other = np.zeros((p, p), dtype=bool)
    other[np.arange(p), (c - np.arange(p)) % p] = True
    for name, where in (("pos a", diag), ("pos b", other)):
        np.testing.assert_array_equal(s[name][:, where], wave[:, where])
        assert (s[name][:, ~where] == 0).all()
    cols = np.flatnonzero(np.abs(s["pos c"][0]).sum(axis=0))
    for point in A.symmetry_points(c, p):
        assert any(abs(col - point) < 1 or abs(col - point) > p - 1 for col in cols)
    assert len(cols) <= 4


def test_idealised_model_stacks_slices():
    m = A.idealised_cosine_model(7, [1, 3])
    assert m["pos b"].shape == (3, 7, 7, 7)
    np.testing.assert_array_equal(m["pos b"][:, 4], A.idealised_cosine_slice(7, [1, 3], 4)["pos b"])
    assert m["cos_wave"][-1].max() == pytest.approx(1.0)  # normalised: c = 0, b = 0


def test_mock_neurons_follow_the_seed_and_the_relu_makes_an_a_plus_b_wave():
    p, f, n = 31, 3, 16
    mock = A.mock_neurons(p, f, n)
    assert mock.shape == (n, p, p)
    w = 2 * np.pi * f / p
    phi = -np.pi + 2 * np.pi * 5 / n
    a, b = np.arange(p)[:, None], np.arange(p)[None, :]
    np.testing.assert_allclose(mock[5], np.cos(phi - a * w) + np.cos(phi + b * w))
    s = A.running_sums(mock)
    total = s["post_relu"][-1]
    # (nearly) a function of a + b alone: shifting a up and b down changes little; the
    # ripple left comes from sampling the phases at n points
    shifted = np.roll(np.roll(total, 1, axis=0), -1, axis=1)
    assert np.abs(total - shifted).max() < 0.05 * np.ptp(total)
    np.testing.assert_allclose(s["pre_relu"][-1], 0, atol=1e-9)  # without the ReLU it cancels
    sym = A.mock_neurons(p, f, n, symmetric=True)
    np.testing.assert_allclose(sym, sym.transpose(0, 2, 1))
    assert not np.allclose(mock, mock.transpose(0, 2, 1))


def test_running_sums():
    pre = np.random.default_rng(0).normal(size=(5, 7, 7))
    wts = np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    s = A.running_sums(pre, wts)
    assert set(s) == {"pre_relu", "post_relu", "pre_relu_waves", "post_relu_waves"}
    np.testing.assert_allclose(s["pre_relu"][-1], (wts[:, None, None] * pre).sum(0))
    np.testing.assert_allclose(s["post_relu"][0], np.maximum(pre[0], 0))
    np.testing.assert_allclose(s["post_relu"][2] - s["post_relu"][1], 0.5 * np.maximum(pre[2], 0))
    with pytest.raises(ValueError):
        A.running_sums(pre, np.ones(4))


def test_examples_for_c():
    p, c = 113, 6
    df = A.examples_for_c(p, c)
    assert list(df.columns[:3]) == ["a", "b", "c"] and len(df) == p
    rows = task.dataset(p)[task.c_order(p)][c * p : (c + 1) * p]
    np.testing.assert_array_equal(df[["a", "b"]].to_numpy(), rows[:, :2])
    assert ((df.a + df.b) % p == c).all()
    mirror = df.iloc[df.mirror_row.to_numpy()]
    np.testing.assert_array_equal(mirror.a.to_numpy(), df.b.to_numpy())
    assert df.index[df.self_mirror].tolist() == [3]
    assert A.examples_for_c(p, 5).query("self_mirror").a.tolist() == [59]  # (5 + 113) / 2


# ---------------------------------------------------------------- fake runs


def fake_run(p: int, **acts) -> Run:
    return Run(make_checkpoint(7) if p == 7 else make_checkpoint(p), np.zeros((p * p, p)), acts)


def test_swap_symmetry_measures_the_asymmetry():
    p = 7
    x = np.random.default_rng(0).normal(size=(p, p, 4))
    sym = (x + x.transpose(1, 0, 2)).reshape(p * p, 4)
    assert A.swap_symmetry(fake_run(p, resid_mid=sym)) == pytest.approx(0.0, abs=1e-12)
    anti = (x - x.transpose(1, 0, 2)).reshape(p * p, 4)
    assert A.swap_symmetry(fake_run(p, resid_mid=anti)) == pytest.approx(2.0)


def test_attention_ab_gap():
    p = 7
    pat = np.zeros((p * p, 2, 3))
    pat[:, 0] = [0.5, 0.5, 0.0]
    pat[:, 1] = [0.9, 0.1, 0.0]
    np.testing.assert_allclose(A.attention_ab_gap(fake_run(p, pattern=pat)), [0.0, 0.8])


# ---------------------------------------------------------------- tiny models


def test_tiny_key_frequencies_and_energy(tiny_run):
    assert A.key_frequencies(tiny_run) == TINY_FREQS[tiny_run.p]
    assert A.key_frequencies(tiny_run.ck) == TINY_FREQS[tiny_run.p]
    assert A.embedding_key_energy(tiny_run, TINY_FREQS[tiny_run.p]) == pytest.approx(1.0)
    assert A.embedding_key_energy(tiny_run, TINY_FREQS[tiny_run.p][:1]) < 0.9


def test_logits_from_post_reproduces_the_model(tiny_run):
    np.testing.assert_allclose(
        A.logits_from_post(tiny_run, tiny_run.acts["post"]), tiny_run.logits, atol=1e-4
    )
    # and an edit changes them
    assert not np.allclose(A.logits_from_post(tiny_run, 0 * tiny_run.acts["post"]), tiny_run.logits)


def test_tiny_ablations(tiny_run):
    kf = TINY_FREQS[tiny_run.p]
    ab = A.ablations(tiny_run, kf)
    assert set(ab) == {"regular", "without_sum_difference", "only_key_frequencies"}
    for losses in ab.values():
        assert set(losses) == {"all", "train", "test"} and all(np.isfinite(list(losses.values())))
    assert ab["regular"]["all"] == pytest.approx(A.losses(tiny_run)["all"], rel=1e-4)
    assert ab["only_key_frequencies"]["all"] != pytest.approx(ab["regular"]["all"], rel=1e-6)


def test_remove_frequencies_along_b_only(tiny_run):
    p = tiny_run.p
    kept = tiny_run.by_ab(A.remove_frequencies_along_b(tiny_run, range(1, p // 2 + 1)))  # [neuron, a, b]
    # every non-constant frequency gone along b: each row over b is flat, the a axis untouched
    np.testing.assert_allclose(
        kept, np.broadcast_to(kept.mean(axis=-1, keepdims=True), kept.shape), atol=1e-5
    )
    np.testing.assert_allclose(kept[..., 0], tiny_run.by_ab("post").mean(axis=-1), atol=1e-5)


def test_neurons_to_residual_of_all_neurons_is_the_mlp_output(tiny_run):
    d_mlp = tiny_run.cfg.d_mlp
    out = A.neurons_to_residual(tiny_run, range(d_mlp))
    assert out.shape == (tiny_run.cfg.d_model, tiny_run.p, tiny_run.p)
    np.testing.assert_allclose(out, tiny_run.by_ab("mlp_out"), atol=1e-4)
    np.testing.assert_allclose(
        A.neurons_to_residual(tiny_run, [])[:, 0, 0], tiny_run.weights["b_out"], atol=1e-6
    )


def test_tiny_neuron_table_covers_all_neurons(tiny_run):
    kf = TINY_FREQS[tiny_run.p]
    df = A.neuron_table(tiny_run, kf)
    assert isinstance(df, pd.DataFrame)
    assert df.neuron.tolist() == list(range(tiny_run.cfg.d_mlp))
    assert set(df.frequency) <= set(kf)
    assert df.share.between(0, 1).all() and df.active_fraction.between(0, 1).all()
    assert (df.ever_active == (tiny_run.acts["post"] > 0).any(axis=0)).all()


def test_tiny_filter_responses(tiny_run):
    p, cfg, w = tiny_run.p, tiny_run.cfg, tiny_run.weights
    fr = A.filter_responses(tiny_run)
    np.testing.assert_allclose(fr.wave, (w["W_E"][:p] @ w["W_in"]).T, rtol=1e-5, atol=1e-5)
    assert len(fr.table) == cfg.d_mlp and fr.table.narrowbandness.between(0, 1).all()
    # the embedding holds only the key frequencies, so every filter output does too
    assert set(fr.table.top_frequency) <= set(TINY_FREQS[p])
    ov = A.filter_responses(tiny_run.ck, path="ov")
    assert ov.wave.shape == (cfg.n_heads, cfg.d_mlp, p) and len(ov.table) == cfg.n_heads * cfg.d_mlp
    h = cfg.n_heads - 1
    np.testing.assert_allclose(
        ov.wave[h], (w["W_E"][:p] @ w["W_V"][h] @ w["W_O"][h] @ w["W_in"]).T, rtol=1e-5, atol=1e-5
    )
    with pytest.raises(ValueError):
        A.filter_responses(tiny_run, path="qk")


def test_a_filter_tuned_to_one_wave_is_narrowband():
    ck = make_checkpoint(31)
    ck.weights["W_in"] = np.zeros_like(ck.weights["W_in"])
    ck.weights["W_in"][0, 0] = 1.0  # neuron 0 reads the cos-4 dimension only
    row = A.filter_responses(ck).table.iloc[0]
    assert row.top_frequency == TINY_FREQS[31][0] and row.narrowbandness == pytest.approx(1.0)


def test_report_on_a_tiny_run(tiny_run):
    rep = report(tiny_run)
    assert tuple(rep) == KEYS
    assert rep["key_frequencies"] == TINY_FREQS[tiny_run.p]
    assert sum(rep["neurons_per_frequency"].values()) == tiny_run.cfg.d_mlp


# ---------------------------------------------------------------- the reference


def test_reference_neuron_table_and_phases(ref_run):
    kf = A.key_frequencies(ref_run)
    df = A.neuron_table(ref_run, kf)
    assert len(df) == 512 and df.ever_active.all()
    assert df.share.median() > 0.9  # neurons are nearly single-frequency
    counts = df.frequency.value_counts().to_dict()
    assert counts == A.neurons_per_frequency(A.neuron_frequencies(ref_run, kf))
    f = kf[0]
    idx = A.neurons_of_frequency(ref_run, kf, f)
    phases, amps = A.neuron_phases(ref_run, idx, f, a=0)
    np.testing.assert_allclose(phases, df.phase[idx])
    assert (amps > 0).all() and (np.abs(phases) <= np.pi).all()
    assert (np.diff(phases[A.phase_order(phases)]) >= 0).all()
    # the measured neurons are symmetric in a and b: the same phase along a as along b
    pre = ref_run.by_ab("pre")[idx]
    along_a = np.angle(np.fft.fft(pre[:, :, 0], axis=-1)[:, f])
    gap = np.angle(np.exp(1j * (along_a - phases)))
    assert np.abs(gap).max() < 0.05


def test_reference_filters_are_narrowband_through_attention(ref_run):
    kf = set(A.key_frequencies(ref_run))
    ov = A.filter_responses(ref_run, path="ov").table
    assert ov.narrowbandness.median() > 0.8
    assert ov.top_frequency.isin(kf).mean() > 0.95
    embed = A.filter_responses(ref_run).table
    assert embed.narrowbandness.median() < ov.narrowbandness.median()


def test_reference_pull_out_frequency_isolates_it(ref_run):
    f = A.key_frequencies(ref_run)[0]
    x = A.pull_out_frequency(ref_run.by_ab("resid_post")[:4], f)
    s = fourier.spectrum_2d(x)
    keep = np.zeros(s.shape[-2:], dtype=bool)
    keep[np.ix_([0, f], [0, f])] = True
    assert (s[..., ~keep] < 1e-6 * s.max()).all()


@pytest.mark.parametrize("p, f", [(13, 4), (13, 0), (12, 6), (12, 5), (113, 14)])
def test_pull_out_frequency_equals_the_fft_filter(p, f):
    """Through the rank-3 span (no FFT): the same numbers as masking FFTs along both axes."""
    x = np.random.default_rng(p + f).normal(size=(3, p, p))
    want = fourier.filter_frequencies(x, [0, f], axes=(-2, -1), keep=True)
    np.testing.assert_allclose(A.pull_out_frequency(x, f), want, atol=1e-12)
    np.testing.assert_allclose(A.pull_out_frequency(x[0], f), want[0], atol=1e-12)


@pytest.mark.parametrize("p", [7, 13, 31])
def test_pulled_power_is_the_fft_power_of_the_pulled_signal(p):
    from lens.token_dependence import power_over_tokens

    x = np.random.default_rng(p).normal(size=(5, p, p))
    for f in (1, p // 2):
        want = power_over_tokens(A.pull_out_frequency(x, f))
        np.testing.assert_allclose(A.pulled_power(x, f), want, rtol=0, atol=1e-12 * np.abs(want).max())


def test_neuron_frequencies_are_remembered_per_run_read_only_and_forgotten_with_it():
    import gc

    from lens.run import run_model

    run = run_model(make_checkpoint(13), engine="numpy")
    kf = A.key_frequencies(run)
    first = A.neuron_frequencies(run, kf)
    assert A.neuron_frequencies(run, kf) is first and not first.flags.writeable
    assert np.array_equal(first, A.dominant_frequencies(run.by_ab("pre"), kf))
    assert A.neuron_frequencies(run, kf[:1]) is not first  # another key-frequency set
    rid = id(run)
    del run
    gc.collect()
    assert not any(k[0] == rid for k in A._NEURON_FREQUENCIES)
