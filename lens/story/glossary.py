"""Glossary: the model-dependent values in the definitions of the terms every page uses.

``facts(run) -> GlossaryFacts``: the model's shape (p, d_model, d_mlp, heads), the shapes of
its weight matrices, its key frequencies and split, and the two progress measures of Nanda
et al. (restricted and excluded loss) on the final weights, so each definition can say what
the term is *on this model*.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import analysis, progress
from ..run import Run

# The weight matrices the glossary defines, in the order the signal meets them.
MATRICES = ("W_E", "W_in", "W_out", "W_U")


@dataclass(frozen=True)
class GlossaryFacts:
    """The loaded model's values that the glossary's definitions quote."""

    p: int
    """The modulus: tokens 0..p-1 are numbers, token p is "="."""
    d_model: int
    """Width of the residual stream."""
    d_mlp: int
    """Neurons in the MLP."""
    n_heads: int
    """Attention heads."""
    d_head: int
    """Width of one head."""
    n_ctx: int
    """Positions in the input: a, b, "="."""
    shapes: dict[str, tuple[int, int]]
    """Each of :data:`MATRICES` and its shape (rows, columns)."""
    key_freqs: list[int]
    """The key frequencies, ascending (read off W_E[:p])."""
    n_train: int
    """Pairs in the training split."""
    n_all: int
    """p * p: every pair."""
    restricted_loss: float
    """Cross-entropy over all pairs of the logits kept to the key frequencies' directions."""
    excluded_loss: float
    """Cross-entropy on the training pairs of the logits with those directions removed."""
    test_loss: float
    """Cross-entropy of the whole logits on the test pairs, for comparison."""


def facts(run: Run) -> GlossaryFacts:
    """The glossary's values for ``run``."""
    cfg = run.cfg
    kf = analysis.key_frequencies(run)
    train = run.train_mask
    w = run.weights
    return GlossaryFacts(
        p=run.p,
        d_model=int(cfg.d_model),
        d_mlp=int(cfg.d_mlp),
        n_heads=int(cfg.n_heads),
        d_head=int(cfg.d_head),
        n_ctx=int(cfg.n_ctx),
        shapes={m: tuple(int(n) for n in w[m].shape) for m in MATRICES},
        key_freqs=[int(f) for f in kf],
        n_train=int(train.sum()),
        n_all=run.p * run.p,
        restricted_loss=progress.restricted_loss(run.logits, run.labels, kf) if kf else float("nan"),
        excluded_loss=progress.excluded_loss(run.logits, run.labels, train, kf) if kf else float("nan"),
        test_loss=float(analysis.losses(run)["test"]),
    )
