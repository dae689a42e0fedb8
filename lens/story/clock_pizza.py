"""Clock or pizza: Zhong et al. 2023's two diagnostics, for a model and over a training run.

The measures are the claim's (:mod:`lens.claims.clock_pizza`: gradient symmetricity, the
cosine of d logit_c / d x_a and d logit_c / d x_b over sampled triples; distance
irrelevance, how little the correct logit varies with a - b at fixed a + b) and so is the
verdict; this module only applies them to a model (:func:`facts`), to a kept snapshot
(:func:`snapshot_diagnostics`, numpy engine, no torch) and to a run's snapshots in order
(:func:`trajectory`), and names the reference values a chart draws beside them.

Reference values, as :mod:`lens.claims.clock_pizza` summarises Zhong et al.'s one-layer runs
(``result/1l_fixedwidth.csv`` of their repository): clocks have gradient symmetricity about
0.4-0.6 and distance irrelevance about 0.7-1; pizzas at least 0.98 and about 0.15-0.3
(:data:`TYPICAL`). The verdict's regions (:data:`VERDICT`) are the claim's thresholds: a
clock at most 0.9 and at least 0.6, a pizza at least 0.98 and at most 0.4; anything else is
mixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..claims import clock_pizza as measures
from ..run import Run


@dataclass(frozen=True)
class Diagnostics:
    """The two measures and the verdict for one model."""

    gradient_symmetricity: float
    distance_irrelevance: float
    verdict: str
    """``clock``, ``pizza`` or ``mixed`` (:func:`lens.claims.clock_pizza.verdict`)."""

    @property
    def pizza_symmetric(self) -> bool:
        """Gradients as symmetric as a pizza's (symmetricity at least the pizza threshold)."""
        return self.gradient_symmetricity >= measures.PIZZA_MIN_SYMMETRICITY

    @property
    def clock_irrelevant(self) -> bool:
        """A distance as irrelevant as a clock's (irrelevance at least the clock threshold)."""
        return self.distance_irrelevance >= measures.CLOCK_MIN_IRRELEVANCE


@dataclass(frozen=True)
class Region:
    """A rectangle in the (gradient symmetricity, distance irrelevance) plane; None: open
    on that side."""

    name: str
    gs_low: float | None
    gs_high: float | None
    di_low: float | None
    di_high: float | None


TYPICAL = (Region("clock", 0.4, 0.6, 0.7, 1.0), Region("pizza", 0.98, 1.0, 0.15, 0.3))
VERDICT = (
    Region("clock", None, measures.CLOCK_MAX_SYMMETRICITY, measures.CLOCK_MIN_IRRELEVANCE, None),
    Region("pizza", measures.PIZZA_MIN_SYMMETRICITY, None, None, measures.PIZZA_MAX_IRRELEVANCE),
)


def diagnostics(run: Run) -> Diagnostics:
    """Gradient symmetricity, distance irrelevance and the verdict of ``run``'s model."""
    gs = measures.gradient_symmetricity(run)
    di = measures.distance_irrelevance(run)
    return Diagnostics(gs, di, measures.verdict(gs, di))


def snapshot_diagnostics(path: str) -> Diagnostics:
    """:func:`diagnostics` of the checkpoint at ``path`` (a kept snapshot), numpy engine.
    Raises :class:`lens.checkpoint.CheckpointError` for a refused checkpoint."""
    from ..checkpoint import load
    from ..run import logits_run

    # What the two measures read (lens.claims.clock_pizza), not the whole run: ~40 MB
    # instead of the full pass's ~130 MB peak at p = 113.
    return diagnostics(logits_run(load(path), keep=("pre", "pattern", "z")))


@dataclass(frozen=True)
class Trajectory:
    """The diagnostics at a run's kept snapshots, in step order."""

    steps: tuple[int, ...]
    points: tuple[Diagnostics, ...]
    settled_step: int | None
    """The first snapshot from which the verdict stays the final one (None: no snapshots)."""
    lowest_irrelevance_step: int | None
    """The snapshot with the lowest distance irrelevance (the most pizza-like readout)."""

    @property
    def final(self) -> Diagnostics | None:
        return self.points[-1] if self.points else None

    @property
    def verdicts(self) -> tuple[str, ...]:
        return tuple(d.verdict for d in self.points)

    def at(self, step: int) -> Diagnostics:
        return self.points[self.steps.index(step)]


def trajectory(steps: Sequence[int], points: Sequence[Diagnostics]) -> Trajectory:
    """:class:`Trajectory` of ``points`` measured at ``steps`` (ascending)."""
    if len(steps) != len(points):
        raise ValueError(f"expected one measurement per step, found {len(points)} for {len(steps)}")
    steps, points = tuple(int(s) for s in steps), tuple(points)
    settled = lowest = None
    if points:
        final = points[-1].verdict
        i = len(points) - 1
        while i > 0 and points[i - 1].verdict == final:
            i -= 1
        settled = steps[i]
        di = [d.distance_irrelevance for d in points]
        lowest = steps[min(range(len(di)), key=lambda j: (di[j], j))]
    return Trajectory(steps, points, settled, lowest)


@dataclass(frozen=True)
class ClockPizzaFacts:
    """Every number the Clock-or-pizza page quotes about the loaded model."""

    p: int
    model: Diagnostics
    samples: int
    """How many (a, b, c) triples the gradient symmetricity averages over."""
    clock_max_symmetricity: float
    clock_min_irrelevance: float
    pizza_min_symmetricity: float
    pizza_max_irrelevance: float
    typical: tuple[Region, ...]
    verdict_regions: tuple[Region, ...]


def facts(run: Run) -> ClockPizzaFacts:
    """The loaded model's diagnostics and the reference values they are read against."""
    return ClockPizzaFacts(
        p=run.p,
        model=diagnostics(run),
        samples=int(min(measures.SAMPLES, run.p**3)),
        clock_max_symmetricity=measures.CLOCK_MAX_SYMMETRICITY,
        clock_min_irrelevance=measures.CLOCK_MIN_IRRELEVANCE,
        pizza_min_symmetricity=measures.PIZZA_MIN_SYMMETRICITY,
        pizza_max_irrelevance=measures.PIZZA_MAX_IRRELEVANCE,
        typical=TYPICAL,
        verdict_regions=VERDICT,
    )
