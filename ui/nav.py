"""The reading path: every routed page ends with a link to the section after it.

The order is app.py's ``SECTIONS`` (the navigation's own order). app.py hands it over with
:func:`follow` and, after the page has run, calls :func:`next_link` with the page it ran, so
the link is the page's last element and no page has to remember it. The last section
(Summary) has no next one, and a page beside the path (the Glossary) gets none.
"""

from __future__ import annotations

from typing import Sequence

import streamlit as st

Section = tuple[str, str, str, str]  # (file in pages/, title, icon, url path)

# app.py's SECTIONS, the same constant in every session, so one module-level copy is safe.
ORDER: list[Section] = []


def follow(sections: Sequence[Section]) -> None:
    """Take the reading order (app.py's ``SECTIONS``)."""
    ORDER[:] = [tuple(s) for s in sections]


def next_section(url_path: str) -> Section | None:
    """The section after the page at ``url_path``, or None after the last section and for a
    page that is not on the path. The root URL (the hidden default page, whose url path is
    empty or "home") shows the first section, so it leads to the second."""
    urls = [s[3] for s in ORDER]
    if url_path in ("", "home") and urls:
        url_path = urls[0]
    if url_path not in urls or urls.index(url_path) == len(urls) - 1:
        return None
    return ORDER[urls.index(url_path) + 1]


def next_link(page) -> None:
    """End ``page`` (the ``st.navigation`` page that has just run) with a link to the next
    section, when it has one."""
    nxt = next_section(getattr(page, "url_path", None) or "")
    if nxt is None:
        return
    file, title, icon, _ = nxt
    st.divider()
    st.page_link(f"pages/{file}", label=f"Next: {title}", icon=icon)
