"""Label Studio exports of bounding boxes (``RectangleLabels``): JSON, JSON_MIN and CSV.

Coordinates stay in Label Studio's units: percent of the image's ``original_width`` / ``original_height``
(IoU does not change with the units; the image sizes are kept in ``Boxes.image_sizes``).

- **JSON** (the full export): a list of tasks ``{"id", "data", "annotations": [{"id", "completed_by",
  "was_cancelled", "result": [{"type": "rectanglelabels", "from_name", "original_width", "original_height",
  "value": {"x", "y", "width", "height", "rotation", "rectanglelabels": [label]}}]}]}``.
- **JSON_MIN**: a list of records, one per annotation: the task's data fields, ``"id"`` (the task),
  ``"annotator"``, ``"annotation_id"`` and, under the control's name, a list of the boxes' ``value`` objects.
- **CSV**: the JSON_MIN records as rows; the box list is a JSON string in the control's column.

An annotation without any box counts: its annotator looked at the task and drew nothing. Skipped, and
counted: cancelled annotations, annotations without an annotator, rotated boxes, boxes with several labels or
none, boxes without coordinates or with a zero size. Model ``predictions`` are ignored.

Label Studio's YOLO and Pascal VOC exports write one label file per image, so only one annotation per task
survives, and its COCO export drops the annotator of each box; those files are refused with an error that
says to export JSON, JSON_MIN or CSV instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InvalidAnnotationsError
from ..tasks.boxes import BoxCollector, Boxes
from ._base import load_json, text
from ._label_studio import FMT, export_layout, pick_control, source_name, task_list, user_id

__all__ = ["read", "refuse_lossy_export"]

_USE_INSTEAD = "export the project as JSON, JSON_MIN or CSV instead (Export > JSON) and read that file"
_NUMBERS = re.compile(r"^\s*\d+(\s+[-+0-9.eE]+){4}\s*$")


def read(
    source: str | Path | list[Any] | dict[str, Any],
    *,
    from_name: str | None = None,
    classes: Sequence[Any] | None = None,
) -> Boxes:
    """Read a Label Studio JSON, JSON_MIN or CSV export of rectangles (a path, or the parsed JSON list).

    Parameters
    ----------
    source : path or list
    from_name : str, optional
        The ``RectangleLabels`` control to read (its ``name``; the column in JSON_MIN and CSV), needed only
        when the export has several.
    classes : sequence, optional
        The label set and its order (a label outside it is an error).
    """
    name = source_name(source)
    out = BoxCollector(FMT, name, "percent")
    if isinstance(source, (str, Path)):
        path = Path(source)
        refuse_lossy_export(path)
        if path.suffix.lower() in (".csv", ".tsv"):
            _read_csv(path, out, from_name)
            return out.build(classes)
        data = load_json(path, FMT)
    else:
        data = source
    _refuse_coco(data, name)
    data = task_list(data)
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise InvalidAnnotationsError(
            f"{name} is not a Label Studio export: expected a JSON list of tasks (JSON) or of records "
            "(JSON_MIN)"
        )
    if export_layout(data, name) == "tasks":
        _read_tasks(data, out, from_name)
    else:
        _read_min(data, out, from_name)
    return out.build(classes)


# ------------------------------------------------------------------------------------------- refusals
def refuse_lossy_export(path: Path) -> None:
    """Raise for Label Studio's YOLO, Pascal VOC or COCO exports (and zips of them), naming what to use."""
    if not path.exists():
        raise InvalidAnnotationsError(f"no such file or folder: {path}")
    suffix = path.suffix.lower()
    if path.is_dir():
        if (path / "classes.txt").exists() or (path / "labels").is_dir() or (path / "notes.json").exists():
            _refuse(path, "YOLO")
        if (path / "Annotations").is_dir() or any(path.glob("*.xml")):
            _refuse(path, "Pascal VOC")
        raise InvalidAnnotationsError(
            f"{path} is a folder; expected a Label Studio export file. {_USE_INSTEAD}"
        )
    if suffix == ".zip":
        raise InvalidAnnotationsError(
            f"{path} is a zip: Label Studio's YOLO, VOC and COCO exports come as zips, and they keep only "
            f"one annotation per task or drop the annotators; {_USE_INSTEAD}"
        )
    if suffix == ".xml":
        _refuse(path, "Pascal VOC")
    if suffix == ".txt":
        first = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[:1]
        if not first or _NUMBERS.match(first[0]) or path.name == "classes.txt":
            _refuse(path, "YOLO")


def _refuse(path: Path | str, kind: str) -> None:
    raise InvalidAnnotationsError(
        f"{path} looks like Label Studio's {kind} export, which writes one label file per image and so keeps "
        f"only one annotation per task: the annotators cannot be compared; {_USE_INSTEAD}"
    )


def _refuse_coco(data: Any, name: str) -> None:
    if isinstance(data, dict) and {"images", "annotations", "categories"} <= set(data):
        raise InvalidAnnotationsError(
            f"{name} looks like Label Studio's COCO export, which drops the annotator of each box, so the "
            f"annotators cannot be told apart; {_USE_INSTEAD}"
        )


# ------------------------------------------------------------------------------------------- shared
def _add_box(out: BoxCollector, item: str, annotator: str, value: Any, where: str) -> None:
    """One rectangle ``value`` (``x, y, width, height, rotation, rectanglelabels``)."""
    if not isinstance(value, dict):
        out.skip("box that is not a JSON object")
        return
    if _rotation(value) != 0:
        out.skip("rotated box (rotation is not 0)")
        return
    labels = value.get("rectanglelabels", value.get("labels"))
    if isinstance(labels, str):
        labels = [labels]
    if not labels:
        out.skip("box without a label")
        return
    if len(labels) > 1:
        out.skip("box with several labels")
        return
    out.add_size(item, value.get("original_width"), value.get("original_height"))
    out.add(item, annotator, text(labels[0]), [value.get(k) for k in ("x", "y", "width", "height")], where)


def _rotation(value: dict[str, Any]) -> float:
    try:
        return float(value.get("rotation") or 0.0)
    except (TypeError, ValueError):
        return 1.0


def _rectangle_control(names: set[str], from_name: str | None, source: str) -> str | None:
    return pick_control(names, from_name, source, "rectangle", strict=False)


# ------------------------------------------------------------------------------------------- JSON export
def _is_rectangle(result: Any) -> bool:
    if not isinstance(result, dict) or not isinstance(result.get("value"), dict):
        return False
    return str(result.get("type", "")).lower() in ("rectanglelabels", "rectangle") or (
        "rectanglelabels" in result["value"]
    )


def _read_tasks(tasks: list[dict[str, Any]], out: BoxCollector, from_name: str | None) -> None:
    names = {
        str(r.get("from_name"))
        for t in tasks
        for a in (t.get("annotations") or t.get("completions") or [])
        if isinstance(a, dict)
        for r in (a.get("result") or [])
        if _is_rectangle(r)
    }
    control = _rectangle_control(names, from_name, out.source)
    n_predictions = 0
    for pos, task in enumerate(tasks):
        item = text(task.get("id")) or f"task{pos}"
        n_predictions += len(task.get("predictions") or [])
        for k, ann in enumerate(task.get("annotations") or task.get("completions") or []):
            _read_annotation(ann, item, k, control, out)
    if control is not None:
        out.notes.append(f"boxes from the rectangle control {control!r} (percent of the image)")
    if n_predictions:
        out.notes.append(f"ignored {n_predictions} model prediction(s)")


def _read_annotation(ann: Any, item: str, k: int, control: str | None, out: BoxCollector) -> None:
    if not isinstance(ann, dict):
        out.skip("annotation that is not a JSON object")
        return
    if ann.get("was_cancelled") or ann.get("skipped"):
        out.skip("cancelled or skipped annotation")
        return
    annotator = user_id(ann.get("completed_by"))
    if annotator is None:
        out.skip("annotation without an annotator")
        return
    results = ann.get("result") or []
    if not isinstance(results, list):
        raise InvalidAnnotationsError(
            f"{out.source}, task {item}, annotation {ann.get('id', k)}: 'result' is not a list"
        )
    out.add_seen(item, annotator)
    for r in results:
        if _is_rectangle(r) and str(r.get("from_name")) == control:
            value = dict(r["value"])
            value.setdefault("original_width", r.get("original_width"))
            value.setdefault("original_height", r.get("original_height"))
            where = f"task {item}, annotation {ann.get('id', k)}"
            if str(r.get("type", "")).lower() == "rectangle" and "rectanglelabels" not in value:
                out.skip("box without a label")
                continue
            _add_box(out, item, annotator, value, where)


# ------------------------------------------------------------------------------------------- JSON_MIN / CSV
def _box_list(value: Any) -> bool:
    """Whether a JSON_MIN cell is a list of rectangles."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and {"x", "y", "width", "height"} <= set(v) for v in value)
    )


def _read_min(records: list[dict[str, Any]], out: BoxCollector, from_name: str | None) -> None:
    names = {k for rec in records for k, v in rec.items() if _box_list(v)}
    control = _rectangle_control(names, from_name, out.source)
    for pos, rec in enumerate(records):
        item = text(rec.get("id")) or f"task{pos}"
        _read_record(rec.get("annotator"), item, rec.get(control) if control else None, pos + 1, out)
    if control is not None:
        out.notes.append(f"JSON_MIN boxes from the column {control!r} (percent of the image)")


def _read_record(annotator_value: Any, item: str, boxes: Any, where: int, out: BoxCollector) -> None:
    annotator = user_id(annotator_value)
    if annotator is None:
        out.skip("annotation without an annotator")
        return
    out.add_seen(item, annotator)
    if boxes is None:
        return
    if not isinstance(boxes, list):
        raise InvalidAnnotationsError(
            f"{out.source}, record {where} (task {item}): the box column holds {type(boxes).__name__}, "
            "expected a list of rectangles"
        )
    for value in boxes:
        _add_box(out, item, annotator, value, f"record {where} (task {item})")


def _read_csv(path: Path, out: BoxCollector, from_name: str | None) -> None:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        frame = pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
        )
    except pd.errors.EmptyDataError:
        raise InvalidAnnotationsError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidAnnotationsError(f"could not read {path} as a Label Studio CSV: {exc}") from None
    if "annotator" not in frame.columns:
        raise InvalidAnnotationsError(
            f"{path}: no 'annotator' column, so this is not a Label Studio CSV export; its columns are "
            f"{list(frame.columns)[:12]}"
        )
    control = _rectangle_control(_csv_box_columns(frame), from_name, str(path))
    for pos, row in enumerate(frame.itertuples(index=False)):
        rec = dict(zip(frame.columns, row, strict=True))
        item = text(rec.get("id")) or f"row{pos + 1}"
        cell = rec.get(control) if control else None
        boxes = _parse_cell(cell, path, pos + 2, item) if isinstance(cell, str) else None
        _read_record(rec.get("annotator"), item, boxes, pos + 2, out)
    if control is not None:
        out.notes.append(f"CSV boxes from the column {control!r} (percent of the image)")


def _csv_box_columns(frame: pd.DataFrame) -> set[str]:
    names = set()
    for col in frame.columns:
        cells = frame[col].dropna()
        cells = cells[cells.str.lstrip().str.startswith("[")].head(20)
        for cell in cells:
            try:
                if _box_list(json.loads(cell)):
                    names.add(str(col))
                    break
            except json.JSONDecodeError:
                continue
    return names


def _parse_cell(cell: str, path: Path, line: int, item: str) -> Any:
    try:
        return json.loads(cell)
    except json.JSONDecodeError as exc:
        raise InvalidAnnotationsError(
            f"{path}, line {line} (task {item}): the box column is not valid JSON ({exc.msg}); a Label "
            "Studio CSV stores each annotation's boxes as a JSON list"
        ) from None
