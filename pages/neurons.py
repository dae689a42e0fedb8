"""Neurons: grouped by frequency, sorted by phase, summed into a wave in a + b.

Run by ``st.navigation`` as a script: number-free prose first, so it reaches the browser
before the model loads; then :func:`show` writes everything that quotes the model. Derived
arrays are ``st.cache_data`` functions keyed by the checkpoint's path string and plain ints
(never by an array). Nothing assumes p = 113, a neuron count or a frequency.

Browser budget: ``[neuron, a, b]`` and ``[d_model, a, b]`` data ship one play axis (113
slices of 113 points per line at p = 113); every other axis is a server slider.
"""

from __future__ import annotations

import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("Neurons: from two waves to one")
st.markdown(
    r"""
The MLP is one hidden layer of neurons between the attention output and the unembedding.
Each neuron reads the residual stream at the "=" position through its row of W_in, a filter
tuned to one frequency (see *Wave Transforms*), and the ReLU clips what it reads (see *ReLU*).
Before the MLP, the residual stream holds the two inputs as **separate** waves, one over a
and one over b. The unembedding needs a wave over the **answer** c = (a + b) mod p. This page
follows the neurons from their grouping by frequency, through their phases, to the sum that
turns two waves into one, and measures each step on the model.
"""
)

NEURON_PLAY_BUDGET = 50_000  # points the browser may receive per chart (ui/scope.py)


# ---------------------------------------------------------------- cached data


@st.cache_data(max_entries=4, show_spinner=False)
def _groups(source: str) -> dict:
    """The neuron table (one row per neuron) and the key frequencies."""
    from lens import analysis
    from ui import data as state

    run = state.run(source)
    kf = analysis.key_frequencies(run)
    return {"p": run.p, "key_freqs": kf, "table": analysis.neuron_table(run, kf)}


def _wrap(angle):
    import numpy as np

    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi


@st.cache_resource(max_entries=6, show_spinner=False)  # shared read-only arrays (state.read_only)
def _group(source: str, freq: int) -> dict:
    """The neurons of one frequency in phase order, their pre-activations and phases."""
    import numpy as np

    from lens import analysis
    from ui import data as state

    run = state.run(source)
    table = _groups(source)["table"]
    idx = table.loc[table["frequency"] == freq, "neuron"].to_numpy()
    pre_all = run.by_ab("pre")  # [neuron, a, b], a view: never written to
    phases, amps = analysis.neuron_phases(run, idx, freq, a=0)  # along b, at a = 0
    order = analysis.phase_order(phases)
    idx, phases, amps = idx[order], phases[order], amps[order]
    pre = pre_all[idx].astype(np.float32)
    # The phase along a (at b = 0), to compare with the phase along b.
    phase_a = np.angle(np.fft.fft(pre[:, :, 0].astype(np.float64), axis=-1)[:, freq])
    sorted_phases = np.sort(phases)
    gaps = np.diff(np.r_[sorted_phases, sorted_phases[0] + 2 * np.pi]) if len(idx) else np.zeros(0)
    w_out = run.weights["W_out"][idx].astype(np.float64)  # [neuron, d_model]
    return state.read_only(
        {
            "neurons": idx,
            "phases": phases,
            "amplitudes": amps,
            "pre": pre,
            "max_gap_deg": float(np.degrees(gaps.max())) if len(gaps) else 0.0,
            "a_b_phase_gap_deg": float(np.degrees(np.median(np.abs(_wrap(phase_a - phases)))))
            if len(idx)
            else 0.0,
            "strongest_direction": int(np.argmax(np.linalg.norm(w_out, axis=0))) if len(idx) else 0,
            "d_model": int(w_out.shape[1]),
        }
    )


def _running_lines(pre, weights) -> tuple[dict, dict]:
    """Three [neuron, a, b] lines for the running-sum scope, and the facts the prose quotes."""
    import numpy as np

    from lens import analysis
    from lens.token_dependence import token_dependence

    rs = analysis.running_sums(pre, weights)
    total_post, total_pre = rs["post_relu"][-1], rs["pre_relu"][-1]
    # One neuron is about 1/n of the sum: scale it so its peak matches the full sum's.
    peak = np.abs(total_post).max()
    one = np.abs(rs["post_relu_waves"]).max()
    scale = float(peak / one) if one > 0 else 1.0
    # Drawn in this order: the sum without ReLU last, on top (for ideal neurons it is a flat 0).
    lines = {
        "running sum, with ReLU": rs["post_relu"].astype(np.float32),
        f"this neuron (× {scale:.0f})": (rs["post_relu_waves"] * scale).astype(np.float32),
        "running sum, without ReLU": rs["pre_relu"].astype(np.float32),
    }
    facts = {
        # Where the last neuron fires most: at many a, a single clipped neuron is zero for
        # every b, and its curve would be a flat line at the opening position.
        "open_a": int(np.argmax((rs["post_relu_waves"][-1] ** 2).sum(axis=-1))),
        "post": token_dependence(total_post),
        "pre": token_dependence(total_pre),
        "pre_max": float(np.abs(total_pre).max()),
        "post_max": float(peak),
    }
    return lines, facts


@st.cache_resource(max_entries=6, show_spinner=False)  # shared read-only arrays (state.read_only)
def _mock_running(p: int, freq: int, n: int) -> tuple[dict, dict]:
    from lens import analysis
    from ui import data as state

    mock = analysis.mock_neurons(p, freq, n)
    lines, facts = _running_lines(mock, None)
    return state.read_only(({"mock": mock.astype("float32"), **lines}, facts))


@st.cache_resource(max_entries=6, show_spinner=False)  # shared read-only arrays (state.read_only)
def _real_running(source: str, freq: int, direction: int) -> tuple[dict, dict]:
    import numpy as np

    from lens.token_dependence import token_dependence
    from ui import data as state

    run = state.run(source)
    g = _group(source, freq)
    weights = run.weights["W_out"][g["neurons"], direction]
    lines, facts = _running_lines(g["pre"], weights)
    # For comparison: the same neurons summed with equal weights.
    facts["equal"] = token_dependence(np.maximum(g["pre"].astype(np.float64), 0).sum(axis=0))
    return state.read_only((lines, facts))


@st.cache_resource(max_entries=6, show_spinner=False)  # shared read-only arrays (state.read_only)
def _to_residual(source: str, freq: int) -> tuple:
    import numpy as np

    from lens import analysis
    from lens.token_dependence import token_dependence
    from ui import data as state

    run = state.run(source)
    out = analysis.neurons_to_residual(run, _group(source, freq)["neurons"])  # [d_model, a, b]
    centred = out - out.mean(axis=(-2, -1), keepdims=True)
    strongest = int(np.argmax((centred**2).sum(axis=(-2, -1))))
    return state.read_only((out.astype(np.float32), token_dependence(out), strongest))


@st.cache_resource(max_entries=6, show_spinner=False)  # shared read-only arrays (state.read_only)
def _pulled(source: str, freq: int) -> tuple:
    """resid_post and resid_mid with only ``freq`` (and the constant) kept along a and b."""
    import numpy as np

    from lens import analysis
    from lens.token_dependence import token_dependence
    from ui import data as state

    run = state.run(source)
    lines, facts = {}, {}
    for name in ("resid_post", "resid_mid"):
        x = run.by_ab(name).astype(np.float64)  # [d_model, a, b]
        kept = analysis.pull_out_frequency(x, freq)
        var = lambda y: float(((y - y.mean(axis=(-2, -1), keepdims=True)) ** 2).sum())  # noqa: E731
        lines[name] = kept.astype(np.float32)
        facts[name] = {"parts": token_dependence(kept), "share": var(kept) / var(x) if var(x) > 0 else 0.0}
    centred = lines["resid_post"] - lines["resid_post"].mean(axis=(-2, -1), keepdims=True)
    facts["strongest"] = int(np.argmax((centred**2).sum(axis=(-2, -1))))
    return state.read_only((lines, facts))


# ---------------------------------------------------------------- sections


def _pct(x: float) -> str:
    """A share as a percentage, with a decimal near 0 and 100 % where rounding would hide it."""
    return f"{x:.0%}" if 0.02 <= x <= 0.98 else f"{x:.1%}"


def _firing(dead: int, p: int) -> str:
    """The sentence on neurons that never fire, natural for any count."""
    if dead == 0:
        return f"Every neuron fires on at least one of the {p}² inputs."
    if dead == 1:
        return f"One neuron never fires on any of the {p}² inputs."
    return f"{dead} neurons never fire on any of the {p}² inputs."


def _per_group(g: dict):
    """One row per key frequency: neurons, mean share, weak neurons, mean activity."""
    table, kf = g["table"], g["key_freqs"]
    return (
        table.groupby("frequency")
        .agg(
            neurons=("neuron", "size"),
            share=("share", "mean"),
            weak=("share", lambda s: int((s < 0.5).sum())),
            active=("active_fraction", "mean"),
        )
        .reindex(kf, fill_value=0)
        .reset_index()
    )


@st.cache_data(max_entries=4, show_spinner=False)
def _groups_spec(source: str) -> dict:
    """Neurons per key frequency, as bars with their counts on top."""
    import altair as alt

    from ui.charts import spec
    from ui.theme import PALETTE

    per = _per_group(_groups(source))
    top = float(per["neurons"].max()) if len(per) else 1.0
    chart = (
        alt.Chart(per)
        .mark_bar(color=PALETTE[0])
        .encode(
            x=alt.X("frequency:O", title="dominant key frequency", axis=alt.Axis(labelAngle=0)),
            # Headroom for the count written above the tallest bar.
            y=alt.Y("neurons:Q", title="neurons", scale=alt.Scale(domain=[0, top * 1.18], nice=False)),
            tooltip=["frequency:O", "neurons:Q", alt.Tooltip("share:Q", format=".1%", title="mean share")],
        )
        .properties(height=280)
    )
    labels = chart.mark_text(dy=-10, fontSize=15).encode(text="neurons:Q")
    return spec(chart + labels)


def _groups_section(source: str, g: dict) -> None:
    import pandas as pd

    from ui import charts

    table, kf = g["table"], g["key_freqs"]
    n = len(table)
    per = _per_group(g)
    biggest = per.loc[per["neurons"].idxmax()]
    smallest = per.loc[per["neurons"].idxmin()]
    weak = int((table["share"] < 0.5).sum())
    dead = int((~table["ever_active"]).sum())
    st.header("Neurons come in frequency groups")
    st.markdown(
        f"""
Give each of the {n} neurons the key frequency with the most energy in its pre-activation
(the wave over b, energy summed over every a). The key frequencies are
{", ".join(map(str, kf))}. The largest group, frequency {int(biggest["frequency"])}, has
{int(biggest["neurons"])} neurons; the smallest, frequency {int(smallest["frequency"])}, has
{int(smallest["neurons"])}. This rule gives every neuron *some* key frequency, so the table
also says how clean the assignment is: on average **{table["share"].mean():.0%}** of a neuron's
energy (the constant left out) sits at its own frequency, and {weak} of the {n} neurons have
less than half of it there. {_firing(dead, g["p"])}
"""
    )
    left, right = st.columns([2, 3])
    with left:
        charts.show(_groups_spec(source), key="neurons.groups")
    shown = pd.DataFrame(
        {
            "frequency": per["frequency"].astype(int),
            "neurons": per["neurons"].astype(int),
            "% of all": (100 * per["neurons"] / n).map("{:.1f}".format),
            "mean share": (100 * per["share"]).map("{:.1f} %".format),
            "share < 50 %": per["weak"].astype(int),
            "active": (100 * per["active"]).map("{:.0f} %".format),
        }
    )
    right.dataframe(shown, hide_index=True, width="stretch")
    right.caption(
        "mean share: the part of a neuron's energy at its own frequency, averaged over the group; "
        "share < 50 %: neurons below one half; active: the average fraction of inputs on which a "
        "neuron of the group fires."
    )


def _phase_section(source: str, p: int, freq: int, grp: dict) -> None:
    n = len(grp["neurons"])
    st.header(f"Frequency {freq}, sorted by phase")
    st.markdown(
        rf"""
A neuron of frequency f = {freq} responds roughly like $\cos(\omega a + \varphi) + \cos(\omega b + \varphi)$,
with $\omega = 2\pi f / p$: one wave along a plus the same wave along b, shifted by a phase
$\varphi$ of its own. {n} neurons have frequency {freq}. Their phases, read off the wave over b
at a = 0, cover the whole circle: sorted, the widest gap between neighbours is
**{grp["max_gap_deg"]:.0f}°** (evenly spaced, it would be {360 / max(n, 1):.1f}°). Along a the
phase matches the one along b to within {grp["a_b_phase_gap_deg"]:.1f}° (median over the group).

Below, the neurons are in phase order. Press **play** to run through them: the wave over b
slides along as the phase turns. Move a to watch the whole pattern shift.
"""
    )
    if n == 0:
        st.info(f"No neuron has frequency {freq} as its dominant key frequency.")
        return
    # The prose above depends on the arguments alone, so it stays outside the fragment: a
    # widget change does not send it again. Every section below is split the same way.
    _phase_scope(p, freq, grp)


@st.fragment  # its sliders rerun this scope only, not the whole page
def _phase_scope(p: int, freq: int, grp: dict) -> None:
    from ui.scope_widget import show_scope

    n = len(grp["neurons"])
    play = "neuron" if n * p <= NEURON_PLAY_BUDGET - 8 else "a"
    phases = grp["phases"]
    neurons = grp["neurons"]
    show_scope(
        grp["pre"],
        ("neuron", "a", "b"),
        key=f"neurons.sorted.f{freq}",
        play=play,
        caption=lambda ix: f"neuron #{neurons[ix['neuron']]}, phase {phases[ix['neuron']]:+.2f} rad",
        title=f"Pre-activations of the frequency-{freq} neurons, in phase order",
        y_title="pre-activation",
    )


def _heatmap_section(freq: int, grp: dict) -> None:
    st.markdown("One neuron over the whole (a, b) grid: the stripes are the two waves adding up.")
    _heatmap_scope(freq, grp)


@st.fragment  # its neuron slider reruns this heat map only (p² cells: not re-sent for the scope above)
def _heatmap_scope(freq: int, grp: dict) -> None:
    from ui.scope_widget import show_scope

    phases, neurons = grp["phases"], grp["neurons"]
    show_scope(
        grp["pre"],
        ("neuron", "a", "b"),
        key=f"neurons.heatmap.f{freq}",
        heatmap=True,
        view="heatmap",
        caption=lambda ix: f"neuron #{neurons[ix['neuron']]}, phase {phases[ix['neuron']]:+.2f} rad",
        title=f"One frequency-{freq} neuron's pre-activation over (a, b)",
        y_title="pre-activation",
        height=440,
    )


def _mock_section(p: int, freq: int, n: int) -> None:
    st.header("An idealised group")
    st.markdown(
        rf"""
Replace the {n} real neurons of frequency {freq} with ideal ones: unit waves
$\cos(\varphi_k - \omega a) + \cos(\varphi_k + \omega b)$ with the {n} phases $\varphi_k$ evenly
spaced around the circle. This is the seed notebook's toy, and it differs from the real neurons
in one sign: the phase enters along a with the opposite sign. That sign lets equal weights do,
below, what the real neurons do with their output weights.
"""
    )
    _mock_scope(p, freq, n)


@st.fragment  # its sliders rerun this scope only, not the whole page
def _mock_scope(p: int, freq: int, n: int) -> None:
    from ui.scope_widget import show_scope

    lines, _ = _mock_running(p, freq, n)
    show_scope(
        lines["mock"],
        ("neuron", "a", "b"),
        key=f"neurons.mock.f{freq}",
        play="neuron" if n * p <= NEURON_PLAY_BUDGET - 8 else "a",
        title=f"{n} ideal neurons of frequency {freq}",
        y_title="pre-activation",
    )


def _running_section(source: str, p: int, freq: int, grp: dict) -> None:
    n = len(grp["neurons"])
    st.header("Adding neurons up: the ReLU lets an a + b wave travel")
    _, facts = _mock_running(p, freq, n)
    st.markdown(
        f"""
Add the neurons up one at a time, in phase order. Without the ReLU, every ideal neuron is a
wave in a plus a wave in b, so any total is too; with evenly spaced phases the {n} of them
cancel completely (the largest value of the full sum is {facts["pre_max"]:.1e}). With the
ReLU, the clipped waves no longer cancel, and the total depends on a + b alone:
**{_pct(facts["post"]["a + b"])}** of its energy (the constant left out) is a function of
(a + b) mod p. Scrub a: the wave slides along b the other way, its peak staying where a + b is
the same, so a single readout direction can find c from any pair.

The neuron slider (on the server) picks how many neurons are summed; it starts at the last
one, so the curves are the full sums. The third curve is that last neuron alone, after the
ReLU, scaled up to the sum's size. At many values of a, one clipped neuron is zero for every
b; the chart opens at a = {facts["open_a"]}, where this one fires most.
"""
    )
    _running_scopes(source, p, freq, grp)


@st.fragment  # its sliders and d rerun these two scopes only, not the whole page
def _running_scopes(source: str, p: int, freq: int, grp: dict) -> None:
    from ui.scope_widget import show_scope

    n = len(grp["neurons"])
    lines, facts = _mock_running(p, freq, n)
    show_scope(
        {k: v for k, v in lines.items() if k != "mock"},
        ("neuron", "a", "b"),
        key=f"neurons.mock_sums.f{freq}",
        play="a",
        start={"neuron": n - 1, "a": facts["open_a"]},
        title=f"Running sums over {n} ideal neurons of frequency {freq}",
        y_title="sum",
        height=360,
    )

    d_model = grp["d_model"]
    d0 = grp["strongest_direction"]
    st.markdown(
        f"""
**The real neurons.** Their outputs reach the residual stream through W_out, so here each
neuron's wave is multiplied by its output weight W_out[neuron, d] for one residual direction d
before the sum. Pick d; it starts at d = {d0}, the direction these {n} neurons write to most
strongly.
"""
    )
    d = st.slider(
        "residual direction d (the W_out column weighting each neuron)",
        0,
        d_model - 1,
        d0,
        key=f"neurons.direction.f{freq}",
    )
    real, rf = _real_running(source, freq, int(d))
    st.markdown(
        f"""
With d = {d}: without the ReLU, **{_pct(rf["pre"]["a + b"])}** of the weighted sum's energy is a
function of a + b ({_pct(rf["pre"]["a"] + rf["pre"]["b"])} depends on a alone or b alone);
with the ReLU, **{_pct(rf["post"]["a + b"])}**. The weights matter: summed with equal weights,
the same clipped neurons give a total that is {_pct(rf["equal"]["a + b"])} a function of a + b
and {_pct(rf["equal"]["a - b"])} of a − b. The chart opens at a = {rf["open_a"]}, where the
last neuron's weighted, clipped wave is strongest.
"""
    )
    show_scope(
        real,
        ("neuron", "a", "b"),
        key=f"neurons.real_sums.f{freq}",
        play="a",
        start={"neuron": n - 1, "a": rf["open_a"]},
        title=f"Running sums over the {n} real neurons of frequency {freq}, weighted by W_out[·, {d}]",
        y_title="sum",
        height=360,
    )


def _residual_section(source: str, freq: int, n: int) -> None:
    out, parts, strongest = _to_residual(source, freq)
    st.header("Back into the residual stream")
    st.markdown(
        f"""
All {n} neurons of frequency {freq}, clipped and mapped through W_out (plus b_out), give
what this group adds to the residual stream: one wave over (a, b) per residual direction.
Summed over the {out.shape[0]} directions, **{_pct(parts["a + b"])}** of its energy (the
constant left out) is a function of a + b alone; {_pct(parts["a"] + parts["b"])} depends on a or
b alone. The chart opens on d_model = {strongest}, the direction it writes most strongly.
"""
    )
    _residual_scope(source, freq)


@st.fragment  # its sliders rerun this scope only, not the whole page
def _residual_scope(source: str, freq: int) -> None:
    from ui.scope_widget import show_scope

    out, _, strongest = _to_residual(source, freq)
    show_scope(
        out,
        ("d_model", "a", "b"),
        key=f"neurons.to_resid.f{freq}",
        play="a",
        start={"d_model": strongest},
        title=f"Frequency-{freq} neurons mapped to the residual stream",
        y_title="MLP output",
    )


def _pulled_section(source: str, freq: int) -> None:
    lines, facts = _pulled(source, freq)
    post, mid = facts["resid_post"], facts["resid_mid"]
    st.header(f"Frequency {freq} before and after the MLP")
    text = f"""
Finally, the whole residual stream, with only frequency {freq} (and the constant) kept along
both a and b: `resid_mid` before the MLP, `resid_post` after it. That frequency holds
{_pct(mid["share"])} of `resid_mid`'s energy and {_pct(post["share"])} of `resid_post`'s (the
constant over (a, b) left out). Before the MLP, {_pct(mid["parts"]["a"] + mid["parts"]["b"])} of
it depends on a alone or b alone and {_pct(mid["parts"]["a + b"])} on a + b. After the MLP,
**{_pct(post["parts"]["a + b"])}** depends on a + b alone."""
    if post["parts"]["a + b"] > 0.5:  # only say what the numbers above support
        text += (
            " As you play a, the `resid_post` wave travels along b in the opposite direction: it is"
            " a wave over the answer c, which the unembedding can read directly."
        )
    if mid["parts"]["a"] + mid["parts"]["b"] > 0.9:
        text += " The `resid_mid` wave keeps its shape and only moves up and down (its part in a)."
    st.markdown(text)
    _pulled_scope(source, freq)


@st.fragment  # its sliders rerun this scope only, not the whole page
def _pulled_scope(source: str, freq: int) -> None:
    from ui.scope_widget import show_scope

    lines, facts = _pulled(source, freq)
    show_scope(
        lines,
        ("d_model", "a", "b"),
        key=f"neurons.pulled.f{freq}",
        play="a",
        start={"d_model": facts["strongest"]},
        title=f"resid_post and resid_mid with only frequency {freq} kept",
        y_title="residual",
    )


def show() -> None:
    from ui import data as state
    from ui import links

    state.current_run()  # surfaces a refused checkpoint or a missing default
    source = state.current_source()
    g = _groups(source)
    p, kf = g["p"], g["key_freqs"]
    _groups_section(source, g)

    st.divider()
    counts = g["table"]["frequency"].value_counts().to_dict()
    groups = [f for f in kf if counts.get(f, 0) > 0]  # a key frequency may have no neuron
    st.markdown(
        "The rest of the page follows one group. It starts at the lowest key frequency that has "
        "neurons, whose waves have the fewest wiggles to follow by eye; pick another."
    )
    freq0 = groups[0] if groups else None
    opening = links.choice_param("freq", groups, freq0)
    freq = st.selectbox(
        "key frequency",
        groups,
        index=groups.index(opening) if groups else 0,
        format_func=lambda f: f"{f}  ({counts[f]} neuron{'s' if counts[f] != 1 else ''})",
        key="neurons.freq",
    )
    links.keep("freq", freq, freq0)
    grp = _group(source, int(freq))
    n = len(grp["neurons"])
    _phase_section(source, p, int(freq), grp)
    if n == 0:
        return
    _heatmap_section(int(freq), grp)
    _mock_section(p, int(freq), n)
    _running_section(source, p, int(freq), grp)
    _residual_section(source, int(freq), n)
    _pulled_section(source, int(freq))


show()
