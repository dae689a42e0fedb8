"""lens.training_story: the facts the Grokking page quotes, on small hand-made histories."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lens.history import CURVE_KEYS, SCALAR_KEYS, History, phases
from lens.training_story import (
    Span,
    at_or_after,
    facts,
    fourier_norms,
    key_share,
    nearest,
    phase_of,
    phase_spans,
)

P = 7  # frequencies 0..3


def _history() -> History:
    """A made-up run of p = 7: memorises at step 20, the test loss peaks at step 40 and falls
    more than a decade by step 100; key frequency 2."""
    step = np.arange(0, 101, 10)
    train_acc = np.where(step >= 20, 1.0, 0.5)
    test_acc = np.array([0.1, 0.2, 0.3, 0.3, 0.3, 0.4, 0.6, 0.9, 0.99, 0.9995, 1.0])
    test_loss = np.array([2.0, 3.0, 5.0, 8.0, 9.0, 3.0, 1.0, 0.5, 0.05, 0.01, 0.001])
    train_loss = np.array([2.0, 1.0, 0.1, 0.01, 0.005, 0.004, 0.003, 0.002, 0.0015, 0.001, 0.001])
    norm = np.array([10, 12, 14, 13, 12, 11, 10, 9, 8, 7.5, 7.0])
    curves = pd.DataFrame(
        dict(
            step=step,
            train_loss=train_loss,
            train_acc=train_acc,
            test_loss=test_loss,
            test_acc=test_acc,
            weight_norm=norm,
            wall_s=step / 10.0,
        )
    )[list(CURVE_KEYS)]
    ck_steps = np.array([0, 10, 30, 60, 100])
    i = np.searchsorted(step, ck_steps)
    ck = pd.DataFrame(
        dict(
            step=ck_steps,
            train_loss=train_loss[i],
            test_loss=test_loss[i],
            all_loss=test_loss[i],
            train_acc=train_acc[i],
            test_acc=test_acc[i],
            all_acc=test_acc[i],
            weight_norm=norm[i],
            gini_W_E=[0.05, 0.06, 0.1, 0.3, 0.6],
            restricted_loss=[2.0, 1.9, 1.0, 0.2, 0.001],
            excluded_loss=[2.0, 1.0, 0.5, 4.0, 3.0],
        )
    )[list(SCALAR_KEYS)]
    # energy per frequency 0..3; key frequency 2 grows
    spectrum = np.array([[1, 1, 1, 1], [1, 1, 2, 1], [1, 1, 4, 1], [1, 1, 8, 1], [1, 0.5, 16, 0.5]], float)
    # neurons per frequency (column 0 unused), 8 neurons
    neurons = np.array([[0, 3, 3, 2], [0, 3, 3, 2], [0, 2, 5, 1], [0, 1, 7, 0], [0, 0, 8, 0]])
    return History(
        Path("/nonexistent"),
        P,
        [2],
        curves,
        ck,
        spectrum,
        neurons,
        [0, 60, 100],
        phases(curves),
        {"step": 90, "wall_s": 9.0},
    )


def test_phases_of_the_made_up_run():
    h = _history()
    assert h.phases == {"memorised": 20, "cleanup_start": 50, "grokked": 90, "cleanup_end": 100}


def test_phase_spans_and_phase_of():
    spans = phase_spans({"memorised": 20, "cleanup_start": 50, "cleanup_end": 80}, 100)
    assert spans == [Span("memorisation", 0, 20), Span("circuit formation", 20, 50), Span("clean-up", 50, 80)]
    assert [phase_of(s, spans) for s in (0, 1, 19, 20, 49, 50, 80, 81)] == [
        "initialisation",  # before any update: not yet memorising
        "memorisation",
        "memorisation",
        "circuit formation",
        "circuit formation",
        "clean-up",
        "clean-up",
        "after clean-up",
    ]
    # A boundary not reached ends the spans there; the unfinished phase runs to the last step.
    assert phase_spans({"memorised": 20, "cleanup_start": None}, 100) == [
        Span("memorisation", 0, 20),
        Span("circuit formation", 20, 100),
    ]
    assert phase_spans({"memorised": None}, 100) == [Span("memorisation", 0, 100)]  # still memorising
    assert phase_of(5, []) == "unlabelled"


def test_nearest_and_at_or_after():
    t = pd.DataFrame({"step": [0, 10, 30, 60]})
    assert int(nearest(t, 20)["step"]) == 10  # a tie: the earlier
    assert int(nearest(t, 21)["step"]) == 30
    assert int(at_or_after(t, 11)["step"]) == 30
    assert int(at_or_after(t, 30)["step"]) == 30
    assert int(at_or_after(t, 99)["step"]) == 60  # none after: the last


def test_key_share_and_norms():
    rows = np.array([[5.0, 1, 3, 1], [0, 0, 0, 0]])
    np.testing.assert_allclose(key_share(rows, [2], skip_constant=True), [0.6, 0.0])
    np.testing.assert_allclose(key_share(rows, [2], skip_constant=False), [0.3, 0.0])
    w = np.random.default_rng(0).normal(size=(P, 4))
    from lens.fourier import frequency_energy

    norms = fourier_norms(frequency_energy(w, axis=0), P)
    assert norms.shape == (P // 2 + 1,)
    assert (norms**2).sum() == pytest.approx((w**2).sum())  # squares sum to ||W_E||^2


def test_facts_of_the_made_up_run():
    f = facts(_history())
    assert f.memorised == 20 and f.grokked == 90 and f.cleanup_start == 50
    assert f.chance_loss == pytest.approx(math.log(P))
    assert f.test_acc_at_memorised == 0.3
    assert (f.test_loss_peak, f.test_loss_peak_step) == (9.0, 40)
    assert (f.weight_norm_peak, f.weight_norm_peak_step, f.weight_norm_final) == (14.0, 20, 7.0)
    # Checkpoint facts are read at the first checkpoint at or after the boundary.
    assert f.ck_memorised == 30 and f.ck_cleanup_start == 60
    assert f.restricted_at_memorised == 1.0 and f.restricted_at_cleanup_start == 0.2
    assert (f.excluded_peak, f.excluded_peak_step) == (4.0, 60)
    assert f.train_loss_max_until_excluded_peak == 0.01  # steps 30..60 of the curves
    assert f.gini_start == 0.05 and f.gini_final == 0.6
    assert f.energy_key_share_start == pytest.approx(1 / 3)
    assert f.energy_key_share_final == pytest.approx(16 / 17)
    assert f.neuron_key_share_start == pytest.approx(3 / 8)
    assert f.neuron_key_share_final == 1.0
    assert f.neuron_key_share_chance == pytest.approx(1 / 3)
    assert f.d_mlp == 8
    assert f.grok_wall_s == 9.0


def test_facts_without_grokking_or_checkpoints():
    h = _history()
    h.phases = {"memorised": None, "cleanup_start": None, "grokked": None, "cleanup_end": None}
    h.checkpoints = h.checkpoints.iloc[:0]
    f = facts(h)
    assert f.grokked is None and f.ck_memorised is None and f.gini_final is None
    assert (f.best_test_acc, f.best_test_acc_step) == (1.0, 100)
    h.curves = h.curves.iloc[:0]
    assert facts(h).last_step is None
