"""Wave Transforms, in numbers: neurons as filters on the embedding waves, products of waves,
and aliasing past Nyquist.

:func:`facts` holds every figure the page quotes about the model (weights only: a checkpoint
would do, but the page has a run). :func:`product` and :func:`aliasing` are the two demos,
which need only p and the frequencies a reader picks; :func:`filter_waves` is the tensor the
page's scope slices.

Axis conventions: a filter's wave is over the p number tokens (the "=" row of ``W_E`` is left
out). Every per-neuron array of a :class:`FilterFacts` is ``[head, neuron]``; the direct path
(``W_E · W_in``) goes through no head and has one row, so ``[0]`` reads it as the through-head
path's ``[h]`` reads head h.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jaxtyping import Float, Int

from lens import analysis, fourier
from lens.run import Run

PATHS = ("embed", "ov")  # direct (W_E · W_in), through one head (W_E · W_V W_O · W_in)
HALF = 0.5  # the "above one half" line of the prose


@dataclass(frozen=True)
class FilterFacts:
    """Every neuron's frequency response along one path from the token to the MLP.

    The share ("narrowbandness") is the fraction of a neuron's non-constant energy in its top
    frequency (:func:`lens.analysis.filter_responses`); the summary statistics pool every
    row, i.e. every neuron (direct) or every (head, neuron) pair (through a head)."""

    path: str
    """``"embed"`` (direct: W_E · W_in) or ``"ov"`` (through a head: W_E · W_V W_O · W_in)."""
    top_frequency: Int[np.ndarray, "head neuron"]
    """Each neuron's top frequency, 1..p // 2. One row for the direct path, one per head
    through the heads."""
    share: Float[np.ndarray, "head neuron"]
    """The share of the neuron's non-constant response energy in its top frequency, 0..1."""
    strip_place: Int[np.ndarray, "head neuron"]
    """Where each neuron sits in the overview strip, 0 = leftmost: the neurons of one row
    sorted by top frequency, then by share (a stable sort: ties keep neuron order)."""
    median_neuron: Int[np.ndarray, " head"]
    """Per row, the neuron whose share is nearest that row's median share (the first such
    neuron on a tie): the page's "typical" neuron, where the neuron slider opens."""
    median: float
    """Median share over all rows and neurons."""
    max: float
    """Largest share over all rows and neurons (the sharpest filter)."""
    above_half: float
    """Fraction of (row, neuron) entries whose share is above one half."""
    top_is_key: float
    """Fraction of (row, neuron) entries whose top frequency is a key frequency."""


@dataclass(frozen=True)
class WaveTransformsFacts:
    """Every number the Wave Transforms page quotes about the model."""

    p: int
    """The modulus: the number of number tokens."""
    key_frequencies: list[int]
    """The model's key frequencies, ascending (:func:`lens.analysis.key_frequencies`)."""
    n_heads: int
    """Attention heads (rows of the through-head path)."""
    d_mlp: int
    """MLP neurons (columns of every per-neuron array)."""
    nyquist: float
    """p / 2: the Nyquist limit. A frequency above it folds back to p - f."""
    highest_frequency: int
    """p // 2: the fastest wave the p tokens tell apart (the demos' widgets stop there)."""
    direct: FilterFacts
    """The direct path, W_E[:p] · W_in (one row)."""
    through_head: FilterFacts
    """Through each head, W_E[:p] · W_V[h] W_O[h] · W_in (one row per head)."""
    product_pair: tuple[int, int]
    """Where the product demo opens: the first two key frequencies (the first twice if there
    is only one; 1 and 1 if there are none)."""
    alias_pair: tuple[int, int]
    """Where the aliasing demo opens (:func:`default_alias_pair`)."""


def default_alias_pair(p: int, key_freqs: list[int]) -> tuple[int, int]:
    """Two key frequencies whose sum passes Nyquist (a frequency with itself first, the
    smallest such sum), else the two largest frequencies allowed."""
    pairs = sorted(
        ((f1 + f2, f1 != f2, f1, f2) for f1 in key_freqs for f2 in key_freqs if f1 <= f2 and f1 + f2 > p / 2),
        key=lambda x: (x[1], x[0]),
    )
    if pairs:
        return pairs[0][2], pairs[0][3]
    k = p // 2
    return k, k


def _strip_place(top: np.ndarray, share: np.ndarray) -> np.ndarray:
    """``[head, neuron]`` places in the strip: rank after sorting by (top, share), stable."""
    out = np.empty(top.shape, dtype=np.int64)
    for h in range(top.shape[0]):
        order = np.lexsort((share[h], top[h]))  # last key first; lexsort is stable
        out[h, order] = np.arange(top.shape[1])
    return out


def _filter_facts(run: Run, path: str, key_freqs: list[int]) -> FilterFacts:
    table = analysis.filter_responses(run, path).table
    rows = 1 if path == "embed" else int(table["head"].max()) + 1
    top = table["top_frequency"].to_numpy().reshape(rows, -1).astype(np.int64)
    share = table["narrowbandness"].to_numpy().reshape(rows, -1).astype(np.float64)
    median_neuron = np.abs(share - np.median(share, axis=1, keepdims=True)).argmin(axis=1)
    return FilterFacts(
        path=path,
        top_frequency=top,
        share=share,
        strip_place=_strip_place(top, share),
        median_neuron=median_neuron.astype(np.int64),
        median=float(np.median(share)),
        max=float(share.max()),
        above_half=float((share > HALF).mean()),
        top_is_key=float(np.isin(top, key_freqs).mean()),
    )


def facts(run: Run) -> WaveTransformsFacts:
    """The page's figures for ``run`` (from its weights: no activation is read)."""
    kf = analysis.key_frequencies(run)
    p = int(run.p)
    first = kf[0] if kf else 1
    return WaveTransformsFacts(
        p=p,
        key_frequencies=[int(f) for f in kf],
        n_heads=int(run.cfg.n_heads),
        d_mlp=int(run.cfg.d_mlp),
        nyquist=p / 2,
        highest_frequency=p // 2,
        direct=_filter_facts(run, "embed", kf),
        through_head=_filter_facts(run, "ov", kf),
        product_pair=(first, kf[1] if len(kf) > 1 else first),
        alias_pair=default_alias_pair(p, kf),
    )


def filter_waves(run: Run, path: str, head: int = 0) -> Float[np.ndarray, "neuron token"]:
    """The waves the neurons see along ``path`` (``"embed"``, or ``"ov"`` through ``head``;
    the head is ignored on the direct path), float32, ``[neuron, token]`` over the p number
    tokens: the tensor the page's response scope slices."""
    wave = analysis.filter_responses(run, path).wave
    return np.ascontiguousarray((wave[head] if path == "ov" else wave).astype(np.float32))


# ---------------------------------------------------------------- the demos (no model)


@dataclass(frozen=True)
class ProductFacts:
    """Two waves at f1 and f2 over the p tokens, their product, and where its energy sits."""

    wave1: Float[np.ndarray, " token"]
    """cos(2π f1 t / p), t = 0..p-1."""
    wave2: Float[np.ndarray, " token"]
    """cos(2π f2 t / p)."""
    product: Float[np.ndarray, " token"]
    """wave1 · wave2, or (wave1 + wave2)² when ``squared``."""
    squared: bool
    """Whether ``product`` is the square of the sum rather than the product."""
    expected: list[int]
    """The non-zero frequencies the identity predicts, folded into 1..p // 2, ascending:
    f1 + f2 and |f1 − f2| (and 2 f1, 2 f2 when squared)."""
    share_expected: float
    """The share of the product's non-constant energy at ``expected`` (0 when it has none)."""
    components: list[tuple[str, int, int]]
    """(name, frequency, folded frequency) of each non-zero term, by frequency: names
    ``"f₁+f₂"``, ``"|f₁−f₂|"`` and, when squared, ``"2f₁"``, ``"2f₂"``. Terms at the same
    frequency are one entry (the last name given to it)."""
    constant: bool
    """Whether the product also has a constant term (f1 = f2, or squared)."""


def product(p: int, f1: int, f2: int, squared: bool = False) -> ProductFacts:
    """The product demo: cos f1 · cos f2 (or (cos f1 + cos f2)²) and its measured spectrum."""
    w1, w2 = analysis.make_wave(p, f1), analysis.make_wave(p, f2)
    if squared:
        prod = (w1 + w2) ** 2
        expected = fourier.sum_and_difference_frequencies([f1, f2], p)
    else:
        prod = w1 * w2
        expected = sorted({x for x in analysis.product_frequencies(f1, f2, p) if x})
    energy = fourier.frequency_energy(prod)
    rest = energy[1:].sum()
    share = float(energy[expected].sum() / rest) if rest > 0 else 0.0
    # The names the ReLU page gives them (lens/story/relu.py), so a frequency has one name.
    raw = {f1 + f2: "f₁+f₂", abs(f1 - f2): "|f₁−f₂|"}
    if squared:
        raw.update({2 * f1: "2f₁", 2 * f2: "2f₂"})
    components = [(name, int(g), int(fourier.fold(g, p))) for g, name in sorted(raw.items()) if g != 0]
    return ProductFacts(
        wave1=w1,
        wave2=w2,
        product=prod,
        squared=squared,
        expected=[int(x) for x in expected],
        share_expected=share,
        components=components,
        constant=squared or f1 == f2,
    )


@dataclass(frozen=True)
class AliasFacts:
    """cos f1 · cos f2 over the p tokens, and where its sum frequency lands."""

    product: Float[np.ndarray, " token"]
    """cos(2π f1 t / p) · cos(2π f2 t / p), t = 0..p-1."""
    sum: int
    """f1 + f2, unfolded."""
    folded: int
    """f1 + f2 folded into 0..p // 2 (p − (f1 + f2) when the sum is above p / 2)."""
    difference: int
    """|f1 − f2| (0: a constant)."""
    above_nyquist: bool
    """Whether f1 + f2 is above p / 2, so it folds."""
    peaks: list[int]
    """The (at most two) non-zero frequencies holding the product's largest energies,
    ascending; a frequency with under 1e-9 of the largest energy is left out."""


def aliasing(p: int, f1: int, f2: int) -> AliasFacts:
    """The aliasing demo: where the product of waves at f1 and f2 has its energy."""
    prod = analysis.make_wave(p, f1) * analysis.make_wave(p, f2)
    energy = fourier.frequency_energy(prod)
    energy[0] = 0.0
    peaks = sorted(int(x) for x in np.argsort(-energy, kind="stable")[:2] if energy[x] > 1e-9 * energy.max())
    s = f1 + f2
    return AliasFacts(
        product=prod,
        sum=s,
        folded=int(fourier.fold(s, p)),
        difference=abs(f1 - f2),
        above_nyquist=s > p / 2,
        peaks=peaks,
    )
