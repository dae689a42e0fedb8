"""Trace one example: a single input (a, b) followed through every hook to its logits.

Everything is read off the full-dataset run (row ``a * p + b``, the ``=`` position, see
:mod:`lens.run`) and the weights, so the trace agrees with every other page to the bit;
``tests/test_trace.py`` holds it to an independent numpy forward pass of that one input.

The stages, in the order the model computes them (:data:`STAGES`): the two embeddings, the
attention weights on a, b and ``=`` per head, ``attn_out`` and ``resid_mid``, the neurons'
pre- and post-activations (grouped by each neuron's key frequency,
:func:`lens.analysis.neuron_frequencies`), ``mlp_out`` and ``resid_post``, and the logit of
every answer c.

What a stage "carries" in frequency is read along the token axis, not along its own
vector: a residual vector's index (d_model) is not ordered, so its FFT means nothing. Hold b
fixed and let a run over 0..p-1 (the row of the p x p map through the chosen pair): each
residual direction is then a signal over a, and its energy at the key frequencies (the
constant over a left out) says how much of the stage is the model's waves
(``TraceFacts.key_share``). The logits are the exception: one input's logits are already a
signal over the answer c, and their Fourier view is read along c.

:func:`trace` is the page's typed result (:class:`TraceFacts`); :func:`along_a` and
:func:`group_along_a` are the arrays its scopes draw. :func:`neuron_frequencies` (about
0.3 s at p = 113) is computed once per model and handed to the others as a tuple, so a new
pair costs only slicing (about 7 ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from jaxtyping import Float, Int

from . import analysis, fourier
from .run import Run

# The stages in the order of the forward pass; the residual ones are d_model vectors.
STAGES = ("embed", "attention", "attn_out", "resid_mid", "pre", "post", "mlp_out", "resid_post", "logits")
RESIDUAL = ("attn_out", "resid_mid", "mlp_out", "resid_post")
NEURON = ("pre", "post")
KEYS = ("a", "b", "=")  # the three positions attention at "=" can read


@dataclass(frozen=True)
class TraceFacts:
    """One input (a, b) at every hook, and the numbers the page's sentences quote.

    Vectors are float64 copies (``[d_model]``, ``[d_mlp]``, ``[p]``); heads, neurons and
    answers are indexed as in the weights."""

    p: int
    a: int
    b: int
    c: int
    """The label, (a + b) mod p."""
    split: str
    """"train" or "test": which split the pair is in."""
    key_frequencies: list[int]
    """The model's key frequencies (:func:`lens.analysis.key_frequencies`), ascending."""

    # -- the embeddings
    embed_a: Float[np.ndarray, " d_model"]
    """W_E[a], the token embedding of a (``hook_embed`` at position 0)."""
    embed_b: Float[np.ndarray, " d_model"]
    """W_E[b] (``hook_embed`` at position 1)."""
    embed_eq: Float[np.ndarray, " d_model"]
    """W_E[=] + W_pos[2]: the residual stream at "=" before attention (``resid_pre``), the
    same for every input: a and b reach "=" only through attention."""
    embed_key_share: float
    """Share (0..1) of W_E[:p]'s energy over the number tokens (summed over d_model, the
    constant left out) at the key frequencies: what a and b bring in."""

    # -- attention
    pattern: Float[np.ndarray, "head key"]
    """Each head's attention weights from "=" on a, b and "=" (:data:`KEYS`); rows sum to 1."""
    head_on_a: int
    """The head that puts the most weight on a (the lowest on a tie)."""
    mean_pattern: Float[np.ndarray, " key"]
    """The weights on a, b and "=" averaged over the heads."""

    # -- residual stages and neurons at "="
    vectors: dict[str, np.ndarray]
    """``attn_out``, ``resid_mid``, ``mlp_out``, ``resid_post`` ([d_model]) and ``pre``,
    ``post`` ([d_mlp]) for this input."""
    norms: dict[str, float]
    """The Euclidean norm of each vector in ``vectors`` and of ``embed_a``, ``embed_b`` and
    ``embed_eq`` (under those names)."""
    key_share: dict[str, float]
    """Per stage of ``vectors`` and for "logits": share (0..1) of the stage's energy at the
    key frequencies, constant left out. Read along a with b fixed (all p inputs (a', b),
    summed over the stage's directions), except "logits", read along c of this one input
    (see the module doc)."""
    strongest: dict[str, int]
    """Per stage of ``vectors``, and "embed" (|W_E[a]| + |W_E[b]|): the direction (or
    neuron) where this input's |value| is largest: where the page's scope opens."""

    # -- neurons by frequency
    neuron_freq: Int[np.ndarray, " d_mlp"]
    """Each neuron's dominant key frequency (:func:`lens.analysis.neuron_frequencies`)."""
    neuron_order: Int[np.ndarray, " d_mlp"]
    """The neurons sorted by (frequency, index): grouped by key frequency."""
    groups: list[int]
    """The key frequencies that have neurons, ascending."""
    group_size: dict[int, int]
    """Neurons per group."""
    group_firing: dict[int, int]
    """Per group, its neurons that fire (post-ReLU activation > 0) on this input."""
    group_post_share: dict[int, float]
    """Per group, its share (0..1) of this input's post-activation energy (sum of post²)."""
    firing: int
    """Neurons that fire on this input, all groups together."""
    loudest_group: int
    """The group with the largest ``group_post_share`` (the lowest frequency on a tie)."""

    # -- the readout
    to_answer: dict[str, float]
    """Direct contributions to the right answer's logit: ``"embed_eq"`` (embed_eq @ W_U[:, c]),
    ``"attn_out"`` and ``"mlp_out"``; they sum to ``logits[c]``."""
    logits: Float[np.ndarray, " p"]
    """The logit of every answer c."""
    pred: int
    """The model's answer, argmax of ``logits``."""
    runner_up: int
    """The answer other than c with the largest logit."""
    margin: float
    """logits[c] - logits[runner_up]: positive when the model is right."""
    top3: list[tuple[int, float]]
    """The three largest logits as (answer, logit), largest first."""
    ghosts: tuple[int, int]
    """(2a mod p, 2b mod p): where He et al. 2026 find ghost peaks of the logits."""
    ghost_logits: tuple[float, float]
    """The logits at the two ghost positions."""
    rank_of_ghosts: tuple[int, int]
    """Each ghost position's rank among the p logits (0: the largest)."""
    prob_c: float
    """The softmax probability (float64) of the right answer."""


def neuron_frequencies(run: Run) -> tuple[int, ...]:
    """Each neuron's dominant key frequency, as a tuple (a cheap cache key for :func:`trace`)."""
    kf = analysis.key_frequencies(run)
    return tuple(int(f) for f in analysis.neuron_frequencies(run, kf))


def _share_at(x: np.ndarray, freqs: Sequence[int], axis: int = 0) -> float:
    """Share of ``x``'s energy along ``axis`` at ``freqs`` (constant left out, every other
    axis summed)."""
    share = fourier.energy_share(np.asarray(x, dtype=np.float64), axis=axis)
    return float(share[list(freqs)].sum()) if len(freqs) else 0.0


def _column(run: Run, name: str, b: int) -> np.ndarray:
    """The activation ``name`` at "=" for every (a', b), a' = 0..p-1: rows a' * p + b, [a, ...]."""
    return run.acts[name][b :: run.p]


def trace(run: Run, a: int, b: int, neuron_freqs: Sequence[int] | None = None) -> TraceFacts:
    """The trace of the input (a, b). ``neuron_freqs`` (from :func:`neuron_frequencies`)
    saves recomputing the neurons' frequencies; None computes them."""
    p = run.p
    if not (0 <= a < p and 0 <= b < p):
        raise ValueError(f"(a, b) = ({a}, {b}) is not a pair of tokens 0..{p - 1}")
    w = run.weights
    row = a * p + b
    c = (a + b) % p
    kf = [int(f) for f in analysis.key_frequencies(run)]
    f64 = lambda x: np.array(x, dtype=np.float64)  # noqa: E731  (a copy: the run stays untouched)

    embed_eq = f64(w["W_E"][p] + w["W_pos"][2])
    pattern = f64(run.acts["pattern"][row])  # [head, key]
    vectors = {name: f64(run.acts[name][row]) for name in (*RESIDUAL, *NEURON)}
    logits = f64(run.logits[row])

    key_share = {name: _share_at(_column(run, name, b), kf) for name in vectors}
    key_share["logits"] = _share_at(logits, kf)
    norms = {name: float(np.linalg.norm(v)) for name, v in vectors.items()}
    norms["embed_eq"] = float(np.linalg.norm(embed_eq))
    norms["embed_a"] = float(np.linalg.norm(w["W_E"][a]))
    norms["embed_b"] = float(np.linalg.norm(w["W_E"][b]))

    nf = np.asarray(neuron_freqs if neuron_freqs is not None else neuron_frequencies(run), dtype=int)
    order = np.lexsort((np.arange(len(nf)), nf))
    groups = sorted({int(f) for f in nf})
    post = vectors["post"]
    energy = float((post**2).sum())
    g_share = {f: float((post[nf == f] ** 2).sum() / energy) if energy > 0 else 0.0 for f in groups}

    others = np.delete(np.arange(p), c)
    runner = int(others[np.argmax(logits[others])])
    top = np.argsort(-logits, kind="stable")[:3]
    ranks = np.empty(p, dtype=int)
    ranks[np.argsort(-logits, kind="stable")] = np.arange(p)
    ghosts = ((2 * a) % p, (2 * b) % p)
    z = logits - logits.max()
    prob = np.exp(z) / np.exp(z).sum()
    w_u = f64(w["W_U"][:, c])
    return TraceFacts(
        p=p,
        a=a,
        b=b,
        c=c,
        split="train" if run.train_mask[row] else "test",
        key_frequencies=kf,
        embed_a=f64(w["W_E"][a]),
        embed_b=f64(w["W_E"][b]),
        embed_eq=embed_eq,
        embed_key_share=_share_at(w["W_E"][:p], kf),
        pattern=pattern,
        head_on_a=int(np.argmax(pattern[:, 0])),
        mean_pattern=pattern.mean(axis=0),
        vectors=vectors,
        norms=norms,
        key_share=key_share,
        strongest={
            "embed": int(np.argmax(np.abs(w["W_E"][a]) + np.abs(w["W_E"][b]))),
            **{name: int(np.argmax(np.abs(v))) for name, v in vectors.items()},
        },
        neuron_freq=nf,
        neuron_order=order,
        groups=groups,
        group_size={f: int((nf == f).sum()) for f in groups},
        group_firing={f: int((post[nf == f] > 0).sum()) for f in groups},
        group_post_share=g_share,
        firing=int((post > 0).sum()),
        loudest_group=max(groups, key=lambda f: (g_share[f], -f)) if groups else 0,
        to_answer={
            "embed_eq": float(embed_eq @ w_u),
            "attn_out": float(vectors["attn_out"] @ w_u),
            "mlp_out": float(vectors["mlp_out"] @ w_u),
        },
        logits=logits,
        pred=int(np.argmax(logits)),
        runner_up=runner,
        margin=float(logits[c] - logits[runner]),
        top3=[(int(k), float(logits[k])) for k in top],
        ghosts=ghosts,
        ghost_logits=(float(logits[ghosts[0]]), float(logits[ghosts[1]])),
        rank_of_ghosts=(int(ranks[ghosts[0]]), int(ranks[ghosts[1]])),
        prob_c=float(prob[c]),
    )


def along_a(run: Run, b: int) -> dict[str, Float[np.ndarray, "dim a"]]:
    """What the scopes draw for the row b of the map: each residual stage at "=" for every
    (a', b), as [d_model, a] (float32, contiguous), and the attention weights on a, b and
    "=" as [head, a] each (keys ``"on a"``, ``"on b"``, ``"on ="``)."""
    out = {name: np.ascontiguousarray(_column(run, name, b).T, dtype=np.float32) for name in RESIDUAL}
    pattern = _column(run, "pattern", b)  # [a, head, key]
    for k, key in enumerate(KEYS):
        out[f"on {key}"] = np.ascontiguousarray(pattern[:, :, k].T, dtype=np.float32)
    return out


def group_along_a(
    run: Run, b: int, freq: int, neuron_freqs: Sequence[int]
) -> dict[str, Float[np.ndarray, "neuron a"]]:
    """The neurons of key frequency ``freq`` (ascending index, as ``np.flatnonzero(
    neuron_freqs == freq)``) for every (a', b): their pre- and post-activations as
    [neuron, a] (float32), keys ``"pre"`` and ``"post"``."""
    idx = np.flatnonzero(np.asarray(neuron_freqs) == freq)
    pre = _column(run, "pre", b)[:, idx].T  # [neuron, a]
    return {
        "pre": np.ascontiguousarray(pre, dtype=np.float32),
        "post": np.ascontiguousarray(np.maximum(pre, 0), dtype=np.float32),
    }
