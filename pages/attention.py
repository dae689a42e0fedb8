"""Attention: how one answer c becomes one wave, mirrored about c/2.

Run by ``st.navigation`` as a script: number-free prose first, then :func:`show`, which loads
the (cached) run and writes every statement that quotes a number. Nothing assumes p = 113 or
a particular frequency: defaults (the example c, the frequency shown) are computed.
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


# ---------------------------------------------------------------- cached data


@st.cache_data(max_entries=4, show_spinner=False)
def _facts(source: str) -> dict:
    """Every number the page states, for the checkpoint ``source``."""
    import numpy as np

    from lens import analysis, fourier
    from ui import data as state

    run = state.run(source)
    p = run.p
    kf = analysis.key_frequencies(run)
    pat = run.by_ab("pattern").astype(np.float64)  # [head, key, a, b]
    # attention that a gets in (a, b) against the attention b gets in (b, a): the swap
    # symmetry of the weights themselves (b's weight with the token axes swapped).
    swap_weight_gap = np.abs(pat[:, 0] - np.swapaxes(pat[:, 1], -1, -2)).mean(axis=(1, 2))
    ca = run.by_ca("resid_mid")  # [d_model, c, a]
    rm = run.acts["resid_mid"].astype(np.float64)  # [N, d_model]
    return {
        "p": p,
        "key_freqs": kf,
        "n_heads": int(pat.shape[0]),
        "mean_to": pat.mean(axis=(2, 3)),  # [head, key]
        "gap": analysis.attention_ab_gap(run),  # [head]
        "frac_gap_over": (np.abs(pat[:, 0] - pat[:, 1]) > 0.1).mean(axis=(1, 2)),  # [head]
        "swap_weight_gap": swap_weight_gap,  # [head]
        "swap": {n: analysis.swap_symmetry(run, n) for n in ("attn_out", "resid_mid", "resid_post")},
        "key_share_ca": float(fourier.energy_share(ca, axis=-1)[kf].sum()),
        # The residual dimension that varies most over the inputs: the scopes open on it.
        "loudest_dim": int(np.argmax(rm.std(axis=0))),
    }


@st.cache_resource(max_entries=4, show_spinner=False)  # shared read-only arrays (state.read_only)
def _resid_mid_ca(source: str):
    """resid_mid at "=" in c-order: [d_model, c, a] with b = (c - a) mod p."""
    import numpy as np

    from ui import data as state

    return state.read_only(np.ascontiguousarray(state.run(source).by_ca("resid_mid")))


@st.cache_resource(max_entries=4, show_spinner=False)  # shared read-only arrays (state.read_only)
def _resid_mid_ab(source: str):
    """resid_mid at "=" as [d_model, a, b], its transpose over the token axes, and the
    difference of the two."""
    import numpy as np

    from ui import data as state

    x = np.ascontiguousarray(state.run(source).by_ab("resid_mid"))
    xt = np.ascontiguousarray(np.swapaxes(x, -1, -2))
    return state.read_only((x, xt, x - xt))


@st.cache_resource(max_entries=4, show_spinner=False)  # shared read-only arrays (state.read_only)
def _attn_to_a(source: str):
    """Attention from "=" to position 0 (token a), per head: [head, a, b]."""
    import numpy as np

    from ui import data as state

    return state.read_only(np.ascontiguousarray(state.run(source).by_ab("pattern")[:, 0]))


@st.cache_data(max_entries=8, show_spinner=False)
def _wave_demo(p: int, seed: int) -> dict:
    """The reversed-and-shifted wave demo for a seeded hand-made wave."""
    import numpy as np

    from lens import analysis, fourier

    w = analysis.custom_wave(p, seed)
    rs = analysis.reversed_shifted_waves(w)  # [3, c, n]
    n = np.arange(p)
    c = n[:, None]
    mirrored = rs[2][c, (c - n[None, :]) % p]  # s[c, (c - n) mod p]
    return {
        "rows": rs,
        "top_share": float(fourier.energy_share(w).max()),
        "asym": float(np.abs(rs[2] - mirrored).max()),
    }


@st.cache_data(max_entries=16, show_spinner=False)
def _ideal(p: int, key_freqs: tuple[int, ...], c: int):
    """The idealised cosines for one answer c: [len(key_freqs) + 1, a, b], last row the
    normalised sum."""
    from lens import analysis

    return analysis.idealised_cosine_slice(p, list(key_freqs), c)["cos_wave"]


@st.cache_data(max_entries=4, show_spinner=False)
def _examples(p: int) -> dict:
    """The p inputs of every answer c, in c-order (:func:`lens.analysis.examples_for_c`): row k
    is the input (a, b) = (k, (c - k) mod p). ``a`` and ``b`` are [c, row]; ``self`` [c] is
    the row that holds a = b (its own mirror)."""
    import numpy as np

    from lens import analysis

    rows = [analysis.examples_for_c(p, c) for c in range(p)]
    return {
        "a": np.stack([df["a"].to_numpy() for df in rows]).astype(np.float64),
        "b": np.stack([df["b"].to_numpy() for df in rows]).astype(np.float64),
        "self": [int(df.loc[df["self_mirror"], "a"].iloc[0]) for df in rows],
    }


def default_c(p: int) -> int:
    """An even answer about 2p/5: c/2 is a whole token, and the example pair, c/2 and
    c/2 + p/2 land apart on the axis instead of crowding its left edge."""
    return min(p - 1, 2 * max(1, round(p / 5)))


def default_a(p: int, c: int) -> int:
    """An example a about p/8 left of c/2, so its partner b sits as far right of it."""
    return int(max(0, c // 2 - max(1, round(p / 8))))


def _mirror_points(c: int, p: int) -> tuple[float, float]:
    return c / 2, (c / 2 + p / 2) % p


def _mirror_markers(c: int, p: int, a: int | None = None) -> list:
    """Markers at the two mirror points of answer c; with ``a``, also at the example a and its
    partner b = (c - a) mod p, which sit mirrored about them."""
    from ui.scope import Marker

    m1, m2 = _mirror_points(c, p)
    pair = [] if a is None else [Marker(a, "a"), Marker((c - a) % p, "b")]
    return [*pair, Marker(m1, "c/2"), Marker(m2, "c/2 + p/2")]


# ---------------------------------------------------------------- sections


def _examples_section(p: int, c0: int) -> None:
    """The inputs that share an answer, every c in the browser (no server widget)."""
    from ui.scope_widget import show_scope

    ex = _examples(p)
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

    def markers(idx: dict[str, int]) -> list:
        return _mirror_markers(idx["c"], p)

    def caption(idx: dict[str, int]) -> str:
        c, me = idx["c"], ex["self"][idx["c"]]
        m1, m2 = _mirror_points(c, p)
        k = default_a(p, c)
        return (
            f"row {k} holds ({k}, {(c - k) % p}), row {(c - k) % p} holds ({(c - k) % p}, {k}); "
            f"row {me} holds a = b = {me}; mirror points {m1:g} and {m2:g}"
        )

    show_scope(
        {"a": ex["a"], "b = (c − a) mod p": ex["b"]},
        ("c", "row"),
        key="attention.examples",
        play="c",
        start={"c": c0},
        markers=markers,
        caption=caption,
        fourier=False,
        title="The inputs with answer c, row by row",
        x_title="row (= a)",
        y_title="token",
        height=260,
    )


@st.fragment  # its sliders rerun this scope only
def _resid_mid_section(source: str, f: dict, c0: int) -> None:
    """resid_mid in c-order: c in the browser; the example pair sits p/8 either side of c/2."""
    from ui.scope_widget import show_scope

    p = f["p"]

    def ca_markers(idx: dict[str, int]) -> list:
        return _mirror_markers(idx["c"], p, default_a(p, idx["c"]))

    def ca_caption(idx: dict[str, int]) -> str:
        c = idx["c"]
        a = default_a(p, c)
        m1, m2 = _mirror_points(c, p)
        return f"example ({a}, {(c - a) % p}) and its swap; mirror points c/2 = {m1:g} and c/2 + p/2 = {m2:g}"

    show_scope(
        _resid_mid_ca(source),
        ("d_model", "c", "a"),
        key="attention.resid_mid",
        play="c",
        start={"c": c0, "d_model": f["loudest_dim"]},
        markers=ca_markers,
        caption=ca_caption,
        fourier=True,
        title="resid_mid at “=”, in c-order",
        y_title="activation",
    )


@st.fragment  # the seed reruns this demo only
def _wave_section(p: int, c0: int) -> None:
    from ui.scope_widget import show_scope

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
    demo = _wave_demo(p, int(seed))
    rows = demo["rows"]
    st.markdown(
        f"The wave has little sinusoidal content (its strongest frequency holds only "
        f"{demo['top_share']:.0%} of its energy), yet over all {p} shifts the sum's largest "
        f"departure from mirror symmetry is {demo['asym']:.1e}: symmetric to rounding."
    )

    def wave_markers(idx: dict[str, int]) -> list:
        return _mirror_markers(idx.get("c", 0), p)

    def wave_caption(idx: dict[str, int]) -> str:
        cc = idx.get("c", 0)
        m1, m2 = _mirror_points(cc, p)
        return f"c = {cc}, c/2 = {m1:g}, c/2 + p/2 = {m2:g}"

    show_scope(
        {"w(n) + 3": rows[0] + 3, "w(c − n)": rows[1], "w(n) + w(c − n) − 4": rows[2] - 4},
        ("c", "n"),
        key="attention.custom_wave",
        play="c",
        start={"c": c0},
        markers=wave_markers,
        caption=wave_caption,
        fourier=False,
        title="A wave, its reflection about c, and their sum",
        x_title="token index n",
        y_title="value (drawn apart)",
    )


@st.fragment  # its c and frequency rerun this section only
def _ideal_section(p: int, kf: list[int], c0: int) -> None:
    from ui import links
    from ui.scope_widget import show_scope

    st.header("The idealised picture: cosines centred on c/2")
    st.markdown(
        f"""
Put the two previous sections together. For the key frequencies f = {", ".join(map(str, kf))},
an ideal version of the residual stream for the answer c is the cosine
cos(2π f (n − c/2) / {p}) over the token index n, one per frequency, plus their normalised sum.
Each peaks at n = c/2; each is even about c/2 and about c/2 + p/2. Choose c here and sweep a:
the example's a and b move in opposite directions along n, always mirrored about c/2, while
a + b stays equal to c (mod {p}).
"""
    )
    i1, i2 = st.columns(2)
    # The page's one server-side c: the link's ?c= (where every c-order chart opens) follows it.
    ideal_c = i1.slider("answer c", 0, p - 1, c0, key="attention.c")
    links.keep("c", ideal_c, default_c(p))
    freq = i2.selectbox("key frequency", kf, index=0, key="attention.ideal_freq")
    ideal = _ideal(p, tuple(kf), int(ideal_c))
    a0 = default_a(p, int(ideal_c))

    def ideal_markers(idx: dict[str, int]) -> list:
        return _mirror_markers(ideal_c, p, idx.get("a", 0))

    def ideal_caption(idx: dict[str, int]) -> str:
        aa = idx.get("a", 0)
        return f"{aa} + {(ideal_c - aa) % p} mod {p} = {ideal_c}"

    show_scope(
        {f"cos at f = {freq}": ideal[kf.index(freq)], "normalised sum": ideal[-1]},
        ("a", "n"),
        key="attention.ideal",
        play="a",
        start={"a": a0},
        markers=ideal_markers,
        caption=ideal_caption,
        fourier=True,
        title=f"Idealised residual stream for c = {ideal_c}",
        x_title="token index n",
        y_title="value",
    )


@st.fragment  # the head slider reruns this heat map only
def _pattern_scope(source: str, f: dict) -> None:
    from ui import links
    from ui.scope_widget import show_scope

    mean_to, gaps = f["mean_to"], f["gap"]

    def head_caption(idx: dict[str, int]) -> str:
        h = idx.get("head", 0)
        return (
            f"head {h}: mean weight on a {mean_to[h, 0]:.3f}, on b {mean_to[h, 1]:.3f}, "
            f"on = {mean_to[h, 2]:.3f}; mean |a − b| = {gaps[h]:.3f}"
        )

    head0 = links.int_param("head", 0, f["n_heads"] - 1, 0)
    show_scope(
        _attn_to_a(source),
        ("head", "a", "b"),
        key="attention.pattern",
        start={"head": head0},
        heatmap=True,
        view="heatmap",
        caption=head_caption,
        title="Attention from “=” to a, per input (a, b)",
        x_title="b",
        y_title="weight on a",
        height=460,
    )
    links.keep("head", st.session_state.get("attention.pattern.head", head0), 0)


@st.fragment  # its sliders rerun this scope only
def _swap_scope(source: str, loudest_dim: int) -> None:
    from ui.scope_widget import show_scope

    r_ab, r_ba, r_diff = _resid_mid_ab(source)
    show_scope(
        {"r(a, b)": r_ab, "r(b, a)": r_ba, "r(a, b) − r(b, a)": r_diff},
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
    from ui import data as state
    from ui import links

    with st.spinner("Loading the model…"):
        state.current_run()
        source = state.current_source()
        f = _facts(source)
    p, kf = f["p"], f["key_freqs"]

    # c lives in the browser (each chart's own play axis); a link's ?c= sets where they open
    c0 = links.int_param("c", 0, p - 1, default_c(p))
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

Measured: the key frequencies hold **{f["key_share_ca"]:.1%}** of this activation's energy
along a. Mirror symmetry about c/2 here is exactly swap symmetry, r(a, b) = r(b, a); its
relative error, ‖r(a, b) − r(b, a)‖ / ‖r‖ over all inputs and dimensions, is
**{f["swap"]["resid_mid"]:.2%}**.
"""
    )
    _resid_mid_section(source, f, c0)
    _wave_section(p, c0)
    _ideal_section(p, kf, c0)

    # -- attention patterns, and what is (not) symmetric
    st.header("The attention weights: not equal, but swap-symmetric")
    gaps = f["gap"]
    st.markdown(
        f"""
A tempting story is that each head puts equal weight on a and on b. The model says otherwise.
Averaged over all inputs, the gap |attention to a − attention to b| is
{", ".join(f"**{g:.2f}** (head {h})" for h, g in enumerate(gaps))}: on a typical input one
number gets much more weight than the other. The heat map shows the weight on a for every
input (a, b); pick a head.

What *is* true is a swap symmetry. The weight a gets in (a, b) matches the weight b gets in
(b, a), to within {max(f["swap_weight_gap"]):.1e} on average in every head, and so the output is
(almost) the same for (a, b) and (b, a). The relative difference ‖r(a, b) − r(b, a)‖ / ‖r‖ is
**{f["swap"]["attn_out"]:.2%}** for the attention output, **{f["swap"]["resid_mid"]:.2%}** for
`resid_mid` and **{f["swap"]["resid_post"]:.2%}** for the final residual stream. That, not
equal weights, is what makes the rows above mirror-symmetric.
"""
    )
    mean_to = f["mean_to"]
    st.table(
        {
            "head": list(range(f["n_heads"])),
            "mean weight on a": [f"{x:.3f}" for x in mean_to[:, 0]],
            "mean weight on b": [f"{x:.3f}" for x in mean_to[:, 1]],
            "mean weight on =": [f"{x:.3f}" for x in mean_to[:, 2]],
            "mean |weight a − weight b|": [f"{x:.3f}" for x in gaps],
            "inputs with a gap > 0.1": [f"{x:.0%}" for x in f["frac_gap_over"]],
            "mean |a in (a,b) − b in (b,a)|": [f"{x:.1e}" for x in f["swap_weight_gap"]],
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
    _swap_scope(source, f["loudest_dim"])


show()
