"""The claims as a terminal table, as JSON (``python -m lens claims [--json]``), and the
counts and rows the app's claims page shows."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from typing import Mapping, Sequence

from .core import SECTIONS, ClaimResult


@dataclass(frozen=True)
class Summary:
    """How many of a list of claims hold on the model, and which fail (ids, in list order)."""

    held: int
    total: int
    failing: tuple[str, ...]


def summary(results: Sequence[ClaimResult]) -> Summary:
    """The counts behind "12 of 15 claims hold on this model"."""
    held = sum(1 for r in results if r.holds)
    return Summary(held, len(results), tuple(r.id for r in results if not r.holds))


def by_section(results: Sequence[ClaimResult]) -> dict[str, list[ClaimResult]]:
    """The results grouped by section, in :data:`SECTIONS` order (sections without a claim
    left out), each group in list order."""
    groups = {s: [r for r in results if r.section == s] for s in SECTIONS}
    return {s: rs for s, rs in groups.items() if rs}


def rows(results: Sequence[ClaimResult], section_names: Mapping[str, str] | None = None) -> list[dict]:
    """One row per claim for a table: ``claim`` (the id), ``section`` (renamed through
    ``section_names`` where given), ``holds``, ``value``, ``threshold`` and ``passes at``
    (the threshold with its direction, :attr:`ClaimResult.rule`). Values stay floats."""
    names = section_names or {}
    return [
        {
            "claim": r.id,
            "section": names.get(r.section, r.section),
            "holds": r.holds,
            "value": r.value,
            "threshold": r.threshold,
            "passes at": r.rule,
        }
        for r in results
    ]


def to_json(results: Sequence[ClaimResult]) -> str:
    """Exactly one JSON list of :meth:`ClaimResult.to_dict` objects (strict JSON: NaN as null)."""
    return json.dumps([r.to_dict() for r in results], allow_nan=False)


def format_table(results: Sequence[ClaimResult], header: str = "", width: int = 100) -> str:
    """One row per claim, grouped by section: id, value, threshold rule, verdict, and the
    rendered statement wrapped beneath."""
    lines = [header, ""] if header else []
    lines.append(f"{'claim':28}{'value':>11}  {'threshold':16}verdict")
    section = None
    for r in results:
        if r.section != section:
            section = r.section
            lines += ["", f"[{section}]"]
        verdict = "holds" if r.holds else "FAILS"
        lines.append(f"{r.id:28}{r.value:>11.3g}  {r.rule:16}{verdict}")
        lines += textwrap.wrap(r.statement, width=width, initial_indent="    ", subsequent_indent="    ")
    return "\n".join(lines)
