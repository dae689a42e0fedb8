"""MLP neurons: one frequency each, and He et al.'s phase alignment psi = 2 phi."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis import key_frequencies, neuron_table
from ..run import Run
from .core import Claim, Measured, nothing_to_measure

# A neuron is "mostly one key frequency" when that frequency holds at least half of its
# pre-activation's non-constant energy along b (neuron_table's ``share``).
ONE_FREQUENCY_SHARE = 0.5


def one_frequency_neurons(run: Run) -> Measured:
    """Share of the d_mlp neurons whose dominant key frequency holds at least
    ``ONE_FREQUENCY_SHARE`` of the non-constant energy of their pre-activation along b,
    summed over a (:func:`lens.analysis.neuron_table`). A dead neuron counts as not."""
    kf = key_frequencies(run)
    if not kf:
        return nothing_to_measure("no key frequency: neurons cannot be grouped")
    table = neuron_table(run, kf)
    clean = table["share"] >= ONE_FREQUENCY_SHARE
    per_freq = table[clean].groupby("frequency").size()
    details = {
        "neurons": len(table),
        "one_frequency": int(clean.sum()),
        "per_frequency": {int(f): int(n) for f, n in per_freq.items()},
        "never_active": int((~table["ever_active"]).sum()),
        "share_threshold": ONE_FREQUENCY_SHARE,
    }
    return Measured(float(clean.mean()) if len(table) else float("nan"), details)


def neuron_phases(run: Run, table: pd.DataFrame) -> pd.DataFrame:
    """For each neuron at its dominant key frequency f (``table`` from
    :func:`lens.analysis.neuron_table`): the input phase ``phi`` and amplitude ``alpha`` of
    its pre-activation as a function of a (the mean over b, ``alpha cos(w f a + phi)``), and
    the output phase ``psi`` and amplitude ``beta`` of its direct effect on the logits,
    ``(W_out @ W_U)[n]`` over c (``beta cos(w f c + psi)``). Phases from numpy's DFT bin f
    (``e^{-i w f t}``), in (-pi, pi]."""
    p = run.p
    idx = np.arange(len(table))
    f = table["frequency"].to_numpy()
    u = np.fft.rfft(run.by_ab("pre").astype(np.float64).mean(axis=2), axis=1)[idx, f]  # over a
    readout = run.weights["W_out"].astype(np.float64) @ run.weights["W_U"].astype(np.float64)
    o = np.fft.rfft(readout, axis=1)[idx, f]  # over c
    return pd.DataFrame(
        {
            "frequency": f,
            "phi": np.angle(u),
            "alpha": 2 * np.abs(u) / p,
            "psi": np.angle(o),
            "beta": 2 * np.abs(o) / p,
        }
    )


def phase_alignment(run: Run) -> Measured:
    """He et al. 2026's phase alignment, psi = 2 phi, per frequency group.

    Definition. Neurons are grouped by dominant key frequency (:func:`neuron_table`); for
    neuron n, ``phi_n`` and ``psi_n`` are its input phase along a and output phase over c
    (:func:`neuron_phases`). In their two-layer model sigma(theta[a] + theta[b]) read out
    by xi[c], with theta = alpha cos(w a + phi) and xi = beta cos(w c + psi), the product
    alpha^2 cos(w a + phi) cos(w b + phi) holds cos(w (a + b) + 2 phi), which meets xi as
    cos(w (a + b - c) + 2 phi - psi): it peaks at the right answer for every neuron only
    if psi - 2 phi is one constant (0) in the group. The measure is the group's mean
    resultant length ``|sum_n w_n exp(i (psi_n - 2 phi_n))| / sum_n w_n`` with
    ``w_n = alpha_n^2 beta_n``, the size of that product term in the logits: 1 when aligned.
    Weighting matters: always-on neurons (the ReLU never clips them) carry almost no
    a-wave and a random phase but contribute nothing to the product. The value is the mean
    over groups of at least two neurons; details give the unweighted length too.
    """
    kf = key_frequencies(run)
    if not kf:
        return nothing_to_measure("no key frequency: neurons cannot be grouped")
    table = neuron_table(run, kf)
    ph = neuron_phases(run, table)
    z = np.exp(1j * (ph["psi"] - 2 * ph["phi"]).to_numpy())
    w = (ph["alpha"] ** 2 * ph["beta"]).to_numpy()
    groups = {}
    for f in sorted(set(ph["frequency"])):
        sel = (ph["frequency"] == f).to_numpy()
        total = w[sel].sum()
        resultant = (w[sel] * z[sel]).sum() / total if total > 0 else 0.0
        groups[int(f)] = {
            "neurons": int(sel.sum()),
            "length": float(abs(resultant)),
            "offset": float(np.angle(resultant)),
            "length_unweighted": float(abs(z[sel].mean())),
            "always_on": int((table["active_fraction"][sel] >= 1.0).sum()),
        }
    lengths = [g["length"] for g in groups.values() if g["neurons"] >= 2]
    text = ", ".join(f"{f}: {g['length']:.2f}" for f, g in groups.items())
    value = float(np.mean(lengths)) if lengths else float("nan")
    return Measured(value, {"groups": groups}, {"groups": text or "no groups"})


CLAIMS = [
    Claim(
        id="neurons-one-frequency",
        section="neurons",
        measure=one_frequency_neurons,
        threshold=0.8,
        direction="at_least",
        statement=(
            "The neurons fall into groups by frequency: {value:.0%} of them get at least half "
            "their non-constant input energy from one key frequency."
        ),
        fails_statement=(
            "Only {value:.0%} of the neurons get at least half their non-constant input energy "
            "from one key frequency (threshold {threshold:.0%}): many mix frequencies."
        ),
        method=(
            "Per neuron, energy of the pre-activation along b at each frequency, summed over a; "
            "share of the non-constant energy at its strongest key frequency (after Nanda et al. 2023)."
        ),
    ),
    Claim(
        id="phase-alignment",
        section="neurons",
        measure=phase_alignment,
        threshold=0.9,
        direction="at_least",
        statement=(
            "Within each frequency group a neuron's output phase is twice its input phase "
            "(ψ = 2φ, He et al. 2026): mean resultant length {value:.3f} (per group {groups})."
        ),
        fails_statement=(
            "ψ = 2φ (He et al. 2026) does not hold in every frequency group: mean resultant "
            "length {value:.2f} (per group {groups}), below {threshold}."
        ),
        method=(
            "Per neuron, φ: phase of its pre-activation's mean over b at its frequency f; ψ: "
            "phase of (W_out W_U)[n] over c at f; length of the α²β-weighted mean of "
            "exp(i(ψ − 2φ)) per group (He et al. 2026)."
        ),
    ),
]
