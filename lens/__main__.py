"""``python -m lens report|claims|facts SECTION [--checkpoint PATH] [--json]``.

Imports stay inside the commands so ``--help`` answers at once (torch and TransformerLens
cost seconds). Exit codes: 0 done; 2 a refused checkpoint or a missing default model (one
line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from .paths import CREATE_DEFAULT, default_run

# The pages whose facts `facts` prints (lens.story.MODULES, plus grokking; not imported here so
# that --help answers at once).
SECTIONS = (
    "basics",
    "attention",
    "wave-transforms",
    "relu",
    "neurons",
    "grokking",
    "clock-or-pizza",
    "summary",
    "glossary",
)

if TYPE_CHECKING:
    from .checkpoint import Checkpoint


def _load_checkpoint(args: argparse.Namespace) -> Checkpoint | int:
    """The checkpoint named by ``--checkpoint`` (default: the embedded model), or the exit
    status 2 after one line on stderr when it is refused or the default model is missing.
    Returns ``Checkpoint | int``; the checkpoint's ``source`` names what was loaded."""
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
        return load(source)
    except CheckpointError as err:
        print(f"refused: {err}", file=sys.stderr)
        return 2


def _report(args: argparse.Namespace) -> int:
    ck = _load_checkpoint(args)
    if isinstance(ck, int):
        return ck

    from .report import format_report, report, to_json_safe
    from .run import run_model

    rep = report(run_model(ck))
    if args.json:
        print(json.dumps(to_json_safe(rep), allow_nan=False))
    else:
        print(format_report(rep, ck.source))
    return 0


def _claims(args: argparse.Namespace) -> int:
    ck = _load_checkpoint(args)
    if isinstance(ck, int):
        return ck

    from .analysis import key_frequencies
    from .claims import evaluate_all, format_table, to_json
    from .run import run_model

    # The numpy engine, as the app: the same activations as TransformerLens's to float32
    # rounding, in a fraction of the time and without importing torch.
    run = run_model(ck, engine="numpy")
    results = evaluate_all(run)
    if args.json:
        print(to_json(results))
    else:
        kf = ", ".join(map(str, key_frequencies(run))) or "none"
        held = sum(r.holds for r in results)
        header = (
            f"checkpoint  {ck.source}\np           {ck.p}\nkey freqs   {kf}\n"
            f"claims      {held} of {len(results)} hold"
        )
        print(format_table(results, header))
    return 0


def _facts(args: argparse.Namespace) -> int:
    ck = _load_checkpoint(args)
    if isinstance(ck, int):
        return ck

    from . import story

    if args.section == "grokking":
        # Its facts come from the run's training history, not from a model run.
        from .history import load_history

        try:
            result = story.facts_function("grokking")(load_history(ck.source))
        except (OSError, ValueError, KeyError) as err:
            print(f"refused: {ck.source}: no readable training history: {err}", file=sys.stderr)
            return 2
    else:
        from .run import run_model

        result = story.facts(args.section, run_model(ck, engine="numpy"))
    plain = story.to_plain(result)
    if args.json:
        print(json.dumps(plain, allow_nan=False))
    else:
        for name, value in plain.items():
            text = json.dumps(value)
            print(f"{name:<28} {text if len(text) <= 100 else text[:97] + '...'}")
    return 0


def _add_checkpoint_options(parser: argparse.ArgumentParser, json_help: str) -> None:
    parser.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="a run directory, a .safetensors file or an original progress-measures .pth "
        "(default: the embedded model in assets/default-run)",
    )
    parser.add_argument("--json", action="store_true", help=json_help)


COMMANDS = {"report": _report, "claims": _claims, "facts": _facts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lens", description="The grokked modular-addition model, measured."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="key frequencies, losses, neurons per frequency and ablations")
    _add_checkpoint_options(rep, "print exactly one JSON object")
    cl = sub.add_parser("claims", help="every claim of the explanation, tested on the model")
    _add_checkpoint_options(cl, "print exactly one JSON list, one object per claim")
    fa = sub.add_parser("facts", help="every number one page of the app quotes")
    fa.add_argument("section", choices=SECTIONS, help="the page (its URL path)")
    _add_checkpoint_options(fa, "print exactly one JSON object")
    args = parser.parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
