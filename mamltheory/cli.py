"""Command line: `mamltheory plan | simulate | ...`; thin, each command lives with its subpackage."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mamltheory.errors import InputError, StoreError


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # noqa: D102 (argparse API)
        sys.stderr.write(f"{self.prog}: {message}\n")
        raise SystemExit(2)


# Command name -> module with add_parser(subparsers); imported only when that command runs (cold start).
COMMANDS = {
    "plan": "mamltheory.bounds.command:add_parser",
    "simulate": "mamltheory.simulate.command:add_parser",
    "audit": "mamltheory.verify.command:add_audit_parser",
    "verify": "mamltheory.verify.command:add_verify_parser",
    "report": "mamltheory.report.command:add_parser",
    "sweep": "mamltheory.sweep.command:add_parser",
    "estimate": "mamltheory.estimate.command:add_parser",
    "store": "mamltheory.store_command:add_parser",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser; with `only`, just that command's sub-parser is built."""
    import importlib

    parser = OneLineParser(prog="mamltheory", description=__doc__)
    sub = parser.add_subparsers(dest="command", parser_class=OneLineParser)
    for name, target in COMMANDS.items():
        if only in (None, name):
            module, function = target.split(":")
            try:
                found = importlib.import_module(module)
            except ModuleNotFoundError as err:
                if not err.name or not module.startswith(err.name):  # a real import error inside it: surface it
                    raise
                continue  # a command whose package is not built yet
            getattr(found, function)(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mamltheory` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["plan"]
    parser = build_parser(argv[0] if argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except (InputError, StoreError) as err:
        sys.stderr.write(f"mamltheory {args.command}: {err}\n")
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
