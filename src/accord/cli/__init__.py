"""The ``accord`` command line: a thin layer over the public API.

Subcommands live one per module in this package and are found automatically: a module ``accord/cli/NAME.py``
that defines ``register(subparsers)`` adds ``accord NAME``. ``register`` must set ``func`` (a callable taking
the parsed arguments and returning an exit code) with ``parser.set_defaults(func=...)``.

Exit codes: 0 ok, 1 data error (one line on stderr, no traceback), 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings
from collections.abc import Sequence

from ..errors import AccordError

__all__ = ["main", "build_parser"]

EPILOG = """examples:
  accord demo
  accord aggregate annotations.csv --method ds --output consensus.csv --annotators annotators.csv
  accord aggregate export.csv --item-col task --annotator-col worker --label-col answer -o out.csv
  accord aggregate export.json --from label_studio -o consensus.csv
  accord report annotations.csv --gold gold.csv --output report.html
  accord bench ../shared/data --output bench.md
"""


def build_parser() -> argparse.ArgumentParser:
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="accord",
        description="Consensus labels and annotator quality from many annotators.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"accord {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code = int(args.func(args) or 0)
        for message in _unique(str(w.message) for w in caught if not _is_internal(w)):
            print(f"accord: warning: {message}", file=sys.stderr)
        return code
    except AccordError as exc:
        print(f"accord: error: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"accord: error: {exc.strerror or exc}: {exc.filename}", file=sys.stderr)
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


def _unique(messages) -> list[str]:
    seen: dict[str, None] = {}
    for m in messages:
        seen.setdefault(m, None)
    return list(seen)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
