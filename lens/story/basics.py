"""Basics: the task, how well the model does it, and its embedding as waves.

Two results, because the page quotes the task before the model has run:
:func:`task` needs only the checkpoint (p and its split), :func:`facts` needs the
full-dataset run. :func:`prediction` is one pair's answer, for the pair the reader picks.
Every number is the checkpoint's own: nothing assumes p = 113.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jaxtyping import Bool, Float, Int

from .. import analysis, fourier
from .. import task as tasks
from ..checkpoint import Checkpoint
from ..run import Run

SPLITS = ("all", "train", "test")


@dataclass(frozen=True)
class TaskFacts:
    """The task and the checkpoint's split, without running the model."""

    p: int
    """The modulus: number tokens 0..p-1, the "=" token is p, p classes."""
    n_all: int
    """p * p: every pair (a, b)."""
    n_train: int
    """Pairs in the checkpoint's training split."""
    n_test: int
    """Pairs not trained on (n_all - n_train)."""
    train_share: float
    """n_train / n_all."""
    first_test: int
    """The a-major row (a * p + b) of the first test pair: the pair the page opens on."""


@dataclass(frozen=True)
class BasicsFacts:
    """Everything Basics quotes once the model has run."""

    task: TaskFacts
    """The task and its split (:func:`task`)."""
    d_model: int
    """Width of the residual stream: the columns of W_E."""
    key_freqs: list[int]
    """The key frequencies, ascending (:func:`lens.analysis.key_frequencies`, read off W_E[:p])."""
    harmonics: list[int]
    """2f for each key frequency f, folded into 0..p//2, in ``key_freqs`` order."""
    subharmonics: list[int]
    """The g with 2g = f (mod p) for each key frequency f, in ``key_freqs`` order."""
    harm_only: list[int]
    """The harmonics that are not key frequencies themselves, ascending, unique."""
    sub_only: list[int]
    """The subharmonics that are not key frequencies themselves, ascending, unique."""
    share: Float[np.ndarray, " freq"]
    """Each frequency 0..p//2's share of W_E[:p]'s energy along the token axis, summed over
    d_model, the constant left out (index 0 is 0; the rest sums to 1)."""
    key_share: float
    """``share`` summed over the key frequencies."""
    harm_share: float
    """``share`` summed over ``harm_only`` (0 when empty)."""
    sub_share: float
    """``share`` summed over ``sub_only`` (0 when empty)."""
    loss: dict[str, float]
    """Float64 cross-entropy on "all", "train" and "test" (the checkpoint's split)."""
    acc: dict[str, float]
    """Argmax accuracy on "all", "train" and "test"."""
    errors: dict[str, int]
    """Pairs the model answers wrongly (argmax != label) on "all", "train" and "test"."""
    strongest_dim: int
    """The residual dimension (column of W_E[:p]) with the largest spread over the tokens
    (norm after removing its mean): where the embedding scope opens."""


@dataclass(frozen=True)
class Prediction:
    """The model's answer for one pair (a, b)."""

    c: int
    """The label, (a + b) mod p."""
    pred: int
    """The model's answer: the argmax of its logits at "="."""
    prob_c: float
    """The softmax probability (float64) the model puts on the label."""
    split: str
    """"train" or "test": which split the pair is in."""


def task(ckpt: Checkpoint) -> TaskFacts:
    """The task facts of ``ckpt`` (its split rebuilt from its record, a few milliseconds)."""
    p = ckpt.p
    train = tasks.split_mask(p, ckpt.split)
    n_train = int(train.sum())
    test_rows = np.flatnonzero(~train)
    return TaskFacts(
        p=p,
        n_all=p * p,
        n_train=n_train,
        n_test=p * p - n_train,
        train_share=n_train / (p * p),
        first_test=int(test_rows[0]) if len(test_rows) else 0,
    )


def wrong_answers(run: Run) -> Bool[np.ndarray, " N"]:
    """For each a-major row (a * p + b), whether the model's argmax misses the label."""
    return run.logits.argmax(axis=1) != run.labels


def model_answers(run: Run) -> Int[np.ndarray, " N"]:
    """For each a-major row (a * p + b), the model's answer: the argmax of its logits."""
    return run.logits.argmax(axis=1)


def embedding_by_dim(run: Run) -> Float[np.ndarray, "d_model token"]:
    """W_E over the number tokens, transposed to [d_model, token] (the "=" row dropped):
    one wave over the token index per residual dimension, for the embedding scope."""
    return np.ascontiguousarray(run.weights["W_E"][: run.p].T)


def facts(run: Run) -> BasicsFacts:
    """Basics' quoted figures for ``run``."""
    p = run.p
    kf = analysis.key_frequencies(run)
    we = run.weights["W_E"][:p].astype(np.float64)  # [token, d_model]
    share = fourier.energy_share(we, axis=0)  # [freq 0..p//2], constant excluded
    harm = sorted(set(fourier.harmonics(kf, p)) - set(kf))
    sub = sorted(set(fourier.subharmonics(kf, p)) - set(kf))
    wrong = wrong_answers(run)
    train = run.train_mask
    return BasicsFacts(
        task=task(run.ck),
        d_model=int(we.shape[1]),
        key_freqs=[int(f) for f in kf],
        harmonics=fourier.harmonics(kf, p),
        subharmonics=fourier.subharmonics(kf, p),
        harm_only=harm,
        sub_only=sub,
        share=share,
        key_share=float(share[kf].sum()),
        harm_share=float(share[harm].sum()) if harm else 0.0,
        sub_share=float(share[sub].sum()) if sub else 0.0,
        loss=analysis.losses(run),
        acc=analysis.accuracies(run),
        errors={"all": int(wrong.sum()), "train": int(wrong[train].sum()), "test": int(wrong[~train].sum())},
        strongest_dim=int(np.argmax(np.linalg.norm(we - we.mean(0), axis=0))),
    )


def prediction(run: Run, a: int, b: int) -> Prediction:
    """The model's answer to (a, b), its probability on the right one, and the pair's split."""
    row = a * run.p + b
    z = run.logits[row].astype(np.float64)
    prob = np.exp(z - z.max())
    prob /= prob.sum()
    c = int(run.labels[row])
    return Prediction(
        c=c, pred=int(z.argmax()), prob_c=float(prob[c]), split="train" if run.train_mask[row] else "test"
    )
