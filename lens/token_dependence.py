"""How a signal over the two input tokens depends on them: on a alone, on b alone, on
a + b, on a - b, or on something else.

A signal ``x[..., a, b]`` over Z_p x Z_p splits exactly along its 2-D Fourier transform:
a bin (k_a, k_b) with k_b = 0 is a wave in a alone, k_a = 0 in b alone, k_a = k_b (mod p)
a wave in a + b (so in the answer c = a + b mod p), k_a = -k_b (mod p) a wave in a - b.
The bins are disjoint for odd p, so the shares of the energy add up to one (Parseval).
This is how the neuron page measures the "travelling" a + b wave instead of asserting it.
Pure numpy; no streamlit.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from jaxtyping import Float

PARTS = ("a", "b", "a + b", "a - b", "other")


def token_dependence(x: Float[np.ndarray, "... a b"], axes: Sequence[int] = (-2, -1)) -> dict[str, float]:
    """Shares of the non-constant energy of ``x`` over the two token axes.

    Keys :data:`PARTS`: ``"a"`` (a function of a alone), ``"b"``, ``"a + b"`` (of
    (a + b) mod p alone), ``"a - b"``, ``"other"``; they sum to 1 (0 everywhere for a
    constant signal). Energies are summed over every other axis, so a ``[d_model, a, b]``
    residual stream gives one answer for all its directions.

    Footgun: the constant over (a, b) (bin (0, 0)) is excluded from the total, so a large
    bias does not dilute the shares. Both token axes must have the same length p.
    """
    energy, total, everything = _line_energies(x, axes)
    energy = {k: v.sum() for k, v in energy.items()}
    total, everything = total.sum(), everything.sum()
    if total <= 1e-24 * everything or total <= 0:  # constant up to rounding
        return dict.fromkeys(PARTS, 0.0)
    out = {name: float(max(0.0, e) / total) for name, e in energy.items()}
    out["other"] = max(0.0, 1.0 - sum(out.values()))
    return out


def token_dependence_each(x: Float[np.ndarray, "n a b"]) -> dict[str, Float[np.ndarray, " n"]]:
    """:func:`token_dependence` of each ``x[i]`` (token axes last), as one array per part:
    ``[token_dependence(x[i])[k] for i in range(n)]`` for each key k, in one pass."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"expected [n, a, b], found shape {x.shape}")
    energy, total, everything = _line_energies(x, (-2, -1))
    constant = (total <= 1e-24 * everything) | (total <= 0)
    safe = np.where(constant, 1.0, total)
    out = {k: np.where(constant, 0.0, np.maximum(e, 0.0) / safe) for k, e in energy.items()}
    out["other"] = np.where(constant, 0.0, np.maximum(0.0, 1.0 - sum(out.values())))
    return out


def _line_energies(
    x: np.ndarray, axes: Sequence[int]
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Per slice over the token axes (every other axis flattened): the energy of the 2-D
    Fourier bins of each part, the non-constant energy, and the whole energy.

    Without an FFT (p is often prime, 113, where it is slow): each part's bins lie on one line
    through the origin, and by Parseval the energy on a line is p times the squared norm of
    the signal summed along the other direction. Bins (k, 0) are the FFT of the sums over b,
    (0, k) of those over a, (k, k) of the sums over a + b = c (mod p), (k, -k) over
    a - b = c. Each line holds bin (0, 0), the squared sum, which is taken out. Equal to
    the FFT's shares to rounding (tests/test_token_dependence.py)."""
    x = np.moveaxis(np.asarray(x, dtype=np.float64), tuple(axes), (-2, -1))
    p, q = x.shape[-2:]
    if p != q:
        raise ValueError(f"token axes must have the same length, found {p} and {q}")
    x = x.reshape(-1, p, p)
    a = np.arange(p)
    const = x.sum(axis=(-2, -1)) ** 2  # |F(0, 0)|^2 per slice
    line = lambda sums: p * (sums**2).sum(axis=-1) - const  # noqa: E731
    energy = {
        "a": line(x.sum(axis=-1)),
        "b": line(x.sum(axis=-2)),
        "a + b": line(_sums_along_a_plus_b(x)),
        # b -> p - 1 - b turns a - b into a + b, up to a shift of c that the energy ignores
        "a - b": line(_sums_along_a_plus_b(x[..., ::-1])),
    }
    if p % 2 == 0:  # k = p/2 is on both diagonals: count it once, as a + b
        sign = (-1.0) ** (a[:, None] + a[None, :])
        energy["a - b"] = energy["a - b"] - (x * sign).sum(axis=(-2, -1)) ** 2
    everything = p * p * (x**2).sum(axis=(-2, -1))
    return energy, everything - const, everything


def _sums_along_a_plus_b(x: Float[np.ndarray, "n a b"]) -> Float[np.ndarray, "n c"]:
    """``out[i, c] = sum over a of x[i, a, (c - a) mod p]``: row a of each x[i] added in at
    its shift, two slices per row. Measured at [128, 113, 113]: 6.5 ms, against 16.5 ms for a
    strided view of x written twice side by side (a copy of twice x's size)."""
    n, p = x.shape[0], x.shape[-1]
    out = np.zeros((n, p), dtype=np.result_type(x.dtype, np.float64))
    for a in range(p):
        row = x[:, a]  # [n, b], b = (c - a) mod p
        out[:, a:] += row[:, : p - a]
        out[:, :a] += row[:, p - a :]
    return out


CHUNK_VALUES = 2**19  # values per FFT block of power_over_tokens: ~8 MB of complex128


def power_over_tokens(x: Float[np.ndarray, "... a b"]) -> Float[np.ndarray, "a b"]:
    """|FFT2|^2 over the last two axes, summed over every other axis (float64), computed a
    block of leading rows at a time so that the complex transform never holds more than
    :data:`CHUNK_VALUES` values (a ``[d_model, a, b]`` stream whole would be 26 MB)."""
    x = np.asarray(x)
    p, q = x.shape[-2:]
    # [rows, a, b]: a 3-D view (a transposed run, say) is sliced as it is, block by block.
    flat = x[None] if x.ndim == 2 else x if x.ndim == 3 else x.reshape(-1, p, q)
    step = max(1, CHUNK_VALUES // max(1, p * q))
    power = np.zeros((p, q))
    for lo in range(0, len(flat), step):
        block = np.fft.fft2(flat[lo : lo + step].astype(np.float64, copy=False), axes=(-2, -1))
        power += (block.real**2 + block.imag**2).sum(axis=0)
    return power


def shares_of_power(power: Float[np.ndarray, "p p"]) -> dict[str, float]:
    """:func:`token_dependence`'s shares from a power map ``[p, p]`` (|FFT2|^2 summed over
    every other axis, unfolded: :func:`power_over_tokens`); for a caller that adds the power
    of a tensor up block by block."""
    power = np.array(power, dtype=np.float64)
    p = power.shape[-1]
    everything = power.sum()
    power[0, 0] = 0.0
    total = power.sum()
    if total <= 1e-24 * everything or total == 0:  # constant up to rounding
        return dict.fromkeys(PARTS, 0.0)
    ka = np.arange(p)[:, None]
    kb = np.arange(p)[None, :]
    masks = {
        "a": (kb == 0) & (ka != 0),
        "b": (ka == 0) & (kb != 0),
        "a + b": (ka == kb) & (ka != 0),
        "a - b": ((ka + kb) % p == 0) & (ka != 0),
    }
    if p % 2 == 0:  # k = p/2 is on both diagonals: count it once, as a + b
        masks["a - b"] &= ~masks["a + b"]
    out = {name: float(power[m].sum() / total) for name, m in masks.items()}
    out["other"] = max(0.0, 1.0 - sum(out.values()))
    return out


def sum_share(x: Float[np.ndarray, "... a b"], axes: Sequence[int] = (-2, -1)) -> float:
    """Share of the non-constant energy of ``x`` that is a function of (a + b) mod p alone."""
    return token_dependence(x, axes)["a + b"]
