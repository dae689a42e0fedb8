"""The Ablation lab page through AppTest: on the embedded default model (its opening view, a
preset, typed frequencies, deep links) and on a tiny run with another p."""

from __future__ import annotations

import os

import pytest
from page_testing import charts, markdown, open_page, reference_env, tiny_run_dir

PAGE = "pages/ablation-lab.py"


@pytest.fixture(scope="module")
def embedded():
    """The app on its embedded default model (whatever LENS_CHECKPOINT says elsewhere)."""
    from lens.paths import DEFAULT_RUN

    if not (DEFAULT_RUN / "config.json").is_file():
        pytest.skip("the embedded default run is absent")
    old = os.environ.pop("LENS_CHECKPOINT", None)
    try:
        yield DEFAULT_RUN
    finally:
        if old is not None:
            os.environ["LENS_CHECKPOINT"] = old


@pytest.fixture(scope="module")
def page(embedded):
    return open_page(PAGE)


def _table(at):
    return at.table[0].value


def test_prose_first_then_the_default_ablation(page):
    assert not page.exception
    text = markdown(page)
    assert text.index("An **ablation**") < text.index("random controls") < text.index("p = 113")
    assert "causal" in text
    # The opening view: the key frequencies removed everywhere from the neurons' output.
    assert page.session_state["lab.hook"] == "post" and page.session_state["lab.components"] == "all"
    assert page.multiselect(key="lab.freqs").value == [5, 8, 44, 50]
    table = _table(page)
    assert list(table.index)[:2] == ["the model", "after the ablation"]
    assert "random sets (mean of 20)" in table.index
    assert {"loss, train", "loss, test", "loss, all", "accuracy, test"} <= set(table.columns)
    assert "rank 1 of 21" in text and "they are causal" in text
    # The progress indicator: a status while the ablation runs, complete once it has.
    (status,) = page.status
    assert status.state == "complete" and status.label == "Ablation done, with 20 random controls."


def test_controls_chart_and_failure_map(page):
    found = charts(page)
    controls = [c for c in found if "random sets of the same size" in c.title]
    assert len(controls) == 1
    (data,) = [df for df in controls[0].frames if "kind" in df.columns]
    assert (data["kind"] == "random set").sum() == 20 and (data["kind"] == "chosen set").sum() == 1
    maps = [
        c
        for c in found
        if any(layer.get("mark", {}).get("type") == "image" for layer in c.spec.get("layer", []))
    ]
    assert len(maps) == 1
    assert "wrong, test pair" in maps[0].text


def test_a_preset_is_one_click(embedded):
    at = open_page(PAGE)
    at.button(key="lab.preset.without_products").click().run()
    assert not at.exception
    assert at.session_state["lab.components"] == "products" and at.session_state["lab.mode"] == "remove"
    from lens.checkpoint import load
    from lens.claims.relu import products_removed
    from lens.run import run_model
    from ui.theme import num

    value = products_removed(run_model(load(embedded), engine="numpy", all_positions=False)).value
    assert _table(at).loc["after the ablation", "loss, test"] == num(value, ".3g")
    at.button(key="lab.preset.only_key_frequencies").click().run()
    assert at.session_state["lab.mode"] == "keep" and at.session_state["lab.components"] == "along_b"
    at.button(key="lab.set.harmonics").click().run()
    assert at.multiselect(key="lab.freqs").value == [10, 13, 16, 25]


def test_typed_frequencies_and_a_clear_message_for_bad_ones(embedded):
    at = open_page(PAGE)
    at.text_input(key="lab.typed").input("70").run()
    assert not at.exception
    assert any("same as 43" in w.value for w in at.warning)
    assert at.multiselect(key="lab.freqs").value == [5, 8, 44, 50]  # unchanged
    at.text_input(key="lab.typed").input("3, 20-21").run()
    assert at.multiselect(key="lab.freqs").value == [3, 20, 21]
    assert not at.warning
    assert "Removing 3, 20 and 21" in markdown(at)


def test_deep_link_opens_the_view_and_a_bad_one_the_default(embedded):
    at = open_page(PAGE, {"hook": "pre", "freqs": "5,8", "mode": "keep", "components": "along_b"})
    assert not at.exception
    assert at.session_state["lab.hook"] == "pre" and at.session_state["lab.mode"] == "keep"
    assert at.multiselect(key="lab.freqs").value == [5, 8]
    assert "Keeping only 5 and 8" in markdown(at)
    bad = open_page(PAGE, {"hook": "nowhere", "freqs": "5,x", "components": "diagonal"})
    assert not bad.exception
    assert bad.session_state["lab.hook"] == "post" and bad.multiselect(key="lab.freqs").value == [
        5,
        8,
        44,
        50,
    ]


def test_on_a_tiny_run_with_another_p(tmp_path):
    run_dir = tiny_run_dir(tmp_path, 13)
    with reference_env(run_dir):
        at = open_page(PAGE)
        assert not at.exception
        assert "p = 13" in markdown(at)
        at.selectbox(key="lab.hook").set_value("embed").run()
        assert not at.exception
        at.radio(key="lab.components").set_value("along_a").run()
        assert not at.exception and len(charts(at)) == 2


def test_the_charts_are_valid_vega_lite(page):
    """Built without validation (speed): checked here as the browser receives them."""
    import json

    from ui.scope import validate_spec

    specs = [json.loads(el.proto.spec) for el in page.get("vega_lite_chart")]
    assert len(specs) == 2
    for s in specs:
        validate_spec(s)
