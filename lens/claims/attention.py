"""Attention and what it hands the MLP: symmetry in a and b, equal weights, where each row
of resid_mid peaks, additivity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jaxtyping import Float, Int

from .. import fourier
from ..analysis import attention_ab_gap, attention_scores, key_frequencies, swap_symmetry
from ..run import Run
from .core import Claim, Measured, frequency_list, nothing_to_measure, share

# "Nearly all answers": the seed's picture gives 100%; a sign that turns over as a wave does
# gives one half. 90% leaves room for the few answers where A(c) is near zero.
PEAK_THRESHOLD = 0.9
# A head whose score varies by less than this over the tokens (standard deviation, in the
# softmax's units) moves no weight by more than about 0.1%: it weighs every token alike.
FLAT_SCORE = 1e-3


def swap_asymmetry(run: Run) -> Measured:
    """:func:`lens.analysis.swap_symmetry` of resid_mid (and, in details, of resid_post)."""
    mid = swap_symmetry(run, "resid_mid")
    return Measured(mid, {"resid_mid": mid, "resid_post": swap_symmetry(run, "resid_post")})


def attention_weight_gap(run: Run) -> Measured:
    """Per head, the mean over all p * p inputs of |w_a - w_b|, the attention from "=" to a
    and to b (:func:`lens.analysis.attention_ab_gap`); the value is the largest head's."""
    gap = attention_ab_gap(run)
    per_head = ", ".join(f"{g:.2f}" for g in gap)
    return Measured(float(gap.max()), {"per_head": gap}, {"per_head": per_head})


@dataclass(frozen=True)
class RowAmplitudes:
    """resid_mid at "=" in c-order, each row fitted per key frequency as A(c) cos(w (n - c/2)).

    See :func:`row_amplitudes`. Axis ``freq`` follows ``key_freqs``; ``c`` and ``n`` (= a)
    run over 0..p-1."""

    key_freqs: list[int]
    amplitude: Float[np.ndarray, "freq c"]
    """A(c): the fitted amplitude of each row along the frequency's direction, signed so that
    most answers have A(c) > 0."""
    half_wave: Float[np.ndarray, "freq c"]
    """The least-squares fit of A(c) by alpha cos(w c / 2) + beta sin(w c / 2): a wave of half
    the key frequency in c, what a sum u(a) + u(b) of two waves predicts."""
    rows: Float[np.ndarray, "freq c n"]
    """The rows themselves: resid_mid projected onto the direction, each row's mean removed."""
    positive_share: Float[np.ndarray, " freq"]
    """Share of the p answers with A(c) > 0 (no smaller than the share with A(c) < 0, by the
    choice of sign)."""
    sign_changes: Int[np.ndarray, " freq"]
    """How many times A(c) changes sign as c runs from 0 to p - 1."""
    row_fit: Float[np.ndarray, " freq"]
    """Share of the rows' variance (over n, summed over c) that A(c) cos(w (n - c/2)) explains."""
    direction_share: Float[np.ndarray, " freq"]
    """Share of the frequency's amplitude energy (over every residual dimension) along the
    direction: 1 if it points one way for every answer, about 1/2 if it turns in a plane."""
    half_wave_fit: Float[np.ndarray, " freq"]
    """Share of the amplitude energy, every residual dimension, that the half-frequency waves
    cos(w c / 2), sin(w c / 2) explain."""


def row_amplitudes(run: Run) -> RowAmplitudes:
    """Where each row of resid_mid peaks, per key frequency f (w = 2 pi f / p).

    Take resid_mid at "=" in c-order, r[d, c, n] with a = n and b = (c - n) mod p. Swap
    symmetry makes each row even about n = c/2 (c in 0..p-1, as the seed writes it), so its
    frequency-f part is A_d(c) cos(w (n - c/2)), with A_d(c) = (2/p) sum_n r[d, c, n]
    cos(w (n - c/2)) (the least-squares amplitude: sum_n cos^2 = p/2 exactly for p odd).
    The direction of the frequency in d_model is the top left singular vector of the
    [d_model, c] amplitude matrix (not centred, so a constant amplitude is found whole), and
    A(c) is the amplitude along it. A direction's sign means nothing, so the sign is chosen
    to make most A(c) positive (ties: a positive sum); an |A(c)| below 1e-9 of the largest is
    rounding and counts as zero, neither positive nor a change of sign.

    The seed's idealised picture, cos(w (n - c/2)) for every c, has A(c) > 0 for every
    answer. A sum of two waves u(a) + u(b) has A(c) = 2 |U_f| cos(w c/2 + phi): a wave of
    half the key frequency in c, which turns over about f times as c runs from 0 to p - 1
    (for f = 1 with the right phase it keeps one sign)."""
    p, kf = run.p, key_frequencies(run)
    ca = run.by_ca("resid_mid").astype(np.float64)  # [d_model, c, n]
    n, c = np.arange(p), np.arange(p)
    k = len(kf)
    out = {
        "amplitude": np.zeros((k, p)),
        "half_wave": np.zeros((k, p)),
        "rows": np.zeros((k, p, p)),
        "positive_share": np.full(k, np.nan),
        "sign_changes": np.zeros(k, dtype=int),
        "row_fit": np.full(k, np.nan),
        "direction_share": np.full(k, np.nan),
        "half_wave_fit": np.full(k, np.nan),
    }
    for i, f in enumerate(kf):
        w = 2 * np.pi * f / p
        centred = np.cos(w * (n[None, :] - c[:, None] / 2))  # [c, n]
        amps = (2 / p) * np.einsum("dcn,cn->dc", ca, centred)  # [d_model, c]
        energy, vectors = np.linalg.eigh(amps @ amps.T)  # ascending; the top singular pair, cheaply
        if energy[-1] <= 0:
            continue
        direction = vectors[:, -1]
        amp = direction @ amps
        tiny = 1e-9 * np.abs(amp).max()  # rounding, not a sign: counts as zero
        positive, negative = (amp > tiny).sum(), (amp < -tiny).sum()
        if negative > positive or (negative == positive and amp.sum() < 0):
            direction, amp = -direction, -amp
        rows = np.einsum("d,dcn->cn", direction, ca)
        rows -= rows.mean(axis=1, keepdims=True)
        half = np.stack([np.cos(w * c / 2), np.sin(w * c / 2)], axis=1)  # [c, 2]
        coef, *_ = np.linalg.lstsq(half, np.column_stack([amp, amps.T]), rcond=None)
        fitted = half @ coef  # [c, 1 + d_model]: the direction, then every dimension
        signs = np.sign(amp[np.abs(amp) > tiny])
        out["amplitude"][i], out["half_wave"][i], out["rows"][i] = amp, fitted[:, 0], rows
        out["positive_share"][i] = float((amp > tiny).mean())
        out["sign_changes"][i] = int((signs[1:] != signs[:-1]).sum())
        out["row_fit"][i] = share((amp**2).sum() * p / 2, (rows**2).sum())
        out["direction_share"][i] = share(energy[-1], energy.clip(min=0).sum())
        out["half_wave_fit"][i] = 1 - share(((amps.T - fitted[:, 1:]) ** 2).sum(), (amps**2).sum())
    return RowAmplitudes(key_freqs=[int(f) for f in kf], **out)


def peaks_at_c_half(run: Run) -> Measured:
    """The seed's idealised cosines "each peak at n = c/2", tested: per key frequency, the
    share of answers c whose row amplitude A(c) along the frequency's direction in resid_mid
    is positive (:func:`row_amplitudes`, which defines it). The value is the smallest share
    over the key frequencies (the picture must hold for each); one half is what a sign that
    turns over as a wave gives.

    Details, per key frequency: that share, how often A(c) changes sign, the share of the
    rows' variance the fitted A(c) cos(w (n - c/2)) explains, the direction's share of the
    amplitude energy, and the share the half-frequency waves cos(w c/2), sin(w c/2) explain."""
    ra = row_amplitudes(run)
    if not ra.key_freqs:
        return nothing_to_measure("no key frequency")
    per = {
        f: {
            "positive_share": ra.positive_share[i],
            "sign_changes": ra.sign_changes[i],
            "row_fit": ra.row_fit[i],
            "direction_share": ra.direction_share[i],
            "half_wave_fit": ra.half_wave_fit[i],
        }
        for i, f in enumerate(ra.key_freqs)
    }
    shares = _and([f"{d['positive_share']:.0%}" for d in per.values()])
    value = float(np.min(ra.positive_share)) if np.isfinite(ra.positive_share).all() else float("nan")
    keys = ("frequency " if len(ra.key_freqs) == 1 else "frequencies ") + frequency_list(ra.key_freqs)
    fields = {"shares": shares, "keys": keys}
    return Measured(value, {"per_frequency": per}, fields)


def _and(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def head_gates(run: Run, key_freqs: list[int]) -> list[dict]:
    """Each head's score on a (:func:`lens.analysis.attention_scores`) as a wave over the
    token: its spread (standard deviation over the tokens), its dominant frequency and that
    frequency's share of the non-constant energy, and the same for the strongest key
    frequency. A head whose score varies by less than :data:`FLAT_SCORE` is ``flat``: it
    weighs every token alike, and its frequencies are None (there is no wave to read)."""
    out = []
    for score in attention_scores(run):
        spread = float(score.std())
        flat = spread < FLAT_SCORE
        s = fourier.energy_share(score, axis=0)  # [freq 0..p // 2], s[0] = 0
        top = int(np.argmax(s))
        key = max(key_freqs, key=lambda f: s[f]) if key_freqs and not flat else None
        out.append(
            {
                "spread": spread,
                "flat": flat,
                "dominant_frequency": None if flat else top,
                "dominant_share": None if flat else float(s[top]),
                "dominant_key_frequency": key,
                "key_share": float(s[key]) if key is not None else None,
            }
        )
    return out


def cross_terms(run: Run) -> Measured:
    """Share of resid_mid's non-constant energy (at "=", 2-D DFT over (a, b), summed over
    d_model: :func:`lens.fourier.power_2d`) in cross terms, the bins with both frequencies
    non-zero. An additive r(a, b) = u(a) + v(b) has none.

    Details: the share of the cross-term energy at (f, +-f) for the key frequencies f, split
    into sum-type bins (f, f), (-f, -f), a function of a + b, and difference-type (f, -f),
    (-f, f), a function of a - b; and each head's frequency gate (:func:`head_gates`).
    """
    p, kf = run.p, key_frequencies(run)
    power = fourier.power_2d(run.by_ab("resid_mid"))  # [fa, fb] unfolded
    cross = power[1:, 1:].sum()
    idx = np.array([int(f) % p for f in kf], dtype=int)
    sum_type = power[idx, idx].sum() + power[-idx % p, -idx % p].sum()
    diff_type = power[idx, -idx % p].sum() + power[-idx % p, idx].sum()
    heads = head_gates(run, kf)
    details = {
        "cross_share": share(cross, power.sum() - power[0, 0]),
        "key_products_of_cross": share(sum_type + diff_type, cross),
        "sum_type_of_cross": share(sum_type, cross),
        "difference_type_of_cross": share(diff_type, cross),
        "heads": heads,
    }
    fields = {
        "at_keys": details["key_products_of_cross"],
        "heads": ", ".join(
            f"head {h}: " + ("constant" if g["flat"] else str(g["dominant_frequency"]))
            for h, g in enumerate(heads)
        ),
    }
    return Measured(details["cross_share"], details, fields)


CLAIMS = [
    Claim(
        id="swap-symmetry",
        section="attention",
        measure=swap_asymmetry,
        threshold=0.01,
        direction="at_most",
        statement=(
            "What attention hands on is symmetric in a and b: swapping them changes resid_mid by "
            "{value:.2%} of its norm."
        ),
        fails_statement=(
            "What attention hands on is not symmetric in a and b: swapping them changes resid_mid "
            "by {value:.1%} of its norm (more than {threshold:.0%})."
        ),
        method="‖r(a, b) − r(b, a)‖ / ‖r‖ of resid_mid at '=' over all p² pairs (Frobenius norms).",
    ),
    Claim(
        id="attention-weights-equal",
        section="attention",
        measure=attention_weight_gap,
        threshold=0.05,
        direction="at_most",
        statement=(
            "At '=' every head weighs a and b equally: the mean |w_a − w_b| is at most {value:.3f} "
            "per head (heads: {per_head})."
        ),
        fails_statement=(
            "At '=' the heads do not weigh a and b equally, as the seed's hypothesis has it: the "
            "mean |w_a − w_b| per head is {per_head} (more than {threshold})."
        ),
        method=(
            "Per head, mean over all p² pairs of |attention from '=' to a minus to b|; the value "
            "is the largest head's (the seed notebook's claim)."
        ),
    ),
    Claim(
        id="attention-peaks-at-c-half",
        section="attention",
        measure=peaks_at_c_half,
        threshold=PEAK_THRESHOLD,
        direction="at_least",
        statement=(
            "Each row peaks at c/2, as the seed's idealised cosines have it: fitted as "
            "A(c)·cos(ω(n − c/2)) along each key frequency's direction in resid_mid, the "
            "amplitude A(c) keeps one sign for {shares} of the answers at key "
            "{keys} (at least {threshold:.0%} each)."
        ),
        fails_statement=(
            "The rows do not all peak at c/2, as the seed's idealised cosines have it: fitted as "
            "A(c)·cos(ω(n − c/2)) along each key frequency's direction in resid_mid, the "
            "amplitude A(c) is positive for only {shares} of the answers at key "
            "{keys} (the seed's picture needs nearly all, at least {threshold:.0%}) and negative "
            "for the rest, where c/2 is a trough."
        ),
        method=(
            "Per key frequency, A(c) = (2/p) Σₙ r(c, n) cos(ω(n − c/2)) of resid_mid in c-order "
            "along the top singular direction of the amplitudes; the smallest share of answers "
            "with A(c) > 0 (sign chosen for the majority)."
        ),
    ),
    Claim(
        id="attention-additive",
        section="wave-transforms",
        measure=cross_terms,
        threshold=0.01,
        direction="at_most",
        statement=(
            "Attention's output is additive in a and b: terms with both frequencies non-zero hold "
            "only {value:.1%} of resid_mid's non-constant energy."
        ),
        fails_statement=(
            "Attention already mixes: {value:.1%} of resid_mid's non-constant energy is in cross "
            "terms (both frequencies non-zero), {at_keys:.0%} of it at (f, ±f) for key frequencies "
            "f; each head's score is led by one frequency ({heads})."
        ),
        method=(
            "2-D DFT over (a, b) of resid_mid at '=', energy summed over d_model: cross terms "
            "(both frequencies non-zero) over all but the constant."
        ),
    ),
]
