"""Label Studio multiple-choice exports (``<Choices choice="multiple">``) as multi-label annotations.

The single-choice reader (:mod:`accord.io.label_studio`) skips an annotation with several choices; this one
reads each annotation as the *set* of classes it chose, for :mod:`accord.tasks.multilabel`:

- **JSON** (the full export): a list of tasks ``{"id", "annotations": [{"completed_by", "was_cancelled",
  "ground_truth", "result": [{"from_name", "type": "choices", "value": {"choices": ["a", "b"]}}]}],
  "predictions"}``;
- **JSON_MIN**: one record per annotation, ``{"id": task id, "annotator", "annotation_id", "<from_name>":
  value, ...task data}``, where the value is the label itself when one class was chosen and
  ``{"choices": ["a", "b"]}`` when several were;
- **CSV / TSV**: the JSON_MIN records as rows; a value with several choices is the JSON text
  ``{"choices": ["a", "b"]}``, a single choice the plain label.

An annotation that chose nothing for the control (no result for it, or an empty list of choices) counts as
the empty set: the annotator looked at the item and selected no class. Skipped, and counted in the report:
cancelled or skipped annotations, annotations without an annotator, ``ground_truth`` annotations (not votes),
and empty choice values inside a list. Model ``predictions`` are ignored. A value of the wrong shape (a
result that is not a list, a choice that is an object) is an error naming the task and the annotation.

>>> export = [{"id": 1, "annotations": [
...     {"completed_by": 7, "result": [{"from_name": "tags", "type": "choices",
...                                     "value": {"choices": ["cat", "dog"]}}]},
...     {"completed_by": 8, "result": []}]}]
>>> read(export)
MultiLabelAnnotations(1 items, 2 annotators, 2 classes ['cat', 'dog'], 2 annotated pairs, 2 selections)
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .._hints import option
from ..errors import DataQualityWarning, InvalidAnnotationsError
from ..tasks.multilabel import MultiLabelAnnotations
from ._base import load_json, text
from ._label_studio import (
    FMT,
    MIN_META,
    csv_records,
    export_layout,
    pick_control,
    source_name,
    task_list,
    task_where,
    user_id,
)

__all__ = ["read"]


class _Sets:
    """Accumulates (item, annotator, class) rows (``None`` = the empty set), skip reasons and notes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.rows: list[tuple[str, str, str | None]] = []
        self.skipped: Counter[str] = Counter()
        self.notes: list[str] = []
        self.pairs: Counter[tuple[str, str]] = Counter()

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def add(self, item: Any, annotator: Any, choices: list[str], where: str) -> None:
        item_id, annotator_id = text(item), _annotator(annotator, where, self.source)
        if item_id is None:
            self.skip("annotation without a task id")
            return
        if annotator_id is None:
            self.skip("annotation without an annotator")
            return
        self.pairs[item_id, annotator_id] += 1
        if not choices:
            self.rows.append((item_id, annotator_id, None))
        for choice in choices:
            self.rows.append((item_id, annotator_id, choice))

    def build(self, classes: Sequence[Any] | None) -> MultiLabelAnnotations:
        if not self.rows:
            why = "; ".join(f"{n} {r}" for r, n in self.skipped.items()) or "the export has no annotations"
            raise InvalidAnnotationsError(
                f"{self.source}: no usable {FMT} multiple-choice annotation ({why})"
            )
        frame = pd.DataFrame(self.rows, columns=["item", "annotator", "label"])
        repeated = sum(1 for n in self.pairs.values() if n > 1)
        if repeated:
            self.notes.append(
                f"{repeated} (item, annotator) pair(s) annotated more than once: their sets are merged"
            )
        annotations = MultiLabelAnnotations.from_frame(frame, classes=classes, layout="long")
        report = [f"{FMT}: skipped {n} record(s): {r}" for r, n in self.skipped.items()]
        annotations.report = report + [f"{FMT}: {note}" for note in self.notes]
        if self.skipped:
            shown = "; ".join(f"{n} {r}" for r, n in self.skipped.items())
            warnings.warn(
                f"{self.source}: skipped {sum(self.skipped.values())} {FMT} record(s) ({shown})",
                DataQualityWarning,
                stacklevel=3,
            )
        return annotations


def read(
    source: str | Path | list[Any] | dict[str, Any],
    *,
    from_name: str | None = None,
    classes: Sequence[Any] | None = None,
) -> MultiLabelAnnotations:
    """Read a Label Studio JSON, JSON_MIN, CSV or TSV export of (multiple) choices as label sets.

    Parameters
    ----------
    source : path, list or dict
        The export file, or its parsed JSON.
    from_name : str, optional
        The ``Choices`` control to read (its ``name``; the column in JSON_MIN and CSV), needed only when the
        export has several.
    classes : sequence, optional
        The set and order of classes (a class nobody chose only appears in the output when given here).

    Returns
    -------
    MultiLabelAnnotations
        One set per (item, annotator); ``report`` says what was skipped and which control was read.
    """
    name = source_name(source)
    out = _Sets(name)
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() in (".csv", ".tsv"):
        _read_csv(Path(source), out, from_name)
        return out.build(classes)
    data = load_json(source, FMT) if isinstance(source, (str, Path)) else source
    data = task_list(data)
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise InvalidAnnotationsError(
            f"{name} is not a Label Studio export: expected a JSON list of tasks (JSON) or of records "
            "(JSON_MIN)"
        )
    if export_layout(data, name) == "tasks":
        _read_tasks(data, out, from_name)
    else:
        _read_min(data, out, from_name, "JSON_MIN")
    return out.build(classes)


# ------------------------------------------------------------------------------------------- shared
def _annotator(value: Any, where: str, source: str) -> str | None:
    if isinstance(value, list):
        raise InvalidAnnotationsError(
            f"{source}, {where}: the annotator is a list; expected a user id or email"
        )
    return user_id(value)


def _choice_list(value: Any, where: str, source: str) -> list[str]:
    """The choices of one value: a label, a list of labels, or ``{"choices": [...]}``; blanks dropped."""
    if isinstance(value, dict):
        if "choices" not in value:
            raise InvalidAnnotationsError(
                f"{source}, {where}: the value {json.dumps(value)[:80]} has no 'choices'; expected a "
                'label or {"choices": [...]}'
            )
        value = value["choices"]
    if value is None:
        return []
    if not isinstance(value, list):
        value = [value]
    out = []
    for choice in value:
        if isinstance(choice, (dict, list)):
            raise InvalidAnnotationsError(
                f"{source}, {where}: a choice is a JSON object or list, not a label"
            )
        label = text(choice)
        if label is not None and label not in out:
            out.append(label)
    return out


# ------------------------------------------------------------------------------------------- JSON export
def _annotations(task: dict[str, Any], where: str, source: str) -> list[Any]:
    value = task.get("annotations", task.get("completions"))
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidAnnotationsError(f"{source}, {where}: 'annotations' is not a list")
    return value


def _choice_results(ann: dict[str, Any], where: str, source: str) -> list[dict[str, Any]]:
    results = ann.get("result")
    if results is None:
        return []
    if not isinstance(results, list):
        raise InvalidAnnotationsError(f"{source}, {where}: 'result' is not a list of results")
    return [
        r
        for r in results
        if isinstance(r, dict) and isinstance(r.get("value"), dict) and "choices" in r["value"]
    ]


def _read_tasks(tasks: list[dict[str, Any]], out: _Sets, from_name: str | None) -> None:
    names: Counter[str] = Counter()
    for pos, task in enumerate(tasks):
        for k, ann in enumerate(_annotations(task, task_where(task, pos), out.source)):
            if isinstance(ann, dict):
                names.update(
                    str(r.get("from_name"))
                    for r in _choice_results(ann, task_where(task, pos, k), out.source)
                )
    control = pick_control(names, from_name, out.source, "choice")
    n_predictions = 0
    for pos, task in enumerate(tasks):
        predictions = task.get("predictions")
        n_predictions += len(predictions) if isinstance(predictions, list) else 0
        for k, ann in enumerate(_annotations(task, task_where(task, pos), out.source)):
            where = task_where(task, pos, k)
            if not isinstance(ann, dict):
                raise InvalidAnnotationsError(f"{out.source}, {where}: not an annotation object")
            if ann.get("was_cancelled") or ann.get("skipped"):
                out.skip("cancelled or skipped annotation")
                continue
            if ann.get("ground_truth"):
                out.skip("ground-truth annotation (not a vote)")
                continue
            results = [
                r for r in _choice_results(ann, where, out.source) if str(r.get("from_name")) == control
            ]
            choices = [c for r in results for c in _choice_list(r["value"], where, out.source)]
            out.add(
                task.get("id", f"task{pos}"), ann.get("completed_by"), list(dict.fromkeys(choices)), where
            )
    if control is not None:
        out.notes.append(f"label sets from the choice control {control!r}")
    if n_predictions:
        out.notes.append(f"ignored {n_predictions} model prediction(s)")


# ------------------------------------------------------------------------------------------- JSON_MIN / CSV
def _is_choice_value(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("choices"), list)


def _min_control(records: list[dict[str, Any]], from_name: str | None, source: str) -> str:
    """The control's column: named, else the only column holding ``{"choices": [...]}``, else the only
    column whose value differs between the annotators of a task (data columns are constant per task)."""
    if from_name is not None:
        if not any(from_name in r for r in records):
            raise InvalidAnnotationsError(f"{source}: no column {from_name!r} in the records")
        return from_name
    columns = sorted({k for r in records for k in r if k not in MIN_META})
    with_sets = [c for c in columns if any(_is_choice_value(r.get(c)) for r in records)]
    if len(with_sets) == 1:
        return with_sets[0]
    candidates = with_sets or columns
    per_task: dict[tuple[str, Any], set[str]] = {}
    for r in records:
        for c in candidates:
            per_task.setdefault((c, text(r.get("id"))), set()).add(
                json.dumps(r.get(c), sort_keys=True, default=str)
            )
    varying = sorted({c for (c, _), values in per_task.items() if len(values) > 1})
    if len(varying) == 1:
        return varying[0]
    if len(candidates) == 1:
        return candidates[0]
    raise InvalidAnnotationsError(
        f"{source}: cannot tell which column holds the choices (candidates {(varying or candidates)[:6]}); "
        f"name it with {option('from_name=...', '--label-col NAME')}"
    )


def _read_min(records: list[dict[str, Any]], out: _Sets, from_name: str | None, kind: str) -> None:
    control = _min_control(records, from_name, out.source)
    for pos, rec in enumerate(records):
        where = str(rec.get("_where", f"record {pos + 1}"))
        choices = _choice_list(rec.get(control), where, out.source)
        out.add(rec.get("id", f"task{pos}"), rec.get("annotator"), choices, where)
    guessed = "" if from_name else f" (guessed; {option('from_name=...', '--label-col NAME')} chooses)"
    out.notes.append(f"{kind} label sets from the column {control!r}{guessed}")


def _cell(value: Any) -> Any:
    """A CSV cell: empty -> None; JSON object or list text -> parsed; else the text."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return value
    return value


def _read_csv(path: Path, out: _Sets, from_name: str | None) -> None:
    kind, frame, records = csv_records(path, _cell)
    if "annotator" not in frame.columns:
        raise InvalidAnnotationsError(
            f"{path}: no 'annotator' column, so this is not a Label Studio {kind} export (its columns are "
            f"{', '.join(repr(c) for c in list(frame.columns)[:12])})"
        )
    _read_min(records, out, from_name, kind)
    out.notes.append(
        f"a {kind} export holds no cancelled annotations and no tasks nobody annotated; export JSON to see "
        "them"
    )
