"""One name per thing, on every page as a reader sees it (issue 12, item 8).

Each page is opened with AppTest on the reference model and everything it writes is read:
its prose, captions, alerts, metrics, the labels and help of its widgets, and its charts'
titles and the text in their data (index lines, captions, marker labels, legends). None of
it may number a neuron other than "neuron 342", label a widget with ``d_model`` (the reader
moves a "residual dimension"), talk about how the app is built, or write a weight's name in
prose other than as math ($W_{out}$, typeset by KaTeX).
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from page_testing import charts, open_page, routed_pages

PAGES = routed_pages()
TEXT_ELEMENTS = ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success")
WIDGETS = (
    "slider",
    "select_slider",
    "selectbox",
    "number_input",
    "radio",
    "checkbox",
    "toggle",
    "multiselect",
)

# (what is wrong, pattern) for any text
FORBIDDEN = [
    ("a neuron numbered other than 'neuron 342'", re.compile(r"\bneurons?\s*(=|#|no\.)\s*\d", re.I)),
    ("a number written '#342'", re.compile(r"(?<![\w&#])#\d+\b")),
    (
        "words about how the app is built",
        re.compile(
            r"\bon the server\b|\bserver[- ]side\b|\bfragments?\b|\bre-?runs?\b|\bst\.[a-z_]+|\bstreamlit\b"
            r"|\bcached?\b|\bsession state\b|\bwidgets?\b",
            re.I,
        ),
    ),
]
# (what is wrong, pattern) for prose (markdown), read outside its math ($...$) and code (`...`)
FORBIDDEN_PROSE = [
    (
        "a weight's name outside math (write $W_{out}$)",
        re.compile(r"(?<![\w\\{])[Wb]_(E|U|V|O|Q|K|in|out)(?![\w{])"),
    )
]
MATH_OR_CODE = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`", re.S)
# (what is wrong, pattern) for a widget's label
FORBIDDEN_LABELS = [("d_model as a control's name (say 'residual dimension')", re.compile(r"d_model"))]


def _chart_strings(spec, frames: list[pd.DataFrame]) -> list[str]:
    """A chart's titles (axis, legend and chart titles in the spec) and the text in its data."""
    out: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "title" and isinstance(v, (str, list)):
                    out.extend(map(str, v if isinstance(v, list) else [v]))
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    for df in frames:
        for col in df.columns:
            if df[col].dtype == object or isinstance(df[col].dtype, pd.CategoricalDtype):
                out.extend(str(v) for v in df[col].unique())
    return out


def _texts(at) -> list[tuple[str, str]]:
    """(where, text) for everything the page writes."""
    found = [(kind, str(el.value)) for kind in TEXT_ELEMENTS for el in getattr(at, kind)]
    found += [("metric", f"{m.label} {m.value}") for m in at.metric]
    for kind in WIDGETS:
        for w in getattr(at, kind):
            found.append((f"{kind} label", str(w.label)))
            if getattr(w, "help", None):
                found.append((f"{kind} help", str(w.help)))
    for c in charts(at):
        found += [("chart", s) for s in _chart_strings(c.spec, c.frames)]
    return found


def offences(texts: list[tuple[str, str]]) -> list[str]:
    out = []
    for where, text in texts:
        rules = FORBIDDEN + (FORBIDDEN_LABELS if where.endswith(" label") else [])
        if where == "markdown":
            rules = rules + FORBIDDEN_PROSE
            text = MATH_OR_CODE.sub(" ", text)
        for what, pattern in rules:
            if m := pattern.search(text):
                out.append(f"{what}: [{where}] …{text[max(0, m.start() - 40) : m.end() + 40]}…")
    return out


def test_the_rules_catch_what_they_are_for():
    bad = [
        ("chart", "A neuron's response\nneuron = 175"),
        ("markdown", "neuron #342 fires"),
        ("caption", "moving it reruns the fragment on the server"),
        ("slider label", "d_model"),
        ("markdown", "mapped through W_out into the residual stream"),
    ]
    assert all(offences([b]) for b in bad)
    good = [
        ("chart", "neuron 175, head 0"),
        ("markdown", "the 44 neurons of frequency 14; $W_{out}$, $r W_U$, `W_E`; #0072B2"),
        ("slider label", "residual dimension"),
    ]
    assert offences(good) == []


def test_math_names_typesets_weight_names_and_leaves_math_and_code_alone():
    from ui.theme import math_names

    assert math_names("93% of W_E's energy; W_in, W_out (plus b_out)") == (
        "93% of $W_E$'s energy; $W_{in}$, $W_{out}$ (plus $b_{out}$)"
    )
    assert math_names("$r W_U$ and `W_E` and gini_W_E") == "$r W_U$ and `W_E` and gini_W_E"
    assert offences([("markdown", math_names("mapped through W_out, read by W_U"))]) == []


@pytest.mark.parametrize("page", PAGES)
def test_every_page_names_things_one_way(page, env):
    at = open_page(f"pages/{page}.py")
    assert not at.exception
    texts = _texts(at)
    assert any(kind == "markdown" for kind, _ in texts), f"{page}: no prose read"
    assert offences(texts) == []
