import numpy as np
import pytest

from lens.token_dependence import PARTS, sum_share, token_dependence

P = 13
A = np.arange(P)[:, None]
B = np.arange(P)[None, :]
W = 2 * np.pi / P


@pytest.mark.parametrize(
    "signal, part",
    [
        (np.cos(3 * W * A) + 0 * B, "a"),
        (np.sin(5 * W * B) + 0 * A, "b"),
        (np.cos(4 * W * (A + B) + 0.3), "a + b"),
        (np.cos(2 * W * (A - B)), "a - b"),
        (np.cos(W * A) * np.cos(2 * W * B), "other"),
    ],
)
def test_pure_signals_land_in_one_part(signal, part):
    shares = token_dependence(signal + 7.0)  # the constant is excluded
    assert shares[part] == pytest.approx(1.0)
    assert sum(shares.values()) == pytest.approx(1.0)


def test_mixture_splits_by_energy_and_sums_over_leading_axes():
    x = np.stack([np.cos(3 * W * A) + 0 * B, 2 * np.cos(3 * W * (A + B))])  # energies 1 : 4
    shares = token_dependence(x)
    assert shares["a"] == pytest.approx(0.2)
    assert shares["a + b"] == pytest.approx(0.8)
    assert sum_share(x) == pytest.approx(0.8)


def test_relu_of_symmetric_neurons_sums_to_a_function_of_a_plus_b():
    # The seed's mock neurons cos(phi - a w) + cos(phi + b w), phases evenly spread: after
    # the ReLU their sum depends on a + b alone; before it, the sum cancels.
    phases = np.arange(16) * 2 * np.pi / 16
    pre = np.cos(phases[:, None, None] - 2 * W * A) + np.cos(phases[:, None, None] + 2 * W * B)
    assert sum_share(np.maximum(pre, 0).sum(0)) == pytest.approx(1.0, abs=1e-3)
    assert sum_share(pre[0]) < 0.01


def test_constant_and_axes():
    assert token_dependence(np.ones((P, P))) == dict.fromkeys(PARTS, 0.0)
    x = np.cos(3 * W * (A + B))[:, :, None] * np.ones(4)  # [a, b, d]
    assert sum_share(x, axes=(0, 1)) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        token_dependence(np.zeros((3, 4)))
