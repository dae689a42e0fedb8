"""Shared fixtures: the published reference checkpoint and tiny sinusoidal models.

The reference is read in place from ``<repo>/../shared/reference`` (never copied into the
repo); tests that need it skip, saying why, only when the file is absent. Its full-dataset
run takes a few seconds, so it is made once per session.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference" / "nanda_end_run_data.pth"

from tiny_models import TINY_FREQS, make_checkpoint  # noqa: E402  (tests/ is on sys.path)


@pytest.fixture(scope="session")
def reference_path() -> Path:
    if not REFERENCE.is_file():
        pytest.skip(f"reference checkpoint absent at {REFERENCE} (CI provides it)")
    return REFERENCE


@pytest.fixture(scope="module")
def env(reference_path):
    """The app's environment for one module's page tests: ``LENS_CHECKPOINT`` set to the
    reference checkpoint while the module runs (restored after). Yields its path."""
    from page_testing import reference_env

    with reference_env(reference_path):
        yield reference_path


@pytest.fixture(scope="session")
def ref_run(reference_path):
    from lens.checkpoint import load
    from lens.run import run_model

    return run_model(load(reference_path))


@pytest.fixture(scope="session", params=sorted(TINY_FREQS), ids=lambda p: f"p{p}")
def tiny_run(request):
    """A run of a tiny sinusoidal model, for p in 7, 13, 31 (session-scoped: built once)."""
    from lens.run import run_model

    return run_model(make_checkpoint(request.param))
