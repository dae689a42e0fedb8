"""A fork server for the kill loop of ``tests/test_train_kill.py``: ``python tests/train_forker.py``.

Starting ``python -m lens.train`` costs 2-6 s on this project's 2-core machine, nearly all
of it importing torch (and ``torch._inductor``, which ``torch.use_deterministic_algorithms``
pulls in), and the kill loop starts it 21 times. So this process imports them once and then,
per command, forks a child that runs ``lens.train.main(argv)``, the CLI's own entry point,
kills it with SIGKILL after the delay asked for (unless it has exited by then), reaps it and
reports. Killing from here, the child's parent, means a kill never reaches a reaped
process's recycled pid. Forking is safe because nothing here has run torch yet: no OpenMP
pool exists to be lost in the child.

To know how much work a kill threw away, the child counts its optimiser updates into a page
of memory shared with this process (``AdamW.step`` wrapped before the trainer builds its
optimiser); what the count held at the kill is the number of updates the child had made.

Protocol, one JSON object per line: stdin ``{"argv": [...], "kill_after": seconds or null}``;
stdout ``{"killed": bool, "exit": code or null, "signal": n or null, "seconds": elapsed,
"updates": n}``. The child's stdout goes to /dev/null and its stderr to this process's stderr.
"""

from __future__ import annotations

import importlib
import json
import mmap
import os
import signal
import struct
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# lens.train first: it sets OMP_WAIT_POLICY before torch loads, as the CLI does.
from lens import train  # noqa: E402

torch = train.torch
importlib.import_module("torch._inductor.config")  # what configure() would import in each child


def child(argv: list[str], shared: mmap.mmap) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    real_step = torch.optim.AdamW.step
    updates = 0

    def counted_step(self, *args, **kwargs):
        nonlocal updates
        out = real_step(self, *args, **kwargs)
        updates += 1
        shared[:8] = struct.pack("<q", updates)  # one aligned 8-byte store
        return out

    torch.optim.AdamW.step = counted_step
    code = 0
    try:
        train.main(argv)
    except SystemExit as err:
        code = err.code if isinstance(err.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stderr.flush()
        os._exit(code)


def run(argv: list[str], kill_after: float | None) -> dict:
    shared = mmap.mmap(-1, mmap.PAGESIZE)  # anonymous and shared: the child's writes show here
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(argv, shared)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if kill_after is not None and time.monotonic() - t0 >= kill_after:
            os.kill(pid, signal.SIGKILL)  # not reaped yet, so the pid is still this child's
            _, status = os.waitpid(pid, 0)
            break
        time.sleep(0.0005)
    return {
        "killed": os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL,
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "seconds": time.monotonic() - t0,
        "updates": struct.unpack("<q", shared[:8])[0],
    }


def main() -> None:
    print(json.dumps({"ready": True}), flush=True)
    while line := sys.stdin.readline():
        cmd = json.loads(line)
        print(json.dumps(run(cmd["argv"], cmd.get("kill_after"))), flush=True)


if __name__ == "__main__":
    main()
