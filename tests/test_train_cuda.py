"""``--device cuda`` stays supported: a short run on the GPU logs the losses the CPU run logs,
to float32 tolerance. Skips, saying so, on a machine without a CUDA GPU; the CPU half (the
command line and the losses read back) runs everywhere, so the GPU test cannot fail for
want of plumbing the first time it meets a GPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lens.history import load_history

ROOT = Path(__file__).resolve().parent.parent
# A small prime, long enough for the losses to move a long way from initialisation.
ARGS = ["--p", "13", "--frac", "0.5", "--seed", "3", "--steps", "60", "--eval-every", "5", "--threads", "1"]


def losses(run_dir: Path, device: str) -> dict[str, np.ndarray]:
    """Train ``python -m lens.train ... --device DEVICE`` into ``run_dir``; its logged losses."""
    cmd = [sys.executable, "-m", "lens.train", *ARGS, "--device", device, "--quiet", "--out", str(run_dir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    curves = load_history(run_dir).curves
    return {k: curves[k].to_numpy() for k in ("step", "train_loss", "test_loss")}


def test_the_cpu_run_logs_the_losses_the_gpu_test_compares(tmp_path):
    cpu = losses(tmp_path / "cpu", "cpu")
    # every 5 steps, and the 1-2-5 steps below that (lens.train.Schedule.on_log_series)
    assert list(cpu["step"]) == sorted({*range(0, 61, 5), 1, 2})
    assert np.isfinite(cpu["train_loss"]).all() and np.isfinite(cpu["test_loss"]).all()
    assert cpu["train_loss"][-1] < 0.5 * cpu["train_loss"][0]  # it trained: a comparison that means something


def test_a_cuda_run_matches_the_cpu_run(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip(
            "no CUDA GPU: torch.cuda.is_available() is False on this machine, so the --device cuda run cannot start"
        )
    cpu, gpu = losses(tmp_path / "cpu", "cpu"), losses(tmp_path / "cuda", "cuda")
    np.testing.assert_array_equal(gpu["step"], cpu["step"])
    # Float32 on two devices (TF32 off): the same losses to rounding. Adam's first steps move
    # each weight by about its learning rate whatever its gradient's size, so rounding in
    # tiny gradients shows a little: 1e-3 relative, far below the losses' change.
    for key in ("train_loss", "test_loss"):
        np.testing.assert_allclose(gpu[key], cpu[key], rtol=1e-3, atol=1e-6, err_msg=key)
