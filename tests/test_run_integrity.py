"""The run directory's weights checksum, its kill-safe save, and zips of run directories."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from tiny_models import sinusoid_weights

from lens import checkpoint
from lens.checkpoint import (
    CHECKSUM_KEY,
    PENDING_WEIGHTS_FILE,
    CheckpointError,
    extract_zip,
    load,
    load_zip,
    record_checksum,
    remove_stale_temporaries,
    save_run,
)
from lens.paths import DEFAULT_RUN

SPLIT = {"kind": "seeded", "frac": 0.3, "seed": 1}


def weights(seed: int = 0) -> dict[str, np.ndarray]:
    return sinusoid_weights(7, [1, 3], seed=seed)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def config(run: Path) -> dict:
    return json.loads((run / "config.json").read_text())


def same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------- the checksum


def test_save_run_records_the_sha256_of_the_weights_file(tmp_path):
    run = save_run(tmp_path / "r", weights(), SPLIT)
    assert config(run)[CHECKSUM_KEY] == sha(run / "model.safetensors")
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "model.safetensors"]


def test_a_flipped_bit_in_the_weights_is_refused_and_only_the_checksum_sees_it(tmp_path):
    run = save_run(tmp_path / "r", weights(), SPLIT)
    data = bytearray((run / "model.safetensors").read_bytes())
    data[-5] ^= 0x04  # inside a float of the last tensor: still a valid file of finite floats
    (run / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=CHECKSUM_KEY) as info:
        load(run)
    assert str(info.value).startswith(str(run / "model.safetensors")) and "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match=CHECKSUM_KEY):  # the file alone, config beside it
        load(run / "model.safetensors")
    meta = config(run)
    del meta[CHECKSUM_KEY]  # the same file in a run saved before checksums: nothing notices
    (run / "config.json").write_text(json.dumps(meta))
    assert not same(load(run).weights, weights())


def test_a_run_without_a_checksum_still_loads_and_can_be_given_one(tmp_path):
    run = save_run(tmp_path / "r", weights(), SPLIT)
    meta = config(run)
    del meta[CHECKSUM_KEY]
    (run / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    before = (run / "model.safetensors").read_bytes()
    assert same(load(run).weights, weights())
    assert record_checksum(run) == sha(run / "model.safetensors")
    assert (run / "model.safetensors").read_bytes() == before  # only config.json changes
    assert config(run) == {"format": meta["format"], CHECKSUM_KEY: sha(run / "model.safetensors"), **meta}
    assert same(load(run).weights, weights())


def test_record_checksum_never_blesses_a_damaged_file(tmp_path):
    run = save_run(tmp_path / "r", weights(), SPLIT)
    data = bytearray((run / "model.safetensors").read_bytes())
    data[-5] ^= 0x04
    (run / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=CHECKSUM_KEY):
        record_checksum(run)


@pytest.mark.skipif(not (DEFAULT_RUN / "config.json").is_file(), reason="default run not trained yet")
def test_the_embedded_run_and_its_snapshots_carry_their_checksum():
    runs = [DEFAULT_RUN, *sorted((DEFAULT_RUN / "snapshots").iterdir())]
    assert len(runs) > 1
    for run in runs:
        assert config(run)[CHECKSUM_KEY] == sha(run / "model.safetensors"), run
        assert load(run).p == 113


# ---------------------------------------------------------------- a save killed midway


class Killed(BaseException):
    pass


def kill_at(monkeypatch, which: str) -> None:
    """Make save_run die at one of its steps: the ``.next`` write, the commit (config.json),
    or the last rename."""
    real_write, real_replace = checkpoint.atomic_write_bytes, os.replace

    def write(path, data):
        if (which == "pending" and path.name == PENDING_WEIGHTS_FILE) or (
            which == "commit" and path.name == "config.json"
        ):
            raise Killed
        real_write(path, data)

    def replace(src, dst, *a, **k):
        if which == "rename" and Path(src).name == PENDING_WEIGHTS_FILE:
            raise Killed
        real_replace(src, dst, *a, **k)

    monkeypatch.setattr(checkpoint, "atomic_write_bytes", write)
    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("step, survivor", [("pending", 0), ("commit", 0), ("rename", 1)])
def test_a_save_killed_at_any_step_leaves_a_run_that_loads(tmp_path, monkeypatch, step, survivor):
    run = save_run(tmp_path / "r", weights(0), SPLIT, provenance={"step": 0})
    kill_at(monkeypatch, step)
    with pytest.raises(Killed):
        save_run(run, weights(1), SPLIT, provenance={"step": 1})
    monkeypatch.undo()
    ck = load(run)  # the old run before the commit, the new one after it
    assert ck.meta["provenance"]["step"] == survivor and same(ck.weights, weights(survivor))
    save_run(run, weights(2), SPLIT, provenance={"step": 2})  # finishes or drops what was left
    assert same(load(run).weights, weights(2))
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "model.safetensors"]


def test_a_fresh_run_killed_before_its_last_rename_loads(tmp_path, monkeypatch):
    kill_at(monkeypatch, "rename")
    with pytest.raises(Killed):
        save_run(tmp_path / "r", weights(3), SPLIT)
    monkeypatch.undo()
    assert not (tmp_path / "r" / "model.safetensors").exists()
    assert same(load(tmp_path / "r").weights, weights(3))


def test_a_reader_racing_a_save_reads_the_pair_again(tmp_path, monkeypatch):
    """A save committed between the reader's two reads (config.json, then the weights)."""
    run = save_run(tmp_path / "r", weights(0), SPLIT, provenance={"step": 0})
    real = checkpoint._verified_weights
    calls = []

    def racing(w_path, meta):
        if not calls:
            save_run(run, weights(1), SPLIT, provenance={"step": 1})
        calls.append(1)
        return real(w_path, meta)

    monkeypatch.setattr(checkpoint, "_verified_weights", racing)
    ck = load(run)
    assert len(calls) == 2 and ck.meta["provenance"]["step"] == 1 and same(ck.weights, weights(1))


def test_stale_temporaries_are_swept_and_nothing_else(tmp_path):
    run = save_run(tmp_path / "r", weights(), SPLIT)
    snap = save_run(run / "snapshots" / "step-000010", weights(), SPLIT)
    stale = [".config.json.k2j3h4", ".model.safetensors.next.abc123", ".train_state.safetensors.zz9"]
    for name in [*stale, ".gitkeep", ".config.json"]:
        (run / name).write_bytes(b"x")
    (snap / ".model.safetensors.q1w2e3").write_bytes(b"x")
    swept = sorted(p.name for p in remove_stale_temporaries(run))
    assert swept == sorted([*stale, ".model.safetensors.q1w2e3"])
    kept = [".config.json", ".gitkeep", "config.json", "model.safetensors", "snapshots"]
    assert sorted(p.name for p in run.iterdir()) == kept
    assert sorted(p.name for p in snap.iterdir()) == ["config.json", "model.safetensors"]


# ---------------------------------------------------------------- zips of run directories


def zip_of(folder: Path, path: Path, prefix: str = "", extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, prefix + str(f.relative_to(folder)))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("prefix", ["", "my-run/"])
def test_a_zip_of_a_run_directory_loads(tmp_path, prefix):
    run = save_run(tmp_path / "r", weights(), SPLIT)
    (run / "history.json").write_text("{}")
    mac = {"__MACOSX/my-run/._config.json": b"\x00\x05\x16\x07"}  # what macOS's Compress adds
    z = zip_of(run, tmp_path / "run.zip", prefix, mac)
    ck = load(z)
    assert ck.source == str(z) and ck.split == SPLIT and same(ck.weights, weights())
    assert same(load_zip(z).weights, weights())
    out = extract_zip(z, tmp_path / "x")  # for a caller that keeps the folder (the Grokking page)
    assert out == (tmp_path / "x" / prefix.rstrip("/") if prefix else tmp_path / "x")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "history.json", "model.safetensors"]
    assert not (tmp_path / "x" / "__MACOSX").exists()


def test_a_refusal_inside_a_zip_names_the_archive_and_member(tmp_path):
    run = save_run(tmp_path / "r", weights(), SPLIT)
    data = bytearray((run / "model.safetensors").read_bytes())
    data[-5] ^= 0x04
    (run / "model.safetensors").write_bytes(bytes(data))
    z = zip_of(run, tmp_path / "bad.zip", "run/")
    with pytest.raises(CheckpointError) as info:
        load(z)
    assert str(info.value).startswith(f"{z}!run/model.safetensors: config.{CHECKSUM_KEY}: ")


def test_zip_caps_are_parameters(tmp_path):
    run = save_run(tmp_path / "r", weights(), SPLIT)
    z = zip_of(run, tmp_path / "run.zip")
    with pytest.raises(CheckpointError, match="at most 1 entries"):
        load_zip(z, max_entries=1)
    with pytest.raises(CheckpointError, match="at most 100 bytes"):
        load_zip(z, max_bytes=100)
