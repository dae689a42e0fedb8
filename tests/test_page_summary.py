"""The Summary and Glossary pages (AppTest, the embedded default model), the link to the next
section at the end of every page, and every chart's CSV button.

Expected values are computed here from lens on the run the app caches (``app_run``): the
summary's figures from ``lens.story.summary``, its verdicts from ``lens.claims.evaluate``
(not through the app's claim cache), the glossary's values from ``lens.story.glossary``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from page_testing import APP, app_run, charts, markdown, no_checkpoint_env, open_page

from lens.paths import DEFAULT_RUN


def _sections() -> list[tuple[str, str, str, str]]:
    """app.py's SECTIONS, read from its source (importing app.py would run the app)."""
    tree = ast.parse(Path(APP).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SECTIONS" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("app.py has no SECTIONS")


SECTIONS = _sections()


@pytest.fixture(scope="module", autouse=True)
def embedded():
    with no_checkpoint_env():
        yield


@pytest.fixture(scope="module")
def summary_page():
    at = open_page("pages/summary.py")
    assert not at.exception
    return at


def test_the_path_ends_with_summary_after_claims():
    urls = [s[3] for s in SECTIONS]
    assert urls[-2:] == ["claims", "summary"]
    assert "glossary" not in urls  # beside the path: no page leads to it as "next"


def test_the_summary_diagram_quotes_lens_figures_and_the_claims_verdicts(summary_page):
    from lens.claims import CLAIMS, evaluate
    from lens.story import summary
    from ui.figures.summary import figure_text, verdict_text

    run = app_run(DEFAULT_RUN)
    f = summary.facts(run)
    (diagram,) = charts(summary_page)
    text = "\n".join(str(v) for df in diagram.frames if "text" in df.columns for v in df["text"])
    results = {c: evaluate(CLAIMS[c], run) for s in f.stages for c in s.claims}
    for i, stage in enumerate(f.stages):
        assert f"{i + 1}. {stage.title}" in text
        assert figure_text(stage, f) in text
    for r in results.values():
        line = verdict_text(r)
        assert line in text and line.startswith("✓ holds" if r.holds else "✗ fails")
    # The embedded model: attention-additive fails (0.0715 against <= 0.01); the rest hold.
    assert {c for c, r in results.items() if not r.holds} == {"attention-additive"}
    md = markdown(summary_page)
    assert f"Of these {len(results)} claims, {sum(r.holds for r in results.values())} hold" in md
    assert ":orange-badge[fails] `attention-additive`" in md
    from ui.theme import listing

    assert f"p = {f.p}" in md and f"key frequencies are {listing(f.key_freqs)}." in md


def test_the_glossary_defines_every_term_with_this_models_values():
    from lens.story import glossary
    from ui.theme import listing, num

    at = open_page("pages/glossary.py")
    assert not at.exception
    g = glossary.facts(app_run(DEFAULT_RUN))
    heads = [h.value for h in at.subheader]
    for term in (
        "resid_mid",
        "resid_post",
        "W_E",
        "W_in",
        "W_out",
        "W_U",
        "d_model",
        "d_mlp",
        "Key frequency",
    ):
        assert term in heads, term
    for term in ("c-order", "Excluded loss", "Restricted loss", "Grokking", "Fourier component"):
        assert term in heads, term
    md = markdown(at)
    assert f"d_model = {g.d_model}" in md and f"d_mlp = {g.d_mlp}" in md
    assert f"$p = {g.p}$" in md and f"{g.n_heads} heads of width {g.d_head}" in md
    for m, (rows, cols) in g.shapes.items():
        assert f"{rows} × {cols}" in md, m
    assert f"key frequencies are {listing(g.key_freqs)}" in md
    assert num(g.restricted_loss, ".2e") in md and num(g.excluded_loss, ".3g") in md
    assert f"{g.n_train:,} of the {g.n_all:,} pairs" in md


@pytest.mark.parametrize("index", range(len(SECTIONS)), ids=[s[3] for s in SECTIONS])
def test_every_page_ends_with_a_link_to_the_next_section_and_every_chart_has_its_csv(index):
    at = open_page(f"pages/{SECTIONS[index][0]}")
    assert not at.exception
    nexts = [link for link in at.get("page_link") if link.proto.label.startswith("Next: ")]
    if index == len(SECTIONS) - 1:
        assert not nexts  # Summary closes the path
    else:
        _file, title, _icon, url = SECTIONS[index + 1]
        assert [(n.proto.label, n.proto.page) for n in nexts] == [(f"Next: {title}", url)]
        main = at.main.children
        assert main[max(main)].proto.label == f"Next: {title}"  # the page's last element
    csv = [b for b in at.get("download_button") if b.proto.label == "Data (CSV)"]
    assert len(csv) == len(charts(at))  # every chart, the clickable maps of pairs included
