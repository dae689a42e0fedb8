"""The published checkpoint reproduces its published facts (skips only if the file is absent)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from lens import analysis

ROOT = Path(__file__).resolve().parent.parent
KEY_FREQS = [14, 35, 41, 42, 52]


def test_key_frequencies(ref_run):
    assert analysis.key_frequencies(ref_run) == KEY_FREQS
    assert analysis.key_frequencies(ref_run, k=5) == KEY_FREQS  # the seed's top-5 reading


def test_every_pair_is_right(ref_run):
    assert ref_run.logits.shape == (113 * 113, 113)
    assert (ref_run.logits.argmax(axis=1) == ref_run.labels).all()
    assert analysis.accuracies(ref_run) == {"all": 1.0, "train": 1.0, "test": 1.0}


def test_float64_losses_on_the_original_split(ref_run):
    assert ref_run.train_mask.sum() == 3830
    loss = analysis.losses(ref_run)
    assert 1e-7 < loss["test"] < 1e-6
    assert 5e-8 < loss["train"] < 2e-7
    assert loss["train"] < loss["all"] < loss["test"]


def test_keeping_only_key_frequencies_does_not_raise_the_loss(ref_run):
    ab = analysis.ablations(ref_run, KEY_FREQS)
    regular, only = ab["regular"], ab["only_key_frequencies"]
    np.testing.assert_allclose(regular["all"], analysis.losses(ref_run)["all"], rtol=1e-3)
    for split in ("all", "test"):
        assert only[split] <= regular[split]
    assert ab["without_sum_difference"]["test"] <= regular["test"]


def test_attention_on_a_and_b_differs_but_the_swap_symmetry_holds(ref_run):
    p = ref_run.p
    gap = analysis.attention_ab_gap(ref_run)
    assert gap.shape == (4,)
    assert (gap > 0.3).all()  # not equal per example (the seed claimed they were)
    pat = ref_run.acts["pattern"].reshape(p, p, 4, 3)  # [a, b, head, key]
    # what holds: the weight on a for (a, b) is the weight on b for (b, a)
    np.testing.assert_allclose(pat[:, :, :, 0], pat.transpose(1, 0, 2, 3)[:, :, :, 1], atol=0.02)
    assert analysis.swap_symmetry(ref_run, "resid_mid") < 0.01
    assert analysis.swap_symmetry(ref_run, "resid_post") < 0.01


def test_report_json_from_the_cli(reference_path):
    res = subprocess.run(
        [sys.executable, "-m", "lens", "report", "--checkpoint", str(reference_path), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)  # exactly one object: json.loads refuses trailing data
    assert isinstance(rep, dict)
    assert list(rep) == [
        "p",
        "key_frequencies",
        "loss",
        "accuracy",
        "key_frequency_energy",
        "neurons_per_frequency",
        "ablations",
    ]
    assert rep["p"] == 113 and rep["key_frequencies"] == KEY_FREQS
    for key in ("loss", "accuracy"):
        assert set(rep[key]) == {"all", "train", "test"}
        assert all(isinstance(v, float) for v in rep[key].values())
    assert rep["accuracy"]["all"] == 1.0 and 1e-7 < rep["loss"]["test"] < 1e-6
    assert 0.5 < rep["key_frequency_energy"] <= 1.0
    npf = rep["neurons_per_frequency"]
    assert set(npf) == {str(f) for f in KEY_FREQS}
    assert all(isinstance(n, int) and n > 0 for n in npf.values()) and sum(npf.values()) == 512
    assert set(rep["ablations"]) == {"regular", "without_sum_difference", "only_key_frequencies"}
    for losses in rep["ablations"].values():
        assert set(losses) == {"all", "train", "test"} and all(0 < v < 1e-5 for v in losses.values())
