"""The task (a + b) mod p: every input, its label, the train/test splits and the c-order.

Conventions (shared by every module):
- an input is the token row ``[a, b, =]`` with ``=`` the token id p;
- the full dataset has p * p rows in a-major order: row ``a * p + b``;
- the label is ``c = (a + b) mod p``, read from the logits at position 2 (the ``=``).
"""

from __future__ import annotations

import random

import numpy as np
from jaxtyping import Bool, Int


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % k for k in range(2, int(n**0.5) + 1))


def dataset(p: int) -> Int[np.ndarray, "p_sq 3"]:
    """All p * p inputs ``[a, b, p]``, row ``a * p + b``."""
    a, b = np.divmod(np.arange(p * p), p)
    return np.stack([a, b, np.full_like(a, p)], axis=1)


def labels(p: int) -> Int[np.ndarray, " p_sq"]:
    a, b = np.divmod(np.arange(p * p), p)
    return (a + b) % p


def original_split(p: int, frac: float = 0.3, seed: int = 0) -> Bool[np.ndarray, " p_sq"]:
    """The train mask of Nanda et al.'s run, reproduced exactly.

    Their code builds the tuples (i, j, p) for i then j, seeds Python's ``random`` with the
    run's ``config['seed']`` (0 for the published run), shuffles, and trains on the first
    ``int(frac * p * p)``. Torch's RNG plays no part. The global ``random`` state is left
    untouched (a private ``random.Random`` is used).
    """
    pairs = [(i, j) for i in range(p) for j in range(p)]
    random.Random(seed).shuffle(pairs)
    mask = np.zeros(p * p, dtype=bool)
    for i, j in pairs[: int(frac * p * p)]:
        mask[i * p + j] = True
    return mask


def seeded_split(p: int, frac: float, seed: int) -> Bool[np.ndarray, " p_sq"]:
    """A train mask for this project's own runs: a numpy permutation under ``seed``."""
    order = np.random.default_rng(seed).permutation(p * p)
    mask = np.zeros(p * p, dtype=bool)
    mask[order[: int(frac * p * p)]] = True
    return mask


def split_mask(p: int, split: dict) -> Bool[np.ndarray, " p_sq"]:
    """The train mask described by a checkpoint's ``split`` record.

    ``{"kind": "original", "frac": 0.3}`` (optionally with the run's ``"seed"``, 0 when
    absent) or ``{"kind": "seeded", "frac": f, "seed": s}``. Both kinds read ``"seed"``, but
    through different shuffles: Python's ``random`` for the original, numpy's for seeded.
    """
    if split.get("kind") == "seeded":
        return seeded_split(p, float(split["frac"]), int(split["seed"]))
    return original_split(p, float(split.get("frac", 0.3)), int(split.get("seed", 0)))


def c_order(p: int) -> Int[np.ndarray, " p_sq"]:
    """Row indices that sort the dataset stably by c, then a.

    ``x[c_order(p)].reshape(p, p, ...)`` is indexed ``[c, a]`` with ``b = (c - a) mod p``.
    """
    a, b = np.divmod(np.arange(p * p), p)
    c = (a + b) % p
    return np.lexsort((a, c))


def ca_to_ab_index(p: int) -> Int[np.ndarray, "p p"]:
    """For each (c, a), the a-major dataset row of the example with that c and a."""
    c, a = np.divmod(np.arange(p * p), p)
    return (a * p + (c - a) % p).reshape(p, p)
