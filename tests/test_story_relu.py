"""lens.story.relu: the threshold sweep against a clipping written out in numpy, its
markers on known frequency sets, and the model's ablations on tiny models and on the
published reference checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_models import TINY_FREQS

from lens import story
from lens.story import relu


def _shares(x: np.ndarray) -> np.ndarray:
    """Energy share of each frequency 0..p//2 (constant excluded) along the last axis, from
    numpy's FFT (odd p: bins f and p - f both count)."""
    p = x.shape[-1]
    power = np.abs(np.fft.fft(x, axis=-1)) ** 2
    per = np.concatenate([np.zeros(x.shape[:-1] + (1,)), power[..., 1 : p // 2 + 1] * 2], axis=-1)
    return per / per.sum(axis=-1, keepdims=True)


def _cos(p: int, f: int) -> np.ndarray:
    return np.cos(2 * np.pi * f * np.arange(p) / p)


# ---------------------------------------------------------------- the sweep (no model)


@pytest.mark.parametrize(
    ("signal", "inputs"),
    [("wave", [4]), ("sum", [4, 11]), ("product", [7, 15])],  # product: |4 - 11| and 4 + 11
)
def test_sweep_clips_the_signal_step_by_step(signal, inputs):
    p, f1, f2 = 31, 4, 11
    sw = relu.sweep(p, f1, f2, signal)
    x = {"wave": _cos(p, f1), "sum": _cos(p, f1) + _cos(p, f2), "product": _cos(p, f1) * _cos(p, f2)}[signal]
    assert (sw.p, sw.f1, sw.f2, sw.signal) == (p, f1, f2, signal)
    assert sw.inputs == inputs
    np.testing.assert_allclose(sw.input, x - x.mean(), atol=1e-12)
    # p steps from the minimum up, in equal parts of the range
    level = x.min() + (x.max() - x.min()) * np.arange(p) / p
    np.testing.assert_allclose(sw.level, level, atol=1e-12)
    out = np.maximum(x[None, :] - level[:, None], 0)  # [threshold, n]
    np.testing.assert_allclose(sw.after_centred, out - out.mean(axis=1, keepdims=True), atol=1e-12)
    np.testing.assert_array_equal(sw.clipped, (x[None, :] <= level[:, None]).sum(axis=1))
    assert np.all(np.diff(sw.clipped) >= 0)
    # the share of energy at frequencies the input lacks
    shares = _shares(out)
    new = np.ones(p // 2 + 1, dtype=bool)
    new[[0, *inputs]] = False
    np.testing.assert_allclose(sw.new_share, shares[:, new].sum(axis=1), atol=1e-9)
    assert sw.new_share[0] == pytest.approx(0, abs=1e-12)  # step 0 cuts nothing
    assert sw.new_share.max() > 0.05  # clipping makes new frequencies
    # the opening step clips about half the samples; the names are its strongest new ones
    assert sw.half == int(np.argmin(np.abs(sw.clipped - p / 2)))
    order = [int(f) for f in np.argsort(-shares[sw.half]) if new[f]][:5]
    assert [f for f, _ in sw.top_new] == [f for f in order if shares[sw.half, f] > 0.001]
    for f, share in sw.top_new:
        assert share == pytest.approx(shares[sw.half, f], abs=1e-9)
    # the mixer's products at that step: the shares at f1 + f2 and |f1 - f2| (folded)
    assert sw.sum_share == pytest.approx(shares[sw.half, 15], abs=1e-9)
    assert sw.diff_share == pytest.approx(shares[sw.half, 7], abs=1e-9)


def test_clipping_a_sum_mixes_it_and_clipping_one_wave_does_not():
    """Cut at its middle, cos 14 + cos 35 over 113 points puts about a tenth of its energy at
    each of 14 + 35 and 35 - 14; a lone cos 14 puts there only what its own high harmonics
    alias onto (k * 14 folds onto every frequency for some k, p being prime): a millionth."""
    mixed, alone = relu.sweep(113, 14, 35, "sum"), relu.sweep(113, 14, 35, "wave")
    assert (mixed.sum_freq, mixed.diff_freq) == (49, 21)
    assert mixed.sum_share > 0.1 and mixed.diff_share > 0.1
    assert alone.sum_share < 1e-6 and alone.diff_share < 1e-6
    assert relu.sweep(31, 4, 4, "sum").diff_share == 0.0  # no difference frequency for f1 = f2


def test_a_cosine_cut_at_its_middle_grows_even_harmonics():
    """Cut at about its midpoint a cosine is half-wave rectified, whose harmonics are the
    even ones, weaker as they go up: 2f = 8, 4f = 16 (folds to 15), 6f = 24 (folds to 7)."""
    sw = relu.sweep(31, 4, 11, "wave")
    assert [f for f, _ in sw.top_new] == [8, 15, 7]
    assert sw.harmonic2 == 8 and sw.harmonic3 == 12


def test_folded_frequencies():
    sw = relu.sweep(113, 20, 35, "sum")
    assert (sw.sum_freq, sw.diff_freq, sw.harmonic2, sw.harmonic3) == (55, 15, 40, 53)  # 60 -> 53
    sw = relu.sweep(113, 35, 41, "product")
    assert sw.sum_freq == 113 - 76 and sw.diff_freq == 6
    assert sw.inputs == [6, 37]


def test_markers_merge_names_of_one_frequency():
    # p = 7, f1 = 1, f2 = 3: 2f1 = |f1 - f2| = 2; f2 = 3f1 = 3 and f1 + f2 = 4 folds to 3
    assert relu.marker_names(7, 1, 3, "sum") == [
        (1, ("f₁",)),
        (2, ("2f₁", "|f₁−f₂|")),
        (3, ("f₂", "3f₁", "f₁+f₂")),
    ]
    assert relu.marker_names(113, 14, 35, "wave") == [(14, ("f₁",)), (28, ("2f₁",)), (42, ("3f₁",))]
    # the product lacks f1 and f2 themselves; 2f2 = 70 folds to 43; a zero difference is no marker
    assert relu.marker_names(113, 14, 35, "product") == [
        (21, ("|f₁−f₂|",)),
        (28, ("2f₁",)),
        (43, ("2f₂",)),
        (49, ("f₁+f₂",)),
    ]
    assert all(f > 0 for f, _ in relu.marker_names(31, 5, 5, "sum"))
    assert relu.sweep(7, 1, 3, "sum").markers == relu.marker_names(7, 1, 3, "sum")


# ---------------------------------------------------------------- the model's ablations


def test_facts_on_a_tiny_model(tiny_run):
    from lens.ablation import ablations, losses, remove_frequencies_along_b
    from lens.metrics import by_split, cross_entropy

    p, kf = tiny_run.p, TINY_FREQS[tiny_run.p]
    f = relu.facts(tiny_run)
    assert (f.p, f.key_freqs) == (p, kf)
    sums = {min((a + b) % p, p - (a + b) % p) for a in kf for b in kf}
    diffs = {abs(a - b) for a in kf for b in kf}
    assert f.sum_difference == sorted((sums | diffs) - {0} - set(kf))
    assert f.others == [g for g in range(1, p // 2 + 1) if g not in kf]
    assert f.ablations == ablations(tiny_run, kf)
    assert f.ablations["regular"] == pytest.approx(losses(tiny_run), rel=1e-4)
    # the sets the page names are the sets the ablation removed: recompute one loss from them
    from lens.ablation import logits_from_post

    post = remove_frequencies_along_b(tiny_run, f.sum_difference)
    loss = by_split(cross_entropy, logits_from_post(tiny_run, post), tiny_run.labels, tiny_run.train_mask)
    assert loss == pytest.approx(f.ablations["without_sum_difference"], rel=1e-12)
    for name in relu.ABLATIONS:
        for split in relu.SPLITS:
            assert f.ratios[name][split] == pytest.approx(
                f.ablations[name][split] / f.ablations["regular"][split], rel=1e-12
            )
    test = {name: f.ablations[name]["test"] for name in relu.ABLATIONS}
    edited = [test["without_sum_difference"], test["only_key_frequencies"]]
    expected = (
        "not needed"
        if all(x <= test["regular"] for x in edited)
        else "needed"
        if all(x > test["regular"] for x in edited)
        else "mixed"
    )
    assert f.verdict == expected
    assert f.chance_loss == pytest.approx(np.log(p))  # a uniform guess over p answers


def test_known_sum_and_difference_set():
    """p = 13, key frequencies 2 and 5: sums 4, 7 -> 6, 10 -> 3; differences 3 (and 0)."""
    from tiny_models import make_checkpoint

    from lens.run import run_model

    f = relu.facts(run_model(make_checkpoint(13), engine="numpy"))
    assert f.key_freqs == [2, 5]
    assert f.sum_difference == [3, 4, 6] and f.others == [1, 3, 4, 6]


def test_facts_through_the_section_table_are_json_safe(tiny_run):
    f = story.facts("relu", tiny_run)
    assert isinstance(f, relu.ReluFacts)
    plain = json.loads(json.dumps(story.to_plain(f), allow_nan=False))
    assert set(plain["ablations"]) == set(relu.ABLATIONS)


@pytest.fixture(scope="module")
def ref(reference_path):
    from lens.checkpoint import load
    from lens.run import run_model

    return run_model(load(reference_path), engine="numpy")


def test_reference_facts(ref):
    from lens.analysis import ablations

    f = relu.facts(ref)
    assert f.key_freqs == [14, 35, 41, 42, 52]
    assert 21 in f.sum_difference and not set(f.sum_difference) & set(f.key_freqs)
    assert len(f.others) == 56 - 5
    assert f.ablations == ablations(ref, f.key_freqs)
    # keeping only the key frequencies does not raise the test loss (tests/test_reference.py)
    assert f.ablations["only_key_frequencies"]["test"] <= f.ablations["regular"]["test"]
    assert f.ratios["only_key_frequencies"]["test"] <= 1
    assert f.verdict in ("not needed", "mixed")
