"""The Grokking page's charts, drawn from a run's training history and its facts.

Each builder returns an ``alt.LayerChart`` (testable through ``.to_dict()``) that the page
hands to ``st.altair_chart``. The step axis is ``scale = ("linear" | "log", last step)``;
phases come from :attr:`lens.training_story.GrokkingFacts.spans`. Colours, type sizes and
the percentage format come from :mod:`ui.theme`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import numpy as np
import pandas as pd

from lens.metrics import GROK_ACC
from ui.theme import CHART_TITLE_FONT, FONT, MUTED, OTHER, PALETTE, TITLE_FONT, pct

if TYPE_CHECKING:  # pragma: no cover
    from lens.history import History
    from lens.training_story import GrokkingFacts, WeightsSummary

Scale = tuple[str, int]  # ("linear" | "log", last step)
AXES = ["linear", "log"]  # the step axis; a link's ?axis= picks one

PHASE_FILL = {"memorisation": PALETTE[1], "circuit formation": PALETTE[4], "clean-up": PALETTE[2]}
SERIES = {
    "train loss": PALETTE[0],
    "test loss": PALETTE[5],
    "restricted loss": PALETTE[2],
    "excluded loss": PALETTE[3],
    "train accuracy": PALETTE[0],
    "test accuracy": PALETTE[5],
}
KEY_RULE = "#888888"  # the dashed key-frequency rules of the snapshot chart


GROK_PCT = pct(GROK_ACC, 1)  # "99.9%": the test accuracy that counts as grokked


def step_x(scale: Scale, field: str = "step", title: str | None = "training step"):
    """The step axis; ``scale`` is ("linear" | "log", last step). "log" is a symmetric log
    scale (step 0 stays on it), with ticks at 1-3-10 steps."""
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


def _bands(spans, scale: Scale) -> list:
    """Shaded phases, named in a legend (a label inside a phase only a few pixels wide, as
    memorisation is on a linear step axis, would overprint its neighbour)."""
    if not spans:
        return []
    df = pd.DataFrame([{"phase": s.name, "start": s.start, "end": s.end} for s in spans])
    fill = alt.Scale(domain=list(PHASE_FILL), range=list(PHASE_FILL.values()))
    rect = (
        alt.Chart(df)
        .mark_rect(opacity=0.13)
        .encode(
            x=step_x(scale, "start"),
            x2="end:Q",
            fill=alt.Fill("phase:N", scale=fill, legend=alt.Legend(title="phase", orient="bottom")),
            tooltip=["phase", alt.Tooltip("start:Q", format=","), alt.Tooltip("end:Q", format=",")],
        )
    )
    return [rect]


def _grok_rule(step: int | None, scale: Scale) -> list:
    if step is None:
        return []
    df = pd.DataFrame({"step": [step], "label": [f"test accuracy ≥ {GROK_PCT} (step {step:,})"]})
    base = alt.Chart(df).encode(x=step_x(scale))
    rule = base.mark_rule(color="black", strokeDash=[6, 4], strokeWidth=2)
    # The label runs from the rule into the wider side of the plot, cut (with an ellipsis)
    # at the plot's edge: on a phone's 300 px a label running out of the plot would widen
    # the chart's bounds and push its title off the left edge.
    left = _x_fraction(step, scale) < 0.5
    room = f"(1 - {_x_fraction(step, scale):.4f})" if left else f"{_x_fraction(step, scale):.4f}"
    label = base.mark_text(
        align="left" if left else "right",
        baseline="bottom",
        dx=4 if left else -4,
        fontSize=FONT - 1,
        angle=0,
        color="black",
        limit=alt.ExprRef(f"max(60, width * {room} - 6)"),
    ).encode(y=alt.value(-4), text="label:N")
    return [rule, label]


def _x_fraction(step: int, scale: Scale) -> float:
    """Where ``step`` sits across the step axis, 0 (left) to 1 (right)."""
    import math

    kind, last = scale
    if last <= 0:
        return 0.0
    if kind == "log":  # the symlog scale of step_x (constant 10)
        return math.log1p(step / 10) / math.log1p(last / 10)
    return step / last


def _finish(layers: list, title: str, height: int = 320, subtitle: str | None = None):
    chart = alt.layer(*layers).resolve_scale(color="independent")
    t = alt.TitleParams(
        title, subtitle=subtitle or "", fontSize=CHART_TITLE_FONT, subtitleFontSize=FONT - 1, anchor="start"
    )
    return (
        chart.properties(title=t, height=height)
        .configure_axis(labelFontSize=FONT, titleFontSize=TITLE_FONT)
        .configure_legend(labelFontSize=FONT, titleFontSize=FONT)
        .configure_view(strokeWidth=0)
        # fit-x: the width follows the container and ``height`` stays the plot's own height
        # (Streamlit's default "fit" squeezes the plot under titles and legends).
        .properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    )


def _series_chart(df, y_title: str, log: bool, scale: Scale, points: bool = False, fmt: str | None = None):
    """Lines of ``df`` (columns step, series, value), coloured by series."""
    domain = [s for s in SERIES if s in set(df["series"])]
    enc = {
        "x": step_x(scale),
        "y": alt.Y(
            "value:Q",
            title=y_title,
            scale=alt.Scale(type="log") if log else alt.Scale(zero=False),
            # One tick style on a log axis: every label in 1e-7 form (Vega's default mixes
            # "0.000001" with "1e-7").
            axis=alt.Axis(format=fmt) if fmt else alt.Axis(format=".0e") if log else alt.Axis(),
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


def loss_chart(h: History, f: GrokkingFacts, scale: Scale) -> alt.LayerChart:
    """Train and test loss over training (log scale), phases shaded, the grok step marked."""
    df = _positive(_long(h.curves, {"train_loss": "train loss", "test_loss": "test loss"}))
    return _finish(
        [*_bands(f.spans, scale), _series_chart(df, "cross-entropy loss (log scale)", True, scale)]
        + _grok_rule(f.grokked, scale),
        "Loss over training: train vs test",
    )


def accuracy_chart(h: History, f: GrokkingFacts, scale: Scale) -> alt.LayerChart:
    """Train and test accuracy over training."""
    df = _long(h.curves, {"train_acc": "train accuracy", "test_acc": "test accuracy"})
    return _finish(
        [*_bands(f.spans, scale), _series_chart(df, "accuracy", False, scale, fmt=".0%")]
        + _grok_rule(f.grokked, scale),
        "Accuracy over training: train vs test",
        height=260,
    )


def progress_chart(h: History, f: GrokkingFacts, scale: Scale) -> alt.LayerChart:
    """Restricted and excluded loss at the checkpoints (dots) over the train and test loss,
    with the loss of guessing uniformly."""
    curves = _long(h.curves, {"train_loss": "train loss", "test_loss": "test loss"})
    measures = _long(h.checkpoints, {"restricted_loss": "restricted loss", "excluded_loss": "excluded loss"})
    lines = _series_chart(_positive(curves), "cross-entropy loss (log scale)", True, scale)
    dots = _series_chart(_positive(measures), "cross-entropy loss (log scale)", True, scale, points=True)
    chance = pd.DataFrame(
        {"value": [f.chance_loss], "label": [f"guessing uniformly: ln p = {f.chance_loss:.2f}"]}
    )
    base = alt.Chart(chance).encode(y=alt.Y("value:Q", scale=alt.Scale(type="log")))
    rule = base.mark_rule(color=MUTED, strokeDash=[2, 3], strokeWidth=2)
    label = base.mark_text(align="right", baseline="bottom", dy=-3, fontSize=FONT - 1, color=MUTED).encode(
        x=alt.value("width"), text="label:N"
    )
    return _finish(
        [*_bands(f.spans, scale), lines, dots, rule, label] + _grok_rule(f.grokked, scale),
        "Nanda et al.'s progress measures: restricted and excluded loss",
        height=380,
        subtitle="train and test loss for reference; restricted and excluded loss at each checkpoint (dots)",
    )


def norm_chart(h: History, f: GrokkingFacts, scale: Scale) -> alt.LayerChart:
    """The total weight norm over training."""
    df = _long(h.curves, {"weight_norm": "weight norm"})
    line = (
        alt.Chart(df)
        .mark_line(strokeWidth=3, color=PALETTE[6])
        .encode(
            x=step_x(scale),
            y=alt.Y("value:Q", title="total weight norm", scale=alt.Scale(zero=False)),
            tooltip=[alt.Tooltip("step:Q", format=","), alt.Tooltip("value:Q", format=".4g")],
        )
    )
    return _finish(
        [*_bands(f.spans, scale), line] + _grok_rule(f.grokked, scale), "Total weight norm", height=280
    )


def gini_chart(h: History, f: GrokkingFacts, scale: Scale) -> alt.LayerChart:
    """The Gini coefficient of W_E's Fourier norms at the checkpoints."""
    df = _long(h.checkpoints, {"gini_W_E": "Gini"})
    line = (
        alt.Chart(df)
        .mark_line(strokeWidth=3, color=PALETTE[6], point=True)
        .encode(
            x=step_x(scale),
            y=alt.Y("value:Q", title="Gini coefficient", scale=alt.Scale(domain=[0, 1])),
            tooltip=[alt.Tooltip("step:Q", format=","), alt.Tooltip("value:Q", format=".3f")],
        )
    )
    return _finish(
        [*_bands(f.spans, scale), line] + _grok_rule(f.grokked, scale),
        "Gini coefficient of W_E's Fourier norms",
        height=280,
    )


def spectrum_heatmap(h: History, f: GrokkingFacts) -> alt.LayerChart:
    """[checkpoint x frequency] heatmap of W_E's energy, log colour; rows are checkpoints."""
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
                axis=alt.Axis(values=list(f.key_freqs), labelAngle=0),
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
                # Under the plot, not beside it: on a phone a legend at the right left the
                # plot (and its title) 160 px.
                legend=alt.Legend(title="energy (log)", format=".0e", orient="bottom"),
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


def neuron_chart(h: History, f: GrokkingFacts, scale: Scale) -> alt.LayerChart:
    """Neurons per dominant frequency: one band per key frequency, the rest grey."""
    kf = list(f.key_freqs)
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
            x=step_x(scale),
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
                legend=alt.Legend(title="strongest frequency", orient="bottom"),
            ),
            order=alt.Order("order:Q"),
            tooltip=["group", alt.Tooltip("step:Q", format=","), "neurons:Q"],
        )
    )
    bounds = pd.DataFrame([{"step": s.start, "phase": s.name} for s in f.spans[1:]])
    layers = [area]
    if len(bounds):
        base = alt.Chart(bounds).encode(x=step_x(scale))
        layers += [
            base.mark_rule(color="black", strokeWidth=1.5, strokeDash=[2, 3]),
            base.mark_text(align="left", baseline="top", dx=4, dy=4, fontSize=FONT - 1).encode(
                y=alt.value(0), text="phase:N"
            ),
        ]
    return _finish(
        layers + _grok_rule(f.grokked, scale),
        "Neurons by their strongest frequency, over training",
        height=340,
        subtitle="dotted lines: start of each phase",
    )


def snapshot_chart(
    snap: WeightsSummary, final: WeightsSummary, snap_label: str, final_label: str, key_freqs: list[int]
) -> alt.LayerChart:
    """W_E's norm per frequency of a snapshot against the final model's, key frequencies dashed."""
    n_f = len(final.norms)
    df = pd.concat(
        [
            pd.DataFrame({"frequency": np.arange(n_f), "norm": snap.norms, "model": snap_label}),
            pd.DataFrame({"frequency": np.arange(n_f), "norm": final.norms, "model": final_label}),
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
    rules = alt.Chart(marks).mark_rule(color=KEY_RULE, strokeDash=[4, 4]).encode(x="frequency:Q")
    labels = (
        alt.Chart(marks)
        .mark_text(baseline="bottom", dy=-2, fontSize=FONT - 1, color=MUTED)
        .encode(x="frequency:Q", y=alt.value(0), text="label:N")
    )
    return _finish(
        [rules, lines, labels],
        f"W_E's spectrum: {snap_label} vs {final_label}",
        height=320,
        subtitle="dashed: the final model's key frequencies",
    )
