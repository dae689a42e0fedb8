"""lens.story.neurons: the Neurons page's facts and arrays, against numpy computed here.

Every expected value below is recomputed from the run's raw activations and weights with
plain FFTs and matrix products (not through lens.analysis), on tiny sinusoidal models for
p = 7, 13 and 31 and, where the page quotes a claim, on the published reference checkpoint
(skipped, saying why, when it is absent).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from tiny_models import TINY_FREQS

from lens.story import neurons as story
from lens.story import to_plain


def _ab(run, name: str) -> np.ndarray:
    """``[..., a, b]`` from the a-major rows, float64."""
    p = run.p
    x = np.asarray(run.acts[name], dtype=np.float64).reshape(p, p, -1)
    return np.moveaxis(x, (0, 1), (-2, -1))


def _energy_along_b(pre_ab: np.ndarray) -> np.ndarray:
    """[neuron, f] for f = 0..p // 2: |FFT_f|^2 + |FFT_{p-f}|^2 along b, summed over a."""
    p = pre_ab.shape[-1]
    power = (np.abs(np.fft.fft(pre_ab, axis=-1)) ** 2).sum(axis=1)  # [neuron, k]
    out = power[:, : p // 2 + 1].copy()
    out[:, 1:] += power[:, ::-1][:, : p // 2]  # k = p - f
    return out


def _dominant(run, kf) -> np.ndarray:
    energy = _energy_along_b(_ab(run, "pre"))
    return np.asarray(kf)[energy[:, kf].argmax(axis=1)]


def _parts(x: np.ndarray) -> dict[str, float]:
    """Shares of the non-constant energy of x[..., a, b] by the 2-D FFT bins (odd p)."""
    p = x.shape[-1]
    power = (np.abs(np.fft.fft2(x, axes=(-2, -1))) ** 2).reshape(-1, p, p).sum(axis=0)
    power[0, 0] = 0
    ka, kb = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    total = power.sum()
    share = lambda m: float(power[m].sum() / total)  # noqa: E731
    return {
        "a": share((kb == 0) & (ka != 0)),
        "b": share((ka == 0) & (kb != 0)),
        "a + b": share((ka == kb) & (ka != 0)),
        "a - b": share(((ka + kb) % p == 0) & (ka != 0)),
    }


def _close(parts: dict, expected: dict, atol: float = 1e-9) -> None:
    for k, v in expected.items():
        assert parts[k] == pytest.approx(v, abs=atol), k


def _keep(x: np.ndarray, f: int) -> np.ndarray:
    """x[..., a, b] with only frequencies 0 and f kept along a and along b."""
    p = x.shape[-1]
    keep = np.isin(np.arange(p), [0, f, p - f])
    mask = keep[:, None] & keep[None, :]
    return np.real(np.fft.ifft2(np.fft.fft2(x, axes=(-2, -1)) * mask, axes=(-2, -1)))


def _var(x: np.ndarray) -> float:
    return float(((x - x.mean(axis=(-2, -1), keepdims=True)) ** 2).sum())


def _ideal(p: int, f: int, n: int) -> np.ndarray:
    """The seed's toy: cos(phi_k - w a) + cos(phi_k + w b), phi_k = -pi + 2 pi k / n."""
    w, phi, t = 2 * np.pi * f / p, -np.pi + 2 * np.pi * np.arange(n) / n, np.arange(p)
    return np.cos(phi[:, None, None] - w * t[None, :, None]) + np.cos(
        phi[:, None, None] + w * t[None, None, :]
    )


# ---------------------------------------------------------------- the groups


def test_facts_count_the_neurons_by_their_strongest_key_frequency(tiny_run):
    f = story.facts(tiny_run)
    p, n = tiny_run.p, tiny_run.acts["pre"].shape[1]
    assert f.p == p and f.n_neurons == n
    assert f.key_frequencies == TINY_FREQS[p]  # the embedding holds exactly these, equally strong
    dom = _dominant(tiny_run, f.key_frequencies)
    counts = [int((dom == k).sum()) for k in f.key_frequencies]
    assert f.neurons_per_frequency.tolist() == counts and sum(counts) == n
    assert f.group_frequencies == [k for k, c in zip(f.key_frequencies, counts, strict=True) if c]
    assert f.largest_group == f.key_frequencies[int(np.argmax(counts))]
    assert f.smallest_group == f.key_frequencies[int(np.argmin(counts))]
    assert all(f.neurons_of(k) == c for k, c in zip(f.key_frequencies, counts, strict=True))
    assert f.neurons_of(p // 2 + 5) == 0

    energy = _energy_along_b(_ab(tiny_run, "pre"))
    share = energy[np.arange(n), dom] / energy[:, 1:].sum(axis=1)
    active = np.asarray(tiny_run.acts["post"]) > 0
    assert f.mean_share_all == pytest.approx(share.mean(), rel=1e-5)
    assert f.weak == int((share < 0.5).sum())
    assert f.dead == int((~active.any(axis=0)).sum())
    for i, k in enumerate(f.key_frequencies):
        m = dom == k
        assert f.mean_share[i] == pytest.approx(share[m].mean() if m.any() else 0.0, rel=1e-5)
        assert f.weak_per_frequency[i] == int((share[m] < 0.5).sum())
        assert f.mean_active[i] == pytest.approx(active[:, m].mean() if m.any() else 0.0)


def test_facts_are_frozen_and_print_as_json(tiny_run):
    f = story.facts(tiny_run)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.dead = 3
    back = json.loads(json.dumps(to_plain(f)))
    assert back["neurons_per_frequency"] == f.neurons_per_frequency.tolist()
    g = story.group_facts(tiny_run, f.group_frequencies[0])
    assert json.loads(json.dumps(to_plain(g)))["neurons"] == g.neurons.tolist()


# ---------------------------------------------------------------- one group


def _groups(run):
    f = story.facts(run)
    return [(k, story.group(run, k)) for k in f.group_frequencies]


def test_a_group_is_its_neurons_in_phase_order(tiny_run):
    pre = _ab(tiny_run, "pre")  # [neuron, a, b]
    kf = story.facts(tiny_run).key_frequencies
    dom = _dominant(tiny_run, kf)
    w_out = np.asarray(tiny_run.weights["W_out"], dtype=np.float64)
    for k, grp in _groups(tiny_run):
        g = grp.facts
        assert g.freq == k and sorted(g.neurons.tolist()) == np.flatnonzero(dom == k).tolist()
        phase_b = np.angle(np.fft.fft(pre[g.neurons, 0, :], axis=-1)[:, k])
        np.testing.assert_allclose(g.phases, phase_b, atol=1e-6)
        assert (np.diff(g.phases) >= 0).all()
        np.testing.assert_allclose(
            g.amplitudes, 2 * np.abs(np.fft.fft(pre[g.neurons, 0, :])[:, k]) / tiny_run.p, rtol=1e-5
        )
        gaps = np.diff(np.r_[g.phases, g.phases[0] + 2 * np.pi])
        assert g.max_gap_deg == pytest.approx(np.degrees(gaps.max()))
        phase_a = np.angle(np.fft.fft(pre[g.neurons, :, 0], axis=-1)[:, k])
        diff = np.abs(np.angle(np.exp(1j * (phase_a - phase_b))))  # wrapped to [0, pi]
        assert g.a_b_phase_gap_deg == pytest.approx(np.degrees(np.median(diff)), abs=1e-4)
        assert g.d_model == w_out.shape[1]
        assert g.strongest_direction == int(np.argmax(np.linalg.norm(w_out[g.neurons], axis=0)))
        np.testing.assert_array_equal(grp.pre, pre[g.neurons].astype(np.float32))
        assert not grp.pre.flags.writeable and not g.neurons.flags.writeable  # shared between sessions


def test_ideal_group_matches_the_seed_toy(tiny_run):
    p = tiny_run.p
    for k, grp in _groups(tiny_run):
        g, n = grp.facts, grp.facts.n
        ideal = _ideal(p, k, n)
        np.testing.assert_allclose(grp.ideal, ideal, atol=1e-6)
        assert g.ideal_pre_max == pytest.approx(np.abs(ideal.sum(axis=0)).max(), abs=1e-12)
        if n >= 2:  # evenly spaced phases cancel
            assert g.ideal_pre_max < 1e-9
        post = np.maximum(ideal, 0)
        _close(g.ideal_post, _parts(post.sum(axis=0)))
        assert g.ideal_open_a == int(np.argmax((post[-1] ** 2).sum(axis=-1)))
        np.testing.assert_allclose(grp.ideal_sums.with_relu, np.cumsum(post, axis=0), atol=1e-4)
        np.testing.assert_allclose(grp.ideal_sums.without_relu, np.cumsum(ideal, axis=0), atol=1e-4)
        peak = np.abs(post.sum(axis=0)).max()
        assert grp.ideal_sums.scale == pytest.approx(peak / np.abs(post).max())
        np.testing.assert_allclose(
            grp.ideal_sums.one_neuron, post * grp.ideal_sums.scale, rtol=1e-5, atol=1e-5
        )


def test_weighted_sums_per_direction(tiny_run):
    pre_all = _ab(tiny_run, "pre")
    w_out = np.asarray(tiny_run.weights["W_out"], dtype=np.float64)
    for _, grp in _groups(tiny_run):
        g = grp.facts
        pre = pre_all[g.neurons]
        post = np.maximum(pre, 0)
        _close(g.equal, _parts(post.sum(axis=0)))
        for d in range(g.d_model):
            w = w_out[g.neurons, d][:, None, None]
            _close({k: v[d] for k, v in g.weighted_pre.items()}, _parts((w * pre).sum(axis=0)), atol=1e-6)
            _close({k: v[d] for k, v in g.weighted_post.items()}, _parts((w * post).sum(axis=0)), atol=1e-6)
            assert g.weighted_open_a[d] == int(np.argmax(((w[-1] * post[-1]) ** 2).sum(axis=-1)))
        d = g.strongest_direction
        rs = story.weighted_running(tiny_run, tuple(g.neurons), d)
        w = w_out[g.neurons, d][:, None, None]
        np.testing.assert_allclose(rs.with_relu, np.cumsum(w * post, axis=0), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(rs.without_relu, np.cumsum(w * pre, axis=0), rtol=1e-4, atol=1e-4)


def test_group_weighted_sums_share_the_groups_waves(tiny_run):
    """The page's running sums per direction: the group's own ``pre`` summed a slice at a time
    (nothing [neuron, a, b] held per direction), kept per direction, equal to weighted_running."""
    for _, grp in _groups(tiny_run):
        g = grp.facts
        if g.n == 0:
            continue
        d = g.strongest_direction
        rs = grp.weighted(d)
        assert grp.weighted(d) is rs  # kept with the group: its memoised ranges outlive a rerun
        assert rs.with_relu.waves is grp.pre and rs.without_relu.waves is grp.pre
        ref = story.weighted_running(tiny_run, tuple(g.neurons), d)
        for name in ("with_relu", "one_neuron", "without_relu"):
            np.testing.assert_allclose(
                np.asarray(getattr(rs, name)), np.asarray(getattr(ref, name)), atol=1e-6
            )
        assert rs.scale == pytest.approx(ref.scale)
        with pytest.raises(IndexError):
            grp.weighted(g.d_model)


def test_a_group_holds_only_its_waves_and_weights(tiny_run):
    """What the shared cache counts for a group (ui.bounded.nbytes) is all it holds: its
    pre-activations and ideal neurons ([neuron, a, b] float32 each), W_out's rows and the
    facts; the running sums, the residual output and the filtered streams are stacks
    computed a slice at a time."""
    from ui.bounded import nbytes

    for _, grp in _groups(tiny_run):
        assert nbytes(grp) == grp.pre.nbytes + grp.ideal.nbytes + grp.w_out.nbytes + nbytes(grp.facts)


def test_residual_and_pulled_streams(tiny_run):
    post_all = np.asarray(tiny_run.acts["post"], dtype=np.float64)  # [N, neuron]
    p = tiny_run.p
    for k, grp in _groups(tiny_run):
        g = grp.facts
        w = tiny_run.weights
        out = post_all[:, g.neurons] @ np.asarray(w["W_out"], np.float64)[g.neurons] + w["b_out"]
        out = np.moveaxis(out.reshape(p, p, -1), (0, 1), (-2, -1))  # [d_model, a, b]
        np.testing.assert_allclose(grp.residual, out, rtol=1e-4, atol=1e-4)
        _close(g.residual, _parts(out), atol=1e-6)
        centred = out - out.mean(axis=(-2, -1), keepdims=True)
        assert g.residual_strongest == int(np.argmax((centred**2).sum(axis=(-2, -1))))
        for name, share, parts in (
            ("resid_mid", g.mid_share, g.mid_parts),
            ("resid_post", g.post_share, g.post_parts),
        ):
            x = _ab(tiny_run, name)
            kept = _keep(x, k)
            np.testing.assert_allclose(grp.pulled[name], kept, rtol=1e-4, atol=1e-4)
            assert share == pytest.approx(_var(kept) / _var(x), rel=1e-6)
            _close(parts, _parts(kept), atol=1e-6)
        drawn = np.asarray(grp.pulled["resid_post"])  # a stack computed a block at a time
        centred = drawn - drawn.mean(axis=(-2, -1), keepdims=True)
        assert g.pulled_strongest == int(np.argmax((centred**2).sum(axis=(-2, -1))))


def test_an_empty_group_has_zero_facts(tiny_run):
    kf = story.facts(tiny_run).key_frequencies
    empty = next((f for f in range(1, tiny_run.p // 2 + 1) if f not in kf), None)
    if empty is None:
        pytest.skip("every frequency is a key frequency")
    grp = story.group(tiny_run, empty)  # no neuron has a non-key frequency
    g = grp.facts
    assert g.n == 0 and grp.pre.shape == (0, tiny_run.p, tiny_run.p)
    assert g.max_gap_deg == 0.0 and g.a_b_phase_gap_deg == 0.0 and g.strongest_direction == 0
    assert (g.weighted_open_a == 0).all() and grp.ideal_sums.scale == 1.0


# ---------------------------------------------------------------- the published model


def test_reference_groups(ref_run):
    f = story.facts(ref_run)
    assert f.key_frequencies == [14, 35, 41, 42, 52]
    dom = _dominant(ref_run, f.key_frequencies)
    assert f.neurons_per_frequency.tolist() == [int((dom == k).sum()) for k in f.key_frequencies]
    assert f.n_neurons == 512 and f.group_frequencies == f.key_frequencies
    assert f.largest_group == 41 and f.smallest_group == 14
    assert f.dead == 0  # "Every neuron fires on at least one of the 113² inputs."
    assert f.mean_share_all > 0.9


def test_reference_group_claims(ref_run):
    """The claims the page's prose makes about the lowest key frequency's group."""
    g = story.group_facts(ref_run, 14)
    assert g.n == story.facts(ref_run).neurons_of(14)
    assert g.max_gap_deg < 60  # the phases cover the circle
    assert g.a_b_phase_gap_deg < 1  # the same wave in a and in b
    assert g.ideal_pre_max < 1e-9 and g.ideal_post["a + b"] > 0.999
    d = g.strongest_direction
    assert g.weighted_post["a + b"][d] > 0.9 > 0.2 > g.weighted_pre["a + b"][d]  # the ReLU makes a + b
    assert g.equal["a - b"] > 0.8  # equal weights give a - b: the weights matter
    assert g.residual["a + b"] > 0.9
    assert g.mid_parts["a"] + g.mid_parts["b"] > 0.99 and g.post_parts["a + b"] > 0.8
