"""The claims as a terminal table and as JSON (``python -m lens claims [--json]``)."""

from __future__ import annotations

import json
import textwrap
from typing import Sequence

from .core import ClaimResult


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
