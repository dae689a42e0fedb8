"""A seeded corpus of malformed checkpoints, for ``tests/test_fuzz_loader.py`` and ``bench/fuzz.py``.

``build(root, marker)`` writes every case under ``root`` and returns them as :class:`Case`
(category, name, path to hand to :func:`lens.checkpoint.load`). The same seed writes the same
bytes. Each case is derived from a real file: a torch ``.pth`` in the original
progress-measures layout (written by ``torch.save``), a run directory (``save_run``, with its
weights checksum), its ``model.safetensors`` alone, and a zip of the run directory, all of a
tiny p = 13 model. Every case must be refused.

Categories (see :data:`CATEGORIES`): random bytes; truncations; bit flips (only where a
format can notice one: inside the zip entries torch's loader reads, whose CRC covers them;
anywhere in a run directory's weights, which its checksum covers; in a bare safetensors
header; in a zip's compressed stream); a wrong dtype; a wrong shape; an absurd declared
size; pickles whose REDUCE, GLOBAL, STACK_GLOBAL, INST, OBJ, NEWOBJ, BUILD, EXT or
persistent-id opcodes try to run code (each would create ``marker`` if it ran); pickles and
JSON nested 10 000 deep and more; zip bombs, ``..`` and absolute member paths, symlinks and
other hostile zips of run directories; safetensors headers that lie; config.json files that
are not JSON or disagree with the weights.

The bytes are assembled by ``tests/fuzz_formats.py``. Nothing here runs a payload. Imported
as ``fuzz_corpus`` with ``tests/`` on ``sys.path`` (pytest puts it there; ``bench/fuzz.py`` too).
"""

from __future__ import annotations

import json
import random
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fuzz_formats import (
    central_record,
    deep_dict,
    deep_list,
    deep_tuple,
    deflated_zeros,
    flip,
    g,
    in_regions,
    laughs,
    pickle_payloads,
    raw_zip,
    read_regions,
    safetensors_bytes,
    st_header,
    st_raw,
    torch_bytes,
    torch_zip,
    u,
    with_data_pkl,
    zeros_crc,
    zip_entries,
)
from tiny_models import sinusoid_weights

CATEGORIES = (
    "random_bytes",
    "truncated",
    "bit_flip",
    "wrong_dtype",
    "wrong_shape",
    "absurd_size",
    "pickle_payload",
    "deep_nesting",
    "hostile_zip",
    "safetensors_lies",
    "bad_config",
)
P = 13
SPLIT = {"kind": "seeded", "frac": 0.3, "seed": 0}
OVER_CAP = 256 * 1024 * 1024 + 1  # lens.checkpoint.MAX_BYTES + 1


@dataclass(frozen=True)
class Case:
    category: str
    name: str
    path: Path


# ---------------------------------------------------------------- the real files


def weights() -> dict[str, np.ndarray]:
    return sinusoid_weights(P, [2, 5], seed=1)


def original_layout(w: dict[str, np.ndarray]) -> dict:
    """Canonical weights in the progress-measures layout (as torch tensors)."""
    import torch

    h, d, dh = w["W_Q"].shape
    t = torch.tensor
    return {
        "embed.W_E": t(w["W_E"].T.copy()),
        "pos_embed.W_pos": t(w["W_pos"]),
        "blocks.0.attn.W_Q": t(w["W_Q"].transpose(0, 2, 1).copy()),
        "blocks.0.attn.W_K": t(w["W_K"].transpose(0, 2, 1).copy()),
        "blocks.0.attn.W_V": t(w["W_V"].transpose(0, 2, 1).copy()),
        "blocks.0.attn.W_O": t(w["W_O"].reshape(h * dh, d).T.copy()),
        "blocks.0.mlp.W_in": t(w["W_in"].T.copy()),
        "blocks.0.mlp.b_in": t(w["b_in"]),
        "blocks.0.mlp.W_out": t(w["W_out"].T.copy()),
        "blocks.0.mlp.b_out": t(w["b_out"]),
        "unembed.W_U": t(np.concatenate([w["W_U"], np.ones((d, 1), np.float32)], axis=1)),
    }


def pth_of(sd: dict, p: int | None = P, **extra) -> bytes:
    obj = {"state_dicts": [sd], "config": {"p": p, "frac_train": 0.3, "seed": 0}, **extra}
    return torch_bytes(obj)


# ---------------------------------------------------------------- the corpus


class _Writer:
    def __init__(self, root: Path):
        self.root, self.cases = root, []

    def file(self, category: str, name: str, data: bytes) -> Path:
        path = self.root / category / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.cases.append(Case(category, name, path))
        return path

    def run(self, category: str, name: str, weights: bytes | None, config: dict | bytes | None) -> Path:
        """A run directory; ``config`` as an object gets the sha256 of ``weights`` unless it
        already says something about it."""
        path = self.root / category / name
        path.mkdir(parents=True)
        if weights is not None:
            (path / "model.safetensors").write_bytes(weights)
        if isinstance(config, dict):
            config = dict(config)
            if weights is not None and "weights_sha256" not in config:
                import hashlib

                config["weights_sha256"] = hashlib.sha256(weights).hexdigest()
            config = {k: v for k, v in config.items() if v is not None}
            config = (json.dumps(config, indent=2) + "\n").encode()
        if config is not None:
            (path / "config.json").write_bytes(config)
        self.cases.append(Case(category, name, path))
        return path

    def sparse(self, category: str, name: str, size: int, head: bytes = b"") -> Path:
        path = self.file(category, name, head)
        with open(path, "r+b") as fh:
            fh.truncate(size)  # a hole: no disk, no time
        return path


def build(root: str | Path, marker: str | Path, seed: int = 0) -> list[Case]:
    """Write the corpus under ``root`` (absent or empty) and return its cases.

    ``marker`` is the file every payload tries to create (its folder must exist, and stay
    empty); hostile zip members aim at that folder too. Deterministic for a seed."""
    import hashlib

    import torch

    from lens.checkpoint import save_run

    root, marker = Path(root), Path(marker)
    rng = random.Random(seed)
    w = _Writer(root)
    good_w = weights()
    good_sd = original_layout(good_w)
    good_pth = pth_of(good_sd)
    run = save_run(root / "_good" / "run", good_w, SPLIT)
    good_st = (run / "model.safetensors").read_bytes()
    good_cfg = json.loads((run / "config.json").read_text())  # its checksum is good_st's
    fresh = {k: v for k, v in good_cfg.items() if k != "weights_sha256"}  # gets the right checksum
    legacy = {**fresh, "weights_sha256": None}  # no checksum at all: a run saved before them
    hdr, data = st_header(good_st)

    def run_zip(files: dict[str, bytes], folder: str = "run/") -> bytes:
        return raw_zip([{"name": folder + k, "data": v} for k, v in files.items()])

    good_files = {"config.json": (run / "config.json").read_bytes(), "model.safetensors": good_st}
    good_zip = run_zip(good_files)

    # ---- random bytes, some behind the magic bytes of each format
    c = "random_bytes"
    heads = [b"", b"PK\x03\x04", b"PK\x05\x06", b"\x80\x02", b"\x80\x05", b"{", b"\x08" + bytes(7) + b"{"]
    for i in range(24):
        n = rng.choice([1, 7, 100, 4096, 65536, 300_000])
        suffix = (".pth", ".safetensors", ".zip", ".pt")[i % 4]
        w.file(c, f"random-{i:02d}{suffix}", heads[i % len(heads)] + rng.randbytes(n))

    # ---- truncations
    c = "truncated"
    for _ in range(12):
        cut = rng.randrange(1, len(good_pth))
        w.file(c, f"pth-at-{cut}.pth", good_pth[:cut])
    for _ in range(6):
        cut = rng.randrange(0, len(good_st))
        w.run(c, f"run-weights-at-{cut}", good_st[:cut], good_cfg)
    for _ in range(6):
        cut = rng.randrange(1, len(good_st))
        w.file(c, f"bare-at-{cut}.safetensors", good_st[:cut])
    for _ in range(6):
        cut = rng.randrange(1, len(good_zip))
        w.file(c, f"zip-at-{cut}.zip", good_zip[:cut])

    # ---- bit flips, where the format can notice them
    c = "bit_flip"
    regions = read_regions(good_pth)
    for i in range(20):
        flips = [in_regions(regions, rng) for _ in range(rng.choice([1, 1, 2, 8]))]
        w.file(c, f"pth-{i:02d}-at-{flips[0]}.pth", flip(good_pth, flips, rng))
    for i in range(20):  # anywhere in the weights file: the checksum in config.json covers it all
        flips = [rng.randrange(len(good_st)) for _ in range(rng.choice([1, 1, 1, 3]))]
        w.run(c, f"run-{i:02d}-at-{flips[0]}", flip(good_st, flips, rng), good_cfg)
    header_end = 8 + struct.unpack("<Q", good_st[:8])[0]
    for i in range(10):  # a bare file has no checksum: only its header can tell
        pos = rng.randrange(header_end)
        w.file(c, f"bare-header-{i:02d}-at-{pos}.safetensors", flip(good_st, [pos], rng))
    stream = good_zip.index(b"run/model.safetensors") + len("run/model.safetensors")
    for i in range(5):  # in the zip's deflate stream: inflating or its CRC fails
        pos = stream + rng.randrange(2000)
        w.file(c, f"zip-stream-{i}-at-{pos}.zip", flip(good_zip, [pos], rng))
    for i in range(5):  # flipped before zipping: the zip is sound, the checksum is not
        flipped = flip(good_st, [rng.randrange(len(good_st))], rng)
        w.file(c, f"zip-weights-{i}.zip", run_zip({**good_files, "model.safetensors": flipped}))

    # ---- wrong dtypes
    c = "wrong_dtype"
    for key, dt in [
        ("embed.W_E", torch.int64),
        ("blocks.0.mlp.W_in", torch.int32),
        ("unembed.W_U", torch.uint8),
    ]:
        w.file(c, f"pth-{key}-{str(dt)[6:]}.pth", pth_of({**good_sd, key: good_sd[key].to(dt)}))
    w.file(c, "pth-bool.pth", pth_of({**good_sd, "blocks.0.mlp.b_in": good_sd["blocks.0.mlp.b_in"] > 0}))
    cplx = good_sd["blocks.0.mlp.b_out"].to(torch.cfloat)
    w.file(c, "pth-complex.pth", pth_of({**good_sd, "blocks.0.mlp.b_out": cplx}))
    big = good_sd["blocks.0.mlp.W_out"].double()
    big[0, 0] = 1e300
    w.file(c, "pth-float64-beyond-float32.pth", pth_of({**good_sd, "blocks.0.mlp.W_out": big}))
    for key, dt in [
        ("W_E", np.int32),
        ("W_in", np.int64),
        ("W_U", np.uint8),
        ("b_in", np.bool_),
        ("W_Q", np.int8),
    ]:
        arrays = {**good_w, key: good_w[key].astype(dt)}
        w.run(c, f"run-{key}-{np.dtype(dt).name}", safetensors_bytes(arrays), fresh)
    for dtype, width in (("BF16", 2), ("F8_E4M3", 1)):  # safetensors dtypes numpy cannot hold
        h = json.loads(json.dumps(hdr))
        a, b = h["b_in"]["data_offsets"]
        h["b_in"] = {"dtype": dtype, "shape": [(b - a) // width], "data_offsets": [a, b]}
        w.run(c, f"run-b_in-{dtype}", st_raw(h, data), fresh)

    # ---- wrong shapes
    c = "wrong_shape"
    w.file(c, "pth-missing-b_in.pth", pth_of({k: v for k, v in good_sd.items() if k != "blocks.0.mlp.b_in"}))
    for key, cut in [
        ("blocks.0.mlp.W_in", (slice(None), slice(None, -1))),
        ("blocks.0.attn.W_O", (slice(None), slice(None, -2))),
        ("blocks.0.attn.W_Q", 0),
        ("unembed.W_U", (slice(None), slice(None, -1))),
    ]:
        w.file(c, f"pth-{key}-cut.pth", pth_of({**good_sd, key: good_sd[key][cut].clone()}))
    w.file(c, "pth-not-a-tensor.pth", pth_of({**good_sd, "embed.W_E": [1.0, 2.0]}))
    shapes = {
        "missing-W_out": {k: v for k, v in good_w.items() if k != "W_out"},
        "W_E-3d": {**good_w, "W_E": good_w["W_E"][None]},
        "p-12": {**good_w, "W_U": good_w["W_U"][:, :12], "W_E": good_w["W_E"][:13]},
        "W_pos-4": {**good_w, "W_pos": np.concatenate([good_w["W_pos"], good_w["W_pos"][:1]])},
        "W_in-d_mlp": {**good_w, "W_in": good_w["W_in"][:, :-1].copy()},
        "W_K-heads": {**good_w, "W_K": good_w["W_K"][:1]},
        "scalar-b_out": {**good_w, "b_out": np.ones((), np.float32)},
        "d_model-0": {k: v[..., :0].copy() if k in ("W_E", "W_pos") else v for k, v in good_w.items()},
    }
    for i, (name, arrays) in enumerate(shapes.items()):
        w.run(c, f"run-{name}", safetensors_bytes(arrays), fresh if i % 2 else legacy)

    # ---- absurd declared sizes
    c = "absurd_size"
    one = torch_bytes(torch.zeros(1))
    entries = zip_entries(one)
    storage = next(n for n in entries if "/data/" in n)
    pkl = entries[next(n for n in entries if n.endswith("/data.pkl"))]
    assert pkl.count(b"K\x01t") == 1 and pkl.count(b"K\x01\x85") == 2
    # the storage's element count declared as 10**12 (its entry holds 4 bytes)
    numel = b"\x8a\x06" + (10**12).to_bytes(6, "little")  # LONG1
    w.file(c, "pth-storage-numel-1e12.pth", with_data_pkl(one, pkl.replace(b"K\x01t", numel + b"t")))
    # a 10**6 x 10**6 view with stride 0 of that one element: within the storage, so only
    # the budget on what is built can stop it (4 TB)
    view = pkl.replace(b"K\x01\x85", b"J@B\x0f\x00J@B\x0f\x00\x86", 1).replace(
        b"K\x01\x85", b"K\x00K\x00\x86", 1
    )
    w.file(c, "pth-view-1e12-stride-0.pth", with_data_pkl(one, view))
    # an 8 MB storage handed to _rebuild_tensor_v3, which wants an untyped one: the refusal
    # must not quote its bytes (a repr of 32 MB)
    n8 = 2 * 1024 * 1024
    pid8 = (
        b"("
        + u("storage")
        + g("torch", "FloatStorage")
        + u("0")
        + u("cpu")
        + b"J"
        + struct.pack("<i", n8)
        + b"tQ"
    )
    v3 = (
        g("torch._utils", "_rebuild_tensor_v3")
        + b"("
        + pid8
        + b"K\x00K\x01\x85K\x01\x85\x89}"
        + g("torch", "uint16")
        + b"tR"
    )
    w.file(c, "pth-8MB-storage-quoted.pth", torch_zip(b"\x80\x02" + v3 + b".", {"0": bytes(4 * n8)}))
    patched = bytearray(one)  # the storage entry declares 4 GB in the zip directory
    rec = central_record(one, storage)
    patched[rec + 24 : rec + 28] = struct.pack("<I", 0xFFFFFFF0)
    w.file(c, "pth-entry-declares-4GB.pth", bytes(patched))
    w.file(c, "st-header-length-2^63.safetensors", st_raw({}, b"", 2**63 - 1))
    w.file(c, "st-header-length-1TB.safetensors", st_raw(hdr, data, 2**40))
    h = json.loads(json.dumps(hdr))
    h["W_E"]["shape"], h["W_E"]["data_offsets"] = [2**20, 2**20], [0, 2**42]
    w.run(c, "run-W_E-4TB", st_raw(h, data), fresh)
    h = json.loads(json.dumps(hdr))
    h["W_E"]["shape"] = [2**62, 2**62]
    w.run(c, "run-W_E-shape-overflow", st_raw(h, data), fresh)
    w.sparse(c, "over-cap.pth", OVER_CAP, good_pth[:100])  # over the loader's size cap
    w.sparse(c, "over-cap.safetensors", OVER_CAP, good_st[:100])
    w.sparse(c, "over-cap.zip", OVER_CAP, b"PK\x03\x04")
    folder = w.run(c, "run-weights-over-cap", None, good_cfg)
    with open(folder / "model.safetensors", "wb") as fh:
        fh.truncate(OVER_CAP)
    folder = w.run(c, "run-config-over-cap", good_st, None)
    with open(folder / "config.json", "wb") as fh:
        fh.write(b"{")
        fh.truncate(OVER_CAP)
    z = bytearray(good_zip)  # a zip whose directory claims 2 GB
    eocd = z.rindex(b"PK\x05\x06")
    z[eocd + 12 : eocd + 16] = struct.pack("<I", 2**31)
    w.file(c, "zip-directory-declares-2GB.zip", bytes(z))

    # ---- pickles that try to run code (in torch's zip, so the unpickler meets them)
    c = "pickle_payload"
    payloads = pickle_payloads(marker)
    for name, pkl in payloads.items():
        w.file(c, f"{name}.pth", torch_zip(pkl))
    for name in ("live_reduce_os_system", "live_reduce_builtins_eval", "live_inst_os_system"):
        w.file(c, f"raw-{name}.pth", payloads[name])  # a bare pickle: not even a zip

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    w.file(c, "torch-saved-reduce.pth", pth_of(good_sd, payload=Evil()))
    good_pkl = zip_entries(good_pth)[next(n for n in zip_entries(good_pth) if n.endswith("/data.pkl"))]
    after = good_pkl[:-1] + b"0" + payloads["live_reduce_os_system"][2:]  # POP the checkpoint, then run
    w.file(c, "payload-after-valid-tensors.pth", with_data_pkl(good_pth, after))

    # ---- nesting 10 000 deep and more
    c = "deep_nesting"
    for depth in (10_000, 100_000):
        w.file(c, f"list-{depth}.pth", torch_zip(b"\x80\x02" + deep_list(depth) + b"."))
    w.file(c, "dict-10000.pth", torch_zip(b"\x80\x02" + deep_dict(10_000) + b"."))
    w.file(c, "tuple-10000.pth", torch_zip(b"\x80\x02" + deep_tuple(10_000) + b"."))
    holder = "PLACEHOLDER_FOR_DEEP"
    marked = torch_bytes({"state_dicts": [good_sd], "config": {"p": holder, "frac_train": 0.3}})
    mpkl = zip_entries(marked)[next(n for n in zip_entries(marked) if n.endswith("/data.pkl"))]
    for name, deep in (("list", deep_list(10_000)), ("dict", deep_dict(10_000))):
        w.file(c, f"config-p-{name}-10000.pth", with_data_pkl(marked, mpkl.replace(u(holder), deep)))
    sds = b"\x80\x02}" + u("state_dicts") + b"]" + deep_list(10_000) + b"as."
    w.file(c, "state-dict-list-10000.pth", torch_zip(sds))
    pid = b"(" + u("storage") + g("torch", "FloatStorage") + u("0") + u("cpu") + b"K\x01tQ"
    args = b"(" + pid + b"K\x00" + deep_tuple(10_000) + b"K\x01\x85\x89}t"
    w.file(
        c,
        "tensor-size-10000.pth",
        torch_zip(b"\x80\x02" + g("torch._utils", "_rebuild_tensor_v2") + args + b"R.", {"0": bytes(4)}),
    )
    lol = b"\x80\x02}" + u("state_dicts") + laughs(40) + b"s" + u("train_losses") + b"h\x28s."
    w.file(c, "laughs-2^40.pth", torch_zip(lol))
    w.run(c, "config-json-10000", good_st, b"[" * 10_000 + b"]" * 10_000)
    w.run(c, "config-json-100000", good_st, b'{"model":' * 100_000 + b"1" + b"}" * 100_000)
    deep_split = (
        json.dumps({**good_cfg, "split": "X"}).encode().replace(b'"X"', b"[" * 10_000 + b"]" * 10_000)
    )
    w.run(c, "config-split-10000", good_st, deep_split)
    w.file(c, "st-header-10000.safetensors", st_raw(b"[" * 10_000 + b"]" * 10_000))

    # ---- hostile zips of run directories
    c = "hostile_zip"
    escape = marker.parent / "escaped"
    base = [{"name": "run/" + k, "data": v} for k, v in good_files.items()]
    cfg_entry = base[0]
    m1 = 1 << 20
    z4 = {"name": "run/model.safetensors", "data": good_st, "size": 0xFFFFFFF0}
    w.file(c, "bomb-declares-4GB.zip", raw_zip([cfg_entry, z4]))
    n = 64 * m1
    zeros = {"name": "run/history.json", "comp": deflated_zeros(n), "size": n, "crc": zeros_crc(n)}
    w.file(c, "bomb-64MB-of-zeros.zip", raw_zip([*base, zeros]))
    one_mb, one_crc = deflated_zeros(m1), zeros_crc(m1)
    many = [{"name": f"run/pad/{i:03d}", "comp": one_mb, "size": m1, "crc": one_crc} for i in range(300)]
    w.file(c, "bomb-300-entries-of-1MB.zip", raw_zip([*base, *many]))
    liar = {"name": "run/model.safetensors", "comp": deflated_zeros(10 * m1), "size": len(good_st), "crc": 0}
    w.file(c, "bomb-inflates-past-its-size.zip", raw_zip([cfg_entry, liar]))
    w.file(
        c,
        "too-many-entries.zip",
        raw_zip([*base, *({"name": f"run/e{i}", "data": b""} for i in range(1001))]),
    )
    long_names = ({"name": f"run/{i:04d}" + "n" * 900, "data": b""} for i in range(1200))
    w.file(c, "huge-directory.zip", raw_zip([*base, *long_names]))
    names = [
        "../" * 40 + str(escape).lstrip("/"),
        "run/" + "../" * 40 + str(escape).lstrip("/"),
        str(escape),
        "..\\..\\escaped",
        "C:/escaped",
        "C:escaped",
        "run/./../../escaped",
        "./../escaped",
        "run/\nconfig.json",
    ]
    for i, name in enumerate(names):
        w.file(c, f"path-{i}.zip", raw_zip([*base, {"name": name, "data": b"escaped"}]))
    w.file(c, "dir-entry-dotdot.zip", raw_zip([*base, {"name": "../", "mode": 0o040755, "method": 0}]))
    link = {"method": 0, "mode": 0o120777}
    w.file(
        c,
        "symlink-weights.zip",
        raw_zip([cfg_entry, {"name": "run/model.safetensors", "data": b"/etc/passwd", **link}]),
    )
    w.file(
        c,
        "symlink-folder.zip",
        raw_zip([{"name": "run", "data": str(marker.parent).encode(), **link}, *base]),
    )
    out_link = {"name": "run/out", "data": str(escape).encode(), **link}
    w.file(c, "symlink-then-file.zip", raw_zip([*base, out_link, {"name": "run/out/x", "data": b"x"}]))
    w.file(c, "fifo.zip", raw_zip([*base, {"name": "run/fifo", "mode": 0o010644, "method": 0}]))
    w.file(c, "char-device.zip", raw_zip([*base, {"name": "run/tty", "mode": 0o020644, "method": 0}]))
    w.file(
        c,
        "encrypted.zip",
        raw_zip([cfg_entry, {"name": "run/model.safetensors", "data": good_st, "flags": 0x801}]),
    )
    w.file(c, "duplicate-config.zip", raw_zip([*base, {"name": "run/config.json", "data": b"{}"}]))
    w.file(
        c,
        "file-then-folder.zip",
        raw_zip([*base, {"name": "run/x", "data": b"x"}, {"name": "run/x/y", "data": b"y"}]),
    )
    w.file(
        c,
        "unknown-method.zip",
        raw_zip([cfg_entry, {"name": "run/model.safetensors", "data": good_st, "method": 99}]),
    )
    w.file(
        c,
        "bad-crc.zip",
        raw_zip([cfg_entry, {"name": "run/model.safetensors", "data": good_st, "crc": 1234}]),
    )
    w.file(c, "empty.zip", raw_zip([]))
    w.file(c, "no-run-inside.zip", raw_zip([{"name": "notes.txt", "data": b"hello"}]))
    w.file(
        c,
        "two-runs.zip",
        raw_zip([*base, *({"name": "other/" + k, "data": v} for k, v in good_files.items())]),
    )
    w.file(c, "weights-only.zip", raw_zip([{"name": "model.safetensors", "data": good_st}]))
    w.file(c, "nested-zip.zip", raw_zip([{"name": "run.zip", "data": good_zip}]))
    w.file(c, "torch-file-renamed.zip", good_pth)
    w.file(c, "config-not-json.zip", run_zip({**good_files, "config.json": b"{not json"}))
    z = bytearray(good_zip)
    eocd = z.rindex(b"PK\x05\x06")
    z[eocd + 16 : eocd + 20] = struct.pack("<I", len(good_zip) + 10**6)
    w.file(c, "directory-offset-past-end.zip", bytes(z))

    # ---- safetensors headers that lie: in run directories whose checksum is right (so the
    # parser is reached), and as bare files
    c = "safetensors_lies"
    first, second = sorted(hdr, key=lambda k: hdr[k]["data_offsets"][0])[:2]
    lies = {
        "overlap": lambda h: h[second].__setitem__("data_offsets", h[first]["data_offsets"]),
        "past-buffer": lambda h: h[first].__setitem__("data_offsets", [0, len(data) + 4]),
        "reversed": lambda h: h[first].__setitem__("data_offsets", h[first]["data_offsets"][::-1]),
        "gap": lambda h: h[first].__setitem__("data_offsets", [4, h[first]["data_offsets"][1]]),
        "shape-vs-span": lambda h: h[first].__setitem__("shape", [s + 1 for s in h[first]["shape"]]),
        "negative-offset": lambda h: h[first].__setitem__("data_offsets", [-8, h[first]["data_offsets"][1]]),
        "negative-shape": lambda h: h[first].__setitem__("shape", [-1]),
        "unknown-dtype": lambda h: h[first].__setitem__("dtype", "F33"),
        "no-offsets": lambda h: h[first].pop("data_offsets"),
        "metadata-not-strings": lambda h: h.__setitem__("__metadata__", {"step": 3}),
        "tensor-not-object": lambda h: h.__setitem__(first, [1, 2]),
    }
    for i, (name, edit) in enumerate(lies.items()):
        h = json.loads(json.dumps(hdr))
        edit(h)
        lied = st_raw(h, data)
        w.run(c, f"run-{name}", lied, fresh if i % 3 else legacy)
        if name in ("overlap", "past-buffer", "gap", "reversed"):
            w.file(c, f"bare-{name}.safetensors", lied)
    h_len = len(json.dumps(hdr).encode())
    w.run(c, "run-header-length-past-file", st_raw(hdr, data, h_len + len(data) + 1), fresh)
    w.run(c, "run-header-length-0", st_raw(b"", data), fresh)
    w.run(c, "run-header-not-json", st_raw(b"{not json" + b" " * 7, data), fresh)
    w.run(c, "run-header-not-utf8", st_raw(b'{"\xff\xfe": 1}', data), fresh)
    w.run(c, "run-header-a-list", st_raw([1, 2, 3], data), fresh)
    w.file(c, "bare-header-length-7.safetensors", struct.pack("<Q", 7) + b"{}")

    # ---- config.json that is not JSON, or disagrees with the weights
    c = "bad_config"

    def with_model(**kw) -> dict:
        return {**good_cfg, "model": {**good_cfg["model"], **kw}}

    raw_configs = {
        "not-json": b"{not json",
        "empty": b"",
        "not-utf8": b'{"format": "\xff"}',
        "an-array": b"[1, 2, 3]",
        "a-string": b'"grokking"',
        "p-nan": json.dumps(with_model(p="X")).encode().replace(b'"X"', b"NaN"),
        "p-infinite": json.dumps(with_model(p="X")).encode().replace(b'"X"', b"1e999"),
    }
    for name, raw in raw_configs.items():
        w.run(c, name, good_st, raw)
    objects = {
        "p-disagrees": with_model(p=17),
        "p-a-string": with_model(p="13"),
        "p-a-bool": with_model(p=True),
        "d_mlp-disagrees": with_model(d_mlp=512),
        "n_heads-disagrees": with_model(n_heads=4),
        "model-a-string": {**good_cfg, "model": "tiny"},
        "split-seeded-without-seed": {**good_cfg, "split": {"kind": "seeded", "frac": 0.3}},
        "split-frac-2": {**good_cfg, "split": {"kind": "original", "frac": 2}},
        "split-a-list": {**good_cfg, "split": [0.3]},
        "checksum-wrong": {**good_cfg, "weights_sha256": "0" * 64},
        "checksum-of-another-file": {**good_cfg, "weights_sha256": hashlib.sha256(good_pth).hexdigest()},
        "checksum-upper-case": {**good_cfg, "weights_sha256": good_cfg["weights_sha256"].upper()},
        "checksum-short": {**good_cfg, "weights_sha256": good_cfg["weights_sha256"][:32]},
        "checksum-a-number": {**good_cfg, "weights_sha256": 12345},
    }
    for name, obj in objects.items():
        w.run(c, name, good_st, obj)
    w.run(c, "no-config", good_st, None)
    w.run(c, "no-weights", None, good_cfg)
    folder = w.run(c, "config-is-a-folder", good_st, None)
    (folder / "config.json").mkdir()
    folder = w.run(c, "weights-is-a-folder", None, good_cfg)
    (folder / "model.safetensors").mkdir()
    folder = w.run(c, "config-links-to-dev-zero", good_st, None)
    (folder / "config.json").symlink_to("/dev/zero")
    shutil.rmtree(root / "_good")
    return w.cases


def build_valid(root: str | Path) -> list[Case]:
    """The sound files the corpus is made from, one of each form ``load`` takes (run
    directory, ``.pth``, ``.safetensors``, ``.zip``): they must load, to the same weights."""
    from lens.checkpoint import save_run

    root = Path(root)
    w = _Writer(root)
    run = save_run(root / "valid" / "run", weights(), SPLIT)
    w.cases.append(Case("valid", "run", run))
    w.file("valid", "original.pth", pth_of(original_layout(weights())))
    w.file("valid", "model.safetensors", (run / "model.safetensors").read_bytes())
    files = {k: (run / k).read_bytes() for k in ("config.json", "model.safetensors")}
    w.file("valid", "run.zip", raw_zip([{"name": "run/" + k, "data": v} for k, v in files.items()]))
    return w.cases
