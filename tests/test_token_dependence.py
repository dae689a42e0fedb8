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


def _by_fft(x: np.ndarray) -> dict[str, float]:
    """The definition: shares of the 2-D FFT's non-constant power on each line of bins."""
    p = x.shape[-1]
    power = (np.abs(np.fft.fft2(x, axes=(-2, -1))) ** 2).reshape(-1, p, p).sum(axis=0)
    power[0, 0] = 0.0
    ka, kb = np.arange(p)[:, None], np.arange(p)[None, :]
    masks = {
        "a": (kb == 0) & (ka != 0),
        "b": (ka == 0) & (kb != 0),
        "a + b": (ka == kb) & (ka != 0),
        "a - b": ((ka + kb) % p == 0) & (ka != 0),
    }
    if p % 2 == 0:
        masks["a - b"] &= ~masks["a + b"]
    out = {k: float(power[m].sum() / power.sum()) for k, m in masks.items()}
    out["other"] = 1.0 - sum(out.values())
    return out


@pytest.mark.parametrize("p", [5, 12, 13, 113])
def test_shares_equal_the_fft_definition(p):
    """The line sums (no FFT) give the FFT's shares, for odd and even p, and per slice."""
    from lens.token_dependence import token_dependence_each

    rng = np.random.default_rng(p)
    a, b = np.arange(p)[:, None], np.arange(p)[None, :]
    x = rng.normal(size=(4, p, p)) + np.cos(2 * np.pi * 3 * (a + b) / p) + (-1.0) ** (a + b)
    want = _by_fft(x)
    got = token_dependence(x)
    assert {k: got[k] for k in PARTS} == pytest.approx(want, abs=1e-12)
    each = token_dependence_each(x)
    for i in range(len(x)):
        assert {k: float(each[k][i]) for k in PARTS} == pytest.approx(_by_fft(x[i]), abs=1e-12)
    moved = np.moveaxis(x, 0, 1)  # token axes (0, 2): not contiguous
    assert token_dependence(moved, axes=(0, 2)) == pytest.approx(got, abs=1e-12)


def test_each_gives_zeros_for_a_constant_slice():
    from lens.token_dependence import token_dependence_each

    x = np.stack([np.full((P, P), 3.0), np.cos(3 * W * A) + 0 * B])
    each = token_dependence_each(x)
    assert [float(each[k][0]) for k in PARTS] == [0.0] * len(PARTS)
    assert float(each["a"][1]) == pytest.approx(1.0)
