"""Wave Transforms: linear maps are filters; the ReLU and attention's softmax are mixers;
aliasing is arithmetic mod p.

Run by ``st.navigation`` as a script: number-free prose first, then :func:`show`, which loads
the (cached) run and writes every statement that quotes a number. Every figure about the
filters and the demos is a field of :mod:`lens.story.wave_transforms`; the claims
(``attention-additive``, ``attention-products-in-logits``, and the ReLU page's
``relu-products-essential`` for the closing verdict) are measured lazily through
``ui.claims``, in the last two sections, after every chart. Defaults (the neuron, the
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

st.title("Wave transforms: filters, mixers and aliasing")
st.markdown(
    r"""
Every residual dimension of this model carries a wave over the token index, so it pays to
ask what each step does to waves. Most steps are *linear*: a matrix multiplies a vector.
Each output of a linear map is a weighted sum of its inputs, and a weight can only scale a
wave or flip its sign. Summing scaled copies of waves that share a frequency and a phase
makes that frequency louder; summing copies that are out of phase makes it cancel. No
weighted sum makes a frequency that was not there. So each output is a **filter**: it lets
some frequencies through and blocks others, a bank of filters with one tap per input
dimension.

Filters alone cannot compute the answer. Nanda et al. (2023) found that the logits of a
grokked model are close to a sum of waves $\cos(\omega_f (a + b - c))$, one per key
frequency f, with $\omega_f = 2\pi f / p$, and
"""
)
st.latex(r"\cos(\omega (a + b)) = \cos \omega a \, \cos \omega b - \sin \omega a \, \sin \omega b")
st.markdown(
    r"""
is a **product** of a wave in a and a wave in b. A linear map of the two embeddings gives
$u(a) + v(b)$, a function of a plus a function of b, which contains no such term. Something
has to multiply. In signal processing a circuit that multiplies two signals is a **mixer**:
its output holds the sum and the difference of their frequencies (intermodulation).

The seed notebook this explanation grows from reads the model another way. Its hypothesis:
the network does not multiply trig terms; every step but the ReLU is linear, and the ReLU
only clips, adding harmonics. This page tests its middle part. The ReLU is a mixer (the next page
measures what its products carry); the question here is whether attention, whose value and
output maps are linear, is linear in the tokens as a whole. Its weights come out of a
softmax, and a later section measures what that does.
"""
)


# ---------------------------------------------------------------- neurons as filters


@st.fragment  # the path and head rerun this section (the neuron, only its own part below)
def _filter_section(source: str, facts: "WaveTransformsFacts") -> None:
    from lens.story import wave_transforms as story
    from ui import charts, links
    from ui import data as state
    from ui.figures import wave_transforms as figures

    c1, c2 = st.columns([2, 1])
    # The link's word for each path (?path=head), beside the radio's label.
    paths = {"direct": "direct: W_E · W_in", "head": "through one attention head: W_E · W_V W_O · W_in"}
    path0 = links.choice_param("path", list(paths), "direct", key="wave_transforms.path")
    path_label = c1.radio(
        "path from token to neuron",
        list(paths.values()),
        index=list(paths).index(path0),
        horizontal=True,
        key="wave_transforms.path",
    )
    word = next(w for w, label in paths.items() if label == path_label)
    links.keep("path", word, "direct", key="wave_transforms.path")
    path = "embed" if word == "direct" else "ov"
    head = 0
    if path == "ov":
        heads = list(range(facts.n_heads))
        head0 = links.choice_param(
            "head", heads, 0, key="wave_transforms.head", why="this model has no such head"
        )
        head = int(c2.selectbox("head", heads, index=heads.index(head0), key="wave_transforms.head"))
        links.keep("head", head, 0, key="wave_transforms.head")
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
    # The scope keeps the slider's link (?neuron=) and memory; the prose needs its value first.
    neuron0 = links.int_param("neuron", 0, len(waves) - 1, median_neuron, key=f"{scope_key}.neuron")
    if not 0 <= st.session_state.get(f"{scope_key}.neuron", 0) < len(waves):
        # Chosen on a wider model earlier in this session (before an upload): start over.
        st.session_state[f"{scope_key}.neuron"] = neuron0
    neuron = int(st.session_state.get(f"{scope_key}.neuron", neuron0))
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
        start={"neuron": median_neuron},  # the default: the scope opens on the link or memory
        link_axes={"neuron": "neuron"},
        view="magnitude",
        fourier=True,
        markers=response_markers,
        caption=response_caption,
        title=title,
        y_title="response",
    )


# ---------------------------------------------------------------- products of waves


def _product_section(facts: "WaveTransformsFacts") -> None:
    st.header("A mixer multiplies waves: sum and difference frequencies")
    st.markdown(
        r"""
Multiply two waves and the result is not a wave at either frequency. The identity
$\cos x \cdot \cos y = \tfrac12 \cos(x + y) + \tfrac12 \cos(x - y)$ says the product is two
waves: one at the **sum** of the frequencies and one at their **difference**. That is all a
mixer does. Square a mixture of two waves and you get every such combination: twice each
frequency (the **harmonics**), their sum, their difference, and a constant. The square is
what a bent curve does to its input at second order, which is why the ReLU mixes: write
$\mathrm{ReLU}(x) = x/2 + |x|/2$; the half $x/2$ is one more filter, and the half $|x|/2$,
an even function, behaves near its bend like $x^2$. With $x = u(a) + v(b)$ the cross term
$2uv$ carries the $a + b$ wave the answer needs; $u^2$ and $v^2$ are harmonics, distortion
the model has to cancel or ignore.

Pick two frequencies (they open on two of the model's key frequencies) and look at the
Fourier view: the product's energy sits exactly where the markers say.
"""
    )
    # The prose above does not depend on a widget, so it stays outside the fragment: a widget
    # change does not send it again (the same in the aliasing section).
    _product_demo(facts)


@st.fragment  # f₁, f₂ and the product rerun this demo only
def _product_demo(facts: "WaveTransformsFacts") -> None:
    from lens.story import wave_transforms as story
    from ui import data as state
    from ui import links
    from ui.scope import Marker
    from ui.scope_widget import show_scope

    p, k = facts.p, facts.highest_frequency
    d1, d2, d3 = st.columns([1, 1, 2])
    default1, default2 = facts.product_pair
    # Named as on the ReLU page (f₁, f₂); the link's parameters stay f1 and f2.
    f1 = links.number_input(d1, "frequency f₁", "f1", 1, k, default1, key="wave_transforms.f1")
    f2 = links.number_input(d2, "frequency f₂", "f2", 1, k, default2, key="wave_transforms.f2")
    products = {"product": "cos f₁ · cos f₂", "square": "(cos f₁ + cos f₂)²"}  # the link's word: label
    product0 = links.choice_param("product", list(products), "product", key="wave_transforms.product")
    mode = d3.radio(
        "product",
        list(products.values()),
        index=list(products).index(product0),
        horizontal=True,
        key="wave_transforms.product",
    )
    word = next(w for w, label in products.items() if label == mode)
    links.keep("product", word, "product", key="wave_transforms.product")
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
            mode.replace("f₁", str(f1)).replace("f₂", str(f2)): demo.product,
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
    st.header("Aliasing is arithmetic mod p")
    st.markdown(
        rf"""
The tokens are the numbers 0 to {facts.p - 1}, and a wave over them only sees its frequency
mod {facts.p}: on whole numbers t, $\cos(2\pi (f + p) t / p) = \cos(2\pi f t / p)$. A cosine
cannot tell f from −f either, so **f and p − f are the same wave**:
$\cos(2\pi f t / p) = \cos(2\pi (p - f) t / p)$. Every frequency therefore folds into
0 to {facts.highest_frequency}. Signal processing calls this **aliasing**: with {facts.p}
samples the fastest wave you can tell apart has {facts.highest_frequency} cycles, below the
**Nyquist limit** p/2 = {facts.nyquist}, and a faster one shows up folded back below it. For this
task it is nothing but the arithmetic of the task itself: a mixer's sum frequency $f_1 + f_2$ is
taken mod p like a + b, and above p/2 it appears at $p - (f_1 + f_2)$. In the language of Chughtai
et al. (2023), each frequency is one representation of the residues mod p, a rotation by
$\omega_f$ per step; p − f is the same rotation run backwards.

Pick two frequencies; they open on a pair of key frequencies whose sum passes the limit.
"""
    )
    _alias_demo(facts)


@st.fragment  # the two frequencies rerun this demo only
def _alias_demo(facts: "WaveTransformsFacts") -> None:
    from lens.story import wave_transforms as story
    from ui import charts, links
    from ui import data as state
    from ui.figures import wave_transforms as figures
    from ui.scope import Marker
    from ui.scope_widget import show_scope

    p, k, half = facts.p, facts.highest_frequency, facts.nyquist
    a0, b0 = facts.alias_pair
    g1, g2 = st.columns(2)
    h1 = links.number_input(g1, "first frequency", "alias1", 1, k, a0, key="wave_transforms.alias_f1")
    h2 = links.number_input(g2, "second frequency", "alias2", 1, k, b0, key="wave_transforms.alias_f2")
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


# ---------------------------------------------------------------- attention mixes


def _attention_section(source: str) -> None:
    from ui import claims

    st.header("Is attention's softmax a second mixer?")
    st.markdown(
        r"""
At `=` each head writes a weighted average of what it reads at a, b and `=`:
$w_a \, v(a) + w_b \, v(b) + w_= \, v(=)$. The values $v$ are linear maps of the embedding,
filters like the ones above. The weights are not: the softmax divides each exponentiated
score by a sum over all three tokens, so $w_a$ depends on b as well as on a. With constant
weights, as in the models Zhong et al. (2023) trained with constant attention (which mostly
learned their "Pizza" algorithm), resid_mid would be $u(a) + v(b)$, additive. With a softmax
it need not be. A head's score $s(t)$ on a token is a wave over the token, led by one
frequency (the head's **frequency gate**, on the Attention page), and its weight on a is
$e^{s(a)} / (e^{s(a)} + e^{s(b)} + e^{s(=)})$: a wave in a divided by a sum that holds one
in b. Expanded, that quotient holds products of the two: a gated mixer. A 2-D Fourier
transform over (a, b) of resid_mid (the residual stream at `=` after attention) shows whether it mixes: terms with both
frequencies non-zero are products.
"""
    )
    with st.spinner("Measuring…"):
        claims.say(source, "attention-additive")
    st.markdown(
        r"""
Do attention's products reach the answer? Split the ReLU into its two halves,
$\mathrm{ReLU}(x) = x/2 + |x|/2$, with $r$ = resid_mid and $x = r W_{in} + b_{in}$ the
neurons' input ($W_{out}$ writes the neurons back into the residual stream, and the
unembedding $W_U$, d_model × p, turns it into one logit per answer). The logits become a part that is linear in $r$ and a rectified part:
"""
    )
    st.latex(
        r"L = r \, \big( W_U + \tfrac12 W_{in} W_{out} W_U \big)"
        r" + \tfrac12 \, |x| \, W_{out} W_U + \text{const}"
    )
    st.markdown(
        r"""
The linear part is the direct path through the residual stream plus the MLP's half $x/2$.
The additive part of $r$, $u(a) + v(b)$, gives it no $\cos(\omega_f (a + b - c))$ term at
all, so whatever weight that term has in the linear part comes from attention's cross
terms, passed straight through. Attention's products also enter the half $|x|/2$; that share
is credited to the ReLU here, so the number below is a lower bound on attention's part.
"""
    )
    with st.spinner("Measuring…"):
        mixed = claims.say(source, "attention-products-in-logits")
    d = mixed.details
    if mixed.holds and d.get("shares_follow_gates") and d.get("ungated"):
        st.markdown(
            f"The key frequencies that attention's products feed are exactly the ones that lead some "
            f"head's score: **{listing(d['gated'])}**. No head's gate is tuned to "
            f"**{listing(d['ungated'])}**, and there attention's share stays under {pct(mixed.threshold)}. "
            "The gate decides where attention mixes."
        )
    elif mixed.holds and d.get("shares_follow_gates"):
        st.markdown("Every key frequency leads some head's score, and each gets a share from attention.")


# ---------------------------------------------------------------- the hypothesis


def _hypothesis_section(source: str) -> None:
    from ui import claims

    additive = claims.claim(source, "attention-additive")
    mixed = claims.claim(source, "attention-products-in-logits")
    st.header("The seed's hypothesis, tested")
    if additive.holds:
        linear = "Holds on this model: attention's output is additive in a and b (measured above)."
    elif mixed.holds:
        linear = (
            "Fails on this model: attention's softmax mixes a and b, and its products carry part of "
            "the logits' $\\cos(\\omega(a + b - c))$ term (both measured above)."
        )
    else:
        linear = (
            "Fails on this model: attention's softmax mixes a and b, though little of what it mixes "
            "reaches the logits' $\\cos(\\omega(a + b - c))$ term (both measured above)."
        )
    st.markdown(
        f"""
The seed's hypothesis is that the network does not multiply trig terms. The parts of it this
page is about, on this model:

- **Linear maps are filters.** True of every matrix: a weighted sum of waves makes no new
  frequency. The neurons' filters above are one instance.
- **Every step but the ReLU is linear.** {linear}
- **The ReLU only clips, adding harmonics.** The ReLU page tests it by removing the ReLU's
  products from its output:
"""
    )
    with st.spinner("Measuring…"):
        products = claims.claim(source, "relu-products-essential")
    verdict = "Fails on this model." if products.holds else "Holds on this model."
    st.markdown(f"{verdict} {products.statement}")
    claims.card(products)


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
Take one MLP neuron. Its input weights $W_{{in}}$ give one number per residual dimension; apply
them to the embedding and you get one wave over the {facts.p} tokens: what this neuron would see
of token t. Its spectrum is the neuron's **frequency response** to the embedding waves. A
*narrowband* neuron puts most of that response into one frequency; below, "share" is the
fraction of the (non-constant) energy in the neuron's top frequency.

Measured on this model, directly through the embedding ($W_E W_{{in}}$): the median neuron puts
**{pct(e.median, 0)}** of its response into its top frequency (the sharpest, {pct(e.max, 0)});
{pct(e.above_half, 0)} of neurons are above one half; for **{pct(e.top_is_key, 0)}** of neurons
the top frequency is a key frequency ({listing(facts.key_frequencies)}). That is selective, but not yet
narrow.

But a token never reaches the MLP directly: at `=` the MLP reads what attention brought over,
the embedding passed through a head's value and output maps ($W_V W_O$) first. Along that path
($W_E W_V W_O W_{{in}}$, per head) the median neuron puts **{pct(o.median, 0)}** of its response
into one frequency, {pct(o.above_half, 0)} of (head, neuron) pairs are above one half, and for
{pct(o.top_is_key, 0)} the top frequency is a key frequency. Attention's value and output maps
are linear, so they are part of the filter; its weights are not, as a later section shows.
"""
    )
    _filter_section(source, facts)
    _product_section(facts)
    _alias_section(facts)
    # The claims are measured here, after every chart: the first paint never waits for them.
    _attention_section(source)
    _hypothesis_section(source)


show()
