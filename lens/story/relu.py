"""ReLU: a mixer. Clipping a wave makes harmonics; clipping a sum of waves also makes their
sum and difference frequencies (intermodulation); the loss says which of these the model uses.

Two results: :func:`sweep` is the demo (a threshold sweeping down through a hand-made
signal: needs only p and two frequencies, no model), :func:`facts` is what the page quotes
about the loaded model (its key frequencies, the seed's three ablations' losses and the loss
of a uniform guess). The product ablations (the (+-f, +-f) components of the 2-D spectrum
over (a, b)) are measured by the claims ``relu-products-essential`` and
``relu-products-sufficient`` (:mod:`lens.claims.relu`), whose details the page reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from jaxtyping import Float, Int

from .. import analysis, fourier
from ..run import Run

SIGNALS = ("wave", "sum", "product")
ABLATIONS = ("regular", "without_sum_difference", "only_key_frequencies")
SPLITS = ("all", "train", "test")
TOP_NEW = 5  # how many of the strongest new frequencies the page names
TOP_NEW_MIN_SHARE = 0.001  # ...each holding more than this share of the energy


@dataclass(frozen=True)
class Sweep:
    """A threshold sweeping down through one signal, ReLU applied at each step
    (:func:`lens.waves.relu_sweep`: slice t is ``relu(x - level[t])``)."""

    p: int
    """The signal's length (and the modulus its frequencies are over)."""
    f1: int
    """The first frequency, 1..p//2."""
    f2: int
    """The second frequency, 1..p//2 (unused by the "wave" signal)."""
    signal: str
    """"wave" (cos f1), "sum" (cos f1 + cos f2) or "product" (cos f1 · cos f2)."""
    after_centred: Float[np.ndarray, "threshold n"]
    """The ReLU's output at each threshold, each row's mean removed (the constant is not a
    frequency, and it would dwarf every other component): what the scope draws."""
    input: Float[np.ndarray, " n"]
    """The signal before the ReLU, its mean removed."""
    level: Float[np.ndarray, " threshold"]
    """The threshold at each step, in the signal's units (min + (max - min) t / steps)."""
    clipped: Int[np.ndarray, " threshold"]
    """Samples (of p) the ReLU sets to zero at each step."""
    new_share: Float[np.ndarray, " threshold"]
    """Share of the output's non-constant energy at frequencies absent from the input."""
    inputs: list[int]
    """The input's frequencies (non-zero energy), ascending."""
    half: int
    """The step whose clipped count is nearest p / 2: where the scope opens."""
    top_new: list[tuple[int, float]]
    """At step ``half``: the strongest frequencies absent from the input (at most five, each
    above 0.1% of the energy), as (frequency, share), strongest first."""
    sum_freq: int
    """f1 + f2, folded into 0..p//2."""
    diff_freq: int
    """|f1 - f2|, folded into 0..p//2."""
    sum_share: float
    """At step ``half``: the share of the output's non-constant energy at ``sum_freq`` (0
    when it folds to 0)."""
    diff_share: float
    """At step ``half``: the share at ``diff_freq`` (0 when f1 = f2)."""
    harmonic2: int
    """2 f1, folded into 0..p//2."""
    harmonic3: int
    """3 f1, folded into 0..p//2."""
    markers: list[tuple[int, tuple[str, ...]]]
    """The frequencies to mark in the Fourier view, ascending, each with its names ("f₁",
    "2f₁", "f₁+f₂", ...; two names for one frequency share one entry): the input's
    frequencies and what clipping adds. Frequency 0 is left out."""


@dataclass(frozen=True)
class ReluFacts:
    """What the ReLU page quotes about the loaded model."""

    p: int
    """The modulus."""
    key_freqs: list[int]
    """The key frequencies, ascending (:func:`lens.analysis.key_frequencies`)."""
    sum_difference: list[int]
    """The frequencies the "without_sum_difference" ablation removes: f1 + f2 and |f1 - f2|
    (folded) over every pair of key frequencies, a frequency with itself included, the key
    frequencies themselves excepted; ascending."""
    others: list[int]
    """The frequencies the "only_key_frequencies" ablation removes: 1..p//2 except the key
    frequencies (the constant stays); ascending."""
    ablations: dict[str, dict[str, float]]
    """Float64 cross-entropy per ablation ("regular", "without_sum_difference",
    "only_key_frequencies") and split ("all", "train", "test"), frequencies removed from each
    neuron's activation along b (:func:`lens.ablation.ablations`)."""
    ratios: dict[str, dict[str, float]]
    """Each ablation's loss over the regular loss, per split (NaN where either is not
    positive): below 1 the edit lowers the loss."""
    verdict: Literal["not needed", "needed", "mixed"]
    """On the test split: "not needed" when both edits leave the loss lower or equal,
    "needed" when both raise it, "mixed" otherwise."""
    chance_loss: float
    """ln p: the cross-entropy of a uniform guess over the p answers (a model that knows
    nothing scores this; a confident wrong one scores more)."""


def signal_of(p: int, f1: int, f2: int, signal: str) -> Float[np.ndarray, " n"]:
    """The demo's signal over n = 0..p-1: cos f1, cos f1 + cos f2, or their product."""
    w1, w2 = analysis.make_wave(p, f1), analysis.make_wave(p, f2)
    return {"wave": w1, "sum": w1 + w2, "product": w1 * w2}[signal]


def marker_names(p: int, f1: int, f2: int, signal: str) -> list[tuple[int, tuple[str, ...]]]:
    """The frequencies worth a dashed rule for ``signal``, with their names (see
    :attr:`Sweep.markers`): the input's frequencies, the harmonics of f1, and for the sum
    and the product f1 + f2 and |f1 - f2| (the product holds those; clipping it adds 2f1 and
    2f2 among others)."""
    s, d = int(fold(f1 + f2, p)), int(fold(abs(f1 - f2), p))
    h2, h3 = int(fold(2 * f1, p)), int(fold(3 * f1, p))
    if signal == "wave":
        spots = [(f1, "f₁"), (h2, "2f₁"), (h3, "3f₁")]
    elif signal == "sum":
        spots = [(f1, "f₁"), (f2, "f₂"), (h2, "2f₁"), (h3, "3f₁"), (s, "f₁+f₂"), (d, "|f₁−f₂|")]
    else:
        spots = [(s, "f₁+f₂"), (d, "|f₁−f₂|"), (h2, "2f₁"), (int(fold(2 * f2, p)), "2f₂")]
    names: dict[int, list[str]] = {}
    for f, label in spots:
        if f > 0:
            names.setdefault(int(f), []).append(label)
    return [(f, tuple(ls)) for f, ls in sorted(names.items())]


def fold(f: int, p: int) -> int:
    """``f`` folded into 0..p//2 (:func:`lens.fourier.fold`), as an int."""
    return int(fourier.fold(f, p))


def sweep(p: int, f1: int, f2: int, signal: str) -> Sweep:
    """The threshold sweep of one signal (p steps), its per-step figures and its markers."""
    x = signal_of(p, f1, f2, signal)
    after = analysis.relu_sweep(x)  # [threshold, n]
    steps = after.shape[0]
    lo, hi = float(x.min()), float(x.max())
    level = lo + (hi - lo) * np.arange(steps) / steps
    clipped = (x[None, :] - level[:, None] <= 0).sum(axis=1)
    inputs = [int(f) for f in np.flatnonzero(fourier.energy_share(x) > 1e-9)]
    shares = np.stack([fourier.energy_share(row) for row in after])  # [threshold, freq]
    new = np.ones(shares.shape[1], dtype=bool)
    new[[0, *inputs]] = False
    half = int(np.argmin(np.abs(clipped - p / 2)))
    at_half = shares[half]
    strongest = [int(f) for f in np.argsort(-at_half) if new[f]][:TOP_NEW]
    return Sweep(
        p=p,
        f1=f1,
        f2=f2,
        signal=signal,
        after_centred=after - after.mean(axis=-1, keepdims=True),
        input=x - x.mean(),
        level=level,
        clipped=clipped,
        new_share=shares[:, new].sum(axis=1),
        inputs=inputs,
        half=half,
        top_new=[(f, float(at_half[f])) for f in strongest if at_half[f] > TOP_NEW_MIN_SHARE],
        sum_freq=fold(f1 + f2, p),
        diff_freq=fold(abs(f1 - f2), p),
        sum_share=float(at_half[fold(f1 + f2, p)]) if fold(f1 + f2, p) else 0.0,
        diff_share=float(at_half[fold(abs(f1 - f2), p)]) if f1 != f2 else 0.0,
        harmonic2=fold(2 * f1, p),
        harmonic3=fold(3 * f1, p),
        markers=marker_names(p, f1, f2, signal),
    )


def _ratio(before: float, after: float) -> float:
    return after / before if before > 0 and after > 0 else float("nan")


def facts(run: Run) -> ReluFacts:
    """The ReLU page's figures for ``run``: the ablations take about 0.4 s at p = 113."""
    p = run.p
    kf = [int(f) for f in analysis.key_frequencies(run)]
    # The same sets lens.ablation.ablations removes (a key frequency is never removed).
    sum_diff = [f for f in fourier.sum_and_difference_frequencies(kf, p) if f not in kf]
    others = [f for f in range(1, p // 2 + 1) if f not in kf]
    abl = analysis.ablations(run, kf)
    reg = abl["regular"]
    ratios = {name: {s: _ratio(reg[s], abl[name][s]) for s in SPLITS} for name in ABLATIONS}
    edited = [abl[name]["test"] for name in ABLATIONS[1:]]
    if all(loss <= reg["test"] for loss in edited):
        verdict = "not needed"
    elif all(loss > reg["test"] for loss in edited):
        verdict = "needed"
    else:  # one each way (or a loss that is not a number: an empty test split)
        verdict = "mixed"
    return ReluFacts(
        p=p,
        key_freqs=kf,
        sum_difference=sum_diff,
        others=others,
        ablations=abl,
        ratios=ratios,
        verdict=verdict,
        chance_loss=float(np.log(p)),
    )
