"""Clock or pizza?: Zhong et al. 2023's two algorithms, and which one this model runs.

Run by ``st.navigation`` as a script: number-free prose first (the two algorithms, and how
the seed's "cosine centred at c/2" is the pizza's midpoint), so it reaches the browser
before any measurement; then :func:`show` writes the verdict on the loaded model (the claim
``clock-or-pizza`` through ``ui.claims``, so the sentence follows the measured verdict), the
two diagnostics for it (:func:`lens.story.clock_pizza.facts`), and the same diagnostics over
the training run's kept snapshots (:func:`lens.story.clock_pizza.snapshot_diagnostics`, one
cache entry per snapshot path), drawn with Zhong et al.'s clock and pizza reference values
on the same axes (:mod:`ui.figures.clock_pizza`). No widgets, so no deep-link parameters.
"""

from __future__ import annotations

import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("Clock or pizza?")
st.markdown(
    r"""
Networks trained on modular addition do not all find the same algorithm. Zhong et al. (2023),
*The Clock and the Pizza*, found two families, and two measurements that tell them apart.

**The clock** (Nanda et al.'s algorithm, the one the other pages follow). Each key frequency
k, with $\omega = 2\pi k/p$, turns a and b into angles, points $\omega a$ and $\omega b$ on a
circle. The network then *composes* the two rotations, which takes products of a's wave and
b's: $\cos(\omega a)\cos(\omega b) - \sin(\omega a)\sin(\omega b) = \cos(\omega(a + b))$. The logit
for each answer c reads $\cos(\omega(a + b - c))$, largest at $c = a + b$. Its correct logit depends on a + b alone, and a and b reach it through
different factors of a product.

**The pizza**. It *averages* first: the midpoint of the two points on the circle is
"""
)
st.latex(
    r"\tfrac{1}{2}\left(\cos\omega a + \cos\omega b,\ \sin\omega a + \sin\omega b\right)"
    r" = \cos\!\left(\tfrac{\omega(a - b)}{2}\right)"
    r"\left(\cos\tfrac{\omega(a + b)}{2},\ \sin\tfrac{\omega(a + b)}{2}\right)."
)
st.markdown(
    r"""
It points at the half-angle $\omega(a + b)/2$, so its direction names the answer, but its length
$|\cos(\omega(a - b)/2)|$ depends on the distance a − b. The network reads the answer off which slice
of the circle the midpoint falls in (the slices are the pizza), with a nonlinearity that also
settles the sign. Its correct logit therefore varies with a − b, and since a and b enter only
through their sum, the network's gradients with respect to their two embeddings are equal.

**The two diagnostics.** *Distance irrelevance*: lay the correct logit out by a + b and a − b;
how much of its spread is left when a − b is held fixed. Near 1 the distance does not matter
(a clock); low, it is most of what varies (a pizza). *Gradient symmetricity*: over sampled
(a, b, c), the cosine between $\partial z_c / \partial E(a)$ and $\partial z_c / \partial E(b)$, the
gradients of the logit $z_c$ with respect to the embeddings of a and of b. Near 1
for a pizza, lower for a clock.

**The seed's "cosine centred at c/2" is the pizza's midpoint.** The notebook this app grows
from pictures attention weighing a and b equally and handing on $\cos(\omega a) + \cos(\omega b)$. Read along
the inputs that share an answer c (b = c − a), that sum is
"""
)
st.latex(
    r"\cos\omega a + \cos\omega(c - a)"
    r" = 2\cos\!\left(\tfrac{\omega c}{2}\right)\cos\!\left(\omega\left(a - \tfrac{c}{2}\right)\right),"
)
st.markdown(
    r"""
a cosine in a that is mirror-symmetric about a = c/2, with an amplitude $2\cos(\omega c/2)$ set by the
answer. It is the first coordinate of the pizza's midpoint (times two), read along a line of
fixed a + b: since a − c/2 = (a − b)/2, the cosine in a is the midpoint's length
$\cos(\omega(a - b)/2)$, and the amplitude is its direction's cosine, $\cos(\omega(a + b)/2)$. Because that amplitude changes sign with c, about half the answers get a trough at c/2 (a
peak at c/2 + p/2): the midpoint points at $\omega(a + b)/2$ or at its opposite, the ambiguity a
pizza's readout has to settle. So the seed's picture is a pizza's first step: equal weights,
add the embeddings. A pizza reads the answer off that midpoint; a clock must go on to
multiply the two waves, which in this architecture is the ReLU's work. Below: which of the
two the loaded model does, and how that changed over its training.
"""
)

# Imported after the prose, so that it reaches the browser first.
from lens.checkpoint import CheckpointError  # noqa: E402
from lens.history import snapshot_dir  # noqa: E402
from lens.story import clock_pizza as story  # noqa: E402
from ui import charts, claims, data  # noqa: E402
from ui.figures import clock_pizza as fig  # noqa: E402
from ui.theme import listing, num  # noqa: E402

# What the seed's first step (equal attention on a and b) and the verdict say together:
# (attention-weights-equal holds, the verdict) -> the sentence.
TOGETHER = {
    (False, "clock"): (
        "So this model does not even take the pizza's first step as the seed pictures it: its "
        "attention does not weigh a and b equally, and by both diagnostics what follows is a clock."
    ),
    (True, "clock"): (
        "Its attention averages a and b like a pizza's first step, but by both diagnostics what "
        "follows is a clock."
    ),
    (False, "pizza"): (
        "Its attention does not weigh a and b equally, yet by both diagnostics its readout is a pizza's."
    ),
    (
        True,
        "pizza",
    ): "Its attention averages a and b, and its readout is a pizza's: the seed's picture fits it.",
}


def _regions(regions) -> tuple:
    return tuple((r.name, r.gs_low, r.gs_high, r.di_low, r.di_high) for r in regions)


def _this_model(source: str) -> story.ClockPizzaFacts:
    st.header("What this model turns out to be")
    result = claims.say(source, "clock-or-pizza")
    f = data.of_run(story.facts, source)
    left, right = st.columns(2)
    left.metric("gradient symmetricity", num(f.model.gradient_symmetricity, ".3f"))
    left.caption(
        f"clocks at most {f.clock_max_symmetricity:g} (Zhong et al.'s: about 0.4–0.6); pizzas at "
        f"least {f.pizza_min_symmetricity:g}; mean over {f.samples:,} sampled (a, b, c)"
    )
    right.metric("distance irrelevance", num(f.model.distance_irrelevance, ".3f"))
    right.caption(
        f"clocks at least {f.clock_min_irrelevance:g} (Zhong et al.'s: about 0.7–1); pizzas at most "
        f"{f.pizza_max_irrelevance:g} (theirs: about 0.15–0.3)"
    )
    st.markdown("The seed's first step, measured on this model:")
    equal = claims.say(source, "attention-weights-equal")
    claims.say(source, "attention-peaks-at-c-half")
    verdict = result.details.get("verdict")
    if (sentence := TOGETHER.get((bool(equal.holds), verdict))) is not None:
        st.markdown(sentence)
    elif verdict == "mixed":
        st.markdown(
            "By the two diagnostics it is neither a clear clock nor a clear pizza: it lies between "
            "the regions where Zhong et al.'s models fall."
        )
    return f


def _trajectory_prose(traj: story.Trajectory) -> str:
    groups: dict[str, list[str]] = {}
    for step, kind in zip(traj.steps, traj.verdicts, strict=True):
        groups.setdefault(kind, []).append(f"{step:,}")
    kinds = "; ".join(
        f"**{kind}** at step{'s' if len(s) > 1 else ''} {listing(s)}" for kind, s in groups.items()
    )
    first, final = traj.points[0], traj.final
    low = traj.at(traj.lowest_irrelevance_step)
    text = (
        f"Over the {len(traj.steps)} kept snapshots the verdict is {kinds}. At step {traj.steps[0]:,} "
        f"the gradient symmetricity is {num(first.gradient_symmetricity, '.3f')} and the distance "
        f"irrelevance {num(first.distance_irrelevance, '.3f')}; at step {traj.steps[-1]:,}, "
        f"{num(final.gradient_symmetricity, '.3f')} and {num(final.distance_irrelevance, '.3f')}. "
        f"The distance mattered most at step {traj.lowest_irrelevance_step:,} (distance irrelevance "
        f"{num(low.distance_irrelevance, '.3f')})."
    )
    if first.verdict == "mixed" and first.pizza_symmetric and first.clock_irrelevant:
        text += (
            f" At step {traj.steps[0]:,} the snapshot is a pizza by one measure and a clock by the "
            "other: the gradients with respect to a and b agree, as a pizza's do, while the correct "
            "logit ignores the distance, as a clock's does; it has learned neither algorithm yet."
        )
    if len(traj.steps) > 1:
        text += (
            f" From step {traj.settled_step:,} on, every kept snapshot is "
            f"{'a ' if final.verdict != 'mixed' else ''}{final.verdict}."
        )
    return text


def _over_training(source: str, f: story.ClockPizzaFacts) -> None:
    st.header("Over training")
    h, _, whose = data.history_for(source)
    steps = list(h.snapshot_steps)
    if not steps:
        st.info(
            "This run kept no snapshots of its weights, so the diagnostics cannot be followed over training."
        )
        return
    try:
        with st.spinner(f"Measuring the {len(steps)} kept snapshots…"):
            points = [
                data.of_args(story.snapshot_diagnostics, str(snapshot_dir(h.run_dir, s))) for s in steps
            ]
    except (CheckpointError, OSError, ValueError) as err:
        st.error(str(err).splitlines()[0] if str(err) else type(err).__name__)
        return
    traj = story.trajectory(steps, points)
    st.markdown(
        f"The same two measures on the snapshots of {whose} that the trainer kept, run on all "
        f"{h.p * h.p:,} pairs. {_trajectory_prose(traj)}"
    )
    gs = tuple(d.gradient_symmetricity for d in traj.points)
    di = tuple(d.distance_irrelevance for d in traj.points)
    typical = _regions(f.typical)
    model = (f.model.gradient_symmetricity, f.model.distance_irrelevance)
    charts.show(
        data.of_args(
            fig.plane_spec, typical, _regions(f.verdict_regions), traj.steps, gs, di, model, "loaded model"
        ),
        key="clock_pizza.plane",
    )
    left, right = st.columns(2)
    with left:
        charts.show(
            data.of_args(fig.over_training_spec, "gradient_symmetricity", typical, traj.steps, gs),
            key="clock_pizza.symmetricity",
        )
    with right:
        charts.show(
            data.of_args(fig.over_training_spec, "distance_irrelevance", typical, traj.steps, di),
            key="clock_pizza.irrelevance",
        )
    st.caption(
        f"{len(steps)} snapshots, at steps {listing(f'{s:,}' for s in steps)}: the ones this run "
        "kept. A denser view needs the trainer to keep more (its checkpoint schedule, "
        "`lens.train.Schedule`, and `--keep-snapshots`) and the run trained again; the weights do "
        "not depend on which snapshots are kept."
    )


def show() -> None:
    data.current_run()  # surfaces a refused checkpoint or a missing default
    source = data.current_source()
    f = _this_model(source)
    _over_training(source, f)


show()
