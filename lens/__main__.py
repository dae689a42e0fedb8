"""``python -m lens report [--checkpoint PATH] [--json]``.

Imports stay inside the command so ``--help`` answers at once (torch and TransformerLens
cost seconds). Exit codes: 0 done; 2 a refused checkpoint or a missing default model (one
line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys

from .paths import CREATE_DEFAULT, default_run


def _report(args: argparse.Namespace) -> int:
    source = args.checkpoint
    if source is None:
        path = default_run()
        # A folder without config.json is a default run still being trained (or a broken
        # one): say how to make it rather than only what is missing.
        if not (path / "config.json").is_file():
            print(
                f"no checkpoint given and the default model {path} is missing or incomplete; "
                f"create it with `{CREATE_DEFAULT}` or pass --checkpoint PATH",
                file=sys.stderr,
            )
            return 2
        source = str(path)

    from .checkpoint import CheckpointError, load

    try:
        ck = load(source)
    except CheckpointError as err:
        print(f"refused: {err}", file=sys.stderr)
        return 2

    from .report import format_report, report, to_json_safe
    from .run import run_model

    rep = report(run_model(ck))
    if args.json:
        print(json.dumps(to_json_safe(rep), allow_nan=False))
    else:
        print(format_report(rep, source))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lens", description="The grokked modular-addition model, measured."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="key frequencies, losses, neurons per frequency and ablations")
    rep.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="a run directory, a .safetensors file or an original progress-measures .pth "
        "(default: the embedded model in assets/default-run)",
    )
    rep.add_argument("--json", action="store_true", help="print exactly one JSON object")
    args = parser.parse_args(argv)
    if args.command == "report":
        return _report(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
