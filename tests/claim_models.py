"""Tiny transformers built by hand to pass or to fail each claim of :mod:`lens.claims`.

Imported by the tests as ``claim_models`` (pytest puts ``tests/`` on ``sys.path``).

Every model is one layer, no LayerNorm, and works on waves of chosen frequencies. The
residual stream has, per frequency f, six dimensions: a token's wave (cos, sin of w f t)
in slot A, a second slot B (used when attention keeps a and b apart), and the output wave
that W_U reads as cos / sin(w f c). Four more mark the "=" token, positions 0 and 1, and a
constant (for per-answer biases); two more carry a decoy frequency that nothing reads.

- ``attention="constant"``: one head with zero queries and keys, so every input gets 1/3
  on a, b and "="; the values copy slot A, so resid_mid holds E[a] + E[b] (a Pizza's
  midpoint, times two).
- ``"gated"``: the same, but the score on a key is ``gate * cos(w f0 t)`` of its token:
  the weights on a and b differ and resid_mid is no longer additive in (a, b).
- ``"split"``: two heads, one attending position 0 and one position 1 (scores 40 apart),
  copying a into slot A and b into slot B: a Clock's two separate angles.

- ``mlp="relu"``: He et al.'s neurons ``ReLU(cos(w a + phi) + cos(w b + phi) + bias)``
  read out as ``cos(w c + psi)`` with psi = 2 phi (or random, ``random_output_phase``),
  ``phases`` neurons per frequency, phi uniform;
- ``"square"``: (cos(w a + phi) + cos(w b + phi))^2 made of ReLUs (a piecewise-linear
  x^2: ReLU(x - t) + ReLU(-x - t) over knots t), read out as cos(w c + 2 phi);
- ``"product"``: cos(w a + phi) cos(w b + phi) = ((u + v)^2 - (u - v)^2) / 4 from the same
  piecewise-linear squares, which needs ``attention="split"`` (u and v apart). Summed over
  phi it writes exactly cos(w (a + b - c)): Nanda et al.'s Clock.
"""

from __future__ import annotations

import numpy as np

KNOTS = 8  # piecewise-linear x^2 on [-2, 2]: knots at (j + 1/2) * 2 / KNOTS


def wave_model(
    p: int,
    freqs: list[int],
    *,
    attention: str = "constant",
    mlp: str = "relu",
    phases: int = 8,
    scale: float = 1.0,
    bias: float = 0.0,
    gate: float = 3.0,
    random_output_phase: bool = False,
    decoy: int | None = None,
    decoy_amplitude: float = 2.0,
    embed_noise: float = 0.0,
    class_noise: float = 0.0,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Canonical weights (float32) of a hand-built model; see the module docstring."""
    if mlp == "product" and attention != "split":
        raise ValueError("the product MLP needs attention='split' (a and b in separate slots)")
    rng = np.random.default_rng(seed)
    k = len(freqs)
    A, B, OUT = 0, 2 * k, 4 * k  # slot offsets: slot s, frequency j, cos/sin -> s + 2 j (+ 1)
    EQ, P0, P1, ONE, DECOY = 6 * k, 6 * k + 1, 6 * k + 2, 6 * k + 3, 6 * k + 4
    d_model = 6 * k + 6
    n_heads = 2 if attention == "split" else 1
    d_head = 2 * k
    t = np.arange(p)

    w_e = np.zeros((p + 1, d_model))
    for j, f in enumerate(freqs):
        w_e[:p, A + 2 * j] = np.cos(2 * np.pi * f * t / p)
        w_e[:p, A + 2 * j + 1] = np.sin(2 * np.pi * f * t / p)
    w_e[:p, A : A + 2 * k] += embed_noise * rng.normal(size=(p, 2 * k))
    if decoy is not None:
        w_e[:p, DECOY] = decoy_amplitude * np.cos(2 * np.pi * decoy * t / p)
        w_e[:p, DECOY + 1] = decoy_amplitude * np.sin(2 * np.pi * decoy * t / p)
    w_e[p, EQ] = 1.0
    w_pos = np.zeros((3, d_model))
    w_pos[0, P0], w_pos[1, P1] = 1.0, 1.0

    w_q, w_k = np.zeros((n_heads, d_model, d_head)), np.zeros((n_heads, d_model, d_head))
    w_v, w_o = np.zeros((n_heads, d_model, d_head)), np.zeros((n_heads, d_head, d_model))
    for i in range(2 * k):
        w_v[:, A + i, i] = 1.0
    if attention == "split":
        for h, (marker, slot) in enumerate(((P0, A), (P1, B))):
            w_q[h, EQ, 0], w_k[h, marker, 0] = 40.0, np.sqrt(d_head)
            for i in range(2 * k):
                w_o[h, i, slot + i] = 1.0
    else:
        for i in range(2 * k):
            w_o[0, i, A + i] = 3.0  # 1/3 on each of a, b, "=": resid_mid slot A = E[a] + E[b]
        if attention == "gated":
            w_q[0, EQ, 0], w_k[0, A, 0] = gate, np.sqrt(d_head)
        elif attention != "constant":
            raise ValueError(f"attention: {attention!r}")

    cols_in, cols_out, biases = [], [], []
    for j in range(k):
        for phi in 2 * np.pi * np.arange(phases) / phases:
            psi = rng.uniform(-np.pi, np.pi) if random_output_phase else 2 * phi
            a_wave = np.zeros(d_model)  # reads cos(w a + phi) from slot A
            a_wave[A + 2 * j], a_wave[A + 2 * j + 1] = np.cos(phi), -np.sin(phi)
            b_wave = np.roll(a_wave, B - A)  # the same from slot B
            out = np.zeros(d_model)
            out[OUT + 2 * j], out[OUT + 2 * j + 1] = np.cos(psi), -np.sin(psi)
            for w_in, w_out, b_in in _neurons(mlp, a_wave, b_wave, attention == "split"):
                cols_in.append(w_in)
                cols_out.append(scale * w_out * out)
                biases.append(b_in + bias)
    w_u = np.zeros((d_model, p))
    for j, f in enumerate(freqs):
        w_u[OUT + 2 * j] = np.cos(2 * np.pi * f * t / p)
        w_u[OUT + 2 * j + 1] = np.sin(2 * np.pi * f * t / p)
    w_u[ONE] = class_noise * rng.normal(size=p)
    b_out = np.zeros(d_model)
    b_out[ONE] = 1.0
    w = {
        "W_E": w_e,
        "W_pos": w_pos,
        "W_Q": w_q,
        "W_K": w_k,
        "W_V": w_v,
        "W_O": w_o,
        "W_in": np.stack(cols_in, axis=1),
        "b_in": np.array(biases),
        "W_out": np.stack(cols_out),
        "b_out": b_out,
        "W_U": w_u,
    }
    return {name: v.astype(np.float32) for name, v in w.items()}


def _neurons(mlp: str, a_wave: np.ndarray, b_wave: np.ndarray, split: bool):
    """(W_in column, output weight, b_in) of the neurons for one (frequency, phase)."""
    v_wave = b_wave if split else a_wave  # with constant attention slot A holds a and b
    if mlp == "relu":
        yield a_wave + (b_wave if split else 0), 1.0, 0.0
        return
    signs = {"square": (1.0,), "product": (1.0, -1.0)}[mlp]
    step = 2.0 / KNOTS
    for sign in signs:
        x = a_wave + sign * v_wave if split else a_wave  # u + v (constant attention: slot A)
        weight = 2 * step * (sign / 4 if mlp == "product" else 1.0)
        for knot in (np.arange(KNOTS) + 0.5) * step:
            for mirror in (1.0, -1.0):  # ReLU(x - t) + ReLU(-x - t) = ReLU(|x| - t)
                yield mirror * x, weight, -knot


def checkpoint(weights: dict[str, np.ndarray], name: str = "hand-built", split: dict | None = None):
    """A :class:`lens.checkpoint.Checkpoint` of ``weights`` (validated), with a seeded 30%
    split unless one is given."""
    from lens.checkpoint import Checkpoint, validate_weights

    cfg, w = validate_weights(weights, f"<{name}>")
    split = split or {"kind": "seeded", "frac": 0.3, "seed": 0}
    return Checkpoint(cfg, w, split, f"<{name}>", "run")


def run_of(weights: dict[str, np.ndarray], name: str = "hand-built"):
    """The numpy-engine run of a hand-built model."""
    from lens.run import run_model

    return run_model(checkpoint(weights, name), engine="numpy")
