"""Summary: the whole algorithm as five stages, each with one figure measured on the model.

``facts(run) -> SummaryFacts``: the stages in the order the signal passes through them
(embedding, attention, MLP and its ReLU, neurons by frequency, unembedding to the logits),
each with one measured figure and the ids of the claims (:mod:`lens.claims`) that test it.
The claims are not evaluated here: the app takes their verdicts from its per-claim cache,
which the other pages have usually filled already (``ui.claims.claim``); a terminal gets
them from ``python -m lens claims``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import analysis
from ..neurons import neurons_per_frequency
from ..run import Run

# Which claims annotate which stage (every id is in lens.claims.CLAIMS; a test checks it).
STAGE_CLAIMS = {
    "embedding": ("embedding-sparse",),
    "attention": ("swap-symmetry", "attention-additive"),
    "mlp": ("relu-products-essential", "relu-products-sufficient"),
    "neurons": ("neurons-one-frequency", "phase-alignment"),
    "logits": ("logits-sum-of-cosines", "every-key-frequency-needed"),
}


@dataclass(frozen=True)
class Stage:
    """One stage of the algorithm and the figure that shows it at work on this model."""

    key: str
    """``embedding``, ``attention``, ``mlp``, ``neurons`` or ``logits``."""
    title: str
    """The stage's name, with the weights it uses."""
    does: str
    """What the stage does to the signal, in a few words (no numbers)."""
    value: float
    """The stage's measured figure."""
    kind: str
    """How ``value`` reads: ``share`` (a fraction of 1, written before ``label``), ``ratio``
    (a relative norm, written after it) or ``count`` (before it)."""
    label: str
    """What ``value`` measures, words only (the page writes the number before it)."""
    claims: tuple[str, ...]
    """The ids of the claims that test this stage."""
    page: str
    """The URL path of the page that explains the stage."""


@dataclass(frozen=True)
class SummaryFacts:
    """The algorithm in five measured stages, and the model's shape."""

    p: int
    """The modulus."""
    d_model: int
    """Width of the residual stream."""
    n_heads: int
    """Attention heads."""
    d_mlp: int
    """MLP neurons."""
    key_freqs: list[int]
    """The key frequencies, ascending (read off W_E[:p])."""
    neurons_per_frequency: dict[int, int]
    """Neurons by dominant key frequency, ascending by frequency."""
    test_loss: float
    """Float64 cross-entropy on the pairs the model never trained on."""
    test_accuracy: float
    """Argmax accuracy on those pairs."""
    stages: tuple[Stage, ...]
    """The five stages, in the order the signal meets them."""


def facts(run: Run) -> SummaryFacts:
    """The summary's figures for ``run`` (well under a second: no ablation, no claim)."""
    cfg = run.cfg
    kf = analysis.key_frequencies(run)
    groups = neurons_per_frequency(analysis.neuron_frequencies(run, kf))
    loss, acc = analysis.losses(run), analysis.accuracies(run)
    pre = run.acts["pre"]
    stages = (
        Stage(
            "embedding",
            "Embedding (W_E)",
            "each token a sum of a few waves over the token index",
            analysis.embedding_key_energy(run, kf),
            "share",
            "of W_E's energy in the key frequencies",
            STAGE_CLAIMS["embedding"],
            "basics",
        ),
        Stage(
            "attention",
            f"Attention ({cfg.n_heads} heads)",
            "mixes the waves of a and of b at the “=” position",
            analysis.swap_symmetry(run, "resid_mid"),
            "ratio",
            "how much swapping a and b changes resid_mid, ‖r(a, b) − r(b, a)‖ / ‖r‖",
            STAGE_CLAIMS["attention"],
            "attention",
        ),
        Stage(
            "mlp",
            f"MLP and ReLU (W_in, {cfg.d_mlp} neurons)",
            "the ReLU, where products of the waves can form",
            float(np.mean(pre < 0)),
            "share",
            "of the neurons' inputs, over all pairs, cut to zero by the ReLU",
            STAGE_CLAIMS["mlp"],
            "relu",
        ),
        Stage(
            "neurons",
            "Neurons by frequency (W_out)",
            "neurons grouped by the key frequency each responds to most",
            float(len(groups)),
            "count",
            "frequency groups: neurons per key frequency",
            STAGE_CLAIMS["neurons"],
            "neurons",
        ),
        Stage(
            "logits",
            "Unembedding (W_U) to the logits",
            "reads the answer c off the neurons' output",
            float(acc["test"]),
            "share",
            "test accuracy (pairs never trained on)",
            STAGE_CLAIMS["logits"],
            "claims",
        ),
    )
    return SummaryFacts(
        p=run.p,
        d_model=int(cfg.d_model),
        n_heads=int(cfg.n_heads),
        d_mlp=int(cfg.d_mlp),
        key_freqs=[int(f) for f in kf],
        neurons_per_frequency=groups,
        test_loss=float(loss["test"]),
        test_accuracy=float(acc["test"]),
        stages=stages,
    )
