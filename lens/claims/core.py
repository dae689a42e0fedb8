"""What a claim is, and how one is evaluated on a run.

A :class:`Claim` pairs a measurement (a pure function of :class:`lens.run.Run`) with a
threshold, a direction and two sentences: one to say when the claim holds on the loaded
model, one to say, with the number, when it does not. :func:`evaluate` gives a
:class:`ClaimResult`; nothing is cached here (the app caches per checkpoint).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..run import Run

# The app's page sections, in reading order, plus "logits": claims about the readout as a
# whole (sum of cosines, excluded loss, majority vote, ghost peaks, clock or pizza) that
# no single page owns; the claims page lists them last.
SECTIONS = ("basics", "attention", "wave-transforms", "relu", "neurons", "logits")

# value >= threshold; value <= threshold; |value - threshold| <= tolerance; or > tolerance.
DIRECTIONS = ("at_least", "at_most", "near", "far")


@dataclass(frozen=True)
class Measured:
    """What a measurement returns.

    ``details``: JSON-ready figures (per head, per frequency ...); ``fields``: extra words
    and numbers for the statement templates only; ``threshold``: set when the threshold
    depends on the model (e.g. ten times its own loss), else the claim's is used.
    ``holds``: set only by a claim whose verdict is not one comparison (clock-or-pizza).
    """

    value: float
    details: dict = field(default_factory=dict)
    fields: dict = field(default_factory=dict)
    threshold: float | None = None
    holds: bool | None = None


@dataclass(frozen=True)
class Claim:
    """One claim of the explanation, testable on any model.

    ``statement`` is said where the claim holds and ``fails_statement`` where it does not;
    both are ``str.format`` templates over ``value``, ``threshold``, ``tolerance`` and the
    measurement's ``fields``. ``method`` is one line: how it is measured, after which paper.
    """

    id: str
    section: str
    measure: Callable[[Run], Measured]
    threshold: float
    direction: str
    statement: str
    fails_statement: str
    method: str
    tolerance: float = 0.0

    def __post_init__(self):
        if self.section not in SECTIONS:
            raise ValueError(f"{self.id}: section {self.section!r} is not one of {SECTIONS}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"{self.id}: direction {self.direction!r} is not one of {DIRECTIONS}")


@dataclass(frozen=True)
class ClaimResult:
    """A claim measured on one model. ``value`` is a plain float (a fraction, a ratio or a
    loss, never a percent string; NaN when it cannot be measured, and then ``holds`` is
    False). ``details`` is JSON-safe (NaN and infinities as None)."""

    id: str
    section: str
    statement: str
    value: float
    threshold: float
    holds: bool
    details: dict
    method: str
    direction: str
    tolerance: float

    @property
    def rule(self) -> str:
        """The threshold and its direction in a few characters: ``>= 0.95``, ``0.5 +- 0.2``."""
        t = f"{self.threshold:.3g}"
        return {
            "at_least": f">= {t}",
            "at_most": f"<= {t}",
            "near": f"{t} +- {self.tolerance:.3g}",
            "far": f"not {t} +- {self.tolerance:.3g}",
        }[self.direction]

    def to_dict(self) -> dict:
        """The JSON form: ``id, section, statement, value, threshold, holds, details,
        method, direction, tolerance`` (NaN as None)."""
        return json_safe(
            {
                "id": self.id,
                "section": self.section,
                "statement": self.statement,
                "value": self.value,
                "threshold": self.threshold,
                "holds": self.holds,
                "details": self.details,
                "method": self.method,
                "direction": self.direction,
                "tolerance": self.tolerance,
            }
        )


def compare(value: float, threshold: float, direction: str, tolerance: float = 0.0) -> bool:
    """Whether ``value`` passes; a NaN value never does."""
    if not math.isfinite(value):
        return False
    if direction == "at_least":
        return value >= threshold
    if direction == "at_most":
        return value <= threshold
    gap = abs(value - threshold)
    return gap <= tolerance if direction == "near" else gap > tolerance


def evaluate(claim: Claim, run: Run) -> ClaimResult:
    """Measure ``claim`` on ``run`` and render the sentence that fits the verdict."""
    m = claim.measure(run)
    value = float(m.value)
    threshold = float(claim.threshold if m.threshold is None else m.threshold)
    holds = compare(value, threshold, claim.direction, claim.tolerance) if m.holds is None else bool(m.holds)
    template = claim.statement if holds else claim.fails_statement
    words = _Words({"value": value, "threshold": threshold, "tolerance": claim.tolerance, **m.fields})
    return ClaimResult(
        id=claim.id,
        section=claim.section,
        statement=template.format_map(words),
        value=value,
        threshold=threshold,
        holds=holds,
        details=json_safe(m.details),
        method=claim.method,
        direction=claim.direction,
        tolerance=float(claim.tolerance),
    )


class _NotMeasured:
    """Stands in for a number that could not be measured: ``n/a`` under any format spec."""

    def __format__(self, spec: str) -> str:
        return "n/a"


class _Words(dict):
    """Template words: a missing field or a NaN renders as ``n/a`` instead of raising (a
    measurement that found nothing, e.g. no key frequency, returns no fields)."""

    def __missing__(self, key):
        return _NotMeasured()

    def __getitem__(self, key):
        v = super().__getitem__(key) if key in self else self.__missing__(key)
        if isinstance(v, (float, np.floating)) and not math.isfinite(v):
            return _NotMeasured()
        return v


def json_safe(x):
    """numpy scalars and arrays to Python numbers and lists, non-finite floats to None,
    dict keys to strings: what ``json.dumps(..., allow_nan=False)`` accepts."""
    if isinstance(x, dict):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


def nothing_to_measure(why: str) -> Measured:
    """A NaN measurement (the claim fails, its numbers render as n/a) that says why."""
    return Measured(float("nan"), {"not_measured": why})


def share(part: float, whole: float) -> float:
    """``part / whole``, NaN when the whole is zero (nothing to measure)."""
    return float(part / whole) if whole > 0 else float("nan")


def frequency_list(freqs) -> str:
    """``5, 8, 44 and 50``; ``none`` for an empty list."""
    freqs = [str(int(f)) for f in freqs]
    if not freqs:
        return "none"
    return freqs[0] if len(freqs) == 1 else ", ".join(freqs[:-1]) + " and " + freqs[-1]
