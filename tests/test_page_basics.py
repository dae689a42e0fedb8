"""The Basics (home) page through Streamlit's AppTest, on the published reference model.

The page must state the model's key facts from the loaded run, draw live charts within the
browser budget, and follow its widgets.
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
    scope_values,
    tiny_run_dir,
)


@pytest.fixture
def page(env):
    return open_page(None)  # the home page is the default page


def test_home_page_states_the_models_key_facts(page, env):
    from lens.analysis import accuracies, key_frequencies, losses

    assert not page.exception
    run = app_run(env)
    kf = key_frequencies(run)
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["p (the modulus)"] == str(run.p)
    assert metrics["key frequencies"] == ", ".join(map(str, kf))
    loss, acc = losses(run), accuracies(run)
    assert metrics["test loss"] == f"{loss['test']:.2e}"
    table = page.table[0].value
    assert list(table.columns)[-3:] == ["train", "test", "all"]
    assert table.iloc[0]["train"] == f"{loss['train']:.3e}"
    assert table.iloc[0]["all"] == f"{loss['all']:.3e}"
    if acc["test"] == 1.0:
        assert metrics["test accuracy"] == "100%"
    text = markdown(page)
    assert f"{run.p} × {run.p} = {run.p**2:,}" in text
    assert f"{int(run.train_mask.sum()):,}" in text


def test_charts_are_live_and_within_budget(page, env):
    found = charts(page)
    assert len(found) >= 4
    for chart in found:
        assert chart.rows <= MAX_POINTS
    # The embedding scope ships every residual dimension for the browser to scrub.
    embed = chart_with(page, "W_E for one residual dimension")
    assert any(p.get("name") == "play_residual_dimension" for p in embed.spec.get("params", []))
    run = app_run(env)
    assert scope_values(embed.frames) == run.weights["W_E"].shape[1] * run.p


def test_harmonics_table_is_computed(page, env):
    from lens.analysis import key_frequencies
    from lens.fourier import harmonics, subharmonics

    run = app_run(env)
    kf = key_frequencies(run)
    table = page.table[1].value
    assert list(table["key frequency f"]) == kf
    assert list(table["harmonic 2f (folded)"]) == harmonics(kf, run.p)
    assert list(table["subharmonic"]) == subharmonics(kf, run.p)


def test_picking_a_pair_updates_prose_and_grid(page, env):
    p = app_run(env).p
    before = [c.fingerprint for c in charts(page)]
    page.number_input(key="basics.a").set_value(5)
    page.number_input(key="basics.b").set_value(p - 2)
    page.run()
    assert not page.exception
    assert f"c = (5 + {p - 2}) mod {p} = 3" in markdown(page)
    after = [c.fingerprint for c in charts(page)]
    # The two grid maps mark the chosen pair; the other charts do not change.
    changed = [i for i, (x, y) in enumerate(zip(before, after, strict=True)) if x != y]
    assert len(changed) == 2


def test_the_prose_says_a_click_on_either_map_picks_the_pair(page):
    """The maps take clicks (their cell selection); the prose must say so, not only "pick"."""
    from ui.figures.basics import SELECTION

    text = markdown(page)
    assert "click a cell of either map" in text
    maps = [
        c
        for c in charts(page)
        if any(q.get("name") == SELECTION for v in c.spec.get("layer", []) for q in v.get("params", []))
    ]
    assert len(maps) == 2


def test_view_toggle_switches_the_embedding_scope_to_fourier(page):
    before = chart_with(page, "W_E for one residual dimension")
    assert "frequency" not in " ".join(x_axis_titles(before))
    page.button_group(key="basics.embed.view").set_value("fourier").run()
    assert not page.exception
    after = chart_with(page, "W_E for one residual dimension")
    assert after.fingerprint != before.fingerprint
    assert after.spec == before.spec  # new rows for the same chart: the browser keeps its scrub
    assert any("frequency" in t for t in x_axis_titles(after))


def x_axis_titles(chart) -> list[str]:
    """The x axis titles of a chart's layers: written in the spec, or (a scope's line views)
    read by the browser from the info rows (``{"signal": "data('info')[0].xtitle"}``)."""
    info = next((df for df in chart.frames if "xtitle" in df.columns), None)
    titles = []
    for layer in chart.spec.get("layer", []):
        x = layer.get("encoding", {}).get("x", {})
        title = x.get("axis", {}).get("title") if isinstance(x.get("axis"), dict) else None
        if isinstance(title, dict) and info is not None:
            title = str(info[title["signal"].rsplit(".", 1)[-1]].iloc[0])
        if title:
            titles.append(title)
    return titles


@pytest.mark.parametrize("p", [7, 31])
def test_works_for_another_prime(tmp_path, p):
    """Nothing is tied to p = 113: a tiny sinusoidal model with p = 7 or 31 renders too."""
    with reference_env(tiny_run_dir(tmp_path, p)):
        at = open_page(None)
    assert not at.exception and not at.error
    assert len(charts(at)) >= 4
    assert dict((m.label, m.value) for m in at.metric)["p (the modulus)"] == str(p)
