"""Bounding-box files: a labelling tool's export or a plain table, read into :class:`~accord.tasks.Boxes`.

:func:`read_boxes` dispatches on the format (guessed by :func:`detect_box_format` unless given):

================  ======================================================  ===================================
format            what                                                    reader
================  ======================================================  ===================================
``label_studio``  Label Studio JSON, JSON_MIN, CSV (``RectangleLabels``)  :mod:`accord.io.boxes_label_studio`
``sagemaker``     SageMaker Ground Truth worker responses, manifests      :mod:`accord.io.boxes_sagemaker`
``table``         CSV, TSV or Parquet, one row per box                    :func:`read_box_table`
================  ======================================================  ===================================

:func:`read_gold_boxes` reads the true boxes (``item, label, x, y, width, height``) that
:func:`accord.tasks.boxes.score_boxes` compares a consensus with.

>>> BOX_FORMATS
('label_studio', 'sagemaker', 'table')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InvalidAnnotationsError, InvalidParameterError
from ..tasks.boxes import COORDINATES, Boxes
from . import boxes_label_studio, boxes_sagemaker

__all__ = ["BOX_FORMATS", "detect_box_format", "read_box_table", "read_boxes", "read_gold_boxes"]

BOX_FORMATS = ("label_studio", "sagemaker", "table")
_FORMAT_ALIASES = {"labelstudio": "label_studio", "ls": "label_studio", "ground_truth": "sagemaker"}
_GOLD_ANNOTATOR = "(gold)"


def detect_box_format(path: str | Path) -> str:
    """``"sagemaker"``, ``"label_studio"`` or ``"table"`` from a file's suffix and content (folders: SageMaker
    job output, unless they look like a YOLO or VOC export, which the Label Studio reader refuses)."""
    p = Path(path)
    if not p.exists():
        raise InvalidAnnotationsError(f"no such file or folder: {p}")
    if p.is_dir():
        looks_ls = any((p / name).exists() for name in ("classes.txt", "notes.json", "labels", "Annotations"))
        return "label_studio" if looks_ls else "sagemaker"
    suffix = p.suffix.lower()
    if suffix in (".manifest", ".jsonl", ".ndjson"):
        return "sagemaker"
    if suffix == ".parquet" or (suffix in (".csv", ".tsv") and _plain_table_header(p)):
        return "table"
    if suffix == ".json":
        head = p.read_text(encoding="utf-8-sig", errors="replace")[:200_000]
        if '"answers"' in head and '"answerContent"' in head:
            return "sagemaker"
        first = head.lstrip().split("\n", 1)[0]
        if first.startswith("{") and "-metadata" in first:
            return "sagemaker"
    return "label_studio"


def _plain_table_header(path: Path) -> bool:
    """Whether a CSV/TSV's header names box coordinates (a plain long table rather than Label Studio's CSV,
    whose boxes sit in one JSON column)."""
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    names = {c.strip().strip('"').lower() for c in header.replace("\t", ",").split(",")}
    return bool(names & {"x", "left", "xmin"}) and bool(names & {"width", "w"})


def _load_table(path: Path, what: str) -> pd.DataFrame:
    """A CSV, TSV or Parquet file as a DataFrame, with an :class:`InvalidAnnotationsError` when it cannot be
    read."""
    if not path.is_file():
        raise InvalidAnnotationsError(f"no such file: {path}")
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    except ImportError:
        raise InvalidAnnotationsError(
            "reading Parquet needs pyarrow: pip install 'accord[parquet]'"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidAnnotationsError(f"could not read {path} as a table of {what}: {exc}") from None


def read_box_table(path: str | Path, **options: Any) -> Boxes:
    """A long table, one row per box (CSV, TSV or Parquet); ``options`` go to :meth:`Boxes.from_frame`
    (column names ``item=``, ``annotator=``, ``label=``, ``x=``, ... and ``classes=``)."""
    return Boxes.from_frame(_load_table(Path(path), "boxes"), **options)


def read_boxes(path: str | Path, format: str | None = None, **options: Any) -> Boxes:
    """Read the bounding boxes of a labelling tool's export.

    Parameters
    ----------
    path : str or Path
        A Label Studio JSON / JSON_MIN / CSV export, SageMaker Ground Truth worker responses (a job folder,
        a ``worker-response`` folder, one response file) or an output manifest, or a plain table with one
        row per box (CSV, TSV, Parquet: ``item, annotator, label, x, y, width, height``).
    format : {"label_studio", "sagemaker", "table"}, optional
        ``None`` or ``"auto"``: guessed from the file (a CSV whose header names ``x`` and ``width`` is a
        plain table, other CSVs are Label Studio's).
    **options
        Passed to the reader (:func:`accord.io.boxes_label_studio.read`,
        :func:`accord.io.boxes_sagemaker.read`, :func:`read_box_table`): ``field=`` (the Label Studio
        control, alias ``from_name=``; the SageMaker ``answerContent`` key), ``label_attribute=``
        (SageMaker manifests), ``classes=``; column names (``item=``, ``x=``, ...) for tables.

    Returns
    -------
    Boxes
        With ``report`` (what was skipped and why, one line each) and ``skipped`` (reason -> count).
    """
    if format in (None, "auto"):
        fmt = detect_box_format(path)
    else:
        fmt = str(format).strip().lower().replace("-", "_")
    fmt = _FORMAT_ALIASES.get(fmt, fmt)
    if fmt == "label_studio":
        if "field" in options:  # one keyword (CLI: --label-col) for both tools
            options["from_name"] = options.pop("field")
        return boxes_label_studio.read(path, **options)
    if fmt == "sagemaker":
        return boxes_sagemaker.read(path, **options)
    if fmt == "table":
        return read_box_table(path, **options)
    raise InvalidParameterError(
        f"unknown box export format {format!r}; choose one of {', '.join(BOX_FORMATS)}"
    )


def read_gold_boxes(path: str | Path, **columns: Any) -> pd.DataFrame:
    """The true boxes of some items: a CSV, TSV or Parquet table ``item, label, x, y, width, height``.

    Parameters
    ----------
    path : str or Path
    **columns
        Column names when they differ from the usual ones (``item=``, ``label=``, ``x=``, ``y=``,
        ``width=``, ``height=``; aliases such as ``image``, ``class``, ``left``, ``top`` are found).

    Returns
    -------
    DataFrame
        ``item, label, x, y, width, height``, one row per true box; rows with a missing id or label, a
        coordinate that is not a number or a box without area are refused with the rows named.
    """
    frame = _load_table(Path(path), "gold boxes")
    if "annotator" in columns:
        raise InvalidParameterError("gold boxes have no annotator column; drop annotator=")
    tagged = frame.assign(**{_GOLD_ANNOTATOR: _GOLD_ANNOTATOR})
    try:
        boxes = Boxes.from_frame(tagged, annotator=_GOLD_ANNOTATOR, **columns)
    except InvalidAnnotationsError as exc:
        raise InvalidAnnotationsError(f"gold boxes {path}: {exc}") from None
    return boxes.to_frame()[["item", "label", *COORDINATES]]
