"""The ``accord`` command line: a thin layer over the public API.

Subcommands live one per module in this package and are found automatically: a module ``accord/cli/NAME.py``
that defines ``register(subparsers)`` adds ``accord NAME``. ``register`` must set ``func`` (a callable taking
the parsed arguments and returning an exit code) with ``parser.set_defaults(func=...)``.

Exit codes: 0 ok, 1 data error, 2 usage error (a wrong flag or flag value, an unknown ``-p`` key, an output
suffix accord cannot write); every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import pkgutil
import sys
import threading
import warnings
from collections.abc import Iterable, Sequence
from typing import NoReturn

from .._hints import cli_messages
from ..errors import AccordError
from ._common import UsageError

__all__ = ["main", "build_parser", "entry"]

EPILOG = """examples:
  accord demo
  accord aggregate annotations.csv --method ds --output consensus.csv --annotators annotators.csv
  accord aggregate export.csv --item-col task --annotator-col worker --label-col answer -o out.csv
  accord aggregate export.json --from label_studio -o consensus.csv
  accord report annotations.csv --gold gold.csv --output report.html
  accord bench ../shared/data --output bench.md
"""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit code 2), like every other accord error."""

    def error(self, message: str) -> NoReturn:
        where = "" if self.prog == "accord" else f"{self.prog}: "
        self.exit(2, f"accord: error: {where}{message} (see {self.prog} --help)\n")


def _subcommands() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or with ``only`` of that subcommand alone: importing every subcommand's
    module costs about 0.2 s, which a command line that names one need not pay."""
    from .._version import __version__

    parser = _Parser(
        prog="accord",
        description="Consensus labels and annotator quality from many annotators.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"accord {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _subcommands():
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"{__name__}.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (0 ok, 1 data error, 2 usage error, 130 interrupted)."""
    with cli_messages():
        words = list(sys.argv[1:] if argv is None else argv)
        parser = build_parser(words[0] if words and words[0] in _subcommands() else None)
        args = parser.parse_args(argv)
        if getattr(args, "func", None) is None:
            parser.print_help(sys.stderr)
            return 2
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code = int(args.func(args) or 0)
        for message in _unique(str(w.message) for w in caught if not _is_internal(w)):
            print(f"accord: warning: {_one_line(message)}", file=sys.stderr)
        return code
    except UsageError as exc:  # the command line is wrong: a -p key or value, an output path, a flag's value
        print(f"accord: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except AccordError as exc:
        print(f"accord: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        print(f"accord: error: {_one_line(exc.strerror or exc)}: {exc.filename}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `accord aggregate ... | head`: the reader left, which is not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("accord: interrupted", file=sys.stderr)
        return 130


def _is_internal(w: warnings.WarningMessage) -> bool:
    """Deprecation noise from dependencies is not the user's business."""
    return issubclass(
        w.category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
    ) and "accord" not in (w.filename or "")


def _unique(messages: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for m in messages:
        seen.setdefault(m, None)
    return list(seen)


def entry() -> NoReturn:
    """The ``accord`` script and ``python -m accord``: :func:`main`, then the exit handlers, then the process
    ends without the interpreter's teardown of every module and object, which takes 0.3-0.4 s after a fit on
    10^7 annotations and does nothing a user needs: every output is written, closed and flushed when
    :func:`main` returns. (An exception or ``SystemExit`` from :func:`main` takes the ordinary way out.)"""
    code = main()
    # What the interpreter's own exit does before its teardown: wait for non-daemon threads (and run
    # concurrent.futures' joins), then the atexit handlers (the compiled-kernel warm-up's join, Dask's close).
    getattr(threading, "_shutdown", lambda: None)()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that left (`| head`), a stream already closed
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
