"""Both checkpoint formats load to the same model; hostile files are refused cleanly."""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_models import TINY_FREQS, sinusoid_weights

from lens import checkpoint
from lens.checkpoint import CheckpointError, load, save_run

ROOT = Path(__file__).resolve().parent.parent


def to_original_layout(w: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Canonical weights -> the progress-measures state dict (written independently of the
    loader, from the layout in the seed guide)."""
    h, d, dh = w["W_Q"].shape[0], w["W_Q"].shape[1], w["W_Q"].shape[2]
    t = torch.tensor
    extra_col = np.random.default_rng(1).normal(size=(d, 1)).astype(np.float32)  # the "=" class
    return {
        "embed.W_E": t(w["W_E"].T.copy()),
        "pos_embed.W_pos": t(w["W_pos"]),
        "blocks.0.attn.W_Q": t(w["W_Q"].transpose(0, 2, 1).copy()),
        "blocks.0.attn.W_K": t(w["W_K"].transpose(0, 2, 1).copy()),
        "blocks.0.attn.W_V": t(w["W_V"].transpose(0, 2, 1).copy()),
        "blocks.0.attn.W_O": t(w["W_O"].reshape(h * dh, d).T.copy()),
        "blocks.0.attn.mask": torch.tril(torch.ones(3, 3)),
        "blocks.0.mlp.W_in": t(w["W_in"].T.copy()),
        "blocks.0.mlp.b_in": t(w["b_in"]),
        "blocks.0.mlp.W_out": t(w["W_out"].T.copy()),
        "blocks.0.mlp.b_out": t(w["b_out"]),
        "unembed.W_U": t(np.concatenate([w["W_U"], extra_col], axis=1)),
    }


def write_original(path: Path, sd: dict, p: int | None, **extra) -> Path:
    older = {k: torch.zeros_like(v) for k, v in sd.items()}  # state_dicts[-1] must win
    obj = {"state_dicts": [older, sd], "model": older, "train_losses": [1.0, 0.5], "epochs": [0, 100]}
    if p is not None:
        obj["config"] = {"p": p, "frac_train": 0.3, "seed": 0}
    obj.update(extra)
    torch.save(obj, path)
    return path


def logits_of(ck) -> np.ndarray:
    from lens import task
    from lens.model import build_bridge

    with torch.no_grad():
        out = build_bridge(ck.weights, ck.cfg)(torch.as_tensor(task.dataset(ck.p)))
    return out[:, -1].numpy()


@pytest.mark.parametrize("p", sorted(TINY_FREQS))
def test_both_formats_give_identical_logits(tmp_path, p):
    w = sinusoid_weights(p, TINY_FREQS[p], seed=p)
    orig = load(write_original(tmp_path / "run.pth", to_original_layout(w), p))
    ours = load(save_run(tmp_path / "run", w, {"kind": "original", "frac": 0.3}))
    assert orig.format == "original" and ours.format == "run"
    assert orig.cfg == ours.cfg and orig.p == p
    for name in w:
        np.testing.assert_array_equal(orig.weights[name], w[name], err_msg=name)
        np.testing.assert_array_equal(ours.weights[name], w[name], err_msg=name)
    lo, lr = logits_of(orig), logits_of(ours)
    assert lo.shape == (p * p, p)
    np.testing.assert_array_equal(lo, lr)
    # and the model reads its logits at "=" from these weights, not from defaults
    other = load(save_run(tmp_path / "other", sinusoid_weights(p, TINY_FREQS[p], seed=p + 1), {}))
    assert not np.allclose(logits_of(other), lo)


def test_safetensors_file_alone_loads(tmp_path):
    w = sinusoid_weights(7, [1, 3])
    save_run(tmp_path / "r", w, {"kind": "seeded", "frac": 0.5, "seed": 3})
    ck = load(tmp_path / "r" / "model.safetensors")
    assert ck.split == {"kind": "seeded", "frac": 0.5, "seed": 3}
    np.testing.assert_array_equal(ck.weights["W_U"], w["W_U"])


def test_float64_beyond_float32_range_is_refused_not_turned_into_inf(tmp_path):
    """A run file may hold float64; a value float32 cannot hold (1e300) must be refused, not
    pass the finite check and then become inf in the model."""
    from safetensors.numpy import save_file

    w = sinusoid_weights(7, [1, 3])
    save_run(tmp_path / "r", w, {"kind": "seeded", "frac": 0.5, "seed": 3})
    drop_checksum(tmp_path / "r")  # the weights are replaced below: a run saved before checksums
    big = {k: v.astype(np.float64) for k, v in w.items()}
    big["W_in"][0, 0] = 1e300
    save_file(big, str(tmp_path / "r" / "model.safetensors"))
    assert "NaN/Inf" in refused(tmp_path / "r", "W_in")
    big["W_in"][0, 0] = 0.5  # float64 within range still loads, as float32
    save_file(big, str(tmp_path / "r" / "model.safetensors"))
    assert load(tmp_path / "r").weights["W_in"].dtype == np.float32


def drop_checksum(run: Path) -> None:
    meta = json.loads((run / "config.json").read_text())
    del meta["weights_sha256"]
    (run / "config.json").write_text(json.dumps(meta))


# ---------------------------------------------------------------- hostile files


@pytest.fixture
def good_sd():
    return to_original_layout(sinusoid_weights(13, [2, 5]))


def refused(path: Path, key: str) -> str:
    with pytest.raises(CheckpointError) as info:
        load(path)
    msg = str(info.value)
    assert str(path) in msg, msg
    assert key in msg, msg
    assert "\n" not in msg
    return msg


def test_random_bytes(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "a.pth").write_bytes(b"\x00" + rng.bytes(4000))
    refused(tmp_path / "a.pth", "file")
    (tmp_path / "b.pth").write_bytes(b"PK\x03\x04" + rng.bytes(4000))  # looks like a zip
    refused(tmp_path / "b.pth", "pickle")
    (tmp_path / "c.safetensors").write_bytes(rng.bytes(4000))
    refused(tmp_path / "c.safetensors", "safetensors")


def test_empty_file(tmp_path):
    (tmp_path / "e.pth").write_bytes(b"")
    assert "empty" in refused(tmp_path / "e.pth", "file")


def test_truncated_file(tmp_path, good_sd):
    data = write_original(tmp_path / "full.pth", good_sd, 13).read_bytes()
    (tmp_path / "t.pth").write_bytes(data[: len(data) // 2])
    refused(tmp_path / "t.pth", "pickle")


class Evil:
    """Unpickling this would create a directory (a visible side effect)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_code_running_pickle_is_refused_and_never_runs(tmp_path, good_sd):
    marker = tmp_path / "pwned"
    zipped = tmp_path / "evil.pth"
    torch.save({"state_dicts": [good_sd], "config": {"p": 13}, "payload": Evil(marker)}, zipped)
    refused(zipped, "pickle")
    raw = tmp_path / "evil_raw.pth"  # a plain pickle stream, not torch's zip container
    raw.write_bytes(pickle.dumps({"payload": Evil(marker)}, protocol=2))
    refused(raw, "pickle")
    assert not marker.exists()
    # the payload is live: an unrestricted unpickler would have run it
    pickle.loads(raw.read_bytes())
    assert marker.exists()


def test_wrong_shape(tmp_path, good_sd):
    good_sd["blocks.0.mlp.W_in"] = good_sd["blocks.0.mlp.W_in"][:, :-1]
    refused(write_original(tmp_path / "s.pth", good_sd, 13), "W_in")


def test_wrong_attention_output_shape(tmp_path, good_sd):
    good_sd["blocks.0.attn.W_O"] = good_sd["blocks.0.attn.W_O"][:, :-2]
    refused(write_original(tmp_path / "o.pth", good_sd, 13), "blocks.0.attn.W_O")


def test_missing_key(tmp_path, good_sd):
    del good_sd["blocks.0.mlp.b_in"]
    assert "missing" in refused(write_original(tmp_path / "m.pth", good_sd, 13), "blocks.0.mlp.b_in")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights(tmp_path, good_sd, bad):
    good_sd["blocks.0.mlp.W_out"][0, 0] = bad
    assert "NaN/Inf" in refused(write_original(tmp_path / "n.pth", good_sd, 13), "W_out")


def test_integer_weights(tmp_path, good_sd):
    good_sd["embed.W_E"] = good_sd["embed.W_E"].round().to(torch.int64)
    assert "float" in refused(write_original(tmp_path / "i.pth", good_sd, 13), "embed.W_E")


def test_config_p_disagrees(tmp_path, good_sd):
    assert "13" in refused(write_original(tmp_path / "p.pth", good_sd, 17), "config.p")


def test_run_dir_config_p_disagrees(tmp_path):
    run = save_run(tmp_path / "r", sinusoid_weights(7, [1, 3]), {})
    meta = json.loads((run / "config.json").read_text())
    meta["model"]["p"] = 11
    (run / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="config.p"):
        load(run)
    (run / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="config.json: json"):
        load(run)


@pytest.mark.parametrize(
    "split, key",
    [
        ({"kind": "seeded", "frac": 0.3}, "config.split.seed"),  # was a KeyError much later
        ({"kind": "seeded", "frac": 0.3, "seed": "0"}, "config.split.seed"),
        ({"kind": "random", "frac": 0.3}, "config.split.kind"),
        ({"kind": "original", "frac": 1.5}, "config.split.frac"),
        ({"kind": "original", "frac": "lots"}, "config.split.frac"),
        ([0.3], "config.split"),
    ],
)
def test_bad_split_record(tmp_path, split, key):
    run = save_run(tmp_path / "r", sinusoid_weights(7, [1, 3]), split)
    with pytest.raises(CheckpointError, match=key.replace(".", r"\.")):
        load(run)


def test_split_record_defaults_to_the_original_split(tmp_path):
    assert load(save_run(tmp_path / "r", sinusoid_weights(7, [1, 3]), {})).split == {
        "kind": "original",
        "frac": 0.3,
    }


def test_oversized_file(tmp_path, good_sd, monkeypatch):
    path = write_original(tmp_path / "big.pth", good_sd, 13)
    monkeypatch.setattr(checkpoint, "MAX_BYTES", 100)
    assert "at most 100 bytes" in refused(path, "file")


def test_missing_path(tmp_path):
    refused(tmp_path / "nothing.pth", "file")


def test_cli_refuses_a_bad_file_with_one_line(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"PK\x03\x04 definitely not a zip archive")
    res = subprocess.run(
        [sys.executable, "-m", "lens", "report", "--checkpoint", str(bad), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert str(bad) in lines[0] and "Traceback" not in res.stderr


def test_cli_without_a_default_model_says_how_to_make_one(tmp_path, monkeypatch, capsys):
    import lens.__main__ as cli

    monkeypatch.setattr(cli, "default_run", lambda: tmp_path / "default-run")
    assert cli.main(["report"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "python -m lens.train --out assets/default-run" in err


def test_cli_help_does_not_import_torch():
    code = "import sys, lens.__main__ as m; m.main(['--help'])"
    res = subprocess.run(
        [sys.executable, "-c", code + "\n"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "report" in res.stdout
    check = "import sys, lens.__main__; print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "False", res.stderr
