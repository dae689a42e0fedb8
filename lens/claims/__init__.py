"""Every claim of the explanation as a live test on the loaded model.

``CLAIMS`` is the registry (id -> :class:`Claim`, in section order, see :data:`SECTIONS`);
:func:`evaluate` measures one claim on a :class:`lens.run.Run` and :func:`evaluate_all`
every one. Nothing is computed at import and nothing is cached here: the UI caches the
results per checkpoint. Each result says how it was measured (``method``) and renders the
sentence that fits its verdict: ``statement`` where the claim holds, ``fails_statement``
(with the number) where it does not.

Sections: the app's pages, plus ``logits`` for claims about the readout as a whole (sum of
cosines, excluded loss, majority vote, ghost peaks, clock or pizza), which the claims page
lists last. Thresholds and why they were chosen are in each measure's module.

Usage::

    from lens.claims import evaluate_all
    for r in evaluate_all(run_model(ck, engine="numpy")):
        print(r.id, r.holds, r.value, r.statement)
"""

from __future__ import annotations

from ..run import Run
from . import attention, basics, clock_pizza, logits, neurons, relu, waves
from .core import SECTIONS, Claim, ClaimResult, Measured, evaluate
from .table import format_table, to_json

_ALL = (
    basics.CLAIMS
    + attention.CLAIMS
    + waves.CLAIMS
    + relu.CLAIMS
    + neurons.CLAIMS
    + logits.CLAIMS
    + clock_pizza.CLAIMS
)
CLAIMS: dict[str, Claim] = {c.id: c for c in sorted(_ALL, key=lambda c: SECTIONS.index(c.section))}
assert len(CLAIMS) == len(_ALL), "claim ids must be unique"


def evaluate_all(run: Run) -> list[ClaimResult]:
    """Every registered claim on ``run``, in registry (section) order."""
    return [evaluate(claim, run) for claim in CLAIMS.values()]


__all__ = [
    "CLAIMS",
    "SECTIONS",
    "Claim",
    "ClaimResult",
    "Measured",
    "evaluate",
    "evaluate_all",
    "format_table",
    "to_json",
]
