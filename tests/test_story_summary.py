"""lens.story.summary and lens.story.glossary: the Summary and Glossary pages' facts, against
values recomputed here from the run's raw weights and activations, on tiny sinusoidal
models (p = 7, 13, 31)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from tiny_models import TINY_FREQS

from lens.claims import CLAIMS
from lens.story import facts, glossary, summary, to_plain


def _key_share(run, kf) -> float:
    """Fraction of W_E[:p]'s squared norm at the key frequencies, by a plain FFT."""
    we = np.asarray(run.weights["W_E"][: run.p], dtype=np.float64)
    power = (np.abs(np.fft.fft(we, axis=0)) ** 2).sum(axis=1)
    return float(sum(power[f] + power[run.p - f] for f in kf) / power.sum())


def test_every_stage_names_registered_claims_in_the_signal_order():
    assert list(summary.STAGE_CLAIMS) == ["embedding", "attention", "mlp", "neurons", "logits"]
    for ids in summary.STAGE_CLAIMS.values():
        assert ids and all(i in CLAIMS for i in ids)


def test_summary_figures_are_the_models_own(tiny_run):
    run = tiny_run
    f = facts("summary", run)
    assert dataclasses.is_dataclass(f) and f.p == run.p
    assert f.key_freqs == sorted(TINY_FREQS[run.p])
    assert (f.d_model, f.n_heads, f.d_mlp) == (run.cfg.d_model, run.cfg.n_heads, run.cfg.d_mlp)
    by = {s.key: s for s in f.stages}
    assert [s.key for s in f.stages] == list(summary.STAGE_CLAIMS)
    assert all(s.claims == summary.STAGE_CLAIMS[s.key] for s in f.stages)
    assert by["embedding"].value == pytest.approx(_key_share(run, f.key_freqs), rel=1e-6)
    x = np.asarray(run.acts["resid_mid"], dtype=np.float64).reshape(run.p, run.p, -1)
    asym = np.linalg.norm(x - x.transpose(1, 0, 2)) / np.linalg.norm(x)
    assert by["attention"].value == pytest.approx(asym, rel=1e-6, abs=1e-12)
    assert by["mlp"].value == pytest.approx(float(np.mean(run.acts["pre"] < 0)))
    assert sum(f.neurons_per_frequency.values()) == run.cfg.d_mlp
    assert by["neurons"].value == len(f.neurons_per_frequency)
    test = ~run.train_mask
    acc = float(np.mean(run.logits[test].argmax(axis=1) == run.labels[test]))
    assert by["logits"].value == pytest.approx(acc) == pytest.approx(f.test_accuracy)
    json.dumps(to_plain(f), allow_nan=False)


def test_glossary_values_are_the_models_own(tiny_run):
    from lens import progress

    run = tiny_run
    g = facts("glossary", run)
    assert (g.p, g.d_model, g.d_mlp, g.n_heads) == (run.p, run.cfg.d_model, run.cfg.d_mlp, run.cfg.n_heads)
    assert g.shapes == {m: tuple(run.weights[m].shape) for m in glossary.MATRICES}
    assert g.shapes["W_E"] == (run.p + 1, g.d_model) and g.shapes["W_U"] == (g.d_model, run.p)
    assert g.key_freqs == sorted(TINY_FREQS[run.p])
    assert g.n_train == int(run.train_mask.sum()) and g.n_all == run.p**2
    kf = g.key_freqs
    assert g.restricted_loss == pytest.approx(progress.restricted_loss(run.logits, run.labels, kf))
    assert g.excluded_loss == pytest.approx(
        progress.excluded_loss(run.logits, run.labels, run.train_mask, kf)
    )
    # The two measures differ in which directions they keep: they cannot both be the full loss.
    assert g.restricted_loss != pytest.approx(g.excluded_loss)
