"""Where the project's files live, from this package's location (never the working directory).

Light on purpose (pathlib only): the app's entry file and the CLI's ``--help`` import it.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUN = ROOT / "assets" / "default-run"
CREATE_DEFAULT = "python -m lens.train --out assets/default-run"


def default_run() -> Path:
    """The embedded default model's run directory."""
    return DEFAULT_RUN
