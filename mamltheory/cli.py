"""Command line: `mamltheory plan | simulate | ...`; thin, each command lives with its subpackage."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

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


# What a command interrupted by Ctrl-C leaves behind. Every store write is one transaction, so the store
# stays intact whenever the interrupt comes; "{store}" is the store the command was given.
INTERRUPTED = {
    "simulate": "interrupted; the run had not finished, so nothing of it was stored ({store} is intact); "
                "rerun the same command to start it again",
    "sweep": "interrupted; finished runs are kept in {store}, rerun the same command to resume "
             "(they are not recomputed)",
    "verify": "interrupted; finished simulation runs are kept in {store}, rerun the same command to resume",
    "report": "interrupted; finished simulation runs are kept in {store}, rerun the same command to resume",
}
DEFAULT_STORE_NAME = "mamltheory-results.sqlite"  # the default store, in the current folder


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread: every handler of Ctrl-C (pool cleanup, store rollback) applies."""


def _on_sigterm(signum: int, frame: object) -> None:
    # Once: a second SIGTERM during the cleanup must not interrupt the cleanup itself.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises Terminated inside the block (main thread only); the previous handler is restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted_line(command: str, args: argparse.Namespace | None, terminated: bool = False) -> str:
    """The one line printed on Ctrl-C (or SIGTERM): what was kept and how to resume."""
    store = getattr(args, "store", None) or DEFAULT_STORE_NAME
    text = INTERRUPTED.get(command, "interrupted; nothing was written").format(store=store)
    if terminated:
        text = "terminated (SIGTERM)" + text.removeprefix("interrupted")
    return f"{_prog(command)}: {text}"


def _prog(command: str | None) -> str:
    return f"mamltheory {command}" if command else "mamltheory"


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
    command = argv[0] if argv[0] in COMMANDS else None
    args: argparse.Namespace | None = None
    try:
        with sigterm_as_interrupt():
            parser = build_parser(command)
            args = parser.parse_args(argv)
            if args.command is None:
                parser.print_help()
                return 0
            return int(args.run(args) or 0)
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (Terminated): exit 130 or 143 (128 + the signal)
        terminated = isinstance(stop, Terminated)
        sys.stderr.write(interrupted_line(getattr(args, "command", None) or command or "", args, terminated) + "\n")
        return 128 + int(signal.SIGTERM if terminated else signal.SIGINT)
    except (InputError, StoreError) as err:
        sys.stderr.write(f"{_prog(getattr(args, 'command', None) or command)}: {err}\n")
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except OSError as err:  # an output path or store that cannot be written (disk full, permissions, ...)
        where = f": {err.filename}" if err.filename else ""
        sys.stderr.write(f"{_prog(getattr(args, 'command', None) or command)}: {err.strerror or err}{where}\n")
        return 2


def entry() -> None:
    """The `mamltheory` console script: exit with main()'s status.

    After a Ctrl-C or SIGTERM (status 130 or 143, its one line already written) the process ends with
    os._exit, flushing first: a KeyboardInterrupt raised inside a C extension's lazy setup (torch's first derivative call) can
    leave CPython marked as interrupted, and its teardown would then re-raise SIGINT and end the process by
    the signal instead of with status 130."""
    code = main()
    if code in (130, 143):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    entry()
