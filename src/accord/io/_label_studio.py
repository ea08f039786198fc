"""What the Label Studio readers share (choices in ``label_studio.py``, label sets in
``label_studio_multilabel.py``, rectangles in ``boxes_label_studio.py``): the export's name and layout, the
JSON_MIN metadata columns, user ids, task places for messages, choosing the control, and a CSV or TSV export
as JSON_MIN records."""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from .._hints import option
from ..errors import InvalidAnnotationsError
from ._base import read_text_table, text

__all__ = [
    "FMT",
    "MIN_META",
    "csv_records",
    "export_layout",
    "pick_control",
    "source_name",
    "task_list",
    "task_where",
    "user_id",
]

FMT = "Label Studio"
# JSON_MIN / CSV columns that are not controls
MIN_META = frozenset(
    {
        "_where", "id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement",
        "task", "project", "drafts", "predictions", "meta", "file_upload", "inner_id", "total_annotations",
        "cancelled_annotations", "total_predictions", "updated_by", "completed_by",
    }
)  # fmt: skip


def source_name(source: Any) -> str:
    """How messages name the export: its path, or "Label Studio data" for parsed JSON."""
    return str(source) if isinstance(source, (str, Path)) else "Label Studio data"


def task_list(data: Any) -> Any:
    """One exported task (an object with ``annotations`` or ``completions``) as a list of one; anything else
    as it is."""
    if isinstance(data, dict) and ("annotations" in data or "completions" in data):
        return [data]
    return data


def export_layout(records: list[dict[str, Any]], name: str) -> Literal["tasks", "min"]:
    """``"tasks"`` for the JSON export (records with annotations), ``"min"`` for JSON_MIN (records with an
    annotator); anything else is not a Label Studio export."""
    if any("annotations" in t or "completions" in t for t in records):
        return "tasks"
    if any("annotator" in t for t in records):
        return "min"
    raise InvalidAnnotationsError(
        f"{name} is not a Label Studio export: its records have neither 'annotations' (JSON export) nor "
        "'annotator' (JSON_MIN)"
    )


def user_id(value: Any) -> str | None:
    """A user as an annotator id: from a user object its email, else its id; a plain id as text."""
    if isinstance(value, dict):
        return text(value.get("email")) or text(value.get("id"))
    return text(value)


def task_where(task: dict[str, Any], pos: int, k: int | None = None) -> str:
    """A task (and its ``k``-th annotation) as messages name it: by its id, else by its place."""
    tid = task.get("id")
    name = f"task id {tid!r}" if isinstance(tid, (str, int)) else f"task {pos + 1} (counting from 1)"
    return name + ("" if k is None else f", annotation {k + 1}")


def pick_control(
    names: Collection[str], from_name: str | None, source: str, kind: str, *, strict: bool = True
) -> str | None:
    """The control to read among the ``names`` the export uses (``kind``: "choice", "rectangle"): the one
    named, else the only one. A name the export does not use is an error (when ``strict`` is false, only if
    the export uses some control)."""
    if from_name is not None:
        if from_name not in names and (strict or names):
            raise InvalidAnnotationsError(
                f"{source}: no {kind} control named {from_name!r}; the export has {sorted(names) or 'none'}"
            )
        return from_name
    if len(names) > 1:
        raise InvalidAnnotationsError(
            f"{source}: the export has several {kind} controls {sorted(names)}; name the one to aggregate "
            f"with {option('from_name=...', '--label-col NAME')}"
        )
    return next(iter(names), None)


def csv_records(path: Path, cell: Callable[[Any], Any]) -> tuple[str, pd.DataFrame, list[dict[str, Any]]]:
    """A CSV or TSV export (by its suffix): its kind ("CSV" or "TSV"), its table read as text, and its rows
    as JSON_MIN records (each cell through ``cell``; ``_where`` names the line)."""
    kind = "TSV" if path.suffix.lower() == ".tsv" else "CSV"
    frame = read_text_table(path, "\t" if kind == "TSV" else ",", FMT)
    records = []
    for line, row in zip(range(2, len(frame) + 2), frame.to_dict("records"), strict=True):
        rec = {str(k): cell(v) for k, v in row.items()}
        rec["_where"] = f"line {line}"
        records.append(rec)
    return kind, frame, records
