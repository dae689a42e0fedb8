"""The Neurons page's figures: the groups chart and table, and what its scopes draw.

The scopes themselves are drawn by :func:`ui.scope_widget.show_scope`; what is here is what
the page hands it: the lines (legend name -> array) and the captions, functions of the
browser-side slice's index dict (``{"member": 3, ...}``: the 4th neuron of the group).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from lens.stacks import RunningStack
from lens.story.neurons import GroupFacts, NeuronsFacts, RunningSums
from ui.theme import PALETTE, num, pct

Index = dict[str, int]


def groups_spec(frequencies: tuple[int, ...], neurons: tuple[int, ...], shares: tuple[float, ...]) -> dict:
    """Neurons per key frequency, as bars with their counts on top (a styled spec: cache it
    with ``ui.data.of_args``, keyed by these plain tuples)."""
    import altair as alt

    from ui.charts import spec

    per = pd.DataFrame({"frequency": list(frequencies), "neurons": list(neurons), "share": list(shares)})
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


def groups_table(f: NeuronsFacts) -> pd.DataFrame:
    """One row per key frequency, formatted: neurons, their share of all, mean share, weak
    neurons and mean activity."""
    n = max(f.n_neurons, 1)
    return pd.DataFrame(
        {
            "frequency": np.asarray(f.key_frequencies, dtype=int),
            "neurons": f.neurons_per_frequency.astype(int),
            "% of all": [num(100 * k / n, ".1f") for k in f.neurons_per_frequency],
            "mean share": [pct(x, 1) for x in f.mean_share],
            "share < 50%": f.weak_per_frequency.astype(int),
            "active": [pct(x, 0) for x in f.mean_active],
        }
    )


def running_lines(rs: RunningSums) -> dict[str, RunningStack]:
    """The three running-sum curves by legend name, drawn in this order: the sum without the
    ReLU last, on top (for ideal neurons it is a flat 0). Stacks computed a slice at a time
    (:mod:`lens.stacks`): the scope asks for the neuron slice it shows."""
    return {
        "running sum, with ReLU": rs.with_relu,
        f"this neuron (× {num(rs.scale, '.0f')})": rs.one_neuron,
        "running sum, without ReLU": rs.without_relu,
    }


def neuron_caption(g: GroupFacts) -> Callable[[Index], str]:
    """The neuron of the slice: its index and its phase."""
    return lambda ix: (
        f"member {ix['member']} of the group is neuron {g.neurons[ix['member']]}, "
        f"phase {num(g.phases[ix['member']], '+.2f')} rad"
    )
