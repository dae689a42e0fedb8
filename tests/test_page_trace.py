"""The Trace page through Streamlit's AppTest: deep links, the numbers it states, its charts.

Mostly on a tiny model (p = 13, milliseconds), so a p other than 113 is exercised too; one
test opens it on the published reference model.
"""

from __future__ import annotations

import pytest
from page_testing import (
    MAX_POINTS,
    app_run,
    chart_with,
    charts,
    markdown,
    open_page,
    reference_env,
    tiny_run_dir,
)

PAGE = "pages/trace.py"
P = 13


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny p = 13 model as the app's checkpoint while the module runs."""
    path = tiny_run_dir(tmp_path_factory.mktemp("trace"), P)
    with reference_env(path):
        yield path


def _facts(path, a: int, b: int):
    from lens import trace as lt

    run = app_run(path)
    return lt.trace(run, a, b, lt.neuron_frequencies(run))


def _default_pair(path) -> tuple[int, int]:
    from lens.story.basics import task

    return divmod(task(app_run(path).ck).first_test, P)


def _pair(at) -> tuple[int, int]:
    return int(at.number_input(key="trace.a").value), int(at.number_input(key="trace.b").value)


def test_a_deep_link_opens_that_pair(tiny):
    at = open_page(PAGE, {"a": "3", "b": "4"})
    assert not at.exception
    assert _pair(at) == (3, 4)
    t = _facts(tiny, 3, 4)
    text = markdown(at)
    assert "`[3, 4, =]`" in text
    assert f"c = (3 + 4) mod {P} = 7" in text
    # the numbers of every stage, as lens computes them
    assert f"2a = {t.ghosts[0]} and 2b = {t.ghosts[1]}" in text
    assert f"**{t.firing} of {len(t.neuron_freq)}** fire" in text
    top = ", ".join(f"{k} ({v:#.3g})" for k, v in t.top3)
    assert top in text
    assert f"{abs(t.margin):#.3g}" in text
    assert f"Head {t.head_on_a} attends most to a" in text
    assert dict(at.query_params) == {"a": "3", "b": "4"}  # the link still describes the view: kept


@pytest.mark.parametrize(
    "params",
    [{"a": "abc", "b": "4"}, {"a": "3", "b": str(P)}, {"a": "-1"}, {"a": "3.0", "b": "1e1"}],
    ids=["not-a-number", "out-of-range", "negative", "not-an-integer"],
)
def test_a_bad_value_falls_back_to_the_default(tiny, params):
    at = open_page(PAGE, params)
    assert not at.exception
    da, db = _default_pair(tiny)
    a, b = _pair(at)
    good = {k: int(v) for k, v in params.items() if v.lstrip("-").isdigit() and 0 <= int(v) < P}
    assert a == good.get("a", da)
    assert b == good.get("b", db)
    assert f"`[{a}, {b}, =]`" in markdown(at)


def test_charts_follow_the_pair_and_stay_within_budget(tiny):
    at = open_page(PAGE, {"a": "2", "b": "5"})
    found = charts(at)
    assert len(found) >= 10
    assert all(c.rows <= MAX_POINTS for c in found)
    before = {c.fingerprint for c in found}
    at.number_input(key="trace.a").set_value(6)
    at.run()
    assert not at.exception
    assert _pair(at) == (6, 5)
    assert "`[6, 5, =]`" in markdown(at)
    after = {c.fingerprint for c in charts(at)}
    assert len(before - after) >= 5  # the trace's charts and scopes follow the pair
    # the link no longer describes the view, so it is cleared
    assert "a" not in at.query_params


def test_the_logit_chart_marks_the_answer_and_the_ghosts(tiny):
    at = open_page(PAGE, {"a": "2", "b": "5"})
    t = _facts(tiny, 2, 5)
    chart = chart_with(at, "margin to the runner-up")
    (roles,) = [df for df in chart.frames if "role" in df.columns]
    assert roles.loc[roles["c"] == 7, "role"].item() == "right answer c"
    assert roles.loc[roles["c"] == 4, "role"].item() == "ghost 2a"
    assert roles.loc[roles["c"] == 10, "role"].item() == "ghost 2b"
    assert f"(c = {t.runner_up})" in chart.text


def test_the_map_is_clickable(tiny):
    from ui.figures.basics import SELECTION

    at = open_page(PAGE, {"a": "2", "b": "5"})
    (m,) = [
        c
        for c in charts(at)
        if any(layer.get("mark", {}).get("type") == "image" for layer in c.spec.get("layer", []))
    ]
    assert m.spec["layer"][-1]["params"][0]["name"] == SELECTION
    # the outline of the chosen pair travels as one row
    assert any(list(df.columns) == ["a", "b"] and df.iloc[0].tolist() == [2, 5] for df in m.frames)


def test_the_page_on_the_reference_model(reference_path):
    # its own context, not the module-scoped ``env``, which would stay set for the tests after it
    with reference_env(reference_path):
        at = open_page(PAGE, {"a": "5", "b": "7"})
        assert not at.exception
        t = _facts(reference_path, 5, 7)
    text = markdown(at)
    assert f"c = (5 + 7) mod {t.p} = {t.c}" in text
    assert f"frequency {t.loudest_group}" in text
    assert all(c.rows <= MAX_POINTS for c in charts(at))


def test_link_to_this_view_names_the_pair(tiny):
    at = open_page(PAGE)
    da, db = _default_pair(tiny)
    a = (da + 1) % P
    at.number_input(key="trace.a").set_value(a)
    at.run()
    at.button(key="links.share").click().run()
    assert not at.exception
    assert dict(at.query_params) == {"a": str(a)}  # b is at its default: not written
    assert _pair(at) == (a, db)


def test_the_group_select_redraws_its_scope_only(tiny):
    """The group select is a fragment: the group's scope follows it, the other charts stay."""
    at = open_page(PAGE, {"a": "2", "b": "5"})
    t = _facts(tiny, 2, 5)
    if len(t.groups) < 2:
        pytest.skip("the tiny model has a single neuron group")
    other = next(f for f in t.groups if f != t.loudest_group)
    title = f"One frequency-{other} neuron before and after its ReLU"
    before = {c.fingerprint for c in charts(at)}
    assert not any(title in c.text for c in charts(at))
    at.selectbox(key="trace.group").set_value(other).run()
    assert not at.exception
    after = charts(at)
    assert any(title in c.text for c in after)
    assert len(before - {c.fingerprint for c in after}) == 1  # only the group's scope changed
