"""Extracting an untrusted zip archive (an uploaded zip of a run directory), safely.

:func:`extract` writes the regular files of a zip under a folder, after checking the
archive's directory against caps, before anything inflates:

- at most ``max_entries`` entries, and a central directory of at most 1 kB per allowed entry
  (``zipfile`` builds a record for every entry when it opens an archive);
- every entry, and all of them together, at most ``max_bytes`` uncompressed, and no entry
  over 1 MB at a ratio above :data:`MAX_RATIO` (float weights barely compress; zeros do);
- member names relative, without ``..``, drive letters, backslashes or control characters;
- regular files only: no symlinks, devices or FIFOs; no encrypted entries; each name once.

While inflating, ``zipfile`` stops each entry at its declared size and checks its CRC (and the
bytes written are counted again here). Files are created new (``O_EXCL | O_NOFOLLOW``) in
folders made one by one, so nothing is ever written through a link. macOS's ``__MACOSX/``
folder is skipped. Any refusal raises :class:`ArchiveError` with a one-line message.
Imports nothing of ``lens`` but :mod:`lens.torchfile` (for the directory's size).
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
import zlib
from pathlib import Path

from .torchfile import zip_directory_size

MAX_ENTRIES = 1000
MAX_RATIO = 100  # uncompressed / compressed, checked for entries over 1 MB
SKIPPED = "__MACOSX"


class ArchiveError(ValueError):
    """The archive was refused. ``str(err)`` is one line saying why."""


def extract(path: str | os.PathLike, dest: str | os.PathLike, max_entries: int, max_bytes: int) -> None:
    """Extract the zip ``path`` into the folder ``dest`` (made if need be), or refuse it."""
    path, dest = Path(path), Path(dest)
    directory = zip_directory_size(path)
    if directory > max_entries * 1024:
        raise ArchiveError(
            f"expected a directory of at most {max_entries} entries, found one of {directory} bytes"
        )
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(path) as zf:
            for info, parts in _plan(zf.infolist(), max_entries, max_bytes):
                _extract_member(zf, info, dest, parts)
    except ArchiveError:
        raise
    # zipfile's own errors, a torn deflate stream, unsupported methods (NotImplementedError is a
    # RuntimeError), names it cannot decode, seeks past the end...
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, ValueError, OSError) as err:
        first = ((str(err).strip().splitlines() or [""])[0] or type(err).__name__)[:200]
        raise ArchiveError(f"expected a readable zip archive, found: {first}") from None


def _plan(infos: list[zipfile.ZipInfo], max_entries: int, max_bytes: int) -> list:
    """The (entry, path parts) to extract, every cap checked on the declared sizes."""
    if len(infos) > max_entries:
        raise ArchiveError(f"expected at most {max_entries} entries, found {len(infos)}")
    plan, total, seen = [], 0, set()
    for info in infos:
        name = info.filename[:80]
        parts = _member_parts(info.filename)
        if parts[0] == SKIPPED:
            continue
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind == stat.S_IFLNK:
            raise ArchiveError(f"expected regular files, found a symlink {name!r}")
        if info.is_dir():
            continue
        if kind not in (0, stat.S_IFREG):
            raise ArchiveError(f"expected regular files, found {name!r} of mode {kind:o}")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"expected unencrypted entries, found {name!r}")
        size = info.file_size
        if size > max_bytes or (size > (1 << 20) and size > MAX_RATIO * max(info.compress_size, 1)):
            raise ArchiveError(
                f"expected entries of at most {max_bytes} bytes at a ratio of at most {MAX_RATIO}, "
                f"found {name!r} of {size} bytes from {info.compress_size} (a zip bomb?)"
            )
        total += size
        if total > max_bytes:
            raise ArchiveError(f"expected at most {max_bytes} bytes in all, found more")
        if parts in seen:
            raise ArchiveError(f"expected each name once, found {name!r} twice")
        seen.add(parts)
        plan.append((info, parts))
    return plan


def _member_parts(name: str) -> tuple[str, ...]:
    """A member's path as safe relative parts; absolute, ``..``, drive and odd names refused."""
    bad = (
        name.startswith(("/", "\\"))
        or "\\" in name
        or re.match(r"^[A-Za-z]:", name) is not None
        or any(ord(c) < 32 for c in name)  # NUL, newlines, escapes
    )
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if bad or not parts or ".." in parts or len(name) > 1000:
        raise ArchiveError(f"expected relative member paths inside the archive, found {name[:80]!r}")
    return parts


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, parts: tuple[str, ...]) -> None:
    shown = "/".join(parts)[:80]
    folder = dest
    for part in parts[:-1]:  # made one by one, so no component can be an existing link
        folder = folder / part
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise ArchiveError(f"expected {shown!r} under folders, found a file there")
        folder.mkdir(exist_ok=True)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(dest.joinpath(*parts), flags, 0o600)
    except FileExistsError:
        raise ArchiveError(f"expected each name once, found {shown!r} again") from None
    written = 0
    with os.fdopen(fd, "wb") as out, zf.open(info) as src:
        while chunk := src.read(1 << 20):
            written += len(chunk)
            if written > info.file_size:  # zipfile already stops there; a second guard costs nothing
                raise ArchiveError(f"expected {shown!r} to inflate to its declared size, found more")
            out.write(chunk)
