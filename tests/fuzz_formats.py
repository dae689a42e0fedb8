"""Hostile files written byte by byte, for the fuzz corpus (``tests/fuzz_corpus.py``).

Zips whose every field can lie (:func:`raw_zip`), torch's zip layout around any pickle
(:func:`torch_zip`), pickles assembled from opcodes (:func:`u`, :func:`g`, :func:`call`...),
the code-running payloads (:func:`pickle_payloads`), nestings 10 000 deep, safetensors files
from any header (:func:`st_raw`), and seeded bit flips. Only :func:`torch_bytes` needs torch.
"""

from __future__ import annotations

import io
import json
import random
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------- torch and safetensors files


def torch_bytes(obj: object) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def zip_entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def with_data_pkl(pth: bytes, pkl: bytes) -> bytes:
    """A torch zip with its ``data.pkl`` replaced (storages and the rest kept)."""
    entries = zip_entries(pth)
    name = next(n for n in entries if n.endswith("/data.pkl"))
    entries[name] = pkl
    return stored_zip(entries)


def stored_zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)  # not the clock's
    return buf.getvalue()


def torch_zip(pkl: bytes, storages: dict[str, bytes] | None = None) -> bytes:
    """What ``torch.save`` lays out, around any ``data.pkl``."""
    entries = {"archive/data.pkl": pkl, "archive/byteorder": b"little"}
    entries.update({f"archive/data/{k}": v for k, v in (storages or {}).items()})
    entries["archive/version"] = b"3\n"
    return stored_zip(entries)


def safetensors_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    from safetensors.numpy import save

    return save(arrays)


def st_raw(header: object, data: bytes = b"", length: int | None = None) -> bytes:
    """A safetensors file from a header (JSON-encoded unless bytes) and a data buffer."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def st_header(data: bytes) -> tuple[dict, bytes]:
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8 : 8 + n]), data[8 + n :]


# ---------------------------------------------------------------- zips written by hand


def raw_zip(entries: list[dict]) -> bytes:
    """A zip archive written field by field, so any field can lie.

    Each entry: ``name`` (str or bytes) and ``data`` (what it inflates to), and optionally
    ``method`` (0 stored, 8 deflate, anything else as given), ``comp`` (the stored stream,
    default: ``data`` compressed), ``size`` / ``csize`` / ``crc`` (declared), ``mode`` (unix
    mode bits in the external attributes) and ``flags``."""
    out, central = io.BytesIO(), io.BytesIO()
    for e in entries:
        name = e["name"].encode() if isinstance(e["name"], str) else e["name"]
        data = e.get("data", b"")
        method = e.get("method", 8)
        if "comp" in e:
            comp = e["comp"]
        elif method == 8:
            co = zlib.compressobj(9, zlib.DEFLATED, -15)
            comp = co.compress(data) + co.flush()
        else:
            comp = data
        crc = e.get("crc", zlib.crc32(data))
        size, csize = e.get("size", len(data)), e.get("csize", len(comp))
        flags = e.get("flags", 0x800)
        offset = out.tell()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0x21, crc, csize, size, len(name), 0
            )
        )
        out.write(name + comp)
        mode = e.get("mode", 0o100644)
        central.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                (3 << 8) | 20,  # made on unix: the high 16 bits of the attributes are a st_mode
                20,
                flags,
                method,
                0,
                0x21,
                crc,
                csize,
                size,
                len(name),
                0,
                0,
                0,
                0,
                (mode << 16) | (0x10 if stat.S_ISDIR(mode) else 0),
                offset,
            )
            + name
        )
    cd = central.getvalue()
    start = out.tell()
    out.write(cd)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(cd), start, 0))
    return out.getvalue()


def deflated_zeros(n: int, chunk: int = 1 << 20) -> bytes:
    co, parts, zero = zlib.compressobj(9, zlib.DEFLATED, -15), [], bytes(chunk)
    for _ in range(n // chunk):
        parts.append(co.compress(zero))
    parts.append(co.compress(bytes(n % chunk)))
    parts.append(co.flush())
    return b"".join(parts)


def zeros_crc(n: int, chunk: int = 1 << 20) -> int:
    crc, zero = 0, bytes(chunk)
    for _ in range(n // chunk):
        crc = zlib.crc32(zero, crc)
    return zlib.crc32(bytes(n % chunk), crc)


# ---------------------------------------------------------------- pickles written by hand


def u(s: str) -> bytes:  # BINUNICODE
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def g(module: str, name: str) -> bytes:  # GLOBAL
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def sg(module: str, name: str) -> bytes:  # STACK_GLOBAL (protocol 4)
    return u(module) + u(name) + b"\x93"


def call(func: bytes, *args: bytes) -> bytes:  # func(*args) by REDUCE
    return func + b"(" + b"".join(args) + b"tR"


def in_checkpoint(obj: bytes) -> bytes:
    """``obj`` as the payload of a checkpoint-shaped dict, protocol 2."""
    return b"\x80\x02}" + u("config") + b"}" + u("p") + b"K\x0ds" + b"s" + u("payload") + obj + b"s."


def pickle_payloads(marker: Path) -> dict[str, bytes]:
    """data.pkl streams that, unpickled without restriction, try to create ``marker``.

    The ``live_*`` ones do create it under plain :func:`pickle.loads` (the test proves the
    payloads are real that way, in a subprocess); the others need more than a bare unpickler
    (an extension registry, a persistent loader) or only probe the whitelist's edges."""
    m = str(marker)
    touch = f"touch {m}"
    ev = f"open({m!r}, 'w').close()"
    argv = b"]" + b"(" + u("touch") + u(m) + b"e"  # ["touch", marker]
    getattr_ = g("builtins", "getattr")
    os_mod = call(g("builtins", "__import__"), u("os"))
    p = {
        # REDUCE of a GLOBAL: the classic
        "live_reduce_os_system": b"\x80\x02" + call(g("os", "system"), u(touch)) + b".",
        "live_reduce_posix_system": b"\x80\x02" + call(g("posix", "system"), u(touch)) + b".",
        "live_reduce_builtins_eval": b"\x80\x02" + call(g("builtins", "eval"), u(ev)) + b".",
        "live_reduce_builtins_exec": b"\x80\x02" + call(g("builtins", "exec"), u(ev)) + b".",
        "live_reduce_builtins_open": b"\x80\x02" + call(g("builtins", "open"), u(m), u("w")) + b".",
        "live_reduce_io_open": b"\x80\x02" + call(g("io", "open"), u(m), u("w")) + b".",
        "live_reduce_os_mkdir": b"\x80\x02" + call(g("os", "mkdir"), u(m)) + b".",
        "live_reduce_os_makedirs": b"\x80\x02" + call(g("os", "makedirs"), u(m)) + b".",
        "live_reduce_subprocess_call": b"\x80\x02" + call(g("subprocess", "call"), argv) + b".",
        "live_reduce_subprocess_run": b"\x80\x02" + call(g("subprocess", "run"), argv) + b".",
        "live_reduce_subprocess_check_output": b"\x80\x02"
        + call(g("subprocess", "check_output"), argv)
        + b".",
        "live_reduce_subprocess_popen_wait": b"\x80\x02"
        + call(call(getattr_, call(g("subprocess", "Popen"), argv), u("wait")))
        + b".",
        "live_reduce_shutil_copyfile": b"\x80\x02"
        + call(g("shutil", "copyfile"), u("/dev/null"), u(m))
        + b".",
        "live_reduce_pathlib_touch": b"\x80\x02"
        + call(call(getattr_, call(g("pathlib", "Path"), u(m)), u("touch")))
        + b".",
        "live_reduce_import_os_system": b"\x80\x02"
        + call(call(getattr_, os_mod, u("system")), u(touch))
        + b".",
        "live_reduce_os_popen": b"\x80\x02"
        + call(call(getattr_, call(g("os", "popen"), u(touch)), u("close")))
        + b".",
        "live_reduce_os_spawnlp": b"\x80\x02"
        + call(g("os", "spawnlp"), b"K\x00", u("touch"), u("touch"), u(m))
        + b".",
        # The same through STACK_GLOBAL (protocol 4) and the protocol-0 INST and OBJ opcodes
        "live_stack_global_os_system": b"\x80\x04" + sg("os", "system") + b"(" + u(touch) + b"tR.",
        "live_stack_global_eval": b"\x80\x04" + sg("builtins", "eval") + b"(" + u(ev) + b"tR.",
        "live_inst_os_system": b"(S" + repr(touch).encode() + b"\nios\nsystem\n.",
        "live_obj_os_system": b"(" + g("os", "system") + b"S" + repr(touch).encode() + b"\no.",
        "live_inst_builtins_eval": b"(S" + repr(ev).encode() + b"\nibuiltins\neval\n.",
        # Py2 module names (pickle maps __builtin__ to builtins for protocol < 3)
        "live_reduce___builtin___eval": b"\x80\x02" + call(g("__builtin__", "eval"), u(ev)) + b".",
        # A payload inside an otherwise checkpoint-shaped dict
        "live_nested_os_system": in_checkpoint(call(g("os", "system"), u(touch))),
        "live_nested_eval": in_checkpoint(call(g("builtins", "eval"), u(ev))),
        # NEWOBJ / NEWOBJ_EX: cls.__new__(cls, *args), with a call after it
        "newobj_popen": b"\x80\x02" + g("subprocess", "Popen") + b"(" + argv + b"t\x81.",
        "newobj_ex_popen": b"\x80\x04" + sg("subprocess", "Popen") + b"(" + argv + b"t}\x92.",
        # BUILD: set attributes or call __setstate__ on what the whitelist hands out
        "build_on_allowed_class": b"\x80\x02"
        + g("collections", "OrderedDict")
        + b"}"
        + u("__init__")
        + b"Nsb.",
        "build_setstate_trick": b"\x80\x02"
        + call(g("collections", "OrderedDict"))
        + b"}"
        + u("__setstate__")
        + g("builtins", "eval")
        + b"sb"
        + u(ev)
        + b"b.",
        "build_setstate_allowed_callable": b"\x80\x02"
        + call(g("collections", "OrderedDict"))
        + b"}"
        + u("__setstate__")
        + g("collections", "OrderedDict")
        + b"sb}b.",
        "build_on_storage_marker": b"\x80\x02"
        + g("torch", "FloatStorage")
        + b"N}"
        + u("disk")
        + u("<f8")
        + b"s\x86b.",
        "build_on_rebuild_function": b"\x80\x02"
        + g("torch._utils", "_rebuild_tensor_v2")
        + b"}"
        + u("__defaults__")
        + b")sb.",
        # EXT1/2/4: globals by extension code (copyreg's registry; empty unless registered)
        "ext1_code_1": b"\x80\x02\x82\x01(" + u(touch) + b"tR.",
        "ext1_code_255": b"\x80\x02\x82\xff.",
        "ext2_code_65535": b"\x80\x02\x83\xff\xff(" + u(touch) + b"tR.",
        "ext4_code_huge": b"\x80\x02\x84\xff\xff\xff\x7f.",
        # persistent ids that are not storage references
        "persid_string": b"Pos.system\n.",
        "binpersid_global": b"\x80\x02" + g("os", "system") + b"Q.",
        "binpersid_storage_of_popen": b"\x80\x02("
        + u("storage")
        + g("subprocess", "Popen")
        + u("0")
        + u("cpu")
        + b"K\x01tQ.",
        # Globals of torch and numpy that other loaders allow, and the usual suspects
        "global_torch_load": b"\x80\x02" + call(g("torch", "load"), u(m)) + b".",
        "global_torch_rebuild_from_type": b"\x80\x02" + g("torch._tensor", "_rebuild_from_type_v2") + b".",
        "global_torch_nn_linear": b"\x80\x02"
        + call(g("torch.nn.modules.linear", "Linear"), b"K\x01K\x01")
        + b".",
        "global_numpy_reconstruct": b"\x80\x02"
        + call(g("numpy.core.multiarray", "_reconstruct"), g("numpy", "ndarray"), b"K\x00\x85", b"C\x01b")
        + b".",
        "global_copyreg_reconstructor": b"\x80\x02"
        + call(g("copyreg", "_reconstructor"), g("subprocess", "Popen"), g("builtins", "object"), b"N")
        + b".",
        "global_runpy": b"\x80\x02" + call(g("runpy", "run_path"), u(m)) + b".",
        "global_codecs_encode": b"\x80\x02" + call(g("_codecs", "encode"), u("x"), u("latin1")) + b".",
    }
    return p


def deep_list(depth: int) -> bytes:
    return b"(" * depth + b"l" * depth


def deep_dict(depth: int) -> bytes:
    return (b"(" + u("a")) * depth + b"}" + b"d" * depth


def deep_tuple(depth: int) -> bytes:
    return b"(" * depth + b"t" * depth


# ---------------------------------------------------------------- seeded damage


def flip(data: bytes, positions: list[int], rng: random.Random) -> bytes:
    b = bytearray(data)
    for pos in positions:
        b[pos] ^= 1 << rng.randrange(8)
    return bytes(b)


def read_regions(pth: bytes) -> list[tuple[int, int]]:
    """Byte ranges of the entries a torch loader reads (data.pkl, the storages): their CRC
    covers them, so a flip there is always noticed."""
    regions = []
    with zipfile.ZipFile(io.BytesIO(pth)) as zf:
        for info in zf.infolist():
            if not (info.filename.endswith("/data.pkl") or "/data/" in info.filename):
                continue
            n, e = struct.unpack("<HH", pth[info.header_offset + 26 : info.header_offset + 30])
            start = info.header_offset + 30 + n + e
            regions.append((start, start + info.compress_size))
    return regions


def in_regions(regions: list[tuple[int, int]], rng: random.Random) -> int:
    total = sum(b - a for a, b in regions)
    k = rng.randrange(total)
    for a, b in regions:
        if k < b - a:
            return a + k
        k -= b - a
    raise AssertionError


def central_record(blob: bytes, name: str) -> int:
    """Offset of the central-directory record of entry ``name``."""
    i = blob.index(b"PK\x01\x02")
    while True:
        n = struct.unpack("<H", blob[i + 28 : i + 30])[0]
        if blob[i + 46 : i + 46 + n] == name.encode():
            return i
        i = blob.index(b"PK\x01\x02", i + 1)


def laughs(levels: int) -> bytes:
    """A list of two references to a list of two references to ... (memo, protocol 2):
    2**levels paths through ``levels`` small lists, for any walker that follows them all."""
    out = b"]q\x00" + b"0"
    for i in range(levels):
        out += b"(h" + bytes([i]) + b"h" + bytes([i]) + b"lq" + bytes([i + 1]) + b"0"
    return out + b"h" + bytes([levels])
