"""Losses and accuracy, computed in float64.

At losses near 1e-7 a float32 log-softmax is visibly off (the correct class's probability
rounds to 1; the claim ``float32-loss`` measures by how much), so every loss here is upcast
first.
"""

from __future__ import annotations

import numpy as np
from jaxtyping import Bool, Float, Int

GROK_ACC = 0.999  # the test accuracy that counts as "grokked" (trainer, history and pages)


def cross_entropy(logits: Float[np.ndarray, "N p"], labels: Int[np.ndarray, " N"]) -> float:
    """Mean cross-entropy in float64 (log-sum-exp shifted by the row maximum)."""
    z = np.asarray(logits, dtype=np.float64)
    if len(z) == 0:
        return float("nan")
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float((log_norm - z[np.arange(len(z)), labels]).mean())


def cross_entropy_float32(logits: Float[np.ndarray, "N p"], labels: Int[np.ndarray, " N"]) -> float:
    """The same cross-entropy computed in float32 throughout, as a float32 ``log_softmax``
    does: what this project avoids, kept to measure how far off it is. Near a loss of 1e-7
    the sum of exponentials rounds to 1 or to 1 + 2^-23, so each example's loss is 0 or a
    multiple of about 1.2e-7."""
    z = np.asarray(logits, dtype=np.float32)
    if len(z) == 0:
        return float("nan")
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1, dtype=np.float32))
    return float((log_norm - z[np.arange(len(z)), labels]).mean(dtype=np.float32))


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(logits).argmax(axis=1) == labels).mean()) if len(labels) else float("nan")


def by_split(fn, logits: np.ndarray, labels: np.ndarray, train: Bool[np.ndarray, " N"]) -> dict[str, float]:
    """``fn`` (a loss or accuracy) on all examples, the train split and the test split."""
    return {
        "all": fn(logits, labels),
        "train": fn(logits[train], labels[train]),
        "test": fn(logits[~train], labels[~train]),
    }
