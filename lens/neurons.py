"""MLP neurons grouped by the frequency they respond to."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from jaxtyping import Float, Int

from .fourier import basis, basis_freqs

NEURON_BLOCK_VALUES = 2**19  # values per block of neuron_frequency_energy (2 MB of float32)


def neuron_frequency_energy(pre_ab: Float[np.ndarray, "neuron a b"]) -> Float[np.ndarray, "neuron freq"]:
    """Energy of each neuron's pre-activation at each frequency 0..p // 2 along b,
    summed over a (the seed's ``get_top_k_freqs(..., dim=-1, sumlist=[-2])``, squared)."""
    pre_ab = np.asarray(pre_ab)
    n, p = pre_ab.shape[0], pre_ab.shape[-1]
    # Project every row over b on the orthonormal real basis in one float32 BLAS product
    # (about twice as fast as an rfft here), then square in float64. For the orthonormal
    # basis, p * (sin_f^2 + cos_f^2) equals |FFT_f|^2 + |FFT_{p-f}|^2, so the numbers are
    # those of :func:`lens.fourier.frequency_energy` (to float32 rounding, ~1e-7 relative).
    # With the neuron axis last: a run's ``by_ab`` view of [N, neuron] activations is then
    # contiguous, and no transposed copy of all of them is made (it cost more than the product).
    # A block of a at a time: the products of all 113 rows at once held ~100 MB.
    x = np.moveaxis(pre_ab, 0, -1)  # [a, b, neuron]
    b32 = basis(p).astype(np.float32)
    power = np.zeros((p, n))  # [basis row, neuron]
    step = max(1, NEURON_BLOCK_VALUES // max(1, p * n))
    for lo in range(0, x.shape[0], step):
        coeffs = b32 @ x[lo : lo + step].astype(np.float32, copy=False)  # [a, basis row, neuron]
        power += np.square(coeffs, dtype=np.float64).sum(axis=0)
    out = np.zeros((n, p // 2 + 1))
    np.add.at(out.T, basis_freqs(p), power)
    return out * p


def dominant_frequencies(
    pre_ab: Float[np.ndarray, "neuron a b"], allowed: Sequence[int]
) -> Int[np.ndarray, " neuron"]:
    """For each neuron, the allowed (key) frequency with the most energy along b."""
    allowed = np.asarray(sorted(allowed))
    energy = neuron_frequency_energy(pre_ab)[:, allowed]
    return allowed[energy.argmax(axis=1)]


def neurons_per_frequency(dominant: np.ndarray) -> dict[int, int]:
    """How many neurons have each dominant frequency, ascending by frequency."""
    freqs, counts = np.unique(dominant, return_counts=True)
    return {int(f): int(n) for f, n in zip(freqs, counts, strict=True)}
