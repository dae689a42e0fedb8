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

Integrity: :func:`save_run` records the sha256 of the bytes of ``model.safetensors`` in
``config.json`` (``weights_sha256``), so a flipped bit anywhere in the weights is refused. A
run saved before the field existed still loads; a present but wrong one never does (it is
against damage, not forgery). A ``.zip`` of a run directory is read by :func:`load_zip`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import archive, torchfile
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
# save_run's commit protocol (see there): the new weights wait here until config.json,
# which names their checksum, is in place.
PENDING_WEIGHTS_FILE = WEIGHTS_FILE + ".next"
CHECKSUM_KEY = "weights_sha256"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class CheckpointError(ValueError):
    """A checkpoint was refused. ``str(err)`` is one line: file, key, expected vs found."""

    def __init__(self, path: Path | str, key: str, problem: str):
        self.path, self.key, self.problem = str(path), key, problem
        # One line, and a short one, whatever a hostile file put in a name or a value.
        msg = f"{path}: {key}: {problem[:300] + '…' if len(problem) > 300 else problem}"
        super().__init__(msg.replace("\r", "\\r").replace("\n", "\\n"))


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
    """Load a run directory, a ``.safetensors`` file, an original torch checkpoint, or a
    ``.zip`` of a run directory (:func:`load_zip`)."""
    return _guarded(_load, Path(path))


def _guarded(fn, path: Path, *args) -> Checkpoint:
    """``fn(path, *args)``, with the errors no check can foresee turned into refusals too."""
    try:
        return fn(path, *args)
    except RecursionError:  # a value nested past Python's limit, met wherever it is
        raise CheckpointError(
            path, "file", "expected values nested a few levels deep, found nesting past the recursion limit"
        ) from None
    except OSError as err:  # unreadable, vanished, a folder where a file belongs...
        raise CheckpointError(
            err.filename or path, "file", f"expected a readable file, found: {err.strerror or err}"
        ) from None


def _load(path: Path) -> Checkpoint:
    if path.is_dir():
        return _load_run_dir(path)
    if not path.is_file():
        raise CheckpointError(path, "file", "expected a run directory or a checkpoint file, found nothing")
    _check_size(path)
    if path.suffix.lower() == ".zip":
        return load_zip(path)
    with open(path, "rb") as fh:
        head = fh.read(8)
    # A safetensors file starts with an 8-byte little-endian header length, then '{'.
    if path.suffix == ".safetensors":
        cfg_path = path.parent / CONFIG_FILE
        meta = _read_config(cfg_path) if cfg_path.is_file() else {}
        # The config beside it describes model.safetensors (its checksum too), not a file renamed.
        data = _verified_weights(path, meta) if path.name == WEIGHTS_FILE else path.read_bytes()
        return _load_safetensors(path, meta, data)
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
    except RecursionError:
        raise CheckpointError(
            cfg_path, "json", "expected JSON nested a few levels deep, found nesting past the recursion limit"
        ) from None
    if not isinstance(meta, dict):
        raise CheckpointError(cfg_path, "json", f"expected an object, found {type(meta).__name__}")
    return meta


def _load_run_dir(path: Path) -> Checkpoint:
    cfg_path, w_path = path / CONFIG_FILE, path / WEIGHTS_FILE
    if not cfg_path.is_file():
        raise CheckpointError(cfg_path, "file", "expected this file in the run directory, found nothing")
    meta = _read_config(cfg_path)
    try:
        data = _verified_weights(w_path, meta)
    except CheckpointError:
        # A trainer may have committed a new save between our two reads (config.json first,
        # then the weights): read the pair once more if config.json has changed meanwhile.
        again = _read_config(cfg_path)
        if again == meta:
            raise
        meta, data = again, _verified_weights(w_path, again)
    ck = _load_safetensors(w_path, meta, data)
    ck.source = str(path)
    return ck


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verified_weights(w_path: Path, meta: dict) -> bytes:
    """The bytes of ``w_path``, checked against the checksum in ``meta`` (none: a run saved
    before checksums). When only ``model.safetensors.next`` matches, a save was killed between
    its commit and its last rename (:func:`save_run`): that file is the run's weights."""
    expected = meta.get(CHECKSUM_KEY)
    if expected is not None and (not isinstance(expected, str) or not _SHA256.fullmatch(expected)):
        raise CheckpointError(
            w_path.parent / CONFIG_FILE,
            f"config.{CHECKSUM_KEY}",
            f"expected 64 lowercase hex digits, found {str(expected)[:80]!r}",
        )
    data = None
    if w_path.is_file():
        _check_size(w_path)
        data = w_path.read_bytes()
        if expected is None or _sha256(data) == expected:
            return data
    pending = w_path.with_name(PENDING_WEIGHTS_FILE)
    if expected is not None and pending.is_file() and 0 < pending.stat().st_size <= MAX_BYTES:
        staged = pending.read_bytes()
        if _sha256(staged) == expected:
            return staged
    if data is None:
        raise CheckpointError(w_path, "file", "expected this file in the run directory, found nothing")
    raise CheckpointError(
        w_path,
        f"config.{CHECKSUM_KEY}",
        f"expected the weights to hash to sha256 {expected[:16]}…, found {_sha256(data)[:16]}… "
        "(the file is damaged, or is not the one this config.json describes)",
    )


def _load_safetensors(path: Path, meta: dict, data: bytes | None = None) -> Checkpoint:
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    try:
        raw = st_load(path.read_bytes() if data is None else data)
    except (SafetensorError, ValueError, TypeError, OverflowError) as err:
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(
            path, "safetensors", f"expected a valid safetensors file, found: {msg}"
        ) from None
    except KeyError as err:  # safetensors.numpy names a dtype numpy lacks (BF16, F8_E4M3...)
        raise CheckpointError(path, "safetensors", f"expected float16/32/64, found dtype {err}") from None
    model_meta = meta.get("model", {})
    if not isinstance(model_meta, dict):
        raise CheckpointError(path, "config.model", f"expected an object, found {type(model_meta).__name__}")
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
    # A seeded split needs its seed; an original one may name its run's seed (0 if absent).
    if kind == "seeded" or "seed" in split:
        out["seed"] = _check_seed(split.get("seed"), path, "config.split.seed")
    return out


def _check_seed(seed: object, path: Path, key: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise CheckpointError(path, key, f"expected a non-negative integer, found {seed!r}")
    return seed


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
    split = {"kind": "original", "frac": frac}
    # Their gen_train_test shuffles with random.seed(config['seed']): the split is the run's
    # own, not always seed 0's (the published run's seed is 0).
    if "seed" in config:
        split["seed"] = _check_seed(config["seed"], path, "config.seed")
    meta = {"config": {k: v for k, v in config.items() if isinstance(v, (int, float, str, bool))}}
    for key in ("train_losses", "test_losses", "epochs"):
        if isinstance(obj.get(key), (list, tuple)):
            meta[key] = [float(v) for v in obj[key] if isinstance(v, (int, float))]
    return Checkpoint(cfg, weights, split, str(path), "original", meta)


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
    """Write a run directory; ``config.json`` records the sha256 of ``model.safetensors``.

    A kill at any instant leaves a run that :func:`load` reads, old or new: two files cannot
    be replaced at once, so ``config.json`` commits. The weights go to ``.next``, config.json
    naming their checksum replaces the old one, then they are renamed into place; killed in
    between, the loader reads ``.next``, and the next save finishes the rename. Each step is atomic.
    """
    from safetensors.numpy import save as st_save

    run_dir = Path(run_dir)
    cfg, arrays = validate_weights(weights, run_dir / WEIGHTS_FILE)
    data = st_save(arrays)
    meta = {
        "format": FORMAT,
        CHECKSUM_KEY: _sha256(data),
        "model": cfg.to_dict(),
        "split": split,
        "recipe": recipe or {},
        "provenance": provenance or {},
    }
    _finish_pending_save(run_dir)
    atomic_write_bytes(run_dir / PENDING_WEIGHTS_FILE, data)
    atomic_write_bytes(run_dir / CONFIG_FILE, (json.dumps(meta, indent=2) + "\n").encode())
    os.replace(run_dir / PENDING_WEIGHTS_FILE, run_dir / WEIGHTS_FILE)
    return run_dir


def _finish_pending_save(run_dir: Path) -> None:
    """Complete (or drop) a save that a kill interrupted: ``.next`` is renamed into place if
    ``config.json`` already names its checksum, and deleted otherwise."""
    pending = run_dir / PENDING_WEIGHTS_FILE
    if not pending.is_file():
        return
    try:
        committed = _read_config(run_dir / CONFIG_FILE).get(CHECKSUM_KEY)
    except (CheckpointError, OSError):
        committed = None
    if committed is not None and committed == _sha256(pending.read_bytes()):
        os.replace(pending, run_dir / WEIGHTS_FILE)
    else:
        pending.unlink()


def remove_stale_temporaries(run_dir: str | os.PathLike) -> list[Path]:
    """Delete what :func:`atomic_write_bytes` leaves when killed (``.NAME.XXXXXXXX``) in a run
    and its snapshots, and return them. Only for a run no other process is writing."""
    names = (CONFIG_FILE, WEIGHTS_FILE, PENDING_WEIGHTS_FILE, HISTORY_FILE, STATE_FILE)
    folders = [Path(run_dir), *sorted((Path(run_dir) / SNAPSHOT_DIR).glob("step-*"))]
    stale = [
        f
        for d in folders
        for f in d.glob(".*")
        if f.is_file() and any(f.name.startswith(f".{n}.") and len(f.name) > len(n) + 2 for n in names)
    ]
    for f in stale:
        f.unlink(missing_ok=True)
    return stale


def record_checksum(run_dir: str | os.PathLike) -> str:
    """Write the sha256 of a run's ``model.safetensors`` into its ``config.json`` (a run saved
    before checksums) and return it; the weights stay as they are. The run must load first, so
    a checksum already present must match: a damaged file is never blessed."""
    run_dir = Path(run_dir)
    load(run_dir)
    meta = _read_config(run_dir / CONFIG_FILE)
    digest = _sha256((run_dir / WEIGHTS_FILE).read_bytes())
    if meta.get(CHECKSUM_KEY) != digest:
        rest = {k: v for k, v in meta.items() if k not in ("format", CHECKSUM_KEY)}
        meta = {"format": meta.get("format", FORMAT), CHECKSUM_KEY: digest, **rest}
        atomic_write_bytes(run_dir / CONFIG_FILE, (json.dumps(meta, indent=2) + "\n").encode())
    return digest


# ---------------------------------------------------------------- zips of run directories


def load_zip(
    path: str | os.PathLike, max_entries: int = archive.MAX_ENTRIES, max_bytes: int = MAX_BYTES
) -> Checkpoint:
    """Load a zip of a run directory (``config.json`` and ``model.safetensors`` at its top or in
    one folder), extracted by :func:`extract_zip` into a temporary folder deleted before this
    returns. A refusal names the archive and member: ``run.zip!run/model.safetensors: ...``."""
    return _guarded(_load_zip, Path(path), max_entries, max_bytes)


def _load_zip(path: Path, max_entries: int, max_bytes: int) -> Checkpoint:
    with tempfile.TemporaryDirectory(prefix="lens-zip-") as tmp:
        run = extract_zip(path, tmp, max_entries, max_bytes)
        try:
            ck = _load_run_dir(run)
        except CheckpointError as err:
            inside = os.path.relpath(err.path, tmp) if err.path.startswith(tmp) else err.path
            raise CheckpointError(f"{path}!{inside}", err.key, err.problem) from None
    ck.source = str(path)
    return ck


def extract_zip(
    path: str | os.PathLike,
    dest: str | os.PathLike,
    max_entries: int = archive.MAX_ENTRIES,
    max_bytes: int = MAX_BYTES,
) -> Path:
    """Extract a zip of a run directory into the folder ``dest`` (safely: caps, paths, links
    and bombs are refused before anything inflates, see :mod:`lens.archive`) and return the
    run directory inside it: ``dest`` itself, or its one top-level folder."""
    path = Path(path)
    _check_size(path)
    try:
        archive.extract(path, dest, max_entries, max_bytes)
    except archive.ArchiveError as err:
        raise CheckpointError(path, "zip", str(err)) from None
    return _run_dir_in(Path(dest), path)


def _run_dir_in(root: Path, path: Path) -> Path:
    if (root / CONFIG_FILE).is_file() or (root / WEIGHTS_FILE).is_file():
        return root
    top = sorted(root.iterdir())
    if len(top) == 1 and top[0].is_dir() and (top[0] / CONFIG_FILE).is_file():
        return top[0]
    names = ", ".join(repr(p.name[:40]) for p in top[:5]) or "nothing"
    raise CheckpointError(
        path,
        "zip",
        f"expected {CONFIG_FILE} and {WEIGHTS_FILE} at the top of the archive or inside one folder, found {names}",
    )
