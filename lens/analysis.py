"""Every analysis of the seed notebook as a pure function over a :class:`~lens.run.Run`.

Conventions (see :mod:`lens.run`): activations are taken at the "=" position; the
example axis of ``run.acts`` is a-major (row a * p + b); ``run.by_ab(x)`` puts the token
axes last as ``[..., a, b]`` and ``run.by_ca(x)`` as ``[..., c, a]`` with b = (c - a) mod p.
Losses are float64; the train/test split is the checkpoint's own. Nothing here imports
streamlit; results are numpy arrays, plain dicts or pandas frames.

The synthetic demos live in :mod:`lens.waves` and the loss ablations in
:mod:`lens.ablation`; both are re-exported here so pages import one module.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
import pandas as pd
from jaxtyping import Float, Int

from . import fourier
from .ablation import ab_to_rows, ablations, accuracies, logits_from_post, losses, remove_frequencies_along_b
from .checkpoint import Checkpoint
from .neurons import dominant_frequencies, neuron_frequency_energy, neurons_per_frequency
from .run import Run
from .waves import (
    IDEAL_NAMES,
    custom_wave,
    idealised_cosine_model,
    idealised_cosine_slice,
    make_wave,
    mock_neurons,
    product_frequencies,
    relu_sweep,
    reversed_shifted_waves,
    running_sums,
    symmetry_points,
)

__all__ = [
    "IDEAL_NAMES",
    "FilterResponse",
    "ab_to_rows",
    "ablations",
    "accuracies",
    "attention_ab_gap",
    "attention_scores",
    "c_order_spectrum",
    "custom_wave",
    "embedding_key_energy",
    "examples_for_c",
    "filter_responses",
    "idealised_cosine_model",
    "idealised_cosine_slice",
    "key_frequencies",
    "logits_from_post",
    "losses",
    "make_wave",
    "mock_neurons",
    "neuron_frequencies",
    "neuron_phases",
    "neuron_table",
    "neurons_of_frequency",
    "neurons_per_frequency",
    "neurons_to_residual",
    "phase_order",
    "product_frequencies",
    "pull_out_frequency",
    "relu_sweep",
    "remove_frequencies_along_b",
    "reversed_shifted_waves",
    "running_sums",
    "spectrum_2d_ab",
    "swap_symmetry",
    "symmetry_points",
]


def _ck(run_or_ck: Run | Checkpoint) -> Checkpoint:
    return run_or_ck.ck if isinstance(run_or_ck, Run) else run_or_ck


# ---------------------------------------------------------------- frequencies


def key_frequencies(run_or_ck: Run | Checkpoint, k: int | None = None) -> list[int]:
    """The key frequencies, read off the embedding of the p number tokens (``W_E[:p]``).

    :func:`lens.fourier.key_frequencies`: every frequency 1..p // 2 with at least a third of
    the strongest one's energy, or the top ``k`` when given. Sorted ascending. Needs only
    the weights, so a checkpoint will do (no model run).
    """
    ck = _ck(run_or_ck)
    return fourier.key_frequencies(ck.weights["W_E"][: ck.p], k=k)


def embedding_key_energy(run_or_ck: Run | Checkpoint, key_freqs: Sequence[int]) -> float:
    """Fraction of ``W_E[:p]``'s squared norm that lies in the key frequencies.

    The denominator is the *whole* squared norm, constant (frequency 0) included: by
    Parseval it is the energy summed over frequencies 0..p // 2. The numerator counts the
    key frequencies only (the constant is not a key frequency).
    """
    ck = _ck(run_or_ck)
    e = fourier.frequency_energy(ck.weights["W_E"][: ck.p], axis=0)
    return float(e[list(key_freqs)].sum() / e.sum()) if e.sum() > 0 else 0.0


# ---------------------------------------------------------------- neurons


# neuron_frequencies per live run and key-frequency set: a pass over every neuron's
# pre-activation (0.2 s at p = 113) that each of the Neurons page's groups asked for again.
# Keyed by the run's id, and dropped when the run is (weakref.finalize), as ui's value ranges.
_NEURON_FREQUENCIES: dict[tuple[int, tuple[int, ...]], np.ndarray] = {}


def neuron_frequencies(run: Run, key_freqs: Sequence[int]) -> Int[np.ndarray, " neuron"]:
    """Each neuron's dominant key frequency: the key frequency with the most energy in its
    pre-activation along b, summed over a (the seed's ``get_top_freqs_and_indices``).
    Remembered per run (read only: a run's activations never change)."""
    key = (id(run), tuple(int(k) for k in key_freqs))
    found = _NEURON_FREQUENCIES.get(key)
    if found is None:
        found = dominant_frequencies(run.by_ab("pre"), key_freqs)
        found.setflags(write=False)
        # The app's sessions are threads: the keys are read from a copy (``list`` of a dict
        # is one step under the GIL), and no lock is taken, which a finalizer run by the
        # garbage collector in the middle of this could wait on for ever. A race registers
        # a second finalizer for one run at worst, which then finds nothing to drop.
        if not any(k[0] == key[0] for k in list(_NEURON_FREQUENCIES)):
            weakref.finalize(run, _forget_run, key[0])
        found = _NEURON_FREQUENCIES.setdefault(key, found)
    return found


def _forget_run(run_id: int) -> None:
    for key in list(_NEURON_FREQUENCIES):
        if key[0] == run_id:
            _NEURON_FREQUENCIES.pop(key, None)


def neurons_of_frequency(run: Run, key_freqs: Sequence[int], freq: int) -> Int[np.ndarray, " neuron"]:
    """Indices (ascending) of the neurons whose dominant key frequency is ``freq``."""
    return np.flatnonzero(neuron_frequencies(run, key_freqs) == freq)


def neuron_phases(
    run: Run, neurons: Sequence[int], freq: int, a: int = 0
) -> tuple[Float[np.ndarray, " neuron"], Float[np.ndarray, " neuron"]]:
    """Phase and amplitude of each neuron's pre-activation along b at frequency ``freq``,
    for one fixed a (the seed's ``angle(fft(pre[..., a, :])[..., f])``; it used a = 66).

    Returns ``(phases, amplitudes)``: phase in (-pi, pi] of the FFT bin f, so the wave is
    ``amplitude * cos(2 pi f b / p + phase)``; amplitude = 2 |X_f| / p. Footgun: the seed
    printed the FFT's *real part* as "amps"; this is the magnitude. The phase drifts a
    little with a (the neurons are not exactly separable), so keep a fixed across a figure.
    """
    x = run.by_ab("pre")[np.asarray(neurons, dtype=int), a, :]  # [neuron, b]
    xf = np.fft.fft(x.astype(np.float64), axis=-1)[:, freq]
    return np.angle(xf), 2 * np.abs(xf) / run.p


def phase_order(phases: Float[np.ndarray, " neuron"]) -> Int[np.ndarray, " neuron"]:
    """Positions that sort ``phases`` ascending (stable): index a neuron list with it."""
    return np.argsort(np.asarray(phases), kind="stable")


def neuron_table(run: Run, key_freqs: Sequence[int], a: int = 0) -> pd.DataFrame:
    """One row per MLP neuron, in neuron order.

    Columns: ``neuron``; ``frequency`` (dominant key frequency, see
    :func:`neuron_frequencies`); ``share`` (fraction of the neuron's pre-activation energy
    along b, summed over a, at that frequency, with the constant excluded from the total:
    near 1 for a clean single-frequency neuron); ``phase`` and ``amplitude`` at that
    frequency for the given a (:func:`neuron_phases`); ``active_fraction`` (share of the
    p * p inputs where the post-ReLU activation is > 0); ``ever_active``.
    """
    pre_ab = run.by_ab("pre")  # [neuron, a, b]
    energy = neuron_frequency_energy(pre_ab)  # [neuron, freq 0..p//2]
    allowed = np.asarray(sorted(key_freqs))
    freq = allowed[energy[:, allowed].argmax(axis=1)]  # = dominant_frequencies, energy reused
    nonconst = energy[:, 1:].sum(axis=1)
    idx = np.arange(len(freq))
    share = np.divide(energy[idx, freq], nonconst, out=np.zeros(len(freq)), where=nonconst > 0)
    xf = np.fft.fft(pre_ab[:, a, :].astype(np.float64), axis=-1)[idx, freq]
    active = run.acts["post"] > 0
    return pd.DataFrame(
        {
            "neuron": idx,
            "frequency": freq.astype(int),
            "share": share,
            "phase": np.angle(xf),
            "amplitude": 2 * np.abs(xf) / run.p,
            "active_fraction": active.mean(axis=0),
            "ever_active": active.any(axis=0),
        }
    )


def neurons_to_residual(run: Run, neurons: Sequence[int]) -> Float[np.ndarray, "d_model a b"]:
    """The chosen neurons mapped back to the residual stream at "=":
    ``relu(pre[neurons]) @ W_out[neurons] + b_out``, viewed ``[d_model, a, b]``.

    Footgun: ``b_out`` is added once whatever the subset, so an empty subset gives b_out.
    """
    neurons = np.asarray(neurons, dtype=int)
    w = run.weights["W_out"][neurons].astype(np.float64)  # [k, d_model]
    post_all = run.acts["post"]
    out = np.empty((len(post_all), w.shape[1]))
    for lo in range(0, len(post_all), 2048):  # float64 a block of inputs at a time, not [N, k]
        out[lo : lo + 2048] = post_all[lo : lo + 2048, neurons].astype(np.float64) @ w
    out += run.weights["b_out"]
    return run.by_ab(out)


# ---------------------------------------------------------------- spectra


@lru_cache(maxsize=64)  # an eigendecomposition of p x p (20 ms at 113), asked per block of rows
def _span_of(p: int, f: int) -> Float[np.ndarray, "p r"]:
    """An orthonormal basis (columns) of the length-p signals made of frequencies 0 and f
    (read only: it is shared)."""
    proj = fourier.filter_frequencies(np.eye(p), [0, f], axes=(0,), keep=True)  # symmetric
    vals, vecs = np.linalg.eigh(proj)
    out = np.ascontiguousarray(vecs[:, vals > 0.5])
    out.setflags(write=False)
    return out


def pulled_power(x_ab: Float[np.ndarray, "n a b"], f: int) -> Float[np.ndarray, "a b"]:
    """``power_over_tokens(pull_out_frequency(x_ab, f))`` (|FFT2|^2 summed over the rows of
    ``x_ab`` [n, p, p]) without an FFT: the kept signal is ``u C u^T`` with ``u`` the span
    of frequencies {0, f}, so its FFT2 is ``(F u) C (F u)^T``, ``F u`` a p x 3 table. Equal
    to the FFT's to rounding (1e-12 relative); at p = 113 a block of 16 residual directions
    took 26 ms through the FFT (p prime: Bluestein), this well under 1 ms."""
    x = np.asarray(x_ab, dtype=np.float64)
    p = x.shape[-1]
    u = _span_of(p, int(f))
    fu = np.fft.fft(u, axis=0)  # [p, r]
    coeffs = u.T @ x @ u  # [n, r, r]
    spectrum = fu @ coeffs @ fu.T  # [n, p, p]
    return (spectrum.real**2 + spectrum.imag**2).sum(axis=0)


def pull_out_frequency(x_ab: Float[np.ndarray, "... a b"], f: int) -> Float[np.ndarray, "... a b"]:
    """Keep only frequency ``f`` and the constant along both token axes (the last two).

    The seed's ``pull_out_freqs(x, f, dims=[-2, -1])``. Footgun: keeping the constant along
    each axis keeps the cross terms too (f along a times constant along b, and so on).
    """
    x = np.asarray(x_ab, dtype=np.float64)
    p = x.shape[-1]
    if x.ndim < 2 or x.shape[-2] != p:
        return fourier.filter_frequencies(x, [0, f], axes=(-2, -1), keep=True)
    # The filter is the same linear map along each axis: the projection onto the span of
    # frequencies {0, f}, of rank 3 at most. Apply it through that span, u (u^T x u) u^T,
    # instead of an FFT and its inverse per axis: p is often prime (113), where an FFT is
    # slow (Bluestein), and a [d_model, a, b] residual stream took 0.4 s; this is a few ms,
    # equal to the FFT's result to rounding (1e-15).
    u = _span_of(p, int(f))
    return u @ (u.T @ x @ u) @ u.T


def c_order_spectrum(run: Run, name: str = "resid_mid") -> Float[np.ndarray, "... c basis"]:
    """Signed amplitudes on the real basis ``[1, sin 1, cos 1, ...]`` along a, in the
    c-order view ``[..., c, a]`` (b = c - a). A wave symmetric about c/2 shows up in the
    sines and cosines together (it is a cosine centred at c/2, not at 0)."""
    return fourier.to_fourier(run.by_ca(name), axis=-1)


def spectrum_2d_ab(run: Run, name: str = "resid_mid") -> Float[np.ndarray, "... fa fb"]:
    """|FFT2| over (a, b), folded to frequencies 0..p // 2 on each axis
    (:func:`lens.fourier.spectrum_2d`)."""
    return fourier.spectrum_2d(run.by_ab(name), axes=(-2, -1))


@dataclass(frozen=True)
class FilterResponse:
    """What each neuron's input weights pick out of the token waves.

    ``wave``: [..., neuron, token] the wave over the p tokens that the neuron's input sees
    along that path; ``energy``: [..., neuron, freq 0..p // 2]; ``table``: one row per
    (head,) neuron with ``top_frequency`` (1..p // 2) and ``narrowbandness`` (share of the
    non-constant energy at the top frequency).
    """

    path: str
    wave: np.ndarray
    energy: np.ndarray
    table: pd.DataFrame


def filter_responses(run_or_ck: Run | Checkpoint, path: str = "embed") -> FilterResponse:
    """Each neuron's input filter applied to the embedding waves.

    ``path="embed"``: ``W_E[:p] @ W_in``, the seed's "W_in rows as narrowband filters":
    each residual dimension carries a wave over tokens and the neuron weights and sums them.

    ``path="ov"``: ``W_E[:p] @ W_V[h] @ W_O[h] @ W_in`` per head h, the route a token really
    takes to a neuron at "=": the "=" token's own embedding is the same for every example,
    so a and b reach the MLP only through attention. The attention weight (about 0.5 on
    each of a and b, varying per example) scales this wave; it is left out here. Table rows
    carry a ``head`` column; wave is [head, neuron, token].

    Weights only: a checkpoint suffices.
    """
    ck = _ck(run_or_ck)
    w = {k: v.astype(np.float64) for k, v in ck.weights.items()}
    emb = w["W_E"][: ck.p]  # [token, d_model]
    if path == "embed":
        wave = (emb @ w["W_in"]).T  # [neuron, token]
    elif path == "ov":
        # Left to right keeps every product small: [t, d] @ [h, d, dh] @ [h, dh, d] @ [d, m].
        wave = np.swapaxes(emb @ w["W_V"] @ w["W_O"] @ w["W_in"], -1, -2)  # [head, neuron, token]
    else:
        raise ValueError(f"path: expected 'embed' or 'ov', found {path!r}")
    power = np.abs(np.fft.rfft(wave, axis=-1)) ** 2
    power[..., 1 : (ck.p + 1) // 2] *= 2  # bins f and p - f are one real frequency
    nonconst = power[..., 1:]
    top = nonconst.argmax(axis=-1) + 1
    total = nonconst.sum(axis=-1)
    narrow = np.divide(nonconst.max(axis=-1), total, out=np.zeros_like(total), where=total > 0)
    cols = {
        "neuron": np.broadcast_to(np.arange(wave.shape[-2]), top.shape).ravel(),
        "top_frequency": top.ravel(),
        "narrowbandness": narrow.ravel(),
    }
    if path == "ov":
        cols = {"head": np.repeat(np.arange(top.shape[0]), top.shape[1]), **cols}
    return FilterResponse(path, wave, power, pd.DataFrame(cols))


# ---------------------------------------------------------------- attention and symmetry


def swap_symmetry(run: Run, name: str = "resid_mid") -> float:
    """Relative asymmetry of an activation at "=" under a <-> b (measured, not assumed):
    ``||r(a, b) - r(b, a)|| / ||r||``, Frobenius norms over all p * p inputs and features.
    0 means exactly symmetric. Addition commutes, so a model that generalises tends
    towards 0 here; the attention weights themselves need not be equal (see
    :func:`attention_ab_gap`)."""
    x = run.acts[name].astype(np.float64)
    x = x.reshape(run.p, run.p, -1)
    norm = np.linalg.norm(x)
    return float(np.linalg.norm(x - x.transpose(1, 0, 2)) / norm) if norm > 0 else 0.0


def attention_ab_gap(run: Run) -> Float[np.ndarray, " head"]:
    """Per head, the mean over all inputs of |attention from "=" to a - to b|.

    The seed claimed these weights are always equal; they are not per example (about 0.5
    on the published model). What holds is the swap symmetry: the weight on a for (a, b)
    equals the weight on b for (b, a)."""
    pat = run.acts["pattern"].astype(np.float64)  # [N, head, key]
    return np.abs(pat[:, :, 0] - pat[:, :, 1]).mean(axis=0)


def attention_scores(run_or_ck: Run | Checkpoint, position: int = 0) -> Float[np.ndarray, "head token"]:
    """Per head, the pre-softmax score from the "=" query to each number token as the key at
    ``position`` (0: a, 1: b): ``q . k / sqrt(d_head)`` with
    ``q = (W_E[=] + W_pos[2]) @ W_Q`` and ``k = (W_E[t] + W_pos[position]) @ W_K``.

    The query is the same for every input (the "=" token at position 2), so the score on a
    is a function of a alone: its spectrum over the token is the head's frequency gate.
    The two positions differ by a constant per head. Weights only: a checkpoint will do.
    """
    ck = _ck(run_or_ck)
    w = {k: v.astype(np.float64) for k, v in ck.weights.items()}
    q = np.einsum("d,hde->he", w["W_E"][ck.p] + w["W_pos"][2], w["W_Q"])
    k = np.einsum("td,hde->hte", w["W_E"][: ck.p] + w["W_pos"][position], w["W_K"])
    return np.einsum("he,hte->ht", q, k) / np.sqrt(ck.cfg.d_head)


def examples_for_c(p: int, c: int) -> pd.DataFrame:
    """The p inputs with answer c, in the seed's c-order (a ascending, b = (c - a) mod p).

    Columns: ``a, b, c``; ``mirror_row``: the row holding (b, a), its mirror image about
    c/2 (and about c/2 + p/2); ``self_mirror``: a == b, the input that sits on a symmetry
    point (there is exactly one for odd p: a = c/2 or a = (c + p)/2). Row k here is row
    ``c * p + k`` of the full c-order.
    """
    a = np.arange(p)
    b = (c - a) % p
    return pd.DataFrame({"a": a, "b": b, "c": np.full(p, c % p), "mirror_row": b, "self_mirror": a == b})
