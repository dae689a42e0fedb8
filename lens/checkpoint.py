"""Reading and writing checkpoints, treating every file as untrusted.

Two formats are read, both converted to the canonical weights of :mod:`lens.config`:

1. The project's own *run directory*: ``config.json`` (p, dimensions, split, recipe,
   provenance) beside ``model.safetensors`` (canonical names and shapes). A bare
   ``.safetensors`` file is read too, with the ``config.json`` beside it when present.
2. The original *progress-measures* layout of Nanda et al. (a torch pickle, tensors often
   saved on CUDA): a dict with ``state_dicts`` (the last one is used) or ``model``, and a
   ``config`` holding p. A bare state dict with the same keys is accepted as well.

Safety: torch files are read without torch, by :mod:`lens.torchfile` (only torch's zip
format, since torch 1.6; an unpickler that resolves nothing outside plain tensors and
containers, and a byte budget of ``MAX_BYTES`` on what it inflates and builds) after a size
check; safetensors files cannot hold code. Every key, shape, dtype and value is then checked.
Any failure raises :class:`CheckpointError`, whose one-line message names the file, the
key, and what was expected versus found.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import torchfile
from .config import WEIGHT_NAMES, ModelConfig
from .task import is_prime

MAX_BYTES = 256 * 1024 * 1024  # far above any sensible one-layer model (p = 113 is 1.7 MB)
FORMAT = "grokking-lens/1"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
HISTORY_FILE = "history.json"
# A run directory (``python -m lens.train``) also holds these; named here, where loading lives,
# so that reading a run never imports the trainer (or torch).
STATE_FILE = "train_state.safetensors"
SNAPSHOT_DIR = "snapshots"


class CheckpointError(ValueError):
    """A checkpoint was refused. ``str(err)`` is one line: file, key, expected vs found."""

    def __init__(self, path: Path | str, key: str, problem: str):
        self.path, self.key, self.problem = str(path), key, problem
        super().__init__(f"{path}: {key}: {problem}")


@dataclass
class Checkpoint:
    """Validated canonical weights (float32 numpy) and what is known about them."""

    cfg: ModelConfig
    weights: dict[str, np.ndarray]
    split: dict
    source: str
    format: str
    meta: dict = field(default_factory=dict)

    @property
    def p(self) -> int:
        return self.cfg.p


# ---------------------------------------------------------------- validation


def validate_weights(
    raw: dict[str, object], path: Path | str, p_declared: int | None = None
) -> tuple[ModelConfig, dict[str, np.ndarray]]:
    """Check canonical weights and return them as float32 arrays with their config.

    ``p_declared`` is a p stated elsewhere in the file (a config); it must agree with W_U.
    """
    for name in WEIGHT_NAMES:
        if name not in raw:
            raise CheckpointError(path, name, "missing (expected a weight tensor)")
    arrays: dict[str, np.ndarray] = {}
    for name in WEIGHT_NAMES:
        arr = _as_array(raw[name], path, name)
        if not np.issubdtype(arr.dtype, np.floating):
            raise CheckpointError(path, name, f"expected a float tensor, found dtype {arr.dtype}")
        arrays[name] = arr
    expected_ndim = {"b_in": 1, "b_out": 1, "W_Q": 3, "W_K": 3, "W_V": 3, "W_O": 3}
    for name, arr in arrays.items():
        nd = expected_ndim.get(name, 2)
        if arr.ndim != nd:
            raise CheckpointError(path, name, f"expected {nd} dimensions, found shape {arr.shape}")
    cfg = ModelConfig.from_shapes({k: v.shape for k, v in arrays.items()})
    if cfg.p < 2 or not is_prime(cfg.p):
        raise CheckpointError(path, "W_U", f"expected p (its columns) to be a prime, found {cfg.p}")
    if p_declared is not None and p_declared != cfg.p:
        raise CheckpointError(
            path, "config.p", f"expected p = {cfg.p} (from the weights), found {p_declared}"
        )
    if cfg.n_ctx != 3:
        raise CheckpointError(path, "W_pos", f"expected 3 positions, found shape {arrays['W_pos'].shape}")
    for name, shape in cfg.weight_shapes().items():
        if arrays[name].shape != shape:
            raise CheckpointError(path, name, f"expected shape {shape}, found {arrays[name].shape}")
    for name, arr in arrays.items():
        # Narrowed first, checked after: a float64 value beyond float32's range (1e300, say)
        # becomes inf here and is refused, instead of passing the check and then overflowing.
        with np.errstate(over="ignore"):
            arr = np.ascontiguousarray(arr, dtype=np.float32)
        if not np.isfinite(arr).all():
            bad = int((~np.isfinite(arr)).sum())
            raise CheckpointError(path, name, f"expected finite float32 values, found {bad} NaN/Inf")
        arrays[name] = arr
    return cfg, arrays


def _as_array(x: object, path: Path | str, key: str) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    # Files arrive as numpy (lens.torchfile, safetensors); a torch tensor can only come from a
    # caller that already imported torch, so look it up rather than import it (~1 s, ~200 MB).
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        if x.is_complex() or not x.is_floating_point():
            raise CheckpointError(path, key, f"expected a float tensor, found dtype {x.dtype}")
        return x.detach().to("cpu", torch.float32).numpy()
    raise CheckpointError(path, key, f"expected a tensor, found {type(x).__name__}")


def _as_float32(x: object, path: Path | str, key: str) -> np.ndarray:
    """A float tensor of a torch file as float32, narrowed *before* the finite check (as
    torch's ``.to(float32)`` was): a float64 1e300 becomes inf and is refused."""
    arr = _as_array(x, path, key)
    if not np.issubdtype(arr.dtype, np.floating):
        raise CheckpointError(path, key, f"expected a float tensor, found dtype {arr.dtype}")
    with np.errstate(over="ignore"):
        return arr.astype(np.float32, copy=False)


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(path, "file", "expected checkpoint data, found an empty file")
    if size > MAX_BYTES:
        raise CheckpointError(path, "file", f"expected at most {MAX_BYTES} bytes, found {size}")


# ---------------------------------------------------------------- loading


def load(path: str | os.PathLike) -> Checkpoint:
    """Load a run directory, a ``.safetensors`` file, or an original torch checkpoint."""
    path = Path(path)
    if path.is_dir():
        return _load_run_dir(path)
    if not path.is_file():
        raise CheckpointError(path, "file", "expected a run directory or a checkpoint file, found nothing")
    _check_size(path)
    with open(path, "rb") as fh:
        head = fh.read(8)
    # A safetensors file starts with an 8-byte little-endian header length, then '{'.
    if path.suffix == ".safetensors":
        cfg_path = path.parent / CONFIG_FILE
        meta = _read_config(cfg_path) if cfg_path.is_file() else {}
        return _load_safetensors(path, meta)
    if head[:2] == b"PK" or head[:1] == b"\x80":
        return _load_original(path)
    raise CheckpointError(
        path,
        "file",
        "expected a run directory, a .safetensors file or a torch checkpoint, found unknown bytes",
    )


def _read_config(cfg_path: Path) -> dict:
    _check_size(cfg_path)
    try:
        meta = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(cfg_path, "json", f"expected valid JSON, found {err}") from None
    if not isinstance(meta, dict):
        raise CheckpointError(cfg_path, "json", f"expected an object, found {type(meta).__name__}")
    return meta


def _load_run_dir(path: Path) -> Checkpoint:
    cfg_path, w_path = path / CONFIG_FILE, path / WEIGHTS_FILE
    for f in (cfg_path, w_path):
        if not f.is_file():
            raise CheckpointError(f, "file", "expected this file in the run directory, found nothing")
    meta = _read_config(cfg_path)
    _check_size(w_path)
    ck = _load_safetensors(w_path, meta)
    ck.source = str(path)
    return ck


def _load_safetensors(path: Path, meta: dict) -> Checkpoint:
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    try:
        raw = st_load(path.read_bytes())
    except (SafetensorError, ValueError, TypeError, OverflowError) as err:
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(
            path, "safetensors", f"expected a valid safetensors file, found: {msg}"
        ) from None
    model_meta = meta.get("model", {}) if isinstance(meta.get("model", {}), dict) else {}
    p_declared = model_meta.get("p")
    if p_declared is not None and not isinstance(p_declared, int):
        raise CheckpointError(path, "config.p", f"expected an integer, found {p_declared!r}")
    cfg, weights = validate_weights(raw, path, p_declared)
    for dim in ("d_model", "n_heads", "d_head", "d_mlp"):
        if dim in model_meta and model_meta[dim] != getattr(cfg, dim):
            raise CheckpointError(
                path,
                f"config.{dim}",
                f"expected {getattr(cfg, dim)} (from the weights), found {model_meta[dim]!r}",
            )
    split = _check_split(meta.get("split"), path)
    return Checkpoint(cfg, weights, split, str(path), "run", meta)


def _check_split(split: object, path: Path) -> dict:
    """The split record, checked now so a bad one is refused here rather than crashing
    later in ``task.split_mask`` (a seeded split without a seed was a KeyError there).

    Absent or empty means the original 30% split, as before.
    """
    if split is None or split == {}:
        return {"kind": "original", "frac": 0.3}
    if not isinstance(split, dict):
        raise CheckpointError(path, "config.split", f"expected an object, found {type(split).__name__}")
    kind = split.get("kind", "original")
    if kind not in ("original", "seeded"):
        raise CheckpointError(path, "config.split.kind", f"expected 'original' or 'seeded', found {kind!r}")
    frac = split.get("frac", 0.3)
    if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac < 1:
        raise CheckpointError(path, "config.split.frac", f"expected a number in (0, 1), found {frac!r}")
    out = {"kind": kind, "frac": float(frac)}
    if kind == "seeded":
        seed = split.get("seed")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise CheckpointError(
                path, "config.split.seed", f"expected a non-negative integer, found {seed!r}"
            )
        out["seed"] = seed
    return out


def _load_original(path: Path) -> Checkpoint:
    try:
        obj = torchfile.load(path, max_bytes=MAX_BYTES)
    except torchfile.TorchFileError as err:  # already one line
        raise CheckpointError(
            path, "pickle", f"expected a torch checkpoint of plain tensors; {err}"
        ) from None
    if not isinstance(obj, dict):
        raise CheckpointError(path, "top level", f"expected a dict, found {type(obj).__name__}")
    if "state_dicts" in obj:
        sds = obj["state_dicts"]
        if not isinstance(sds, (list, tuple)) or not sds:
            raise CheckpointError(path, "state_dicts", "expected a non-empty list of state dicts")
        sd, which = sds[-1], "state_dicts[-1]"
    elif "model" in obj:
        sd, which = obj["model"], "model"
    else:
        sd, which = obj, "state dict"
    if not isinstance(sd, dict):
        raise CheckpointError(path, which, f"expected a state dict, found {type(sd).__name__}")
    config = obj.get("config") if isinstance(obj.get("config"), dict) else {}
    raw = _original_to_canonical(sd, path)
    p_declared = config.get("p")
    if p_declared is not None and not isinstance(p_declared, int):
        raise CheckpointError(path, "config.p", f"expected an integer, found {p_declared!r}")
    cfg, weights = validate_weights(raw, path, p_declared)
    frac = config.get("frac_train", 0.3)
    frac = float(frac) if isinstance(frac, (int, float)) and 0 < frac < 1 else 0.3
    meta = {"config": {k: v for k, v in config.items() if isinstance(v, (int, float, str, bool))}}
    for key in ("train_losses", "test_losses", "epochs"):
        if isinstance(obj.get(key), (list, tuple)):
            meta[key] = [float(v) for v in obj[key] if isinstance(v, (int, float))]
    return Checkpoint(cfg, weights, {"kind": "original", "frac": frac}, str(path), "original", meta)


ORIGINAL_KEYS = {
    "embed.W_E": "W_E",
    "pos_embed.W_pos": "W_pos",
    "blocks.0.attn.W_Q": "W_Q",
    "blocks.0.attn.W_K": "W_K",
    "blocks.0.attn.W_V": "W_V",
    "blocks.0.attn.W_O": "W_O",
    "blocks.0.mlp.W_in": "W_in",
    "blocks.0.mlp.b_in": "b_in",
    "blocks.0.mlp.W_out": "W_out",
    "blocks.0.mlp.b_out": "b_out",
    "unembed.W_U": "W_U",
}


def _original_to_canonical(sd: dict, path: Path) -> dict[str, np.ndarray]:
    """Map the progress-measures layout onto canonical names, checking as it goes.

    Original shapes: W_E [d_model, p+1]; W_Q/K/V [heads, d_head, d_model];
    W_O [d_model, heads*d_head] (heads flattened head-major); W_in [d_mlp, d_model];
    W_out [d_model, d_mlp]; W_U [d_model, p+1] whose last column (the "=" class) is dropped.
    """
    a: dict[str, np.ndarray] = {}
    for orig, canon in ORIGINAL_KEYS.items():
        if orig not in sd:
            raise CheckpointError(path, orig, "missing (expected a weight tensor)")
        arr = _as_float32(sd[orig], path, orig)
        expected_ndim = 3 if canon in ("W_Q", "W_K", "W_V") else 1 if canon.startswith("b_") else 2
        if arr.ndim != expected_ndim:
            raise CheckpointError(path, orig, f"expected {expected_ndim} dimensions, found shape {arr.shape}")
        a[canon] = arr
    n_heads, d_head, d_model = a["W_Q"].shape
    if a["W_O"].shape != (d_model, n_heads * d_head):
        raise CheckpointError(
            path, "blocks.0.attn.W_O", f"expected shape {(d_model, n_heads * d_head)}, found {a['W_O'].shape}"
        )
    if a["W_U"].shape[1] != a["W_E"].shape[1]:
        raise CheckpointError(
            path,
            "unembed.W_U",
            f"expected {a['W_E'].shape[1]} columns like embed.W_E, found {a['W_U'].shape[1]}",
        )
    return {
        "W_E": a["W_E"].T,
        "W_pos": a["W_pos"],
        "W_Q": a["W_Q"].transpose(0, 2, 1),
        "W_K": a["W_K"].transpose(0, 2, 1),
        "W_V": a["W_V"].transpose(0, 2, 1),
        "W_O": a["W_O"].T.reshape(n_heads, d_head, d_model),
        "W_in": a["W_in"].T,
        "b_in": a["b_in"],
        "W_out": a["W_out"].T,
        "b_out": a["b_out"],
        "W_U": a["W_U"][:, :-1],
    }


# ---------------------------------------------------------------- writing


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``.

    A kill at any moment leaves either the old file or the new one, never a torn file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_run(
    run_dir: str | os.PathLike,
    weights: dict[str, np.ndarray],
    split: dict,
    recipe: dict | None = None,
    provenance: dict | None = None,
) -> Path:
    """Write a run directory: ``model.safetensors`` then ``config.json``, each atomically."""
    from safetensors.numpy import save as st_save

    run_dir = Path(run_dir)
    cfg, arrays = validate_weights(weights, run_dir / WEIGHTS_FILE)
    meta = {
        "format": FORMAT,
        "model": cfg.to_dict(),
        "split": split,
        "recipe": recipe or {},
        "provenance": provenance or {},
    }
    atomic_write_bytes(run_dir / WEIGHTS_FILE, st_save(arrays))
    atomic_write_bytes(run_dir / CONFIG_FILE, (json.dumps(meta, indent=2) + "\n").encode())
    return run_dir
