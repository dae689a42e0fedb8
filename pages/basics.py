"""Basics (the home page): the task, the model's key facts, and the embedding as waves.

Run by ``st.navigation`` as a script: number-free prose first, so it reaches the browser
before the model loads; then :func:`show` loads the run (cached) and writes everything that
quotes a number. Every number comes from the loaded checkpoint: nothing assumes p = 113.
"""

from __future__ import annotations

import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("How a transformer adds modulo p")
st.markdown(
    """
A small transformer, one layer deep, was trained to add two numbers modulo a prime **p**.
After a long stretch of memorising its training pairs it suddenly *generalised*: it now
answers pairs it never saw. This explanation opens it up and reads what it computes the way
an audio engineer reads a circuit: its numbers are **waves over the token index**, its
attention builds **cosines mirrored about c/2**, its linear maps are **filters**, and its
ReLU creates **harmonics and sum and difference frequencies**. Each page makes one of these
claims and lets you test it on the model itself.
"""
)


# ---------------------------------------------------------------- cached data


@st.cache_data(max_entries=4, show_spinner=False)
def _facts(source: str) -> dict:
    """Everything the page quotes, for the checkpoint ``source`` (a cheap string key)."""
    import numpy as np

    from lens import analysis, fourier
    from ui import data as state

    run = state.run(source)
    p = run.p
    kf = analysis.key_frequencies(run)
    we = run.weights["W_E"][:p].astype(np.float64)  # [token, d_model]
    share = fourier.energy_share(we, axis=0)  # [freq 0..p//2], constant excluded
    harm = sorted(set(fourier.harmonics(kf, p)) - set(kf))
    sub = sorted(set(fourier.subharmonics(kf, p)) - set(kf))
    loss, acc = analysis.losses(run), analysis.accuracies(run)
    n_train = int(run.train_mask.sum())
    # The strongest residual dimension: a good first slice for the embedding scope.
    strongest = int(np.argmax(np.linalg.norm(we - we.mean(0), axis=0)))
    return {
        "p": p,
        "d_model": int(we.shape[1]),
        "key_freqs": kf,
        "harmonics": fourier.harmonics(kf, p),
        "subharmonics": fourier.subharmonics(kf, p),
        "harm_only": harm,
        "sub_only": sub,
        "share": share,
        "key_share": float(share[kf].sum()),
        "harm_share": float(share[harm].sum()) if harm else 0.0,
        "sub_share": float(share[sub].sum()) if sub else 0.0,
        "loss": loss,
        "acc": acc,
        "errors": {k: int(round((1 - v) * n)) for k, v, n in _split_sizes(acc, p * p, n_train)},
        "strongest_dim": strongest,
    }


@st.cache_data(max_entries=4, show_spinner=False)
def _task(source: str) -> dict:
    """What the task section quotes: p and the split, from the checkpoint alone (no model
    run), so the task and its first map reach the reader before the model has run."""
    import numpy as np

    from lens import task
    from ui import data as state

    ckpt = state.checkpoint(source)
    p = ckpt.p
    train = task.split_mask(p, ckpt.split)
    n_train = int(train.sum())
    return {
        "p": p,
        "n_all": p * p,
        "n_train": n_train,
        "n_test": p * p - n_train,
        "first_test": int(np.flatnonzero(~train)[0]),
    }


def _split_sizes(acc: dict, n_all: int, n_train: int):
    for name, n in (("all", n_all), ("train", n_train), ("test", n_all - n_train)):
        yield name, acc[name], n


def _prediction(source: str, a: int, b: int) -> dict:
    import numpy as np

    from ui import data as state

    run = state.run(source)
    row = a * run.p + b
    z = run.logits[row].astype(np.float64)
    prob = np.exp(z - z.max())
    prob /= prob.sum()
    c = int(run.labels[row])
    return {
        "c": c,
        "pred": int(z.argmax()),
        "prob_c": float(prob[c]),
        "split": "train" if run.train_mask[row] else "test",
    }


# ---------------------------------------------------------------- formatting


def _pct(x: float) -> str:
    """A share as a percentage that never rounds a miss up to 100%."""
    if x >= 1.0:
        return "100%"
    return f"{min(x * 100, 99.99):.2f}%"


def _freqs(fs) -> str:
    return ", ".join(str(int(f)) for f in fs) if len(fs) else "none"


# ---------------------------------------------------------------- charts


# Okabe-Ito blue for training pairs, light grey for test pairs, vermillion for wrong answers.
SPLIT_COLOURS = {"train": "#0072B2", "test": "#e0e0e0", "model wrong": "#D55E00"}


def _legend_layer(field: str, values: list, scale: dict, kind: str, title: str) -> dict:
    """An invisible layer whose only job is the colour legend of an image map."""
    return {
        "data": {"values": [{field: v} for v in values]},
        "mark": {"type": "square", "opacity": 0},
        "encoding": {
            "color": {
                "field": field,
                "type": kind,
                "scale": scale,
                "title": title,
                # the legend's symbols would inherit the invisible mark's opacity
                "legend": {"symbolOpacity": 1, "symbolSize": 220, "symbolStrokeWidth": 0},
            }
        },
    }


def _grid_spec(p: int, url: str, legend: dict) -> dict:
    from ui.charts import style
    from ui.raster import grid_layer
    from ui.scope import SCHEMA_URL

    cells = grid_layer(url, p, p, "b", "a", list(range(0, p, 10)))
    # Two layers, so the chosen pair is added as a third later (:func:`_picked`).
    return style({"$schema": SCHEMA_URL, "layer": [cells, legend], "height": 420})


@st.cache_data(max_entries=8, show_spinner=False)
def _answer_grid_spec(p: int) -> dict:
    """Every pair (a, b) as a cell coloured by its answer c, as one image (ui/raster.py).

    This is the first chart a new reader waits for, so it needs nothing but p: no model run,
    no data frame, no Altair import (importing, building and validating Altair would add half
    a second; tests validate the dict)."""
    import numpy as np

    from ui.raster import cells_data_url, sinebow

    c = np.add.outer(np.arange(p), np.arange(p)) % p  # [a, b]
    # c is cyclic (p - 1 sits next to 0), so a cyclic colour scheme.
    scale = {"scheme": "sinebow", "domain": [0, p]}
    legend = _legend_layer("c", [0, p - 1], scale, "quantitative", "c = (a + b) mod p")
    return _grid_spec(p, cells_data_url(sinebow(c / p)), legend)


@st.cache_data(max_entries=8, show_spinner=False)
def _split_grid_spec(source: str) -> dict:
    """Every pair coloured by its split, and the pairs the model gets wrong in a third colour."""
    import numpy as np

    from ui import data as state
    from ui.raster import cells_data_url, hex_rgb

    run = state.run(source)
    p = run.p
    kind = np.where(run.train_mask, 0, 1)
    wrong = run.logits.argmax(axis=1) != run.labels
    kind[wrong] = 2
    names = list(SPLIT_COLOURS)[: 3 if wrong.any() else 2]
    palette = np.stack([hex_rgb(c) for c in SPLIT_COLOURS.values()])
    scale = {"domain": names, "range": [SPLIT_COLOURS[n] for n in names]}
    legend = _legend_layer("split", names, scale, "nominal", "split")
    return _grid_spec(p, cells_data_url(palette[kind.reshape(p, p)]), legend)


def _picked(base: dict, a: int, b: int) -> dict:
    """The grid spec with the pair (a, b) outlined: a one-row dataset, not a rebuilt chart."""
    import pandas as pd

    from ui.charts import with_layer

    return with_layer(
        base,
        {
            "mark": {"type": "point", "shape": "square", "size": 160, "color": "black", "strokeWidth": 3},
            "encoding": {
                "x": {"field": "b", "type": "quantitative"},
                "y": {"field": "a", "type": "quantitative"},
                "tooltip": [
                    {"field": "a", "type": "quantitative"},
                    {"field": "b", "type": "quantitative"},
                ],
            },
        },
        pd.DataFrame({"a": [a], "b": [b]}),
    )


def _spectrum_chart(f: dict):
    """Share of the embedding's energy per frequency, key frequencies, harmonics and
    subharmonics coloured."""
    import altair as alt
    import pandas as pd

    p = f["p"]
    freqs = list(range(1, p // 2 + 1))
    kind = []
    for q in freqs:
        if q in f["key_freqs"]:
            kind.append("key frequency")
        elif q in f["harm_only"]:
            kind.append("harmonic (2f)")
        elif q in f["sub_only"]:
            kind.append("subharmonic (f/2)")
        else:
            kind.append("other")
    df = pd.DataFrame({"frequency": freqs, "share": f["share"][1:], "kind": kind})
    domain = ["key frequency", "harmonic (2f)", "subharmonic (f/2)", "other"]
    colours = ["#D55E00", "#E69F00", "#009E73", "#999999"]  # Okabe-Ito, grey for the rest
    top = float(df["share"].max()) if len(df) else 1.0
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X(
                "frequency:Q",
                title="frequency (cycles over the p tokens)",
                scale=alt.Scale(domain=[0, p // 2 + 1]),
            ),
            # Headroom above the tallest bar, so it does not touch the frame.
            y=alt.Y(
                "share:Q",
                title="share of W_E's energy",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, top * 1.15], nice=False),
            ),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=domain, range=colours),
                title=None,
                legend=alt.Legend(orient="top"),
            ),
            tooltip=["frequency", alt.Tooltip("share:Q", format=".2%"), "kind"],
        )
        .properties(height=300)
    )


@st.cache_data(max_entries=4, show_spinner=False)
def _spectrum_spec(source: str) -> dict:
    from ui.charts import spec

    return spec(_spectrum_chart(_facts(source)))


# ---------------------------------------------------------------- the page


@st.fragment  # a new pair reruns this section only
def _pair_section(source: str, t: dict) -> None:
    from ui import charts, links

    p = t["p"]
    default_a, default_b = divmod(t["first_test"], p)
    c1, c2 = st.columns(2)
    a = c1.number_input("a", 0, p - 1, links.int_param("a", 0, p - 1, default_a), key="basics.a")
    b = c2.number_input("b", 0, p - 1, links.int_param("b", 0, p - 1, default_b), key="basics.b")
    links.keep("a", a, default_a)
    links.keep("b", b, default_b)
    verdict = st.empty()  # filled once the model has run: the answer map needs only p
    g1, g2 = st.columns(2)
    with g1:
        charts.show(_picked(_answer_grid_spec(p), int(a), int(b)), key="basics.grid_c")
    with g2:
        charts.show(_picked(_split_grid_spec(source), int(a), int(b)), key="basics.grid_split")
    pred = _prediction(source, int(a), int(b))
    right = "correct" if pred["pred"] == pred["c"] else "wrong"
    verdict.markdown(
        f"Tokens **`[{a}, {b}, {p}]`** (the last is `=`) → label **c = ({a} + {b}) mod {p} = "
        f"{pred['c']}**. This pair is in the **{pred['split']}** set. The model answers "
        f"**{pred['pred']}** ({right}), with probability {pred['prob_c']:.6f} on the right answer."
    )


@st.fragment  # the view toggle reruns this scope only
def _embed_section(source: str, strongest_dim: int) -> None:
    from ui.scope_widget import show_scope

    show_scope(
        _embed(source),
        ("d_model", "token"),
        key="basics.embed",
        play="d_model",
        start={"d_model": strongest_dim},
        fourier=True,
        title="W_E for one residual dimension, over the number tokens",
        y_title="embedding value",
    )


def show() -> None:
    from ui import charts
    from ui import data as state

    source = state.checked_source()  # surfaces a refused checkpoint or a missing default
    t = _task(source)  # the checkpoint only: no model run before the task and its first map
    p = t["p"]

    # -- the task
    st.header("The task: tokens and labels")
    st.markdown(
        f"""
Every input is three tokens, **`[a, b, =]`**: two numbers a and b from 0 to {p - 1}, then
an equals sign, which is token number {p} (the vocabulary has {p + 1} tokens). The label is
**c = (a + b) mod {p}**, one of {p} classes, read from the model's output at the `=`
position. There are {p} × {p} = {t["n_all"]:,} possible pairs. The model trained on
{t["n_train"]:,} of them ({t["n_train"] / t["n_all"]:.0%}); the other {t["n_test"]:,} are
the test set, pairs it never saw.

Pick a pair. The left map colours every pair (a, b) by its answer: the answer is constant
along the anti-diagonals a + b = c, and wraps around at {p}. The right map shows which pairs
were in training, and marks any pair the model answers wrongly in a third colour.
"""
    )
    _pair_section(source, t)

    # -- how well the model does it (the model's run starts here)
    with st.spinner("Running the model…"):
        f = _facts(source)
    kf, loss, acc = f["key_freqs"], f["loss"], f["acc"]
    st.header("How well the model does it")
    cols = st.columns([1, 2, 1, 1])
    cols[0].metric("p (the modulus)", p)
    cols[1].metric("key frequencies", _freqs(kf))
    cols[2].metric(
        "test accuracy", _pct(acc["test"]), help=f"{f['errors']['test']} of {t['n_test']} test pairs wrong"
    )
    cols[3].metric("test loss", f"{loss['test']:.2e}")
    st.table(
        {
            "": ["loss (cross-entropy)", "accuracy", "pairs"],
            "train": [f"{loss['train']:.3e}", _pct(acc["train"]), f"{t['n_train']:,}"],
            "test": [f"{loss['test']:.3e}", _pct(acc["test"]), f"{t['n_test']:,}"],
            "all": [f"{loss['all']:.3e}", _pct(acc["all"]), f"{t['n_all']:,}"],
        }
    )

    # -- embeddings as waves
    st.header("Each token is a point on a set of waves")
    st.markdown(
        f"""
The first thing the model does is look each token up in its embedding matrix W_E: token t
becomes a vector of {f["d_model"]} numbers, one per *residual dimension*. Turn that table on
its side: for one residual dimension, read its value for token 0, 1, 2, … {p - 1}. That
is a signal over the token index, and after training it is a sum of a few clean waves.

Scrub through the residual dimensions below, then switch to the Fourier view. The Fourier view
writes the same signal as amplitudes of sines and cosines of each frequency (a frequency f
means f full cycles across the {p} tokens). Almost every dimension is made of the same handful
of frequencies: the model's **key frequencies**, here **{_freqs(kf)}**. Together they hold
**{f["key_share"]:.1%}** of the embedding's energy (its constant offset left out).
"""
    )
    _embed_section(source, f["strongest_dim"])

    # -- key frequencies, harmonics, subharmonics
    st.header("Key frequencies, their harmonics and subharmonics")
    st.markdown(
        f"""
Two families of frequencies come back on later pages, so here they are, computed for this
model. The **harmonic** of f is 2f: squaring a wave at f, or clipping it with a ReLU, makes
energy at 2f. Frequencies above p/2 = {p / 2} fold back (a wave at f and one at p − f take
the same values on the integer tokens), so 2f is reported folded. The **subharmonic** of f is
the frequency g whose harmonic is f: f/2 when f is even, (p − f)/2 when f is odd.

In the embedding itself, the harmonics that are not key frequencies ({_freqs(f["harm_only"])})
hold **{f["harm_share"]:.1%}** of the energy and the subharmonics ({_freqs(f["sub_only"])})
hold **{f["sub_share"]:.1%}**: the embedding is nearly pure key frequencies.
"""
    )
    st.table(
        {
            "key frequency f": [int(x) for x in kf],
            "harmonic 2f (folded)": [int(x) for x in f["harmonics"]],
            "subharmonic": [int(x) for x in f["subharmonics"]],
            "share of W_E's energy at f": [f"{f['share'][x]:.1%}" for x in kf],
        }
    )
    charts.show(_spectrum_spec(source), key="basics.spectrum")

    # -- loss and accuracy
    st.header("Loss and accuracy")
    st.markdown(
        f"""
On the {t["n_train"]:,} training pairs the cross-entropy loss is **{loss["train"]:.2e}** and
the accuracy **{_pct(acc["train"])}**; on the {t["n_test"]:,} test pairs it never saw, the loss
is **{loss["test"]:.2e}** and the accuracy **{_pct(acc["test"])}**
({f["errors"]["test"]} wrong). Over all {t["n_all"]:,} pairs: loss {loss["all"]:.2e}, accuracy
{_pct(acc["all"])}. Losses this small are computed in 64-bit floats: in 32-bit the right
answer's probability rounds to exactly 1 and the loss comes out wrong by about a factor of two.

The rest of this explanation asks *how*: open **Attention** next.
"""
    )


@st.cache_resource(max_entries=4, show_spinner=False)  # shared read-only arrays (state.read_only)
def _embed(source: str):
    """W_E over the number tokens, as [d_model, token] (the "=" row dropped)."""
    import numpy as np

    from ui import data as state

    run = state.run(source)
    return state.read_only(np.ascontiguousarray(run.weights["W_E"][: run.p].T))


show()
