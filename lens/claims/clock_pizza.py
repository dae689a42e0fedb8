"""Zhong et al. 2023's two measures that tell a Clock from a Pizza, for this architecture.

*The Clock and the Pizza: Two Stories in Mechanistic Explanation of Neural Networks*
(code: github.com/fjzzq2002/pizza). A Clock multiplies angles: its correct logit depends on
a + b only, and the gradients of a logit with respect to the two input embeddings differ.
A Pizza averages the embeddings first (constant attention) and then acts on the midpoint:
its correct logit also depends on a - b (the midpoint's length, |cos(w (a - b) / 2)|), and
the two gradients are equal.

- **Distance irrelevance**: lay the correct logit out as M[s, d] with s = (a + b) mod p and
  d = (a - b) mod p; ``mean_d std_s M / std M``. Near 1: the distance does not matter
  (Clock); near 0: it is all that varies (Pizza). Their ``distance_irrelevance``.
- **Gradient symmetricity**: over sampled (a, b, c), the cosine similarity of
  d logit_c / d x_a and d logit_c / d x_b, where x_a, x_b are the embeddings entering
  positions 0 and 1 (their ``gradient_symmetricity``). Their model has no "=" token and
  reads the logits at b's position; this one reads them at "=" (position 2).

The gradient is written out by hand in numpy for this one-layer, LayerNorm-free model
(:func:`input_gradients`), from the activations of the run: no torch. Their code samples
100 triples; this samples ``SAMPLES`` (seeded, so the value is reproducible).
"""

from __future__ import annotations

import numpy as np
from jaxtyping import Float, Int

from ..run import Run
from .core import Claim, Measured

SAMPLES = 2048
SEED = 0
# Reference values from their runs (result/1l_fixedwidth.csv of their repository, one layer):
# clocks (attention rate near 1) have gradient symmetricity about 0.4-0.6 and distance
# irrelevance about 0.7-1; pizzas (attention rate near 0) at least 0.98 and 0.15-0.3.
PIZZA_MIN_SYMMETRICITY, PIZZA_MAX_IRRELEVANCE = 0.98, 0.4
CLOCK_MAX_SYMMETRICITY, CLOCK_MIN_IRRELEVANCE = 0.9, 0.6


def distance_irrelevance(run: Run) -> float:
    """``mean_d std_s M[s, d] / std M`` of the correct logit M[s, d] at s = (a + b) mod p,
    d = (a - b) mod p (each (s, d) is one input for odd p). Population std (ddof 0), as
    theirs. NaN if the correct logit is constant."""
    p = run.p
    a, b = np.divmod(np.arange(p * p), p)
    correct = run.logits[np.arange(p * p), run.labels].astype(np.float64)
    m = np.zeros((p, p))
    m[(a + b) % p, (a - b) % p] = correct
    total = m.std()
    return float(m.std(axis=0).mean() / total) if total > 0 else float("nan")


def sample_triples(p: int, n: int = SAMPLES, seed: int = SEED) -> Int[np.ndarray, "sample 3"]:
    """``n`` distinct (a, b, c) triples, uniform over all p^3 (all of them when fewer)."""
    flat = np.random.default_rng(seed).choice(p**3, size=min(n, p**3), replace=False)
    return np.stack(np.unravel_index(flat, (p, p, p)), axis=1)


def input_gradients(
    run: Run, triples: Int[np.ndarray, "sample 3"]
) -> tuple[Float[np.ndarray, "sample d_model"], Float[np.ndarray, "sample d_model"]]:
    """d logit_c / d x_0 and d logit_c / d x_1 at each (a, b, c), x_k the residual stream
    entering position k (W_E[token] + W_pos[k]; its gradient is the embedding's).

    Backward through the model: g = d logit_c / d resid_mid = W_U[:, c] + W_in (relu'(pre)
    * (W_out W_U)[:, c]); per head h, with y_h = W_O[h] g, weights w_k, values v_k and
    z = sum_k w_k v_k, the input at key k gets
    ``w_k (W_V[h] y_h + ((v_k - z) . y_h) W_K[h] q_h / sqrt(d_head))``: the value path and
    the softmax through the score. The query comes from the fixed "=" input alone, so it
    takes no gradient from x_0 or x_1. ReLU's derivative at 0 is taken as 0.
    """
    w = {k: v.astype(np.float64) for k, v in run.weights.items()}
    p, d_head = run.p, run.cfg.d_head
    a, b, c = triples.T
    rows = a * p + b
    relu_grad = run.acts["pre"][rows] > 0  # [S, d_mlp]
    readout = w["W_out"] @ w["W_U"]  # [d_mlp, p]
    g = w["W_U"][:, c].T + (relu_grad * readout[:, c].T) @ w["W_in"].T  # [S, d_model]
    y = np.einsum("sd,hed->she", g, w["W_O"])  # [S, head, d_head]
    q = np.einsum("d,hde->he", w["W_E"][p] + w["W_pos"][2], w["W_Q"])
    kappa = np.einsum("hde,he->hd", w["W_K"], q) / np.sqrt(d_head)  # d score / d x_k
    pattern = run.acts["pattern"][rows].astype(np.float64)  # [S, head, key]
    z = run.acts["z"][rows].astype(np.float64)  # [S, head, d_head]
    grads = []
    for k, token in ((0, a), (1, b)):
        v = np.einsum("sd,hde->she", w["W_E"][token] + w["W_pos"][k], w["W_V"])
        through_value = np.einsum("she,hde->shd", y, w["W_V"])
        through_score = ((v - z) * y).sum(axis=-1)[..., None] * kappa[None]  # [S, head, d_model]
        grads.append((pattern[:, :, k, None] * (through_value + through_score)).sum(axis=1))
    return grads[0], grads[1]


GRADIENT_BLOCK = 256  # triples per block: every float64 intermediate is [256, head, d_model]


def gradient_symmetricity(run: Run, n: int = SAMPLES, seed: int = SEED) -> float:
    """Mean cosine similarity of the two input gradients over ``n`` sampled triples
    (:func:`sample_triples`, :func:`input_gradients`); a zero gradient counts as 0.

    The triples go through :func:`input_gradients` a block at a time: each row is its own
    triple, and all 2048 at once held about 40 MB of float64 intermediates at p = 113 (the
    Clock or Pizza page's first visit was the one-reader memory peak), a block about 5 MB."""
    triples = sample_triples(run.p, n, seed)
    blocks = [
        input_gradients(run, triples[i : i + GRADIENT_BLOCK]) for i in range(0, len(triples), GRADIENT_BLOCK)
    ]
    g0 = np.concatenate([g[0] for g in blocks]) if blocks else np.zeros((0, run.cfg.d_model))
    g1 = np.concatenate([g[1] for g in blocks]) if blocks else np.zeros((0, run.cfg.d_model))
    norms = np.linalg.norm(g0, axis=1) * np.linalg.norm(g1, axis=1)
    cos = np.divide((g0 * g1).sum(axis=1), norms, out=np.zeros(len(norms)), where=norms > 0)
    return float(cos.mean())


def verdict(symmetricity: float, irrelevance: float) -> str:
    """``clock``, ``pizza`` or ``mixed`` from the reference values above."""
    if symmetricity >= PIZZA_MIN_SYMMETRICITY and irrelevance <= PIZZA_MAX_IRRELEVANCE:
        return "pizza"
    if symmetricity <= CLOCK_MAX_SYMMETRICITY and irrelevance >= CLOCK_MIN_IRRELEVANCE:
        return "clock"
    return "mixed"


def clock_or_pizza(run: Run) -> Measured:
    """Distance irrelevance (the value), gradient symmetricity and the verdict; the claim
    (the model is a Clock, Nanda et al.'s algorithm) holds when the verdict is ``clock``."""
    di, gs = distance_irrelevance(run), gradient_symmetricity(run)
    kind = verdict(gs, di)
    details = {
        "gradient_symmetricity": gs,
        "distance_irrelevance": di,
        "verdict": kind,
        "samples": int(min(SAMPLES, run.p**3)),
        "clock": {"max_symmetricity": CLOCK_MAX_SYMMETRICITY, "min_irrelevance": CLOCK_MIN_IRRELEVANCE},
        "pizza": {"min_symmetricity": PIZZA_MIN_SYMMETRICITY, "max_irrelevance": PIZZA_MAX_IRRELEVANCE},
    }
    fields = {
        "gs": gs,
        "verdict": {"pizza": "a pizza", "mixed": "a mix of clock and pizza"}.get(kind, kind),
        "di_clock": CLOCK_MIN_IRRELEVANCE,
        "gs_clock": CLOCK_MAX_SYMMETRICITY,
        "di_pizza": PIZZA_MAX_IRRELEVANCE,
        "gs_pizza": PIZZA_MIN_SYMMETRICITY,
    }
    return Measured(di, details, fields, holds=kind == "clock")


CLAIMS = [
    Claim(
        id="clock-or-pizza",
        section="logits",
        measure=clock_or_pizza,
        threshold=CLOCK_MIN_IRRELEVANCE,
        direction="at_least",
        statement=(
            "By Zhong et al. 2023's measures this model is a clock: distance irrelevance {value:.2f} "
            "(clocks at least {di_clock}), gradient symmetricity {gs:.2f} (clocks at most {gs_clock})."
        ),
        fails_statement=(
            "By Zhong et al. 2023's measures this model is {verdict}, not a clock: distance "
            "irrelevance {value:.2f} (clocks at least {di_clock}, pizzas at most {di_pizza}), "
            "gradient symmetricity {gs:.2f} (clocks at most {gs_clock}, pizzas at least {gs_pizza})."
        ),
        method=(
            "Zhong et al. 2023: std over a + b of the correct logit at fixed a − b, over its std; "
            "cosine of d logit_c / d x_a and / d x_b over 2048 sampled (a, b, c), by hand in numpy."
        ),
    ),
]
