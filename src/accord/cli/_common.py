"""Pieces shared by the subcommands: reading annotations from arguments, parsing KEY=VALUE, printing
tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ..annotations import Annotations
from ..errors import AccordError, InvalidParameterError


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """ANNOTATIONS plus the options that say how to read it."""
    parser.add_argument("annotations", help="annotations file (.csv, .tsv, .parquet, .jsonl)")
    group = parser.add_argument_group("reading the annotations")
    group.add_argument("--item-col", default=None, help="item column (default: item or task)")
    group.add_argument(
        "--annotator-col", default=None, help="annotator column (default: annotator or worker)"
    )
    group.add_argument("--label-col", default=None, help="label column (default: label)")
    group.add_argument(
        "--format", default=None, help="file format if the suffix does not say (csv, tsv, ...)"
    )
    group.add_argument(
        "--wide",
        action="store_true",
        help="the file is an items x annotators matrix (first column = item), empty = missing",
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
        help="what to do with rows without a label (default: error)",
    )
    group.add_argument(
        "--from",
        dest="source_format",
        default=None,
        metavar="TOOL",
        help="the file is an annotation tool's export: label_studio, sagemaker, mturk, toloka, "
        "prodigy, or auto (then --label-col / --item-col name the answer / item field)",
    )


def load_annotations(args: argparse.Namespace) -> Annotations:
    if getattr(args, "source_format", None):
        from ._import import load_export

        return load_export(args)
    classes = args.classes.split(",") if args.classes else None
    if args.wide:
        return Annotations.read(args.annotations, format=args.format, layout="wide", classes=classes)
    ann = Annotations.read(
        args.annotations,
        format=args.format,
        item=args.item_col,
        annotator=args.annotator_col,
        label=args.label_col,
        classes=classes,
        duplicates=args.duplicates,
        missing=args.missing,
    )
    for line in ann.report:
        print(f"note: {line}", file=sys.stderr)
    return ann


def parse_params(pairs: list[str] | None) -> dict[str, Any]:
    """``["alpha=0.5", "max_iter=50"]`` -> ``{"alpha": 0.5, "max_iter": 50}``."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise InvalidParameterError(f"--param expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
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


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write CSV, TSV or Parquet by suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            frame.to_parquet(path, index=False)
        except ImportError:
            raise AccordError("writing Parquet needs pyarrow: pip install 'accord[parquet]'") from None
    elif suffix in (".tsv", ".tab"):
        frame.to_csv(path, sep="\t", index=False)
    else:
        frame.to_csv(path, index=False)


def format_table(frame: pd.DataFrame, floatfmt: str = "{:.3f}", max_rows: int = 20) -> str:
    """A plain aligned text table (no dependency), at most ``max_rows`` rows."""
    shown = frame.head(max_rows)
    cells = [[str(c) for c in shown.columns]]
    for row in shown.itertuples(index=False):
        cells.append([floatfmt.format(v) if isinstance(v, float) else str(v) for v in row])
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = [
        "  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths, strict=False)))
        for r in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if len(frame) > max_rows:
        lines.append(f"... {len(frame) - max_rows} more rows")
    return "\n".join(lines)
