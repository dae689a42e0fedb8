"""An original progress-measures .pth is split with its own ``config['seed']`` (their
gen_train_test seeds Python's random with it), not always with 0."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from test_checkpoint import to_original_layout
from tiny_models import sinusoid_weights

from lens import task
from lens.checkpoint import CheckpointError, load, save_run
from lens.run import run_model

P = 13


def write_pth(path, config: dict):
    torch.save({"state_dicts": [to_original_layout(sinusoid_weights(P, [2, 5]))], "config": config}, path)
    return path


def their_split(p: int, frac: float, seed: int) -> np.ndarray:
    """Nanda et al.'s gen_train_test, written out: tuples (i, j, p), random.seed(seed),
    random.shuffle, the first int(frac * p^2) train."""
    pairs = [(i, j, p) for i in range(p) for j in range(p)]
    state = random.getstate()
    try:
        random.seed(seed)
        random.shuffle(pairs)
    finally:
        random.setstate(state)
    mask = np.zeros(p * p, dtype=bool)
    for i, j, _ in pairs[: int(frac * p * p)]:
        mask[i * p + j] = True
    return mask


def test_a_pth_is_split_with_its_own_seed(tmp_path):
    ck = load(write_pth(tmp_path / "s7.pth", {"p": P, "frac_train": 0.3, "seed": 7}))
    assert ck.split == {"kind": "original", "frac": 0.3, "seed": 7}
    mask = run_model(ck, engine="numpy").train_mask
    np.testing.assert_array_equal(mask, their_split(P, 0.3, 7))
    assert not np.array_equal(mask, their_split(P, 0.3, 0))  # the old behaviour differs here
    np.testing.assert_array_equal(task.original_split(P, 0.3, seed=7), mask)


def test_a_pth_without_a_seed_uses_0(tmp_path):
    ck = load(write_pth(tmp_path / "none.pth", {"p": P, "frac_train": 0.5}))
    assert ck.split == {"kind": "original", "frac": 0.5}
    np.testing.assert_array_equal(task.split_mask(P, ck.split), their_split(P, 0.5, 0))


@pytest.mark.parametrize("seed", ["7", -1, 1.5, True])
def test_a_pth_with_a_bad_seed_is_refused(tmp_path, seed):
    path = write_pth(tmp_path / "bad.pth", {"p": P, "seed": seed})
    with pytest.raises(CheckpointError, match=r"config\.seed"):
        load(path)


def test_a_run_directory_may_name_the_original_split_seed(tmp_path):
    w = sinusoid_weights(P, [2, 5])
    ck = load(save_run(tmp_path / "r", w, {"kind": "original", "frac": 0.3, "seed": 4}))
    assert ck.split == {"kind": "original", "frac": 0.3, "seed": 4}
    np.testing.assert_array_equal(task.split_mask(P, ck.split), their_split(P, 0.3, 4))
    with pytest.raises(CheckpointError, match=r"config\.split\.seed"):
        load(save_run(tmp_path / "bad", w, {"kind": "original", "frac": 0.3, "seed": "4"}))


def test_the_published_run_keeps_its_split(reference_path):
    from lens.ablation import accuracies, losses

    ck = load(reference_path)
    assert ck.split == {"kind": "original", "frac": 0.3, "seed": 0}
    run = run_model(ck, engine="numpy")
    assert run.train_mask.sum() == 3830
    np.testing.assert_array_equal(run.train_mask, their_split(113, 0.3, 0))
    assert losses(run)["train"] == pytest.approx(9.77e-8, rel=0.01)
    assert accuracies(run) == {"all": 1.0, "train": 1.0, "test": 1.0}
