"""bench/load.py's protocol readers against the real app, briefly: they connect through XSRF,
open pages, switch pages, move widgets and upload a checkpoint, and nothing goes wrong.

A smoke test of the load client, not a load test: 2 readers for 5 seconds, no timing
assertions (the figures are bench/load.py's, run by hand).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module
    spec.loader.exec_module(module)
    return module


def _run(tmp_path: Path, *extra: str) -> dict:
    """bench/load.py's main in a thread of its own: it runs an asyncio loop, and a test before
    this one (Playwright's sync API) may have left one running in the main thread."""
    import threading

    bench = _load_bench()
    argv = ["--readers", "2", "--seconds", "5", "--think", "0.5", "--ramp", "1", "--cold", "--no-baseline"]
    out: dict = {}

    def go() -> None:
        try:
            out["result"] = bench.main([*argv, *extra, "--json", str(tmp_path / "load.json")])
        except BaseException as err:  # noqa: BLE001 - re-raised below, in the test's thread
            out["error"] = err

    worker = threading.Thread(target=go, daemon=True)
    worker.start()
    worker.join(timeout=300)
    if "error" in out:
        raise out["error"]
    assert "result" in out, "bench/load.py did not finish within 300 s"
    return out["result"]


@pytest.mark.slow
def test_two_protocol_readers_browse_the_real_app_without_errors(tmp_path):
    app = _run(tmp_path)["app"]
    assert app["interactions"] >= 1
    assert app["by_kind"]["widget"]["n"] + app["by_kind"]["page"]["n"] == app["interactions"]
    assert app["errors"] == 0, app["error_kinds"]
    assert (tmp_path / "load.json").is_file()


@pytest.mark.slow
def test_a_protocol_reader_uploads_a_checkpoint_and_browses_it_without_errors(tmp_path):
    app = _run(tmp_path, "--uploads", "1")["app"]
    assert app["uploads_accepted"] == 1, app["error_kinds"]
    assert app["interactions"] >= 2
    assert app["errors"] == 0, app["error_kinds"]
    assert app["upload_folders_left"] == 0
