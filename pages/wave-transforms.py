"""Wave Transforms: linear maps as filters, products of waves, and aliasing past Nyquist.

Run by ``st.navigation`` as a script: number-free prose first, then :func:`show`, which loads
the (cached) run and writes every statement that quotes a number. Defaults (the neuron, the
frequencies multiplied) are computed from the model; nothing assumes p = 113.
"""

from __future__ import annotations

import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("Wave transforms: filters, products and aliasing")
st.markdown(
    """
Almost everything this model does between the embedding and the answer is *linear*: a
matrix multiplies a vector. Since every residual dimension carries a wave over the token
index, it pays to ask what a linear map does to waves. Each output of a linear map is a
weighted sum of its inputs, and a weight can only scale a wave or flip its sign. Summing
scaled copies of waves that share a frequency and a phase makes that frequency louder;
summing copies that are out of phase makes it cancel. So each output is a **filter**: it lets
some frequencies through and blocks others, a bank of filters with one tap per input
dimension.

The one nonlinear step, the ReLU, is the subject of the next page. To read it you need two
facts about multiplying waves, at the end of this page: a product of two waves contains their
**sum and difference frequencies**, and a frequency above half the number of tokens **folds
back** (aliasing).
"""
)


# ---------------------------------------------------------------- cached data


@st.cache_data(max_entries=4, show_spinner=False)
def _filters(source: str) -> dict:
    """Both filter paths for every neuron: the waves, their energy spectra, the tables."""
    import numpy as np

    from lens import analysis
    from ui import data as state

    run = state.run(source)
    kf = analysis.key_frequencies(run)
    direct = analysis.filter_responses(run, "embed")
    ov = analysis.filter_responses(run, "ov")
    out = {"p": run.p, "key_freqs": kf, "n_heads": int(ov.wave.shape[0])}
    for name, fr in (("embed", direct), ("ov", ov)):
        t = fr.table
        out[name] = {
            "wave": fr.wave.astype(np.float32),  # [(head,) neuron, token]
            "table": t,
            "median": float(t["narrowbandness"].median()),
            "max": float(t["narrowbandness"].max()),
            "above_half": float((t["narrowbandness"] > 0.5).mean()),
            "top_is_key": float(t["top_frequency"].isin(kf).mean()),
        }
    return out


def _neuron_rows(f: dict, path: str, head: int):
    t = f[path]["table"]
    return t[t["head"] == head].reset_index(drop=True) if path == "ov" else t


# ---------------------------------------------------------------- charts


def _overview_frame(rows):
    """One row per neuron, in the strip's order (top frequency, then share)."""
    df = rows[["neuron", "top_frequency", "narrowbandness"]].copy()
    df = df.sort_values(["top_frequency", "narrowbandness"], kind="stable").reset_index(drop=True)
    df["rank"] = range(len(df))
    df["top frequency"] = df["top_frequency"].astype(str)
    return df


def _overview_charts(df):
    """Narrowbandness of every neuron, sorted by top frequency then narrowbandness, and its
    histogram (two charts, drawn side by side in columns)."""
    import altair as alt

    from ui.theme import PALETTE

    order = [str(x) for x in sorted(df["top_frequency"].unique())]
    # Okabe-Ito first; more top frequencies than it has colours cycle through it again.
    color = alt.Color(
        "top frequency:N", sort=order, scale=alt.Scale(domain=order, range=PALETTE), title="top frequency"
    )
    strip = (
        alt.Chart(df)
        .mark_circle(size=40, opacity=0.85)
        .encode(
            # Fixed domains: every path and head is drawn on the same axes.
            x=alt.X(
                "rank:Q",
                title="neurons, sorted by top frequency then by share",
                axis=alt.Axis(labels=False),
                scale=alt.Scale(domain=[-1, len(df)], nice=False),
            ),
            y=alt.Y(
                "narrowbandness:Q",
                title="share in the top frequency",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
            ),
            color=color,
            tooltip=["neuron:Q", "top_frequency:Q", alt.Tooltip("narrowbandness:Q", format=".1%")],
        )
    )
    hist = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X(
                "narrowbandness:Q",
                bin=alt.Bin(step=0.05, extent=[0, 1]),
                title="share in the top frequency",
                axis=alt.Axis(format="%"),
            ),
            y=alt.Y("count():Q", title="neurons"),
            color=color,
            tooltip=[alt.Tooltip("count():Q", title="neurons"), "top frequency:N"],
        )
    )
    legend = dict(orient="top")
    return (
        alt.layer(strip).properties(height=320).configure_legend(**legend),
        hist.properties(height=320).configure_legend(**legend),
    )


@st.cache_data(max_entries=16, show_spinner=False)
def _overview(source: str, path: str, head: int) -> tuple[dict, dict, dict[int, int]]:
    """The two overview specs for one path (and head), and each neuron's place in the strip
    (0 = leftmost)."""
    from ui.charts import spec

    df = _overview_frame(_neuron_rows(_filters(source), path, head))
    left, right = _overview_charts(df)
    return spec(left), spec(right), dict(zip(df["neuron"].tolist(), df["rank"].tolist(), strict=True))


def _alias_chart(p: int, s: int, folded: int):
    """cos at the frequency s over continuous t, the folded frequency too, and the integer
    samples they share. A browser-side slider moves a window of the token axis.

    Shaped like the scope for a fast slider: the browser holds the points of one window
    (``j``, their offset in it) and, on each step, computes each point's key and looks its
    value up, instead of filtering every point of both curves (Streamlit's Vega interprets
    every expression, per point)."""
    import altair as alt
    import numpy as np
    import pandas as pd

    per = 8  # points per token for the continuous curves
    width = min(p, 24)
    names = [f"cos at {s} (continuous)", f"cos at {folded} (continuous)", "samples at the tokens"]
    m = np.arange(p * per + 1)
    values = pd.DataFrame(
        {
            "k": np.r_[m, m + len(m)].astype(np.int32),
            "t": np.r_[m, m].astype(np.float32) / per,
            "y": np.r_[np.cos(2 * np.pi * s * m / per / p), np.cos(2 * np.pi * folded * m / per / p)],
        }
    )
    j = np.arange(width * per + 1)
    window = pd.DataFrame(
        {"j": np.r_[j, j], "offset": np.repeat([0, len(m)], len(j)), "wave": np.repeat(names[:2], len(j))}
    )
    samples = pd.DataFrame({"j": np.arange(width + 1), "wave": names[2]})
    start = alt.param(
        name="alias_from",
        value=0,
        bind=alt.binding_range(min=0, max=p - width, step=1, name="window starts at token "),
    )
    lookup = alt.LookupData(data=values, key="k", fields=["t", "y"])
    color = alt.Color(
        "wave:N", scale=alt.Scale(domain=names, range=["#0072B2", "#E69F00", "#000000"]), title=None
    )
    x = alt.X(
        "t:Q",
        title="token index (continuous between tokens)",
        axis=alt.Axis(tickMinStep=1),
        scale=alt.Scale(domain=alt.ExprRef(f"[alias_from, alias_from + {width}]"), nice=False),
    )
    y = alt.Y("y:Q", title="value", scale=alt.Scale(domain=[-1.1, 1.1]))
    lines = (
        alt.Chart(window)
        .transform_calculate(k=f"datum.offset + alias_from * {per} + datum.j")
        .transform_lookup(lookup="k", from_=lookup)
        .mark_line(strokeWidth=2.5)
        .encode(x=x, y=y, color=color)
    )
    dots = (
        alt.Chart(samples)
        .transform_calculate(k=f"(alias_from + datum.j) * {per}")
        .transform_lookup(lookup="k", from_=lookup)
        .mark_circle(size=110)
        .encode(x=x, y=y, color=color, tooltip=["t:Q", alt.Tooltip("y:Q", format=".4f")])
    )
    return (lines + dots).add_params(start).properties(height=320).configure_legend(orient="top")


@st.cache_data(max_entries=16, show_spinner=False)
def _alias_spec(p: int, s: int, folded: int) -> dict:
    from ui.charts import spec

    return spec(_alias_chart(p, s, folded), canvas=True)


def default_alias_pair(p: int, key_freqs: list[int]) -> tuple[int, int]:
    """Two key frequencies whose sum passes Nyquist (a frequency with itself first, the
    smallest such sum), else the two largest frequencies allowed."""
    pairs = sorted(
        ((f1 + f2, f1 != f2, f1, f2) for f1 in key_freqs for f2 in key_freqs if f1 <= f2 and f1 + f2 > p / 2),
        key=lambda x: (x[1], x[0]),
    )
    if pairs:
        return pairs[0][2], pairs[0][3]
    k = p // 2
    return k, k


def _fold(f: int, p: int) -> int:
    from lens.fourier import fold

    return int(fold(f, p))


# ---------------------------------------------------------------- the page


@st.fragment  # the path and head rerun this section (the neuron, only its own part below)
def _filter_section(source: str, f: dict) -> None:
    from ui import charts

    kf = f["key_freqs"]
    c1, c2 = st.columns([2, 1])
    path_label = c1.radio(
        "path from token to neuron",
        ["direct: W_E · W_in", "through one attention head: W_E · W_V W_O · W_in"],
        horizontal=True,
        key="wave_transforms.path",
    )
    path = "embed" if path_label.startswith("direct") else "ov"
    head = 0
    if path == "ov":
        head = int(c2.selectbox("head", list(range(f["n_heads"])), key="wave_transforms.head"))
    rows = _neuron_rows(f, path, head)
    waves = f[path]["wave"][head] if path == "ov" else f[path]["wave"]  # [neuron, token]

    median_neuron = int(
        rows.iloc[(rows["narrowbandness"] - rows["narrowbandness"].median()).abs().argmin()]["neuron"]
    )
    left, right, place = _overview(source, path, head)
    o1, o2 = st.columns([3, 2])
    with o1:
        charts.show(left, key="wave_transforms.overview")
    with o2:
        charts.show(right, key="wave_transforms.histogram")
    title = "A neuron's response to the embedding waves" + (f" through head {head}" if path == "ov" else "")
    _neuron_view(rows, waves, median_neuron, kf, title, place)


@st.fragment  # the neuron slider reruns only this: the overview above stays as it is drawn
def _neuron_view(rows, waves, median_neuron: int, kf: list[int], title: str, place: dict[int, int]) -> None:
    from ui import links
    from ui.scope import Marker
    from ui.scope_widget import show_scope

    scope_key = "wave_transforms.response"
    neuron0 = links.int_param("neuron", 0, len(waves) - 1, median_neuron)
    neuron = int(st.session_state.get(f"{scope_key}.neuron", neuron0))
    links.keep("neuron", neuron, median_neuron)
    row = rows[rows["neuron"] == neuron].iloc[0]
    st.markdown(
        f"One neuron's response, in the magnitude view: pick the neuron with the slider (neuron "
        f"{median_neuron} is a typical one, at the median share). Neuron **{neuron}**'s "
        f"top frequency is **{int(row['top_frequency'])}**, with **{row['narrowbandness']:.0%}** "
        f"of its response; in the strip above it is dot {place[neuron] + 1} of {len(place)} from the "
        f"left (hover a dot to see its neuron). Switch to the space view to see the wave itself."
    )

    def response_markers(idx: dict[str, int]) -> list:
        return [Marker(k, str(k), view="fourier") for k in kf]

    def response_caption(idx: dict[str, int]) -> str:
        r = rows[rows["neuron"] == idx.get("neuron", neuron)].iloc[0]
        return f"top frequency {int(r['top_frequency'])}, {r['narrowbandness']:.0%} of the response; markers: key frequencies"

    show_scope(
        waves,
        ("neuron", "token"),
        key=scope_key,
        start={"neuron": neuron0},
        view="magnitude",
        fourier=True,
        markers=response_markers,
        caption=response_caption,
        title=title,
        y_title="response",
    )


def _product_section(p: int, kf: list[int]) -> None:
    # -- products of waves
    st.header("Multiplying waves makes sum and difference frequencies")
    st.markdown(
        """
Multiply two waves and the result is not a wave at either frequency. The identity
cos x · cos y = ½ cos(x + y) + ½ cos(x − y) says the product is two waves: one at the
**sum** of the frequencies and one at their **difference**. Square a mixture of two waves and
you get every such combination: twice each frequency, their sum, their difference, and a
constant. Pick two frequencies (they open on two of the model's key frequencies) and look at
the Fourier view: the product's energy sits exactly where the markers say.
"""
    )
    # The prose above does not depend on a widget, so it stays outside the fragment: a widget
    # change does not send it again (the same in the aliasing section).
    _product_demo(p, kf)


@st.fragment  # f1, f2 and the product rerun this demo only
def _product_demo(p: int, kf: list[int]) -> None:
    from lens import analysis, fourier
    from ui import links
    from ui.scope import Marker
    from ui.scope_widget import show_scope

    k = p // 2
    d1, d2, d3 = st.columns([1, 1, 2])
    default1, default2 = kf[0], kf[1] if len(kf) > 1 else kf[0]
    f1 = int(d1.number_input("f1", 1, k, links.int_param("f1", 1, k, default1), key="wave_transforms.f1"))
    f2 = int(d2.number_input("f2", 1, k, links.int_param("f2", 1, k, default2), key="wave_transforms.f2"))
    links.keep("f1", f1, default1)
    links.keep("f2", f2, default2)
    mode = d3.radio(
        "product",
        ["cos f1 · cos f2", "(cos f1 + cos f2)²"],
        horizontal=True,
        key="wave_transforms.product",
    )
    w1, w2 = analysis.make_wave(p, f1), analysis.make_wave(p, f2)
    if mode.startswith("("):
        prod = (w1 + w2) ** 2
        expected = fourier.sum_and_difference_frequencies([f1, f2], p)
    else:
        prod = w1 * w2
        expected = sorted({x for x in analysis.product_frequencies(f1, f2, p) if x})
    energy = fourier.frequency_energy(prod)
    share_expected = float(energy[expected].sum() / energy[1:].sum()) if energy[1:].sum() > 0 else 0.0
    plus, minus = f1 + f2, abs(f1 - f2)
    raw = {plus: "f1 + f2", minus: "|f1 − f2|"}
    if mode.startswith("("):
        raw.update({2 * f1: "2 f1", 2 * f2: "2 f2"})
    markers = []
    for g, name in sorted(raw.items()):
        if g == 0:
            continue
        fg = _fold(g, p)
        markers.append(Marker(fg, f"{name} = {g}" + (f" → {fg}" if fg != g else ""), view="fourier"))
    const = " plus a constant" if (minus == 0 or mode.startswith("(")) else ""
    st.markdown(
        f"Expected frequencies (folded below p/2 = {p / 2}): **{', '.join(map(str, expected)) or 'none'}**"
        f"{const}. Measured: they hold **{share_expected:.1%}** of the product's non-constant energy."
    )
    show_scope(
        {f"cos {f1}": w1, f"cos {f2}": w2, mode.replace("f1", str(f1)).replace("f2", str(f2)): prod},
        ("token",),
        key="wave_transforms.products",
        view="fourier",
        fourier=True,
        markers=lambda idx: markers,
        caption=lambda idx: "cos x · cos y = ½ cos(x + y) + ½ cos(x − y)",
        title="Two waves and their product",
        x_title=None,
        y_title="value",
    )


def _alias_section(p: int, kf: list[int]) -> None:
    k = p // 2
    # -- aliasing
    st.header("Past Nyquist, frequencies fold back")
    st.markdown(
        f"""
With {p} tokens the fastest wave you can tell apart has {k} cycles: half the number of
samples, the **Nyquist limit** p/2 = {p / 2}. A wave at frequency f above that takes, on the
integer tokens, exactly the values of a wave at p − f: cos(2π f t / p) = cos(2π (p − f) t / p)
when t is an integer. So a sum frequency f1 + f2 above p/2 shows up at p − (f1 + f2). Pick
two frequencies; they open on a pair of key frequencies whose sum passes the limit.
"""
    )
    _alias_demo(p, kf)


@st.fragment  # the two frequencies rerun this demo only
def _alias_demo(p: int, kf: list[int]) -> None:
    import numpy as np

    from lens import analysis, fourier
    from ui import charts
    from ui.scope import Marker
    from ui.scope_widget import show_scope

    k = p // 2
    a0, b0 = default_alias_pair(p, kf)
    g1, g2 = st.columns(2)
    h1 = int(g1.number_input("first frequency", 1, k, a0, key="wave_transforms.alias_f1"))
    h2 = int(g2.number_input("second frequency", 1, k, b0, key="wave_transforms.alias_f2"))
    s = h1 + h2
    folded = _fold(s, p)
    prod = analysis.make_wave(p, h1) * analysis.make_wave(p, h2)
    en = fourier.frequency_energy(prod)
    en[0] = 0.0
    peaks = sorted(int(x) for x in np.argsort(-en, kind="stable")[:2] if en[x] > 1e-9 * en.max())
    if s > p / 2:
        verdict = f"**{h1} + {h2} = {s}** is above p/2 = {p / 2}, so it folds to **{p} − {s} = {folded}**."
    else:
        verdict = (
            f"**{h1} + {h2} = {s}** is below p/2 = {p / 2}: no folding. Pick a larger pair to see it fold."
        )
    st.markdown(
        f"{verdict} Measured: apart from the constant, the product's energy sits at frequency "
        f"**{' and '.join(map(str, peaks))}**; expected: the folded sum {folded}"
        + (f" and the difference {abs(h1 - h2)}." if h1 != h2 else " (the difference is 0, a constant).")
    )
    show_scope(
        {f"cos {h1} · cos {h2}": prod},
        ("token",),
        key="wave_transforms.aliasing",
        view="magnitude",
        fourier=True,
        markers=lambda idx: (
            [Marker(folded, f"{s} → {folded}" if folded != s else f"{s}", view="fourier")]
            + ([Marker(abs(h1 - h2), f"|{h1} − {h2}|", view="fourier")] if h1 != h2 else [])
        ),
        caption=lambda idx: f"sum {s}, folded to {folded}",
        title="Where the product lands",
        y_title="value",
    )
    if s != folded:
        st.markdown(
            f"Between the tokens the two waves differ; on the tokens (dots) they agree. The blue "
            f"line has {s} cycles across the {p} tokens, the orange one {folded}; drag the window."
        )
        charts.show(_alias_spec(p, s, folded), key="wave_transforms.alias_chart")


def show() -> None:
    from ui import data as state

    with st.spinner("Loading the model…"):
        state.current_run()
        source = state.current_source()
        f = _filters(source)
    p, kf = f["p"], f["key_freqs"]
    e, o = f["embed"], f["ov"]
    kf_text = ", ".join(map(str, kf))

    # -- neurons as filters
    st.header("Each neuron is a filter on the embedding waves")
    st.markdown(
        f"""
Take one MLP neuron. Its input weights W_in give one number per residual dimension; apply
them to the embedding and you get one wave over the {p} tokens: what this neuron would see
of token t. Its spectrum is the neuron's **frequency response** to the embedding waves. A
*narrowband* neuron puts most of that response into one frequency; below, "share" is the
fraction of the (non-constant) energy in the neuron's top frequency.

Measured on this model, directly through the embedding (W_E · W_in): the median neuron puts
**{e["median"]:.0%}** of its response into its top frequency (the sharpest, {e["max"]:.0%});
{e["above_half"]:.0%} of neurons are above one half; for **{e["top_is_key"]:.0%}** of neurons
the top frequency is a key frequency ({kf_text}). That is selective, but not yet narrow.

But a token never reaches the MLP directly: at `=` the MLP reads what attention brought over,
the embedding passed through a head's value and output maps (W_V W_O) first. Along that path
(W_E · W_V W_O · W_in, per head) the median neuron puts **{o["median"]:.0%}** of its response
into one frequency, {o["above_half"]:.0%} of (head, neuron) pairs are above one half, and for
{o["top_is_key"]:.0%} the top frequency is a key frequency. The attention's own linear maps
are part of the filter.
"""
    )
    _filter_section(source, f)
    _product_section(p, kf)
    _alias_section(p, kf)


show()
