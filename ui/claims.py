"""Claims on a page: the sentence that fits the loaded model's verdict, and its card.

A page never asserts a claim on its own: it asks :func:`claim` for the measured result
(``lens.claims``, cached per checkpoint and claim id) and writes ``result.statement``, which
is the holding sentence where the claim holds and the failing one, with the number, where it
does not. :func:`card` puts the measurement beside it in one line: the id, the verdict, the
value against its threshold, and how it was measured.

Claims are measured on first use, never on the path to the first paint: call these after
the page's prose.
"""

from __future__ import annotations

import streamlit as st

from lens.claims import ClaimResult
from ui import data
from ui.theme import num


def _evaluate(run, claim_id: str) -> ClaimResult:
    from lens.claims import CLAIMS, evaluate

    return evaluate(CLAIMS[claim_id], run)


def claim(source: str, claim_id: str) -> ClaimResult:
    """The claim ``claim_id`` measured on the checkpoint ``source`` (cached)."""
    return data.of_run(_evaluate, source, claim_id)


def all_claims(source: str) -> list[ClaimResult]:
    """Every registered claim on ``source``, in section order: :func:`claim` for each (one
    cache entry per claim, shared with the pages that state it: a claim is measured once
    per checkpoint whichever page asks first, not again for the claims page)."""
    from lens.claims import CLAIMS

    return [claim(source, claim_id) for claim_id in CLAIMS]


def verdict(result: ClaimResult) -> str:
    """A coloured badge: holds or fails on this model."""
    return ":green-badge[holds]" if result.holds else ":orange-badge[fails]"


def card_line(result: ClaimResult) -> str:
    """The card's one line: id, verdict, value against the threshold, how it was measured."""
    return (
        f"{verdict(result)} **`{result.id}`** · measured {num(result.value)} · "
        f"passes at {result.rule.replace('+-', '±').replace('>=', '≥').replace('<=', '≤')} · "
        f"{result.method}"
    )


def card(result: ClaimResult) -> None:
    """The claim's card: a bordered box with its one line."""
    with st.container(border=True):
        st.caption(card_line(result))


def say(source: str, claim_id: str, *, with_card: bool = True) -> ClaimResult:
    """Write the claim's sentence for this model (and its card); returns the result so the
    page can branch on ``holds`` for the prose around it."""
    from ui.theme import math_names

    result = claim(source, claim_id)
    st.markdown(math_names(result.statement))  # its weight names as math, as the prose writes them
    if with_card:
        card(result)
    return result
