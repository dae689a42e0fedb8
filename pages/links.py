"""Deep links: a page's main choices read from, and kept in, the URL's query string.

A teacher pastes ``/attention?c=10`` and the page opens on c = 10; when the reader moves a
linked widget, the address bar follows, so it is always a shareable link to the view.

Rule: the URL holds exactly the choices that differ from the page's computed default. A
parameter that is absent, malformed (not a plain integer, not one of the choices), out of
range, or repeated means "the default" and is dropped from the URL the first time the page
keeps it; nothing else changes, no error is shown, nothing raises. Parameters that a page
does not know (another page's, say) are left alone.

Use, around any widget (its key stays the page-prefixed widget key)::

    c0 = int_param("c", 0, p - 1, default)          # the opening value
    c = st.slider("answer c", 0, p - 1, c0, key="attention.c")
    keep("c", c, default)                             # the URL now says c (or nothing)

For a slider made inside another component (the scope's server-side axes), read its value
back with ``st.session_state.get(widget_key, opening)`` and ``keep`` that.

Parsing is pure (:func:`parse_int`, :func:`parse_choice`) so it is tested without Streamlit.
"""

from __future__ import annotations

import re
from typing import Sequence, TypeVar

import streamlit as st

T = TypeVar("T")

_INT = re.compile(r"[+-]?[0-9]{1,9}")  # ASCII digits only: no "1_0", " 10", "1e3", "10.0"


def parse_int(values: Sequence[str], lo: int, hi: int) -> int | None:
    """The one value in ``values`` as an int within [lo, hi], else None."""
    if len(values) != 1 or not _INT.fullmatch(values[0]):
        return None
    v = int(values[0])
    return v if lo <= v <= hi else None


def parse_choice(values: Sequence[str], choices: Sequence[T]) -> T | None:
    """The choice whose ``str()`` is the one value in ``values``, else None."""
    if len(values) != 1:
        return None
    return next((c for c in choices if str(c) == values[0]), None)


def _values(name: str) -> list[str]:
    return list(st.query_params.get_all(name))


def int_param(name: str, lo: int, hi: int, default: int) -> int:
    """The URL's ``name`` as an int in [lo, hi], or ``default``."""
    v = parse_int(_values(name), lo, hi)
    return default if v is None else v


def choice_param(name: str, choices: Sequence[T], default: T) -> T:
    """The URL's ``name`` as one of ``choices`` (matched by ``str()``), or ``default``."""
    v = parse_choice(_values(name), choices)
    return default if v is None else v


def keep(name: str, value: object, default: object) -> None:
    """Make the URL say ``name=value``, or nothing when ``value`` is the default.

    Writes only when the URL differs, so calling it on every run costs nothing."""
    values = _values(name)
    if value == default:
        if values:
            del st.query_params[name]
    elif values != [str(value)]:
        st.query_params[name] = str(value)
