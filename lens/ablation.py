"""Losses recomputed from edited MLP activations (no model call: a one-layer model's logits
at "=" are ``(resid_mid + post @ W_out + b_out) @ W_U``, so numpy suffices)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from jaxtyping import Float

from . import fourier, metrics
from .run import Run


def losses(run: Run) -> dict[str, float]:
    """Float64 cross-entropy of the model's own logits on all / train / test.

    The split is the checkpoint's (the original 30% split for the published run). The
    logits come out of the model in float32; only the loss is upcast, as the seed does.
    """
    return metrics.by_split(metrics.cross_entropy, run.logits, run.labels, run.train_mask)


def accuracies(run: Run) -> dict[str, float]:
    """Argmax accuracy on all / train / test."""
    return metrics.by_split(metrics.accuracy, run.logits, run.labels, run.train_mask)


def logits_from_post(run: Run, post: Float[np.ndarray, "N d_mlp"]) -> Float[np.ndarray, "N p"]:
    """Logits at "=" from (edited) post-ReLU activations, in float64.

    ``(resid_mid + post @ W_out + b_out) @ W_U``. ``post`` has the example axis first, in
    a-major order (row a * p + b), like ``run.acts["post"]``; convert an ``[neuron, a, b]``
    view back with :func:`ab_to_rows`. Unedited, this reproduces ``run.logits`` to float32
    rounding.
    """
    w = {k: run.weights[k].astype(np.float64) for k in ("W_out", "b_out", "W_U")}
    # Associativity: post @ (W_out @ W_U) is [N, d_mlp] @ [d_mlp, p], fewer flops than
    # going through d_model, and the post-independent part is one small product.
    base = (run.acts["resid_mid"].astype(np.float64) + w["b_out"]) @ w["W_U"]
    return base + np.asarray(post, dtype=np.float64) @ (w["W_out"] @ w["W_U"])


def ab_to_rows(x: np.ndarray) -> np.ndarray:
    """``[*rest, a, b]`` -> ``[a * p + b, *rest]``: the inverse of ``Run.by_ab``."""
    p = x.shape[-1]
    x = np.moveaxis(np.moveaxis(x, -1, 0), -1, 0)  # [a, b, *rest]
    return x.reshape(p * p, *x.shape[2:])


def _loss_splits(run: Run, post: np.ndarray) -> dict[str, float]:
    return metrics.by_split(metrics.cross_entropy, logits_from_post(run, post), run.labels, run.train_mask)


def removal_projector(p: int, freqs: Sequence[int]) -> Float[np.ndarray, "p p"]:
    """The real symmetric matrix that removes frequencies ``freqs`` from a length-p signal:
    ``I - sum_f (s_f s_f^T + c_f c_f^T)`` over the orthonormal sine/cosine rows of
    :func:`lens.fourier.basis`. Same result as zeroing FFT bins f and p - f."""
    b = fourier.basis(p)
    rows = np.isin(fourier.basis_freqs(p), [int(f) % p for f in freqs] + [(-int(f)) % p for f in freqs])
    return np.eye(p) - b[rows].T @ b[rows]


def remove_frequencies_along_b(run: Run, freqs: Sequence[int]) -> Float[np.ndarray, "N d_mlp"]:
    """``post`` with the listed frequencies zeroed along b only (the seed's
    ``remove_freqs_from_hook``): for each neuron and each a, the wave over b loses bins f
    and p - f. The a axis is left alone, as in the seed. Float64, rows a-major like
    ``run.acts["post"]``.

    Done as one projection matrix applied along b (:func:`removal_projector`): a single
    BLAS product, several times faster than FFT -> zero -> inverse FFT on the
    ``[neuron, a, b]`` view, with the same result (to 1e-13).
    """
    p = run.p
    post = run.acts["post"]
    by_b = post.reshape(p, p, -1).transpose(1, 0, 2).reshape(p, -1)  # [b, a * neuron], a copy
    # One 2-D BLAS product (numpy's broadcast matmul over a was ~6x slower).
    out = removal_projector(p, freqs) @ by_b.astype(np.float64)
    return out.reshape(p, p, -1).transpose(1, 0, 2).reshape(p * p, -1)


def ablations(run: Run, key_freqs: Sequence[int]) -> dict[str, dict[str, float]]:
    """The seed's three neuron ablations, each as float64 losses on all / train / test.

    - ``regular``: the unedited post-ReLU activations;
    - ``without_sum_difference``: sum and difference frequencies of the key frequencies
      (:func:`lens.fourier.sum_and_difference_frequencies`) removed along b. Footgun: a key
      frequency that is also a sum or difference of two others is *kept* here (removing it
      would remove the signal itself); on the published model the sets do not overlap;
    - ``only_key_frequencies``: every frequency 1..p // 2 that is not a key frequency removed
      along b (the constant stays). The seed's ``range(1, p // 2)`` skipped p // 2 itself
      (56 at p = 113); this removes it too.
    """
    p = run.p
    keys = {int(f) for f in key_freqs}
    sum_diff = [f for f in fourier.sum_and_difference_frequencies(sorted(keys), p) if f not in keys]
    others = [f for f in range(1, p // 2 + 1) if f not in keys]
    return {
        "regular": _loss_splits(run, run.acts["post"]),
        "without_sum_difference": _loss_splits(run, remove_frequencies_along_b(run, sum_diff)),
        "only_key_frequencies": _loss_splits(run, remove_frequencies_along_b(run, others)),
    }
