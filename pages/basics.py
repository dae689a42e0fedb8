"""Basics (the home page): the task, the model's key facts, and the embedding as waves.

Run by ``st.navigation`` as a script: number-free prose first, so it reaches the browser
before the model loads; then :func:`show` loads the run (cached) and writes everything that
quotes a number. Every number comes from :mod:`lens.story.basics` (``task`` from the
checkpoint alone, ``facts`` from the run); the charts are built in :mod:`ui.figures.basics`.
Nothing assumes p = 113.
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("How a transformer adds modulo p")
st.markdown(
    """
A small transformer, one layer deep, was trained to add two numbers modulo a prime **p**.
After a long stretch of memorising its training pairs it suddenly *generalised* (this late
leap is called **grokking**): it now answers pairs it never saw. This explanation opens it up and reads what it computes the way
an audio engineer reads a circuit: its numbers are **waves over the token index**, its linear
maps are **filters**, its nonlinear steps are **mixers** that can multiply two waves into
their sum and difference frequencies, and wrapping around at p is **aliasing**.

The reading grows from the notebook *Transformer Modular Addition Through A Signal
Processing Lens*, which studies the model of Nanda et al. (2023, *Progress measures for
grokking via mechanistic interpretability*). That notebook had a hypothesis: the network
never multiplies trig terms; attention forms cosines mirrored about c/2, and the ReLU only
adds harmonics. Nanda et al. read the same network as multiplying them (their *clock*
algorithm). Here every claim is a test run on the loaded model: each page says which hold,
and where one fails, it says so with the number.
"""
)


def _freqs(fs) -> str:
    """Frequencies as the metric shows them: "14, 35, 41" ("none" when there are none)."""
    return ", ".join(str(int(f)) for f in fs) or "none"


@st.fragment  # a new pair reruns this section only
def _pair_section(source: str, t) -> None:
    from lens.story.basics import prediction
    from ui import data as state
    from ui import pair
    from ui.figures import basics as fig
    from ui.theme import num

    p = t.p
    default_a, default_b = divmod(t.first_test, p)
    a, b = pair.inputs("basics", p, default_a, default_b)
    verdict = st.empty()  # filled once the model has run: the answer map needs only p
    g1, g2 = st.columns(2)
    with g1:
        answers = fig.picked(state.of_args(fig.answer_grid_spec, p), a, b)
        # An image has no rows: the CSV's cells come from a table made when it is asked for.
        pair.show_map(answers, "basics.grid_c", "basics", p, partial(fig.answer_cells, p))
    with g2:
        splits = fig.picked(state.of_run(fig.split_grid_spec, source), a, b)
        pair.show_map(splits, "basics.grid_split", "basics", p, partial(fig.split_cells, state.run(source)))
    pred = prediction(state.run(source), a, b)
    right = "correct" if pred.pred == pred.c else "wrong"
    verdict.markdown(
        f"Tokens **`[{a}, {b}, {p}]`** (the last is `=`) → label **c = ({a} + {b}) mod {p} = "
        f"{pred.c}**. This pair is in the **{pred.split}** set. The model answers "
        f"**{pred.pred}** ({right}), with probability {num(pred.prob_c, '.6f')} on the right answer."
    )


@st.fragment  # the view toggle reruns this scope only
def _embed_section(source: str, strongest_dim: int) -> None:
    from lens.story.basics import embedding_by_dim
    from ui import data as state
    from ui.scope_widget import show_scope

    show_scope(
        state.shared_of_run(embedding_by_dim, source),  # read-only, shared by every session
        ("residual dimension", "token"),
        key="basics.embed",
        play="residual dimension",
        start={"residual dimension": strongest_dim},
        fourier=True,
        title="W_E for one residual dimension, over the number tokens",
        y_title="embedding value",
    )


def show() -> None:
    from lens.story import basics as story
    from ui import charts
    from ui import claims as uc
    from ui import data as state
    from ui.figures import basics as fig
    from ui.theme import listing, num, pct

    source = state.checked_source()  # surfaces a refused checkpoint or a missing default
    t = story.task(state.checkpoint(source))  # no model run before the task and its first map
    p = t.p

    # -- the task
    st.header("The task: tokens and labels")
    st.markdown(
        f"""
Every input is three tokens, **`[a, b, =]`**: two numbers a and b from 0 to {p - 1}, then
an equals sign, which is token number {p} (the vocabulary has {p + 1} tokens). The label is
**c = (a + b) mod {p}**, one of {p} classes, read from the model's output at the `=`
position. There are {p} × {p} = {t.n_all:,} possible pairs. The model trained on
{t.n_train:,} of them ({pct(t.train_share)}); the other {t.n_test:,} are
the test set, pairs it never saw.

Pick a pair: type a and b, or click a cell of either map (both maps outline it). The left map
colours every pair (a, b) by its answer: the answer is constant
along the anti-diagonals a + b = c, and wraps around at {p}. The right map shows which pairs
were in training, and marks any pair the model answers wrongly in a third colour.
"""
    )
    _pair_section(source, t)

    # -- how well the model does it (the model's run starts here)
    with st.spinner("Running the model…"):
        f = state.facts("basics", source)
    kf, loss, acc = f.key_freqs, f.loss, f.acc
    st.header("How well the model does it")
    cols = st.columns([1, 2, 1, 1])
    cols[0].metric("p (the modulus)", p)
    cols[1].metric("key frequencies", _freqs(kf))
    cols[2].metric(
        "test accuracy", pct(acc["test"]), help=f"{f.errors['test']} of {t.n_test} test pairs wrong"
    )
    cols[3].metric("test loss", num(loss["test"], ".2e"))
    st.table(
        {
            "": ["loss (cross-entropy)", "accuracy", "pairs"],
            "train": [num(loss["train"], ".3e"), pct(acc["train"]), f"{t.n_train:,}"],
            "test": [num(loss["test"], ".3e"), pct(acc["test"]), f"{t.n_test:,}"],
            "all": [num(loss["all"], ".3e"), pct(acc["all"]), f"{t.n_all:,}"],
        }
    )

    # -- embeddings as waves
    st.header("Each token is a point on a set of waves")
    st.markdown(
        f"""
The first thing the model does is look each token up in its embedding matrix $W_E$ (one row
per token): token t becomes a vector of d_model = {f.d_model} numbers, one per *residual
dimension* (d_model is the width of the **residual stream**, the vector the model carries
from layer to layer and every later stage reads and adds to). Turn that table on
its side: for one residual dimension, read its value for token 0, 1, 2, … {p - 1}. That
is a signal over the token index, and the question is which waves it is made of.

Scrub through the residual dimensions below, then switch to the Fourier view. The Fourier view
writes the same signal as amplitudes of sines and cosines of each frequency (a frequency f
means f full cycles across the {p} tokens). Summed over every dimension, the frequencies that
hold at least a third of the strongest one's energy are the model's **key frequencies** (Nanda
et al.'s term), here **{listing(kf)}**. How much of the embedding they leave over is measured
below.
"""
    )
    _embed_section(source, f.strongest_dim)

    # -- key frequencies, harmonics, subharmonics
    st.header("Key frequencies, their harmonics and subharmonics")
    st.markdown(
        f"""
Two families of frequencies come back on later pages, so here they are, computed for this
model. The **harmonic** of f is 2f: squaring a wave at f, or clipping it with a ReLU, makes
energy at 2f. Frequencies above p/2 = {p / 2} fold back (a wave at f and one at p − f take
the same values on the integer tokens), so 2f is reported folded. The **subharmonic** of f is
the frequency g whose harmonic is f: f/2 when f is even, (p − f)/2 when f is odd.

In the embedding itself, the harmonics that are not key frequencies ({listing(f.harm_only)})
hold **{pct(f.harm_share, 1)}** of the energy and the subharmonics ({listing(f.sub_only)})
hold **{pct(f.sub_share, 1)}** (the constant left out).
"""
    )
    st.table(
        {
            "key frequency f": kf,
            "harmonic 2f (folded)": f.harmonics,
            "subharmonic": f.subharmonics,
            "share of W_E's energy at f": [pct(f.share[x], 1) for x in kf],
        }
    )
    charts.show(state.of_run(fig.spectrum_spec, source), key="basics.spectrum")
    sparse = uc.say(source, "embedding-sparse")
    other = sparse.details.get("strongest_other", {}).get("frequency")
    if sparse.holds:
        st.markdown("So the Fourier view above shows the key frequencies and little else.")
    elif other:
        of = sparse.details["strongest_other"].get("harmonic_of")
        st.markdown(
            f"So besides the key frequencies the chart above has a clear bar at **{other}**"
            + (
                f", the harmonic 2 × {of}: a harmonic that is in the model's input already, "
                "before any ReLU could make one."
                if of is not None
                else "."
            )
        )

    # -- loss and accuracy
    st.header("Loss and accuracy")
    st.markdown(
        f"""
On the {t.n_train:,} training pairs the cross-entropy loss is **{num(loss["train"], ".2e")}** and
the accuracy **{pct(acc["train"])}**; on the {t.n_test:,} test pairs it never saw, the loss
is **{num(loss["test"], ".2e")}** and the accuracy **{pct(acc["test"])}**
({f.errors["test"]} wrong). Over all {t.n_all:,} pairs: loss {num(loss["all"], ".2e")}, accuracy
{pct(acc["all"])}.
"""
    )
    if not uc.say(source, "float32-loss").holds:
        st.markdown("Every loss here is computed in float64 all the same, as Nanda et al. computed theirs.")
    st.markdown("The rest of this explanation asks *how*: open **Attention** next.")


show()
