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
    # Associativity: post @ (W_out @ W_U) is [N, d_mlp] @ [d_mlp, p], fewer flops than
    # going through d_model, and the post-independent part is one small product.
    return _base_logits(run) + np.asarray(post, dtype=np.float64) @ _readout(run)


def _readout(run: Run) -> Float[np.ndarray, "d_mlp p"]:
    """``W_out @ W_U`` in float64: each neuron's direct effect on the p logits."""
    return run.weights["W_out"].astype(np.float64) @ run.weights["W_U"].astype(np.float64)


def _base_logits(run: Run) -> Float[np.ndarray, "N p"]:
    """The logits' part that does not pass through the neurons: (resid_mid + b_out) @ W_U."""
    w_u = run.weights["W_U"].astype(np.float64)
    return (run.acts["resid_mid"].astype(np.float64) + run.weights["b_out"].astype(np.float64)) @ w_u


def logits_with_post_filtered_2d(run: Run, keep: np.ndarray) -> Float[np.ndarray, "N p"]:
    """Logits at "=" after keeping only the folded (fa, fb) frequency pairs ``keep`` (bool
    ``[K + 1, K + 1]``) of the post-ReLU activations' 2-D spectrum over (a, b)
    (:func:`lens.fourier.filter_2d`), in float64, rows a-major.

    The filter is linear over (a, b) and the readout is linear across neurons, so
    ``filter(post) @ W_out @ W_U == filter(post @ W_out @ W_U)``: the p readout channels
    are filtered instead of the d_mlp neurons (4.5x less work at p = 113, the same numbers
    as :func:`logits_from_post` on the filtered post to rounding).
    """
    p = run.p
    through = run.acts["post"].astype(np.float64) @ _readout(run)  # [N, c]
    by_ab = through.T.reshape(p, p, p)  # [c, a, b]
    filtered = fourier.filter_2d(by_ab, keep).reshape(p, p * p).T
    return _base_logits(run) + filtered


def product_masks(p: int, key_freqs: Sequence[int]) -> dict[str, np.ndarray]:
    """Folded (fa, fb) masks ``[K + 1, K + 1]`` for the product ablations:

    - ``products``: (f, f) for each key f, i.e. the four bins (+-f, +-f): cos(w f a) cos(w f b),
      sin sin, cos sin, sin cos, the intermodulation products a ReLU makes from an a-wave
      and a b-wave of the same key frequency;
    - ``one_axis``: every pair with fa = 0 or fb = 0 (the constant included): a sum of a
      function of a and a function of b, which needs no multiplication.
    """
    k = fourier.n_freqs(p) + 1
    products = np.zeros((k, k), dtype=bool)
    for f in key_freqs:
        products[int(fourier.fold(f, p)), int(fourier.fold(f, p))] = True
    products[0, 0] = False
    one_axis = np.zeros((k, k), dtype=bool)
    one_axis[0, :] = one_axis[:, 0] = True
    return {"products": products, "one_axis": one_axis}


PRODUCT_ABLATIONS = ("without_products", "only_products")


def product_ablations(
    run: Run, key_freqs: Sequence[int], names: Sequence[str] = PRODUCT_ABLATIONS
) -> dict[str, dict[str, dict[str, float]]]:
    """The product ablations of the post-ReLU activations, each ``{"loss", "accuracy"}`` on
    all / train / test (float64 losses, the checkpoint's split):

    - ``without_products``: the (+-f, +-f) components of every key frequency f removed;
    - ``only_products``: only the constant, the one-axis parts and those products kept.

    ``names`` picks which to compute. See :func:`product_masks` and
    :func:`logits_with_post_filtered_2d`.
    """
    masks = product_masks(run.p, key_freqs)
    keeps = {
        "without_products": ~masks["products"],
        "only_products": masks["one_axis"] | masks["products"],
    }
    out = {}
    for name in names:
        keep = keeps[name]
        logits = logits_with_post_filtered_2d(run, keep)
        out[name] = {
            "loss": metrics.by_split(metrics.cross_entropy, logits, run.labels, run.train_mask),
            "accuracy": metrics.by_split(metrics.accuracy, logits, run.labels, run.train_mask),
        }
    return out


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
