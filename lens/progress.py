"""Nanda et al.'s progress measures that read the logits: restricted and excluded loss.

Both act on the logits as functions of the input pair: for each output class c, the column
``logits[:, c]`` is a vector over the p * p inputs (a-major, row ``a * p + b``). A generalising
model writes ``cos(w_k (a + b - c)) = cos(w_k (a + b)) cos(w_k c) + sin(w_k (a + b)) sin(w_k c)``
into it, with ``w_k = 2 pi k / p`` for its key frequencies k, so every column lies mostly in the
span of the *sum directions* ``cos(w_k (a + b))`` and ``sin(w_k (a + b))``.

- **Restricted loss**: keep only the projection of each column onto the constant and the sum
  directions of the key frequencies (two per frequency: ten for five frequencies), then
  cross-entropy over **all** p * p inputs. The constant is the column's mean, which is the
  "bias correction" of the original code. It falls *before* the test loss does: the
  generalising circuit forms while the model still memorises.
- **Excluded loss**: subtract the projections onto the key frequencies' sum directions, keep
  everything else, and evaluate on the **training** split. It rises as the training loss
  comes to rely on the key frequencies rather than on memorisation.

Footguns: the key frequencies are those of the *final* model for every checkpoint (as in the
paper); the logits must be the full dataset in a-major order; losses are float64
(:mod:`lens.metrics`). The directions are those of the original code (``get_component_cos_xpy``
and ``get_component_sin_xpy``), not the 2 x 2 blocks of product terms per frequency.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
from jaxtyping import Bool, Float, Int

from .metrics import cross_entropy


def sum_directions(p: int, freqs: Iterable[int]) -> Float[np.ndarray, "dirs p_sq"]:
    """Unit vectors over the p * p inputs: cos(w_k (a + b)) and sin(w_k (a + b)) for each k.

    Orthonormal for distinct 0 < k < p / 2 (they are Fourier modes of a + b mod p).
    """
    a, b = np.divmod(np.arange(p * p), p)
    s = (a + b) % p
    rows = []
    for k in freqs:
        if not 0 < int(k) < p / 2:
            raise ValueError(f"frequency {k} outside 1..{p // 2}")
        angle = 2 * np.pi * int(k) * s / p
        for wave in (np.cos(angle), np.sin(angle)):
            rows.append(wave / np.linalg.norm(wave))
    return np.stack(rows) if rows else np.zeros((0, p * p))


def key_component(logits: Float[np.ndarray, "p_sq p"], freqs: Iterable[int]) -> Float[np.ndarray, "p_sq p"]:
    """The part of every logit column that lies along the key frequencies' sum directions."""
    z = np.asarray(logits, dtype=np.float64)
    p = z.shape[1]
    if z.shape[0] != p * p:
        raise ValueError(f"expected logits over all {p * p} inputs, found {z.shape[0]} rows")
    u = sum_directions(p, freqs)
    return u.T @ (u @ z)


def restricted_logits(
    logits: Float[np.ndarray, "p_sq p"], freqs: Iterable[int]
) -> Float[np.ndarray, "p_sq p"]:
    """Each column's mean plus its key-frequency component; every other direction removed."""
    z = np.asarray(logits, dtype=np.float64)
    return z.mean(axis=0, keepdims=True) + key_component(z, freqs)


def excluded_logits(logits: Float[np.ndarray, "p_sq p"], freqs: Iterable[int]) -> Float[np.ndarray, "p_sq p"]:
    """The logits with the key frequencies' sum directions removed from every column."""
    z = np.asarray(logits, dtype=np.float64)
    return z - key_component(z, freqs)


def restricted_loss(
    logits: Float[np.ndarray, "p_sq p"], labels: Int[np.ndarray, " p_sq"], freqs: Iterable[int]
) -> float:
    """Cross-entropy of :func:`restricted_logits` over all p * p inputs."""
    return cross_entropy(restricted_logits(logits, freqs), labels)


def excluded_loss(
    logits: Float[np.ndarray, "p_sq p"],
    labels: Int[np.ndarray, " p_sq"],
    train: Bool[np.ndarray, " p_sq"],
    freqs: Iterable[int],
) -> float:
    """Cross-entropy of :func:`excluded_logits` on the training split only."""
    return cross_entropy(excluded_logits(logits, freqs)[train], labels[train])
