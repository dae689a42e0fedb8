"""The loader against a generated corpus of malformed checkpoints (issue 13, "Hostile input").

``tests/fuzz_corpus.py`` writes 300 files (seeded); every one must be refused with one
``CheckpointError`` line naming it, by :func:`lens.checkpoint.load` and through the CLI, and
no payload in any of them may run (each would create a marker file; zip members aim at the
marker's folder too). How long each refusal takes and the memory it needs are measured by
``bench/fuzz.py``, not asserted here; the work is bounded by the loader's caps, which these
files probe.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from fuzz_corpus import CATEGORIES, build, build_valid, pickle_payloads, weights

from lens.checkpoint import CheckpointError, load

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    marker_dir = root / "marker"
    marker_dir.mkdir()
    cases = build(root / "corpus", marker_dir / "pwned")
    return marker_dir, cases


def refusal(path: Path) -> str | None:
    """None if ``load`` refused ``path`` as it should; otherwise what went wrong."""
    try:
        load(path)
    except CheckpointError as err:
        msg = str(err)
        if "\n" in msg or "\r" in msg:
            return f"a message of several lines: {msg!r}"
        if not msg.startswith(str(path)):
            return f"a message that does not start with the file's name: {msg}"
        if len(msg) > len(str(path)) + 500:
            return f"a message of {len(msg)} characters"
        return None
    except Exception as err:  # anything but a CheckpointError is a crash
        return f"raised {type(err).__name__}: {str(err)[:200]}"
    return "loaded"


def test_corpus_is_large_seeded_and_covers_every_category(corpus, tmp_path):
    _, cases = corpus
    counts = Counter(c.category for c in cases)
    assert len(cases) >= 200 and set(counts) == set(CATEGORIES)
    assert min(counts.values()) >= 10, counts
    assert len({c.path for c in cases}) == len(cases)

    def digest(paths) -> str:
        h = hashlib.sha256()
        for p in sorted(paths):
            files = sorted(p.rglob("*")) if p.is_dir() else [p]
            for f in files:
                h.update(str(f.relative_to(p.parent)).encode())
                if f.is_file() and not f.is_symlink() and f.stat().st_size < 1 << 27:
                    h.update(f.read_bytes())
        return h.hexdigest()

    (tmp_path / "marker").mkdir()
    again = build(tmp_path / "corpus", corpus[0] / "pwned")  # same seed, same marker: same bytes
    assert [(c.category, c.name) for c in again] == [(c.category, c.name) for c in cases]
    assert digest(c.path for c in again) == digest(c.path for c in cases)


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_file_is_refused_with_one_line(corpus, category, tmp_path, monkeypatch):
    marker_dir, cases = corpus
    # Zips are extracted under the temporary folder: a private one, to see it left empty.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    failures = [f"{c.name}: {why}" for c in cases if c.category == category and (why := refusal(c.path))]
    assert not failures, "\n".join(failures)
    assert not list(marker_dir.iterdir()), "a payload ran, or a zip member escaped"
    assert not list(tmp_path.iterdir()), "an extraction was left behind"


def test_the_payloads_would_run_without_the_whitelist(tmp_path):
    """The ``live_`` payloads are real: plain ``pickle.loads`` (in a subprocess) runs each one,
    and each creates the marker. So the marker staying absent above means something."""
    marker = tmp_path / "pwned"
    live = {k: v for k, v in pickle_payloads(marker).items() if k.startswith("live_")}
    assert len(live) >= 20
    (tmp_path / "payloads.json").write_text(json.dumps({k: v.hex() for k, v in live.items()}))
    script = """
import json, os, pickle, shutil, sys
marker = sys.argv[2]
dead = []
for name, hexed in json.load(open(sys.argv[1])).items():
    try:
        pickle.loads(bytes.fromhex(hexed))
    except Exception:
        pass
    if os.path.isdir(marker):
        shutil.rmtree(marker)
    elif os.path.exists(marker):
        os.unlink(marker)
    else:
        dead.append(name)
print(json.dumps(dead))
"""
    res = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "payloads.json"), str(marker)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout.strip().splitlines()[-1]) == []


def test_cli_refuses_a_sample_with_one_line_and_status_2(corpus):
    """Two files of every category through ``python -m lens report --checkpoint F``."""
    _, cases = corpus
    rng = random.Random(7)
    sample = [c for cat in CATEGORIES for c in rng.sample([c for c in cases if c.category == cat], 2)]
    assert len(sample) >= 20
    failures = []
    for case in sample:
        res = subprocess.run(
            [sys.executable, "-m", "lens", "report", "--checkpoint", str(case.path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        lines = res.stderr.strip().splitlines()
        ok = (
            res.returncode == 2
            and res.stdout == ""
            and len(lines) == 1
            and lines[0].startswith(f"refused: {case.path}")
        )
        if not ok:
            failures.append(f"{case.name}: status {res.returncode}, stderr {res.stderr[-300:]!r}")
    assert not failures, "\n".join(failures)
    assert not list(corpus[0].iterdir())


def test_the_sound_originals_load(tmp_path):
    """The files every case is cut from load, in each form, to the same weights: what is
    refused above is refused for what was done to it."""
    for case in build_valid(tmp_path):
        ck = load(case.path)
        assert ck.p == 13, case.name
        for k, v in weights().items():
            np.testing.assert_array_equal(ck.weights[k], v, err_msg=f"{case.name}: {k}")
