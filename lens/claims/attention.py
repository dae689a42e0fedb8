"""Attention and what it hands the MLP: symmetry in a and b, equal weights, additivity."""

from __future__ import annotations

import numpy as np

from .. import fourier
from ..analysis import attention_ab_gap, attention_scores, key_frequencies, swap_symmetry
from ..run import Run
from .core import Claim, Measured, share


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


def _head_gates(run: Run, key_freqs: list[int]) -> list[dict]:
    """Each head's score on a (:func:`lens.analysis.attention_scores`) as a wave over the
    token: its dominant frequency and that frequency's share of the non-constant energy,
    and the same for the strongest key frequency."""
    out = []
    for score in attention_scores(run):
        s = fourier.energy_share(score, axis=0)  # [freq 0..p // 2], s[0] = 0
        top = int(np.argmax(s))
        key = max(key_freqs, key=lambda f: s[f]) if key_freqs else None
        out.append(
            {
                "dominant_frequency": top,
                "dominant_share": float(s[top]),
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
    (-f, f), a function of a - b; and each head's frequency gate (:func:`_head_gates`).
    """
    p, kf = run.p, key_frequencies(run)
    power = fourier.power_2d(run.by_ab("resid_mid"))  # [fa, fb] unfolded
    cross = power[1:, 1:].sum()
    idx = np.array([int(f) % p for f in kf], dtype=int)
    sum_type = power[idx, idx].sum() + power[-idx % p, -idx % p].sum()
    diff_type = power[idx, -idx % p].sum() + power[-idx % p, idx].sum()
    heads = _head_gates(run, kf)
    details = {
        "cross_share": share(cross, power.sum() - power[0, 0]),
        "key_products_of_cross": share(sum_type + diff_type, cross),
        "sum_type_of_cross": share(sum_type, cross),
        "difference_type_of_cross": share(diff_type, cross),
        "heads": heads,
    }
    fields = {
        "at_keys": details["key_products_of_cross"],
        "heads": ", ".join(f"head {h}: {g['dominant_frequency']}" for h, g in enumerate(heads)),
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
