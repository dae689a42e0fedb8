"""Every number a page quotes, one typed result per section.

``facts(section, run)`` returns that section's frozen dataclass: the page formats its
fields and computes nothing. ``python -m lens facts SECTION [--checkpoint PATH] [--json]``
prints the same values from a terminal.

The sections are the pages' URL paths. Grokking's ``facts`` takes a run's training history
(:class:`lens.history.History`), not a model run.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable

import numpy as np

# URL path -> module under lens.story; each module has ``facts(run) -> <Section>Facts``.
MODULES = {
    "basics": "basics",
    "attention": "attention",
    "wave-transforms": "wave_transforms",
    "relu": "relu",
    "neurons": "neurons",
    "grokking": "grokking",
    "clock-or-pizza": "clock_pizza",
    "summary": "summary",
    "glossary": "glossary",
}


def facts_function(section: str) -> Callable:
    """The ``facts(run)`` function of ``section`` (imported on first use: the modules pull in
    analyses that the first paint does not need)."""
    return importlib.import_module(f"{__name__}.{MODULES[section]}").facts


def facts(section: str, run) -> Any:
    """``section``'s frozen facts for ``run`` (a History for grokking)."""
    return facts_function(section)(run)


def to_plain(obj: Any) -> Any:
    """``obj`` (a facts dataclass, with numpy arrays and scalars inside) as JSON-safe values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_plain(obj.tolist())
    if isinstance(obj, np.generic):
        return to_plain(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
