"""The charts of "How each neuron picked its frequency" (the Grokking page's last section).

Each builder takes plain tuples (what :class:`lens.lottery.Lottery` holds, as ints and
floats) and returns a styled spec (:func:`ui.charts.spec`), so the page caches it with
``ui.data.of_args`` and draws it with :func:`ui.charts.show`:

- :func:`heatmap_spec`: neuron × kept snapshot, coloured by the neuron's dominant frequency
  there (each key frequency its own colour, every other frequency grey);
- :func:`settle_spec`: how many neurons settle on their final frequency at each kept step;
- :func:`tickets_spec`: the ticket rate at each kept step beside its chance level;
- :func:`excluded_spec`: the excluded loss without each key frequency, over the kept steps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ui.theme import CHART_TITLE_FONT, FONT, MUTED, OTHER, PALETTE

OTHER_LABEL = "any other frequency"


def _title(alt, text: str, subtitle: str = ""):
    return alt.TitleParams(
        text, subtitle=subtitle, fontSize=CHART_TITLE_FONT, subtitleFontSize=FONT - 1, anchor="start"
    )


def _freq_colours(key_freqs: tuple[int, ...]) -> tuple[list[str], list[str]]:
    names = [f"frequency {k}" for k in key_freqs] + [OTHER_LABEL]
    return names, [PALETTE[i % len(PALETTE)] for i in range(len(key_freqs))] + [OTHER]


def _step_axis(alt, steps: tuple[int, ...], title: str = "kept snapshot (training step)"):
    """Kept steps as evenly spaced columns (they are far from evenly spaced in time)."""
    return alt.X(
        "label:O",
        title=title,
        sort=[f"{s:,}" for s in steps],
        axis=alt.Axis(labelAngle=0, labelOverlap=False),
    )


def heatmap_spec(
    steps: tuple[int, ...], key_freqs: tuple[int, ...], rows: "tuple[tuple[int, ...], ...] | np.ndarray"
) -> dict:
    """``rows``: per neuron (in the order to draw them, top to bottom) its dominant frequency
    at each of ``steps``; ``rows[i]`` is ``(neuron index, f at steps[0], f at steps[1], ...)``."""
    import altair as alt

    from ui.charts import spec

    names, colours = _freq_colours(key_freqs)
    table = np.asarray(rows, dtype=np.int64).reshape(len(rows), len(steps) + 1)
    n, s = len(rows), len(steps)
    freq = table[:, 1:].ravel()
    df = pd.DataFrame(
        {
            "row": np.repeat(np.arange(n), s),
            "neuron": np.repeat(table[:, 0], s),
            "label": np.tile([f"{x:,}" for x in steps], n),
            "frequency": freq,
            "group": [f"frequency {f}" if f in key_freqs else OTHER_LABEL for f in freq],
        }
    )
    chart = (
        alt.Chart(df)
        .mark_rect()
        .encode(
            x=_step_axis(alt, steps),
            y=alt.Y("row:O", title=f"neuron ({n}, sorted by final frequency)", axis=None),
            color=alt.Color(
                "group:N",
                scale=alt.Scale(domain=names, range=colours),
                legend=alt.Legend(title="dominant frequency", orient="bottom"),
            ),
            tooltip=["neuron:Q", alt.Tooltip("label:N", title="step"), "frequency:Q"],
        )
        .properties(
            height=min(720, max(240, n)),
            title=_title(
                alt,
                "Each neuron's dominant frequency at every kept snapshot",
                f"one row per neuron, sorted by the frequency it ends with; {s} columns, one per kept "
                "snapshot",
            ),
        )
    )
    return spec(chart)


def settle_spec(steps: tuple[int, ...], counts: tuple[int, ...]) -> dict:
    """Bars: how many neurons settle (take their final frequency for good) at each kept step."""
    import altair as alt

    from ui.charts import spec

    df = pd.DataFrame({"label": [f"{x:,}" for x in steps], "neurons": list(counts)})
    top = max(counts) if counts else 1
    bars = (
        alt.Chart(df)
        .mark_bar(color=PALETTE[0])
        .encode(
            x=_step_axis(alt, steps, "settled by this kept step (and not at the one before)"),
            y=alt.Y("neurons:Q", title="neurons", scale=alt.Scale(domain=[0, top * 1.18], nice=False)),
            tooltip=[alt.Tooltip("label:N", title="step"), "neurons:Q"],
        )
    )
    labels = bars.mark_text(dy=-10, fontSize=FONT).encode(text="neurons:Q")
    return spec(
        alt.layer(bars, labels).properties(
            height=280, title=_title(alt, "When each neuron's frequency is settled")
        )
    )


def tickets_spec(
    steps: tuple[int, ...],
    rates: tuple[float, ...],
    chance: tuple[float, ...],
    low: tuple[float, ...],
    high: tuple[float, ...],
    uniform: float,
    permutations: int,
) -> dict:
    """The measured ticket rate (dots) at each kept step beside the permutation baseline
    (its mean as a tick, its 95% range as a bar) and 1 / K (dashed)."""
    import altair as alt

    from ui.charts import spec

    labels = [f"{x:,}" for x in steps]
    df = pd.DataFrame({"label": labels, "rate": rates, "chance": chance, "low": low, "high": high})
    x = _step_axis(alt, steps, "ranking read at this kept step")
    share = "share of neurons"
    y = alt.Y("rate:Q", title=share, scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%"))
    tip = [
        alt.Tooltip("label:N", title="step"),
        alt.Tooltip("rate:Q", title="measured", format=".1%"),
        alt.Tooltip("chance:Q", title="chance", format=".1%"),
        alt.Tooltip("low:Q", title="chance, 2.5%", format=".1%"),
        alt.Tooltip("high:Q", title="chance, 97.5%", format=".1%"),
    ]
    range_bar = (
        alt.Chart(df)
        .mark_rule(color=OTHER, strokeWidth=10)
        .encode(x=x, y=alt.Y("low:Q", title=share, scale=alt.Scale(domain=[0, 1])), y2="high:Q", tooltip=tip)
    )
    chance_tick = (
        alt.Chart(df)
        .mark_tick(color=MUTED, thickness=3, size=22)
        .encode(x=x, y=alt.Y("chance:Q", title=share, scale=alt.Scale(domain=[0, 1])), tooltip=tip)
    )
    measured = alt.Chart(df).mark_circle(color=PALETTE[5], size=140, opacity=1).encode(x=x, y=y, tooltip=tip)
    rule = (
        alt.Chart(pd.DataFrame({"uniform": [uniform]}))
        .mark_rule(color=MUTED, strokeDash=[4, 4])
        .encode(y=alt.Y("uniform:Q", title=share, scale=alt.Scale(domain=[0, 1])))
    )
    return spec(
        alt.layer(range_bar, chance_tick, rule, measured).properties(
            height=300,
            title=_title(
                alt,
                "The lottery: final frequency = strongest key frequency at this step?",
                f"red dots: measured; grey bars: 95% of {permutations:,} permutations, tick: their mean; "
                "dashed: 1 / K",
            ),
        )
    )


def excluded_spec(
    steps: tuple[int, ...],
    key_freqs: tuple[int, ...],
    excluded: tuple[tuple[float, ...], ...],
    excluded_all: tuple[float, ...],
) -> dict:
    """The excluded loss without each key frequency (``excluded[i][j]``: at steps[i], without
    key_freqs[j]) and without all of them, at the kept steps; log loss, symmetric log steps."""
    import altair as alt

    from ui.charts import spec
    from ui.figures.grokking import step_x

    names, colours = _freq_colours(key_freqs)
    names, colours = [f"without {n}" for n in names[:-1]] + ["without all"], colours[:-1] + [PALETTE[6]]
    table = np.asarray(excluded, dtype=np.float64).reshape(len(steps), len(key_freqs))
    parts = [
        pd.DataFrame({"step": list(steps), "series": names[j], "loss": table[:, j]})
        for j in range(len(key_freqs))
    ]
    parts.append(pd.DataFrame({"step": list(steps), "series": "without all", "loss": list(excluded_all)}))
    df = pd.concat(parts, ignore_index=True)
    df = df[np.isfinite(df["loss"])]
    df["loss"] = df["loss"].clip(lower=1e-12)
    last = max(steps) if steps else 1
    chart = (
        alt.Chart(df)
        .mark_line(strokeWidth=3, point=True)
        .encode(
            x=step_x(("log", last), title="training step (kept snapshots)"),
            y=alt.Y("loss:Q", title="excluded loss (training pairs, log scale)", scale=alt.Scale(type="log")),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=names, range=colours),
                legend=alt.Legend(title="key frequency removed", orient="bottom"),
            ),
            strokeDash=alt.condition(alt.datum.series == "without all", alt.value([6, 4]), alt.value([1, 0])),
            tooltip=["series:N", alt.Tooltip("step:Q", format=","), alt.Tooltip("loss:Q", format=".3~g")],
        )
        .properties(
            height=340,
            title=_title(
                alt,
                "Excluded loss per key frequency, over training",
                "the training loss with one key frequency's cos/sin(w(a + b)) parts removed from the logits",
            ),
        )
    )
    return spec(chart)
