"""Attention: every number the page quotes, and the arrays its scopes draw.

:func:`facts` is the page's one typed result (``python -m lens facts attention``); the other
functions are the data behind its charts, each a pure function of a run or of plain
arguments, so the UI caches them by a path string and ints (``ui.data.of_run``,
``of_args``, ``shared_of_run``).

Conventions (see :mod:`lens.run`): every figure is over all p * p inputs (train and test
together), taken at the "=" position; ``[..., a, b]`` puts the token axes last, ``[..., c,
a]`` is the c-order with b = (c - a) mod p. Attention keys are the positions a (0), b (1)
and "=" (2), seen from the query "=".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jaxtyping import Float

from .. import analysis, fourier
from ..claims.attention import RowAmplitudes, head_gates, row_amplitudes
from ..run import Run

GAP_THRESHOLD = 0.1  # |attention to a - attention to b| above this counts as "unequal"
SWAP_NAMES = ("attn_out", "resid_mid", "resid_post")  # the activations whose swap symmetry is quoted


@dataclass(frozen=True)
class AttentionFacts:
    """What the Attention page states about one model, over all p * p inputs."""

    p: int
    """The modulus (number tokens 0..p-1)."""
    key_freqs: list[int]
    """The key frequencies, read from the number-token embedding ``W_E[:p]``
    (:func:`lens.analysis.key_frequencies`), ascending."""
    n_heads: int
    """Attention heads in the one layer."""
    mean_to: Float[np.ndarray, "head key"]
    """Mean attention weight from "=" to each key (a, b, "="), per head, over all inputs; each
    row sums to 1."""
    gap: Float[np.ndarray, " head"]
    """Per head, the mean over all inputs of |attention to a - attention to b|
    (:func:`lens.analysis.attention_ab_gap`)."""
    gap_threshold: float
    """The gap above which an input counts as weighting a and b unequally (:data:`GAP_THRESHOLD`)."""
    frac_gap_over: Float[np.ndarray, " head"]
    """Per head, the share of inputs (0..1) whose |attention to a - attention to b| exceeds
    ``gap_threshold``."""
    swap_weight_gap: Float[np.ndarray, " head"]
    """Per head, the mean over all inputs (a, b) of |weight on a in (a, b) - weight on b in
    (b, a)|: the swap symmetry of the weights themselves."""
    swap_weight_gap_max: float
    """The largest of ``swap_weight_gap`` over the heads."""
    swap_attn_out: float
    """Relative swap asymmetry ||r(a, b) - r(b, a)|| / ||r|| of the attention output
    (:func:`lens.analysis.swap_symmetry`); 0 is exactly symmetric."""
    swap_resid_mid: float
    """The same for ``resid_mid`` (the residual stream right after attention)."""
    swap_resid_post: float
    """The same for ``resid_post`` (the final residual stream)."""
    key_share_ca: float
    """Share (0..1) of ``resid_mid``'s non-constant energy along a, in c-order ([d_model, c,
    a], summed over dimensions and answers), held by the key frequencies."""
    loudest_dim: int
    """The residual dimension whose ``resid_mid`` varies most (largest standard deviation)
    over the inputs: where the resid_mid scopes open."""
    gate_freq: list[int | None]
    """Per head, the frequency that leads its score on a token: the score from "=" to a key
    holding token t is a function of t alone (:func:`lens.analysis.attention_scores`), a wave
    over the tokens, the head's frequency gate (:func:`lens.claims.attention.head_gates`).
    None for a head whose score is flat (it weighs every token alike)."""
    gate_share: Float[np.ndarray, " head"]
    """Per head, that frequency's share (0..1) of the score's non-constant energy (NaN for a
    flat head)."""


def facts(run: Run) -> AttentionFacts:
    """Every number the Attention page quotes, for ``run``."""
    kf = analysis.key_frequencies(run)
    pat = run.by_ab("pattern").astype(np.float64)  # [head, key, a, b]
    # The weight a gets in (a, b) against the weight b gets in (b, a): b's weight with the
    # token axes swapped.
    swap_weight_gap = np.abs(pat[:, 0] - np.swapaxes(pat[:, 1], -1, -2)).mean(axis=(1, 2))
    swap = {name: analysis.swap_symmetry(run, name) for name in SWAP_NAMES}
    ca = run.by_ca("resid_mid")  # [d_model, c, a]
    rm = run.acts["resid_mid"].astype(np.float64)  # [N, d_model]
    gates = head_gates(run, kf)
    return AttentionFacts(
        p=run.p,
        key_freqs=[int(f) for f in kf],
        n_heads=int(pat.shape[0]),
        mean_to=pat.mean(axis=(2, 3)),
        gap=analysis.attention_ab_gap(run),
        gap_threshold=GAP_THRESHOLD,
        frac_gap_over=(np.abs(pat[:, 0] - pat[:, 1]) > GAP_THRESHOLD).mean(axis=(1, 2)),
        swap_weight_gap=swap_weight_gap,
        swap_weight_gap_max=float(swap_weight_gap.max()),
        swap_attn_out=swap["attn_out"],
        swap_resid_mid=swap["resid_mid"],
        swap_resid_post=swap["resid_post"],
        key_share_ca=float(fourier.energy_share(ca, axis=-1)[kf].sum()),
        loudest_dim=int(np.argmax(rm.std(axis=0))),
        gate_freq=[None if g["flat"] else int(g["dominant_frequency"]) for g in gates],
        gate_share=np.array([np.nan if g["flat"] else g["dominant_share"] for g in gates]),
    )


# ---------------------------------------------------------------- defaults the page opens on


def default_c(p: int) -> int:
    """An even answer about 2p/5: c/2 is a whole token, and the example pair, c/2 and
    c/2 + p/2 land apart on the axis instead of crowding its left edge."""
    return min(p - 1, 2 * max(1, round(p / 5)))


def default_a(p: int, c: int) -> int:
    """An example a about p/8 left of c/2, so its partner b sits as far right of it."""
    return int(max(0, c // 2 - max(1, round(p / 8))))


# ---------------------------------------------------------------- what needs no model


@dataclass(frozen=True)
class Examples:
    """The p inputs of every answer c, in c-order (:func:`lens.analysis.examples_for_c`)."""

    a: Float[np.ndarray, "c row"]
    """Row k of answer c holds a = k."""
    b: Float[np.ndarray, "c row"]
    """... and b = (c - k) mod p, so b counts down as a counts up."""
    self_paired: list[int]
    """Per answer c, the row (= a) of the input with a = b, its own mirror image."""
    one_self_pair_each: bool
    """Whether every answer has exactly one self-paired input (true for every odd p)."""


def examples(p: int) -> Examples:
    """The inputs that share an answer, for every answer c."""
    rows = [analysis.examples_for_c(p, c) for c in range(p)]
    return Examples(
        a=np.stack([df["a"].to_numpy() for df in rows]).astype(np.float64),
        b=np.stack([df["b"].to_numpy() for df in rows]).astype(np.float64),
        self_paired=[int(df.loc[df["self_mirror"], "a"].iloc[0]) for df in rows],
        one_self_pair_each=all(int(df["self_mirror"].sum()) == 1 for df in rows),
    )


@dataclass(frozen=True)
class WaveDemo:
    """The reversed-and-shifted demo for one seeded hand-made wave w."""

    rows: Float[np.ndarray, "3 c n"]
    """``[w(n), w((c - n) mod p), their sum]`` for every shift c
    (:func:`lens.analysis.reversed_shifted_waves`)."""
    top_share: float
    """Share (0..1) of w's non-constant energy in its strongest frequency."""
    asym: float
    """Over every shift c, the largest |s(c, n) - s(c, (c - n) mod p)| of the sum s: its
    departure from mirror symmetry about c/2 (rounding only)."""


def wave_demo(p: int, seed: int) -> WaveDemo:
    """The mirror demo for the hand-made wave :func:`lens.analysis.custom_wave` ``(p, seed)``."""
    w = analysis.custom_wave(p, seed)
    rs = analysis.reversed_shifted_waves(w)  # [3, c, n]
    n = np.arange(p)
    c = n[:, None]
    mirrored = rs[2][c, (c - n[None, :]) % p]  # s[c, (c - n) mod p]
    return WaveDemo(
        rows=rs,
        top_share=float(fourier.energy_share(w).max()),
        asym=float(np.abs(rs[2] - mirrored).max()),
    )


def ideal(p: int, key_freqs: tuple[int, ...], c: int) -> Float[np.ndarray, "row a n"]:
    """The idealised cosines for one answer c: one row per key frequency (in the order
    given), the last row their normalised sum (:func:`lens.analysis.idealised_cosine_slice`)."""
    return analysis.idealised_cosine_slice(p, list(key_freqs), c)["cos_wave"]


# ---------------------------------------------------------------- the scopes' big tensors
# Made once per process and shared read-only (ui.data.shared_of_run): contiguous, so a
# scope's slice on every widget change is a cheap view.


def resid_mid_ca(run: Run) -> Float[np.ndarray, "d_model c a"]:
    """resid_mid at "=" in c-order, b = (c - a) mod p."""
    return np.ascontiguousarray(run.by_ca("resid_mid"))


ResidAB = Float[np.ndarray, "d_model a b"]


def resid_mid_swap(run: Run) -> tuple[ResidAB, ResidAB, ResidAB]:
    """resid_mid at "=" as r(a, b), its swap r(b, a) (the token axes transposed), and
    r(a, b) - r(b, a)."""
    x = np.ascontiguousarray(run.by_ab("resid_mid"))
    xt = np.ascontiguousarray(np.swapaxes(x, -1, -2))
    return x, xt, x - xt


def attention_to_a(run: Run) -> Float[np.ndarray, "head a b"]:
    """Attention from "=" to position 0 (token a), per head and input."""
    return np.ascontiguousarray(run.by_ab("pattern")[:, 0])


def head_scores(run: Run) -> Float[np.ndarray, "head token"]:
    """Each head's score from "=" to a key at position 0 holding the token t
    (:func:`lens.analysis.attention_scores`); at position 1 it differs by a constant."""
    return np.ascontiguousarray(analysis.attention_scores(run))


def rows_at_key_frequencies(run: Run) -> RowAmplitudes:
    """resid_mid's rows in c-order fitted as A(c) cos(w (n - c/2)) per key frequency: the
    measurement behind the claim ``attention-peaks-at-c-half``
    (:func:`lens.claims.attention.row_amplitudes`), for the charts."""
    return row_amplitudes(run)
