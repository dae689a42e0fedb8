"""The ablation lab's fast engine (lens.lab_engine) against the step-by-step one it replaced
(tests/lab_reference.py: the edited activation through lens.run.forward_from, filtered with
lens.fourier.filter_2d, scored in float64), on tiny models and on the reference checkpoint;
its filter on arbitrary masks; and its float32 scoring against float64."""

from __future__ import annotations

import lab_reference as ref
import numpy as np
import pytest
from tiny_models import make_checkpoint

from lens import fourier, lab, lab_engine
from lens.run import run_model

SETS = [(1,), (2, 5), (1, 3, 6)]


@pytest.fixture(scope="module", params=[13, 31], ids=lambda p: f"p{p}")
def tiny(request):
    return run_model(make_checkpoint(request.param), engine="numpy", all_positions=False)


def _close(got: np.ndarray, want: np.ndarray, rel: float) -> None:
    """Logits equal to ``rel`` of their scale (float32 rounding in the recomputed part)."""
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=0, atol=rel * scale)


@pytest.mark.parametrize("hook", list(lab.HOOKS))
def test_the_engine_gives_the_step_by_step_logits(tiny, hook):
    p = tiny.p
    target = lab_engine.Hook(tiny, hook)
    float32 = lab_engine.STAGES[hook] != "linear"
    for components in lab.COMPONENTS:
        for mode in lab.MODES:
            for freqs in SETS:
                keep = lab.keep_mask(p, freqs, mode, components)
                got = target.logits(keep)
                assert got.shape == (p * p, p) and got.dtype == (np.float32 if float32 else np.float64)
                _close(got, ref.logits(tiny, hook, keep), 1e-5 if float32 else 1e-12)
                # Scored block by block, the same as scoring the logits.
                each, wrong = target.losses(keep, tiny.labels)
                want_each, want_wrong = lab_engine.losses(got, tiny.labels)
                np.testing.assert_allclose(each, want_each, rtol=1e-6, atol=1e-12)
                assert np.array_equal(wrong, want_wrong)


def test_tiles_of_one_row_give_the_same_logits(tiny, monkeypatch):
    keep = lab.keep_mask(tiny.p, (2, 5), "remove", "all")
    whole = {
        hook: lab_engine.Hook(tiny, hook).logits(keep) for hook in ("embed", "pattern", "resid_mid", "pre")
    }
    monkeypatch.setattr(lab_engine, "BLOCK_BYTES", 1)  # every tile is one value of a, a third of b
    tiles = lab_engine._tiles(tiny.p, 100)
    assert len(tiles) == 3 * tiny.p
    covered = np.zeros((tiny.p, tiny.p), dtype=int)
    for a0, a1, b0, b1 in tiles:
        covered[a0:a1, b0:b1] += 1
    assert (covered == 1).all()
    for hook, want in whole.items():
        target = lab_engine.Hook(tiny, hook)
        _close(target.logits(keep), want, 1e-6)  # float32 products of other shapes: rounding
        each, _ = target.losses(keep, tiny.labels)
        np.testing.assert_allclose(each, lab_engine.losses(want, tiny.labels)[0], rtol=1e-5, atol=1e-9)


def test_an_edit_must_keep_the_constant(tiny):
    keep = np.ones((tiny.p // 2 + 1,) * 2, dtype=bool)
    keep[0, 0] = False
    for hook in ("embed", "pre", "post"):
        with pytest.raises(ValueError, match="constant"):
            lab_engine.Hook(tiny, hook).logits(keep)
    with pytest.raises(ValueError, match="hook"):
        lab_engine.Hook(tiny, "z")


def test_the_filter_on_any_mask_is_filter_2d():
    """Random masks, unlike the lab's, are no union of a few lines: the cover still holds."""
    rng = np.random.default_rng(3)
    for p in (7, 13):
        x = rng.normal(size=(p, p, 3))
        for density in (0.05, 0.5, 0.95):
            keep = rng.random((p // 2 + 1, p // 2 + 1)) < density
            want = np.moveaxis(fourier.filter_2d(np.moveaxis(x, -1, 0), keep), 0, -1)
            np.testing.assert_allclose(lab.filter_ab(x, keep), want, atol=1e-12)
            plan = lab_engine.Spectrum(x).plan(keep)
            blocks = [plan.block(a0, min(p, a0 + 2)) for a0 in range(0, p, 2)]
            np.testing.assert_allclose(np.concatenate(blocks), want, atol=1e-12)
            np.testing.assert_allclose(plan.block(1, 4, 2, 6), want[1:4, 2:6], atol=1e-12)
            # Lines read from the whole transforms (the linear stage's way) are the same lines.
            whole = lab_engine.Spectrum(x, whole=True)
            np.testing.assert_allclose(whole.filtered(keep), want, atol=1e-12)
            assert (whole._along_a is not None or whole._along_b is not None) == bool(
                plan.by_row or plan.by_col
            )
    with pytest.raises(ValueError, match="signal"):
        lab_engine.Spectrum(np.zeros((5, 7, 2)))


def test_the_cover_uses_the_fewest_lines_on_the_labs_masks():
    p = 113
    rows = fourier.basis_freqs(p)
    for components, lines in [("along_b", 8), ("all", 16), ("products", 8), ("one_axis", 2)]:
        m = ~lab.keep_mask(p, (5, 8, 44, 50), "remove", components)[np.ix_(rows, rows)]
        by_row, by_col = lab_engine._cover(m)
        assert len(by_row) + len(by_col) == lines, components
        covered = np.zeros_like(m)
        for r, v in by_row.items():
            covered[r] |= v
        for c, v in by_col.items():
            assert not (covered[:, c] & v).any()  # every bin in exactly one line
            covered[:, c] |= v
        assert np.array_equal(covered, m)


def _float64_score(logits, labels, train):
    return lab_engine.score(np.asarray(logits, dtype=np.float64), labels, train)


def test_float32_scoring_is_float64_to_display_precision(tiny):
    """The float32 path (log1p beside the top class) against float64 log-sum-exp on the same
    float32 logits: the model's own (losses near 0 on pairs it fits) and ablated ones."""
    labels, train = tiny.labels, tiny.train_mask
    cases = [tiny.logits, 3 * tiny.logits, 40 * tiny.logits]  # sharper: losses down to ~1e-7 and below
    cases += [lab_engine.Hook(tiny, "pre").logits(lab.keep_mask(tiny.p, (2,), "remove", "all"))]
    for z in cases:
        z = np.asarray(z, dtype=np.float32)
        loss32, acc32, wrong32 = lab_engine.score(z, labels, train)
        loss64, acc64, wrong64 = _float64_score(z, labels, train)
        assert acc32 == acc64 and np.array_equal(wrong32, wrong64)
        for split in lab.SPLITS:
            assert loss32[split] == pytest.approx(loss64[split], rel=1e-5, abs=1e-12), split


@pytest.fixture(scope="module")
def reference_run(reference_path):
    from lens.checkpoint import load

    return run_model(load(reference_path), engine="numpy", all_positions=False)


def test_on_the_reference_an_early_hook_with_its_controls_is_unchanged(reference_run):
    """p = 113 at resid_mid: the key frequencies and their 20 controls, new engine against
    old (the old one, slow, on the chosen set and the first 4 controls)."""
    run, hook = reference_run, "resid_mid"
    keys = lab.frequency_presets(run)["key"]
    got = lab.ablate(run, hook, keys, "remove", "all")
    assert len(got.controls) == lab.N_CONTROLS
    want = ref.losses(run, hook, lab.keep_mask(run.p, keys, "remove", "all"))
    for split in lab.SPLITS:
        assert got.loss[split] == pytest.approx(want[split], rel=1e-4), split
    for control, test_loss in list(zip(got.controls, got.control_loss["test"], strict=True))[:4]:
        old = ref.losses(run, hook, lab.keep_mask(run.p, control, "remove", "all"))["test"]
        assert test_loss == pytest.approx(old, rel=1e-4), control


@pytest.mark.parametrize("hook", ["attn_out", "resid_mid", "pre"])
def test_the_mlp_hooks_filter_the_shared_pre_activations_without_a_copy(tiny, hook):
    """Memory: the hooks before the ReLU read the run's own pre-activations (no concatenated
    copy with the residual's logits), and a plan transforms only the lines it uses."""
    target = lab_engine.Hook(tiny, hook)
    assert np.shares_memory(target.spectrum.x, tiny.acts["pre"])
    assert (target.residual is None) == (hook == "pre")
    plan = target.spectrum.plan(lab.keep_mask(tiny.p, (2,), "remove", "along_b"))
    assert not plan.by_row and len(plan.by_col) == 2  # sin 2 and cos 2 along b, nothing along a
    assert plan.y.shape == (tiny.p, 2, tiny.acts["pre"].shape[1])
