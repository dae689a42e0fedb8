"""ReLU: clipping a wave creates harmonics and sum and difference frequencies; the loss
tells whether the model uses them.

Run by ``st.navigation`` as a script: number-free prose first, so it reaches the browser
before the model loads; then :func:`show` writes everything that quotes the model. Every
number comes from :mod:`lens.story.relu`: the sweep demo (``sweep``: needs only p and two
frequencies) and the model's ablations (``facts``, computed once per checkpoint); the charts'
lines, markers and bars are built in :mod:`ui.figures.relu`. Nothing assumes p = 113.
"""

from __future__ import annotations

import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("The ReLU makes new frequencies")
st.markdown(
    r"""
Every MLP neuron takes a weighted sum of the residual stream and passes it through a ReLU,
$\max(0, x)$. A weighted sum of waves is still made of the same frequencies: a linear map
can scale, flip and mix what is there, but it cannot invent a frequency (that was the lesson
of the previous page). The ReLU is the one place in this model where **new frequencies
appear**. This page shows which ones, and then asks the model whether it needs them.

**Clip one wave.** Cut the bottom off a cosine and it is no longer a cosine: the flat stretch
where the ReLU outputs zero meets the wave at two corners, and a periodic signal with
corners takes more than one sine wave to draw. The extra ones are **harmonics**, whole
multiples 2f, 3f, … of the original frequency f. On p points a frequency above p / 2 cannot
be told apart from p minus itself (aliasing), so each harmonic shows up **folded** back below
p / 2.

**Clip a sum of two waves.** Now the corners depend on both waves at once, and besides both
sets of harmonics the spectrum grows components at **f₁ + f₂ and |f₁ − f₂|** (audio engineers
call this intermodulation). These are exactly the frequencies of the *product* of the two
waves, since cos x · cos y = ½ cos(x − y) + ½ cos(x + y). That coincidence is why this model's
MLP has been described as multiplying waves. It does not multiply: it clips, and the product
frequencies come out among the side effects, together with the harmonics.

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
    open1 = links.int_param("f1", 1, k, default1)
    open2 = links.int_param("f2", 1, k, default2)
    open_signal = links.choice_param("signal", signals, "sum")
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
    links.keep("f1", f1, default1)
    links.keep("f2", f2, default2)
    links.keep("signal", signal, "sum")

    sw = state.of_args(sweep, p, int(f1), int(f2), signal)
    steps, half = len(sw.level), sw.half  # half: the step that clips half the samples
    markers = fig.sweep_markers(sw)

    def caption(ix: dict[str, int]) -> str:
        t = ix["threshold"]
        return (
            f"cut at {sw.level[t]:+.2f}: {sw.clipped[t]} of {p} samples clipped to 0, "
            f"{pct(sw.new_share[t], 0)} of the energy at new frequencies"
        )

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
        title=f"ReLU(signal − threshold), signal = {SIGNALS[signal].replace('f₁', str(f1)).replace('f₂', str(f2))}",
        y_title="signal",
        height=380,
    )

    # What the chart shows, in numbers, at the step that clips half of the samples.
    inputs = ", ".join(str(f) for f in sw.inputs)
    top = ", ".join(f"**{f}** ({pct(share, 1)})" for f, share in sw.top_new)
    s, d = sw.sum_freq, sw.diff_freq
    st.markdown(
        f"In numbers: the input holds frequenc{'y' if len(sw.inputs) == 1 else 'ies'} {inputs} "
        "and nothing else. At the threshold "
        f"that clips {sw.clipped[half]} of the {p} samples (step {half} of {steps}), "
        f"**{pct(sw.new_share[half], 0)}** of the clipped signal's energy (the constant left "
        f"out) has moved to frequencies that were not in the input; the strongest are {top}. "
        f"With f₁ = {f1} and f₂ = {f2}, the sum and difference are {f1 + f2}"
        + (f" (folded to {s})" if s != f1 + f2 else "")
        + f" and {d}; the harmonics 2f₁ and 3f₁ are {2 * f1}"
        + (f" (→ {sw.harmonic2})" if sw.harmonic2 != 2 * f1 else "")
        + f" and {3 * f1}"
        + (f" (→ {sw.harmonic3})" if sw.harmonic3 != 3 * f1 else "")
        + "."
    )


def _ablation_section(f) -> None:
    import pandas as pd

    from ui import charts
    from ui import data as state
    from ui.figures import relu as fig
    from ui.theme import num

    p, kf, abl = f.p, f.key_freqs, f.ablations
    st.header("Does the model use what the ReLU makes?")
    st.markdown(
        f"""
The neurons' outputs after the ReLU are full of the frequencies the demo above produces. To
find out whether the model *relies* on them, edit the activations and measure the loss again.
For every neuron and every value of a, the activation is a wave over b; remove chosen
frequencies from that wave (zero them in its Fourier transform), map the edited activations
through W_out into the residual stream, unembed, and compute the cross-entropy in float64
(at losses this small, float32 rounding would be off by a factor of about two). Three rows:

- **regular**: the activations as they are;
- **without sum/difference frequencies**: the {len(f.sum_difference)} frequencies f₁ + f₂ and
  |f₁ − f₂| (folded) over every pair of the key frequencies {", ".join(map(str, kf))}, a
  frequency paired with itself included, key frequencies themselves excepted, are removed:
  {", ".join(map(str, f.sum_difference)) or "none"};
- **only key frequencies**: all {len(f.others)} frequencies from 1 to {p // 2} except the key
  frequencies are removed (the constant stays).
"""
    )
    rows = fig.ABLATIONS
    table = pd.DataFrame(
        {split: [num(abl[r][split], ".3e") for r in rows] for split in fig.SPLITS},
        index=list(rows.values()),
    )
    table.columns = ["loss, all pairs", "loss, train", "loss, test"]
    st.table(table)
    charts.show(state.of_args(fig.ablation_spec, fig.ablation_losses(abl)), key="relu.ablations")
    st.markdown(_ablation_prose(f))


def _change(before: float, after: float, ratio: float) -> str:
    """'from X to Y (Z times lower)' in scientific notation, or 'stays at X'; ``ratio`` is
    after / before (NaN when either is not positive)."""
    from ui.theme import num

    if before == after:
        return f"stays at {num(before, '.3e')}"
    if ratio == ratio:  # not NaN
        how = f"{num(1 / ratio, '.2f')} times lower" if ratio < 1 else f"{num(ratio, '.2f')} times higher"
    else:
        how = "lower" if after < before else "higher"
    return f"from {num(before, '.3e')} to {num(after, '.3e')} ({how})"


def _ablation_prose(f) -> str:
    abl, ratios = f.ablations, f.ratios
    reg = abl["regular"]

    def change(name: str, split: str) -> str:
        return _change(reg[split], abl[name][split], ratios[name][split])

    text = (
        f"On the loaded model, removing the {len(f.sum_difference)} sum/difference frequencies changes the "
        f"test loss {change('without_sum_difference', 'test')} and the train loss "
        f"{change('without_sum_difference', 'train')}. Keeping only the key frequencies (removing "
        f"{len(f.others)}) changes the test loss {change('only_key_frequencies', 'test')} and the train loss "
        f"{change('only_key_frequencies', 'train')}. "
    )
    if f.verdict == "not needed":
        text += (
            "Both edits leave the test loss lower or equal: on the pairs it never saw, the model "
            "does not need what the ReLU creates beyond the key frequencies; to the readout it is "
            "closer to noise than to signal."
        )
    elif f.verdict == "needed":
        text += (
            "Both edits make the model worse on the pairs it never saw: on this model the "
            "frequencies the ReLU creates carry part of the answer."
        )
    else:
        text += (
            "The two edits pull in different directions on the test pairs, so on this model "
            "the picture is mixed: some of the frequencies outside the key set help and "
            "others do not."
        )
    return text


def show() -> None:
    from ui import data as state

    f = state.facts("relu", state.checked_source())
    kf = f.key_freqs
    st.markdown(
        f"The model on this page works modulo p = {f.p}; its key frequencies are "
        f"{', '.join(map(str, kf))}. The two frequencies start at "
        + ("its two lowest key frequencies" if len(kf) > 1 else "its key frequency")
        + "; pick any others."
    )
    _sweep_section(f.p, kf)
    _ablation_section(f)


show()
