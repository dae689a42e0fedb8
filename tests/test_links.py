"""The whole view in the link, ignored parameters said aloud, and choices kept for the session.

Pure tests first (ui/links.py's parsing and wording, without Streamlit). Then, on every
routed page through AppTest on the reference model, a round trip: every server-side widget
of the page (selects, radios, segmented controls, number inputs, sliders, the multiselect)
is moved away from its default, "Link to this view" is pressed, and a fresh session opened
on that address must show every widget at the same value. The same address with one
parameter spoiled must name that parameter in a notice and keep the others, in the view and
in the address. Last, leaving a page and coming back keeps its choices; a link wins over them.

The widgets are found, not listed: whatever the page draws with a page-prefixed key, so a
widget added later without a link makes the round trip fail.
"""

from __future__ import annotations

import pytest
from page_testing import open_page

from ui.links import notice, opening, parse_choice, parse_int

# ---------------------------------------------------------------- pure


def _ints(values):
    return parse_int(values, 0, 112)


@pytest.mark.parametrize(
    ("values", "kept", "expected"),
    [
        (["7"], None, (7, False)),  # the link
        (["7"], "9", (7, False)),  # the link wins over memory
        ([], "9", (9, False)),  # no link: memory
        ([], None, (None, False)),  # neither: the default
        ([], "999", (None, False)),  # memory that no longer fits this model: the default
        (["999"], "9", (None, True)),  # a bad link: ignored, and the default, not memory
        (["abc"], None, (None, True)),
        (["3", "5"], None, (None, True)),  # repeated
    ],
)
def test_opening(values, kept, expected):
    assert opening(values, _ints, kept) == expected


def test_opening_of_choices():
    choose = lambda vs: parse_choice(vs, ["wave", "sum", "product"])  # noqa: E731
    assert opening(["product"], choose, "wave") == ("product", False)
    assert opening(["bogus"], choose, "wave") == (None, True)
    assert opening([], choose, "wave") == ("wave", False)


def test_notice_names_the_parameter_its_value_and_why():
    text = notice("freq", ["999"], "it is not a key frequency of this model")
    assert text == (
        "The link's `freq=999` was ignored: it is not a key frequency of this model, "
        "so that choice opens on its default."
    )
    assert "given more than once" in notice("c", ["1", "2"], "whatever")
    assert "`c=1&c=2`" in notice("c", ["1", "2"], "whatever")


def test_notice_keeps_the_readers_text_inside_its_code_span():
    text = notice("a", ["x`**bold**`\n" + "y" * 200], "why")
    shown = text.split("`")[1]
    assert text.count("`") == 2 and "\n" not in text
    assert len(shown) <= 60 and shown.endswith("…")


# ---------------------------------------------------------------- the pages

FILES = {
    "basics": "pages/basics.py",
    "attention": "pages/attention.py",
    "wave-transforms": "pages/wave-transforms.py",
    "relu": "pages/relu.py",
    "neurons": "pages/neurons.py",
    "grokking": "pages/grokking.py",
    "trace": "pages/trace.py",
    "ablation-lab": "pages/ablation-lab.py",
    "clock-or-pizza": "pages/clock-or-pizza.py",
    "claims": "pages/claims.py",
}
PREFIXES = {
    "basics",
    "attention",
    "wave_transforms",
    "relu",
    "neurons",
    "grokking",
    "trace",
    "lab",
    "clock_pizza",
}
PREFIXES |= {"claims"}
KINDS = ("slider", "number_input", "selectbox", "radio", "button_group", "multiselect", "toggle", "checkbox")
NOT_CHOICES = {"lab.typed"}  # a text box that only fills the frequency multiselect (linked itself)


def _vocabulary() -> list:
    """Every word a choice of this app can take (the values behind the widgets' labels)."""
    from lens import lab
    from lens.story.relu import SIGNALS
    from ui.figures.grokking import AXES
    from ui.scope_widget import VIEW_LABELS

    return [*VIEW_LABELS, *lab.HOOKS, *lab.MODES, *lab.COMPONENTS, *SIGNALS, *AXES]


def _widgets(at) -> dict:
    """The page's choices by widget key."""
    out = {}
    for kind in KINDS:
        for w in getattr(at, kind):
            key = w.key or ""
            if key.split(".")[0] in PREFIXES and key not in NOT_CHOICES:
                out[key] = w
    return out


def _value_of(label: str, w):
    """The value behind an option's label (AppTest knows the labels and the format)."""
    from streamlit.testing.v1.element_tree import _format_value_for_widget

    words = label.replace(",", "").split()
    cands = [label, *[int(t) for t in words if t.lstrip("-").isdigit()], *_vocabulary()]
    for c in cands:
        try:
            if _format_value_for_widget(w.format_func, c) == label:
                return c
        except (TypeError, ValueError, KeyError, AttributeError):
            continue
    raise AssertionError(f"no value behind the label {label!r} of {w.key}")


def _move(w):
    """Set ``w`` to a valid value other than its current one."""
    if hasattr(w, "min") and hasattr(w, "max"):  # slider, number input
        v = w.value
        w.set_value(v + 1 if v < w.max else v - 1)
    elif w.type == "multiselect":
        now = list(w.value)
        labels = list(w.options)
        extra = next(_value_of(lab, w) for lab in labels if _value_of(lab, w) not in now)
        w.set_value(now[:-1] if len(now) > 1 else [*now, extra])
    elif w.type in ("toggle", "checkbox"):
        w.set_value(not w.value)
    else:  # selectbox, radio, segmented control: the next option
        labels = list(w.options)
        now = labels.index(_format_of(w, w.value))
        w.set_value(_value_of(labels[(now + 1) % len(labels)], w))


def _format_of(w, value) -> str:
    from streamlit.testing.v1.element_tree import _format_value_for_widget

    return _format_value_for_widget(w.format_func, value)


def _values(at) -> dict:
    return {k: (list(w.value) if w.type == "multiselect" else w.value) for k, w in _widgets(at).items()}


def _clean(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _notices(at) -> list[str]:
    return [i.value for i in at.info if "was ignored" in i.value]


def _params(at) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


def _moved_view(page: str):
    """A session on ``page`` with every choice moved off its default (new choices that a move
    reveals, such as a head once the path goes through one, are moved in turn), and the
    defaults it started from."""
    at = open_page(FILES[page])
    _clean(at)
    defaults = _values(at)
    moved: set[str] = set()
    for _ in range(4):
        fresh = {k: w for k, w in _widgets(at).items() if k not in moved}
        if not fresh:
            break
        for w in fresh.values():
            _move(w)
        moved |= set(fresh)
        at.run()
        _clean(at)
    return at, defaults


@pytest.mark.parametrize("page", list(FILES))
def test_the_link_restores_every_choice(env, page):
    at, defaults = _moved_view(page)
    view = _values(at)
    if page in ("clock-or-pizza", "claims"):
        assert view == {}, "a server-side choice this test does not move"
    # every choice is off its default (those the default view has under the same key)
    assert [k for k in view if k in defaults and view[k] == defaults[k]] == []
    assert _params(at) == {}  # moving widgets writes no address
    at.button(key="links.share").click().run()
    _clean(at)
    link = _params(at)
    # A parameter per choice, except one whose default follows another choice: a scope's
    # c slider (its play axis given up for another) opens on the page's c, so when the two
    # agree the page's c says both. The fresh session below proves that nothing is lost.
    assert len(link) >= len(view) - sum(
        k.endswith(".c") and k != "attention.c" and view[k] == view.get("attention.c") for k in view
    )
    again = open_page(FILES[page], link)
    _clean(again)
    assert _values(again) == view
    assert _params(again) == link and _notices(again) == []
    if not link:
        return
    # One parameter spoiled: it alone is dropped, with a notice; the rest of the link holds.
    name = sorted(link)[-1]
    spoiled = open_page(FILES[page], {**link, name: "bogus!"})
    _clean(spoiled)
    assert _params(spoiled) == {k: v for k, v in link.items() if k != name}
    (text,) = _notices(spoiled)
    assert f"`{name}=bogus!`" in text
    got = _values(spoiled)
    assert sum(got[k] != view[k] for k in view if k in got) <= 1  # only that choice is back at its default


@pytest.mark.parametrize(
    ("page", "params", "kept"),
    [
        ("neurons", {"freq": "999"}, {}),
        ("relu", {"f1": "14", "f2": "35", "signal": "bogus"}, {"f1": "14", "f2": "35"}),
    ],
)
def test_the_issues_examples(env, page, params, kept):
    at = open_page(FILES[page], params)
    _clean(at)
    bad = next(k for k in params if k not in kept)
    (text,) = _notices(at)
    assert f"`{bad}={params[bad]}`" in text and "was ignored" in text
    assert _params(at) == kept
    if page == "relu":
        assert (at.session_state["relu.f1"], at.session_state["relu.f2"]) == (14, 35)
        # The address as it stands opens that view; so does the one the link button writes
        # (which leaves out a choice at its default).
        at.button(key="links.share").click().run()
        again = open_page(FILES[page], _params(at))
        assert (again.session_state["relu.f1"], again.session_state["relu.f2"]) == (14, 35)


def test_a_notice_goes_once_the_reader_moves_on(env):
    at = open_page(FILES["neurons"], {"freq": "999"})
    assert _notices(at)
    at.button(key="links.share").click().run()
    assert _notices(at) == []


@pytest.mark.parametrize("page", ["relu", "attention", "wave-transforms"])
def test_leaving_a_page_and_coming_back_keeps_its_choices(env, page):
    at, _ = _moved_view(page)
    view = _values(at)
    at.switch_page("pages/claims.py")
    at.run()
    _clean(at)
    assert not any(k in at.session_state for k in view)  # Streamlit has dropped the widgets
    at.switch_page(FILES[page])
    at.run()
    _clean(at)
    assert _values(at) == view
    assert _params(at) == {}  # remembered, not written


def test_a_link_wins_over_remembered_choices(env):
    at = open_page(FILES["relu"])
    at.selectbox(key="relu.f1").set_value(20)
    at.radio(key="relu.signal").set_value("product")
    at.run()
    at.switch_page("pages/claims.py")
    at.run()
    at.query_params["f2"] = "35"
    at.switch_page(FILES["relu"])
    at.run()
    _clean(at)
    default = open_page(FILES["relu"])
    # the link's f2; its silence on f1 and signal means their defaults, not what was left
    assert at.session_state["relu.f2"] == 35
    assert at.session_state["relu.f1"] == default.session_state["relu.f1"]
    assert at.session_state["relu.signal"] == default.session_state["relu.signal"]


def test_the_readmes_attention_example(env):
    """The README's example: a key frequency, a view and a residual dimension, all restored."""
    params = {"freq": "41", "resid_mid.view": "fourier", "resid_mid.residual_dimension": "7"}
    at = open_page(FILES["attention"], params)
    _clean(at)
    assert "41" in at.selectbox(key="attention.ideal_freq").options, "41 is not a key frequency here"
    assert at.session_state["attention.ideal_freq"] == 41
    assert at.session_state["attention.resid_mid.view"] == "fourier"
    assert at.session_state["attention.resid_mid.residual dimension"] == 7
    assert _params(at) == params and _notices(at) == []
