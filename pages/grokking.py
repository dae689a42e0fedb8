"""Grokking: how the model learned, read from its training history.

Run by ``st.navigation`` as a script: number-free prose first, then :func:`show` reads the
history (``history.json`` of a run directory written by ``python -m lens.train``, see
:mod:`lens.history`) and writes everything that quotes a number; the numbers come from
:func:`lens.training_story.facts`. When the current model is not a run directory with a
history (e.g. a researcher's ``.pth``), the embedded default run's history is shown and
labelled as such. A missing or malformed history is reported in one line, never raised.

Nothing here imports torch: :func:`lens.history.load_history` does not, and snapshots are
run with lens's numpy engine. Nothing assumes p = 113, a frequency or a run length.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("Grokking: how the model learned")
st.markdown(
    """
The other pages take apart a finished model. This one watches it being made. Trained on only
a fraction of all pairs, a model like this first **memorises**: it gets its training pairs
right and most unseen pairs wrong. Then, long after its training loss has bottomed out, the
test loss collapses and it answers pairs it never saw. This late, sudden-looking
generalisation is called **grokking**.

Nanda et al. showed that nothing sudden happens inside. The wave circuit of the other pages
grows steadily while the model still looks like a lookup table from outside, and weight decay
then clears the memorised table away. Their *progress measures* make this visible. Below,
they are read from the recorded history of a real training run: its loss curves, the
progress measures, the embedding's spectrum and the neurons' frequencies at checkpoints
along the way, and full snapshots of the weights that you can compare with the final model.
"""
)

# Okabe-Ito (as ui/scope.py): distinguishable under the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"]
PHASE_FILL = {"memorisation": "#E69F00", "circuit formation": "#56B4E9", "clean-up": "#009E73"}
SERIES = {
    "train loss": "#0072B2",
    "test loss": "#D55E00",
    "restricted loss": "#009E73",
    "excluded loss": "#CC79A7",
    "train accuracy": "#0072B2",
    "test accuracy": "#D55E00",
}
FONT = 14
OTHER = "#BBBBBB"
GROK_PCT = "99.9 %"
AXES = ["linear", "log"]  # the step axis; a link's ?axis= picks one


# ---------------------------------------------------------------- cached data


def _stamp(run_dir: Path) -> int:
    """Changes whenever ``history.json`` is rewritten (a finished or resumed run)."""
    try:
        return (run_dir / "history.json").stat().st_mtime_ns
    except OSError:
        return 0


@st.cache_data(max_entries=4, show_spinner=False)
def _history(run_dir: str, stamp: int) -> tuple:
    """``(History, facts, None)``, or ``(None, None, one-line reason)``. ``stamp`` keys the
    cache to the file's modification time."""
    from lens.history import load_history
    from lens.training_story import facts

    try:
        h = load_history(run_dir)
    except FileNotFoundError as err:
        return None, None, str(err)
    except (OSError, ValueError, TypeError, KeyError, IndexError) as err:  # CheckpointError is a ValueError
        return None, None, str(err).splitlines()[0] if str(err) else type(err).__name__
    try:
        return h, facts(h), None
    except (ValueError, TypeError, KeyError, IndexError) as err:
        why = str(err).splitlines()[0] if str(err) else type(err).__name__
        return None, None, f"{Path(run_dir) / 'history.json'}: could not be summarised: {why}"


@st.cache_data(max_entries=12, show_spinner=False)
def _weights_summary(path: str) -> dict:
    """Losses, accuracies and W_E's spectrum of the run directory ``path`` (a snapshot or the
    final model), run on all p * p pairs with the numpy engine."""
    import numpy as np

    from lens import analysis, fourier
    from lens.checkpoint import load
    from lens.run import run_model
    from lens.training_story import fourier_norms

    ck = load(path)
    run = run_model(ck, engine="numpy")
    p = ck.p
    energy = fourier.frequency_energy(np.asarray(ck.weights["W_E"][:p], dtype=np.float64), axis=0)
    prov = ck.meta.get("provenance", {}) if isinstance(ck.meta, dict) else {}
    step = prov.get("step") if isinstance(prov, dict) else None
    return {
        "p": p,
        "step": step if isinstance(step, int) else None,
        "loss": analysis.losses(run),
        "acc": analysis.accuracies(run),
        "norms": fourier_norms(energy, p),
        "energy": energy,
    }


def _pick_history():
    """The history to show and a label for it; stops the page when there is none."""
    from lens.checkpoint import HISTORY_FILE
    from lens.paths import CREATE_DEFAULT, DEFAULT_RUN
    from ui import data as state

    state.refusal_notice()
    source = Path(state.current_source())
    if source != DEFAULT_RUN:
        if source.is_dir() and (source / HISTORY_FILE).is_file():
            h, f, why = _history(str(source), _stamp(source))
            if h is not None:
                return h, f, f"the current model's own run, `{source.name}`"
            st.error(f"The training history of the current model could not be read. {why}")
        what = (
            "is a run directory without a `history.json`"
            if source.is_dir()
            else "is a single checkpoint file, which holds the final weights only"
        )
        st.info(
            "Training history is available only for run directories written by "
            f"`python -m lens.train`. The current model, `{source.name}`, {what}. Shown below "
            "instead: the history of **the embedded default run** (`assets/default-run`), a "
            "different training run from the model on the other pages."
        )
    h, f, why = _history(str(DEFAULT_RUN), _stamp(DEFAULT_RUN))
    if h is None:
        if not (DEFAULT_RUN / HISTORY_FILE).is_file():
            st.warning(
                "The embedded default run has no training history yet "
                f"(`assets/default-run/{HISTORY_FILE}`). `{CREATE_DEFAULT}` writes it when "
                "training ends."
            )
        else:
            st.error(f"The default run's training history could not be read. {why}")
        st.stop()
    return h, f, "the embedded default run (`assets/default-run`)"


# ---------------------------------------------------------------- charts


def _step_x(scale: tuple[str, int], field: str = "step", title: str | None = "training step"):
    """The step axis; ``scale`` is ("linear" | "log", last step). "log" is a symmetric log
    scale (step 0 stays on it), with ticks at 1-3-10 steps."""
    import altair as alt

    kind, last = scale
    if kind == "log":
        ticks = [0] + [m * 10**e for e in range(1, 8) for m in (1, 3) if m * 10**e <= last]
        return alt.X(
            f"{field}:Q",
            title=title,
            scale=alt.Scale(type="symlog", constant=10, nice=False),
            axis=alt.Axis(values=ticks, labelExpr="format(datum.value, ',')", labelFlush=True),
        )
    return alt.X(
        f"{field}:Q",
        title=title,
        scale=alt.Scale(nice=False),
        axis=alt.Axis(labelExpr="format(datum.value, ',')", labelFlush=True),
    )


def _bands(spans, scale: str) -> list:
    """Shaded phases, named in a legend (a label inside a phase only a few pixels wide, as
    memorisation is on a linear step axis, would overprint its neighbour)."""
    import altair as alt
    import pandas as pd

    if not spans:
        return []
    df = pd.DataFrame([{"phase": s.name, "start": s.start, "end": s.end} for s in spans])
    fill = alt.Scale(domain=list(PHASE_FILL), range=list(PHASE_FILL.values()))
    rect = (
        alt.Chart(df)
        .mark_rect(opacity=0.13)
        .encode(
            x=_step_x(scale, "start"),
            x2="end:Q",
            fill=alt.Fill("phase:N", scale=fill, legend=alt.Legend(title="phase", orient="bottom")),
            tooltip=["phase", alt.Tooltip("start:Q", format=","), alt.Tooltip("end:Q", format=",")],
        )
    )
    return [rect]


def _grok_rule(step: int | None, scale: str) -> list:
    import altair as alt
    import pandas as pd

    if step is None:
        return []
    df = pd.DataFrame({"step": [step], "label": [f"test accuracy ≥ {GROK_PCT} (step {step:,})"]})
    base = alt.Chart(df).encode(x=_step_x(scale))
    rule = base.mark_rule(color="black", strokeDash=[6, 4], strokeWidth=2)
    label = base.mark_text(
        align="right", baseline="bottom", dx=-4, fontSize=FONT - 1, angle=0, color="black"
    ).encode(y=alt.value(-4), text="label:N")
    return [rule, label]


def _finish(layers: list, title: str, height: int = 320, subtitle: str | None = None):
    import altair as alt

    chart = alt.layer(*layers).resolve_scale(color="independent")
    t = alt.TitleParams(
        title, subtitle=subtitle or "", fontSize=16, subtitleFontSize=FONT - 1, anchor="start"
    )
    return (
        chart.properties(title=t, height=height)
        .configure_axis(labelFontSize=FONT, titleFontSize=FONT + 1)
        .configure_legend(labelFontSize=FONT, titleFontSize=FONT)
        .configure_view(strokeWidth=0)
        # fit-x: the width follows the container and ``height`` stays the plot's own height
        # (Streamlit's default "fit" squeezes the plot under titles and legends).
        .properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    )


def _series_chart(df, y_title: str, log: bool, scale: str, points: bool = False, fmt: str | None = None):
    """Lines of ``df`` (columns step, series, value), coloured by series."""
    import altair as alt

    domain = [s for s in SERIES if s in set(df["series"])]
    enc = {
        "x": _step_x(scale),
        "y": alt.Y(
            "value:Q",
            title=y_title,
            scale=alt.Scale(type="log") if log else alt.Scale(zero=False),
            axis=alt.Axis(format=fmt) if fmt else alt.Axis(),
        ),
        "color": alt.Color(
            "series:N",
            scale=alt.Scale(domain=domain, range=[SERIES[s] for s in domain]),
            legend=alt.Legend(title=None, orient="top"),
        ),
        "tooltip": [
            "series",
            alt.Tooltip("step:Q", format=","),
            alt.Tooltip("value:Q", format=".3~g" if fmt is None else fmt),
        ],
    }
    line = alt.Chart(df).mark_line(strokeWidth=3, point=points).encode(**enc)
    return line


def _long(table, columns: dict[str, str]):
    """[step, series, value] rows from ``table``'s columns, renamed by ``columns``."""
    import pandas as pd

    parts = [
        pd.DataFrame({"step": table["step"].to_numpy(), "series": name, "value": table[col].to_numpy()})
        for col, name in columns.items()
    ]
    df = pd.concat(parts, ignore_index=True)
    return df[df["value"].notna()]


def _positive(df, floor: float = 1e-12):
    df = df.copy()
    df["value"] = df["value"].clip(lower=floor)
    return df


def _loss_chart(h, spans, f, scale):
    df = _positive(_long(h.curves, {"train_loss": "train loss", "test_loss": "test loss"}))
    return _finish(
        [*_bands(spans, scale), _series_chart(df, "cross-entropy loss (log scale)", True, scale)]
        + _grok_rule(f["grokked"], scale),
        "Loss over training: train vs test",
    )


def _accuracy_chart(h, spans, f, scale):
    df = _long(h.curves, {"train_acc": "train accuracy", "test_acc": "test accuracy"})
    return _finish(
        [*_bands(spans, scale), _series_chart(df, "accuracy", False, scale, fmt=".0%")]
        + _grok_rule(f["grokked"], scale),
        "Accuracy over training: train vs test",
        height=260,
    )


def _progress_chart(h, spans, f, scale):
    import altair as alt
    import pandas as pd

    curves = _long(h.curves, {"train_loss": "train loss", "test_loss": "test loss"})
    measures = _long(h.checkpoints, {"restricted_loss": "restricted loss", "excluded_loss": "excluded loss"})
    lines = _series_chart(_positive(curves), "cross-entropy loss (log scale)", True, scale)
    dots = _series_chart(_positive(measures), "cross-entropy loss (log scale)", True, scale, points=True)
    chance = pd.DataFrame(
        {"value": [f["chance_loss"]], "label": [f"guessing uniformly: ln p = {f['chance_loss']:.2f}"]}
    )
    base = alt.Chart(chance).encode(y=alt.Y("value:Q", scale=alt.Scale(type="log")))
    rule = base.mark_rule(color="#555555", strokeDash=[2, 3], strokeWidth=2)
    label = base.mark_text(
        align="right", baseline="bottom", dy=-3, fontSize=FONT - 1, color="#555555"
    ).encode(x=alt.value("width"), text="label:N")
    return _finish(
        [*_bands(spans, scale), lines, dots, rule, label] + _grok_rule(f["grokked"], scale),
        "Nanda et al.'s progress measures: restricted and excluded loss",
        height=380,
        subtitle="train and test loss for reference; restricted and excluded loss at each checkpoint (dots)",
    )


def _norm_chart(h, spans, f, scale):
    df = _long(h.curves, {"weight_norm": "weight norm"})
    import altair as alt

    line = (
        alt.Chart(df)
        .mark_line(strokeWidth=3, color="#000000")
        .encode(
            x=_step_x(scale),
            y=alt.Y("value:Q", title="total weight norm", scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("step:Q", format=","), alt.Tooltip("value:Q", format=".4g")],
        )
    )
    return _finish(
        [*_bands(spans, scale), line] + _grok_rule(f["grokked"], scale), "Total weight norm", height=280
    )


def _gini_chart(h, spans, f, scale):
    df = _long(h.checkpoints, {"gini_W_E": "Gini"})
    import altair as alt

    line = (
        alt.Chart(df)
        .mark_line(strokeWidth=3, color="#000000", point=True)
        .encode(
            x=_step_x(scale),
            y=alt.Y("value:Q", title="Gini coefficient", scale=alt.Scale(domain=[0, 1])),
            tooltip=[alt.Tooltip("step:Q", format=","), alt.Tooltip("value:Q", format=".3f")],
        )
    )
    return _finish(
        [*_bands(spans, scale), line] + _grok_rule(f["grokked"], scale),
        "Gini coefficient of W_E's Fourier norms",
        height=280,
    )


def _spectrum_heatmap(h, f):
    """[checkpoint x frequency] heatmap of W_E's energy, log colour; rows are checkpoints."""
    import altair as alt
    import numpy as np
    import pandas as pd

    spec = np.asarray(h.spectrum, dtype=np.float64)
    steps = h.checkpoints["step"].to_numpy()
    n_ck, n_f = spec.shape
    floor = max(float(np.nanmax(spec)) * 1e-6, 1e-12) if spec.size else 1e-12
    df = pd.DataFrame(
        {
            "step": np.repeat(steps, n_f),
            "frequency": np.tile(np.arange(n_f), n_ck),
            "energy": np.clip(np.nan_to_num(spec.ravel(), nan=floor), floor, None),
        }
    )
    label_every = max(1, int(np.ceil(n_ck / 16)))
    label_steps = [int(s) for s in steps[::label_every]]
    chart = (
        alt.Chart(df)
        .mark_rect()
        .encode(
            x=alt.X(
                "frequency:O",
                title=f"frequency 0..{n_f - 1} (labelled: the final model's key frequencies)",
                axis=alt.Axis(values=list(f["key_freqs"]), labelAngle=0),
            ),
            y=alt.Y(
                "step:O",
                sort="ascending",
                title="checkpoint (training step)",
                axis=alt.Axis(values=label_steps, format=","),
            ),
            color=alt.Color(
                "energy:Q",
                scale=alt.Scale(type="log", scheme="viridis"),
                legend=alt.Legend(title="energy (log)", format=".0e", orient="right"),
            ),
            tooltip=[
                alt.Tooltip("step:Q", format=","),
                "frequency:Q",
                alt.Tooltip("energy:Q", format=".3~g"),
            ],
        )
    )
    return _finish(
        [chart],
        "W_E's energy per frequency at every checkpoint",
        height=max(260, min(640, 11 * n_ck)),
        subtitle="rows are checkpoints, dense where training changes fast; time runs downwards",
    )


def _neuron_chart(h, spans, f, scale):
    """Neurons per dominant frequency: one band per key frequency, the rest grey."""
    import altair as alt
    import numpy as np
    import pandas as pd

    kf = list(f["key_freqs"])
    steps = h.checkpoints["step"].to_numpy()
    counts = np.asarray(h.neurons, dtype=np.int64)
    groups = {f"frequency {k}": counts[:, k] for k in kf}
    groups["all other frequencies"] = counts[:, 1:].sum(axis=1) - sum(
        groups.values(), np.zeros(len(steps), int)
    )
    rows = [
        pd.DataFrame({"step": steps, "group": g, "neurons": v, "order": i})
        for i, (g, v) in enumerate(groups.items())
    ]
    df = pd.concat(rows, ignore_index=True)
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(kf))] + [OTHER]
    area = (
        alt.Chart(df)
        .mark_area(opacity=0.9, interpolate="linear")
        .encode(
            x=_step_x(scale),
            y=alt.Y(
                "neurons:Q",
                stack="zero",
                title="neurons",
                scale=alt.Scale(domain=[0, int(counts[0, 1:].sum())]),
            ),
            color=alt.Color(
                "group:N",
                scale=alt.Scale(domain=list(groups), range=colours),
                sort=list(groups),
                legend=alt.Legend(title="strongest frequency", orient="right"),
            ),
            order=alt.Order("order:Q"),
            tooltip=["group", alt.Tooltip("step:Q", format=","), "neurons:Q"],
        )
    )
    bounds = pd.DataFrame([{"step": s.start, "phase": s.name} for s in spans[1:]])
    layers = [area]
    if len(bounds):
        base = alt.Chart(bounds).encode(x=_step_x(scale))
        layers += [
            base.mark_rule(color="black", strokeWidth=1.5, strokeDash=[2, 3]),
            base.mark_text(align="left", baseline="top", dx=4, dy=4, fontSize=FONT - 1).encode(
                y=alt.value(0), text="phase:N"
            ),
        ]
    return _finish(
        layers + _grok_rule(f["grokked"], scale),
        "Neurons by their strongest frequency, over training",
        height=340,
        subtitle="dotted lines: start of each phase",
    )


def _snapshot_chart(snap: dict, final: dict, snap_label: str, final_label: str, key_freqs: list[int]):
    import altair as alt
    import numpy as np
    import pandas as pd

    n_f = len(final["norms"])
    df = pd.concat(
        [
            pd.DataFrame({"frequency": np.arange(n_f), "norm": snap["norms"], "model": snap_label}),
            pd.DataFrame({"frequency": np.arange(n_f), "norm": final["norms"], "model": final_label}),
        ],
        ignore_index=True,
    )
    lines = (
        alt.Chart(df)
        .mark_line(strokeWidth=3, point=True)
        .encode(
            x=alt.X(
                "frequency:Q",
                title="frequency",
                scale=alt.Scale(domain=[0, n_f - 1], nice=False),
                axis=alt.Axis(format="d", tickMinStep=1),
            ),
            y=alt.Y("norm:Q", title="norm of W_E at this frequency"),
            color=alt.Color(
                "model:N",
                scale=alt.Scale(domain=[snap_label, final_label], range=[PALETTE[1], PALETTE[0]]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=["model", "frequency", alt.Tooltip("norm:Q", format=".3g")],
        )
    )
    marks = pd.DataFrame({"frequency": key_freqs, "label": [str(k) for k in key_freqs]})
    rules = alt.Chart(marks).mark_rule(color="#888888", strokeDash=[4, 4]).encode(x="frequency:Q")
    labels = (
        alt.Chart(marks)
        .mark_text(baseline="bottom", dy=-2, fontSize=FONT - 1, color="#555555")
        .encode(x="frequency:Q", y=alt.value(0), text="label:N")
    )
    return _finish(
        [rules, lines, labels],
        f"W_E's spectrum: {snap_label} vs {final_label}",
        height=320,
        subtitle="dashed: the final model's key frequencies",
    )


# ---------------------------------------------------------------- prose helpers


def _pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f} %"


def _g(x: float | None, fmt: str = "#.3g") -> str:
    return "n/a" if x is None else format(x, fmt)


def _freq_list(kf: list[int]) -> str:
    kf = [str(k) for k in kf]
    return kf[0] if len(kf) == 1 else ", ".join(kf[:-1]) + " and " + kf[-1]


def _vs_chance(loss: float | None, chance: float) -> str:
    if loss is None:
        return ""
    return "worse than" if loss > chance else "better than"


# ---------------------------------------------------------------- the page


def show() -> None:
    import numpy as np

    from lens.training_story import fourier_norms, key_share, phase_of, phase_spans
    from ui import links

    h, f, whose = _pick_history()
    if "last_step" not in f:
        st.warning(
            f"{h.run_dir / 'history.json'}: the history holds no evaluations, so there is nothing to plot."
        )
        return
    p, kf = f["p"], f["key_freqs"]
    spans = phase_spans(h.phases, f["last_step"])
    recipe = h.meta.get("recipe", {}) if isinstance(h.meta.get("recipe"), dict) else {}
    split = h.meta.get("split", {}) if isinstance(h.meta.get("split"), dict) else {}
    frac = split.get("frac", recipe.get("frac"))
    wd = recipe.get("weight_decay")

    # -- loss and accuracy
    st.header("Loss and accuracy")
    setup = f"Shown: the history of {whose}, p = {p}"
    if isinstance(frac, (int, float)):
        setup += f", trained on {frac:.0%} of the {p * p:,} pairs"
    setup += f" for {f['last_step']:,} full-batch steps"
    if isinstance(wd, (int, float)):
        setup += f" of AdamW with weight decay {wd:g}"
    setup += (
        f". Its key frequencies (those of the final model, used for every checkpoint below) are "
        f"{_freq_list(kf)}."
    )
    st.markdown(setup)

    m, cs, ce, grok = f["memorised"], f["cleanup_start"], f["cleanup_end"], f["grokked"]
    para = []
    if m is not None:
        para.append(
            f"**Memorisation.** Training accuracy first reaches 100 % at step **{m:,}**. At that step "
            f"the test accuracy is {_pct(f['test_acc_at_memorised'])} and the test loss "
            f"{_g(f['test_loss_at_memorised'])}, {_vs_chance(f['test_loss_at_memorised'], f['chance_loss'])} "
            f"guessing uniformly (ln p = {f['chance_loss']:.2f}). The test loss goes on rising, to "
            f"{_g(f['test_loss_peak'])} at step {f['test_loss_peak_step']:,}: the model is confidently "
            "wrong about the pairs it has not seen."
        )
    else:
        para.append("In this run the training accuracy never reached 100 %.")
    if m is not None and cs is not None:
        para.append(
            f"**Circuit formation** (steps {m:,} to {cs:,}). From outside little happens: the test "
            f"accuracy is {_pct(f['test_acc_at_cleanup_start'])} at step {cs:,}, where the test loss "
            f"is {_g(f['test_loss_at_cleanup_start'])}. The progress measures below show what is "
            "happening inside."
        )
    if cs is not None:
        end = ce if ce is not None else f["last_step"]
        para.append(
            f"**Clean-up** (steps {cs:,} to {end:,}). The test loss falls from "
            f"{_g(f['test_loss_at_cleanup_start'])} to "
            f"{_g(f['test_loss_at_cleanup_end'] if ce is not None else f['final_test_loss'])}."
        )
    if grok is not None:
        wall = f["grok_wall_s"]
        when = f", after {wall / 60:.1f} minutes of training" if wall is not None else ""
        para.append(
            f"Test accuracy first reaches {GROK_PCT} at step **{grok:,}**{when}; by the last step, "
            f"{f['last_step']:,}, it is {_pct(f['final_test_acc'], 2)} and the test loss "
            f"{_g(f['final_test_loss'], '.2g')}."
        )
    else:
        para.append(
            f"In this run test accuracy never reached {GROK_PCT}: its best is "
            f"{_pct(f['best_test_acc'])}, at step {f['best_test_acc_step']:,}."
        )
    st.markdown("\n\n".join(para))
    st.caption(
        "Phase boundaries are computed from the curves (Nanda et al. placed theirs by eye): "
        "memorisation ends at the first step with 100 % training accuracy; clean-up starts when "
        "the test loss, on a log scale, has come down 10 % of the way from its peak to its final "
        "value, and ends when it has come 90 % of the way. The last two depend on how long the "
        "run was."
    )
    scale = st.segmented_control(
        "Step axis",
        AXES,
        default=links.choice_param("axis", AXES, AXES[0]),
        required=True,
        key="grokking.step_axis",
        help="log: a symmetric log scale, which stretches the first few hundred steps where memorisation happens",
    )
    links.keep("axis", scale or AXES[0], AXES[0])
    scale = (scale or AXES[0], f["last_step"])
    st.altair_chart(_loss_chart(h, spans, f, scale), width="stretch", key="grokking.loss")
    st.altair_chart(_accuracy_chart(h, spans, f, scale), width="stretch", key="grokking.accuracy")

    # -- progress measures
    st.header("Progress measures")
    st.markdown(
        f"""
A grokking model's logits are built from waves. For the right answer c to win, the logit for
c must be large when c = a + b, and the model writes it as a sum of cos(w(a + b − c)) over
its key frequencies w. Expanding that cosine, each logit varies with the inputs like
cos(w(a + b)) and sin(w(a + b)). Nanda et al. built two losses on this, and watched two
simpler quantities beside them:

- **Restricted loss**: keep, of every logit, only its average and its parts along cos(w(a + b))
  and sin(w(a + b)) for the key frequencies ({_freq_list(kf)}); drop everything else; score
  all p² pairs. *How good would the model be with its wave circuit alone?*
- **Excluded loss**: remove exactly those parts and keep everything else; score the training
  pairs. *How well does the model still fit its training data without the wave circuit*,
  that is, by memorisation alone?
- **Total weight norm**: the square root of the sum of the squares of every weight. Weight
  decay pulls it down at every step; a memorised lookup table needs large weights.
- **Gini coefficient of W_E's Fourier norms**: split the embedding into its p Fourier
  components, take the norm of each, and measure how unequal they are: 0 when every
  component is equally strong, close to 1 when a few hold everything. A sparse, wave-based
  embedding has a high Gini coefficient.
"""
    )
    sentences = []
    if "restricted_at_memorised" in f:
        r_m = f["restricted_at_memorised"]
        verdict = (
            "the wave circuit alone is of little use yet"
            if r_m is not None and r_m > f["chance_loss"] / 2
            else "the wave circuit alone already does far better than guessing"
        )
        sentences.append(
            f"At step {f['ck_memorised']:,}, the first checkpoint after memorisation, the restricted "
            f"loss is {_g(r_m)}, against {f['chance_loss']:.2f} for guessing uniformly: {verdict}."
        )
        if "restricted_at_cleanup_start" in f:
            r_cs, t_cs = f["restricted_at_cleanup_start"], f["test_loss_at_ck_cleanup_start"]
            ahead = r_cs is not None and t_cs is not None and r_cs < t_cs / 10
            sentences.append(
                f"By step {f['ck_cleanup_start']:,}, where clean-up starts, it is "
                f"{_g(r_cs)} while the test loss is {'still ' if ahead else ''}{_g(t_cs)}"
                + (": the circuit is in place before the test loss shows it." if ahead else ".")
            )
        sentences.append(f"At the end it is {_g(f['restricted_final'], '.2g')}.")
    if "excluded_peak" in f:
        worse = f["excluded_peak"] is not None and f["excluded_peak"] > f["chance_loss"]
        sentences.append(
            f"The excluded loss rises from {_g(f['excluded_at_memorised'])} at step "
            f"{f['ck_memorised']:,} to {_g(f['excluded_peak'])} at step {f['excluded_peak_step']:,}"
            + (f", worse than guessing ({f['chance_loss']:.2f})," if worse else "")
            + f" while the training loss stays below {_g(f['train_loss_max_until_excluded_peak'], '.2g')}. "
            + (
                "Without those few frequencies the model can no longer recall even the pairs it "
                "trained on: it fits them through the key frequencies and no longer by memorisation."
                if worse
                else "The model fits its training pairs more and more through the key frequencies "
                "and less and less through anything else."
            )
        )
    if sentences:
        st.markdown(" ".join(sentences))
    st.altair_chart(_progress_chart(h, spans, f, scale), width="stretch", key="grokking.progress")

    drop = 1 - f["weight_norm_final"] / f["weight_norm_peak"] if f["weight_norm_peak"] else 0.0
    norm_text = (
        f"The weight norm starts at {f['weight_norm_start']:.1f}, peaks at {f['weight_norm_peak']:.1f} "
        f"at step {f['weight_norm_peak_step']:,} and ends at {f['weight_norm_final']:.1f}, "
        f"{drop:.0%} below its peak."
    )
    if cs is not None and f.get("weight_norm_at_cleanup_start") is not None:
        end_norm = f.get("weight_norm_at_cleanup_end") if ce is not None else f["weight_norm_final"]
        norm_text += (
            f" During clean-up it falls from {f['weight_norm_at_cleanup_start']:.1f} to {end_norm:.1f}."
        )
    gini_steps = [f"{f['gini_start']:.2f} at step {f['first_checkpoint']:,}"]
    for name in ("memorised", "cleanup_start"):
        if f"gini_at_{name}" in f:
            gini_steps.append(f"{f[f'gini_at_{name}']:.2f} at step {f[f'ck_{name}']:,}")
    gini_steps.append(f"{f['gini_final']:.2f} at step {f['last_checkpoint']:,}")
    st.markdown(
        norm_text + " The Gini coefficient is " + ", ".join(gini_steps[:-1]) + " and " + gini_steps[-1] + "."
    )
    left, right = st.columns(2)
    with left:
        st.altair_chart(_norm_chart(h, spans, f, scale), width="stretch", key="grokking.norm")
    with right:
        st.altair_chart(_gini_chart(h, spans, f, scale), width="stretch", key="grokking.gini")

    # -- the embedding's spectrum
    st.header("The embedding's spectrum over training")
    even = len(kf) / (p // 2) if p // 2 else 0.0
    spectrum_facts = [f"{_pct(f['energy_key_share_start'], 0)} at step {f['first_checkpoint']:,}"]
    for name in ("memorised", "cleanup_start"):
        if f"energy_key_share_at_{name}" in f:
            spectrum_facts.append(f"{_pct(f[f'energy_key_share_at_{name}'], 0)} at step {f[f'ck_{name}']:,}")
    spectrum_facts.append(f"{_pct(f['energy_key_share_final'], 0)} at step {f['last_checkpoint']:,}")
    st.markdown(
        f"""
Every number token's embedding is a row of W_E; read down the {p} tokens, each of its
columns is a signal, and its energy splits over the frequencies 0..{p // 2}. At
initialisation the energy is spread over all of them. The share held by the key frequencies
{_freq_list(kf)} (frequency 0, the average over tokens, left out) is
{", ".join(spectrum_facts[:-1])} and {spectrum_facts[-1]}; an even spread would give them
{_pct(even, 0)}.
"""
    )
    st.altair_chart(_spectrum_heatmap(h, f), width="stretch", key="grokking.heatmap")

    from ui.scope import Marker
    from ui.scope_widget import show_scope

    steps = h.checkpoints["step"].to_numpy()
    norms = fourier_norms(h.spectrum, p).astype(np.float32)
    shares = key_share(h.spectrum, kf, skip_constant=True)
    test_acc = h.checkpoints["test_acc"].to_numpy()
    st.markdown(
        "Press **play** (or drag the slider) to step through the checkpoints in your browser and "
        "watch the key frequencies (marked) rise out of the noise."
    )
    show_scope(
        norms,
        ("checkpoint", "frequency"),
        key="grokking.spectrum_scope",
        play="checkpoint",
        view="space",
        fourier=False,
        markers=lambda ix: [Marker(float(k), str(k), "space") for k in kf],
        caption=lambda ix: (
            f"step {int(steps[ix['checkpoint']]):,} ({phase_of(int(steps[ix['checkpoint']]), spans)}) · "
            f"test accuracy {_pct(float(test_acc[ix['checkpoint']]))} · key frequencies hold "
            f"{_pct(float(shares[ix['checkpoint']]), 0)} of the energy"
        ),
        title="W_E's norm per frequency, checkpoint by checkpoint",
        x_title="frequency",
        y_title="norm of W_E at this frequency",
        height=340,
    )

    # -- neurons
    st.header("Neurons gather on the key frequencies")
    neuron_facts = [f"{_pct(f['neuron_key_share_start'], 0)} at step {f['first_checkpoint']:,}"]
    for name in ("memorised", "cleanup_start"):
        if f"neuron_key_share_at_{name}" in f:
            neuron_facts.append(f"{_pct(f[f'neuron_key_share_at_{name}'], 0)} at step {f[f'ck_{name}']:,}")
    neuron_facts.append(f"{_pct(f['neuron_key_share_final'], 0)} at step {f['last_checkpoint']:,}")
    st.markdown(
        f"""
Each of the {f["d_mlp"]} MLP neurons is assigned the frequency (1..{p // 2}) with the most
energy in its pre-activation along b. The share of neurons whose strongest frequency is a key
frequency is {", ".join(neuron_facts[:-1])} and {neuron_facts[-1]}; an even spread would
give {_pct(f["neuron_key_share_chance"], 0)}.
"""
    )
    st.altair_chart(_neuron_chart(h, spans, f, scale), width="stretch", key="grokking.neurons")

    # -- snapshots
    st.header("Snapshots")
    snaps = list(h.snapshot_steps)
    if not snaps:
        st.info("This run kept no snapshots of its weights.")
        return
    st.markdown(
        f"""
The trainer kept the full weights at {len(snaps)} steps. Pick one to run it on all {p * p:,}
pairs and compare its embedding's spectrum with the final model's.
"""
    )
    if len(spans) >= 2:
        target = (spans[1].start + spans[1].end) // 2  # the middle of circuit formation
    else:
        target = snaps[len(snaps) // 2]
    default = snaps[min(range(len(snaps)), key=lambda i: (abs(snaps[i] - target), snaps[i]))]
    chosen = st.selectbox(
        "Snapshot",
        snaps,
        index=snaps.index(links.choice_param("snapshot", snaps, default)),
        format_func=lambda s: f"step {s:,} ({phase_of(s, spans)})",
        key="grokking.snapshot",
    )
    links.keep("snapshot", int(chosen), default)
    from lens.checkpoint import CheckpointError
    from lens.history import snapshot_dir

    try:
        with st.spinner("Running the snapshot on all pairs…"):
            snap = _weights_summary(str(snapshot_dir(h.run_dir, int(chosen))))
            final = _weights_summary(str(h.run_dir))
    except (CheckpointError, OSError, ValueError) as err:
        st.error(str(err).splitlines()[0] if str(err) else type(err).__name__)
        return
    final_step = final["step"] if final["step"] is not None else f["last_step"]
    snap_label = f"step {int(chosen):,}"
    final_label = f"final model (step {final_step:,})"
    sk = key_share(snap["energy"][None], kf, skip_constant=True)[0]
    fk = key_share(final["energy"][None], kf, skip_constant=True)[0]
    st.markdown(
        f"At step {int(chosen):,} ({phase_of(int(chosen), spans)}) the model answers "
        f"{_pct(snap['acc']['train'])} of its training pairs and **{_pct(snap['acc']['test'])}** of the "
        f"test pairs correctly (test loss {_g(snap['loss']['test'])}); the final model "
        f"{_pct(final['acc']['train'])} and {_pct(final['acc']['test'])} (test loss "
        f"{_g(final['loss']['test'], '.2g')}). The key frequencies hold {_pct(sk, 0)} of this "
        f"snapshot's embedding energy, against {_pct(fk, 0)} in the final model."
    )
    st.altair_chart(
        _snapshot_chart(snap, final, snap_label, final_label, kf),
        width="stretch",
        key="grokking.snapshot_chart",
    )


show()
