"""``python -m lens facts SECTION``: the numbers a page quotes, from a terminal."""

from __future__ import annotations

import json

import pytest
from page_testing import tiny_run_dir

from lens.__main__ import SECTIONS, main
from lens.story import MODULES


def test_every_page_with_facts_is_a_section_of_the_command():
    assert set(MODULES) == set(SECTIONS)


@pytest.mark.parametrize("section", [s for s in SECTIONS if s != "grokking"])
def test_facts_json_is_one_object_for_the_loaded_model(section, tmp_path, capsys):
    run_dir = tiny_run_dir(tmp_path, 13)
    assert main(["facts", section, "--checkpoint", str(run_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out, dict) and out.get("p", out.get("task", {}).get("p")) == 13


def test_grokking_facts_come_from_the_embedded_run_history(capsys):
    assert main(["facts", "grokking", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["p"] == 113 and out["grokked"] is not None and out["grokked"] > out["memorised"]


def test_grokking_facts_of_a_run_without_history_exit_2_with_one_line(tmp_path, capsys):
    run_dir = tiny_run_dir(tmp_path, 13)
    assert main(["facts", "grokking", "--checkpoint", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("refused:") and "\n" not in err


def test_a_refused_checkpoint_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    assert main(["facts", "basics", "--checkpoint", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("refused:") and "\n" not in err
