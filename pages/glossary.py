"""Glossary: the terms the pages use, each defined once, with this model's values.

Run by ``st.navigation`` as a script. Every value in a definition (p, d_model, d_mlp, the
heads, the matrices' shapes, the key frequencies, the split, the restricted and excluded
losses) comes from :mod:`lens.story.glossary` for the loaded model (``ui.data.facts``); the
page only formats. Each term is a subheader, so ``/glossary#resid-mid`` opens on it.
"""

from __future__ import annotations

import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("Glossary")
st.markdown(
    "The terms the pages use, in the order the signal meets them, then the frequencies, the "
    "orderings and the measures of training. Where a definition has a number, it is the "
    "loaded model's."
)


def _term(name: str, anchor: str, text: str) -> None:
    st.subheader(name, anchor=anchor)
    st.markdown(text)


def show() -> None:
    from ui import data
    from ui.theme import listing, num, pct

    data.current_run()  # surfaces a refused checkpoint or a missing default
    g = data.facts("glossary", data.current_source())
    p, s = g.p, g.shapes
    kf = listing(g.key_freqs)

    def shape(m: str) -> str:
        return f"{s[m][0]} × {s[m][1]}"

    _term(
        "p",
        "p",
        f"The modulus: the model computes $(a + b) \\bmod p$ with $p = {p}$. Its input is three "
        f"tokens, a, b and “=” ({g.n_ctx} positions); tokens 0 to {p - 1} are the numbers and "
        f"token {p} is “=”. Its output is {p} logits, one per possible answer c.",
    )
    _term(
        "d_model",
        "d-model",
        f"The width of the **residual stream**, the vector each position carries from layer to "
        f"layer: d_model = {g.d_model} on this model. Every W matrix below reads from it or "
        f"writes to it. A *residual dimension* is one of its {g.d_model} coordinates.",
    )
    _term(
        "W_E",
        "w-e",
        f"The **embedding**: a {shape('W_E')} matrix, one row of d_model numbers per token "
        f"(the {p} numbers and “=”). Read down one column, over the number tokens, it is a "
        "signal over the token index, which the pages treat as a sum of waves.",
    )
    _term(
        "resid_mid",
        "resid-mid",
        "The residual stream at the “=” position **after attention** and before the MLP: the "
        "embedding of “=” plus its position embedding plus the attention output, "
        f"$r_{{mid}} = x_{{=}} + \\mathrm{{attn}}(x_a, x_b, x_{{=}})$, a vector of d_model = "
        f"{g.d_model} numbers for each input pair (a, b). The model's answer is read at “=” "
        "only, so that is the position the pages follow.",
    )
    _term(
        "W_in",
        "w-in",
        f"The MLP's input weights, {shape('W_in')} (d_model × d_mlp): neuron n's pre-activation "
        "is $r_{mid} \\cdot W_{in}[:, n] + b_{in}[n]$, so each column is a filter over the "
        "residual stream. The ReLU then keeps its positive part, $\\max(0, \\cdot)$.",
    )
    _term(
        "d_mlp",
        "d-mlp",
        f"The number of MLP neurons: d_mlp = {g.d_mlp} on this model.",
    )
    _term(
        "W_out",
        "w-out",
        f"The MLP's output weights, {shape('W_out')} (d_mlp × d_model): row n is what neuron n, "
        "after its ReLU, adds to the residual stream.",
    )
    _term(
        "resid_post",
        "resid-post",
        "The residual stream at “=” **after the MLP**: $r_{post} = r_{mid} + "
        "\\mathrm{ReLU}(r_{mid} W_{in} + b_{in}) W_{out} + b_{out}$. It is the last residual "
        "stream: the unembedding reads it.",
    )
    _term(
        "W_U",
        "w-u",
        f"The **unembedding**, {shape('W_U')} (d_model × p): the logits are "
        f"$z = r_{{post}} W_U$, one per answer c in 0..{p - 1}, and the model answers with the "
        "largest.",
    )
    _term(
        "Attention heads",
        "heads",
        f"{g.n_heads} heads of width {g.d_head} on this model. Each head at “=” weighs the three "
        "positions by a softmax of query-key scores and adds its weighted values to the "
        "residual stream.",
    )
    _term(
        "Fourier component",
        "fourier-component",
        "A signal $x(k)$ over the tokens $k = 0, \\dots, p - 1$ is a sum of waves "
        "$\\cos(2\\pi f k / p)$ and $\\sin(2\\pi f k / p)$ at the frequencies "
        f"$f = 1, \\dots, {p // 2}$ (the fastest wave p samples tell apart), plus a constant. "
        "Its Fourier component at f is the part of x along those two waves, "
        "$x_f(k) = A_f \\cos(2\\pi f k / p + \\varphi_f)$; its energy $A_f^2$ is how much of x lies there. "
        "Writing $\\omega = 2\\pi f / p$, a wave reads $\\cos(\\omega k)$.",
    )
    _term(
        "Key frequency",
        "key-frequency",
        "A frequency at which the embedding $W_E$ holds much of its energy (here: at least a third "
        f"of the strongest frequency's). This model's key frequencies are {kf}. Most of what "
        "the pages show happens at these frequencies.",
    )
    _term(
        "c-order",
        "c-order",
        f"The {p} inputs that share an answer c listed one row per a: row k holds the pair "
        f"$(k, (c - k) \\bmod p)$, so a counts up while b counts down. In c-order a function of "
        "a + b alone is constant within a row.",
    )
    _term(
        "Grokking",
        "grokking",
        f"Generalising long after memorising (Power et al., 2022). The model trains on "
        f"{g.n_train:,} of the {g.n_all:,} pairs ({pct(g.n_train / g.n_all)}); its training "
        "loss falls early, while the loss on the other pairs stays high for many steps and then "
        "falls too. The **Grokking** page follows this model's training run.",
    )
    _term(
        "Restricted loss",
        "restricted-loss",
        "Nanda et al.'s progress measure: the loss over all pairs when every logit column is "
        "kept to its mean plus its part along the key frequencies' waves in a + b, "
        "$\\cos(\\omega_f (a + b))$ and $\\sin(\\omega_f (a + b))$, and everything else is "
        f"removed. Low when the key frequencies alone carry the answer: {num(g.restricted_loss, '.2e')} "
        f"on this model, against a test loss of {num(g.test_loss, '.2e')}.",
    )
    _term(
        "Excluded loss",
        "excluded-loss",
        "The other progress measure: the loss on the training pairs when exactly those "
        "key-frequency directions are removed from the logits. High once the model relies on "
        f"the key frequencies (memorised answers would survive the removal): "
        f"{num(g.excluded_loss, '.3g')} on this model.",
    )


show()
