"""Clock or pizza?: lens.story.clock_pizza on hand-built models, and the page under AppTest.

A Clock and a Pizza from ``claim_models`` get the right verdicts (the measures are the
claim's, so the values are checked against :mod:`lens.claims.clock_pizza` itself, not typed
in). The page is opened on the embedded run (its snapshots' trajectory), on a tiny trained
run of its own (p = 13, 300 steps: its own history and snapshots), and on a hand-built
Pizza saved as a run directory without a history (it is called a pizza, and the trajectory
falls back to the embedded run's).
"""

from __future__ import annotations

import pytest
from claim_models import run_of, wave_model
from page_testing import chart_with, charts, markdown, no_checkpoint_env, open_page, reference_env

from lens.claims import clock_pizza as measures
from lens.paths import DEFAULT_RUN
from lens.story import clock_pizza as story

P, FREQS = 13, [2, 5]
PAGE = "pages/clock-or-pizza.py"
MODELS = {
    "pizza": dict(scale=3.0),
    "clock": dict(scale=3.0, mlp="product", attention="split"),
}
TITLES = (
    "Clock or pizza: the two diagnostics",
    "Gradient symmetricity over training",
    "Distance irrelevance",
)


def _text(at) -> str:
    return " ".join(markdown(at).split())


@pytest.fixture(scope="module")
def runs():
    return {name: run_of(wave_model(P, FREQS, **kw), name) for name, kw in MODELS.items()}


# ---------------------------------------------------------------- lens


@pytest.mark.parametrize("kind", ["clock", "pizza"])
def test_hand_built_models_get_their_verdicts(runs, kind):
    f = story.facts(runs[kind])
    assert f.model.verdict == kind
    assert f.model.gradient_symmetricity == measures.gradient_symmetricity(runs[kind])
    assert f.model.distance_irrelevance == measures.distance_irrelevance(runs[kind])
    if kind == "pizza":
        assert f.model.pizza_symmetric and not f.model.clock_irrelevant
    else:
        assert f.model.clock_irrelevant and not f.model.pizza_symmetric
    assert f.samples == min(measures.SAMPLES, P**3)


def test_reference_values_are_the_claims_thresholds_and_zhong_et_al_s_ranges():
    clock, pizza = story.VERDICT
    assert (clock.gs_high, clock.di_low) == (measures.CLOCK_MAX_SYMMETRICITY, measures.CLOCK_MIN_IRRELEVANCE)
    assert (pizza.gs_low, pizza.di_high) == (measures.PIZZA_MIN_SYMMETRICITY, measures.PIZZA_MAX_IRRELEVANCE)
    for typical, region in zip(story.TYPICAL, story.VERDICT, strict=True):
        # Zhong et al.'s typical models lie inside the verdict's regions.
        assert typical.name == region.name
        assert region.gs_low is None or typical.gs_low >= region.gs_low
        assert region.gs_high is None or typical.gs_high <= region.gs_high
        assert region.di_low is None or typical.di_low >= region.di_low
        assert region.di_high is None or typical.di_high <= region.di_high


def test_trajectory_settles_where_the_verdict_stops_changing():
    def d(gs, di):
        return story.Diagnostics(gs, di, measures.verdict(gs, di))

    points = [d(1.0, 1.0), d(0.5, 0.9), d(0.95, 0.3), d(0.5, 0.8), d(0.3, 0.9)]
    traj = story.trajectory([0, 10, 100, 1000, 5000], points)
    assert traj.verdicts == ("mixed", "clock", "mixed", "clock", "clock")
    assert traj.settled_step == 1000
    assert traj.lowest_irrelevance_step == 100
    assert traj.final == points[-1] and traj.at(100) == points[2]
    assert story.trajectory([], []).settled_step is None
    with pytest.raises(ValueError):
        story.trajectory([0], [])


def test_snapshot_diagnostics_read_a_saved_checkpoint(runs, tmp_path):
    from lens.checkpoint import save_run

    path = save_run(
        tmp_path / "pizza",
        wave_model(P, FREQS, **MODELS["pizza"]),
        {"kind": "seeded", "frac": 0.3, "seed": 0},
    )
    assert story.snapshot_diagnostics(str(path)) == story.diagnostics(runs["pizza"])


# ---------------------------------------------------------------- the page


def _assert_renders(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    titles = [c.title for c in charts(at)]
    for words in TITLES:
        assert any(words in t for t in titles), (words, titles)


def _plane_steps(at) -> list[int]:
    plane = chart_with(at, "Clock or pizza: the two diagnostics")
    (path,) = [df for df in plane.frames if "step" in df.columns]
    kinds = {v for df in plane.frames if "kind" in df.columns for v in df["kind"]}
    assert kinds == {"clock", "pizza"}  # both references drawn on the plane
    return [int(s) for s in path["step"]]


@pytest.fixture(scope="module")
def default_page():
    if not (DEFAULT_RUN / "history.json").is_file():
        pytest.skip("the embedded run has no history.json")
    with no_checkpoint_env():
        yield open_page(PAGE)


def test_default_page_says_the_claims_verdict_and_draws_every_snapshot(default_page):
    from lens.checkpoint import load
    from lens.claims import CLAIMS, evaluate
    from lens.history import load_history
    from lens.run import run_model

    at = default_page
    _assert_renders(at)
    text = _text(at)
    result = evaluate(CLAIMS["clock-or-pizza"], run_model(load(DEFAULT_RUN), engine="numpy"))
    assert " ".join(result.statement.split()) in text
    h = load_history(DEFAULT_RUN)
    assert _plane_steps(at) == list(h.snapshot_steps)
    assert f"Over the {len(h.snapshot_steps)} kept snapshots the verdict is" in text
    assert f"{len(h.snapshot_steps)} snapshots, at steps" in " ".join(c.value for c in at.caption)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["distance irrelevance"] == f"{result.details['distance_irrelevance']:.3f}"
    assert metrics["gradient symmetricity"] == f"{result.details['gradient_symmetricity']:.3f}"


def test_every_chart_is_valid_vega_lite(default_page):
    import json

    from ui.scope import validate_spec

    specs = [json.loads(el.proto.spec) for el in default_page.get("vega_lite_chart")]
    assert len(specs) == 3
    for spec in specs:
        validate_spec(spec)


@pytest.fixture(scope="module")
def tiny_trained_run(tmp_path_factory):
    """A p = 13 run of 300 steps with its own history and every snapshot (a few seconds)."""
    from lens.train import Recipe, train

    out = tmp_path_factory.mktemp("cp") / "p13"
    train(Recipe(p=13, steps=300), out, threads=1, progress=False)
    return out


def test_own_run_directory_shows_its_own_snapshots(tiny_trained_run):
    from lens.history import load_history

    with reference_env(tiny_trained_run):
        at = open_page(PAGE)
    _assert_renders(at)
    assert "the current model's own run" in _text(at)
    assert _plane_steps(at) == list(load_history(tiny_trained_run).snapshot_steps)


def test_a_hand_built_pizza_is_called_a_pizza(tmp_path):
    from lens.checkpoint import save_run

    path = save_run(
        tmp_path / "pizza",
        wave_model(P, FREQS, **MODELS["pizza"]),
        {"kind": "seeded", "frac": 0.3, "seed": 0},
    )
    with reference_env(path):
        at = open_page(PAGE)
    _assert_renders(at)
    text = _text(at)
    assert "this model is a pizza, not a clock" in text
    assert "readout is a pizza's" in text
    info = " ".join(i.value for i in at.info)
    assert "Training history is available only for run directories" in info
