"""Synthetic waves for the demos: no model involved, only p and a few frequencies.

Every signal here is indexed by a token value 0..p-1 along its last axis (or its last two
axes, ``[a, b]``), so the real Fourier basis of :mod:`lens.fourier` applies to it directly.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from jaxtyping import Float

from .fourier import fold


def make_wave(p: int, f: int, phase: float = 0.0) -> Float[np.ndarray, " n"]:
    """``cos(2 pi f n / p + phase)`` for n = 0..p-1 (float64)."""
    return np.cos(2 * np.pi * f * np.arange(p) / p + phase)


def product_frequencies(f1: int, f2: int, p: int) -> tuple[int, int]:
    """The (sum, difference) frequencies of the product of waves at f1 and f2, folded.

    cos(x) cos(y) = (cos(x + y) + cos(x - y)) / 2. Past Nyquist (p / 2) the sum aliases:
    at p = 113, 35 + 35 = 70 is heard at 113 - 70 = 43. A difference of 0 is a constant.
    """
    return int(fold(f1 + f2, p)), int(fold(abs(f1 - f2), p))


def relu_sweep(
    x: Float[np.ndarray, "... n"], steps: int | None = None
) -> Float[np.ndarray, "threshold ... n"]:
    """The seed's ``relu_demo``: a threshold sweeping down through ``x``.

    Slice t is ``relu(x - (max - min) * t / steps - min)`` for t = 0..steps-1, with max and
    min taken over *all* of ``x`` (not per row). Slice 0 is ``x - min`` (nothing cut); the
    last slice cuts all but the top 1/steps of the range. ``steps`` defaults to the length
    of the last axis (p), as in the seed. Watch the harmonics grow in the Fourier view.
    """
    x = np.asarray(x, dtype=np.float64)
    steps = x.shape[-1] if steps is None else int(steps)
    lo, hi = x.min(), x.max()
    t = np.arange(steps).reshape((steps,) + (1,) * x.ndim)
    return np.maximum(x[None] - (hi - lo) * t / steps - lo, 0.0)


def custom_wave(p: int, seed: int = 0) -> Float[np.ndarray, " n"]:
    """A hand-made-looking length-p signal with little sinusoidal content.

    Piecewise: ramps, flat steps and uniform-noise segments at random breakpoints, scaled
    to [-1, 1]. Seeded (the seed's ``make_custom_wave`` was not), so every reader sees the
    same wave for the same ``seed``.
    """
    rng = np.random.default_rng(seed)
    n_seg = max(2, min(7, p // 8))
    cuts = np.sort(rng.choice(np.arange(1, p), size=n_seg - 1, replace=False))
    out = np.empty(p)
    level = 0.0
    first = int(rng.integers(3))
    for k, (lo, hi) in enumerate(zip(np.r_[0, cuts], np.r_[cuts, p], strict=True)):
        n = hi - lo
        kind = (first + k) % 3  # cycle the three kinds so each appears once p >= 24
        if kind == 0:  # ramp from the current level to a new one
            end = rng.uniform(-1, 1)
            out[lo:hi] = np.linspace(level, end, n)
            level = end
        elif kind == 1:  # flat step
            level = rng.uniform(-1, 1)
            out[lo:hi] = level
        else:  # noise
            out[lo:hi] = rng.uniform(-1, 1, n)
            level = out[hi - 1]
    out -= out.min()
    span = out.max()
    return 2 * out / span - 1 if span > 0 else out


def reversed_shifted_waves(w: Float[np.ndarray, " n"]) -> Float[np.ndarray, "3 c n"]:
    """Rows ``[w, w reversed and shifted by c, their sum]``, for every shift c.

    ``out[1, c, n] = w[(c - n) mod p]``: the way b = (c - a) mod p indexes the same wave
    backwards. The sum ``w[n] + w[(c - n) mod p]`` is unchanged by n -> c - n, so it is
    symmetric about n = c/2 and also about c/2 + p/2 (mod p): two mirror points, whatever
    the shape of ``w``. Row 0 repeats ``w`` for every c.
    """
    w = np.asarray(w, dtype=np.float64)
    p = w.shape[-1]
    n = np.arange(p)
    rev = w[(n[:, None] - n[None, :]) % p]  # [c, n]
    return np.stack([np.broadcast_to(w, (p, p)), rev, w[None] + rev])


def symmetry_points(c: float, p: int) -> tuple[float, float]:
    """The two mirror points of a wave symmetric under n -> c - n (mod p):
    ``c / 2`` and ``(c / 2 + p / 2) mod p``. Half-integers when c (resp. c + p) is odd."""
    return c / 2, (c / 2 + p / 2) % p


def _symmetry_columns(c: int, p: int) -> list[int]:
    """The integer token values at, or next to, each symmetry point (the seed's three
    or so columns: c/2 exactly when c is even, else its two neighbours; same for c/2 + p/2)."""
    cols: set[int] = set()
    for s in symmetry_points(c, p):
        cols.update({int(np.floor(s)) % p, int(np.ceil(s)) % p})
    return sorted(cols)


IDEAL_NAMES = ("cos_wave", "pos a", "pos b", "pos c")


def idealised_cosine_slice(
    p: int, key_freqs: Sequence[int], c: int
) -> dict[str, Float[np.ndarray, "freq a b"]]:
    """One answer c of the seed's ``construct_resid_post_model``, float32.

    For each key frequency f (rows, in the order given) plus a last row holding their sum
    divided by ``len(key_freqs)`` (the global maximum of that sum, reached at b = c/2 for
    even c, so every slice shares one scale):

    - ``cos_wave[f, a, b] = cos(w_f (b - c/2))``, w_f = 2 pi f / p: the same for every a;
    - ``pos a``: that wave only where b = a (zero elsewhere);
    - ``pos b``: only where b = (c - a) mod p, the other token of the example;
    - ``pos c``: only at the integer b at or beside the symmetry points c/2, c/2 + p/2.

    Footgun: the last axis is b but the markers are the *example's* a and b: as a scrolls,
    ``pos a`` and ``pos b`` move in opposite directions, mirrored about c/2.
    """
    freqs = np.asarray(list(key_freqs), dtype=np.float64)
    n = np.arange(p)
    cos = np.cos(2 * np.pi * freqs[:, None] * (n[None, :] - c / 2) / p)  # [f, b]
    cos = np.concatenate([cos, cos.sum(0, keepdims=True) / max(len(freqs), 1)])
    wave = np.broadcast_to(cos[:, None, :], (len(cos), p, p)).astype(np.float32)
    out = {"cos_wave": wave}
    for name, cols in (
        ("pos a", n),  # b = a
        ("pos b", (c - n) % p),  # b = c - a
    ):
        m = np.zeros_like(wave)
        m[:, n, cols] = wave[:, n, cols]
        out[name] = m
    m = np.zeros_like(wave)
    sym = _symmetry_columns(c, p)
    m[:, :, sym] = wave[:, :, sym]
    out["pos c"] = m
    return out


def idealised_cosine_model(p: int, key_freqs: Sequence[int]) -> dict[str, Float[np.ndarray, "freq c a b"]]:
    """All answers c of :func:`idealised_cosine_slice`, stacked on axis 1.

    Large: 4 x (len(key_freqs) + 1) x p^3 float32 (about 140 MB at p = 113 with 5 key
    frequencies). An app should call :func:`idealised_cosine_slice` for the c on screen.
    """
    slices = [idealised_cosine_slice(p, key_freqs, c) for c in range(p)]
    return {name: np.stack([s[name] for s in slices], axis=1) for name in IDEAL_NAMES}


def mock_neurons(p: int, freq: int, n: int, symmetric: bool = False) -> Float[np.ndarray, "neuron a b"]:
    """Idealised neurons of one frequency with phases ``phi_k = -pi + 2 pi k / n``.

    Default (the seed's sign convention): ``cos(phi - a w) + cos(phi + b w)``, w = 2 pi f / p.
    Footgun: that is phase -phi along a but +phi along b, so the mock is *not* symmetric
    under a <-> b. Its unweighted post-ReLU sum over neurons depends on a + b only, which
    is what the seed's running-sum demo shows. The measured neurons of the reference model
    are symmetric, ``cos(a w + phi) + cos(b w + phi)`` (same phase on both axes, checked in
    the tests); ``symmetric=True`` builds that form, whose plain sum depends on a - b and
    needs the W_out weights to produce an a + b wave.
    """
    w = 2 * np.pi * freq / p
    phases = np.arange(n) * 2 * np.pi / n - np.pi
    t = np.arange(p) * w
    sign_a = 1.0 if symmetric else -1.0
    along_a = np.cos(phases[:, None] + sign_a * t[None, :])  # [neuron, a]
    along_b = np.cos(phases[:, None] + t[None, :])  # [neuron, b]
    return along_a[:, :, None] + along_b[:, None, :]


def running_sums(
    pre: Float[np.ndarray, "neuron a b"], weights: Float[np.ndarray, " neuron"] | None = None
) -> dict[str, Float[np.ndarray, "neuron a b"]]:
    """Cumulative sums over the neuron axis, with and without the ReLU.

    The seed's ``running_sum_with_and_without_relu``: each neuron's wave is multiplied by
    its weight (e.g. ``W_out[neurons, d]`` for one residual direction d; all ones when
    ``weights`` is None) and summed over neurons 0..k. Keys:

    - ``pre_relu`` / ``post_relu``: running sums of ``w * pre`` / ``w * relu(pre)``;
      slice k is the sum of neurons 0..k, the last slice the total;
    - ``pre_relu_waves`` / ``post_relu_waves``: the weighted per-neuron waves themselves.

    Footgun: the order of the neuron axis matters for every slice but the last; sort the
    neurons by phase first (:func:`lens.analysis.phase_order`). Not normalised: the seed
    rescaled and offset the curves for one plot, which is the chart's job.
    """
    pre = np.asarray(pre, dtype=np.float64)
    wts = np.ones(len(pre)) if weights is None else np.asarray(weights, dtype=np.float64)
    if wts.shape != (len(pre),):
        raise ValueError(f"weights: expected shape ({len(pre)},), found {wts.shape}")
    pre_w = pre * wts[:, None, None]
    post_w = np.maximum(pre, 0.0) * wts[:, None, None]
    return {
        "pre_relu": np.cumsum(pre_w, axis=0),
        "post_relu": np.cumsum(post_w, axis=0),
        "pre_relu_waves": pre_w,
        "post_relu_waves": post_w,
    }
