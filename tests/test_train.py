"""The trainer, its history and progress measures, on small primes (seconds, not minutes).

Speed is measured in ``bench/train.py``, never asserted here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from lens import checkpoint, progress, task
from lens import train as T
from lens.history import DEFAULT_RUN, load_history, prune_snapshots

ROOT = Path(__file__).resolve().parent.parent
SMALL = T.Recipe(p=13, frac=0.5, seed=3, steps=150)
QUIET = {"threads": 1, "progress": False}


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = checkpoint.load(a).weights, checkpoint.load(b).weights
    return all(np.array_equal(wa[k], wb[k]) for k in wa)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    """One uninterrupted run of SMALL, shared by the tests that only read it."""
    return T.train(SMALL, tmp_path_factory.mktemp("run") / "small", keep_snapshots=None, **QUIET)


# ---------------------------------------------------------------- the forward pass


def test_forward_matches_transformerlens():
    """The trainer's =-position-only forward is the lens model (TransformerLens) at position 2."""
    from lens.model import build_bridge

    cfg = SMALL.cfg
    P = T.init_params(cfg, seed=1)
    P["b_in"], P["b_out"] = torch.randn(cfg.d_mlp) / 10, torch.randn(cfg.d_model) / 10
    data = task.dataset(cfg.p)
    with torch.no_grad():
        mine = T.forward(P, torch.as_tensor(data[:, 0]), torch.as_tensor(data[:, 1])).numpy()
        theirs = build_bridge(T.to_numpy(P), cfg)(torch.as_tensor(data))[:, -1].float().numpy()
    np.testing.assert_allclose(mine, theirs, atol=1e-5, rtol=1e-5)


def test_forward_flops_counts_the_matmuls():
    cfg = T.Recipe().cfg
    per_input = 128 * 128 + 2 * 128 * 512 + 128 * 113
    assert T.forward_flops(cfg, 1000) - T.forward_flops(cfg, 0) == 2 * 1000 * per_input


# ---------------------------------------------------------------- a run


def test_small_prime_trains_to_a_loadable_run(small_run):
    ck = checkpoint.load(small_run)
    assert ck.p == 13 and ck.split == SMALL.split
    meta = ck.meta
    assert meta["recipe"]["steps"] == 150 and meta["recipe"]["weight_decay"] == 1.0
    prov = meta["provenance"]
    assert prov["step"] == 150 and prov["finished"] and prov["threads"] == 1
    assert {"machine", "commit", "wall_s"} <= set(prov)
    # The run memorised its training split; the trained weights give the trainer's logits
    # through the TransformerLens model of lens.
    from lens.model import build_bridge

    data = task.dataset(13)
    with torch.no_grad():
        theirs = build_bridge(ck.weights, ck.cfg)(torch.as_tensor(data))[:, -1].float().numpy()
        mine = T.forward(
            {k: torch.as_tensor(v) for k, v in ck.weights.items()},
            torch.as_tensor(data[:, 0]),
            torch.as_tensor(data[:, 1]),
        ).numpy()
    np.testing.assert_allclose(mine, theirs, atol=1e-4, rtol=1e-5)
    train = task.split_mask(13, ck.split)
    assert (theirs.argmax(1) == task.labels(13))[train].all()


def test_history_of_a_run(small_run):
    h = load_history(small_run)
    assert h.p == 13 and h.key_freqs
    assert h.curves["step"].iloc[0] == 0 and h.curves["step"].iloc[-1] == 150
    assert h.curves["step"].is_monotonic_increasing
    assert h.curves["train_acc"].iloc[-1] == 1.0
    ck = h.checkpoints
    assert ck["step"].iloc[0] == 0 and ck["step"].iloc[-1] == 150
    assert h.spectrum.shape == h.neurons.shape == (len(ck), 13 // 2 + 1)
    assert (h.neurons.sum(axis=1) == SMALL.d_mlp).all() and (h.neurons[:, 0] == 0).all()
    assert np.isfinite(ck[["restricted_loss", "excluded_loss", "gini_W_E", "weight_norm"]].to_numpy()).all()
    assert h.phases["memorised"] is not None
    # The last checkpoint's summary agrees with the curve logged at the same step.
    last = h.curves.iloc[-1]
    assert ck["train_loss"].iloc[-1] == pytest.approx(last["train_loss"], rel=1e-3, abs=1e-9)
    assert ck["weight_norm"].iloc[-1] == pytest.approx(last["weight_norm"], rel=1e-3)
    # Every kept snapshot is itself a loadable run directory.
    assert h.snapshot_steps == ck["step"].tolist()
    assert checkpoint.load(h.snapshot_path(0)).meta["provenance"]["step"] == 0


def test_prune_keeps_summaries(tmp_path, small_run):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    before = load_history(run)
    kept = prune_snapshots(run, 3)
    after = load_history(run)
    assert len(kept) == 3 and after.snapshot_steps == kept
    assert 0 in kept and before.snapshot_steps[-1] in kept
    assert sorted(p.name for p in (run / "snapshots").iterdir()) == [f"step-{s:06d}" for s in kept]
    assert after.checkpoints.equals(before.checkpoints)


def test_checkpoints_are_log_spaced_from_step_zero_and_recorded(small_run):
    """The 1-2-5 steps have checkpoints of their own (the adaptive rule's min_gap would leave
    nothing between 0 and 50), and the trainer records each kept snapshot's neurons."""
    from lens import lottery

    assert [s for s in range(1000) if T.Schedule().on_log_series(s)] == [1, 2, 5, 10, 20, 50, 100, 200, 500]
    h = load_history(small_run)
    assert {0, 1, 2, 5, 10, 20, 50, 100} <= set(h.snapshot_steps)
    assert {1, 2} <= set(h.curves["step"])  # evaluated there too
    snaps = lottery.recorded(small_run, h.snapshot_steps, h.key_freqs, h.p)
    assert snaps is not None and len(snaps) == len(h.snapshot_steps)
    measured = lottery.snapshot_neurons_at(str(h.snapshot_path(h.snapshot_steps[-1])), tuple(h.key_freqs))
    assert (snaps[-1].dominant == measured.dominant).all() and (snaps[-1].key_top == measured.key_top).all()


def test_prune_prefers_log_spaced_steps(tmp_path, small_run):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    kept = prune_snapshots(run, 6)
    early = [s for s in kept if 0 < s <= 20]
    assert len(early) >= 2, kept  # evenly spaced picks alone would skip the first steps


def test_deterministic(tmp_path, small_run):
    other = T.train(SMALL, tmp_path / "again", summarise=False, **QUIET)
    assert same_weights(small_run, other)
    changed = T.train(replace(SMALL, seed=4, steps=5), tmp_path / "seed4", summarise=False, **QUIET)
    first5 = T.train(replace(SMALL, steps=5), tmp_path / "seed3", summarise=False, **QUIET)
    assert not same_weights(changed, first5)


def test_resume_equals_uninterrupted(tmp_path, small_run):
    run = tmp_path / "resumed"
    sched = T.Schedule(save_every=40)
    T.train(SMALL, run, schedule=sched, stop_after=57, summarise=False, **QUIET)
    assert checkpoint.load(run).meta["provenance"]["step"] == 57
    T.train(None, run, resume=True, schedule=sched, stop_after=20, summarise=False, **QUIET)
    T.train(None, run, resume=True, schedule=sched, keep_snapshots=None, **QUIET)
    assert same_weights(small_run, run)
    a, b = load_history(small_run), load_history(run)
    cols = ["step", "train_loss", "test_loss", "test_acc", "weight_norm"]
    assert a.curves[cols].equals(b.curves[cols])  # no step logged twice across the stops
    assert a.checkpoints.equals(b.checkpoints)


def test_two_threads_deterministic_and_resumable(tmp_path):
    """Two lanes (lens.train_step): the same bits every time, and across a stop and resume."""
    recipe, two = replace(SMALL, steps=40), {"threads": 2, "progress": False, "summarise": False}
    first = T.train(recipe, tmp_path / "a", **two)
    assert checkpoint.load(first).meta["provenance"]["threads"] == 2
    assert same_weights(first, T.train(recipe, tmp_path / "b", **two))
    T.train(recipe, tmp_path / "c", stop_after=17, **two)
    assert same_weights(first, T.train(None, tmp_path / "c", resume=True, **two))


def test_until_grok_stops_at_the_first_grokked_evaluation(tmp_path, monkeypatch, small_run):
    """--until-grok ends the call at the evaluation that first reaches GROK_ACC (lowered here
    so that a tiny run reaches it), saved and resumable to the uninterrupted run."""
    monkeypatch.setattr(T, "GROK_ACC", 0.3)  # reached at step 45
    run = T.train(SMALL, tmp_path / "grok", until_grok=True, keep_snapshots=3, **QUIET)
    prov = checkpoint.load(run).meta["provenance"]
    grok = prov["grok"]["step"]
    h = load_history(run)
    assert not prov["finished"] and prov["step"] == grok == h.curves["step"].iloc[-1]
    assert (h.curves["test_acc"].iloc[:-1] < 0.3).all() and h.curves["test_acc"].iloc[-1] >= 0.3
    assert len(h.checkpoints) > 3 and len(h.snapshot_steps) == 3  # pruned as at the end of a run
    monkeypatch.undo()
    T.train(None, run, resume=True, summarise=False, **QUIET)
    assert same_weights(small_run, run)


def test_resume_refuses_nothing_or_another_recipe(tmp_path, small_run):
    with pytest.raises(SystemExit, match="nothing to resume"):
        T.train(None, tmp_path / "none", resume=True, **QUIET)
    with pytest.raises(SystemExit, match="different recipe"):
        T.train(replace(SMALL, seed=9), small_run, resume=True, **QUIET)
    with pytest.raises(SystemExit, match="already holds a run"):
        T.train(SMALL, small_run, **QUIET)


def test_killed_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    """A save that dies midway (here: after half the bytes) leaves the old files loadable."""
    run = T.train(replace(SMALL, steps=20), tmp_path / "run", summarise=False, **QUIET)
    before = checkpoint.load(run).weights

    real_fdopen = os.fdopen

    class Dies:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            raise KeyboardInterrupt  # the kill arrives mid-write

        def __getattr__(self, name):
            return getattr(self.fh, name)

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: Dies(real_fdopen(*a, **k)))
    with pytest.raises(KeyboardInterrupt):
        T.train(None, run, resume=True, steps=30, summarise=False, **QUIET)
    monkeypatch.undo()
    after = checkpoint.load(run).weights
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert not [f for f in run.iterdir() if f.name.startswith(".")]  # no temporary left behind


def test_ctrl_c_and_kill_leave_a_resumable_run(tmp_path):
    """The real CLI: Ctrl-C stops cleanly; SIGKILL at any moment leaves loadable files."""
    run = tmp_path / "cli"
    cmd = [
        sys.executable,
        "-m",
        "lens.train",
        "--p",
        "13",
        "--frac",
        "0.5",
        "--steps",
        "100000",
        "--threads",
        "1",
        "--save-every",
        "25",
        "--out",
        str(run),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def saved_step() -> int:
        try:
            return checkpoint.load(run).meta["provenance"]["step"]
        except checkpoint.CheckpointError:  # not written yet
            return -1

    def start_and_wait_for_a_save():
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while saved_step() < 50:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()[-500:]
            time.sleep(0.1)
        return proc

    proc = start_and_wait_for_a_save()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-500:]
    assert "--resume" in err.decode()
    stopped = checkpoint.load(run).meta["provenance"]["step"]
    assert stopped >= 50 and not checkpoint.load(run).meta["provenance"]["finished"]
    assert load_history(run).curves["step"].iloc[-1] <= stopped

    cmd.append("--resume")
    proc = start_and_wait_for_a_save()
    time.sleep(0.3)
    proc.kill()
    proc.wait(timeout=30)
    resumed = checkpoint.load(run).meta["provenance"]["step"]
    assert resumed >= stopped
    state = T.load_state(run / T.STATE_FILE, torch.device("cpu"))
    assert state.step >= resumed - 25 and state.recipe.p == 13


# ---------------------------------------------------------------- progress measures


def cosine_logits(p: int, freqs: list[int], noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """logits[a * p + b, c] = sum_k cos(w_k (a + b - c)) (+ noise): the generalising solution."""
    a, b = np.divmod(np.arange(p * p), p)
    c = np.arange(p)
    z = sum(np.cos(2 * np.pi * k * ((a + b)[:, None] - c[None, :]) / p) for k in freqs)
    return z + noise * np.random.default_rng(seed).normal(size=z.shape)


def test_restricted_and_excluded_on_the_ideal_solution():
    p, freqs = 31, [3, 7, 11]
    ideal = 5 * cosine_logits(p, freqs)
    labels, train = task.labels(p), task.seeded_split(p, 0.3, 0)
    np.testing.assert_allclose(progress.restricted_logits(ideal, freqs), ideal, atol=1e-9)
    np.testing.assert_allclose(progress.excluded_logits(ideal, freqs), 0, atol=1e-9)
    # Excluding the key frequencies leaves uniform logits: loss log p.
    assert progress.excluded_loss(ideal, labels, train, freqs) == pytest.approx(np.log(p))
    noisy = ideal + np.random.default_rng(1).normal(size=ideal.shape)
    # Removing the noise (not in the key directions) helps; keeping only one key hurts.
    full = progress.restricted_loss(noisy, labels, freqs)
    assert full < progress.restricted_loss(noisy, labels, freqs[:1])
    assert full < task_loss(noisy, labels)


def task_loss(logits, labels):
    from lens.metrics import cross_entropy

    return cross_entropy(logits, labels)


def test_sum_directions_are_orthonormal():
    u = progress.sum_directions(13, [1, 4, 6])
    np.testing.assert_allclose(u @ u.T, np.eye(6), atol=1e-12)
    with pytest.raises(ValueError):
        progress.sum_directions(13, [7])


# ---------------------------------------------------------------- the embedded default


def test_history_refuses_a_bad_file(tmp_path, small_run):
    import shutil

    run = tmp_path / "bad"
    shutil.copytree(small_run, run)
    doc = json.loads((run / "history.json").read_text())
    doc["curves"]["test_loss"] = doc["curves"]["test_loss"][:-1]
    (run / "history.json").write_text(json.dumps(doc))
    with pytest.raises(checkpoint.CheckpointError, match="one length"):
        load_history(run)
    (run / "history.json").write_text("{")
    with pytest.raises(checkpoint.CheckpointError, match="valid JSON"):
        load_history(run)


@pytest.mark.skipif(not (DEFAULT_RUN / "history.json").is_file(), reason="default run not trained yet")
def test_default_run_is_grokked_and_small():
    ck = checkpoint.load(DEFAULT_RUN)
    assert ck.p == 113 and ck.cfg == T.Recipe().cfg and ck.split["kind"] == "seeded"
    data = task.dataset(113)
    with torch.no_grad():
        logits = T.forward(
            {k: torch.as_tensor(v) for k, v in ck.weights.items()},
            torch.as_tensor(data[:, 0]),
            torch.as_tensor(data[:, 1]),
        )
    assert (logits.argmax(1).numpy() == task.labels(113)).all()
    h = load_history(DEFAULT_RUN)
    assert h.grok and h.grok["step"] < ck.meta["recipe"]["steps"]
    assert h.snapshot_steps and all(
        (DEFAULT_RUN / "snapshots" / f"step-{s:06d}").is_dir() for s in h.snapshot_steps
    )
    tracked = subprocess.run(
        ["git", "ls-files", "assets"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    size = sum((ROOT / f).stat().st_size for f in tracked if (ROOT / f).is_file())
    assert size < 25 * 1024 * 1024
