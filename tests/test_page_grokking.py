"""The Grokking page through Streamlit's AppTest.

Three sources of history: the embedded default run (LENS_CHECKPOINT unset; skipped while
``assets/default-run/history.json`` does not exist), a tiny run trained here (p = 13, 300
steps, a few seconds; it memorises but does not grok), and a copy of it with a broken
``history.json``. Expected numbers are recomputed from the history file, not typed in.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from page_testing import MAX_POINTS, chart_with, charts, markdown, no_checkpoint_env, open_page, reference_env

from lens.paths import DEFAULT_RUN

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/grokking.py"
DEFAULT_HISTORY = DEFAULT_RUN / "history.json"
FALLBACK = "Training history is available only for run directories written by `python -m lens.train`"
TITLES = (
    "Loss over training",
    "Accuracy over training",
    "restricted and excluded loss",
    "Total weight norm",
    "Gini coefficient of W_E",
    "energy per frequency at every checkpoint",
    "norm per frequency, checkpoint by checkpoint",
    "Neurons by their strongest frequency",
    "W_E's spectrum:",
)


def _text(at) -> str:
    return " ".join(markdown(at).split())  # line breaks -> spaces


def _titles(at) -> list[str]:
    return [c.title for c in charts(at)]


def _assert_renders(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    titles = _titles(at)
    for words in TITLES:
        assert any(words in t for t in titles), f"no chart titled with {words!r}: {titles}"
    for c in charts(at):
        assert c.rows <= MAX_POINTS, (c.spec.get("title"), c.rows)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def default_history():
    if not DEFAULT_HISTORY.is_file():
        pytest.skip(f"{DEFAULT_HISTORY} absent: the default run's training has not finished")
    from lens.history import load_history

    return load_history(DEFAULT_RUN)


@pytest.fixture(scope="module")
def default_page(default_history):
    with no_checkpoint_env():
        yield open_page(PAGE)


@pytest.fixture(scope="module")
def tiny_run_dir(tmp_path_factory) -> Path:
    """A p = 13 run of 300 steps, all snapshots kept (about 5 s on one thread)."""
    from lens.train import Recipe, train

    out = tmp_path_factory.mktemp("grok") / "p13"
    train(Recipe(p=13, steps=300), out, threads=1, progress=False)
    return out


@pytest.fixture(scope="module")
def tiny_page(tiny_run_dir):
    with reference_env(tiny_run_dir):
        yield open_page(PAGE)


# ---------------------------------------------------------------- the default run


def test_default_run_renders_every_chart(default_page):
    _assert_renders(default_page)
    assert FALLBACK not in " ".join(i.value for i in default_page.info)
    assert "the embedded default run" in _text(default_page)


def test_default_prose_quotes_the_history(default_page, default_history):
    h, text = default_history, _text(default_page)
    c, ck = h.curves, h.checkpoints
    grokked = np.flatnonzero(c["test_acc"].to_numpy() >= 0.999)
    assert len(grokked), "the default run is expected to grok"
    grok = int(c["step"].iloc[grokked[0]])
    if "step" in h.grok:
        assert h.grok["step"] == grok
    assert f"Test accuracy first reaches 99.9% at step **{grok:,}**" in text
    memorised = int(c["step"].iloc[np.flatnonzero(c["train_acc"].to_numpy() >= 1.0)[0]])
    assert f"Training accuracy first reaches 100% at step **{memorised:,}**" in text
    # The excluded loss's peak after memorisation (checkpoints from the first one at or after it).
    later = ck[ck["step"] >= ck["step"][ck["step"] >= memorised].iloc[0]]
    j = int(np.nanargmax(later["excluded_loss"].to_numpy()))
    peak, peak_step = later["excluded_loss"].iloc[j], int(later["step"].iloc[j])
    assert f"to {peak:#.3g} at step {peak_step:,}" in text
    assert f"At the end it is {ck['restricted_loss'].iloc[-1]:.2g}." in text
    w = c["weight_norm"].to_numpy()
    assert f"peaks at {w.max():.1f} at step {int(c['step'].iloc[int(np.argmax(w))]):,}" in text
    assert f"{ck['gini_W_E'].iloc[-1]:.2f} at step {int(ck['step'].iloc[-1]):,}." in text
    assert f"p = {h.p}" in text and ", ".join(str(k) for k in h.key_freqs[:-1]) in text


def test_default_loss_chart_marks_the_grok_step(default_page, default_history):
    c = default_history.curves
    grok = int(c["step"].iloc[np.flatnonzero(c["test_acc"].to_numpy() >= 0.999)[0]])
    chart = chart_with(default_page, "Loss over training")
    labels = {str(v) for df in chart.frames if "label" in df.columns for v in df["label"]}
    assert f"test accuracy ≥ 99.9% (step {grok:,})" in labels
    phases = {v for df in chart.frames if "phase" in df.columns for v in df["phase"]}
    assert "memorisation" in phases


def test_snapshot_select_changes_the_snapshot_chart(default_page, default_history):
    at = default_page
    box = at.selectbox(key="grokking.snapshot")
    steps = list(default_history.snapshot_steps)
    assert [o.split(" (")[0] for o in box.options] == [f"step {s:,}" for s in steps]
    before = chart_with(at, "W_E's spectrum:")
    other = next(s for s in steps if s != box.value)
    box.set_value(other).run()
    assert not at.exception
    after = chart_with(at, "W_E's spectrum:")
    assert after.fingerprint != before.fingerprint
    assert f"step {other:,} vs final model" in after.text
    # The snapshot's test accuracy, run here on all pairs, matches the trainer's record.
    m = re.search(
        rf"At step {other:,} \([^)]*\) the model answers [\d.]+% of its training pairs and \*\*([\d.]+)%\*\*",
        _text(at),
    )
    assert m, "no snapshot accuracy sentence"
    recorded = float(default_history.checkpoints.set_index("step").loc[other, "test_acc"])
    assert float(m.group(1)) / 100 == pytest.approx(recorded, abs=2e-3)


def test_the_last_snapshot_is_not_compared_with_itself(default_page, default_history):
    at = default_page
    last = default_history.snapshot_steps[-1]
    at.selectbox(key="grokking.snapshot").set_value(last).run()
    assert not at.exception
    assert f"Step {last:,} is the end of training: this snapshot is the final model itself" in _text(at)
    assert not [c for c in charts(at) if "W_E's spectrum:" in c.text]
    assert default_history.snapshot_steps[0] == 0
    assert at.selectbox(key="grokking.snapshot").options[0] == "step 0 (initialisation)"
    at.selectbox(key="grokking.snapshot").set_value(default_history.snapshot_steps[1]).run()


def test_log_axes_label_every_tick_the_same_way(default_page):
    def log_y_formats(node) -> set:
        found = set()
        if isinstance(node, dict):
            y = node.get("encoding", {}).get("y", {})
            if isinstance(y, dict) and y.get("scale", {}).get("type") == "log":
                found.add(y.get("axis", {}).get("format"))
            for v in node.values():
                found |= log_y_formats(v)
        elif isinstance(node, list):
            for v in node:
                found |= log_y_formats(v)
        return found

    assert log_y_formats(chart_with(default_page, "Loss over training").spec) == {".0e"}


def test_step_axis_switch_changes_the_loss_chart(default_page):
    at = default_page
    before = chart_with(at, "Loss over training")
    assert "symlog" not in before.text
    at.segmented_control(key="grokking.step_axis").set_value("log").run()
    after = chart_with(at, "Loss over training")
    assert "symlog" in after.text
    at.segmented_control(key="grokking.step_axis").set_value("linear").run()


def test_links_open_a_snapshot_and_the_log_axis_and_are_cleared_when_left(default_history):
    steps = list(default_history.snapshot_steps)
    with no_checkpoint_env():
        default = open_page(PAGE)
        chosen = next(s for s in steps if s != default.selectbox(key="grokking.snapshot").value)
        at = open_page(PAGE, {"axis": "log", "snapshot": str(chosen)})
    assert not at.exception
    assert at.segmented_control(key="grokking.step_axis").value == "log"
    assert at.selectbox(key="grokking.snapshot").value == chosen
    assert "symlog" in chart_with(at, "Loss over training").text
    assert at.query_params == {"axis": "log", "snapshot": str(chosen)}  # the link stays as given
    # The default axis again: the axis leaves the address, which still names the view.
    at.segmented_control(key="grokking.step_axis").set_value("log").run()
    at.segmented_control(key="grokking.step_axis").set_value("linear").run()
    assert at.query_params == {"snapshot": str(chosen)}
    # Another snapshot: the link would open the wrong one, so it goes; the sidebar's "Link
    # to this view" writes the new one.
    other = next(s for s in steps if s not in (chosen, default.selectbox(key="grokking.snapshot").value))
    at.selectbox(key="grokking.snapshot").set_value(other).run()
    assert at.query_params == {}
    at.button(key="links.share").click().run()
    assert at.query_params == {"snapshot": str(other)}
    assert default.query_params == {}


@pytest.mark.parametrize("params", [{"axis": "sideways"}, {"snapshot": "12345678"}, {"snapshot": "abc"}])
def test_a_bad_link_opens_the_default_view(default_history, params):
    with no_checkpoint_env():
        default = open_page(PAGE)
        at = open_page(PAGE, params)
    assert not at.exception and not at.error
    assert at.segmented_control(key="grokking.step_axis").value == "linear"
    assert at.selectbox(key="grokking.snapshot").value == default.selectbox(key="grokking.snapshot").value
    assert at.query_params == {}  # the bad parameter is dropped


def test_reference_checkpoint_falls_back_to_the_default_history(reference_path, default_history):
    with reference_env(reference_path):
        at = open_page(PAGE)
    _assert_renders(at)
    info = " ".join(i.value for i in at.info)
    assert FALLBACK in info and "nanda_end_run_data.pth" in info
    assert "the embedded default run" in info


# ---------------------------------------------------------------- a tiny run of its own


def test_own_run_directory_shows_its_own_history(tiny_page, tiny_run_dir):
    from lens.history import load_history

    at, h = tiny_page, load_history(tiny_run_dir)
    _assert_renders(at)
    assert not [i.value for i in at.info if FALLBACK in i.value]
    text = _text(at)
    assert "the current model's own run" in text and "p = 13" in text
    c = h.curves
    assert h.phases["grokked"] is None  # 300 steps: memorised, not grokked
    best = int(np.argmax(c["test_acc"].to_numpy()))
    assert (
        f"never reached 99.9%: its best is {100 * c['test_acc'].iloc[best]:.1f}%, "
        f"at step {int(c['step'].iloc[best]):,}." in text
    )


def test_broken_history_shows_its_one_line_error(tiny_run_dir, tmp_path):
    from lens.checkpoint import CheckpointError
    from lens.history import load_history

    bad = tmp_path / "bad-run"
    shutil.copytree(tiny_run_dir, bad)
    (bad / "history.json").write_text('{"format": "grokking-lens-history/1", "p": 12}')
    with pytest.raises(CheckpointError) as err:
        load_history(bad)
    with reference_env(bad):
        at = open_page(PAGE)
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error)
    assert str(err.value) in errors and "\n" not in str(err.value)
    # It goes on with the default run's history (or says that there is none yet).
    assert FALLBACK in " ".join(i.value for i in at.info)
    if DEFAULT_HISTORY.is_file():
        _assert_renders(at)
    else:
        assert any("no training history yet" in w.value for w in at.warning)


def test_page_never_imports_torch_or_the_trainer():
    for path in (ROOT / "pages" / "grokking.py", ROOT / "lens" / "training_story.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        names |= {
            f"{n.module}.{a.name}"
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module
            for a in n.names
        }
        bad = {m for m in names if m.split(".")[0] == "torch" or m in ("lens.train", "train")}
        assert not bad, (path.name, bad)


@pytest.mark.skipif(not DEFAULT_HISTORY.is_file(), reason="no assets/default-run/history.json")
def test_cached_specs_equal_the_charts_built_afresh():
    """ui.data.of_history / summaries_spec (the page's caches, keyed by paths and the step
    axis) hand back what building the chart again gives, and a new axis gives a new spec."""
    import json

    import pandas as pd

    from lens.history import load_history, snapshot_dir
    from lens.story.grokking import facts, weights_summary
    from ui import charts, data
    from ui.figures import grokking as fig

    def same(a: dict, b: dict) -> bool:
        strip = lambda s: json.dumps({k: v for k, v in s.items() if k != "datasets"}, sort_keys=True)  # noqa: E731
        return (
            strip(a) == strip(b)
            and a["datasets"].keys() == b["datasets"].keys()
            and all(pd.DataFrame.equals(a["datasets"][k], b["datasets"][k]) for k in a["datasets"])
        )

    h = load_history(str(DEFAULT_RUN))
    f = facts(h)
    by_axis = {}
    for axis in fig.AXES:
        scale = (axis, f.last_step)
        cached = data.of_history(fig.loss_chart, h, scale)
        assert same(cached, charts.spec(fig.loss_chart(h, f, scale)))
        by_axis[axis] = cached
    first, second = (by_axis[a] for a in fig.AXES)
    assert not same(first, second)
    step = list(h.snapshot_steps)[0]
    paths = (str(snapshot_dir(DEFAULT_RUN, step)), str(DEFAULT_RUN))
    args = ("s", "final", list(f.key_freqs))
    built = charts.spec(fig.snapshot_chart(*(weights_summary(p) for p in paths), *args))
    assert same(data.summaries_spec(fig.snapshot_chart, paths, *args), built)
