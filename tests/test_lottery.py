"""How each neuron picked its frequency (lens.lottery) and its section on the Grokking page.

Known answers: hand-made dominant-frequency tables (settle steps, ordering), rankings whose
ticket rate and chance level are worked out by hand, and a synthetic run of hand-built
models (``claim_models``) saved as snapshots, where a chosen set of neurons starts on the
other key frequency, so the rate at step 0 is known exactly. The page test compares what
the Grokking page says with lens.lottery run on the embedded run's snapshots.
"""

from __future__ import annotations

import numpy as np
import pytest
from claim_models import wave_model
from page_testing import chart_with, markdown, no_checkpoint_env, open_page

from lens import lottery
from lens.lottery import SnapshotNeurons, settle_index, ticket_rate
from lens.paths import DEFAULT_RUN

P, FREQS = 13, [2, 5]
PHASES = 8  # neurons per frequency in the hand-built models: 0..7 read 2, 8..15 read 5


# ---------------------------------------------------------------- pure parts


def test_settle_index_is_the_first_snapshot_from_which_nothing_changes():
    d = np.array(
        [
            [3, 3, 3, 3],  # never changes: 0
            [1, 3, 3, 3],  # settles at 1
            [3, 1, 3, 3],  # changes back: settles at 2
            [1, 1, 1, 3],  # only at the last: 3
        ]
    )
    assert settle_index(d).tolist() == [0, 1, 2, 3]
    assert settle_index(np.zeros((2, 0), int)).tolist() == [0, 0]


def test_ticket_rate_against_the_exact_permutation_mean():
    final = np.array([2] * 30 + [5] * 10)
    top = final.copy()
    t = ticket_rate(0, top, final, n_keys=2)
    assert t.rate == 1.0 and t.neurons == 40
    # sum_k n_k m_k / N^2 with n = m = (30, 10): (900 + 100) / 1600, not 1 / K
    assert t.chance == pytest.approx(1000 / 1600)
    assert t.uniform == 0.5
    assert t.chance_low <= t.chance <= t.chance_high < 1.0
    assert t.above_chance and t.reached == 0 and t.p_value == pytest.approx(1 / (1 + t.permutations))


def test_a_ranking_independent_of_the_final_frequency_is_at_chance():
    rng = np.random.default_rng(1)
    final = rng.choice([2, 5, 7], size=600)
    top = rng.choice([2, 5, 7], size=600)
    t = ticket_rate(0, top, final, n_keys=3)
    assert t.rate == pytest.approx(t.chance, abs=0.06)
    assert t.chance_low <= t.rate <= t.chance_high
    assert not t.above_chance
    assert t.p_value > 0.025


def _snap(dominant, top, keys=(2, 5), excluded=(0.5, 0.25), excluded_all=4.0) -> SnapshotNeurons:
    key_top = np.array([list(keys).index(k) for k in top])
    return SnapshotNeurons(np.asarray(dominant), key_top, np.asarray(excluded, float), excluded_all)


def test_lottery_of_a_synthetic_history_with_a_known_answer():
    keys = [2, 5]
    final = [2, 2, 2, 5, 5, 9]  # the last neuron ends off the key frequencies
    snaps = [
        _snap([7, 2, 5, 5, 1, 9], top=[2, 5, 5, 5, 2, 2]),  # step 0: neurons 0 and 3 hold their ticket
        _snap([2, 2, 2, 5, 2, 9], top=[2, 2, 2, 5, 2, 2]),  # step 50
        _snap(final, top=[2, 2, 2, 5, 5, 2], excluded=(0.1, 0.2), excluded_all=6.0),  # step 400
    ]
    lot = lottery.lottery([0, 50, 400], snaps, keys, p=23)
    assert lot.final.tolist() == final
    assert lot.on_key.tolist() == [True] * 5 + [False]
    assert lot.settle.tolist() == [1, 0, 1, 0, 2, 0]
    assert lot.settle_counts == (3, 2, 1) and lot.never_changed == 3
    assert lot.settled_share == pytest.approx((0.5, 5 / 6, 1.0))
    assert lot.median_settle_step == 0  # the lower median of (0, 0, 0, 50, 50, 400)
    # Sorted by final frequency (key frequencies in order, then the rest), then settle, then index.
    assert lot.order.tolist() == [1, 0, 2, 3, 4, 5]
    assert lot.final_counts == {2: 3, 5: 2}
    # At step 0, of the five neurons ending on 2 or 5, neurons 0 and 3 had it on top: 2 / 5.
    init = lot.at_init
    assert init is not None and init.step == 0 and init.neurons == 5
    assert init.rate == pytest.approx(2 / 5)
    # tops (2, 5, 5, 5, 2) and finals (2, 2, 2, 5, 5): (2 * 3 + 3 * 2) / 25
    assert init.chance == pytest.approx(12 / 25)
    assert lot.early is not None and lot.early.step == 50 and lot.early.rate == pytest.approx(4 / 5)
    assert len(lot.tickets) == 2  # none at the last snapshot, where the rate is 1 by construction
    assert lot.excluded.shape == (3, 2) and lot.excluded[-1].tolist() == [0.1, 0.2]
    assert lot.excluded_all.tolist() == [4.0, 4.0, 6.0]


def test_lottery_without_step_zero_has_no_rate_at_initialisation():
    snaps = [_snap([2, 5], top=[2, 5]), _snap([2, 5], top=[2, 5])]
    lot = lottery.lottery([100, 200], snaps, [2, 5], p=23)
    assert lot.at_init is None
    assert lot.early is not None and lot.early.step == 100
    with pytest.raises(ValueError):
        lottery.lottery([0], [], [2, 5], p=23)


# ---------------------------------------------------------------- on hand-built models


def test_snapshot_neurons_of_a_hand_built_model():
    from claim_models import run_of

    snap = lottery.snapshot_neurons(run_of(wave_model(P, FREQS, scale=3.0)), FREQS)
    assert snap.dominant.tolist() == [2] * PHASES + [5] * PHASES
    assert (snap.key_top == np.repeat([0, 1], PHASES)).all()
    # Removing all key frequencies from this model's logits costs more than removing either one.
    assert snap.excluded.shape == (2,) and np.all(np.isfinite(snap.excluded))
    assert snap.excluded_all > snap.excluded.max()


def _swapped(weights: dict, pairs: int) -> dict:
    """``weights`` with the first ``pairs`` neurons of frequency 2 and of 5 trading W_in
    columns (and output rows): those neurons start on the other frequency."""
    w = {k: v.copy() for k, v in weights.items()}
    for i in range(pairs):
        j = PHASES + i
        w["W_in"][:, [i, j]] = w["W_in"][:, [j, i]]
        w["W_out"][[i, j]] = w["W_out"][[j, i]]
    return w


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    """Snapshots at steps 0, 10 and 300 of a run whose answer is known: at step 0, 3 + 3
    of the 16 neurons read the other frequency; at step 10 one pair still does; from then on
    every neuron reads its final one."""
    from lens.checkpoint import save_run
    from lens.history import snapshot_dir

    root = tmp_path_factory.mktemp("lottery") / "run"
    final = wave_model(P, FREQS, scale=3.0)
    split = {"kind": "seeded", "frac": 0.3, "seed": 0}
    for step, pairs in ((0, 3), (10, 1), (300, 0)):
        save_run(snapshot_dir(root, step), _swapped(final, pairs), split)
    return root


def test_lottery_over_saved_snapshots(synthetic_run):
    from lens.history import snapshot_dir

    steps = [0, 10, 300]
    snaps = [lottery.snapshot_neurons_at(str(snapshot_dir(synthetic_run, s)), tuple(FREQS)) for s in steps]
    lot = lottery.lottery(steps, snaps, FREQS, P)
    assert lot.final.tolist() == [2] * PHASES + [5] * PHASES
    assert lot.at_init.rate == pytest.approx(10 / 16)  # 6 of 16 start on the other frequency
    assert lot.early.rate == pytest.approx(14 / 16)
    assert lot.settle_counts == (10, 4, 2)
    assert lot.median_settle_step == 0
    # The page's one cached call gives the same.
    paths = tuple(str(snapshot_dir(synthetic_run, s)) for s in steps)
    whole = lottery.lottery_at(paths, tuple(steps), tuple(FREQS), P)
    assert whole.tickets == lot.tickets and (whole.dominant == lot.dominant).all()


def _history_of(run_dir, steps, keys=FREQS) -> None:
    """The smallest history.json that lens.history.load_history accepts for these snapshots."""
    import json

    from lens.history import CURVE_KEYS, FORMAT, SCALAR_KEYS

    n_f = P // 2 + 1
    doc = {
        "format": FORMAT,
        "p": P,
        "key_freqs": list(keys),
        "curves": {k: [0] for k in CURVE_KEYS},
        "checkpoints": {k: [0] for k in SCALAR_KEYS},
        "spectrum_W_E": [[0.0] * n_f],
        "neurons_per_freq": [[0] * n_f],
        "snapshots": list(steps),
    }
    (run_dir / "history.json").write_text(json.dumps(doc))


def test_recorded_measurements_read_back_as_measured(synthetic_run):
    steps = (0, 10, 300)
    _history_of(synthetic_run, steps)
    assert lottery.recorded(synthetic_run, steps, FREQS, P) is None  # nothing recorded yet
    measured = lottery.lottery_of_run(str(synthetic_run), steps, tuple(FREQS), P)  # runs each snapshot
    path = lottery.record(synthetic_run)
    assert path.name == lottery.RECORD_FILE
    snaps = lottery.recorded(synthetic_run, steps, FREQS, P)
    assert snaps is not None and len(snaps) == 3
    again = lottery.lottery_of_run(str(synthetic_run), steps, tuple(FREQS), P)
    assert again.tickets == measured.tickets
    assert (again.dominant == measured.dominant).all()
    assert np.allclose(again.excluded, measured.excluded) and np.allclose(
        again.excluded_all, measured.excluded_all
    )
    # Taken for other snapshots or other key frequencies: not used.
    assert lottery.recorded(synthetic_run, (0, 10), FREQS, P) is None
    assert lottery.recorded(synthetic_run, steps, [2], P) is None


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: d.update(dominant=[[0] * 16] * 3), "dominant"),  # frequency 0 is not 1..p // 2
        (lambda d: d.update(key_top=[[2] * 16] * 3), "key_top"),  # only two key frequencies
        (lambda d: d.update(excluded=[["x", 1.0]] * 3), "excluded"),
        (lambda d: d.update(excluded_all=[1.0]), "excluded_all"),
        (lambda d: d.update(dominant=[[2] * 16, [2] * 15, [2] * 16]), "dominant"),  # ragged
    ],
)
def test_a_malformed_record_is_refused_with_its_field(synthetic_run, change, field):
    import json

    from lens.checkpoint import CheckpointError

    steps = (0, 10, 300)
    _history_of(synthetic_run, steps)
    path = lottery.record(synthetic_run)
    good = path.read_text()
    try:
        doc = json.loads(good)
        change(doc)
        path.write_text(json.dumps(doc))
        with pytest.raises(CheckpointError, match=field):
            lottery.recorded(synthetic_run, steps, FREQS, P)
        path.write_text("{not json")
        with pytest.raises(CheckpointError, match="json"):
            lottery.recorded(synthetic_run, steps, FREQS, P)
    finally:
        path.write_text(good)


# ---------------------------------------------------------------- the Grokking page


@pytest.fixture(scope="module")
def default_lottery():
    if not (DEFAULT_RUN / "history.json").is_file():
        pytest.skip("the embedded run has no history.json")
    from lens.history import load_history, snapshot_dir

    h = load_history(DEFAULT_RUN)
    keys = tuple(h.key_freqs)
    snaps = [lottery.snapshot_neurons_at(str(snapshot_dir(h.run_dir, s)), keys) for s in h.snapshot_steps]
    return h, lottery.lottery(h.snapshot_steps, snaps, keys, h.p)


def test_grokking_page_says_what_the_lottery_measures(default_lottery):
    h, lot = default_lottery
    with no_checkpoint_env():
        at = open_page("pages/grokking.py")
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(markdown(at).split())
    assert "How each neuron picked its frequency" in [x.value for x in at.header]
    init = lot.at_init
    assert init is not None, "the embedded run keeps step 0"
    rate, chance = f"{100 * init.rate:.1f}%", f"{100 * init.chance:.1f}%"
    assert f"**{rate}** had it as their strongest key-frequency component at initialisation (step 0)" in text
    assert f"against **{chance}** by chance" in text
    assert f"half are settled by step {lot.median_settle_step:,}" in text
    heat = chart_with(at, "Each neuron's dominant frequency at every kept snapshot")
    (cells,) = [df for df in heat.frames if "neuron" in df.columns]
    assert len(cells) == lot.neurons * len(h.snapshot_steps)
    assert set(cells["label"]) == {f"{s:,}" for s in h.snapshot_steps}
    tickets = chart_with(at, "The lottery: final frequency")
    (rows,) = [df for df in tickets.frames if "rate" in df.columns]
    assert rows["rate"].tolist() == pytest.approx([t.rate for t in lot.tickets])
    assert rows["chance"].tolist() == pytest.approx([t.chance for t in lot.tickets])
    excluded = chart_with(at, "Excluded loss per key frequency")
    (series,) = [df for df in excluded.frames if "series" in df.columns]
    assert {f"without frequency {k}" for k in h.key_freqs} | {"without all"} == set(series["series"])
    import json

    from ui.scope import validate_spec

    for chart in (heat, tickets, excluded, chart_with(at, "When each neuron's frequency is settled")):
        validate_spec(json.loads(json.dumps(chart.spec)))
    captions = " ".join(c.value for c in at.caption)
    assert f"{len(h.snapshot_steps)} columns, one per snapshot this run kept" in captions
    assert "python -m lens.lottery RUN_DIR" in captions and "log-spaced snapshots from step 0" in captions
