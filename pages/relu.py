"""ReLU: a mixer. Its second-order term multiplies the a-wave by the b-wave, and the loss
says whether the model reads those products or the harmonics.

Run by ``st.navigation`` as a script: number-free prose first, so it reaches the browser
before the model loads; then :func:`show` writes everything that quotes the model. Every
number comes from :mod:`lens.story.relu` (the sweep demo, ``sweep``: needs only p and two
frequencies; the model's ablations, ``facts``) and from the claims of :mod:`lens.claims.relu`
(the product ablations, measured lazily after the sweep chart, through ``ui.claims``); the
charts' lines, markers and dots are built in :mod:`ui.figures.relu`. Nothing assumes p = 113.
"""

from __future__ import annotations

import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("The ReLU is a mixer")
st.markdown(
    r"""
Every MLP neuron takes a weighted sum of the residual stream and passes it through a ReLU,
$\max(0, x)$. A weighted sum of waves is still made of the same frequencies: a linear map
can scale, flip and mix what is there, but it cannot invent a frequency (the lesson of the
previous page). Besides attention's softmax, the ReLU is the model's only nonlinearity, and
so one of the two places where **new frequencies appear**.

**A ReLU is half a line and half an absolute value.**
"""
)
st.latex(r"\mathrm{ReLU}(x) = \frac{x}{2} + \frac{|x|}{2}")
st.markdown(
    r"""
The $x/2$ half passes its input's frequencies through unchanged. The $|x|/2$ half is even, so over the
range its input swings through it can be written as a series in even powers,
$|x| \approx c_0 + c_2 x^2 + c_4 x^4 + \dots$ (a bias only moves the point it is bent
around). Feed a neuron the sum of an **a-wave** $u = \cos(\omega f a + \varphi)$ and a
**b-wave** $v = \cos(\omega f b + \varphi)$, with $\omega = 2\pi / p$, and its second-order
term is
"""
)
st.latex(
    r"(u + v)^2 = \underbrace{u^2 + v^2}_{\text{harmonics } 2f \text{ of } a \text{ and of } b}"
    r" + \underbrace{2uv}_{\cos(\omega f (a - b)) \,+\, \cos(\omega f (a + b) + 2\varphi)}"
)
st.markdown(
    r"""
The cross term $2uv$ is a **product** of the two waves: it holds a wave in $a + b$ and one in
$a - b$, because $2\cos x \cos y = \cos(x - y) + \cos(x + y)$. Audio engineers call this
**intermodulation**, and a circuit built to produce it a **mixer**. The squares $u^2$ and
$v^2$, and every higher power, add **harmonics** $2f, 3f, \dots$ and further products:
in a mixer those are **distortion**. The logits need the $a + b$ wave, since
$\cos(\omega f (a + b - c))$ peaks at the right answer c; no function of a alone plus a
function of b alone contains it. So the mixer's products are what a model could use here,
and its harmonics are what it would have to ignore or cancel.

The seed notebook this explanation grows from read the ReLU the other way. Its hypothesis:
the network never multiplies trig terms; **the ReLU only clips**, and the sum and difference
frequencies come out among the side effects, together with the harmonics. The two readings
predict different things: if the products are side effects, removing them should not hurt;
if they carry the answer, removing them should destroy it. The demo below shows what
clipping makes; the section after it asks the model.

**Clip one wave.** Cut the bottom off a cosine and it is no longer a cosine: the flat stretch
where the ReLU outputs zero meets the wave at two corners, and a periodic signal with corners
takes more than one sine wave to draw. The extra ones are **harmonics**, whole multiples 2f,
3f, … of the original frequency f. On p points a frequency above p / 2 cannot be told apart
from p minus itself (aliasing: arithmetic mod p), so each harmonic shows up **folded** back
below p / 2.

**Clip a sum of two waves.** Now the corners depend on both waves at once, and besides both
sets of harmonics the spectrum grows components at **f₁ + f₂ and |f₁ − f₂|**: the mixer's
products, the frequencies of cos f₁ · cos f₂. Clipping is how a ReLU multiplies.

**Below**, a threshold sweeps down through the signal: at each step the signal is shifted down
by the threshold and the ReLU zeroes whatever falls below zero. The chart opens in the
Fourier view (one stem per sine and cosine component). Press **play**, or drag the threshold
slider under the chart, and watch stems grow at the dashed markers as more of the wave is cut
away. The space view shows the clipped wave itself. Both curves are drawn with their mean
removed: the constant is not a frequency, and it would dwarf every other stem.
"""
)

SIGNALS = {
    "wave": "wave f₁",
    "sum": "f₁ + f₂",
    "product": "f₁ × f₂",
}


# ---------------------------------------------------------------- page


@st.fragment  # moving f1, f2 or the signal reruns this section only
def _sweep_section(p: int, kf: list[int]) -> None:
    from lens.story.relu import sweep
    from ui import data as state
    from ui import links
    from ui.figures import relu as fig
    from ui.scope_widget import show_scope
    from ui.theme import pct

    k = p // 2
    default1 = kf[0] if kf else 1
    default2 = kf[1] if len(kf) > 1 else (default1 % k) + 1
    options = list(range(1, k + 1))
    signals = list(SIGNALS)
    open1 = links.int_param("f1", 1, k, default1, key="relu.f1")
    open2 = links.int_param("f2", 1, k, default2, key="relu.f2")
    open_signal = links.choice_param("signal", signals, "sum", key="relu.signal")
    label = lambda f: f"{f}  (key)" if f in kf else str(f)  # noqa: E731
    c1, c2, c3 = st.columns([1, 1, 2])
    f1 = c1.selectbox("frequency f₁", options, index=open1 - 1, format_func=label, key="relu.f1")
    f2 = c2.selectbox("frequency f₂", options, index=open2 - 1, format_func=label, key="relu.f2")
    signal = c3.radio(
        "signal",
        signals,
        format_func=SIGNALS.get,
        horizontal=True,
        index=signals.index(open_signal),
        key="relu.signal",
    )
    links.keep("f1", f1, default1, key="relu.f1")
    links.keep("f2", f2, default2, key="relu.f2")
    links.keep("signal", signal, "sum", key="relu.signal")

    sw = state.of_args(sweep, p, int(f1), int(f2), signal)
    half = sw.half  # where the chart opens: the step that clips half the samples
    markers = fig.sweep_markers(sw)

    def caption(ix: dict[str, int]) -> str:
        t = ix["threshold"]
        return f"{sw.clipped[t]} of {p} samples clipped to 0, {pct(sw.new_share[t], 0)} of the energy at new frequencies"

    def cut(ix: dict[str, int]) -> str:  # the title's line over the caption: the cut itself, not its step
        return f"cut = {sw.level[ix['threshold']]:+.2f}"

    # Each line has its mean removed: the constant would otherwise dwarf every other stem
    # (the scope's y range is global), and it is not a frequency the demo is about.
    show_scope(
        fig.sweep_lines(sw),
        ("threshold", "n"),
        key="relu.sweep",
        play="threshold",
        start={"threshold": half},
        view="fourier",
        markers=lambda ix: markers,
        caption=caption,
        play_label=cut,
        play_title="threshold step",
        title=f"ReLU(signal − threshold), signal = {SIGNALS[signal].replace('f₁', str(f1)).replace('f₂', str(f2))}",
        y_title="signal",
        height=380,
    )

    # What the chart shows where it opens, in numbers; the caption under the chart gives the
    # cut and the new energy of whatever slice the reader scrubs to.
    inputs = ", ".join(str(f) for f in sw.inputs)
    top = ", ".join(f"**{f}** ({pct(share, 1)})" for f, share in sw.top_new)
    st.markdown(
        f"In numbers, where the chart opens: the input holds frequenc{'y' if len(sw.inputs) == 1 else 'ies'} "
        f"{inputs} and nothing else. At the cut **{sw.level[half]:+.2f}**, which clips "
        f"{sw.clipped[half]} of the {p} samples, **{pct(sw.new_share[half], 0)}** of the clipped "
        "signal's energy (the constant left out) has moved to frequencies that were not in the "
        f"input; the strongest are {top}. With $f_1 = {f1}$ and $f_2 = {f2}$, the sum $f_1 + f_2$ and "
        f"the difference $|f_1 - f_2|$ fall on frequencies {sw.sum_freq} and {sw.diff_freq}, the "
        f"harmonics $2f_1$ and $3f_1$ on {sw.harmonic2} and {sw.harmonic3} (every frequency folded "
        f"into 0..{k}: $k$ and $p - k$ are one frequency). Move the slider under the chart and "
        "its caption gives the cut and the new energy of the slice shown."
    )
    st.markdown(_sweep_reading(sw))


def _sweep_reading(sw) -> str:
    """What the chosen signal shows about mixing (the numbers are the sweep's own)."""
    from ui.theme import pct

    if sw.signal == "wave":
        return (
            "One wave, clipped, makes only its own harmonics (folded): with no second wave "
            "to mix with, there are no intermodulation products."
        )
    if sw.signal == "sum":
        parts = []
        if sw.sum_freq:
            parts.append(f"the sum f₁ + f₂ (at {sw.sum_freq}) holds {pct(sw.sum_share, 1)}")
        if sw.diff_freq:
            parts.append(f"the difference |f₁ − f₂| (at {sw.diff_freq}) {pct(sw.diff_share, 1)}")
        held = (" At that threshold " + " and ".join(parts) + " of the energy.") if parts else ""
        return (
            "Two waves clipped together are mixed: besides the harmonics of each, the "
            "intermodulation products f₁ + f₂ and |f₁ − f₂| appear, the frequencies of their "
            "product." + held
        )
    return (
        "This input is already the product of the two waves (it holds f₁ + f₂ and |f₁ − f₂| "
        "only); clipping it adds harmonics of those and products among them: distortion, on "
        "top of a signal that was mixed before the ReLU."
    )


# The claims this page states, measured after the sweep chart (ui.claims caches them).
SEED_CLAIM = "relu-harmonics-unneeded"
PRODUCT_CLAIMS = ("relu-products-essential", "relu-products-sufficient")


def _ablation_section(source: str, f) -> None:
    import pandas as pd

    from ui import charts
    from ui import claims as uc
    from ui import data as state
    from ui.figures import relu as fig
    from ui.theme import listing, num

    p, kf = f.p, f.key_freqs
    st.header("What the model takes from the ReLU")
    st.markdown(
        f"""
The neurons' outputs after the ReLU hold everything the demo above produces: harmonics and
products alike. To find out which of them the model *relies* on, edit the activations, map
the edited activations through $W_{{out}}$ into the residual stream, unembed, and measure the loss
again. Four edits in two families, beside the unedited activations (**regular**).

**The seed's test: frequencies removed along b.** For every neuron and every value of a, the
activation is a wave over b; zero chosen frequencies in its Fourier transform:

- **without sum/difference frequencies**: the {len(f.sum_difference)} frequencies f₁ + f₂ and
  |f₁ − f₂| (folded) over every pair of the key frequencies {listing(kf)}, a frequency paired
  with itself included, key frequencies themselves excepted, are removed:
  {listing(f.sum_difference)};
- **only key frequencies**: all {len(f.others)} frequencies from 1 to {p // 2} except the key
  frequencies are removed (the constant stays).

**A test that sees the products: the spectrum over (a, b).** Along b alone, a product
$\\cos(\\omega f a + \\varphi) \\cos(\\omega f b + \\varphi)$ is just a wave at f, a key frequency, whose amplitude depends on
a: both of the seed's edits keep it. Transform over a and b together instead, as Nanda et
al. (2023, *Progress measures for grokking via mechanistic interpretability*) read the
neurons: a function of a plus a function of b lies on the two axes of that 2-D spectrum
(frequency 0 along a or along b), and the products of an a-wave and a b-wave at a key
frequency f lie at the four points (±f, ±f), and nowhere else.

- **without the products**: the (±f, ±f) components of the key frequencies {listing(kf)}
  are zeroed, everything else is kept;
- **only constant + one-axis parts + products**: everything else is zeroed.
"""
    )
    with st.spinner("Editing the activations…"):
        found = {cid: uc.claim(source, cid) for cid in (SEED_CLAIM, *PRODUCT_CLAIMS, "float32-loss")}
    essential, sufficient = (found[cid] for cid in PRODUCT_CLAIMS)
    losses = fig.with_products(f.ablations, essential.details, sufficient.details)
    table = pd.DataFrame(
        {split: [num(losses[r][split], ".3e") for r in fig.ABLATIONS] for split in fig.SPLITS},
        index=list(fig.ABLATIONS.values()),
    )
    table.columns = ["loss, all pairs", "loss, train", "loss, test"]
    st.table(table)
    charts.show(
        state.of_args(fig.ablation_spec, fig.ablation_losses(losses), f.chance_loss), key="relu.ablations"
    )
    uc.say(source, "float32-loss")

    st.subheader("For the seed's hypothesis: the harmonics are not needed")
    seed = uc.say(source, SEED_CLAIM)
    st.markdown(
        "As far as it goes, this supports the seed's reading: the harmonics and the other "
        "frequencies the ReLU makes along b are distortion that the readout ignores."
        if seed.holds
        else "On this model even the seed's own test finds the frequencies outside the key set "
        "carrying part of the answer."
    )

    st.subheader("Against it: the products are the signal")
    uc.say(source, PRODUCT_CLAIMS[0])
    uc.say(source, PRODUCT_CLAIMS[1])
    st.markdown(_verdict(essential, sufficient, f.chance_loss))


def _verdict(essential, sufficient, chance: float) -> str:
    """The section's conclusion, from the two product claims' verdicts."""
    from ui.theme import num

    if not essential.holds:
        return (
            "On this model the products at the key frequencies are not what the readout "
            "depends on, so this test does not contradict the seed's reading that they are a "
            "side effect of clipping."
        )
    worse = (
        f"worse than a uniform guess over the answers (ln p = {num(chance, '.2f')})"
        if essential.details.get("worse_than_chance")
        else "far from its own loss"
    )
    if sufficient.holds:
        return (
            "So the seed's hypothesis fails where it matters: the ReLU does multiply, as a "
            "mixer. Without the intermodulation products of the a-wave and the b-wave the "
            f"model is {worse}; with them and nothing but one-axis parts it is as good as "
            "before. The a + b waves the logits read pass through these products; the "
            "harmonics are distortion."
        )
    return (
        f"So the products are necessary (without them the model is {worse}), but on this "
        "model not sufficient: it also reads other two-dimensional components of the ReLU's "
        "output."
    )


def show() -> None:
    from ui import data as state

    source = state.checked_source()
    f = state.facts("relu", source)
    kf = f.key_freqs
    st.markdown(
        f"The model on this page works modulo p = {f.p}; its key frequencies are "
        f"{', '.join(map(str, kf))}. The two frequencies start at "
        + ("its two lowest key frequencies" if len(kf) > 1 else "its key frequency")
        + "; pick any others."
    )
    _sweep_section(f.p, kf)
    _ablation_section(source, f)


show()
