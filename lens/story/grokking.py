"""Grokking: every number the page quotes, from a run's training history.

Unlike the other sections, these facts are read from ``history.json`` (a
:class:`lens.history.History`, :func:`lens.history.load_history`), not from a model run:
``facts(history) -> GrokkingFacts``. The computation lives in :mod:`lens.training_story`,
next to the phase and share helpers it shares with the trainer's history; this module is its
entry under ``lens.story``.
"""

from __future__ import annotations

from ..training_story import GrokkingFacts, WeightsSummary, facts, weights_summary

__all__ = ["GrokkingFacts", "WeightsSummary", "facts", "weights_summary"]
