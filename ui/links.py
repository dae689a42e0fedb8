"""Deep links: a page opens on the choices its URL names; the reader asks for a link.

A teacher pastes ``/attention?c=10`` and the page opens on c = 10. A reader who wants to
share a view presses **Link to this view** in the sidebar (:func:`share`): the address bar
then names that view's choices, ready to copy.

Why the address bar does not follow every widget. Streamlit turns each change of the query
string into a new browser-history entry (``history.pushState``), a re-render of the whole
app and a message to the host page: measured with bench/app.py's harness, 15-30 ms and about
as much browser CPU on every widget change, and the Back button then walked through every
slider step. So a link is written when asked for, and otherwise only ever removed.

Rule: the URL's parameters for a page's choices either describe the view exactly or are
absent. A choice at its computed default is never written. A parameter that is malformed
(not a plain integer, not one of the choices), out of range or repeated opens the default
view and is dropped; so are the other choices' parameters as soon as the view no longer
matches them (the reader moved a widget): the address then makes no claim rather than a
wrong one. Parameters a page does not know (another page's, say) are left alone. Nothing
raises and no error is shown.

Use, around any widget (its key stays the page-prefixed widget key)::

    c0 = int_param("c", 0, p - 1, default)          # the opening value
    c = st.slider("answer c", 0, p - 1, c0, key="attention.c")
    keep("c", c, default)                             # noted for the link; a stale URL is cleared

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


# Session-state keys: the current view's non-default choices ({name: text}), and every name
# a page has kept (the parameters that are this app's, not somebody else's).
CHOICES = "links.choices"
NAMES = "links.names"


def new_page() -> None:
    """Forget the last page's choices and names: call before a page's full run, which keeps
    all of its own (and leaves another page's parameters alone)."""
    st.session_state[CHOICES] = {}
    st.session_state[NAMES] = set()


def keep(name: str, value: object, default: object) -> None:
    """Note ``name = value`` for this view's link; clear the URL's choices if they no longer
    describe the view. Writes to the URL only then, so calling it on every run costs nothing."""
    chosen = st.session_state.setdefault(CHOICES, {})
    names = st.session_state.setdefault(NAMES, set())
    names.add(name)
    if value == default:
        chosen.pop(name, None)
    else:
        chosen[name] = str(value)
    linked = [n for n in names if n in st.query_params]
    if not linked:
        return  # a plain address: it claims nothing
    # Every choice kept so far (this one and the page's others), not only this one: in a full
    # run a later widget's keep must also see that an earlier choice left the link.
    if any(_values(n) != ([chosen[n]] if n in chosen else []) for n in names):
        # one update of the address, not one per parameter
        st.query_params.from_dict({k: st.query_params.get_all(k) for k in st.query_params if k not in linked})


def share() -> None:
    """Write the current view's choices into the URL (the "Link to this view" button)."""
    names = st.session_state.get(NAMES, set())
    others = {k: st.query_params.get_all(k) for k in st.query_params if k not in names}
    st.query_params.from_dict({**others, **st.session_state.get(CHOICES, {})})


def share_button() -> None:
    """The sidebar's "Link to this view": on a click the address bar names the view."""
    help_text = "Puts this page's current choices into the address bar, to copy and share."
    if st.button(
        "Link to this view", icon=":material/link:", on_click=share, key="links.share", help=help_text
    ):
        st.toast("The address bar now links to this view: copy it from there.", icon=":material/link:")
