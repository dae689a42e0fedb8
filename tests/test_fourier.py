import numpy as np
import pytest
from tiny_models import TINY_FREQS, sinusoid_weights

from lens import fourier

PRIMES = (7, 13, 31, 113)


@pytest.mark.parametrize("p", PRIMES)
def test_basis_is_orthonormal_and_transform_inverts(p):
    b = fourier.basis(p)
    assert b.shape == (p, p)
    np.testing.assert_allclose(b @ b.T, np.eye(p), atol=1e-12)
    x = np.random.default_rng(p).normal(size=(3, p, 5))
    coeffs = fourier.to_fourier(x, axis=1)
    np.testing.assert_allclose(fourier.from_fourier(coeffs, axis=1), x, atol=1e-12)
    # Parseval: an orthonormal basis keeps the norm
    assert np.linalg.norm(coeffs) == pytest.approx(np.linalg.norm(x))


@pytest.mark.parametrize("p", PRIMES)
def test_basis_rows_are_the_labelled_waves(p):
    labels, freqs = fourier.basis_labels(p), fourier.basis_freqs(p)
    assert labels[:3] == ["const", "sin 1", "cos 1"] and len(labels) == p
    f = p // 3
    wave = np.cos(2 * np.pi * f * np.arange(p) / p)
    c = fourier.to_fourier(wave)
    assert labels[int(np.abs(c).argmax())] == f"cos {f}"
    assert set(freqs[np.abs(c) > 1e-9]) == {f}


@pytest.mark.parametrize("p", sorted(TINY_FREQS))
def test_sinusoid_embeddings_give_exactly_their_frequencies(p):
    w = sinusoid_weights(p, TINY_FREQS[p])
    assert fourier.key_frequencies(w["W_E"][:p]) == TINY_FREQS[p]
    assert fourier.key_frequencies(w["W_E"][:p], k=1)[0] in TINY_FREQS[p]


def test_key_frequencies_threshold_drops_weak_ones():
    p, n = 31, np.arange(31)
    x = np.stack([np.cos(2 * np.pi * 3 * n / p), 0.3 * np.cos(2 * np.pi * 7 * n / p)], axis=1)
    assert fourier.key_frequencies(x) == [3]  # 0.09 of the energy: below one third
    assert fourier.key_frequencies(x, k=2) == [3, 7]


def test_a_constant_embedding_has_no_key_frequencies():
    assert fourier.key_frequencies(np.zeros((13, 4))) == []
    assert fourier.key_frequencies(np.ones((13, 4))) == []


def test_frequency_energy_is_parseval():
    x = np.random.default_rng(0).normal(size=(13, 4))
    e = fourier.frequency_energy(x, axis=0)
    assert e.shape == (7,)
    assert e.sum() == pytest.approx(13 * (x**2).sum())


def test_fold_harmonics_subharmonics_and_sums():
    assert fourier.fold(70, 113) == 43
    assert fourier.fold(-5, 113) == 5 and fourier.fold(113, 113) == 0
    assert fourier.harmonics([14, 35, 41], 113) == [28, 43, 31]
    # 2g = f (mod p), folded: the subharmonic's harmonic is the frequency again
    subs = fourier.subharmonics([14, 35, 41, 42, 52], 113)
    assert subs == [7, 39, 36, 21, 26]
    assert fourier.harmonics(subs, 113) == [14, 35, 41, 42, 52]
    assert fourier.sum_and_difference_frequencies([14, 35], 113) == [21, 28, 43, 49]
    sd = fourier.sum_and_difference_frequencies([1, 2], 7)  # 2, 3, 4 -> 3, 1, 1, 0
    assert sd == [1, 2, 3]


@pytest.mark.parametrize("p", (7, 13, 31))
def test_filter_keeps_and_removes(p):
    n = np.arange(p)
    f1, f2 = 1, p // 2
    x = 2.0 + np.cos(2 * np.pi * f1 * n / p) + np.sin(2 * np.pi * f2 * n / p + 0.4)
    kept = fourier.filter_frequencies(x, [f1])
    np.testing.assert_allclose(kept, np.cos(2 * np.pi * f1 * n / p), atol=1e-12)
    removed = fourier.filter_frequencies(x, [f1], keep=False)
    np.testing.assert_allclose(removed, x - np.cos(2 * np.pi * f1 * n / p), atol=1e-12)
    # along two axes: an outer product keeps only what both axes keep
    xy = np.outer(x, x)
    out = fourier.filter_frequencies(xy, [0, f2], axes=(0, 1))
    y = 2.0 + np.sin(2 * np.pi * f2 * n / p + 0.4)
    np.testing.assert_allclose(out, np.outer(y, y), atol=1e-12)


def test_spectrum_2d_folds_to_half_band():
    p, n = 13, np.arange(13)
    x = np.cos(2 * np.pi * (3 * n[:, None] + 5 * n[None, :]) / p)
    s = fourier.spectrum_2d(x)
    assert s.shape == (7, 7)
    assert np.unravel_index(s.argmax(), s.shape) == (3, 5)
    assert (s**2).sum() == pytest.approx((np.abs(np.fft.fft2(x)) ** 2).sum())


def test_gini():
    assert fourier.gini(np.ones(10)) == pytest.approx(0.0)
    assert fourier.gini(np.r_[np.zeros(99), 1.0]) == pytest.approx(0.99)
