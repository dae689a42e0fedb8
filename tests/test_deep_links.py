"""Deep links (ui/links.py): a URL like ``/attention?c=10`` opens that view, a bad one
opens the default view, the sidebar's "Link to this view" writes the view into the URL, and
a URL that no longer describes the view is cleared (never rewritten on a widget change).

The parsers are tested directly (fast, exhaustive); each page through AppTest on the
published reference model. A page's defaults are read from the page opened without
parameters (a module-scoped baseline), so nothing here restates how a page computes them.
"""

from __future__ import annotations

import pytest
from page_testing import chart_with, charts, markdown, open_page, reference_env, tiny_run_dir

from ui.links import parse_choice, parse_int

# ---------------------------------------------------------------- the parsers


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["10"], 10),
        (["0"], 0),
        (["112"], 112),
        (["+7"], 7),
        (["007"], 7),
        ([], None),  # absent
        (["abc"], None),
        (["-5"], None),  # below lo
        (["113"], None),  # above hi
        (["99999"], None),
        (["99999999999999999999"], None),
        (["10.0"], None),
        (["1e1"], None),
        (["1_0"], None),
        ([" 10"], None),
        (["10 "], None),
        ([""], None),
        (["٣"], None),  # a non-ASCII digit
        (["\x00"], None),
        (["3", "5"], None),  # repeated
        (["10", "10"], None),
    ],
)
def test_parse_int(values, expected):
    assert parse_int(values, 0, 112) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["sum"], "sum"),
        (["wave"], "wave"),
        (["evil"], None),
        (["SUM"], None),
        ([""], None),
        ([], None),
        (["sum", "wave"], None),
    ],
)
def test_parse_choice_strings(values, expected):
    assert parse_choice(values, ["wave", "sum", "product"]) == expected


def test_parse_choice_ints_match_their_decimal_form():
    freqs = [14, 35, 41]
    assert parse_choice(["41"], freqs) == 41
    assert parse_choice(["13"], freqs) is None
    assert parse_choice(["041"], freqs) is None
    assert parse_choice(["41.0"], freqs) is None


# ---------------------------------------------------------------- the pages

# page -> (file, {URL parameter: widget key})
PAGES = {
    "basics": ("pages/basics.py", {"a": "basics.a", "b": "basics.b"}),
    "attention": ("pages/attention.py", {"c": "attention.c", "head": "attention.pattern.head"}),
    "wave-transforms": (
        "pages/wave-transforms.py",
        {"f1": "wave_transforms.f1", "f2": "wave_transforms.f2", "neuron": "wave_transforms.response.neuron"},
    ),
    "relu": ("pages/relu.py", {"f1": "relu.f1", "f2": "relu.f2", "signal": "relu.signal"}),
    "neurons": ("pages/neurons.py", {"freq": "neurons.freq"}),
}


def _open(page: str, params: dict | None = None):
    """A fresh session opened straight on ``page`` with ``params`` in its URL."""
    return open_page(PAGES[page][0], params)


def _values(at, page: str) -> dict:
    return {name: at.session_state[key] for name, key in PAGES[page][1].items()}


def _widget(at, key: str):
    """The widget with ``key``, whatever its kind."""
    for kind in ("slider", "number_input", "selectbox", "radio"):
        found = [w for w in getattr(at, kind) if w.key == key]
        if found:
            return found[0]
    raise AssertionError(f"no widget keyed {key!r}")


# The URL's words for choices that are not numbers (AppTest sees only their labels).
WORDS = {"relu.signal": ["wave", "sum", "product"]}


def _choices(at, key: str) -> list:
    """Every value the widget keyed ``key`` can take."""
    if key in WORDS:
        return WORDS[key]
    w = _widget(at, key)
    if hasattr(w, "min") and hasattr(w, "max"):
        return list(range(int(w.min), int(w.max) + 1))
    # a selectbox of numbers: each label starts with its number
    return [int(o.split()[0]) for o in w.options]


def _assert_clean(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.fixture(scope="module")
def baseline(env) -> dict:
    """Each page opened without parameters: its default values, choices and charts."""
    out = {}
    for page in PAGES:
        at = _open(page)
        _assert_clean(at)
        out[page] = {
            "at": at,
            "values": _values(at, page),
            "choices": {n: _choices(at, k) for n, k in PAGES[page][1].items()},
            "charts": sorted(c.fingerprint for c in charts(at)),
            "url": dict(at.query_params),
        }
    return out


def _other(base: dict, page: str, name: str, offset: int = 1):
    """A valid value of ``name`` that is not its default."""
    choices = base[page]["choices"][name]
    default = base[page]["values"][name]
    step = 1 + (offset - 1) % (len(choices) - 1)  # never a whole turn back to the default
    return choices[(choices.index(default) + step) % len(choices)]


@pytest.mark.parametrize("page", list(PAGES))
def test_without_parameters_the_url_stays_clean(baseline, page):
    assert baseline[page]["url"] == {}


def _check_view(at, page: str, v: dict, p: int) -> None:
    """The page's charts (or, for basics, its chart and its sentence) show the values ``v``."""
    if page == "attention":
        resid = chart_with(at, "in c-order")
        assert resid.opening == v["c"]  # the scope opens on c
        assert f"Idealised residual stream for c = {v['c']}" in chart_with(at, "Idealised").text
        assert f"head {v['head']}" in chart_with(at, "Attention from").title.splitlines()
    elif page == "basics":
        picks = [df for c in charts(at) for df in c.frames if list(df.columns) == ["a", "b"] and len(df) == 1]
        assert picks and all((df["a"][0], df["b"][0]) == (v["a"], v["b"]) for df in picks)
        assert f"[{v['a']}, {v['b']}, {p}]" in markdown(at)
    elif page == "wave-transforms":
        text = chart_with(at, "Two waves and their product").text
        assert f"cos {v['f1']}" in text and f"cos {v['f2']}" in text
        assert f"neuron {v['neuron']}" in chart_with(at, "A neuron's response").title.splitlines()
    elif page == "relu":
        name = {
            "wave": f"wave {v['f1']}",
            "sum": f"{v['f1']} + {v['f2']}",
            "product": f"{v['f1']} × {v['f2']}",
        }
        assert f"signal = {name[v['signal']]}" in chart_with(at, "ReLU(signal").title
    elif page == "neurons":
        assert chart_with(at, f"Pre-activations of the frequency-{v['freq']} neurons")


@pytest.mark.parametrize("page", list(PAGES))
def test_a_valid_link_opens_that_view(baseline, page):
    p = baseline["basics"]["choices"]["a"][-1] + 1
    wanted = {name: _other(baseline, page, name, offset=3) for name in PAGES[page][1]}
    at = _open(page, {k: str(v) for k, v in wanted.items()})
    _assert_clean(at)
    assert _values(at, page) == wanted
    _check_view(at, page, wanted, p)
    assert at.query_params == {k: str(v) for k, v in wanted.items()}  # the link stays as given
    # and the view differs from the default one
    assert sorted(c.fingerprint for c in charts(at)) != baseline[page]["charts"]


def test_the_documented_example_links(baseline):
    """The examples a teacher will read in the README, where they hold on this model."""
    at = _open("attention", {"c": "10"})
    _assert_clean(at)
    assert at.session_state["attention.c"] == 10
    if 41 in baseline["neurons"]["choices"]["freq"]:
        at = _open("neurons", {"freq": "41"})
        _assert_clean(at)
        assert at.session_state["neurons.freq"] == 41
    at = _open("relu", {"f1": "14", "f2": "35", "signal": "product"})
    _assert_clean(at)
    assert _values(at, "relu") == {"f1": 14, "f2": 35, "signal": "product"}


BAD = [
    ("attention", {"c": "abc", "head": "1.0"}),
    ("attention", {"c": "-5", "head": ["1", "2"]}),  # repeated
    ("attention", {"c": "99999", "head": "99"}),
    ("basics", {"a": "abc", "b": "-5"}),
    ("basics", {"a": "99999", "b": ["3", "5"]}),
    ("wave-transforms", {"f1": "0", "f2": "99999", "neuron": "abc"}),
    ("wave-transforms", {"f1": "-5", "f2": "1e1", "neuron": "99999"}),
    ("relu", {"f1": "0", "f2": "abc", "signal": "evil"}),
    ("relu", {"f1": "99999", "f2": ["3", "5"], "signal": "SUM"}),
    ("neurons", {"freq": "13"}),
    ("neurons", {"freq": "abc"}),
]


@pytest.mark.parametrize(
    ("page", "params"), BAD, ids=[f"{p}-{'&'.join(f'{k}={v}' for k, v in q.items())}" for p, q in BAD]
)
def test_a_bad_link_opens_the_default_view(baseline, page, params):
    if page == "neurons" and params["freq"] == "13":
        assert 13 not in baseline["neurons"]["choices"]["freq"], "13 is a real group on this model"
    at = _open(page, {**params, "other": "kept"})
    _assert_clean(at)
    assert _values(at, page) == baseline[page]["values"]
    assert sorted(c.fingerprint for c in charts(at)) == baseline[page]["charts"]  # nothing else changed
    # the bad parameters are dropped from the URL; one the page does not know is left alone
    assert at.query_params == {"other": "kept"}


def _set(at, key: str, value):
    _widget(at, key).set_value(value)


def _share(at):
    at.button(key="links.share").click().run()
    _assert_clean(at)


@pytest.mark.parametrize("page", list(PAGES))
def test_the_link_button_writes_the_view_and_moving_on_clears_it(baseline, page):
    at = _open(page, {"other": "kept"})
    default = baseline[page]["values"]
    wanted = {name: _other(baseline, page, name) for name in PAGES[page][1]}
    for name, key in PAGES[page][1].items():
        _set(at, key, wanted[name])
    at.run()
    _assert_clean(at)
    assert at.query_params == {"other": "kept"}  # a widget change writes nothing
    _share(at)
    assert at.query_params == {"other": "kept", **{k: str(v) for k, v in wanted.items()}}
    assert _values(at, page) == wanted  # the click changed nothing of the view
    # One choice moves: the link no longer describes the view, and all of it goes.
    name, key = next(iter(PAGES[page][1].items()))
    _set(at, key, _other(baseline, page, name, offset=2))
    at.run()
    _assert_clean(at)
    assert at.query_params == {"other": "kept"}
    # Back to the defaults: the link of the default view is the plain address.
    for name, key in PAGES[page][1].items():
        _set(at, key, default[name])
    at.run()
    _share(at)
    assert at.query_params == {"other": "kept"}


@pytest.mark.parametrize("page", list(PAGES))
def test_a_link_opened_then_left_is_cleared(baseline, page):
    wanted = {name: _other(baseline, page, name, offset=3) for name in PAGES[page][1]}
    at = _open(page, {k: str(v) for k, v in wanted.items()})
    name, key = list(PAGES[page][1].items())[-1]
    _set(at, key, baseline[page]["values"][name])  # one choice back to its default
    at.run()
    _assert_clean(at)
    view = {k: str(v) for k, v in wanted.items() if k != name}  # the choices now off their defaults
    # What is left of the link describes the view exactly, or nothing is left: never a
    # parameter that would open something else (which of the two depends on the order in
    # which the page keeps its choices).
    assert at.query_params in ({}, view)
    _share(at)
    assert at.query_params == view


def test_ranges_follow_the_model(tmp_path, env):
    """On another prime the range is that model's: c = p - 1 opens, c = p falls back."""
    p = 31
    with reference_env(tiny_run_dir(tmp_path, p)):
        at = _open("attention", {"c": str(p - 1)})
        _assert_clean(at)
        assert at.session_state["attention.c"] == p - 1
        assert at.query_params == {"c": str(p - 1)}
        at = _open("attention", {"c": str(p)})
        _assert_clean(at)
        assert at.session_state["attention.c"] != p
        assert at.query_params == {}
