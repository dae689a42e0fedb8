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
absent. A choice at its computed default is never written (one that a link spells out, as
``/relu?f1=14`` where 14 is f1's default, describes the view as well and stays). A parameter
that is malformed (not a plain integer, not one of the choices), out of range or repeated is
ignored: that choice opens on its default, the parameter alone is dropped from the address
(the link's other, valid choices stay, in the view and in the address), and the page says
so at its top (:func:`show_notices`), naming the parameter and why. The other choices' parameters go as
soon as the view no longer matches them (the reader moved a widget): the address then makes
no claim rather than a wrong one. Parameters a page does not know (another page's, say) are
left alone. Nothing raises.

Leaving a page and coming back. Streamlit forgets a widget's value when a run does not draw
it (another page ran), so every choice kept here is also remembered under a key that is no
widget's (:data:`REMEMBERED`, by widget key), and a page opened without URL parameters
opens each widget on its remembered value. The URL wins: a run whose address has parameters
opens on the link (and the defaults for what it leaves out), never on memory.

Use, around any widget (its key stays the page-prefixed widget key)::

    c0 = int_param("c", 0, p - 1, default, key="attention.c")   # the opening value
    c = st.slider("answer c", 0, p - 1, c0, key="attention.c")
    keep("c", c, default, key="attention.c")   # noted for the link and remembered

A widget whose value is set through ``st.session_state`` before it is drawn (the ablation
lab) takes the opening there on the run that creates it. The scope's view control and
server-side sliders do all of this themselves (``ui/scope_widget.py``).

Parsing is pure (:func:`parse_int`, :func:`parse_choice`, :func:`notice`) so it is tested
without Streamlit.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence, TypeVar

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


def notice(name: str, values: Sequence[str], why: str) -> str:
    """The words that say the link's ``name=values`` was ignored, and ``why`` (a clause such
    as "it is not a key frequency of this model"). The reader's text is shown cut short, in
    a code span it cannot leave."""
    if len(values) > 1:
        why = "it is given more than once"
    shown = "&".join(f"{name}={v}" for v in values)
    shown = "".join(ch if ch.isprintable() and ch != "`" else "?" for ch in shown)
    if len(shown) > 60:
        shown = shown[:59] + "…"
    return f"The link's `{shown}` was ignored: {why}, so that choice opens on its default."


def _values(name: str) -> list[str]:
    return list(st.query_params.get_all(name))


# Session-state keys: the current view's non-default choices ({name: text}), every name a
# page has kept (the parameters that are this app's, not somebody else's), this run's words
# about ignored parameters, whether this full run opened on a link, and every choice's value
# by widget key (as the URL writes it), which outlives the widget.
CHOICES = "links.choices"
CURRENT = "links.current"  # every kept choice's value this run, default or not ({name: text})
NAMES = "links.names"
NOTICES = "links.notices"
LINKED = "links.linked"
REMEMBERED = "links.remembered"


def _linked() -> bool:
    """Does this view open on a link? Decided once per full run (:func:`new_page`), so that a
    bad parameter dropped early in the run does not let memory open the later widgets."""
    linked = st.session_state.get(LINKED)
    return bool(st.query_params) if linked is None else linked


def param(
    name: str, parse: Callable[[Sequence[str]], T | None], default: T, *, key: str | None, why: str
) -> T:
    """The opening value of a choice: the URL's ``name`` (through ``parse``), else the value
    remembered for the widget ``key`` (only when the URL has no parameters), else ``default``.

    A URL value that ``parse`` refuses is dropped from the address alone, and noted (with
    ``why``) for :func:`show_notices`."""
    values = _values(name)
    kept = None if key is None or _linked() else st.session_state.get(REMEMBERED, {}).get(key)
    value, ignored = opening(values, parse, kept)
    if ignored:
        del st.query_params[name]  # this parameter only: the link's valid ones stay
        st.session_state.setdefault(NOTICES, []).append(notice(name, values, why))
    return default if value is None else value


def opening(
    values: Sequence[str], parse: Callable[[Sequence[str]], T | None], kept: str | None
) -> tuple[T | None, bool]:
    """Which value a choice opens on (None: its default), and whether the URL's ``values``
    were ignored. The URL's values win when ``parse`` takes them; a URL value it refuses
    opens the default (never the remembered value: the link meant something else); with
    no URL value, the remembered ``kept`` text if it still parses (the model may have
    changed since), else the default."""
    if values:
        v = parse(values)
        return v, v is None
    return (None if kept is None else parse([kept])), False


def int_param(
    name: str, lo: int, hi: int, default: int, *, key: str | None = None, why: str | None = None
) -> int:
    """The URL's ``name`` as an int in [lo, hi], or the remembered value of widget ``key``,
    or ``default``."""
    why = why or f"it is not a whole number from {lo} to {hi}"
    return param(name, lambda vs: parse_int(vs, lo, hi), default, key=key, why=why)


def choice_param(
    name: str, choices: Sequence[T], default: T, *, key: str | None = None, why: str | None = None
) -> T:
    """The URL's ``name`` as one of ``choices`` (matched by ``str()``), or the remembered
    value of widget ``key``, or ``default``."""
    if why is None:
        listed = ", ".join(str(c) for c in list(choices)[:8]) + (", …" if len(choices) > 8 else "")
        why = f"it is not one of {listed}" if choices else "this model offers no choice there"
    return param(name, lambda vs: parse_choice(vs, choices), default, key=key, why=why)


def number_input(where, label: str, name: str, lo: int, hi: int, default: int, *, key: str) -> int:
    """A whole-number input in ``where`` (``st`` or a column) that opens on the link's
    ``name`` (:func:`int_param`) and is kept for the link (:func:`keep`): the three steps
    every linked number input takes."""
    opening = int_param(name, lo, hi, default, key=key)
    value = int(where.number_input(label, lo, hi, opening, key=key))
    keep(name, value, default, key=key)
    return value


def new_page() -> None:
    """Forget the last page's choices, names and notices: call before a page's full run,
    which keeps all of its own (and leaves another page's parameters alone)."""
    st.session_state[CHOICES] = {}
    st.session_state[CURRENT] = {}
    st.session_state[NAMES] = set()
    st.session_state[NOTICES] = []
    st.session_state[LINKED] = bool(st.query_params)


def keep(name: str, value: object, default: object, *, key: str | None = None) -> None:
    """Note ``name = value`` for this view's link (and, with ``key``, remember it for the
    widget's next opening); clear the URL's choices if they no longer describe the view.
    Writes to the URL only then, so calling it on every run costs nothing."""
    if key is not None:
        st.session_state.setdefault(REMEMBERED, {})[key] = str(value)
    chosen = st.session_state.setdefault(CHOICES, {})
    names = st.session_state.setdefault(NAMES, set())
    current = st.session_state.setdefault(CURRENT, {})
    names.add(name)
    current[name] = str(value)
    if value == default:
        chosen.pop(name, None)
    else:
        chosen[name] = str(value)
    linked = [n for n in names if n in st.query_params]
    if not linked:
        return  # a plain address: it claims nothing
    # Every choice kept so far (this one and the page's others), not only this one: in a full
    # run a later widget's keep must also see that an earlier choice left the link. A URL
    # value must be the view's (a default spelled out, /relu?f1=14 where 14 is f1's default,
    # describes the view too); a choice the URL leaves out must be at its default.
    if any(_values(n) != [current[n]] if n in st.query_params else n in chosen for n in names):
        # one update of the address, not one per parameter
        st.query_params.from_dict({k: st.query_params.get_all(k) for k in st.query_params if k not in linked})


def show_notices(box) -> None:
    """Say, in ``box`` (a container at the top of the page), which of the link's parameters
    this run ignored and why."""
    for text in st.session_state.get(NOTICES, []):
        box.info(text, icon=":material/link_off:")


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
