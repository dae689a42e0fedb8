"""The ablation lab (lens.lab): its filter, its masks, its presets against the seed's and the
claims' own measures, its random controls, every hook, and the shared run left untouched."""

from __future__ import annotations

import numpy as np
import pytest
from claim_models import run_of, wave_model
from tiny_models import make_checkpoint

from lens import ablation, fourier, lab
from lens.run import FORWARD_HOOKS, forward_from, run_model

P = 31
KEYS = [4, 11]


@pytest.fixture(scope="module")
def clock():
    """A hand-built Clock at p = 31 that computes with frequencies 4 and 11 only."""
    return run_of(wave_model(P, KEYS, attention="split", mlp="product", scale=3.0), "clock")


@pytest.fixture(scope="module")
def tiny():
    return run_model(make_checkpoint(13), engine="numpy", all_positions=False)


@pytest.fixture(scope="module")
def embedded():
    from lens.checkpoint import load
    from lens.paths import DEFAULT_RUN

    if not (DEFAULT_RUN / "config.json").is_file():
        pytest.skip("the embedded default run is absent")
    return run_model(load(DEFAULT_RUN), engine="numpy", all_positions=False)


@pytest.mark.parametrize("components", list(lab.COMPONENTS))
@pytest.mark.parametrize("mode", list(lab.MODES))
def test_filter_is_filter_2d(components, mode):
    p = 13
    x = np.random.default_rng(1).normal(size=(p, p, 5))
    for freqs in [(), (2,), (1, 5), (1, 2, 3, 4, 5)]:
        keep = lab.keep_mask(p, freqs, mode, components)
        want = np.moveaxis(fourier.filter_2d(np.moveaxis(x, -1, 0), keep), 0, -1)
        np.testing.assert_allclose(lab.filter_ab(x, keep), want, atol=1e-12)
        got32 = lab.filter_ab(x.astype(np.float32), keep)
        assert got32.dtype == np.float32
        np.testing.assert_allclose(got32, want, atol=1e-5)


def test_masks_are_the_seed_and_claims_edits():
    p = 113
    keys = [14, 35, 41, 42, 52]
    products = ablation.product_masks(p, keys)
    assert np.array_equal(lab.keep_mask(p, keys, "remove", "products"), ~products["products"])
    assert np.array_equal(
        lab.keep_mask(p, keys, "keep", "products"), products["one_axis"] | products["products"]
    )
    keep_b = lab.keep_mask(p, keys, "keep", "along_b")  # the seed's "only key frequencies"
    assert keep_b[:, [0, *keys]].all() and not np.delete(keep_b, [0, *keys], axis=1).any()
    remove_all = lab.keep_mask(p, [5], "remove", "all")
    assert not remove_all[5].any() and not remove_all[:, 5].any() and remove_all.sum() == 57**2 - 2 * 57 + 1
    assert lab.keep_mask(p, [], "remove", "all").all()  # nothing chosen, nothing removed
    one_axis = lab.keep_mask(p, [5], "remove", "one_axis")
    assert (~one_axis).sum() == 2 and not one_axis[5, 0] and not one_axis[0, 5]
    with pytest.raises(ValueError, match="components"):
        lab.keep_mask(p, keys, "remove", "diagonal")
    with pytest.raises(ValueError, match="mode"):
        lab.keep_mask(p, keys, "invert", "all")


def test_presets_reproduce_the_seed_and_the_claims(embedded):
    from lens.analysis import key_frequencies
    from lens.claims.relu import products_kept, products_removed

    keys = key_frequencies(embedded)
    seed = ablation.ablations(embedded, keys)
    for name in ("regular", "without_sum_difference", "only_key_frequencies"):
        got = lab.ablate_preset(embedded, name, n_controls=2)
        for split in lab.SPLITS:
            assert got.loss[split] == pytest.approx(seed[name][split], rel=1e-9), (name, split)
    essential = lab.ablate_preset(embedded, "without_products", n_controls=2)
    assert essential.loss["test"] == pytest.approx(products_removed(embedded).value, rel=1e-9)
    assert essential.accuracy["test"] == pytest.approx(products_removed(embedded).fields["accuracy"])
    sufficient = lab.ablate_preset(embedded, "only_products", n_controls=2)
    assert sufficient.loss["test"] == pytest.approx(products_kept(embedded).value, rel=1e-9)


def test_a_causal_set_stands_out_from_its_controls(clock):
    for hook in ("embed", "attn_out", "resid_mid", "pre", "post", "resid_post", "logits"):
        r = lab.ablate(clock, hook, KEYS, "remove", "all")
        assert len(r.controls) == lab.N_CONTROLS
        assert r.rank == 1 and r.percentile == 1.0, hook
        assert r.loss["test"] > 10 * max(r.control_loss["test"]), hook
        assert r.n_wrong > 0.5 * P * P, hook
    keep = lab.ablate(clock, "post", KEYS, "keep", "all")  # keeping them alone: nothing lost
    assert keep.loss["test"] == pytest.approx(keep.own_loss["test"], rel=1e-3)
    assert keep.rank == len(keep.controls) + 1


def test_a_frequency_the_model_does_not_use_changes_nothing(clock):
    for hook in ("embed", "pre", "post", "logits"):
        r = lab.ablate(clock, hook, [7], "remove", "all")
        assert r.loss["test"] == pytest.approx(r.own_loss["test"], rel=1e-4), hook
        assert r.n_wrong == int(r.own_wrong.sum())
        assert r.percentile < 0.9, hook  # random single frequencies that hit 4 or 11 hurt more
        assert r.rank > 1


def test_the_products_are_what_a_clock_multiplies(clock):
    products = lab.ablate(clock, "post", KEYS, "remove", "products")
    one_axis = lab.ablate(clock, "post", KEYS, "remove", "one_axis")
    assert products.loss["test"] > 10 * products.own_loss["test"] and products.rank == 1
    assert one_axis.loss["test"] < products.loss["test"]
    # An embedding is a function of one token: it has no (±f, ±f) products to remove.
    none = lab.ablate(clock, "embed", KEYS, "remove", "products", n_controls=0)
    assert none.loss["test"] == pytest.approx(none.own_loss["test"], rel=1e-5)


@pytest.mark.parametrize("hook", list(lab.HOOKS))
def test_every_hook_runs_and_an_empty_edit_is_the_model(tiny, hook):
    p = tiny.p
    for components in lab.COMPONENTS:
        empty = lab.ablate(tiny, hook, [], "remove", components, n_controls=3)
        assert empty.controls == ()
        for split in lab.SPLITS:
            assert empty.loss[split] == pytest.approx(empty.own_loss[split], rel=1e-4, abs=1e-6)
        r = lab.ablate(tiny, hook, [2], "keep", components, n_controls=3)
        assert r.wrong.shape == (p, p) and r.wrong.dtype == bool
        assert len(r.controls) == 3 and all(len(c) == 1 for c in r.controls)
        assert all(np.isfinite(r.loss[s]) and 0 <= r.accuracy[s] <= 1 for s in lab.SPLITS)


def test_the_shared_run_is_never_changed(tiny):
    before_acts = {k: v.copy() for k, v in tiny.acts.items()}
    before_w = {k: v.copy() for k, v in tiny.weights.items()}
    before_logits = tiny.logits.copy()
    for hook in lab.HOOKS:
        for mode in lab.MODES:
            lab.ablate(tiny, hook, [1, 2], mode, "all", n_controls=2)
    assert np.array_equal(tiny.logits, before_logits)
    assert all(np.array_equal(tiny.acts[k], v) for k, v in before_acts.items())
    assert all(np.array_equal(tiny.weights[k], v) for k, v in before_w.items())
    assert set(tiny.acts) == set(before_acts)


def test_forward_from_any_hook_gives_the_runs_logits(tiny):
    ck = tiny.ck
    full = run_model(ck, engine="numpy")
    for hook in FORWARD_HOOKS:
        if hook == "embed":
            value = np.repeat(ck.weights["W_E"][None], 3, axis=0)
        elif hook == "scores":
            value = np.log(full.acts["pattern"])  # the softmax ignores a per-row constant
        else:
            value = full.acts[hook]
        got = forward_from(ck, hook, value, resid_mid=full.acts["resid_mid"])
        np.testing.assert_allclose(got, full.logits, atol=1e-4, err_msg=hook)
    with pytest.raises(ValueError, match="resid_mid"):
        forward_from(ck, "post", full.acts["post"])
    with pytest.raises(ValueError, match="hook"):
        forward_from(ck, "z", full.acts["z"])


def test_controls_are_seeded_same_size_and_outside_the_set():
    sets = lab.control_sets(113, (5, 8, 44, 50))
    assert len(sets) == 20 and sets == lab.control_sets(113, (5, 8, 44, 50))
    assert all(len(c) == 4 and not set(c) & {5, 8, 44, 50} for c in sets)
    assert len(set(sets)) > 15
    assert sets != lab.control_sets(113, (5, 8, 44, 50), seed=1)
    big = lab.control_sets(13, (1, 2, 3, 4))  # 2 frequencies left: drawn from all six
    assert all(len(c) == 4 for c in big) and any(set(c) & {1, 2, 3, 4} for c in big)
    assert lab.control_sets(113, ()) == ()


def test_rank_and_percentile(clock):
    r = lab.ablate(clock, "post", [4], "remove", "all")
    v = np.array(r.control_loss["test"])
    assert r.rank == 1 + int((v > r.loss["test"]).sum())
    assert r.percentile == pytest.approx(float((v < r.loss["test"]).mean()))
    assert r.control_mean == pytest.approx(v.mean()) and r.control_sd == pytest.approx(v.std(ddof=1))
    assert r.control_range == (v.min(), v.max())


def test_parse_frequencies():
    assert lab.parse_frequencies("5, 8 44;50", 113) == (5, 8, 44, 50)
    assert lab.parse_frequencies(" 10-12, 11 ", 113) == (10, 11, 12)
    assert lab.parse_frequencies("", 113) == ()
    assert lab.format_frequencies((5, 8)) == "5,8" and lab.parse_frequencies("5,8", 113) == (5, 8)
    for text, says in [
        ("5, x", "“x” is not a whole number"),
        ("70", "same as 43"),
        ("0", "constant"),
        ("200", "out of range"),
        ("12-10", "low to high"),
        ("1.5", "not a whole number"),
    ]:
        with pytest.raises(ValueError, match=says):
            lab.parse_frequencies(text, 113)


def test_frequency_presets(embedded):
    sets = lab.frequency_presets(embedded)
    assert sets["key"] == (5, 8, 44, 50)
    assert sets["harmonics"] == (10, 13, 16, 25)  # 2f, folded: 88 -> 25, 100 -> 13
    assert not set(sets["sum_difference"]) & set(sets["key"])
    assert lab.preset_frequencies(embedded, "regular") == ()
