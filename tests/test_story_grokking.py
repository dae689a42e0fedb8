"""lens.story.grokking: the Grokking page's facts, its snapshot summaries and its charts.

On the made-up history of tests/test_training_story.py (values known by construction), on
the embedded default run's history (skipped while it does not exist; checked against numpy
recomputations from the history's own tables), on tiny sinusoidal checkpoints and on the
published reference checkpoint (skipped when absent).
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from test_training_story import P, _history
from tiny_models import TINY_FREQS, make_checkpoint

from lens.metrics import GROK_ACC
from lens.paths import DEFAULT_RUN
from lens.story import grokking, to_plain
from lens.training_story import GrokkingFacts, Span, default_snapshot, facts, fourier_norms


@pytest.fixture(scope="module")
def default_history():
    if not (DEFAULT_RUN / "history.json").is_file():
        pytest.skip(f"{DEFAULT_RUN / 'history.json'} absent: the default run's training has not finished")
    from lens.history import load_history

    return load_history(DEFAULT_RUN)


# ---------------------------------------------------------------- the made-up run


def test_story_module_is_the_training_story():
    assert grokking.facts is facts and grokking.GrokkingFacts is GrokkingFacts
    f = grokking.facts(_history())
    assert isinstance(f, GrokkingFacts)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.p = 11  # type: ignore[misc]


def test_verdicts_spans_and_derived_values_of_the_made_up_run():
    f = facts(_history())
    assert f.spans == (
        Span("memorisation", 0, 20),
        Span("circuit formation", 20, 50),
        Span("clean-up", 50, 100),
    )
    # test loss 5.0 at step 20 against ln 7 = 1.95: worse than guessing
    assert f.memorised_test_loss_above_chance is True
    # restricted 1.0 at checkpoint 30 against ln 7 / 2 = 0.97: still weak
    assert f.circuit_weak_at_memorised is True
    # restricted 0.2 at checkpoint 60 against test loss 1.0 / 10: not yet ahead
    assert f.circuit_ahead_at_cleanup_start is False
    assert f.excluded_peak_above_chance is True  # 4.0 > 1.95
    assert f.weight_norm_drop == pytest.approx(1 - 7.0 / 14.0)
    assert f.train_frac is None and f.weight_decay is None  # the made-up run has no meta
    assert f.milestones("gini") == [(0, 0.05), (30, 0.1), (60, 0.3), (100, 0.6)]
    assert [s for s, _ in f.milestones("neuron_key_share")] == [0, 30, 60, 100]
    np.testing.assert_array_equal(f.checkpoint_steps, [0, 10, 30, 60, 100])
    np.testing.assert_allclose(f.energy_key_shares, [1 / 3, 2 / 4, 4 / 6, 8 / 10, 16 / 17])
    np.testing.assert_allclose(f.neuron_key_shares, [3 / 8, 3 / 8, 5 / 8, 7 / 8, 1.0])
    np.testing.assert_allclose(f.checkpoint_test_acc, [0.1, 0.2, 0.3, 0.6, 1.0])
    spectrum = _history().spectrum
    np.testing.assert_allclose(f.W_E_norms, np.sqrt(spectrum / P), rtol=1e-6)
    assert f.W_E_norms.dtype == np.float32 and f.W_E_norms.shape == (5, P // 2 + 1)


def test_meta_gives_the_split_and_the_recipe():
    h = _history()
    h.meta = {"split": {"frac": 0.3}, "recipe": {"frac": 0.5, "weight_decay": 1.0}}
    f = facts(h)
    assert (f.train_frac, f.weight_decay) == (0.3, 1.0)  # the split's own fraction wins
    h.meta = {"recipe": {"frac": 0.5, "weight_decay": "heavy"}}
    f = facts(h)
    assert (f.train_frac, f.weight_decay) == (0.5, None)


def test_a_history_without_checkpoints_or_evaluations_has_empty_series():
    h = _history()
    h.checkpoints = h.checkpoints.iloc[:0]
    h.spectrum, h.neurons = h.spectrum[:0], h.neurons[:0]
    f = facts(h)
    assert f.last_step == 100 and f.first_checkpoint is None and f.milestones("gini") == []
    assert f.checkpoint_steps.shape == (0,) and f.circuit_weak_at_memorised is None
    h.curves = h.curves.iloc[:0]
    f = facts(h)
    assert f.spans == () and f.weight_norm_drop is None
    assert f.neuron_key_share_chance == pytest.approx(1 / 3)  # from p and the key frequencies alone


def test_facts_are_json_safe_for_the_cli():
    out = to_plain(facts(_history()))
    text = json.dumps(out, allow_nan=False)
    assert json.loads(text)["spans"][1] == {"name": "circuit formation", "start": 20, "end": 50}
    assert out["checkpoint_steps"] == [0, 10, 30, 60, 100] and out["grokked"] == 90


def test_default_snapshot_is_nearest_the_middle_of_circuit_formation():
    spans = (Span("memorisation", 0, 20), Span("circuit formation", 20, 60))
    assert default_snapshot([0, 30, 50, 100], spans) == 30  # 40 is 10 from both: the earlier
    assert default_snapshot([0, 45, 100], spans) == 45
    assert default_snapshot([0, 10, 70, 90], spans[:1]) == 70  # no circuit formation: the middle one
    with pytest.raises(ValueError):
        default_snapshot([], spans)


# ---------------------------------------------------------------- the default run


def test_default_run_facts_match_the_history_tables(default_history):
    h = default_history
    f = facts(h)
    c, ck = h.curves, h.checkpoints
    grok = np.flatnonzero(c["test_acc"].to_numpy() >= GROK_ACC)
    assert f.grokked == (int(c["step"].iloc[grok[0]]) if len(grok) else None)
    memorised = np.flatnonzero(c["train_acc"].to_numpy() >= 1.0)
    assert f.memorised == int(c["step"].iloc[memorised[0]])
    assert f.last_step == int(c["step"].iloc[-1]) and f.chance_loss == pytest.approx(math.log(h.p))
    # Shares recomputed from the raw tables: energy on the key frequencies over frequencies 1..p//2.
    spec = np.asarray(h.spectrum, dtype=np.float64)
    np.testing.assert_allclose(f.energy_key_shares, spec[:, h.key_freqs].sum(1) / spec[:, 1:].sum(1))
    neurons = np.asarray(h.neurons)
    np.testing.assert_allclose(f.neuron_key_shares, neurons[:, h.key_freqs].sum(1) / neurons[:, 1:].sum(1))
    assert f.d_mlp == int(neurons[-1, 1:].sum())
    # The norms' squares sum to W_E's energy / p on every checkpoint.
    np.testing.assert_allclose((f.W_E_norms.astype(np.float64) ** 2).sum(1), spec.sum(1) / h.p, rtol=1e-5)
    assert f.gini_final == pytest.approx(float(ck["gini_W_E"].iloc[-1]))
    assert f.spans[0].name == "memorisation" and f.spans[0].end == f.memorised


def test_a_default_run_snapshot_reproduces_its_recorded_accuracy(default_history):
    h = default_history
    step = h.snapshot_steps[len(h.snapshot_steps) // 2]
    s = grokking.weights_summary(str(h.snapshot_path(step)))
    recorded = h.checkpoints.set_index("step").loc[step]
    assert s.step == step and s.p == h.p
    assert s.acc["test"] == pytest.approx(float(recorded["test_acc"]), abs=2e-3)
    assert s.acc["train"] == pytest.approx(float(recorded["train_acc"]), abs=2e-3)
    i = int(np.flatnonzero(h.checkpoints["step"].to_numpy() == step)[0])
    np.testing.assert_allclose(s.energy, h.spectrum[i], rtol=1e-3)  # the history keeps 5 digits


# ---------------------------------------------------------------- one set of weights


@pytest.mark.parametrize("p", sorted(TINY_FREQS))
def test_weights_summary_of_a_tiny_sinusoidal_run(tmp_path, p):
    from lens import analysis
    from lens.checkpoint import save_run
    from lens.run import run_model

    ck = make_checkpoint(p)
    path = save_run(tmp_path / "run", ck.weights, ck.split, provenance={"step": 123})
    s = grokking.weights_summary(str(path))
    run = run_model(ck, engine="numpy")
    assert (s.p, s.step) == (p, 123)
    assert s.loss == pytest.approx(analysis.losses(run)) and s.acc == analysis.accuracies(run)
    w_e = np.asarray(ck.weights["W_E"][:p], dtype=np.float64)
    # Built from cosines and sines of TINY_FREQS only: all of its energy is there.
    assert s.key_share(TINY_FREQS[p]) == pytest.approx(1.0)
    assert s.key_share([f for f in range(1, p // 2 + 1) if f not in TINY_FREQS[p]]) == pytest.approx(
        0.0, abs=1e-9
    )
    assert (s.norms**2).sum() == pytest.approx((w_e**2).sum(), rel=1e-6)
    np.testing.assert_allclose(s.norms, fourier_norms(s.energy, p))


def test_weights_summary_of_the_reference_checkpoint(reference_path):
    s = grokking.weights_summary(str(reference_path))
    assert s.p == 113 and s.step is None
    assert s.acc == {"all": 1.0, "train": 1.0, "test": 1.0}
    assert 1e-7 < s.loss["test"] < 1e-6
    # The published key frequencies hold most of W_E's energy.
    assert s.key_share([14, 35, 41, 42, 52]) > 0.9


# ---------------------------------------------------------------- the charts


def test_every_chart_builds_a_spec_with_its_title_and_the_grok_rule():
    import altair as alt

    from ui.figures import grokking as fig

    assert fig.GROK_PCT == "99.9%" and fig.pct(GROK_ACC, 1) == fig.GROK_PCT
    assert fig.pct(None) == "n/a" and fig.pct(0.5, 0) == "50%"
    h = _history()
    f = facts(h)
    scale = ("log", f.last_step)
    with alt.data_transformers.disable_max_rows():
        specs = {
            "Loss over training": fig.loss_chart(h, f, scale).to_dict(),
            "Accuracy over training": fig.accuracy_chart(h, f, scale).to_dict(),
            "progress measures": fig.progress_chart(h, f, scale).to_dict(),
            "Total weight norm": fig.norm_chart(h, f, scale).to_dict(),
            "Gini coefficient": fig.gini_chart(h, f, scale).to_dict(),
            "energy per frequency": fig.spectrum_heatmap(h, f).to_dict(),
            "Neurons by their strongest frequency": fig.neuron_chart(h, f, scale).to_dict(),
        }
    for title, spec in specs.items():
        assert title in spec["title"]["text"], (title, spec["title"])
        assert spec["title"]["fontSize"] == 16
    text = json.dumps(specs["Loss over training"], ensure_ascii=False)
    assert "test accuracy ≥ 99.9% (step 90)" in text and "symlog" in text
    heat = specs["energy per frequency"]
    (rows,) = heat["datasets"].values()
    assert len(rows) == 5 * (P // 2 + 1)
