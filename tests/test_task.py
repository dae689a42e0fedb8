import random

import numpy as np
import pytest

from lens import task


@pytest.mark.parametrize("p", (7, 13, 113))
def test_dataset_and_labels_are_a_major(p):
    d, y = task.dataset(p), task.labels(p)
    assert d.shape == (p * p, 3) and (d[:, 2] == p).all()
    row = 3 * p + 5
    assert (d[row, 0], d[row, 1]) == (3, 5)
    assert (y == (d[:, 0] + d[:, 1]) % p).all()


@pytest.mark.parametrize("p", (7, 13, 113))
def test_c_order_gives_b_equals_c_minus_a(p):
    d = task.dataset(p)[task.c_order(p)].reshape(p, p, 3)  # [c, a, token]
    c = np.arange(p)[:, None]
    a = np.arange(p)[None, :]
    assert (d[..., 0] == a).all()
    assert (d[..., 1] == (c - a) % p).all()
    np.testing.assert_array_equal(task.ca_to_ab_index(p).ravel(), task.c_order(p))


def test_original_split_is_3830_for_113_and_follows_the_procedure():
    p = 113
    mask = task.original_split(p)
    assert mask.sum() == 3830 == int(0.3 * p * p)
    # The documented procedure, written out independently: tuples (i, j, p), random.seed(0),
    # random.shuffle, first int(0.3 p^2) are the training set.
    pairs = [(i, j, p) for i in range(p) for j in range(p)]
    state = random.getstate()
    try:
        random.seed(0)
        random.shuffle(pairs)
    finally:
        random.setstate(state)
    expected = np.zeros(p * p, dtype=bool)
    for i, j, _ in pairs[:3830]:
        expected[i * p + j] = True
    np.testing.assert_array_equal(mask, expected)


def test_original_split_leaves_global_random_alone():
    random.seed(123)
    before = random.random()
    random.seed(123)
    task.original_split(13)
    assert random.random() == before


def test_split_mask_kinds():
    assert task.split_mask(13, {"kind": "original", "frac": 0.3}).sum() == int(0.3 * 169)
    s1 = task.split_mask(13, {"kind": "seeded", "frac": 0.5, "seed": 1})
    s2 = task.seeded_split(13, 0.5, 1)
    assert s1.sum() == 84 and (s1 == s2).all()
    assert not (s1 == task.seeded_split(13, 0.5, 2)).all()
