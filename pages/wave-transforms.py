"""Wave Transforms: linear maps as filters, products of waves, and aliasing past Nyquist.

Run by ``st.navigation`` as a script: number-free prose first, then :func:`show`, which loads
the (cached) run and writes every statement that quotes a number. Defaults (the neuron, the
frequencies multiplied) are computed from the model; nothing assumes p = 113.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ui.data import route_through_app
from ui.theme import listing, pct

if TYPE_CHECKING:  # pragma: no cover
    from lens.story.wave_transforms import FilterFacts, WaveTransformsFacts

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


# ---------------------------------------------------------------- neurons as filters


@st.fragment  # the path and head rerun this section (the neuron, only its own part below)
def _filter_section(source: str, facts: "WaveTransformsFacts") -> None:
    from lens.story import wave_transforms as story
    from ui import charts
    from ui import data as state
    from ui.figures import wave_transforms as figures

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
        head = int(c2.selectbox("head", list(range(facts.n_heads)), key="wave_transforms.head"))
    path_facts = facts.direct if path == "embed" else facts.through_head
    # The scope slices these on every neuron change: one read-only copy per process, not an
    # unpickled one per rerun.
    waves = state.shared_of_run(story.filter_waves, source, path, head)  # [neuron, token]
    left, right = state.of_run(figures.overview_specs, source, path, head)
    o1, o2 = st.columns([3, 2])
    with o1:
        charts.show(left, key="wave_transforms.overview")
    with o2:
        charts.show(right, key="wave_transforms.histogram")
    title = "A neuron's response to the embedding waves" + (f" through head {head}" if path == "ov" else "")
    _neuron_view(path_facts, head if path == "ov" else 0, waves, facts.key_frequencies, title)


@st.fragment  # the neuron slider reruns only this: the overview above stays as it is drawn
def _neuron_view(path_facts: "FilterFacts", row: int, waves, kf: list[int], title: str) -> None:
    """``row``: the head (0 on the direct path) whose neurons ``path_facts`` describes."""
    from ui import links
    from ui.scope import Marker
    from ui.scope_widget import show_scope

    top, share, place = path_facts.top_frequency[row], path_facts.share[row], path_facts.strip_place[row]
    median_neuron = int(path_facts.median_neuron[row])
    scope_key = "wave_transforms.response"
    neuron0 = links.int_param("neuron", 0, len(waves) - 1, median_neuron)
    neuron = int(st.session_state.get(f"{scope_key}.neuron", neuron0))
    links.keep("neuron", neuron, median_neuron)
    st.markdown(
        f"One neuron's response, in the magnitude view: pick the neuron with the slider (neuron "
        f"{median_neuron} is a typical one, at the median share). Neuron **{neuron}**'s "
        f"top frequency is **{int(top[neuron])}**, with **{pct(share[neuron], 0)}** "
        f"of its response; in the strip above it is dot {place[neuron] + 1} of {len(place)} from the "
        f"left (hover a dot to see its neuron). Switch to the space view to see the wave itself."
    )

    def response_markers(idx: dict[str, int]) -> list:
        return [Marker(k, str(k), view="fourier") for k in kf]

    def response_caption(idx: dict[str, int]) -> str:
        n = idx.get("neuron", neuron)
        return f"top frequency {int(top[n])}, {pct(share[n], 0)} of the response; markers: key frequencies"

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


# ---------------------------------------------------------------- products of waves


def _product_section(facts: "WaveTransformsFacts") -> None:
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
    _product_demo(facts)


@st.fragment  # f1, f2 and the product rerun this demo only
def _product_demo(facts: "WaveTransformsFacts") -> None:
    from lens.story import wave_transforms as story
    from ui import data as state
    from ui import links
    from ui.scope import Marker
    from ui.scope_widget import show_scope

    p, k = facts.p, facts.highest_frequency
    d1, d2, d3 = st.columns([1, 1, 2])
    default1, default2 = facts.product_pair
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
    demo = state.of_args(story.product, p, f1, f2, mode.startswith("("))
    markers = [
        Marker(folded, f"{name} = {g}" + (f" → {folded}" if folded != g else ""), view="fourier")
        for name, g, folded in demo.components
    ]
    const = " plus a constant" if demo.constant else ""
    share = pct(demo.share_expected, 1)
    st.markdown(
        f"Expected frequencies (folded below p/2 = {facts.nyquist}): **{listing(demo.expected)}**"
        f"{const}. Measured: they hold **{share}** of the product's non-constant energy."
    )
    show_scope(
        {
            f"cos {f1}": demo.wave1,
            f"cos {f2}": demo.wave2,
            mode.replace("f1", str(f1)).replace("f2", str(f2)): demo.product,
        },
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


# ---------------------------------------------------------------- aliasing


def _alias_section(facts: "WaveTransformsFacts") -> None:
    st.header("Past Nyquist, frequencies fold back")
    st.markdown(
        f"""
With {facts.p} tokens the fastest wave you can tell apart has {facts.highest_frequency} cycles: half
the number of samples, the **Nyquist limit** p/2 = {facts.nyquist}. A wave at frequency f above that
takes, on the integer tokens, exactly the values of a wave at p − f:
cos(2π f t / p) = cos(2π (p − f) t / p) when t is an integer. So a sum frequency f1 + f2 above
p/2 shows up at p − (f1 + f2). Pick two frequencies; they open on a pair of key frequencies whose
sum passes the limit.
"""
    )
    _alias_demo(facts)


@st.fragment  # the two frequencies rerun this demo only
def _alias_demo(facts: "WaveTransformsFacts") -> None:
    from lens.story import wave_transforms as story
    from ui import charts
    from ui import data as state
    from ui.figures import wave_transforms as figures
    from ui.scope import Marker
    from ui.scope_widget import show_scope

    p, k, half = facts.p, facts.highest_frequency, facts.nyquist
    a0, b0 = facts.alias_pair
    g1, g2 = st.columns(2)
    h1 = int(g1.number_input("first frequency", 1, k, a0, key="wave_transforms.alias_f1"))
    h2 = int(g2.number_input("second frequency", 1, k, b0, key="wave_transforms.alias_f2"))
    demo = state.of_args(story.aliasing, p, h1, h2)
    s, folded, diff = demo.sum, demo.folded, demo.difference
    if demo.above_nyquist:
        verdict = f"**{h1} + {h2} = {s}** is above p/2 = {half}, so it folds to **{p} − {s} = {folded}**."
    else:
        verdict = (
            f"**{h1} + {h2} = {s}** is below p/2 = {half}: no folding. Pick a larger pair to see it fold."
        )
    st.markdown(
        f"{verdict} Measured: apart from the constant, the product's energy sits at frequency "
        f"**{listing(demo.peaks)}**; expected: the folded sum {folded}"
        + (f" and the difference {diff}." if diff else " (the difference is 0, a constant).")
    )
    show_scope(
        {f"cos {h1} · cos {h2}": demo.product},
        ("token",),
        key="wave_transforms.aliasing",
        view="magnitude",
        fourier=True,
        markers=lambda idx: (
            [Marker(folded, f"{s} → {folded}" if folded != s else f"{s}", view="fourier")]
            + ([Marker(diff, f"|{h1} − {h2}|", view="fourier")] if diff else [])
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
        charts.show(state.of_args(figures.alias_spec, p, s, folded), key="wave_transforms.alias_chart")


# ---------------------------------------------------------------- the page


def show() -> None:
    from ui import data as state

    with st.spinner("Loading the model…"):
        state.current_run()
        source = state.current_source()
        facts = state.facts("wave-transforms", source)  # every figure below (lens.story.wave_transforms)
    e, o = facts.direct, facts.through_head

    st.header("Each neuron is a filter on the embedding waves")
    st.markdown(
        f"""
Take one MLP neuron. Its input weights W_in give one number per residual dimension; apply
them to the embedding and you get one wave over the {facts.p} tokens: what this neuron would see
of token t. Its spectrum is the neuron's **frequency response** to the embedding waves. A
*narrowband* neuron puts most of that response into one frequency; below, "share" is the
fraction of the (non-constant) energy in the neuron's top frequency.

Measured on this model, directly through the embedding (W_E · W_in): the median neuron puts
**{pct(e.median, 0)}** of its response into its top frequency (the sharpest, {pct(e.max, 0)});
{pct(e.above_half, 0)} of neurons are above one half; for **{pct(e.top_is_key, 0)}** of neurons
the top frequency is a key frequency ({listing(facts.key_frequencies)}). That is selective, but not yet
narrow.

But a token never reaches the MLP directly: at `=` the MLP reads what attention brought over,
the embedding passed through a head's value and output maps (W_V W_O) first. Along that path
(W_E · W_V W_O · W_in, per head) the median neuron puts **{pct(o.median, 0)}** of its response
into one frequency, {pct(o.above_half, 0)} of (head, neuron) pairs are above one half, and for
{pct(o.top_is_key, 0)} the top frequency is a key frequency. The attention's own linear maps
are part of the filter.
"""
    )
    _filter_section(source, facts)
    _product_section(facts)
    _alias_section(facts)


show()
