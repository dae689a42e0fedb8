"""Attention: where a and b meet, and what the seed's hypothesis gets right about it.

Run by ``st.navigation`` as a script: number-free prose first, then :func:`show`, which loads
the (cached) run and writes every statement that quotes a number. Every such number is a field
of :func:`lens.story.attention.facts`, of the scopes' data from the same module, or of a claim
(:mod:`lens.claims`, through :mod:`ui.claims`, each sentence the one that fits the loaded
model's verdict, with its card); claims are measured after the charts they talk about. The
scopes' markers and captions come from :mod:`ui.figures.attention`. Nothing assumes p = 113 or
a particular frequency: defaults (the example c, the frequency shown) are computed.
"""

from __future__ import annotations

import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("Attention: where a and b meet")
st.markdown(
    r"""
Before attention, the two numbers sit at different positions: a at position 0, b at
position 1, each looked up on the same embedding waves. Attention is the only place where
they meet. At the `=` position it takes a weighted sum of what a, b and `=` carry, and from
then on the model works on that sum.

The trick of this page comes from the seed notebook this explanation grows from: sort the
inputs not by (a, b) but by **(c, a)**, with the answer c first. Every pair with the same
answer then lines up in a row, and the pairs (a, b) and (b, a) land at mirror positions
about **c/2**.

**The seed's hypothesis** for this layer: every head weighs a and b equally; so each row of
the residual stream is a sum of cosines that peak at c/2, one per key frequency; and nothing
is multiplied here (the ReLU, later, only adds harmonics). This page tests each part on the
loaded model: is what attention hands on mirror-symmetric, are the weights equal, where do
the rows peak, and is the output a sum of an a-part and a b-part? The seed studied the
published model of Nanda et al. (2023), *Progress measures for grokking via mechanistic
interpretability*; the numbers below are measured on the model named in the sidebar.
"""
)


# ---------------------------------------------------------------- sections


def _examples_section(p: int, c0: int) -> None:
    """The inputs that share an answer, every c in the browser (no server widget)."""
    from lens.story import attention as story
    from ui import data
    from ui.figures import attention as fig
    from ui.scope_widget import show_scope

    ex = data.of_args(story.examples, p)
    st.markdown(
        f"""
Every answer c is reached by exactly {p} inputs. List them in *c-order*, one row per a:
row k holds the input (a, b) = (k, (c − k) mod {p}), so a counts up while b counts *down*.
Rows k and c − k (mod {p}) hold the same two numbers swapped, (a, b) and (b, a): the list is
a mirror image of itself about the row c/2, and, because it wraps around at {p}, also about
c/2 + p/2. Because p is odd, exactly one input sits on a mirror point and pairs with
itself, a = b. Scrub or play c below: the two lines trade places about the markers, and the
caption names the self-paired input for each c (checked for all {p} answers here: one each).
"""
    )
    show_scope(
        fig.examples_lines(ex),
        ("c", "row"),
        key="attention.examples",
        play="c",
        start={"c": c0},
        markers=fig.examples_markers(p),
        caption=fig.examples_caption(p, ex),
        fourier=False,
        title="The inputs with answer c, row by row",
        x_title="row (= a)",
        y_title="token",
        height=260,
    )


@st.fragment  # its sliders rerun this scope only
def _resid_mid_section(source: str, p: int, loudest_dim: int, c0: int) -> None:
    """resid_mid in c-order: c in the browser; the example pair sits p/8 either side of c/2."""
    from lens.story import attention as story
    from ui import data
    from ui.figures import attention as fig
    from ui.scope_widget import show_scope

    show_scope(
        data.shared_of_run(story.resid_mid_ca, source),
        ("residual dimension", "c", "a"),
        key="attention.resid_mid",
        play="c",
        start={"c": c0, "residual dimension": loudest_dim},
        markers=fig.resid_mid_markers(p),
        caption=fig.resid_mid_caption(p),
        fourier=True,
        title="resid_mid at “=”, in c-order",
        y_title="activation",
    )


@st.fragment  # the seed reruns this demo only
def _wave_section(p: int, c0: int) -> None:
    from lens.story import attention as story
    from ui import data, links
    from ui.figures import attention as fig
    from ui.scope_widget import show_scope
    from ui.theme import num, pct

    st.header("Why a mirror: any wave plus its reflection")
    st.markdown(
        """
The symmetry does not need cosines. Take any signal w over the tokens, such as the
hand-made one below, built from ramps, steps and noise. Read it once forwards, w(n), and
once backwards from c, w(c − n): that is how a and b index the same embedding wave for one
answer c. Their sum is unchanged when n is replaced by c − n, so it is mirror-symmetric about
c/2, and, since the index wraps at p, about c/2 + p/2 too. Sweep the shift c. (The three
curves are drawn apart: w(n) 3 higher, the sum 4 lower.)
"""
    )
    seed = links.number_input(
        st, "hand-made wave: random seed", "seed", 0, 10_000, 0, key="attention.wave_seed"
    )
    demo = data.of_args(story.wave_demo, p, seed)
    st.markdown(
        f"The wave has little sinusoidal content (its strongest frequency holds only "
        f"{pct(demo.top_share, 0)} of its energy), yet over all {p} shifts the sum's largest "
        f"departure from mirror symmetry is {num(demo.asym, '.1e')}: symmetric to rounding."
    )
    show_scope(
        fig.wave_lines(demo),
        ("c", "n"),
        key="attention.custom_wave",
        play="c",
        start={"c": c0},
        markers=fig.wave_markers(p),
        caption=fig.wave_caption(p),
        fourier=False,
        title="A wave, its reflection about c, and their sum",
        x_title="token index n",
        y_title="value (drawn apart)",
    )


def _peak_section(source: str, p: int, kf: list[int], c0: int) -> None:
    """Where each row peaks: the prose, which no widget changes, around one fragment with the
    widgets and their two charts (a widget change re-sends only those, not the typeset math)."""
    from lens.story import attention as story
    from ui import claims, data
    from ui.theme import listing, pct

    st.header("Where each row peaks")
    st.markdown(
        r"""
The seed's idealised picture of the residual stream for the answer c is one cosine per key
frequency f, $\cos(\omega(n - c/2))$ over the token index n with $\omega = 2\pi f / p$: each
peaks at n = c/2. Symmetry alone gets close to that. A row that is
mirror-symmetric about c/2 has, at frequency f, exactly this shape up to a factor:
$A(c)\cos(\omega(n - c/2))$. The mirror fixes the centre; it does not fix the sign of the
amplitude A(c). Where A(c) > 0 the row peaks at c/2; where A(c) < 0, c/2 is a trough (and for
odd f the peak moves to c/2 + p/2). The seed's picture says A(c) > 0 for every answer.

To measure A(c), project `resid_mid` onto the direction in which its frequency-f part is
largest, and fit each row. Choose c and a key frequency: the first chart puts the seed's
cosine beside the model's row (scaled so that the largest amplitude reads 1), the second
shows A(c) over every answer.
"""
    )
    _peak_charts(source, p, kf, c0)
    rows = data.shared_of_run(story.rows_at_key_frequencies, source)
    peaks = claims.say(source, "attention-peaks-at-c-half")
    swap = claims.claim(source, "swap-symmetry")
    st.markdown(
        f"""
Measured on this model: the fitted $A(c)\\cos(\\omega(n - c/2))$ explains
{listing(pct(x) for x in rows.row_fit)} of the rows' variance along those directions (key
frequencies {listing(kf)}), and A(c) changes sign {listing(int(x) for x in rows.sign_changes)}
times as c runs from 0 to {p - 1}.
"""
    )
    st.markdown(
        r"""
Sign changes are what adding two waves gives. If attention handed on $u(a) + u(b)$ with
$u(t) = \cos(\omega t + \varphi)$, then for a = n, b = c − n,
$$u(a) + u(b) = 2\cos\!\left(\tfrac{\omega c}{2} + \varphi\right)\cos\!\left(\omega\left(n - \tfrac{c}{2}\right)\right),$$
so $A(c) = 2\cos(\omega c/2 + \varphi)$: a wave of *half* the key frequency in c, which turns
over about f times as c runs from 0 to p − 1. So even a plain sum of the two embeddings
would not give the seed's picture for any f above 1: its rows peak at c/2 for some answers
and dip there for others.
"""
    )
    st.markdown(
        f"""
In this model, half-frequency waves $\\alpha\\cos(\\omega c/2) + \\beta\\sin(\\omega c/2)$, fitted
in each residual dimension, explain {listing(pct(x) for x in rows.half_wave_fit)} of the
amplitudes' energy. The one direction used above holds {listing(pct(x) for x in rows.direction_share)}
of it: all of it if the amplitude pointed one way for every answer, about half if it turns in
a plane, as the cosine and sine parts of a sum of waves do.
"""
    )
    if swap.holds and not peaks.holds:
        opening = "The mirror about c/2 is there; the peak at c/2 is not. "
    elif peaks.holds:
        opening = "Here the rows do peak at c/2, as the seed pictures them. "
    else:
        opening = ""
    st.markdown(
        opening
        + r"""
Either way, the answer is not read from the centre. At one input, n − c/2 is (a − b)/2 up to a
multiple of p/2, whose sign A(c) absorbs, so $\cos(\omega(n - c/2))$ depends only on the
difference a − b, which says nothing about the answer: what carries c is the **amplitude**.
Where A(c) is a half-frequency wave, the frequency's two directions carry
$\cos(\omega c/2 + \varphi_1)$ and $\cos(\omega c/2 + \varphi_2)$: a point at half the answer's
angle. That is the midpoint of Zhong et al. (2023)'s "pizza": $(E_a + E_b)/2$ points at the
angle $\omega(a + b)/2$ with length $|\cos(\omega(a - b)/2)|$. A neuron that squares its input
gets $\cos^2(\omega c/2 + \varphi) = \tfrac12 + \tfrac12\cos(\omega c + 2\varphi)$, times a factor in
a − b: a wave of the key frequency in the answer c, with phase 2φ. That square is the ReLU's
second-order term, the mixer of the ReLU page, and 2φ is the phase alignment ψ = 2φ of
He et al. (2026) that the Neurons page measures.
"""
    )


@st.fragment  # its c and frequency rerun these two charts only
def _peak_charts(source: str, p: int, kf: list[int], c0: int) -> None:
    from lens.story import attention as story
    from ui import data, links
    from ui.figures import attention as fig
    from ui.scope_widget import show_scope

    i1, i2 = st.columns(2)
    # The page's one server-side c: the link's ?c= (where every c-order chart opens) follows it.
    ideal_c = int(i1.slider("answer c", 0, p - 1, c0, key="attention.c"))
    links.keep("c", ideal_c, story.default_c(p), key="attention.c")
    why = "it is not a key frequency of this model"
    first = kf[0] if kf else None
    freq0 = links.choice_param("freq", kf, first, key="attention.ideal_freq", why=why)
    freq = i2.selectbox("key frequency", kf, index=kf.index(freq0) if kf else 0, key="attention.ideal_freq")
    links.keep("freq", freq, first, key="attention.ideal_freq")
    ideal = data.of_args(story.ideal, p, tuple(kf), ideal_c)
    rows = data.shared_of_run(story.rows_at_key_frequencies, source)
    show_scope(
        fig.ideal_lines(ideal, kf, freq, rows, ideal_c),
        ("a", "n"),
        key="attention.ideal",
        play="a",
        start={"a": story.default_a(p, ideal_c)},
        markers=fig.ideal_markers(p, ideal_c),
        caption=fig.ideal_caption(p, ideal_c),
        fourier=True,
        title=f"Idealised residual stream for c = {ideal_c}, and the model's row",
        x_title="token index n",
        y_title="value",
        height=240,  # on a projector (1280 x 720) the c slider, this chart and its own slider fit
    )
    show_scope(
        fig.amplitude_lines(rows, freq),
        ("c",),
        key="attention.amplitude",
        markers=fig.amplitude_markers(ideal_c),
        caption=fig.amplitude_caption(p, rows, freq, ideal_c),
        fourier=False,
        title=f"The amplitude A(c) of each row at f = {freq}, over the answers",
        x_title="answer c",
        y_title="A(c) ÷ largest |A|",
        height=260,
    )


@st.fragment  # the head slider reruns this heat map only
def _pattern_scope(source: str, f) -> None:
    from lens.story import attention as story
    from ui import data
    from ui.figures import attention as fig
    from ui.scope_widget import show_scope

    show_scope(
        data.shared_of_run(story.attention_to_a, source),
        ("head", "a", "b"),
        key="attention.pattern",
        link_axes={"head": "head"},  # the link's ?head= (as it was before every axis was linked)
        heatmap=True,
        view="heatmap",
        caption=fig.head_caption(f.mean_to, f.gap),
        title="Attention from “=” to a, per input (a, b)",
        x_title="b",
        y_title="weight on a",
        height=390,  # the head slider and the whole map on one projector screen (1280 x 720)
    )


@st.fragment  # its sliders rerun this scope only
def _swap_scope(source: str, loudest_dim: int) -> None:
    from lens.story import attention as story
    from ui import data
    from ui.figures import attention as fig
    from ui.scope_widget import show_scope

    show_scope(
        fig.swap_lines(data.shared_of_run(story.resid_mid_swap, source)),
        ("residual dimension", "a", "b"),
        key="attention.swap",
        play="a",
        start={"residual dimension": loudest_dim},
        fourier=False,
        title="resid_mid at “=”: the input and its swap",
        x_title="b",
        y_title="activation",
    )


def _weights_section(source: str, f) -> None:
    from ui import claims
    from ui.theme import num, pct

    st.header("The attention weights on a and b")
    st.markdown(
        """
The seed's hypothesis has each head put equal weight on a and on b. The table gives each
head's weights averaged over all inputs, and their gap |weight on a − weight on b| on each
input, averaged; the heat map shows the weight on a for every input (a, b). Pick a head.
"""
    )
    st.table(
        {
            "head": list(range(f.n_heads)),
            "mean weight on a": [num(x, ".3f") for x in f.mean_to[:, 0]],
            "mean weight on b": [num(x, ".3f") for x in f.mean_to[:, 1]],
            "mean weight on =": [num(x, ".3f") for x in f.mean_to[:, 2]],
            "mean |weight a − weight b|": [num(x, ".3f") for x in f.gap],
            f"inputs with a gap > {num(f.gap_threshold, 'g')}": [pct(x, 0) for x in f.frac_gap_over],
            "mean |a in (a,b) − b in (b,a)|": [num(x, ".1e") for x in f.swap_weight_gap],
        }
    )
    _pattern_scope(source, f)
    equal = claims.say(source, "attention-weights-equal")
    swap = claims.claim(source, "swap-symmetry")
    pair = "the weight a gets in (a, b) and the weight b gets in (b, a)"
    if swap.holds:
        start = "Equal weights are not needed" if not equal.holds else "Equal weights are one way to symmetry"
        lead = f"{start}: a swap is enough. Here {pair}"
    else:
        start = (
            "Nor are the weights swap-symmetric"
            if not equal.holds
            else "Yet the output is not swap-symmetric"
        )
        lead = f"{start}: {pair}"
    st.markdown(
        f"""
{lead} differ by {num(f.swap_weight_gap_max, ".1e")} on average in the least symmetric head.
Swapping a and b changes the attention output by **{pct(f.swap_attn_out, 2)}** of its norm,
`resid_mid` by **{pct(f.swap_resid_mid, 2)}** and the final residual stream by
**{pct(f.swap_resid_post, 2)}**.
"""
        + (
            " It is this swap symmetry of the weights, not equal weights, that the mirror symmetry "
            "of the rows above rests on."
            if swap.holds and not equal.holds
            else ""
        )
    )
    st.markdown(
        """
The swap itself, dimension by dimension: `resid_mid` for (a, b) and for (b, a) over b, for
one a and one residual dimension, and their difference. Sweep a: where the model is
swap-symmetric the two lines lie on top of each other and the difference stays near zero.
"""
    )
    _swap_scope(source, f.loudest_dim)


@st.fragment  # the view toggle reruns this scope only
def _gate_scope(source: str, f) -> None:
    from lens.story import attention as story
    from ui import data
    from ui.figures import attention as fig
    from ui.scope_widget import show_scope

    show_scope(
        fig.gate_lines(data.shared_of_run(story.head_scores, source)),
        ("token",),
        key="attention.gate",
        view="magnitude",
        markers=fig.gate_markers(f.gate_freq),
        caption=fig.gate_caption(f.gate_freq, f.gate_share),
        title="Each head's score on a key, as a wave over its token",
        x_title="token",
        y_title="score",
        height=280,
    )


def _gate_section(source: str, f) -> None:
    from ui import claims
    from ui.theme import listing, pct

    st.header("Each head's score, and whether attention mixes")
    st.markdown(
        r"""
What sets the weights? The query sits at `=`, the same for every input, so the score a
key gets depends on its token alone: a function $s_h(t)$ over the tokens, drawn below as a
spectrum (the space view shows the wave itself).
"""
    )
    _gate_scope(source, f)
    gated = [
        (h, g, x) for h, (g, x) in enumerate(zip(f.gate_freq, f.gate_share, strict=True)) if g is not None
    ]
    flat = [h for h, g in enumerate(f.gate_freq) if g is None]
    said = []
    if gated:
        led = [f"head {h} by f = {g} ({pct(x)}" for h, g, x in gated]
        who = "Each head's score is" if not flat else "The scores of the other heads are each"
        said.append(
            f"{who} led by one frequency: {listing([led[0] + ' of its energy)', *(x + ')' for x in led[1:])])}."
        )
    if flat:
        heads = "Head" + ("s " if len(flat) > 1 else " ") + listing(flat)
        said.insert(0, f"{heads} give{'' if len(flat) > 1 else 's'} every token the same score: no gate.")
    st.markdown(
        " ".join(said)
        + r"""
The weight on a is $e^{s(a)} / (e^{s(a)} + e^{s(b)} + e^{s(=)})$ (the score at b's position
differs by a constant per head), and the denominator holds b: where the score varies, the weight depends on both tokens, and it multiplies the value,
a wave of a. A head with a varying score is a gate tuned to its frequency, and its output can
hold products of an a-wave and a b-wave before any ReLU. Does it? Take a 2-D Fourier
transform of `resid_mid` over (a, b): an output that is a sum of an a-part and a b-part has
energy only where one of the two frequencies is 0.
"""
    )
    additive = claims.say(source, "attention-additive")
    if not additive.holds:
        d = additive.details
        st.markdown(
            f"""
Attention's score is a frequency-selective gate, and it already mixes. Of those cross terms,
{pct(d["sum_type_of_cross"])} sit at (f, f) and (−f, −f) for key
frequencies f: functions of a + b alone, so in c-order they lift or lower each whole row by a
wave in the answer c itself, and attention already writes a little of what the logits read.
Another {pct(d["difference_type_of_cross"])} sit at (f, −f) and (−f, f), functions of a − b, at
2f along a row. Neither changes the $A(c)\\cos(\\omega(n - c/2))$ part at f above. The seed's
"no multiplication here" fails at attention already; the Wave Transforms page follows these
terms to the logits, and the ReLU page shows the larger products the MLP makes.
"""
        )
    else:
        st.markdown(
            "Here attention only adds: every product of an a-wave and a b-wave the logits need is "
            "left to the ReLU."
        )


def _summary(source: str) -> None:
    from ui import claims

    st.header("The seed's hypothesis, part by part")
    parts = [
        ("swap-symmetry", "What attention hands on is mirror-symmetric about c/2"),
        ("attention-weights-equal", "Every head weighs a and b equally"),
        ("attention-peaks-at-c-half", "Each row is a cosine that peaks at c/2"),
        ("attention-additive", "Attention only adds: nothing is multiplied before the ReLU"),
    ]
    lines = []
    for claim_id, part in parts:
        r = claims.claim(source, claim_id)
        lines.append(f"- {claims.verdict(r)} {part} (`{r.id}`).")
    st.markdown("\n".join(lines))
    st.caption("Every claim, on every page, with how it is measured: the Claims page.")


# ---------------------------------------------------------------- the page


def show() -> None:
    from lens.story import attention as story
    from ui import claims, data, links
    from ui.theme import pct

    with st.spinner("Loading the model…"):
        data.current_run()
        source = data.current_source()
        f = data.of_run(story.facts, source)
    p, kf = f.p, f.key_freqs

    # c lives in the browser (each chart's own play axis); a link's ?c= sets where they open
    c0 = links.int_param("c", 0, p - 1, story.default_c(p), key="attention.c")
    st.header("The pairs that share an answer")
    _examples_section(p, c0)
    st.header("After attention: the rows in c-order")
    st.markdown(
        f"""
Here is the residual stream at `=` right after attention (`resid_mid`), for one residual
dimension, in c-order: the x axis is a, each slice is one answer c, and b = (c − a) mod {p}
is implied. Press play to sweep c and watch the shape slide against the markers at c/2 and
c/2 + p/2. The markers **a** and **b** mark one example and its swap (b, a), which sit at
mirror positions. The key frequencies hold **{pct(f.key_share_ca, 1)}** of this activation's
energy along a.
"""
    )
    _resid_mid_section(source, p, f.loudest_dim, c0)
    st.markdown(
        "Mirror symmetry about c/2 here is exactly swap symmetry, r(a, b) = r(b, a), measured as "
        "$\\lVert r(a, b) - r(b, a) \\rVert / \\lVert r \\rVert$ over all inputs and dimensions:"
    )
    claims.say(source, "swap-symmetry")
    _wave_section(p, c0)
    _peak_section(source, p, kf, c0)
    _weights_section(source, f)
    _gate_section(source, f)
    _summary(source)


show()
