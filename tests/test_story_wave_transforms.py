"""lens.story.wave_transforms: the Wave Transforms page's figures, held to an independent
numpy reading of the weights (tiny sinusoidal models and the published checkpoint), the two
demos held to trigonometric identities, and the page's own charts through ``.to_dict()``."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from tiny_models import TINY_FREQS, make_checkpoint

from lens import story
from lens.story import wave_transforms as wt

PUBLISHED_KEY_FREQS = [14, 35, 41, 42, 52]


def _independent(waves: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """(top frequency, share) of each wave ``[..., token]`` from the full complex FFT: the
    energy of frequency f is |F_f|² + |F_(p−f)|² (p odd), the share the top one's fraction of
    all non-constant energy."""
    power = np.abs(np.fft.fft(waves.astype(np.float64), axis=-1)) ** 2
    f = np.arange(1, p // 2 + 1)
    energy = power[..., f] + power[..., p - f]
    return energy.argmax(axis=-1) + 1, energy.max(axis=-1) / energy.sum(axis=-1)


def _paths(weights: dict[str, np.ndarray], p: int) -> dict[str, np.ndarray]:
    """Both filter paths as ``[row, neuron, token]`` by einsum (one row for the direct path)."""
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    emb = w["W_E"][:p]
    direct = np.einsum("td,dm->mt", emb, w["W_in"])[None]
    ov = np.einsum("td,hde,hef,fm->hmt", emb, w["W_V"], w["W_O"], w["W_in"], optimize=True)
    return {"embed": direct, "ov": ov}


def _check_path(pf: wt.FilterFacts, waves: np.ndarray, p: int, key_freqs: list[int]) -> None:
    top, share = _independent(waves, p)
    np.testing.assert_array_equal(pf.top_frequency, top)
    np.testing.assert_allclose(pf.share, share, rtol=1e-6, atol=1e-9)
    assert pf.median == pytest.approx(np.median(share), rel=1e-6)
    assert pf.max == pytest.approx(share.max(), rel=1e-6)
    assert pf.above_half == pytest.approx((share > 0.5).mean())
    assert pf.top_is_key == pytest.approx(np.isin(top, key_freqs).mean())
    for h in range(top.shape[0]):
        # The strip's order as pandas sorts it (stable, by top frequency then share).
        df = pd.DataFrame({"top": pf.top_frequency[h], "share": pf.share[h]})
        order = df.sort_values(["top", "share"], kind="stable").index.to_numpy()
        np.testing.assert_array_equal(pf.strip_place[h][order], np.arange(len(order)))
        # The typical neuron: the one whose share is nearest the median share.
        gap = np.abs(pf.share[h] - np.median(pf.share[h]))
        assert gap[pf.median_neuron[h]] == gap.min()


@pytest.fixture(scope="module", params=sorted(TINY_FREQS), ids=lambda p: f"p{p}")
def tiny(request):
    from lens.run import run_model

    return run_model(make_checkpoint(request.param), engine="numpy")


def test_facts_on_tiny_models_match_an_independent_reading_of_the_weights(tiny):
    p, freqs = tiny.p, TINY_FREQS[tiny.p]
    f = wt.facts(tiny)
    # The embedding is built from exactly these frequencies, at equal amplitude.
    assert f.key_frequencies == freqs
    assert (f.p, f.nyquist, f.highest_frequency) == (p, p / 2, p // 2)
    assert (f.n_heads, f.d_mlp) == (2, 24)
    waves = _paths(tiny.weights, p)
    _check_path(f.direct, waves["embed"], p, freqs)
    _check_path(f.through_head, waves["ov"], p, freqs)
    assert f.direct.top_frequency.shape == (1, 24) and f.through_head.top_frequency.shape == (2, 24)
    # The embedding holds only the key frequencies, so every linear read of it does too.
    assert f.direct.top_is_key == 1.0 and f.through_head.top_is_key == 1.0
    assert f.product_pair == (freqs[0], freqs[1])
    assert f.alias_pair == wt.default_alias_pair(p, freqs)


def test_facts_are_frozen_and_print_as_json(tiny):
    f = wt.facts(tiny)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.p = 3  # type: ignore[misc]
    plain = json.loads(json.dumps(story.to_plain(f), allow_nan=False))
    assert plain["direct"]["median"] == pytest.approx(f.direct.median)
    assert len(plain["through_head"]["share"]) == f.n_heads
    assert story.facts("wave-transforms", tiny).key_frequencies == f.key_frequencies


def test_filter_waves_are_the_paths_per_head(tiny):
    p = tiny.p
    waves = _paths(tiny.weights, p)
    direct = wt.filter_waves(tiny, "embed")
    assert direct.dtype == np.float32 and direct.shape == (24, p)
    np.testing.assert_allclose(direct, waves["embed"][0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(wt.filter_waves(tiny, "ov", 1), waves["ov"][1], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(wt.filter_waves(tiny, "embed", 1), direct)  # no head on that path


@pytest.mark.parametrize(
    "p, freqs, pair",
    [
        (113, PUBLISHED_KEY_FREQS, (35, 35)),  # a frequency with itself first: 70 > 56.5
        (113, [14, 30], (30, 30)),  # 30 + 30 = 60 passes; 14 + 30 does not
        (113, [10, 50], (50, 50)),  # a double beats a smaller mixed sum (10 + 50 = 60 < 100)
        (113, [3, 5], (56, 56)),  # nothing passes: the two largest frequencies allowed
        (7, [1, 3], (3, 3)),
    ],
)
def test_default_alias_pair(p, freqs, pair):
    assert wt.default_alias_pair(p, freqs) == pair


def test_product_energy_sits_at_the_sum_and_difference():
    p = 113
    d = wt.product(p, 10, 55)
    np.testing.assert_allclose(
        d.product, np.cos(2 * np.pi * 10 * np.arange(p) / p) * np.cos(2 * np.pi * 55 * np.arange(p) / p)
    )
    # 10 + 55 = 65 folds to 113 - 65 = 48; 55 - 10 = 45.
    assert d.expected == [45, 48]
    assert d.share_expected == pytest.approx(1.0)
    assert d.components == [("|f₁−f₂|", 45, 45), ("f₁+f₂", 65, 48)]
    assert not d.constant and not d.squared

    sq = wt.product(p, 10, 30, squared=True)
    np.testing.assert_allclose(sq.product, (sq.wave1 + sq.wave2) ** 2)
    assert sq.expected == [20, 40, 53]  # 30 - 10 = 2 * 10, 10 + 30, 2 * 30 = 60 folded
    assert sq.share_expected == pytest.approx(1.0)
    # |f1 − f2| and 2 f1 are both 20: one marker, under the last name given to it.
    assert sq.components == [("2f₁", 20, 20), ("f₁+f₂", 40, 40), ("2f₂", 60, 53)]
    assert sq.constant

    same = wt.product(p, 7, 7)
    assert same.expected == [14] and same.constant  # cos² = ½ + ½ cos 2x


def test_aliasing_finds_the_folded_sum():
    p = 113
    a = wt.aliasing(p, 35, 35)
    assert (a.sum, a.folded, a.difference, a.above_nyquist, a.peaks) == (70, 43, 0, True, [43])
    b = wt.aliasing(p, 3, 4)
    assert (b.sum, b.folded, b.above_nyquist, b.peaks) == (7, 7, False, [1, 7])
    c = wt.aliasing(p, 56, 3)
    assert (c.folded, c.peaks) == (54, [53, 54])


def test_overview_frame_and_charts_follow_the_strip_order(tiny):
    import altair as alt

    from ui.figures import wave_transforms as figures

    f = wt.facts(tiny)
    df = figures.overview_frame(f.through_head, 1)
    assert list(df["rank"]) == list(range(f.d_mlp))
    assert (np.diff(df["top_frequency"]) >= 0).all()  # sorted by top frequency first
    row = df.set_index("neuron").loc[5]
    assert (
        row["narrowbandness"] == f.through_head.share[1, 5]
        and row["rank"] == f.through_head.strip_place[1, 5]
    )
    with alt.data_transformers.disable_max_rows():
        strip, hist = (c.to_dict() for c in figures.overview_charts(df))
    assert strip["layer"][0]["encoding"]["x"]["field"] == "rank"
    assert hist["encoding"]["x"]["bin"] == {"step": 0.05, "extent": [0, 1]}
    left, right = figures.overview_specs(tiny, "ov", 1)
    assert any(len(v) == f.d_mlp for v in left["datasets"].values())


def test_alias_chart_samples_both_waves_and_binds_a_window():
    from ui.figures import wave_transforms as figures

    p = 31
    chart = figures.alias_spec(p, 20, 11)
    (param,) = chart["params"]
    assert param["name"] == "alias_from" and param["bind"]["max"] == p - 24
    values = [df for df in chart["datasets"].values() if "y" in df.columns][0]
    on_tokens = values[values["t"] == values["t"].round()]  # the integer tokens of both curves
    first, second = on_tokens.iloc[: p + 1], on_tokens.iloc[p + 1 :]
    np.testing.assert_allclose(first["y"].to_numpy(), second["y"].to_numpy(), atol=1e-9)  # aliases agree
    assert figures.alias_spec(p, 20, 11)["usermeta"]["embedOptions"]["renderer"] == "canvas"


# ---------------------------------------------------------------- the published checkpoint


@pytest.fixture(scope="module")
def published(reference_path):
    from lens.checkpoint import load
    from lens.run import run_model

    return run_model(load(reference_path), engine="numpy")


def test_published_facts(published):
    f = wt.facts(published)
    assert f.key_frequencies == PUBLISHED_KEY_FREQS
    waves = _paths(published.weights, 113)
    _check_path(f.direct, waves["embed"], 113, PUBLISHED_KEY_FREQS)
    _check_path(f.through_head, waves["ov"], 113, PUBLISHED_KEY_FREQS)
    # What the page states: selective but not narrow directly, narrow through the heads.
    assert 0.365 <= f.direct.median < 0.375 and 0.945 <= f.through_head.median < 0.955
    assert f.direct.top_is_key == 1.0 and f.through_head.above_half > 0.97
    assert f.product_pair == (14, 35) and f.alias_pair == (35, 35)
    assert (f.n_heads, f.d_mlp) == (4, 512)
