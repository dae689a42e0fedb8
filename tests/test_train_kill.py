"""``lens.train`` survives SIGKILL at any instant (issue 13, "Training that survives faults").

A tiny recipe is killed with SIGKILL at 20 seeded random instants and resumed with
``--resume`` after each. After every kill the run directory loads (and so does every snapshot
written so far), its training state loads, and the resume point is at most one save interval
behind the step the killed process had reached (counted in the child, see the fork server) or
anything it wrote. At the end the weights, the optimiser state, the log and every snapshot are
bitwise equal to those of an uninterrupted run of the same recipe.

The children are forked from ``tests/train_forker.py``, which imports torch once, and run
``lens.train.main``, the CLI's entry point (a fresh interpreter per start would cost the loop
a minute of imports). Nothing here asserts a time.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lens import checkpoint
from lens.checkpoint import CONFIG_FILE, PENDING_WEIGHTS_FILE, SNAPSHOT_DIR, STATE_FILE, WEIGHTS_FILE

ROOT = Path(__file__).resolve().parent.parent
STEPS, SAVE_EVERY, KILLS = 400, 10, 20
RECIPE = [
    *("--p", "23", "--frac", "0.3", "--seed", "1", "--steps", str(STEPS)),
    *("--d-model", "32", "--n-heads", "2", "--d-head", "16", "--d-mlp", "64"),
    *("--threads", "1", "--save-every", str(SAVE_EVERY), "--keep-snapshots", "0", "--quiet"),
]
NO_HANG = 300.0  # an uninterrupted child is killed after this long, and the test fails


class Forker:
    """The fork server, one command at a time (see ``tests/train_forker.py``)."""

    def __init__(self, log: Path):
        self.log = open(log, "w")  # closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "train_forker.py")],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            start_new_session=True,  # its own process group: close() can end it with its child
        )
        assert json.loads(self._line()) == {"ready": True}

    def _line(self) -> str:
        line = self.proc.stdout.readline()
        assert line, f"the fork server died: {Path(self.log.name).read_text()[-2000:]}"
        return line

    def run(self, argv: list[str], kill_after: float | None = None) -> dict:
        self.proc.stdin.write(json.dumps({"argv": argv, "kill_after": kill_after}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self._line())

    def close(self) -> None:
        self.proc.stdin.close()  # the server exits when its child does
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a child still running (a failed test): end both
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.log.close()


def state_step(run: Path) -> int | None:
    """The step ``--resume`` continues from (``train_state.safetensors``), read without torch."""
    if not (run / STATE_FILE).is_file():
        return None
    from safetensors import safe_open

    with safe_open(str(run / STATE_FILE), framework="np") as fh:
        return int(fh.metadata()["step"])


def snapshot_dirs(run: Path) -> list[Path]:
    return sorted((run / SNAPSHOT_DIR).glob("step-*"))


def check_after_kill(run: Path) -> tuple[int | None, int]:
    """Everything on disk after a kill: the run and every committed snapshot load, the
    training state loads. Returns (the state's step, the furthest step anything shows)."""
    step = state_step(run)
    if step is None:  # killed before the first save finished: no run yet, nothing committed
        assert not (run / CONFIG_FILE).exists()
        return None, 0
    import torch

    from lens.train import load_state

    assert load_state(run / STATE_FILE, torch.device("cpu")).step == step
    seen = step
    if (run / CONFIG_FILE).exists():  # absent only if killed inside the very first save
        model_step = checkpoint.load(run).meta["provenance"]["step"]
        assert model_step <= step  # the state is written first: it is never behind the model
        seen = max(seen, model_step)
    for snap in snapshot_dirs(run):
        if (snap / CONFIG_FILE).exists():  # committed; a folder without one is rewritten on resume
            assert checkpoint.load(snap).meta["provenance"]["step"] == int(snap.name[5:])
            seen = max(seen, int(snap.name[5:]))
    return step, seen


def leftovers(run: Path) -> list[Path]:
    """Temporaries of writes a kill cut short, and weights a save had not yet renamed."""
    folders = [run, *snapshot_dirs(run)] if run.is_dir() else []
    return [
        f for d in folders for f in d.iterdir() if f.name.startswith(".") or f.name == PENDING_WEIGHTS_FILE
    ]


def tensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path))


@pytest.mark.slow
def test_sigkill_at_20_random_instants_then_resume_is_bitwise_uninterrupted(tmp_path):
    rng = random.Random(13)
    forker = Forker(tmp_path / "forker.log")
    try:
        ref, run = tmp_path / "uninterrupted", tmp_path / "killed"
        res = forker.run([*RECIPE, "--out", str(ref)], kill_after=NO_HANG)
        assert res["exit"] == 0, Path(forker.log.name).read_text()[-2000:]
        whole = res["seconds"]  # the time scale of the kill instants, measured now, on this load

        resumable, lost, kills, starts, mid_write, furthest = None, [], 0, 0, 0, 0
        while kills < KILLS:
            # A uniform instant in the life of the next child, scaled so that the expected
            # progress per round leaves work for the kills still to come: a kill can land in
            # start-up, a step, an evaluation, a snapshot or any write of a save.
            left = 1 - (resumable or 0) / STEPS
            instant = rng.uniform(0, 2 * 0.8 * whole * left / (KILLS - kills + 1))
            argv = [*RECIPE, "--out", str(run)] + (["--resume"] if resumable is not None else [])
            res = forker.run(argv, kill_after=instant)
            starts += 1
            assert res["killed"] or res["exit"] == 0, Path(forker.log.name).read_text()[-2000:]
            kills += res["killed"]
            mid_write += bool(leftovers(run))  # a write (or a save's last rename) was cut short
            reached = (resumable or 0) + res["updates"]  # the step the killed process had made
            furthest = max(furthest, reached)  # snapshots of an earlier, longer life stay on disk
            step, seen = check_after_kill(run)
            if step is not None:
                assert resumable is None or step >= resumable  # a save never goes backwards
                assert seen <= furthest
                lost.append(reached - step)
                assert lost[-1] <= SAVE_EVERY, (reached, step)
            else:
                assert reached == 0  # no save yet, and no update made either
            resumable = step
        res = forker.run([*RECIPE, "--out", str(run), "--resume"], kill_after=NO_HANG)
        assert res["exit"] == 0, Path(forker.log.name).read_text()[-2000:]
    finally:
        forker.close()
    assert kills == KILLS and starts >= KILLS

    # Bitwise: the weights file itself (so its checksum), the optimiser and the log, every snapshot.
    assert (run / WEIGHTS_FILE).read_bytes() == (ref / WEIGHTS_FILE).read_bytes()
    a, b = tensors(run / STATE_FILE), tensors(ref / STATE_FILE)
    assert a.keys() == b.keys()
    for k in a:
        if k != "log/wall_s":
            assert a[k].tobytes() == b[k].tobytes(), k
    assert [s.name for s in snapshot_dirs(run)] == [s.name for s in snapshot_dirs(ref)]
    for s in snapshot_dirs(run):
        assert (s / WEIGHTS_FILE).read_bytes() == (ref / SNAPSHOT_DIR / s.name / WEIGHTS_FILE).read_bytes()
    h_run, h_ref = (json.loads((d / "history.json").read_text()) for d in (run, ref))
    for h in (h_run, h_ref):
        h["curves"].pop("wall_s")
        h["grok"] = {k: v for k, v in h["grok"].items() if k == "step"}
    assert h_run == h_ref
    assert not leftovers(run)  # what the kills left behind has been tidied
    assert max(lost) <= SAVE_EVERY
    print(f"{kills} kills in {starts} starts, {mid_write} of them mid-write; updates lost per kill: {lost}")
