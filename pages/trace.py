"""Trace one example: one input (a, b) followed through every hook to its logits.

Run by ``st.navigation`` as a script: number-free prose first, then :func:`show`, which picks
the pair (two number inputs, deep-linked as ``a`` and ``b``, or a click on the map of pairs)
and walks it through the stages. Every number comes from :func:`lens.trace.trace` (one
frozen :class:`lens.trace.TraceFacts` per pair, cached); the charts and the scopes' markers
are built in :mod:`ui.figures.trace`. Nothing assumes p = 113.

Each stage's scope draws the stage along the token axis: b held fixed, a running over
0..p-1 (the row of the map through the chosen pair), the chosen a marked. A vector over the
residual directions has no order, so its Fourier view would mean nothing; over a it shows
which frequencies the stage carries (see :mod:`lens.trace`).
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("Trace one example")
st.markdown(
    """
The other pages read the model over all p × p inputs at once. This one follows **a single
input**, the pair you pick, through every step the model takes: the two embeddings, the
attention weights at the `=` position, what attention writes into the residual stream, the
neurons before and after their ReLU, what the MLP writes, and finally the logit the model
gives every possible answer c.

Each step comes with a sentence that says what changed there, computed from the numbers for
your pair, and a scope. A residual vector's directions have no order, so a spectrum of one
vector would mean nothing; the scopes therefore hold b fixed and let a run over every
token, the row of the map through your pair, with your a marked. Their **Fourier** view then
shows which frequencies each step carries along a. The logits are a signal over c already,
so they get their own Fourier view, and a bar chart in the manner of He et al.'s (2026)
logit explorer: the right answer, the two *ghost* positions 2a and 2b, and the margin by
which the right answer beats the runner-up.
"""
)


@st.fragment  # the view toggle reruns this scope only
def _scope(data, axes, key: str, **kw) -> None:
    from ui.scope_widget import show_scope

    show_scope(data, axes, key=key, **kw)


def _residual_pair(t, along, names: tuple[str, str], stage: str, a: int, b: int, kf) -> None:
    """Two residual-stream stages at "=" in one residual direction, as functions of a (b
    fixed), opening on the direction where the later one is strongest."""
    from ui.figures import trace as fig

    _scope(
        fig.along_lines(along, names),
        ("residual dimension", "a"),
        key=f"trace.{stage}",
        play="residual dimension",
        start={"residual dimension": t.strongest[names[1]]},
        markers=fig.at_a(a, kf),
        title=f"{names[0]} and {names[1]} at = in one residual dimension, for b = {b}, as a function of a",
        y_title="value",
    )


def _pick(p: int, default_a: int, default_b: int) -> tuple[int, int]:
    """The pair: number inputs (deep-linked), which a click on the map sets first."""
    from ui import data as state
    from ui import pair
    from ui.figures import basics as basics_fig
    from ui.figures import trace as fig

    a, b = pair.inputs("trace", p, default_a, default_b)
    st.caption("Or click a cell of the map: each pair (a, b) coloured by its answer c = (a + b) mod p.")
    base = state.of_args(basics_fig.answer_grid_spec, p)
    # The image's cells, made for its CSV only.
    pair.show_map(fig.pick_map(base, p, a, b), "trace.map", "trace", p, partial(basics_fig.answer_cells, p))
    return a, b


@st.fragment  # the group select reruns this scope only, not the page
def _group_scope(t, source: str, a: int, b: int, nf) -> None:
    from lens import trace as lt
    from ui import data as state
    from ui import links
    from ui.figures import trace as fig

    why = "it is not a key frequency with neurons in this model"
    group0 = links.choice_param("group", t.groups, t.loudest_group, key="trace.group", why=why)
    freq = st.selectbox(
        "group (key frequency)",
        t.groups,
        index=t.groups.index(group0),
        key="trace.group",
    )
    links.keep("group", freq, t.loudest_group, key="trace.group")
    _scope(
        state.shared_of_run(lt.group_along_a, source, b, int(freq), nf),
        ("member", "a"),  # the group's neurons, ascending: the caption names each one
        key=f"trace.group.f{freq}",
        link="group",  # group.view, whichever group
        play="member",
        markers=fig.at_a(a, t.key_frequencies),
        caption=fig.neuron_caption(t, int(freq)),
        title=f"One frequency-{freq} neuron before and after its ReLU, for b = {b}, as a function of a",
        y_title="activation",
    )


def show() -> None:
    from lens import trace as lt
    from lens.story.basics import embedding_by_dim, task
    from ui import charts
    from ui import data as state
    from ui.figures import trace as fig
    from ui.theme import listing, num, pct

    source = state.checked_source()
    t0 = task(state.checkpoint(source))
    p = t0.p
    default_a, default_b = divmod(t0.first_test, p)

    st.header("Pick a pair")
    a, b = _pick(p, default_a, default_b)

    with st.spinner("Running the model…"):
        nf = state.of_run(lt.neuron_frequencies, source)
        t = state.of_run(lt.trace, source, a, b, nf)
    along = state.shared_of_run(lt.along_a, source, b)
    kf = t.key_frequencies
    right = "right" if t.pred == t.c else f"wrong: it answers {t.pred}"
    st.markdown(
        f"Tokens **`[{a}, {b}, =]`**, label **c = ({a} + {b}) mod {p} = {t.c}**, a **{t.split}** "
        f"pair. The model is **{right}**, with probability {num(t.prob_c, '.6f')} on c."
    )
    st.markdown(
        "The residual stream at each stage, one row per stage over its residual dimensions: "
        "the two embeddings, then what `=` holds before attention, what attention adds, and so on."
    )
    specs = state.of_run(fig.trace_specs, source, a, b, nf)  # the four charts, one trace
    charts.show(specs["stages"], key="trace.stages")

    # -- the embeddings
    st.header("1. The embeddings of a and b")
    st.markdown(
        f"""
**What changed:** a = {a} and b = {b} became two vectors of {len(t.embed_a)} numbers, rows of
$W_E$ (norms {num(t.norms["embed_a"])} and {num(t.norms["embed_b"])}). Over the number tokens,
**{pct(t.embed_key_share)}** of $W_E$'s energy sits at the key frequencies {listing(kf)}: each
token is a point on a few waves. The `=` position starts from the same vector for every input
(norm {num(t.norms["embed_eq"])}): nothing about a or b is there yet.
"""
    )
    _scope(
        state.shared_of_run(embedding_by_dim, source),
        ("residual dimension", "token"),
        key="trace.embed",
        play="residual dimension",
        start={"residual dimension": t.strongest["embed"]},
        markers=fig.at_tokens(a, b, kf),
        title="W_E for one residual dimension, over the number tokens",
        y_title="embedding value",
    )

    # -- attention
    on_a, on_b, on_eq = (float(x) for x in t.mean_pattern)
    h = t.head_on_a
    st.header("2. Attention: what `=` reads from a and b")
    st.markdown(
        f"""
**What changed:** `=` looked back at the three positions. Head {h} attends most to a
(**{pct(float(t.pattern[h, 0]))}** of its weight); averaged over the {len(t.pattern)} heads, `=`
puts {pct(on_a)} on a, {pct(on_b)} on b and {pct(on_eq)} on itself. The scope shows how each
head's weights move as a runs over every token with b = {b} fixed.
"""
    )
    charts.show(specs["attention"], key="trace.attention")
    _scope(
        fig.along_lines(along, ("on a", "on b", "on =")),
        ("head", "a"),
        key="trace.pattern",
        play="head",
        start={"head": h},
        markers=fig.at_a(a, kf),
        title=f"One head's attention weights from =, for b = {b}, as a function of a",
        y_title="attention weight",
    )

    # -- attn_out and resid_mid
    st.header("3. attn_out and resid_mid")
    st.markdown(
        f"""
**What changed:** attention wrote `attn_out` (norm {num(t.norms["attn_out"])}) into `=`, so
`resid_mid` = the `=` start + `attn_out` (norm {num(t.norms["resid_mid"])}). Along a, with b
fixed, **{pct(t.key_share["attn_out"])}** of `attn_out`'s energy and
**{pct(t.key_share["resid_mid"])}** of `resid_mid`'s sit at the key frequencies: the waves of a
and b have arrived at `=`.
"""
    )
    _residual_pair(t, along, ("attn_out", "resid_mid"), "mid", a, b, kf)

    # -- the neurons
    n = len(t.neuron_freq)
    per_group = "; ".join(
        f"frequency {f}: {t.group_firing[f]} of {t.group_size[f]} fire, "
        f"{pct(t.group_post_share[f])} of the energy after the ReLU"
        for f in t.groups
    )
    st.header("4. The neurons, grouped by frequency")
    st.markdown(
        f"""
**What changed:** `resid_mid` was read by {n} neurons; **{t.firing} of {n}** fire on this
input (a positive pre-activation passes the ReLU, a negative one is cut to 0). Grouped by each
neuron's key frequency: {per_group}. The loudest group is frequency **{t.loudest_group}**.
Along a, {pct(t.key_share["pre"])} of the pre-activations' energy is at the key frequencies,
{pct(t.key_share["post"])} after the ReLU, which makes harmonics and mixes frequencies.
"""
    )
    charts.show(specs["neurons"], key="trace.neurons")
    if t.groups:
        _group_scope(t, source, a, b, nf)

    # -- mlp_out and resid_post
    to = t.to_answer
    st.header("5. mlp_out and resid_post")
    st.markdown(
        f"""
**What changed:** the neurons' outputs, weighted by $W_{{out}}$, are `mlp_out` (norm
{num(t.norms["mlp_out"])}); `resid_post` = `resid_mid` + `mlp_out` (norm
{num(t.norms["resid_post"])}). Along a, {pct(t.key_share["mlp_out"])} of `mlp_out`'s energy is
at the key frequencies. Of the right answer's logit, {num(float(t.logits[t.c]))}, `mlp_out`
contributes **{num(to["mlp_out"])}**, `attn_out` {num(to["attn_out"])} and the `=` start
{num(to["embed_eq"])}.
"""
    )
    _residual_pair(t, along, ("mlp_out", "resid_post"), "post", a, b, kf)

    # -- the logits
    top = ", ".join(f"{k} ({num(v)})" for k, v in t.top3)
    (g1, g2), (r1, r2) = t.ghosts, t.rank_of_ghosts
    verdict = (
        f"the right answer c = {t.c} comes first, **{num(t.margin)}** above the runner-up {t.runner_up}"
        if t.margin > 0
        else f"the right answer c = {t.c} is **{num(-t.margin)} below** the top logit, {t.runner_up}"
    )
    st.header("6. The logits")
    st.markdown(
        f"""
**What changed:** $W_U$ read `resid_post` into a logit for each of the {p} answers. The three
largest are {top}: {verdict}. The ghost positions 2a = {g1} and 2b = {g2} rank
{r1 + 1} and {r2 + 1} of {p}. Over c, {pct(t.key_share["logits"])} of the logits' energy is at
the key frequencies: the logits are a sum of waves in c.
"""
    )
    charts.show(specs["logits"], key="trace.logits")
    _scope(
        t.logits,
        ("c",),
        key="trace.logit_scope",
        markers=fig.at_answers(t),
        title=f"The logits of ({a}, {b}) over every answer c",
        y_title="logit",
    )


show()
