"""The Claims page (``/claims``) through Streamlit's AppTest, and the lens helpers it shows.

Three models: the embedded default (some claims hold, some fail), the published reference
(skipped when absent) and a hand-built Pizza (``claim_models``: constant attention, a ReLU of
the summed waves) saved as a run directory, which fails clock-or-pizza among others. On each
the page must list every claim with the sentence that fits its verdict and its card; the
expected results are measured here with ``lens.claims`` on the run the app cached.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from claim_models import run_of, wave_model
from page_testing import APP, app_run, markdown, open_page, reference_env

from lens.claims import SECTIONS, evaluate_all, to_json
from lens.claims.table import by_section, rows, summary
from lens.paths import DEFAULT_RUN

PAGE = "pages/claims.py"
ANCHORS = list(SECTIONS)  # each section's subheader anchor: /claims#relu
TITLES = ["Basics", "Attention", "Wave Transforms", "ReLU", "Neurons", "The logits"]
PIZZA = dict(scale=3.0)  # claim_models' Pizza: not a clock, its logits not a sum of cosines


# ---------------------------------------------------------------- the helpers in lens.claims.table


@pytest.fixture(scope="module")
def pizza_results():
    return evaluate_all(run_of(wave_model(13, [2, 5], **PIZZA), "pizza"))


def test_summary_counts_what_holds_and_names_what_fails(pizza_results):
    s = summary(pizza_results)
    assert s.total == len(pizza_results)
    assert s.held == sum(r.holds for r in pizza_results)
    assert 0 < s.held < s.total  # the Pizza passes some claims and fails others
    assert s.failing == tuple(r.id for r in pizza_results if not r.holds)
    assert "clock-or-pizza" in s.failing
    assert summary([]) == type(s)(0, 0, ())


def test_by_section_keeps_section_order_and_every_claim(pizza_results):
    groups = by_section(pizza_results)
    assert list(groups) == [s for s in SECTIONS if s in groups]
    assert [r.id for rs in groups.values() for r in rs] == [r.id for r in pizza_results]
    assert all(r.section == s for s, rs in groups.items() for r in rs)
    reversed_groups = by_section(pizza_results[::-1])
    assert list(reversed_groups) == list(groups)  # the sections' order, not the input's


def test_rows_are_plain_values_with_renamed_sections(pizza_results):
    table = rows(pizza_results, {"logits": "The logits"})
    assert [r["claim"] for r in table] == [r.id for r in pizza_results]
    assert {r["section"] for r in table} <= set(SECTIONS) - {"logits"} | {"The logits"}
    for row, r in zip(table, pizza_results, strict=True):
        assert row["holds"] is r.holds and row["passes at"] == r.rule
        assert isinstance(row["value"], float) and isinstance(row["threshold"], float)


# ---------------------------------------------------------------- the page


def _captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def _check_page(at, results) -> None:
    """Every claim listed under its section with the sentence of its verdict and its card;
    the summary line, the table and the download from the same results."""
    from ui.claims import card_line

    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value.startswith("Claims")
    text, captions = markdown(at), _captions(at)
    # Prose first: what a claim is and how to run them from a terminal.
    assert "python -m lens claims --checkpoint PATH --json" in text
    assert "Zhong et al. (2023)" in text and "gradient symmetricity" in text
    # Sections as subheaders, anchored by section name, in order.
    present = [s for s in SECTIONS if any(r.section == s for r in results)]
    heads = [(h.proto.anchor, h.value) for h in at.subheader]
    assert heads == [(s, TITLES[ANCHORS.index(s)]) for s in present]
    from ui.theme import math_names

    for r in results:
        assert math_names(r.statement) in text, r.id  # its weight names typeset as math
        assert card_line(r) in captions, r.id
    # Both wordings: a badge per verdict, as many as there are claims of each.
    held = sum(r.holds for r in results)
    assert captions.count(":green-badge[holds]") == held
    assert captions.count(":orange-badge[fails]") == len(results) - held
    s = summary(results)
    if 0 < s.held < s.total:
        assert f"**{s.held} of {s.total} claims hold on this model.**" in text
        assert all(f"`{i}`" in text for i in s.failing)
    table = at.dataframe[0].value
    assert list(table["claim"]) == [r.id for r in results]
    assert list(table["holds"]) == [r.holds for r in results]
    (download,) = at.get("download_button")
    assert download.proto.url.endswith(".json") and download.proto.ignore_rerun


@pytest.fixture(scope="module")
def default_page():
    with reference_env(DEFAULT_RUN):
        return open_page(PAGE, {"other": "kept"})


def test_the_default_model(default_page):
    results = evaluate_all(app_run(DEFAULT_RUN))
    assert any(r.holds for r in results) and not all(r.holds for r in results)
    _check_page(default_page, results)


def test_the_link_is_clean(default_page):
    """A deep link to /claims opens this page (AppTest resolves the file name, which is the
    page's URL path, as a browser resolves /claims); the page has no choices of its own, so
    an unknown parameter is left alone and "Link to this view" adds nothing."""
    at = default_page
    assert dict(at.query_params) == {"other": "kept"}
    at.button(key="links.share").click().run()
    assert not at.exception
    assert dict(at.query_params) == {"other": "kept"}
    assert at.title[0].value.startswith("Claims")


def test_app_routes_claims_at_its_own_url():
    tree = ast.parse(Path(APP).read_text())
    (sections,) = [
        ast.literal_eval(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "SECTIONS" for t in node.targets)
    ]
    routes = {url: file for file, _title, _icon, url in sections}
    assert routes["claims"] == "claims.py"
    assert list(routes)[-2:] == ["claims", "summary"]  # the laboratory's last, then the Summary


def test_the_reference_model(env, reference_path):
    results = evaluate_all(app_run(reference_path))
    at = open_page(PAGE)
    _check_page(at, results)
    by_id = {r.id: r for r in results}
    assert by_id["clock-or-pizza"].details["verdict"] == "clock"
    assert "describe the right family of algorithm" in markdown(at)


def test_a_pizza_fails_clock_or_pizza(tmp_path, monkeypatch):
    from lens.checkpoint import save_run

    path = save_run(
        tmp_path / "pizza", wave_model(13, [2, 5], **PIZZA), {"kind": "seeded", "frac": 0.3, "seed": 0}
    )
    monkeypatch.setenv("LENS_CHECKPOINT", str(path))
    at = open_page(PAGE)
    results = evaluate_all(app_run(path))
    _check_page(at, results)
    cp = {r.id: r for r in results}["clock-or-pizza"]
    assert not cp.holds and cp.details["verdict"] == "pizza"
    text = markdown(at)
    assert "this model is a pizza, not a clock" in text
    assert "this model runs a pizza" in text
    assert "describe the right family" not in text


def test_the_json_is_the_clis(pizza_results):
    """What the download serves is ``lens.claims.to_json``: one strict JSON list."""
    data = json.loads(to_json(pizza_results))
    assert [d["id"] for d in data] == [r.id for r in pizza_results]
