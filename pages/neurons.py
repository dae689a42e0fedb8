"""Neurons: grouped by frequency, sorted by phase, summed into a wave in a + b.

Run by ``st.navigation`` as a script: number-free prose first, so it reaches the browser
before the model loads; then :func:`show` writes everything that quotes the model. Every
number comes from :mod:`lens.story.neurons`: :func:`~lens.story.neurons.facts` for the
groups, :func:`~lens.story.neurons.group` for the one group the page follows (its facts and
the arrays its scopes draw, computed together once per checkpoint and frequency, shared
read-only), and the figures from :mod:`ui.figures.neurons`. Nothing assumes p = 113, a
neuron count or a frequency.

Browser budget: ``[member, a, b]`` and ``[residual dimension, a, b]`` data ship one play axis (113
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
Each neuron reads the residual stream at the "=" position through its column of $W_{in}$, a
filter (see *Wave Transforms*), and the ReLU clips what it reads (see *ReLU*). Nanda et al.
(2023) found that in their model almost every one of these filters is tuned to a single key
frequency, and He et al. (2026) that the neurons of one frequency tie their output phase to
their input phase; this page measures both on the loaded model.
Before the MLP, the residual stream holds the two inputs as **separate** waves, one over a
and one over b. The unembedding needs a wave over the **answer** $c = (a + b) \bmod p$. This page
follows the neurons from their grouping by frequency, through their phases, to the sum that
turns two waves into one, and measures each step on the model.
"""
)

NEURON_PLAY_BUDGET = 50_000  # points the browser may receive per chart (ui/scope.py)


def _play(n: int, p: int) -> str:
    """Play the neurons in the browser when all n slices of p points fit, else a."""
    return "member" if n * p <= NEURON_PLAY_BUDGET - 8 else "a"


def _firing(dead: int, p: int) -> str:
    """The sentence on neurons that never fire, natural for any count."""
    if dead == 0:
        return f"Every neuron fires on at least one of the {p}² inputs."
    if dead == 1:
        return f"One neuron never fires on any of the {p}² inputs."
    return f"{dead} neurons never fire on any of the {p}² inputs."


# ---------------------------------------------------------------- sections


def _groups_section(source: str, f) -> None:
    from ui import charts, claims
    from ui import data as state
    from ui.figures import neurons as fig
    from ui.theme import listing, pct

    st.header("Grouping the neurons by frequency")
    st.markdown(
        f"""
Give each of the {f.n_neurons} neurons the key frequency with the most energy in its pre-activation
(the wave over b, energy summed over every a). The key frequencies are
{listing(f.key_frequencies)}. The largest group, frequency {f.largest_group}, has
{f.neurons_of(f.largest_group)} neurons; the smallest, frequency {f.smallest_group}, has
{f.neurons_of(f.smallest_group)}. This rule gives every neuron *some* key frequency, so the table
also says how clean the assignment is: on average **{pct(f.mean_share_all)}** of a neuron's
energy (the constant left out) sits at its own frequency, and {f.weak} of the {f.n_neurons} neurons have
less than half of it there. {_firing(f.dead, f.p)}
"""
    )
    left, right = st.columns([2, 3])
    with left:
        bars = (
            tuple(f.key_frequencies),
            tuple(map(int, f.neurons_per_frequency)),
            tuple(map(float, f.mean_share)),
        )
        charts.show(state.of_args(fig.groups_spec, *bars), key="neurons.groups")
    right.dataframe(fig.groups_table(f), hide_index=True, width="stretch")
    right.caption(
        "mean share: the part of a neuron's energy at its own frequency, averaged over the group; "
        "share < 50%: neurons below one half; active: the average fraction of inputs on which a "
        "neuron of the group fires."
    )
    # After the chart and table it talks about: the claim is measured on first use.
    one = claims.say(source, "neurons-one-frequency")
    if not one.holds:
        st.markdown(
            "So the groups below are partly an artefact of the rule: a neuron that mixes frequencies "
            "still joins the group of its strongest key frequency."
        )


def _phase_section(source: str, p: int, grp) -> None:
    g = grp.facts
    freq, n = g.freq, g.n
    st.header(f"Frequency {freq}, sorted by phase")
    st.markdown(
        rf"""
A neuron of frequency f = {freq} responds roughly like $\cos(\omega a + \varphi) + \cos(\omega b + \varphi)$,
with $\omega = 2\pi f / p$: one wave along a plus the same wave along b, shifted by a phase
$\varphi$ of its own. {n} neurons have frequency {freq}. Their phases, read off the wave over b
at a = 0, cover the whole circle: sorted, the widest gap between neighbours is
**{g.max_gap_deg:.0f}°** (evenly spaced, it would be {360 / max(n, 1):.1f}°). Along a the
phase matches the one along b to within {g.a_b_phase_gap_deg:.1f}° (median over the group).

Below, the neurons are in phase order. Press **play** to run through them: the wave over b
slides along as the phase turns. Move a to watch the whole pattern shift.
"""
    )
    if n == 0:
        st.info(f"No neuron has frequency {freq} as its dominant key frequency.")
        return
    # The prose above depends on the arguments alone, so it stays outside the fragment: a
    # widget change does not send it again. Every section below is split the same way.
    _phase_scope(p, grp)
    _alignment(source, g)


def _alignment(source: str, g) -> None:
    """He et al. 2026's phase alignment: its derivation, its verdict, and this group's figure."""
    from ui import claims
    from ui.theme import num

    st.markdown(
        r"""
**Input phase and output phase.** The phase $\varphi$ says where a neuron's input wave peaks. Its
output, read through $W_{out}$ and the unembedding as a wave over the answer c, has a phase $\psi$ of
its own. He et al. (2026) explain why the two should be tied. The ReLU's second-order term multiplies
the a-wave by the b-wave (intermodulation), and
$\cos(\omega a + \varphi)\cos(\omega b + \varphi)$ contains
$\tfrac12\cos(\omega(a + b) + 2\varphi)$; read out by $\cos(\omega c + \psi)$, that term
gives $\tfrac14\cos(\omega(a + b - c) + 2\varphi - \psi)$, which peaks at the right answer
c = (a + b) mod p only when $\psi = 2\varphi$. If every neuron of a group has $\psi - 2\varphi = 0$, their
products add up in the logits; if the offsets are spread around the circle, they cancel. The
**mean resultant length** says which: the length of the average of $e^{i(\psi - 2\varphi)}$ over
the group, each neuron weighted by the size of its product term ($\alpha^2\beta$, input amplitude
squared times output amplitude): 1 when all are aligned, small when the offsets are random.
Here $\varphi$ is read from the neuron's wave over a (averaged over b).
"""
    )
    result = claims.say(source, "phase-alignment")
    group = result.details.get("groups", {}).get(str(g.freq))
    if group is not None:
        st.markdown(
            f"For the frequency-{g.freq} group shown above the length is "
            f"**{num(group['length'], '.3f')}** over its {group['neurons']} neurons."
        )
    if result.holds:
        st.markdown(
            "So whatever their phases, the neurons of a group write their products into the logits "
            "with the same offset, and those products add up at the right answer."
        )
    else:
        st.markdown(
            "So the products of a group's neurons reach the logits with different offsets and partly "
            "cancel instead of adding up at the right answer."
        )


@st.fragment  # its sliders rerun this scope only, not the whole page
def _phase_scope(p: int, grp) -> None:
    from ui.figures import neurons as fig
    from ui.scope_widget import show_scope

    g = grp.facts
    show_scope(
        grp.pre,
        ("member", "a", "b"),
        key=f"neurons.sorted.f{g.freq}",
        link="sorted",
        play=_play(g.n, p),
        caption=fig.neuron_caption(g),
        title=f"Pre-activations of the frequency-{g.freq} neurons, in phase order",
        y_title="pre-activation",
    )


def _heatmap_section(grp) -> None:
    st.markdown("One neuron over the whole (a, b) grid: the stripes are the two waves adding up.")
    _heatmap_scope(grp)


@st.fragment  # its neuron slider reruns this heat map only (p² cells: not re-sent for the scope above)
def _heatmap_scope(grp) -> None:
    from ui.figures import neurons as fig
    from ui.scope_widget import show_scope

    g = grp.facts
    show_scope(
        grp.pre,
        ("member", "a", "b"),
        key=f"neurons.heatmap.f{g.freq}",
        link="heatmap",
        heatmap=True,
        view="heatmap",
        caption=fig.neuron_caption(g),
        title=f"One frequency-{g.freq} neuron's pre-activation over (a, b)",
        y_title="pre-activation",
        height=380,  # with its slider on one projector screen (1280 x 720)
    )


def _mock_section(p: int, grp) -> None:
    freq, n = grp.facts.freq, grp.facts.n
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
    _mock_scope(p, grp)


@st.fragment  # its sliders rerun this scope only, not the whole page
def _mock_scope(p: int, grp) -> None:
    from ui.scope_widget import show_scope

    freq, n = grp.facts.freq, grp.facts.n
    show_scope(
        grp.ideal,
        ("member", "a", "b"),
        key=f"neurons.mock.f{freq}",
        link="mock",
        play=_play(n, p),
        title=f"{n} ideal neurons of frequency {freq}",
        y_title="pre-activation",
    )


def _running_section(grp) -> None:
    from ui.theme import num, pct

    g = grp.facts
    st.header("Adding neurons up: the ReLU lets an a + b wave travel")
    st.markdown(
        f"""
Add the neurons up one at a time, in phase order. Without the ReLU, every ideal neuron is a
wave in a plus a wave in b, so any total is too; with evenly spaced phases the {g.n} of them
cancel completely (the largest value of the full sum is {num(g.ideal_pre_max, ".1e")}). With the
ReLU, the clipped waves no longer cancel, and the total depends on a + b alone:
**{pct(g.ideal_post["a + b"], 1)}** of its energy (the constant left out) is a function of
(a + b) mod p. Scrub a: the wave slides along b the other way, its peak staying where a + b is
the same, so a single readout direction can find c from any pair.

The member slider picks how many of the group's neurons are summed; it starts at the last
one, so the curves are the full sums. The third curve is that last neuron alone, after the
ReLU, scaled up to the sum's size. At many values of a, one clipped neuron is zero for every
b; the chart opens at a = {g.ideal_open_a}, where this one fires most.
"""
    )
    _ideal_sums_scope(grp)
    _real_sums_scope(grp)


@st.fragment  # its member slider reruns this scope only
def _ideal_sums_scope(grp) -> None:
    from ui.figures import neurons as fig
    from ui.scope_widget import show_scope

    g = grp.facts
    freq, n = g.freq, g.n
    show_scope(
        fig.running_lines(grp.ideal_sums),
        ("member", "a", "b"),
        key=f"neurons.mock_sums.f{freq}",
        link="mock_sums",
        play="a",
        start={"member": n - 1, "a": g.ideal_open_a},
        title=f"Running sums over {n} ideal neurons of frequency {freq}",
        y_title="sum",
        height=300,  # with its slider on one projector screen (1280 x 720)
    )


@st.fragment  # d and its member slider rerun this scope only (not the ideal sums above)
def _real_sums_scope(grp) -> None:
    from ui import links
    from ui.figures import neurons as fig
    from ui.scope_widget import show_scope
    from ui.theme import pct

    g = grp.facts
    freq, n = g.freq, g.n
    d0 = g.strongest_direction
    st.markdown(
        f"""
**The real neurons.** Their outputs reach the residual stream through $W_{{out}}$, so here each
neuron n's wave is multiplied by its output weight $W_{{out}}[n, d]$ for one residual dimension d
before the sum. Pick d; it starts at d = {d0}, the direction these {n} neurons write to most
strongly.
"""
    )
    d_key = f"neurons.direction.f{freq}"
    d_open = links.int_param("d", 0, g.d_model - 1, d0, key=d_key)
    d = int(
        st.slider(
            "residual dimension d (the W_out column weighting each neuron)",
            0,
            g.d_model - 1,
            d_open,
            key=d_key,
        )
    )
    links.keep("d", d, d0, key=d_key)
    # Computed a slice at a time over the group's own pre-activations (lens.stacks): a sweep
    # of d adds no [neuron, a, b] array to what the process holds.
    real = grp.weighted(d)
    pre, post, equal = g.weighted_pre, g.weighted_post, g.equal
    open_a = int(g.weighted_open_a[d])
    st.markdown(
        f"""
With d = {d}: without the ReLU, **{pct(pre["a + b"][d])}** of the weighted sum's energy is a
function of a + b ({pct(pre["a"][d] + pre["b"][d])} depends on a alone or b alone);
with the ReLU, **{pct(post["a + b"][d])}**. The weights matter: summed with equal weights,
the same clipped neurons give a total that is {pct(equal["a + b"])} a function of a + b
and {pct(equal["a - b"])} of a − b. The chart opens at a = {open_a}, where the
last neuron's weighted, clipped wave is strongest.
"""
    )
    show_scope(
        fig.running_lines(real),
        ("member", "a", "b"),
        key=f"neurons.real_sums.f{freq}",
        link="real_sums",
        play="a",
        start={"member": n - 1, "a": open_a},
        title=f"Running sums over the {n} real neurons of frequency {freq}, weighted by W_out[·, {d}]",
        y_title="sum",
        height=300,  # with its slider on one projector screen (1280 x 720)
    )


def _residual_section(grp) -> None:
    from ui.theme import pct

    g = grp.facts
    parts = g.residual
    st.header("Back into the residual stream")
    st.markdown(
        f"""
All {g.n} neurons of frequency {g.freq}, clipped and mapped through $W_{{out}}$ (plus $b_{{out}}$), give
what this group adds to the residual stream: one wave over (a, b) per residual dimension.
Summed over the {g.d_model} directions, **{pct(parts["a + b"])}** of its energy (the
constant left out) is a function of a + b alone; {pct(parts["a"] + parts["b"])} depends on a or
b alone. The chart opens on residual dimension {g.residual_strongest}, the one it writes to most strongly.
"""
    )
    _residual_scope(grp)


@st.fragment  # its sliders rerun this scope only, not the whole page
def _residual_scope(grp) -> None:
    from ui.scope_widget import show_scope

    g = grp.facts
    show_scope(
        grp.residual,
        ("residual dimension", "a", "b"),
        key=f"neurons.to_resid.f{g.freq}",
        link="to_resid",  # one name whichever group
        play="a",
        start={"residual dimension": g.residual_strongest},
        title=f"Frequency-{g.freq} neurons mapped to the residual stream",
        y_title="MLP output",
    )


def _pulled_section(grp) -> None:
    from ui.theme import pct

    g = grp.facts
    post, mid = g.post_parts, g.mid_parts
    st.header(f"Frequency {g.freq} before and after the MLP")
    text = f"""
Finally, the whole residual stream, with only frequency {g.freq} (and the constant) kept along
both a and b: `resid_mid` before the MLP, `resid_post` after it. That frequency holds
{pct(g.mid_share)} of `resid_mid`'s energy and {pct(g.post_share)} of `resid_post`'s (the
constant over (a, b) left out). Before the MLP, {pct(mid["a"] + mid["b"])} of
it depends on a alone or b alone and {pct(mid["a + b"])} on a + b. After the MLP,
**{pct(post["a + b"])}** depends on a + b alone."""
    if post["a + b"] > 0.5:  # only say what the numbers above support
        text += (
            " As you play a, the `resid_post` wave travels along b in the opposite direction: it is"
            " a wave over the answer c, which the unembedding can read directly."
        )
    if mid["a"] + mid["b"] > 0.9:
        text += " The `resid_mid` wave keeps its shape and only moves up and down (its part in a)."
    st.markdown(text)
    _pulled_scope(grp)


@st.fragment  # its sliders rerun this scope only, not the whole page
def _pulled_scope(grp) -> None:
    from ui.scope_widget import show_scope

    g = grp.facts
    show_scope(
        grp.pulled,
        ("residual dimension", "a", "b"),
        key=f"neurons.pulled.f{g.freq}",
        link="pulled",
        play="a",
        start={"residual dimension": g.pulled_strongest},
        title=f"resid_post and resid_mid with only frequency {g.freq} kept",
        y_title="residual",
    )


def show() -> None:
    from lens.story import neurons as story
    from ui import data as state
    from ui import links

    state.current_run()  # surfaces a refused checkpoint or a missing default
    source = state.current_source()
    f = state.facts("neurons", source)  # lens.story.neurons.facts
    _groups_section(source, f)

    st.divider()
    groups = f.group_frequencies  # a key frequency may have no neuron
    st.markdown(
        "The rest of the page follows one group. It starts at the lowest key frequency that has "
        "neurons, whose waves have the fewest wiggles to follow by eye; pick another."
    )
    freq0 = groups[0] if groups else None
    why = "it is not a key frequency of this model with neurons"
    opening = links.choice_param("freq", groups, freq0, key="neurons.freq", why=why)
    freq = st.selectbox(
        "key frequency",
        groups,
        index=groups.index(opening) if groups else 0,
        format_func=lambda k: f"{k}  ({f.neurons_of(k)} neuron{'s' if f.neurons_of(k) != 1 else ''})",
        key="neurons.freq",
    )
    links.keep("freq", freq, freq0, key="neurons.freq")
    if freq is None:  # no key frequency has a neuron: nothing to follow
        return
    grp = state.shared_of_run(story.group, source, int(freq))
    # The other groups, computed while the reader reads this one: picking one is then quick.
    state.prefetch_of_run(story.group, source, [(int(k),) for k in groups if k != freq])
    _phase_section(source, f.p, grp)
    if grp.facts.n == 0:
        return
    _heatmap_section(grp)
    _mock_section(f.p, grp)
    _running_section(grp)
    _residual_section(grp)
    _pulled_section(grp)


show()
