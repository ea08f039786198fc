"""``--from TOOL``: read an annotation tool's export for any subcommand that takes ANNOTATIONS."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

from ..annotations import Annotations
from ..errors import DataQualityWarning
from ..io import canonical_format, detect_format, read

# Which reader option --label-col and --item-col stand for, per format.
LABEL_OPTION = {"label_studio": "from_name", "sagemaker": "field", "mturk": "label", "toloka": "label"}
ITEM_OPTION = {"mturk": "item", "toloka": "item", "prodigy": "item"}


def export_options(fmt: str, args: argparse.Namespace) -> dict[str, Any]:
    """Reader keywords from the generic input arguments (classes, duplicates, --label-col, --item-col)."""
    options: dict[str, Any] = {"duplicates": getattr(args, "duplicates", "error")}
    if getattr(args, "classes", None):
        options["classes"] = args.classes.split(",")
    if getattr(args, "label_col", None) and fmt in LABEL_OPTION:
        options[LABEL_OPTION[fmt]] = args.label_col
    if getattr(args, "item_col", None) and fmt in ITEM_OPTION:
        options[ITEM_OPTION[fmt]] = args.item_col
    return options


def load_export(args: argparse.Namespace) -> Annotations:
    """Read ``args.annotations`` with the importer named by ``args.source_format``; notes go to stderr.

    The gold labels the export carries (Toloka ``GOLDEN:*``, Label Studio ground truth, ...) are left on
    ``args.imported_gold`` (a Series, empty when there are none) for the subcommand to use.
    """
    fmt = args.source_format.lower()
    fmt = detect_format(args.annotations) if fmt == "auto" else canonical_format(fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # the same facts are in the report lines below
        imported = read(args.annotations, format=fmt, **export_options(fmt, args))
    if not getattr(args, "quiet", False):
        for line in imported.annotations.report:
            print(f"note: {line}", file=sys.stderr)
        if len(imported.gold):
            print(f"note: the export has gold labels for {len(imported.gold)} item(s)", file=sys.stderr)
    args.imported_gold = imported.gold
    return imported.annotations
