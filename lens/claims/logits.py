"""The readout as a whole: a sum of cosines, every frequency needed, a vote, ghost peaks.

Logits are the model's own at "=" (float32 out of the model, float64 from here on), rows
a-major (row ``a * p + b``), columns the answer c.
"""

from __future__ import annotations

import numpy as np

from .. import metrics, progress
from ..analysis import key_frequencies
from ..run import Run
from .core import Claim, Measured, frequency_list, share

# "Far above the model's own" for Nanda et al.'s excluded loss: two orders of magnitude.
EXCLUDED_FACTOR = 100.0


def sum_of_cosines(run: Run) -> Measured:
    """Fraction of the logits' variance explained by ``sum_f alpha_f cos(w_f (a + b - c))``
    over the key frequencies, alpha_f by least squares.

    The variance is over all p * p inputs and p answers after removing each input's mean
    logit (a shift per input changes no probability). The regressors are orthogonal (for
    distinct f in 1..p // 2 they are distinct Fourier modes of a + b - c) and have zero
    mean over c, so least squares is one projection each: ``alpha_f = <L, X_f> / ||X_f||^2``
    with ``<L, X_f> = sum_n Re(exp(i w_f s_n) DFT_c(L[n])_f)``, s = (a + b) mod p.
    """
    p, kf = run.p, key_frequencies(run)
    z = run.logits.astype(np.float64)
    z = z - z.mean(axis=1, keepdims=True)
    s = run.labels  # (a + b) mod p, row by row
    spec = np.fft.rfft(z, axis=1)[:, np.asarray(kf, dtype=int)]  # [N, key]: sum_c z[n, c] exp(-i w c)
    w = 2 * np.pi * np.asarray(kf) / p
    inner = (np.exp(1j * np.outer(s, w)) * spec).real.sum(axis=0)
    norm = len(z) * p / 2  # ||cos(w (s - c))||^2 over every (n, c)
    alpha = inner / norm
    energy = (z * z).sum()
    per_freq = {
        int(f): {"alpha": a, "explained": share(a * a * norm, energy)} for f, a in zip(kf, alpha, strict=True)
    }
    explained = share((inner * alpha).sum(), energy)
    return Measured(explained, {"per_frequency": per_freq}, {"keys": frequency_list(kf)})


def excluded_losses(run: Run) -> Measured:
    """Nanda et al.'s excluded loss one key frequency at a time
    (:func:`lens.progress.excluded_logits`: its cos/sin(w (a + b)) directions removed from
    every logit column), float64 cross-entropy on the checkpoint's train split. The value is
    the smallest; the threshold ``EXCLUDED_FACTOR`` x the model's own train loss."""
    kf, train = key_frequencies(run), run.train_mask
    own = metrics.cross_entropy(run.logits[train], run.labels[train])
    per_freq = {}
    for f in kf:
        ex = progress.excluded_logits(run.logits, [f])[train]
        loss = metrics.cross_entropy(ex, run.labels[train])
        per_freq[int(f)] = {
            "excluded_loss": loss,
            "ratio_to_own": share(loss, own),
            "accuracy": metrics.accuracy(ex, run.labels[train]),
        }
    weakest = min(per_freq, key=lambda f: per_freq[f]["excluded_loss"]) if per_freq else None
    value = per_freq[weakest]["excluded_loss"] if weakest is not None else float("nan")
    details = {"own_train_loss": own, "per_frequency": per_freq}
    fields = {"own": own, "weakest": weakest if weakest is not None else "none"}
    return Measured(value, details, fields, threshold=EXCLUDED_FACTOR * own)


def majority_vote(run: Run) -> Measured:
    """Accuracy over all p * p inputs of each key frequency's restricted logits alone
    (:func:`lens.progress.restricted_logits` with that one frequency: each column's mean
    plus its cos/sin(w (a + b)) part) and of all key frequencies together. The value is
    what the vote adds: together minus the best one alone."""
    kf, labels = key_frequencies(run), run.labels
    alone = {int(f): metrics.accuracy(progress.restricted_logits(run.logits, [f]), labels) for f in kf}
    together = metrics.accuracy(progress.restricted_logits(run.logits, kf), labels)
    best = max(alone.values(), default=float("nan"))
    details = {"alone": alone, "together": together, "model": metrics.accuracy(run.logits, labels)}
    lo = min(alone.values(), default=float("nan"))
    fields = {"lo": lo, "hi": best, "together": together}
    return Measured(together - best, details, fields)


def ghost_peaks(run: Run) -> Measured:
    """How high the logits stand at c = 2a and c = 2b (mod p) against c = a + b, over the
    inputs with a != b (for a = b all three coincide), each measured from the input's mean
    logit: ``mean((L[2a] + L[2b]) / 2 - mean L) / mean(L[a + b] - mean L)``, a ratio of
    means (per-input ratios blow up where the peak is small; their median is in details).
    """
    p = run.p
    z = run.logits.astype(np.float64)
    a, b = np.divmod(np.arange(p * p), p)
    rows = np.flatnonzero(a != b)
    a, b = a[rows], b[rows]
    mean = z[rows].mean(axis=1)
    peak = z[rows, (a + b) % p] - mean
    ghost = (z[rows, (2 * a) % p] + z[rows, (2 * b) % p]) / 2 - mean
    lifted = peak != 0
    details = {
        "peak_lift": float(peak.mean()),
        "ghost_lift": float(ghost.mean()),
        "median_ratio": float(np.median(ghost[lifted] / peak[lifted])) if lifted.any() else None,
    }
    return Measured(share(ghost.mean(), peak.mean()) if len(rows) else float("nan"), details)


CLAIMS = [
    Claim(
        id="logits-sum-of-cosines",
        section="logits",
        measure=sum_of_cosines,
        threshold=0.9,
        direction="at_least",
        statement=(
            "The logits are a sum of cosines: one cos(ω(a + b − c)) per key frequency ({keys}), "
            "each with its own weight, explains {value:.1%} of their variance."
        ),
        fails_statement=(
            "A weighted sum of cos(ω(a + b − c)), one per key frequency ({keys}), explains only "
            "{value:.1%} of the logits' variance (threshold {threshold:.0%})."
        ),
        method=(
            "Least-squares fit of each input's mean-removed logits over all p² inputs and p "
            "answers by cos(ω(a + b − c)), one weight per key frequency (Nanda et al. 2023)."
        ),
    ),
    Claim(
        id="every-key-frequency-needed",
        section="logits",
        measure=excluded_losses,
        threshold=EXCLUDED_FACTOR,  # set per model: EXCLUDED_FACTOR x its own train loss
        direction="at_least",
        statement=(
            "Every key frequency is needed: excluding any one from the logits raises the train "
            "loss from {own:.2g} to at least {value:.2g}."
        ),
        fails_statement=(
            "Not every key frequency is needed: excluding {weakest} from the logits only takes "
            "the train loss from {own:.2g} to {value:.2g} (threshold {threshold:.2g})."
        ),
        method=(
            "Nanda et al. 2023's excluded loss, one key frequency at a time: its cos/sin(ω(a + b)) "
            "directions removed from every logit column; float64 train loss."
        ),
    ),
    Claim(
        id="majority-vote",
        section="logits",
        measure=majority_vote,
        threshold=0.5,
        direction="at_least",
        statement=(
            "The key frequencies vote: alone, each one's part of the logits gets {lo:.0%} to "
            "{hi:.0%} of the answers right; together they get {together:.0%}."
        ),
        fails_statement=(
            "No vote is needed, or none wins: alone, each key frequency's part of the logits gets "
            "{lo:.0%} to {hi:.0%} of the answers right, together {together:.0%}."
        ),
        method=(
            "Accuracy over all p² inputs of Nanda et al. 2023's restricted logits for each key "
            "frequency alone and all together; together minus the best alone (He et al. 2026's vote)."
        ),
    ),
    Claim(
        id="ghost-peaks",
        section="logits",
        measure=ghost_peaks,
        threshold=0.5,
        direction="near",
        tolerance=0.2,
        statement=(
            "The logits have ghost peaks at 2a and 2b, {value:.2f} of the way from the mean logit "
            "to the peak at a + b, as He et al. 2026 predict for an idealised ReLU network."
        ),
        fails_statement=(
            "No ghost peaks of the predicted strength: the logit at 2a and 2b stands {value:.2f} "
            "of the way from the mean logit to the one at a + b (He et al. 2026: about 0.5)."
        ),
        method=(
            "Over inputs with a ≠ b: mean of (L[2a] + L[2b])/2 minus the input's mean logit, "
            "over the mean of L[a + b] minus it (He et al. 2026's ghost peaks)."
        ),
    ),
]
