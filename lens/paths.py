"""Where the project's files live, from this package's location (never the working directory)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CREATE_DEFAULT = "python -m lens.train --out assets/default-run"


def default_run() -> Path:
    """The embedded default model: ``lens.history.DEFAULT_RUN`` when the trainer defines it,
    else ``<repo>/assets/default-run`` (the same path, computed here).

    Footgun: importing :mod:`lens.history` must stay light; it is tried lazily here so a
    missing or half-written history module never breaks the report.
    """
    try:
        from .history import DEFAULT_RUN  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - any failure means "not there yet"
        return ROOT / "assets" / "default-run"
    return Path(DEFAULT_RUN)
