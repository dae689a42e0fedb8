"""ReLU: clipping a wave creates harmonics and sum and difference frequencies; the loss
tells whether the model uses them.

Run by ``st.navigation`` as a script: number-free prose first, so it reaches the browser
before the model loads; then :func:`show` writes everything that quotes the model. The
sweep demo needs only p and two frequencies; the ablations come from the shared report
(``ui.data.current_report``), computed once per checkpoint. Nothing assumes p = 113.
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


# ---------------------------------------------------------------- cached data


@st.cache_data(max_entries=32, show_spinner=False)
def _sweep(p: int, f1: int, f2: int, signal: str) -> dict:
    """The threshold sweep of one signal, its per-step facts, and the input's frequencies.

    Keys: ``after`` [threshold, n] (ReLU output, :func:`lens.waves.relu_sweep`), ``input``
    [n] (the signal, mean removed), ``level`` (the threshold in the signal's units), ``clipped`` (samples set to zero), ``new_share`` (share of the
    output's non-constant energy at frequencies absent from the input), ``inputs`` (the
    input's frequencies).
    """
    import numpy as np

    from lens import analysis, fourier

    w1, w2 = analysis.make_wave(p, f1), analysis.make_wave(p, f2)
    x = {"wave": w1, "sum": w1 + w2, "product": w1 * w2}[signal]
    after = analysis.relu_sweep(x)  # [threshold, n]
    steps = after.shape[0]
    lo, hi = float(x.min()), float(x.max())
    level = lo + (hi - lo) * np.arange(steps) / steps
    before = x[None, :] - level[:, None]
    share_in = fourier.energy_share(x)
    inputs = [int(f) for f in np.flatnonzero(share_in > 1e-9)]
    shares = np.stack([fourier.energy_share(row) for row in after])  # [threshold, freq]
    new = np.ones(shares.shape[1], dtype=bool)
    new[[0, *inputs]] = False
    return {
        "after": after,
        "input": x - x.mean(),
        "level": level,
        "clipped": (before <= 0).sum(axis=1),
        "new_share": shares[:, new].sum(axis=1),
        "shares": shares,
        "inputs": inputs,
    }


def _markers_for(p: int, f1: int, f2: int, signal: str) -> list:
    """Dashed rules in the Fourier views: the input's frequencies and what clipping adds."""
    from lens.fourier import fold
    from ui.scope import Marker

    s, d = int(fold(f1 + f2, p)), int(fold(abs(f1 - f2), p))
    if signal == "wave":
        spots = [(f1, "f₁"), (int(fold(2 * f1, p)), "2f₁"), (int(fold(3 * f1, p)), "3f₁")]
    elif signal == "sum":
        spots = [
            (f1, "f₁"),
            (f2, "f₂"),
            (int(fold(2 * f1, p)), "2f₁"),
            (int(fold(3 * f1, p)), "3f₁"),
            (s, "f₁+f₂"),
            (d, "|f₁−f₂|"),
        ]
    else:  # the product holds f1 + f2 and |f1 - f2|; clipping it adds 2f1 and 2f2 among others
        spots = [(s, "f₁+f₂"), (d, "|f₁−f₂|"), (int(fold(2 * f1, p)), "2f₁"), (int(fold(2 * f2, p)), "2f₂")]
    names: dict[int, list[str]] = {}
    for f, label in spots:  # two names for one frequency share one rule
        if f > 0:
            names.setdefault(f, []).append(label)
    return [Marker(float(f), " = ".join(ls) + f" = {f}", view="fourier") for f, ls in sorted(names.items())]


# ---------------------------------------------------------------- page


@st.fragment  # moving f1, f2 or the signal reruns this section only
def _sweep_section(p: int, kf: list[int]) -> None:
    import numpy as np

    from lens.fourier import fold
    from ui import links
    from ui.scope_widget import show_scope

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

    data = _sweep(p, int(f1), int(f2), signal)
    steps = len(data["level"])
    half = int(np.argmin(np.abs(data["clipped"] - p / 2)))  # the step that clips half the samples
    markers = _markers_for(p, int(f1), int(f2), signal)

    def caption(ix: dict[str, int]) -> str:
        t = ix["threshold"]
        return (
            f"cut at {data['level'][t]:+.2f}: {data['clipped'][t]} of {p} samples clipped to 0, "
            f"{data['new_share'][t]:.0%} of the energy at new frequencies"
        )

    # Each line has its mean removed: the constant would otherwise dwarf every other stem
    # (the scope's y range is global), and it is not a frequency the demo is about.
    show_scope(
        {
            "after the ReLU": data["after"] - data["after"].mean(axis=-1, keepdims=True),
            "input": np.broadcast_to(data["input"], data["after"].shape),
        },
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
    shares = data["shares"][half]
    new = [f for f in np.argsort(-shares) if f > 0 and f not in data["inputs"]][:5]
    inputs = ", ".join(str(f) for f in data["inputs"])
    top = ", ".join(f"**{f}** ({shares[f]:.1%})" for f in new if shares[f] > 0.001)
    s, d = int(fold(f1 + f2, p)), int(fold(abs(f1 - f2), p))
    st.markdown(
        f"In numbers: the input holds frequenc{'y' if len(data['inputs']) == 1 else 'ies'} {inputs} "
        "and nothing else. At the threshold "
        f"that clips {data['clipped'][half]} of the {p} samples (step {half} of {steps}), "
        f"**{data['new_share'][half]:.0%}** of the clipped signal's energy (the constant left "
        f"out) has moved to frequencies that were not in the input; the strongest are {top}. "
        f"With f₁ = {f1} and f₂ = {f2}, the sum and difference are {f1 + f2}"
        + (f" (folded to {s})" if s != f1 + f2 else "")
        + f" and {d}; the harmonics 2f₁ and 3f₁ are {2 * f1}"
        + (f" (→ {int(fold(2 * f1, p))})" if fold(2 * f1, p) != 2 * f1 else "")
        + f" and {3 * f1}"
        + (f" (→ {int(fold(3 * f1, p))})" if fold(3 * f1, p) != 3 * f1 else "")
        + "."
    )


ABLATIONS = {
    "regular": "regular",
    "without_sum_difference": "without sum/difference frequencies",
    "only_key_frequencies": "only key frequencies",
}


@st.cache_data(max_entries=4, show_spinner=False)
def _ablation_spec(source: str) -> dict:
    """The three ablations' losses per split, as grouped bars."""
    import altair as alt
    import pandas as pd

    from ui import data as state
    from ui.charts import spec
    from ui.theme import PALETTE

    abl = state.report(source)["ablations"]
    rows = ABLATIONS
    long = pd.DataFrame(
        [{"ablation": rows[r], "split": s, "loss": abl[r][s]} for r in rows for s in ("all", "train", "test")]
    )
    chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y(
                "ablation:N",
                sort=list(rows.values()),
                title=None,
                axis=alt.Axis(labelLimit=360),
            ),
            yOffset=alt.YOffset("split:N", sort=["all", "train", "test"]),
            x=alt.X("loss:Q", title="cross-entropy loss (float64)", axis=alt.Axis(format=".1e")),
            color=alt.Color(
                "split:N",
                sort=["all", "train", "test"],
                scale=alt.Scale(range=PALETTE[:3]),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["ablation:N", "split:N", alt.Tooltip("loss:Q", format=".3e")],
        )
        .properties(height=300)
    )
    return spec(chart)


def _ablation_section(source: str, p: int, kf: list[int], abl: dict) -> None:
    import pandas as pd

    from lens.fourier import sum_and_difference_frequencies
    from ui import charts

    # The same sets lens.ablation.ablations removes (a key frequency is never removed).
    sum_diff = [f for f in sum_and_difference_frequencies(kf, p) if f not in kf]
    others = [f for f in range(1, p // 2 + 1) if f not in kf]
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
- **without sum/difference frequencies**: the {len(sum_diff)} frequencies f₁ + f₂ and
  |f₁ − f₂| (folded) over every pair of the key frequencies {", ".join(map(str, kf))}, a
  frequency paired with itself included, key frequencies themselves excepted, are removed:
  {", ".join(map(str, sum_diff)) or "none"};
- **only key frequencies**: all {len(others)} frequencies from 1 to {p // 2} except the key
  frequencies are removed (the constant stays).
"""
    )
    rows = ABLATIONS
    table = pd.DataFrame(
        {split: [f"{abl[r][split]:.3e}" for r in rows] for split in ("all", "train", "test")},
        index=list(rows.values()),
    )
    table.columns = ["loss, all pairs", "loss, train", "loss, test"]
    st.table(table)
    charts.show(_ablation_spec(source), key="relu.ablations")
    st.markdown(_ablation_prose(abl, len(sum_diff), len(others)))


def _change(before: float, after: float) -> str:
    """'from X to Y (Z times lower)' in scientific notation, or 'stays at X'."""
    if before == after:
        return f"stays at {before:.3e}"
    if before > 0 and after > 0:
        ratio = after / before
        how = f"{1 / ratio:.2f} times lower" if ratio < 1 else f"{ratio:.2f} times higher"
    else:
        how = "lower" if after < before else "higher"
    return f"from {before:.3e} to {after:.3e} ({how})"


def _ablation_prose(abl: dict, n_sum_diff: int, n_others: int) -> str:
    reg, nsd, only = abl["regular"], abl["without_sum_difference"], abl["only_key_frequencies"]
    text = (
        f"On the loaded model, removing the {n_sum_diff} sum/difference frequencies changes the "
        f"test loss {_change(reg['test'], nsd['test'])} and the train loss "
        f"{_change(reg['train'], nsd['train'])}. Keeping only the key frequencies (removing "
        f"{n_others}) changes the test loss {_change(reg['test'], only['test'])} and the train loss "
        f"{_change(reg['train'], only['train'])}. "
    )
    if nsd["test"] <= reg["test"] and only["test"] <= reg["test"]:
        text += (
            "Both edits leave the test loss lower or equal: on the pairs it never saw, the model "
            "does not need what the ReLU creates beyond the key frequencies; to the readout it is "
            "closer to noise than to signal."
        )
    elif nsd["test"] > reg["test"] and only["test"] > reg["test"]:
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

    run = state.current_run()
    rep = state.current_report()
    kf = [int(f) for f in rep["key_frequencies"]]
    st.markdown(
        f"The model on this page works modulo p = {run.p}; its key frequencies are "
        f"{', '.join(map(str, kf))}. The two frequencies start at "
        + ("its two lowest key frequencies" if len(kf) > 1 else "its key frequency")
        + "; pick any others."
    )
    _sweep_section(run.p, kf)
    _ablation_section(state.current_source(), run.p, kf, rep["ablations"])


show()
