"""The trainer's console: Ctrl-C that stops after a step and saves, and one status line."""

from __future__ import annotations

import math
import signal
import sys
import time


class Stop:
    """Ctrl-C (or SIGTERM) asks the loop to stop after the current step and save.

    A second Ctrl-C interrupts at once; the atomic writes still leave every file whole.
    """

    def __init__(self):
        self.requested = False

    def __enter__(self):
        self._old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)


class Progress:
    """One status line on stderr: step, losses, accuracies, speed, time left."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def update(self, step: int, row: dict, rate: float, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.last < (0.5 if self.tty else 15.0)):
            return
        self.last = now
        left = (self.total - step) / rate if rate > 0 else float("nan")
        eta = f"{int(left // 60)}:{int(left % 60):02d}" if math.isfinite(left) else "?"
        line = (
            f"step {step:>6}/{self.total} | train {row['train_loss']:.2e} {100 * row['train_acc']:6.2f}% "
            f"| test {row['test_loss']:.2e} {100 * row['test_acc']:6.2f}% | {rate:5.1f} steps/s | left {eta}"
        )
        sys.stderr.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")
