"""Attention: how one answer c becomes one wave, mirrored about c/2.

Run by ``st.navigation`` as a script: number-free prose first, then :func:`show`, which loads
the (cached) run and writes every statement that quotes a number. Every such number is a field
of :func:`lens.story.attention.facts`; the scopes' data come from the same module and their
markers and captions from :mod:`ui.figures.attention`. Nothing assumes p = 113 or a particular
frequency: defaults (the example c, the frequency shown) are computed.
"""

from __future__ import annotations

import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("Attention: one wave per answer, mirrored about c/2")
st.markdown(
    """
Before attention, the two numbers sit at different positions: a at position 0, b at
position 1, each looked up on the same embedding waves. Attention is the only place where
they meet. At the `=` position it takes a weighted sum of what a, b and `=` carry, and from
then on the model works on that sum.

The trick of this page is to sort the inputs not by (a, b) but by **(c, a)**, with the answer
c first. Every pair with the same answer then lines up in a row, and that row turns out to be
symmetric about **c/2**: the pairs (a, b) and (b, a) land at mirror positions. A sum of
cosines centred on c/2 has exactly that shape, and the rest of the model only has to read
off where the centre is.
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
        ("d_model", "c", "a"),
        key="attention.resid_mid",
        play="c",
        start={"c": c0, "d_model": loudest_dim},
        markers=fig.resid_mid_markers(p),
        caption=fig.resid_mid_caption(p),
        fourier=True,
        title="resid_mid at “=”, in c-order",
        y_title="activation",
    )


@st.fragment  # the seed reruns this demo only
def _wave_section(p: int, c0: int) -> None:
    from lens.story import attention as story
    from ui import data
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
    seed = st.number_input("hand-made wave: random seed", 0, 10_000, 0, key="attention.wave_seed")
    demo = data.of_args(story.wave_demo, p, int(seed))
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


@st.fragment  # its c and frequency rerun this section only
def _ideal_section(p: int, kf: list[int], c0: int) -> None:
    from lens.story import attention as story
    from ui import data, links
    from ui.figures import attention as fig
    from ui.scope_widget import show_scope
    from ui.theme import listing

    st.header("The idealised picture: cosines centred on c/2")
    st.markdown(
        f"""
Put the two previous sections together. For the key frequencies f = {listing(kf)},
an ideal version of the residual stream for the answer c is the cosine
cos(2π f (n − c/2) / {p}) over the token index n, one per frequency, plus their normalised sum.
Each peaks at n = c/2; each is even about c/2 and about c/2 + p/2. Choose c here and sweep a:
the example's a and b move in opposite directions along n, always mirrored about c/2, while
a + b stays equal to c (mod {p}).
"""
    )
    i1, i2 = st.columns(2)
    # The page's one server-side c: the link's ?c= (where every c-order chart opens) follows it.
    ideal_c = int(i1.slider("answer c", 0, p - 1, c0, key="attention.c"))
    links.keep("c", ideal_c, story.default_c(p))
    freq = i2.selectbox("key frequency", kf, index=0, key="attention.ideal_freq")
    ideal = data.of_args(story.ideal, p, tuple(kf), ideal_c)
    show_scope(
        fig.ideal_lines(ideal, kf, freq),
        ("a", "n"),
        key="attention.ideal",
        play="a",
        start={"a": story.default_a(p, ideal_c)},
        markers=fig.ideal_markers(p, ideal_c),
        caption=fig.ideal_caption(p, ideal_c),
        fourier=True,
        title=f"Idealised residual stream for c = {ideal_c}",
        x_title="token index n",
        y_title="value",
    )


@st.fragment  # the head slider reruns this heat map only
def _pattern_scope(source: str, f) -> None:
    from lens.story import attention as story
    from ui import data, links
    from ui.figures import attention as fig
    from ui.scope_widget import show_scope

    head0 = links.int_param("head", 0, f.n_heads - 1, 0)
    show_scope(
        data.shared_of_run(story.attention_to_a, source),
        ("head", "a", "b"),
        key="attention.pattern",
        start={"head": head0},
        heatmap=True,
        view="heatmap",
        caption=fig.head_caption(f.mean_to, f.gap),
        title="Attention from “=” to a, per input (a, b)",
        x_title="b",
        y_title="weight on a",
        height=460,
    )
    links.keep("head", st.session_state.get("attention.pattern.head", head0), 0)


@st.fragment  # its sliders rerun this scope only
def _swap_scope(source: str, loudest_dim: int) -> None:
    from lens.story import attention as story
    from ui import data
    from ui.figures import attention as fig
    from ui.scope_widget import show_scope

    show_scope(
        fig.swap_lines(data.shared_of_run(story.resid_mid_swap, source)),
        ("d_model", "a", "b"),
        key="attention.swap",
        play="a",
        start={"d_model": loudest_dim},
        fourier=False,
        title="resid_mid at “=”: the input and its swap",
        x_title="b",
        y_title="activation",
    )


# ---------------------------------------------------------------- the page


def show() -> None:
    from lens.story import attention as story
    from ui import data, links
    from ui.theme import listing, num, pct

    with st.spinner("Loading the model…"):
        data.current_run()
        source = data.current_source()
        f = data.of_run(story.facts, source)
    p, kf = f.p, f.key_freqs

    # c lives in the browser (each chart's own play axis); a link's ?c= sets where they open
    c0 = links.int_param("c", 0, p - 1, story.default_c(p))
    st.header("The pairs that share an answer")
    _examples_section(p, c0)
    st.header("After attention, every row is symmetric about c/2")
    st.markdown(
        f"""
Here is the residual stream at `=` right after attention (`resid_mid`), for one residual
dimension, in c-order: the x axis is a, each slice is one answer c, and b = (c − a) mod {p}
is implied. Press play to sweep c and watch the shape slide: it stays mirror-symmetric about
the marker at c/2 (and at c/2 + p/2). The markers **a** and **b** mark one example and its
swap (b, a), which sit at mirror positions and get the same value.

Measured: the key frequencies hold **{pct(f.key_share_ca, 1)}** of this activation's energy
along a. Mirror symmetry about c/2 here is exactly swap symmetry, r(a, b) = r(b, a); its
relative error, ‖r(a, b) − r(b, a)‖ / ‖r‖ over all inputs and dimensions, is
**{pct(f.swap_resid_mid, 2)}**.
"""
    )
    _resid_mid_section(source, p, f.loudest_dim, c0)
    _wave_section(p, c0)
    _ideal_section(p, kf, c0)

    # -- attention patterns, and what is (not) symmetric
    st.header("The attention weights: not equal, but swap-symmetric")
    st.markdown(
        f"""
A tempting story is that each head puts equal weight on a and on b. The model says otherwise.
Averaged over all inputs, the gap |attention to a − attention to b| is
{listing(f"**{num(g, '.2f')}** (head {h})" for h, g in enumerate(f.gap))}: on a typical input one
number gets much more weight than the other. The heat map shows the weight on a for every
input (a, b); pick a head.

What *is* true is a swap symmetry. The weight a gets in (a, b) matches the weight b gets in
(b, a), to within {num(f.swap_weight_gap_max, ".1e")} on average in every head, and so the output is
(almost) the same for (a, b) and (b, a). The relative difference ‖r(a, b) − r(b, a)‖ / ‖r‖ is
**{pct(f.swap_attn_out, 2)}** for the attention output, **{pct(f.swap_resid_mid, 2)}** for
`resid_mid` and **{pct(f.swap_resid_post, 2)}** for the final residual stream. That, not
equal weights, is what makes the rows above mirror-symmetric.
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

    st.markdown(
        """
And the symmetry itself, dimension by dimension: `resid_mid` for (a, b) and for (b, a) over
b, for one a and one residual dimension, and their difference. Sweep a: the two lines lie on
top of each other and the difference stays near zero.
"""
    )
    _swap_scope(source, f.loudest_dim)


show()
