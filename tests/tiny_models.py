"""Tiny models built from pure sinusoids, for tests that must run in milliseconds.

Imported by the tests as ``tiny_models`` (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import numpy as np

# The frequencies each tiny model's embedding is built from (any distinct 1..p // 2).
TINY_FREQS = {7: [1, 3], 13: [2, 5], 31: [4, 11, 14]}
TINY_DIMS = {"d_model": 16, "n_heads": 2, "d_head": 4, "d_mlp": 24}


def sinusoid_weights(
    p: int,
    freqs: list[int],
    seed: int = 0,
    d_model: int = 16,
    n_heads: int = 2,
    d_head: int = 4,
    d_mlp: int = 24,
) -> dict[str, np.ndarray]:
    """Canonical weights whose number-token embedding ``W_E[:p]`` holds only the cosines and
    sines of ``freqs`` (equal amplitude, one pair of residual dimensions each); every other
    weight is seeded Gaussian noise. Needs ``d_model >= 2 * len(freqs)``."""
    rng = np.random.default_rng(seed)
    n = np.arange(p)
    w_e = np.zeros((p + 1, d_model))
    for k, f in enumerate(freqs):
        w_e[:p, 2 * k] = np.cos(2 * np.pi * f * n / p)
        w_e[:p, 2 * k + 1] = np.sin(2 * np.pi * f * n / p)
    w_e[p] = rng.normal(size=d_model)  # the "=" token: anything
    shapes = {
        "W_pos": (3, d_model),
        "W_Q": (n_heads, d_model, d_head),
        "W_K": (n_heads, d_model, d_head),
        "W_V": (n_heads, d_model, d_head),
        "W_O": (n_heads, d_head, d_model),
        "W_in": (d_model, d_mlp),
        "b_in": (d_mlp,),
        "W_out": (d_mlp, d_model),
        "b_out": (d_model,),
        "W_U": (d_model, p),
    }
    w = {name: rng.normal(scale=0.5, size=s) for name, s in shapes.items()}
    w["W_E"] = w_e
    return {k: v.astype(np.float32) for k, v in w.items()}


def make_checkpoint(p: int, freqs: list[int] | None = None, seed: int = 0):
    from lens.checkpoint import Checkpoint, validate_weights

    raw = sinusoid_weights(p, freqs if freqs is not None else TINY_FREQS[p], seed, **TINY_DIMS)
    cfg, weights = validate_weights(raw, f"<tiny p={p}>")
    return Checkpoint(cfg, weights, {"kind": "seeded", "frac": 0.3, "seed": seed}, f"<tiny p={p}>", "run")
