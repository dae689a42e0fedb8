"""Wave Transforms: how much of the answer attention's products carry past the ReLU.

The seed's hypothesis keeps every step linear but the ReLU. Attention is not linear in
(a, b) (``attention-additive`` measures its cross terms); this module asks what those cross
terms are worth at the readout, by splitting the ReLU into a linear and a rectifying half.
"""

from __future__ import annotations

import numpy as np

from .. import fourier
from ..analysis import attention_scores, key_frequencies
from ..run import Run
from .core import Claim, Measured, frequency_list, nothing_to_measure

# Attention's mixing matters when its products carry at least a tenth of the answer's
# cos(w (a + b - c)) term at most key frequencies: an additive attention gives exactly 0
# (see below), and the two published-recipe models measure about 0.3.
MIXING_MATTERS = 0.1


def cosine_weights(z: np.ndarray, run: Run, freqs: list[int]) -> np.ndarray:
    """Least-squares weight of ``cos(w_f (a + b - c))`` in ``z`` (``[p * p, p]``, rows a-major,
    columns c) for each f in ``freqs``, as in ``logits-sum-of-cosines``
    (:func:`lens.claims.logits.sum_of_cosines`): one projection each,
    ``<z, X_f> / ||X_f||^2``. A part of ``z`` that is constant over c, or a function of (a, c)
    or of (b, c) alone, has weight 0 (its sum over the other token of cos(w (a + b - c))
    vanishes for f != 0 mod p)."""
    p = run.p
    spec = np.fft.rfft(np.asarray(z, dtype=np.float64), axis=1)[:, np.asarray(freqs, dtype=int)]
    w = 2 * np.pi * np.asarray(freqs, dtype=np.float64) / p
    inner = (np.exp(1j * np.outer(run.labels, w)) * spec).real.sum(axis=0)
    return inner / (len(z) * p / 2)


def _ratio(part: float, whole: float) -> float:
    """``part / whole``, signed (a negative whole is a term the model writes the wrong way
    round), NaN when the whole is zero."""
    return float(part / whole) if whole != 0 else float("nan")


def _percent(x: float) -> str:
    """A share as a whole percentage, never "-0%" (a share that is zero up to float noise)."""
    return f"{round(x, 2) + 0.0:.0%}" if np.isfinite(x) else "n/a"


def _gate_frequencies(run: Run) -> list[int]:
    """Each head's dominant frequency in its score on a (:func:`lens.analysis.attention_scores`,
    the frequency gate of ``attention-additive``)."""
    return [int(np.argmax(fourier.energy_share(score, axis=0))) for score in attention_scores(run)]


def attention_products(run: Run) -> Measured:
    """Per key frequency f, the share of the logits' ``cos(w_f (a + b - c))`` term that
    attention's cross terms carry to the readout without the ReLU's rectification.

    Exactly: at "=", with r = resid_mid and x = r W_in + b_in (the MLP's pre-activation),
    the logits are ``r W_U + ReLU(x) W_out W_U + b_out W_U``. Write ReLU(x) = x/2 + |x|/2:

        logits = r M + |x|/2 W_out W_U + constant,   M = W_U + 1/2 W_in W_out W_U,

    the first part linear in r (the direct path r -> W_U plus the linear half x/2 of the
    MLP), the second the rectifying half. Let ``alpha_f(Z)`` be the least-squares weight of
    cos(w_f (a + b - c)) in Z (:func:`cosine_weights`). Split r over a 2-D DFT in (a, b)
    into its additive part (the constant and the one-axis parts, u(a) + v(b)) and its cross
    terms (both frequencies non-zero: what attention's softmax mixes). The additive part
    through M is a function of (a, c) plus one of (b, c), whose weight is 0, so
    ``alpha_f(r M)`` is exactly what attention's cross terms, passed straight through, add
    to the term. The share credited to attention's products is

        share_f = alpha_f(r M) / (alpha_f(r M) + alpha_f(|x|/2 W_out W_U)),

    the denominator being the logits' own weight (the constants have none). The value is
    the median share over the key frequencies. What the cross terms do through |x|/2 is
    credited to the ReLU, so this is a lower bound on attention's part. A share outside
    0..1 means the two halves pull opposite ways. An attention whose weights do not depend
    on the tokens is additive: share 0.

    Details per key frequency: ``weight`` (the logits'), ``straight`` and ``rectified``
    (the two halves' weights), ``share``, ``direct`` and ``mlp_linear`` (the two paths of
    the straight part, as shares of the weight) and ``gated`` (whether some head's score is
    led by f); ``gates``: each head's dominant score frequency; ``frequencies_above``: the
    key frequencies whose share reaches the threshold; ``gated`` / ``ungated``: the key
    frequencies some head's score is / no head's score is led by; ``shares_follow_gates``:
    whether the frequencies that reach the threshold are exactly the gated ones.
    """
    kf = key_frequencies(run)
    if not kf:
        return nothing_to_measure("no key frequency")
    w = {k: np.asarray(run.weights[k], dtype=np.float64) for k in ("W_in", "W_out", "W_U")}
    r = run.acts["resid_mid"].astype(np.float64)
    x = run.acts["pre"].astype(np.float64)
    out_u = w["W_out"] @ w["W_U"]  # [d_mlp, p]
    direct = cosine_weights(r @ w["W_U"], run, kf)
    mlp_linear = cosine_weights(r @ (0.5 * w["W_in"] @ out_u), run, kf)
    rectified = cosine_weights(0.5 * np.abs(x) @ out_u, run, kf)
    straight = direct + mlp_linear
    total = straight + rectified
    gates = _gate_frequencies(run)
    per_freq = {}
    for i, f in enumerate(kf):
        per_freq[int(f)] = {
            "weight": total[i],
            "straight": straight[i],
            "rectified": rectified[i],
            "share": _ratio(straight[i], total[i]),
            "direct": _ratio(direct[i], total[i]),
            "mlp_linear": _ratio(mlp_linear[i], total[i]),
            "gated": int(f) in gates,
        }
    shares = np.array([v["share"] for v in per_freq.values()])
    value = float(np.median(shares)) if np.isfinite(shares).all() else float("nan")
    above = [f for f, v in per_freq.items() if v["share"] >= MIXING_MATTERS]
    gated = [f for f, v in per_freq.items() if v["gated"]]
    details = {
        "per_frequency": per_freq,
        "gates": gates,
        "frequencies_above": above,
        "gated": gated,
        "ungated": [f for f in per_freq if f not in gated],
        "shares_follow_gates": above == gated,
    }
    fields = {
        "median": _percent(value),
        "per_frequency": ", ".join(f"{f}: {_percent(v['share'])}" for f, v in per_freq.items()),
        "above": len(above),
        "keys": len(kf),
        "above_list": frequency_list(above),
    }
    return Measured(value, details, fields)


CLAIMS = [
    Claim(
        id="attention-products-in-logits",
        section="wave-transforms",
        measure=attention_products,
        threshold=MIXING_MATTERS,
        direction="at_least",
        statement=(
            "Attention's products reach the answer: of the logits' cos(ω(a + b − c)) term, the part "
            "that attention's cross terms send straight through (past the MLP, and through the "
            "ReLU's linear half x/2) is {median} at the median key frequency, and at least "
            "{threshold:.0%} for {above} of {keys} ({per_frequency}); the ReLU's half |x|/2 makes "
            "the rest."
        ),
        fails_statement=(
            "Attention's products barely reach the answer: of the logits' cos(ω(a + b − c)) term, "
            "the part that attention's cross terms send straight through (past the MLP, and "
            "through the ReLU's linear half x/2) is only {median} at the median key frequency "
            "({per_frequency}; threshold {threshold:.0%}); the rest comes from the ReLU's half |x|/2."
        ),
        method=(
            "Logits split by ReLU(x) = x/2 + |x|/2 into resid_mid·(W_U + ½ W_in W_out W_U) and "
            "½|pre|·W_out W_U; each part's least-squares weight on cos(ω(a + b − c)) per key "
            "frequency (Nanda et al. 2023); median over key frequencies of the first's share."
        ),
    ),
]
