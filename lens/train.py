"""Train the one-layer transformer on (a + b) mod p, fast, on a CPU: ``python -m lens.train``.

The default recipe is Nanda et al.'s: d_model 128, 4 heads of 32, d_mlp 512, ReLU, no
LayerNorm; AdamW (lr 1e-3, weight decay 1.0, betas (0.9, 0.98)) with a 10-step linear
warm-up; full batch over the training split (30 %); float64 cross-entropy. Outputs are
classes 0..p-1 only (the canonical W_U of :mod:`lens.config` has no "=" column).

Why it is fast (measured in ``bench/train.py``):
- In a one-layer model only the ``=`` position (2) reaches the logits, and its residual
  before attention is the same for every input (W_E[=] + W_pos[2]). So its query is one
  vector per head, and keys, values and attention scores are tables over the p tokens at
  positions 0 and 1, gathered per input. The MLP and the unembedding run at position 2
  alone: a third of the full forward's work, and no [N, 3, 3] attention.
- The backward is written by hand (:mod:`lens.train_step`, checked against autograd in the
  tests): no graph, and one Python thread per core, each over its share of the rows with
  single-threaded ops, instead of an OpenMP team woken for every small op.
- The weights are views into one flat tensor, updated by one fused AdamW pass.
- Float32 subnormals make a CPU many times slower once the loss nears 1e-7; they are
  flushed (``torch.set_flush_denormal``).
- The test split is evaluated only every ``eval_every`` steps, forward only.

Footguns:
- Determinism holds for the same seed, thread count and machine (the rows are split into
  one share per thread, so the gradient's summation order depends on threads). Both are
  recorded in ``config.json``.
- The warm-up is Nanda's ``LambdaLR(lambda t: min(t / 10, 1))``: update 0 has lr 0 (the
  Adam moments still see its gradient).
- The train loss logged at step t is that of the weights *before* update t, so it pairs
  with the test loss of the same weights.

Run directory (see :mod:`lens.history` for the history and snapshots)::

    config.json, model.safetensors   latest weights (lens.checkpoint.save_run)
    history.json                     curves and per-checkpoint summaries
    snapshots/step-NNNNNN/           weights at the scheduled checkpoints (run dirs)
    train_state.safetensors          everything --resume needs (weights, Adam, log)

Every file is written atomically (temporary file, fsync, rename): a kill at any moment
loses at most the steps since the last save, never leaves a torn file, and leaves a run that
loads (``tests/test_train_kill.py``); what it leaves behind is swept when the run restarts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

if "torch" not in sys.modules:
    # Sleeping, not spinning, OpenMP workers: on a shared CPU, spinning threads that get
    # preempted made two threads ten times slower than one (bench/train.py). Only takes
    # effect when torch's OpenMP is not loaded yet; OMP_WAIT_POLICY=active overrides.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from . import task  # noqa: E402
from .checkpoint import (  # noqa: E402
    SNAPSHOT_DIR,
    STATE_FILE,
    atomic_write_bytes,
    remove_stale_temporaries,
    save_run,
)
from .config import WEIGHT_NAMES, ModelConfig  # noqa: E402
from .forward import Params, forward, forward_flops  # noqa: E402,F401  (forward: the trainer's model)
from .metrics import GROK_ACC  # noqa: E402
from .paths import ROOT  # noqa: E402
from .provenance import default_threads, git_commit, machine  # noqa: E402,F401  (machine: bench/train.py)
from .train_console import Progress, Stop  # noqa: E402
from .train_step import Flat, Step  # noqa: E402


@dataclass(frozen=True)
class Recipe:
    """Everything that determines the weights (with the thread count and the machine)."""

    p: int = 113
    frac: float = 0.3
    seed: int = 0
    steps: int = 25_000
    lr: float = 1e-3
    weight_decay: float = 1.0
    beta1: float = 0.9
    beta2: float = 0.98
    warmup: int = 10
    # The architecture's defaults are ModelConfig's (one place says "Nanda et al.'s shape").
    d_model: int = ModelConfig.d_model
    n_heads: int = ModelConfig.n_heads
    d_head: int = ModelConfig.d_head
    d_mlp: int = ModelConfig.d_mlp

    @property
    def cfg(self) -> ModelConfig:
        return ModelConfig(self.p, self.d_model, self.n_heads, self.d_head, self.d_mlp)

    @property
    def split(self) -> dict:
        return {"kind": "seeded", "frac": self.frac, "seed": self.seed}

    def lr_at(self, step: int) -> float:
        return self.lr * min(step / self.warmup, 1.0) if self.warmup > 0 else self.lr


@dataclass(frozen=True)
class Schedule:
    """When to log and when to keep a checkpoint (these never change the weights).

    A checkpoint is kept at an evaluation step when, since the last one, log10 of the train
    loss moved by ``d_log_train``, log10 of the test loss by ``d_log_test``, test accuracy
    by ``d_test_acc`` or the weight norm by the fraction ``d_norm``, provided ``min_gap``
    steps have passed; and at least every ``max_gap`` steps. This puts them densely where
    things change: memorisation, the fall of the test loss, the weight-norm clean-up.

    Also at every evaluation step of the 1-2-5 series (5, 10, 20, 50, ..., 20 000), so that the
    first steps, where He et al. 2026's lottery is decided, have checkpoints of their own:
    the adaptive rule's ``min_gap`` would otherwise leave nothing between 0 and 50.
    """

    eval_every: int = 20
    dense_until: int = 500  # evaluate every dense_every steps before this (memorisation is fast)
    dense_every: int = 5
    save_every: int = 1000
    min_gap: int = 50
    max_gap: int = 1000
    d_log_train: float = 0.5
    d_log_test: float = 0.25
    d_test_acc: float = 0.05
    d_norm: float = 0.1
    log_series: tuple[int, ...] = (1, 2, 5)  # mantissas of the log-spaced checkpoint steps

    def on_log_series(self, step: int) -> bool:
        """Whether ``step`` is m * 10**e for a mantissa m of ``log_series`` (e >= 0)."""
        while step >= 10 and step % 10 == 0:
            step //= 10
        return step in self.log_series


# ---------------------------------------------------------------- model


def init_params(cfg: ModelConfig, seed: int) -> Params:
    """Canonical weights with Nanda et al.'s initial scales (randn / sqrt(d_model); W_U by
    1 / sqrt(p + 1)), biases zero, drawn from a private generator seeded with ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    params: Params = {}
    for name, shape in cfg.weight_shapes().items():
        if name.startswith("b_"):
            params[name] = torch.zeros(shape)
        else:
            scale = math.sqrt(cfg.d_vocab if name == "W_U" else cfg.d_model)
            params[name] = torch.randn(shape, generator=gen) / scale
    return params


def to_numpy(P: Params) -> dict[str, np.ndarray]:
    return {k: P[k].detach().to("cpu", torch.float32).numpy().copy() for k in WEIGHT_NAMES}


def weight_norm(P: Params) -> float:
    """sqrt of the sum of squares of every weight (Nanda et al. plot its square)."""
    return math.sqrt(sum(float(v.double().pow(2).sum()) for v in P.values()))


# ---------------------------------------------------------------- environment


def configure(threads: int | None, device: str) -> torch.device:
    """Threads, denormal flushing and deterministic kernels. Call before any torch work.

    ``threads`` (default: every core) is the number of lanes a CPU :class:`Step` runs; torch's
    own ops run single-threaded inside each (:func:`lanes` reads it back).
    """
    if device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: no CUDA device is available")
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
        torch.backends.cuda.matmul.allow_tf32 = False
    global _LANES
    _LANES = threads or default_threads()
    torch.set_num_threads(1 if device == "cpu" else _LANES)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work has started: harmless
        pass
    torch.set_flush_denormal(True)
    # On CUDA an op without a deterministic kernel warns rather than stops the run (the CUDA
    # path has not been run on hardware by this project's tests).
    torch.use_deterministic_algorithms(True, warn_only=device == "cuda")
    _keep_freed_memory()
    return torch.device(device)


_LANES = 1


def lanes() -> int:
    """The CPU threads the trainer's step uses (as :func:`configure` set them)."""
    return _LANES


def _keep_freed_memory() -> None:
    """Ask glibc to serve buffers up to 32 MB from the heap and not to hand them back.

    Every step allocates the same few multi-MB tensors; by default glibc maps each from the
    kernel afresh, and the page faults that zero them cost as much as the ReLU itself.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


# ---------------------------------------------------------------- training state


LOG_KEYS = ("step", "train_loss", "train_acc", "test_loss", "test_acc", "weight_norm", "wall_s")


@dataclass
class State:
    """What a resumed run needs to continue exactly as if it had never stopped."""

    recipe: Recipe
    flat: Flat  # the weights (flat.params: one view per weight) and their gradient
    opt: torch.optim.Optimizer
    step: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0  # this process's CPU time, all threads (steadier than wall on a shared machine)
    log: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in LOG_KEYS})
    checkpoints: list[int] = field(default_factory=list)
    grok: dict = field(default_factory=dict)  # first step with test acc >= GROK_ACC

    @property
    def params(self) -> Params:
        return self.flat.params

    def to_bytes(self) -> bytes:
        from safetensors.torch import save

        # Clones: views of one flat tensor share memory, which safetensors refuses.
        tensors = {f"param/{k}": v.detach().cpu().clone() for k, v in self.params.items()}
        # One file layout per weight, as before the weights were flat: old states still load.
        st = self.opt.state.get(self.flat.data, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in st:
                for name, v in self.flat.split(st[key]).items():
                    tensors[f"{key}/{name}"] = v.detach().cpu().clone()
        if "step" in st:
            for name in WEIGHT_NAMES:
                tensors[f"adam_step/{name}"] = torch.as_tensor(st["step"]).reshape(1).float().cpu().clone()
        for k, v in self.log.items():
            tensors[f"log/{k}"] = torch.tensor(v, dtype=torch.float64)
        tensors["checkpoints"] = torch.tensor(self.checkpoints, dtype=torch.int64)
        meta = {
            "recipe": json.dumps(asdict(self.recipe)),
            "step": str(self.step),
            "wall_s": repr(self.wall_s),
            "cpu_s": repr(self.cpu_s),
            "grok": json.dumps(self.grok),
        }
        return save(tensors, metadata=meta)


def new_state(recipe: Recipe, device: torch.device) -> State:
    flat = Flat(init_params(recipe.cfg, recipe.seed), device)
    return State(recipe, flat, make_optimizer(flat, recipe))


def make_optimizer(flat: Flat, recipe: Recipe) -> torch.optim.Optimizer:
    """AdamW over the one flat tensor of weights (its gradient is ``flat.grad``).

    Weight decay on every weight, biases and embeddings included, as in the original, so one
    parameter group of one tensor is the same update as one per weight. The fused kernel
    rounds differently from the foreach one (by at most 1.5e-8 after 30 updates, measured),
    in one pass instead of about ten.
    """
    flat.data.grad = flat.grad
    return torch.optim.AdamW(
        [flat.data],
        lr=recipe.lr_at(0),
        betas=(recipe.beta1, recipe.beta2),
        weight_decay=recipe.weight_decay,
        fused=True,
    )


def load_state(path: Path, device: torch.device, steps: int | None = None) -> State:
    """Read ``train_state.safetensors``; ``steps`` may extend (never change) the recipe."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
        t = {k: fh.get_tensor(k) for k in fh.keys()}
    allowed = {f.name for f in fields(Recipe)}
    recipe = Recipe(**{k: v for k, v in json.loads(meta["recipe"]).items() if k in allowed})
    if steps is not None:
        recipe = replace(recipe, steps=steps)
    flat = Flat({k: t[f"param/{k}"] for k in WEIGHT_NAMES}, device)
    opt = make_optimizer(flat, recipe)
    if all(f"exp_avg/{name}" in t for name in WEIGHT_NAMES):
        sd = opt.state_dict()
        sd["state"][0] = {
            "step": t[f"adam_step/{WEIGHT_NAMES[0]}"].reshape(()),
            "exp_avg": flat.join({k: t[f"exp_avg/{k}"] for k in WEIGHT_NAMES}),
            "exp_avg_sq": flat.join({k: t[f"exp_avg_sq/{k}"] for k in WEIGHT_NAMES}),
        }
        opt.load_state_dict(sd)
    log = {k: t[f"log/{k}"].tolist() for k in LOG_KEYS}
    return State(
        recipe,
        flat,
        opt,
        step=int(meta["step"]),
        wall_s=float(meta["wall_s"]),
        cpu_s=float(meta.get("cpu_s", 0.0)),
        log=log,
        checkpoints=[int(s) for s in t["checkpoints"].tolist()],
        grok=json.loads(meta.get("grok", "{}")),
    )


# ---------------------------------------------------------------- the loop


def _due_checkpoint(state: State, row: dict, sched: Schedule) -> bool:
    if not state.checkpoints or sched.on_log_series(row["step"]):
        return True
    last_step = state.checkpoints[-1]
    gap = row["step"] - last_step
    if gap >= sched.max_gap:
        return True
    if gap < sched.min_gap:
        return False
    last = state.log["step"].index(last_step)
    old = {k: state.log[k][last] for k in LOG_KEYS}

    def dlog(key: str) -> float:
        return abs(math.log10(max(row[key], 1e-30)) - math.log10(max(old[key], 1e-30)))

    return (
        dlog("train_loss") >= sched.d_log_train
        or dlog("test_loss") >= sched.d_log_test
        or abs(row["test_acc"] - old["test_acc"]) >= sched.d_test_acc
        or abs(row["weight_norm"] / old["weight_norm"] - 1) >= sched.d_norm
    )


def train(
    recipe: Recipe | None,
    out: str | os.PathLike,
    resume: bool = False,
    threads: int | None = None,
    device: str = "cpu",
    schedule: Schedule = Schedule(),
    progress: bool = True,
    keep_snapshots: int | None = None,
    summarise: bool = True,
    stop_after: int | None = None,
    steps: int | None = None,
    until_grok: bool = False,
) -> Path:
    """Train (or continue) the run in ``out`` up to ``recipe.steps`` updates; return ``out``.

    On ``resume`` the stored recipe is used; ``steps`` (or a given ``recipe``'s steps) may
    extend it; a given ``recipe`` differing in anything else is refused.

    ``stop_after`` ends this call after that many updates as if interrupted (for tests);
    ``until_grok`` at the first evaluation with test accuracy >= GROK_ACC (resumable too).
    With ``summarise`` the history (:mod:`lens.history`) is written at the end; with
    ``keep_snapshots`` only that many snapshots stay afterwards.
    """
    out = Path(out)
    dev = configure(threads, device)
    n_threads = lanes()
    state_path = out / STATE_FILE
    if resume:
        if not state_path.is_file():
            raise SystemExit(f"{state_path}: nothing to resume (no training state)")
        state = load_state(state_path, dev, steps or (recipe.steps if recipe else None))
        if recipe is not None and replace(recipe, steps=state.recipe.steps) != state.recipe:
            raise SystemExit(f"{out}: --resume with a different recipe: stored {asdict(state.recipe)}")
    else:
        if recipe is None:
            raise ValueError("a new run needs a recipe")
        if state_path.exists() or (out / "model.safetensors").exists():
            raise SystemExit(f"{out}: already holds a run; pass --resume or choose another --out")
        state = new_state(recipe, dev)
    remove_stale_temporaries(out)  # what a SIGKILL mid-write left: this run is its only writer
    recipe = state.recipe
    p = recipe.p
    if not task.is_prime(p):
        raise SystemExit(f"--p {p}: expected a prime")

    train_mask = task.seeded_split(p, recipe.frac, recipe.seed)
    data, labels = task.dataset(p), task.labels(p)

    def tensors(mask):
        return (
            torch.as_tensor(data[mask, 0], device=dev),
            torch.as_tensor(data[mask, 1], device=dev),
            torch.as_tensor(labels[mask], device=dev),
        )

    P, opt = state.params, state.opt
    step_train = Step(recipe.cfg, *tensors(train_mask), lanes=n_threads)
    step_test = Step(recipe.cfg, *tensors(~train_mask), lanes=n_threads, pool=step_train.pool)
    bar = Progress(recipe.steps, progress)
    provenance = {
        "trainer": "lens.train",
        "threads": n_threads,
        "device": device,
        "machine": machine(),
        "commit": git_commit(),
    }

    def save(final: bool = False) -> None:
        # Resume state first: it alone decides how training continues. The model and config
        # written after it are derived, so a kill between the two loses nothing.
        atomic_write_bytes(state_path, state.to_bytes())
        save_run(
            out,
            to_numpy(P),
            recipe.split,
            asdict(recipe),
            {
                **provenance,
                "step": state.step,
                "wall_s": round(state.wall_s, 2),
                "cpu_s": round(state.cpu_s, 2),
                "grok": state.grok,
                "finished": final,
            },
        )

    if not resume:
        save()  # a loadable run directory from the first moment on
    with Stop() as stop:
        t_call = time.monotonic()
        t0, start_step = t_call - state.wall_s, state.step
        c0 = time.process_time() - state.cpu_s
        while True:
            step = state.step
            # A resumed run has often logged this step already (it stopped right after).
            logged = bool(state.log["step"]) and state.log["step"][-1] == step
            every = schedule.dense_every if step < schedule.dense_until else schedule.eval_every
            due = step % every == 0 or step == recipe.steps or schedule.on_log_series(step)
            evaluate = due and not logged
            last = step >= recipe.steps or (stop_after is not None and step - start_step >= stop_after)
            # The loss of the weights before update `step`, and (unless none follows) its gradient.
            train_loss, train_acc = step_train(state.flat, backward=not last, accuracy=evaluate)
            if evaluate:
                test_loss, test_acc = step_test(state.flat, backward=False, accuracy=True)
                row = {
                    "step": step,
                    "train_loss": train_loss,
                    "train_acc": train_acc,
                    "test_loss": test_loss,
                    "test_acc": test_acc,
                    "weight_norm": weight_norm(P),
                    "wall_s": time.monotonic() - t0,
                }
                for k in LOG_KEYS:
                    state.log[k].append(row[k])
                if not state.grok and row["test_acc"] >= GROK_ACC:
                    state.grok = {
                        "step": step,
                        "wall_s": round(row["wall_s"], 2),
                        "cpu_s": round(time.process_time() - c0, 2),
                    }
                if _due_checkpoint(state, row, schedule) or step == recipe.steps:
                    state.checkpoints.append(step)
                    state.wall_s, state.cpu_s = time.monotonic() - t0, time.process_time() - c0
                    save_run(
                        out / SNAPSHOT_DIR / f"step-{step:06d}",
                        to_numpy(P),
                        recipe.split,
                        asdict(recipe),
                        {**provenance, "step": step},
                    )
                elapsed = time.monotonic() - t_call
                bar.update(
                    step,
                    row,
                    (step - start_step) / elapsed if elapsed > 0 else 0.0,
                    force=step == recipe.steps,
                )
            if last or stop.requested or (until_grok and state.grok):
                break
            for group in opt.param_groups:
                group["lr"] = recipe.lr_at(step)
            opt.step()  # the gradient is already in state.flat.grad
            state.step += 1
            if state.step % schedule.save_every == 0:
                state.wall_s, state.cpu_s = time.monotonic() - t0, time.process_time() - c0
                save()
        state.wall_s, state.cpu_s = time.monotonic() - t0, time.process_time() - c0
        finished = state.step >= recipe.steps
        save(final=finished)
    step_train.close()
    torch.set_num_threads(n_threads)  # the summaries below run torch's own threaded ops
    bar.close()
    if summarise:
        from .history import prune_snapshots, write_history
        from .lottery import record

        write_history(out)
        if keep_snapshots is not None and (finished or (until_grok and state.grok)):
            prune_snapshots(out, keep_snapshots)
        record(out)  # each kept snapshot's neurons, for the Grokking page (lens.lottery)
    if not finished and progress:
        print(f"stopped at step {state.step}; continue with --resume --out {out}", file=sys.stderr)
    return out


# ---------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    d = Recipe()
    ap = argparse.ArgumentParser(prog="python -m lens.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--p", type=int, default=d.p, help="a prime (default %(default)s)")
    ap.add_argument("--frac", type=float, default=d.frac, help="training fraction (default %(default)s)")
    ap.add_argument("--seed", type=int, default=d.seed, help="initialisation and split seed")
    ap.add_argument("--steps", type=int, default=None, help=f"total updates (default {d.steps})")
    ap.add_argument("--out", type=Path, default=None, help="run directory (default runs/p{P}-seed{SEED})")
    ap.add_argument("--resume", action="store_true", help="continue the run in --out")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--eval-every", type=int, default=Schedule.eval_every)
    ap.add_argument("--save-every", type=int, default=Schedule.save_every, help="steps between resume saves")
    ap.add_argument(
        "--keep-snapshots",
        type=int,
        default=20,
        help="after training, keep this many checkpoint snapshots, log-spaced from step 0 and at "
        "the phase boundaries; 0 keeps all (default %(default)s; "
        "the summaries of every checkpoint stay in history.json)",
    )
    ap.add_argument("--quiet", action="store_true", help="no progress line")
    ap.add_argument(
        "--until-grok",
        action="store_true",
        help=f"stop at the first evaluation with test accuracy >= {100 * GROK_ACC:g}%% (--resume continues)",
    )
    for dim in ("d_model", "n_heads", "d_head", "d_mlp"):
        ap.add_argument(f"--{dim.replace('_', '-')}", type=int, default=getattr(d, dim))
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    recipe = Recipe(
        p=args.p,
        frac=args.frac,
        seed=args.seed,
        steps=args.steps or Recipe.steps,
        d_model=args.d_model,
        n_heads=args.n_heads,
        d_head=args.d_head,
        d_mlp=args.d_mlp,
    )
    if args.resume:
        recipe = None  # the stored recipe rules; only --steps may extend it
    out = args.out or ROOT / "runs" / f"p{args.p}-seed{args.seed}"
    schedule = Schedule(eval_every=args.eval_every, save_every=args.save_every)
    train(
        recipe,
        out,
        resume=args.resume,
        threads=args.threads,
        device=args.device,
        schedule=schedule,
        progress=not args.quiet,
        keep_snapshots=args.keep_snapshots or None,
        steps=args.steps,
        until_grok=args.until_grok,
    )
    print(out)


if __name__ == "__main__":
    main()
