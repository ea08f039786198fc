"""Pieces shared by the subcommands: reading inputs from arguments, checking outputs, ``-p KEY=VALUE``,
tables.

Every mistake a user can make on the command line ends as one line on stderr: a :class:`UsageError` (exit code
2) when the command line itself is wrong (an unknown ``-p`` key, an output suffix accord cannot write, a
folder that does not exist), any other :class:`~accord.AccordError` (exit code 1) when the data are.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from .._csv import neutralise_formulas
from .._progress import Status
from ..annotations import Annotations
from ..errors import AccordError, InvalidParameterError
from ..io.tables import read_annotations, read_gold
from ..io.write import OUTPUT_FORMATS
from ..io.write import write_table as write_frame
from ..models.registry import METHODS

__all__ = [
    "OUTPUT_FORMATS",
    "UsageError",
    "add_input_arguments",
    "add_output_safety_argument",
    "check_method",
    "check_output",
    "fit_guarded",
    "format_table",
    "load_annotations",
    "load_gold",
    "make_model_from_args",
    "parse_classes",
    "neutralise_formulas",
    "parse_params",
    "write_table",
]


class UsageError(InvalidParameterError):
    """The command line is wrong (exit code 2): a flag's value, a ``-p`` key, an output path."""


# ====================================================================== inputs
def add_model_arguments(parser: argparse.ArgumentParser, method_help: str) -> None:
    """``--task``, ``--method`` and ``--param``: what the annotations are and which model reads them."""
    parser.add_argument(
        "--task",
        default="labels",
        choices=["labels", "rating", "multilabel", "pairwise", "boxes", "segmentation"],
        help="what the annotations are: class labels (default), ratings, label sets, pairwise choices, "
        "bounding boxes or segmentation masks",
    )
    parser.add_argument(
        "--method",
        "-m",
        default=None,
        metavar="METHOD",
        help=method_help,
    )
    parser.add_argument(
        "--param",
        "-p",
        action="append",
        metavar="KEY=VALUE",
        help="a hyper-parameter of the method, e.g. -p alpha=1.0 (repeatable)",
    )


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """ANNOTATIONS plus the options that say how to read it."""
    parser.add_argument(
        "annotations", help="annotations file (.csv, .tsv, .parquet, .jsonl) or a tool's export"
    )
    group = parser.add_argument_group("reading the annotations")
    group.add_argument("--item-col", default=None, help="item column (default: item or task)")
    group.add_argument(
        "--annotator-col", default=None, help="annotator column (default: annotator or worker)"
    )
    group.add_argument(
        "--label-col",
        default=None,
        help="label column (default: label); with --from, the answer field or control to read",
    )
    group.add_argument(
        "--format", default=None, help="file format if the suffix does not say (csv, tsv, ...)"
    )
    group.add_argument(
        "--wide",
        action="store_true",
        help="the file is an items x annotators matrix (first column = item), empty = missing",
    )
    group.add_argument(
        "--empty-items",
        default="error",
        choices=["error", "drop"],
        help="with --wide: what to do with items nobody labelled (default: error)",
    )
    group.add_argument(
        "--classes", default=None, help="comma-separated classes, in order (default: the labels seen, sorted)"
    )
    group.add_argument(
        "--duplicates",
        default="error",
        choices=["error", "keep_first", "keep_last", "keep_all"],
        help="what to do with repeated (item, annotator) pairs (default: error)",
    )
    group.add_argument(
        "--missing",
        default="error",
        choices=["error", "drop"],
        help="what to do with rows whose label cell is empty or blank (default: error)",
    )
    group.add_argument(
        "--from",
        dest="source_format",
        default=None,
        metavar="TOOL",
        help="the file is an annotation tool's export: label_studio, sagemaker, mturk, toloka, "
        "prodigy, or auto (then --label-col / --item-col name the answer / item field)",
    )


def parse_classes(args: argparse.Namespace) -> list[str] | None:
    """The ``--classes`` list (names stripped), or None when the flag was not given."""
    if not getattr(args, "classes", None):
        return None
    classes = [c.strip() for c in args.classes.split(",")]
    if any(not c for c in classes):
        raise UsageError(
            f"--classes {args.classes!r} has an empty class name; give names separated by commas"
        )
    return classes


def load_annotations(args: argparse.Namespace) -> Annotations:
    """The annotations named by ``args`` (a table, or with ``--from`` a tool's export); notes go to stderr."""
    if getattr(args, "source_format", None):
        from ._import import load_export

        return load_export(args)
    classes = parse_classes(args)
    if args.wide:
        ann = read_annotations(
            args.annotations,
            format=args.format,
            layout="wide",
            classes=classes,
            empty_items=getattr(args, "empty_items", "error"),
        )
    else:
        ann = read_annotations(
            args.annotations,
            format=args.format,
            item=args.item_col,
            annotator=args.annotator_col,
            label=args.label_col,
            classes=classes,
            duplicates=args.duplicates,
            missing=args.missing,
        )
    if not getattr(args, "quiet", False):
        for line in ann.report:
            print(f"note: {line}", file=sys.stderr)
    return ann


def load_gold(path: str, annotations: Annotations, flag: str = "--gold") -> pd.Series:
    """Gold labels from ``path``, checked against the annotations the same way in every command: gold that
    matches no annotated item, or a gold label outside the classes, is an error naming the file."""
    gold = read_gold(path)
    try:
        annotations.encode_gold(gold)
    except AccordError as exc:
        raise type(exc)(f"{flag} {path}: {exc}") from None
    return gold


# ====================================================================== outputs
def check_output(
    path: str | None, flag: str = "--output", formats: dict[str, str] | None = None
) -> str | None:
    """Check an output path before any work is done: a known suffix, an existing folder (``-`` = stdout)."""
    if path is None or path == "-":
        return path
    known = formats or OUTPUT_FORMATS
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in known:
        names = ", ".join(sorted(set(known)))
        raise UsageError(
            f"{flag} {path}: accord cannot write {suffix or 'a file without a suffix'}; "
            f"name it with one of {names} (or - for standard output)"
        )
    parent = p.parent
    if not parent.exists():
        raise UsageError(f"{flag} {path}: the folder {parent} does not exist; create it first")
    if not parent.is_dir():
        raise UsageError(f"{flag} {path}: {parent} is not a folder")
    if p.is_dir():
        raise UsageError(f"{flag} {path} is a folder; give a file name")
    return path


def add_output_safety_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-formulas",
        action="store_true",
        help="write text cells that start with =, +, - or @ as they are (by default they get a "
        "leading ' so that spreadsheets do not run them as formulas)",
    )
    parser.add_argument(
        "--float-digits",
        type=_digits,
        default=None,
        metavar="N",
        help="write numbers in CSV/TSV output with N digits after the decimal point (as %%.Nf): faster "
        "and smaller; default: the shortest text that reads back to the same number",
    )


def _digits(text: str) -> int:
    try:
        digits = int(text)
    except ValueError:
        digits = -1
    if not 0 <= digits <= 20:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of digits from 0 to 20")
    return digits


def write_table(
    frame: pd.DataFrame, path: str | Path, *, allow_formulas: bool = False, float_digits: int | None = None
) -> None:
    """Write CSV, TSV, Parquet, JSON (a list of records) or JSON Lines by suffix; ``-`` writes CSV to stdout.

    CSV and TSV cells that could run as spreadsheet formulas are neutralised
    (:func:`accord._csv.neutralise_formulas`) unless ``allow_formulas``; ``float_digits`` (``--float-digits``)
    writes CSV/TSV floats with that many digits after the decimal point.
    """
    text = str(path)
    suffix = ".csv" if text == "-" else Path(text).suffix.lower()
    fmt = OUTPUT_FORMATS.get(suffix)
    if fmt is None:
        raise UsageError(f"cannot write {text}: use .csv, .tsv, .parquet, .json or .jsonl")
    if float_digits is not None and not 0 <= float_digits <= 20:
        raise UsageError(f"--float-digits {float_digits}: give a number of digits from 0 to 20")
    write_frame(frame, text, fmt=fmt, escape_formulas=not allow_formulas, float_digits=float_digits)


# ====================================================================== -p KEY=VALUE and fitting
def parse_params(pairs: list[str] | None) -> dict[str, Any]:
    """``["alpha=0.5", "max_iter=50"]`` -> ``{"alpha": 0.5, "max_iter": 50}``."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise UsageError(f"-p expects KEY=VALUE, got {pair!r} (e.g. -p alpha=1.0)")
        key, value = pair.split("=", 1)
        if not key.strip():
            raise UsageError(f"-p {pair!r} has no key before '='")
        out[key.strip()] = _parse_value(value.strip())
    return out


def _parse_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def check_method(method: str | None, default: str = "ds") -> str:
    """``--method`` for class labels: a registered method name (``None`` gives ``default``)."""
    method = method or default
    if method not in METHODS:
        raise UsageError(f"unknown --method {method!r}; choose one of {', '.join(sorted(METHODS))}")
    return method


def _keys(cls: type) -> list[str] | None:
    """The keyword parameters of ``cls.__init__`` (``None`` when it takes ``**kwargs``)."""
    params = inspect.signature(cls).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [
        p.name for p in params if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def _shown(params: dict[str, Any]) -> str:
    return " ".join(f"-p {k}={v}" for k, v in params.items())


def make_model_from_args(
    method: str, params: dict[str, Any], methods: Mapping[str, type], factory: Callable[..., Any]
) -> Any:
    """The model ``--method`` names, with its ``-p`` parameters checked: an unknown key lists the valid ones,
    and a value the model refuses is a usage error naming the flag."""
    cls = methods[method]
    keys = _keys(cls)
    if keys is not None:
        unknown = [k for k in params if k not in keys]
        if unknown:
            raise UsageError(
                f"--method {method} has no parameter {', '.join(unknown)}; its parameters are "
                f"{', '.join(keys) or '(none)'}"
            )
    try:
        return factory(method, **params)
    except InvalidParameterError as exc:
        raise UsageError(f"--method {method} {_shown(params)}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--method {method} {_shown(params)}: {str(exc).splitlines()[0]}") from None


def fit_guarded(fit: Callable[[], Any], method: str, params: dict[str, Any]) -> Any:
    """Run ``fit``; an arithmetic error caused by a ``-p`` value (a zero step, an overflow) is a usage error
    that
    names the parameters instead of a traceback."""
    try:
        return fit()
    except (ZeroDivisionError, OverflowError, FloatingPointError) as exc:
        if not params:
            raise
        raise UsageError(
            f"--method {method} cannot fit with {_shown(params)} ({type(exc).__name__}: {exc}); "
            "choose other -p values"
        ) from None
    except InvalidParameterError as exc:
        if not params or isinstance(exc, UsageError):
            raise
        raise UsageError(f"--method {method} {_shown(params)}: {exc}") from None


@contextmanager
def status(label: str, quiet: bool = False) -> Iterator[Status]:
    """A status line on stderr while long work runs (only on a terminal, never with ``--quiet``)."""
    with Status(label, quiet=quiet) as line:
        yield line


# ====================================================================== printing
def format_table(frame: pd.DataFrame, floatfmt: str = "{:.3f}", max_rows: int = 20) -> str:
    """A plain aligned text table (no dependency), at most ``max_rows`` rows."""
    shown = frame.head(max_rows)
    cells = [[str(c) for c in shown.columns]]
    for row in shown.itertuples(index=False):
        cells.append([floatfmt.format(v) if isinstance(v, float) else str(v) for v in row])
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = [
        "  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if len(frame) > max_rows:
        lines.append(f"... {len(frame) - max_rows} more rows")
    return "\n".join(lines)
