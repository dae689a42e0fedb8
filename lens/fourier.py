"""Fourier analysis on Z_p, the integers mod p, for signals indexed by a token (length p).

Two views of the same transform:
- the *real orthonormal basis* ``[1, sin 1, cos 1, ..., sin K, cos K]`` with K = (p - 1) / 2
  (p odd). Projecting on it gives signed amplitudes, and it inverts exactly;
- *magnitude spectra*: the unnormalised FFT's magnitude at bins 0..p // 2, or the energy
  per frequency (sum of squares over the other axes), the seed's ``get_top_k_freqs``.

Frequencies above the Nyquist limit p / 2 alias: a frequency f is the same as p - f
(:func:`fold`). At p = 113, 35 + 35 = 70 lands on 113 - 70 = 43.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np
from jaxtyping import Float


def n_freqs(p: int) -> int:
    """K, the highest distinct frequency: p // 2 (for odd p, (p - 1) / 2)."""
    return p // 2


@lru_cache(maxsize=16)
def basis(p: int) -> Float[np.ndarray, "p p"]:
    """Rows: the orthonormal real Fourier basis over Z_p, ``[1, sin 1, cos 1, ...]``.

    For even p the last row is the Nyquist cosine alone. Read-only: it is cached.
    """
    n = np.arange(p)
    rows = [np.ones(p) / np.sqrt(p)]
    for f in range(1, n_freqs(p) + 1):
        angle = 2 * np.pi * f * n / p
        if 2 * f == p:
            rows.append(np.cos(angle) / np.sqrt(p))
        else:
            rows += [np.sin(angle) * np.sqrt(2 / p), np.cos(angle) * np.sqrt(2 / p)]
    out = np.stack(rows)
    out.setflags(write=False)
    return out


def basis_labels(p: int) -> list[str]:
    """Names of the basis rows: ``const, sin 1, cos 1, ...``."""
    labels = ["const"]
    for f in range(1, n_freqs(p) + 1):
        labels += [f"cos {f}"] if 2 * f == p else [f"sin {f}", f"cos {f}"]
    return labels


def basis_freqs(p: int) -> np.ndarray:
    """The frequency of each basis row: 0, 1, 1, 2, 2, ..."""
    return np.array([0] + [int(lbl.split()[1]) for lbl in basis_labels(p)[1:]])


def _along_last(x: np.ndarray, axis: int, matrix_of_p) -> np.ndarray:
    """``x @ M`` along ``axis`` as one 2-D BLAS product.

    Why the reshape: numpy's stacked (3-D and up) matmul on a strided view runs ~10-30x
    slower than the same product on a contiguous 2-D array (measured at [128, 113, 113]).
    """
    x = np.ascontiguousarray(np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1))
    m = matrix_of_p(x.shape[-1])
    out = (x.reshape(-1, x.shape[-1]) @ m).reshape(x.shape[:-1] + (m.shape[1],))
    return np.moveaxis(out, -1, axis)


def to_fourier(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Signed amplitudes of ``x`` on the real basis along ``axis`` (length p)."""
    return _along_last(x, axis, lambda p: basis(p).T)


def from_fourier(coeffs: np.ndarray, axis: int = -1) -> np.ndarray:
    """Inverse of :func:`to_fourier`."""
    return _along_last(coeffs, axis, basis)


def magnitude_spectrum(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """|FFT| (unnormalised) along ``axis`` at bins 0..p // 2."""
    return np.abs(np.fft.rfft(np.asarray(x, dtype=np.float64), axis=axis))


def frequency_energy(x: np.ndarray, axis: int = 0) -> Float[np.ndarray, " freq"]:
    """Energy per frequency 0..p // 2: squared FFT magnitude summed over every other axis.

    Bins f and p - f are the same real frequency; rfft keeps one, so for 0 < f < p / 2 the
    energy counts both halves (x2), making the total equal p * ||x||^2 (Parseval).
    """
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, 0)
    p = x.shape[0]
    power = np.abs(np.fft.rfft(x, axis=0)) ** 2
    power = power.reshape(power.shape[0], -1).sum(axis=1)
    doubled = np.ones_like(power) * 2
    doubled[0] = 1
    if p % 2 == 0:
        doubled[-1] = 1
    return power * doubled


def energy_share(x: np.ndarray, axis: int = 0) -> Float[np.ndarray, " freq"]:
    """Each non-zero frequency's share of the non-constant energy (index 0 is 0)."""
    e = frequency_energy(x, axis)
    e[0] = 0.0
    total = e.sum()
    return e / total if total > 0 else e


KEY_FRACTION_OF_MAX = 1 / 3


def key_frequencies(w_e_numbers: np.ndarray, k: int | None = None) -> list[int]:
    """The model's key frequencies, read from the embedding of the number tokens.

    Definition: take W_E over the p number tokens (drop the "=" row), compute the energy of
    each frequency 1..p // 2 summed over d_model, and keep every frequency holding at least
    1/3 of the strongest frequency's energy. With ``k`` given, keep the top k instead (the
    seed's definition, with k = 5). Sorted ascending.

    Footgun: pass ``W_E[:p]`` ([p, d_model]); the seed's 114-point FFT over the "=" column
    as well happens to give the same five frequencies on the published model, but is not a
    transform over Z_p.
    """
    full = frequency_energy(w_e_numbers, axis=0)
    e = full[1:]
    if e.max() <= 1e-12 * full.sum():
        return []  # a constant (e.g. all-zero) embedding has no key frequency, not all of them
    order = np.argsort(-e, kind="stable")
    if k is None:
        chosen = [i for i in order if e[i] >= KEY_FRACTION_OF_MAX * e[order[0]]]
    else:
        chosen = list(order[:k])
    return sorted(int(i) + 1 for i in chosen)


def fold(f: int | np.ndarray, p: int):
    """Fold an integer frequency into 0..p // 2 (aliasing past Nyquist)."""
    f = np.mod(f, p)
    return np.minimum(f, p - f)


def harmonics(freqs: Iterable[int], p: int) -> list[int]:
    """2f for each f, folded below Nyquist: the seed's ``get_harmonics``."""
    return [int(fold(2 * f, p)) for f in freqs]


def subharmonics(freqs: Iterable[int], p: int) -> list[int]:
    """The frequency g with 2g = f (mod p, folded): f / 2 for even f, (p - f) / 2 for odd."""
    return [f // 2 if f % 2 == 0 else (p - f) // 2 for f in freqs]


def sum_and_difference_frequencies(freqs: Sequence[int], p: int) -> list[int]:
    """f1 + f2 and |f1 - f2| for every pair (a frequency with itself too), folded,
    unique, non-zero, sorted."""
    out: set[int] = set()
    for f1 in freqs:
        for f2 in freqs:
            out.add(int(fold(f1 + f2, p)))
            out.add(int(fold(abs(f1 - f2), p)))
    out.discard(0)
    return sorted(out)


def _frequency_mask(p: int, freqs: Iterable[int]) -> np.ndarray:
    """Boolean mask over FFT bins 0..p-1 selecting f and p - f for each f."""
    mask = np.zeros(p, dtype=bool)
    for f in freqs:
        mask[int(f) % p] = True
        mask[(-int(f)) % p] = True
    return mask


def filter_frequencies(
    x: np.ndarray, freqs: Iterable[int], axes: Sequence[int] = (-1,), keep: bool = True
) -> np.ndarray:
    """Keep (``keep=True``) or remove the listed frequencies along each of ``axes``.

    Frequency 0 (the mean) is only affected if it is listed. Removing along one axis is the
    seed's ``remove_freqs_from_hook``; keeping ``[f, 0]`` along two axes is ``pull_out_freqs``.
    Real in, real out.
    """
    out = np.asarray(x, dtype=np.float64)
    freqs = list(freqs)
    for ax in axes:
        p = out.shape[ax]
        mask = _frequency_mask(p, freqs)
        if not keep:
            mask = ~mask
        # The mask selects f and p - f together, so the real half-spectrum (rfft) carries
        # the whole edit: same result as a full complex FFT, about half the work.
        half = mask[: p // 2 + 1]
        shape = [1] * out.ndim
        shape[ax] = len(half)
        out = np.fft.irfft(np.fft.rfft(out, axis=ax) * half.reshape(shape), n=p, axis=ax)
    return out


def spectrum_2d(x: np.ndarray, axes: tuple[int, int] = (-2, -1)) -> np.ndarray:
    """|FFT2| over two token axes, each folded to frequencies 0..p // 2 (energies of f and
    p - f added, so the result is [K + 1, K + 1] on those axes)."""
    power = np.abs(np.fft.fft2(np.asarray(x, dtype=np.float64), axes=axes)) ** 2
    for ax in axes:
        power = _fold_axis(power, ax)
    return np.sqrt(power)


def power_2d(x: np.ndarray, axes: tuple[int, int] = (-2, -1)) -> Float[np.ndarray, "fa fb"]:
    """|FFT2|^2 over two token axes, summed over every other axis: ``[p, p]``, unfolded.

    Bin ``[fa, fb]`` is the component ``exp(2 pi i (fa a + fb b) / p)``: ``[f, f]`` and
    ``[p - f, p - f]`` are the sum-type terms (a function of a + b), ``[f, p - f]`` and
    ``[p - f, f]`` the difference-type ones (a function of a - b). Fold it with
    :func:`fold_power_2d` to put both on ``[f, f]``. Total = p^2 * ||x||^2 (Parseval).
    """
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axes, (-2, -1))
    power = np.abs(np.fft.fft2(x, axes=(-2, -1))) ** 2
    return power.reshape(-1, *power.shape[-2:]).sum(axis=0)


def fold_power_2d(power: Float[np.ndarray, "fa fb"]) -> Float[np.ndarray, "K1 K1"]:
    """Fold an unfolded ``[p, p]`` power map onto frequencies 0..p // 2 on each axis."""
    return _fold_axis(_fold_axis(power, 0), 1)


def filter_2d(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Keep only the 2-D components of ``x`` over its last two axes (``[..., a, b]``) whose
    folded frequency pair ``(fa, fb)`` is marked in ``keep`` (bool ``[K + 1, K + 1]``,
    frequencies 0..p // 2 on each axis); zero the rest. Real in, real (float64) out.

    Footgun: a folded pair is all four bins (+-fa, +-fb), sum- and difference-type
    together; ``keep[f, f]`` keeps cos(w f a) cos(w f b) and every other product of a
    frequency-f wave in a with one in b. Done on the real basis (:func:`basis`): one
    projection per axis, the same result as masking an FFT2 (to 1e-12).
    """
    p = x.shape[-1]
    rows = basis_freqs(p)
    mask = np.asarray(keep, dtype=bool)[np.ix_(rows, rows)]  # [basis row a, basis row b]
    coeffs = to_fourier(to_fourier(x, axis=-1), axis=-2)
    return from_fourier(from_fourier(coeffs * mask, axis=-1), axis=-2)


def _fold_axis(power: np.ndarray, axis: int) -> np.ndarray:
    power = np.moveaxis(power, axis, 0)
    p = power.shape[0]
    k = n_freqs(p)
    folded = power[: k + 1].copy()
    folded[1 : (p + 1) // 2] += power[p - 1 : p // 2 : -1][: (p - 1) // 2]
    return np.moveaxis(folded, 0, axis)


def gini(x: np.ndarray) -> float:
    """The Gini coefficient of non-negative values: 0 when all equal, near 1 when sparse."""
    v = np.sort(np.abs(np.asarray(x, dtype=np.float64)).ravel())
    n = v.size
    if n == 0 or v.sum() == 0:
        return 0.0
    cum = np.cumsum(v)
    return float((n + 1 - 2 * (cum / cum[-1]).sum()) / n)
