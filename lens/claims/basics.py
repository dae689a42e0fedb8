"""Basics: the embedding's spectrum, and why every loss here is float64."""

from __future__ import annotations

import numpy as np

from .. import fourier, metrics
from ..analysis import embedding_key_energy, key_frequencies
from ..run import Run
from .core import Claim, Measured, frequency_list, share


def embedding_sparsity(run: Run) -> Measured:
    """Share of ``W_E[:p]``'s squared norm (the p number tokens; the "=" row is left out) in
    the key frequencies (:func:`lens.analysis.embedding_key_energy`; the constant counts in
    the denominator), and the strongest frequency that is not key: its share, its size
    against the strongest key frequency, and the key frequency it is the harmonic 2f of
    (folded below p / 2), if any."""
    p, kf = run.p, key_frequencies(run)
    energy = fourier.frequency_energy(run.weights["W_E"][:p], axis=0)  # [freq 0..p // 2]
    total = energy.sum()
    others = [f for f in range(1, p // 2 + 1) if f not in kf]
    other = max(others, key=lambda f: energy[f]) if others else 0
    strongest_key = max((energy[f] for f in kf), default=0.0)
    harmonic_of = [f for f in kf if fourier.fold(2 * f, p) == other]
    details = {
        "key_frequencies": kf,
        "per_frequency": {f: share(energy[f], total) for f in kf},
        "constant": share(energy[0], total),
        "strongest_other": {
            "frequency": other,
            "share": share(energy[other], total),
            "of_strongest_key": share(energy[other], strongest_key),
            "harmonic_of": harmonic_of[0] if harmonic_of else None,
        },
    }
    strongest = details["strongest_other"]
    note = f"the harmonic 2 × {harmonic_of[0]}" if harmonic_of else "not a harmonic of a key frequency"
    fields = {
        "keys": frequency_list(kf),
        "other": other,
        "other_note": note,
        "other_share": strongest["share"],
        "other_ratio": strongest["of_strongest_key"],
    }
    return Measured(embedding_key_energy(run, kf), details, fields)


def float32_loss(run: Run) -> Measured:
    """Cross-entropy computed in float32 (:func:`lens.metrics.cross_entropy_float32`) over
    the float64 one, on the checkpoint's train split, test split and all pairs; the value is
    the train ratio. At losses near 1e-7 float32 rounds each example's loss to a multiple of
    about 1.2e-7, so the ratio can sit anywhere from 0 up."""
    ratios = {}
    for split, mask in (("train", run.train_mask), ("test", ~run.train_mask), ("all", slice(None))):
        logits, labels = run.logits[mask], run.labels[mask]
        f64 = metrics.cross_entropy(logits, labels)
        ratios[split] = share(metrics.cross_entropy_float32(logits, labels), f64) if len(labels) else np.nan
    return Measured(ratios["train"], {"ratio": ratios}, {"test": ratios["test"], "all": ratios["all"]})


CLAIMS = [
    Claim(
        id="embedding-sparse",
        section="basics",
        measure=embedding_sparsity,
        threshold=0.95,
        direction="at_least",
        statement=(
            "The embedding is nearly pure key frequencies: {value:.1%} of W_E's energy lies in "
            "frequencies {keys}; the strongest other, {other} ({other_note}), holds {other_share:.1%}."
        ),
        fails_statement=(
            "The embedding is not pure key frequencies: {value:.1%} of W_E's energy lies in "
            "frequencies {keys} (below {threshold:.0%}); frequency {other} ({other_note}) holds "
            "{other_share:.1%}, {other_ratio:.2f} of the strongest key frequency's."
        ),
        method=(
            "Energy of W_E[:p] per frequency (squared DFT over the p number tokens, summed over "
            "d_model, Parseval); key frequencies hold at least 1/3 of the strongest (after Nanda et al. 2023)."
        ),
    ),
    Claim(
        id="float32-loss",
        section="basics",
        measure=float32_loss,
        threshold=1.0,
        direction="far",
        tolerance=0.1,
        statement=(
            "Computed in float32 the train loss comes out at {value:.2f} times its float64 value "
            "(test {test:.2f}, all pairs {all:.2f}), so every loss here is computed in float64."
        ),
        fails_statement=(
            "Computed in float32 the train loss is {value:.2f} times its float64 value (test "
            "{test:.2f}, all pairs {all:.2f}): within 10% for this model."
        ),
        method=(
            "Cross-entropy of the model's logits with log-softmax and mean in float32, over the "
            "same in float64, on the checkpoint's train split (Nanda et al. 2023 train in float64)."
        ),
    ),
]
