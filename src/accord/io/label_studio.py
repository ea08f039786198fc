"""Label Studio exports: the full JSON export, JSON_MIN, CSV and TSV, for classification (``Choices``)
projects.

JSON export: a list of tasks ``{"id", "data", "annotations": [{"completed_by", "result": [{"from_name",
"type": "choices", "value": {"choices": [...]}}], "was_cancelled", "ground_truth", ...}], "predictions":
[...]}``. ``completed_by`` is a user id (int) or, in some versions, a dict ``{"id", "email", ...}`` (the
email is used, else the id). JSON_MIN: a list of flat records, one per annotation, ``{"id": task id,
"<from_name>": "label" or {"choices": [...]}, "annotator": id or email, "annotation_id", ...}`` plus the
task's data fields.

CSV and TSV exports: the JSON_MIN records as rows, one row per annotation: ``id`` (the task), ``annotator``
(the user id or email), ``annotation_id``, ``created_at``, ``updated_at``, ``lead_time``, the task's data
fields, and one column per control holding its value; a control with several values (several choices at
once) holds them as a JSON string such as ``{"choices": ["a", "b"]}``. Like JSON_MIN, a CSV or TSV export
cannot contain cancelled annotations or tasks nobody annotated (Label Studio leaves them out unless asked), so
the report says so: export JSON to see them.

Skipped, and counted in the report with their reason: cancelled (or skipped) annotations, annotations
without a choice for the chosen control (no result, an empty or null list of choices, an empty choice),
several choices at once (multi-label is not supported), annotations without an annotator. A record of the
wrong type or shape (``"annotations": 5``, a result that is not a list, a choice that is an object) is an
error that names the task and the annotation.
Model ``predictions`` are ignored. Annotations marked ``ground_truth`` are returned as gold labels, not as
votes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._hints import option
from ..errors import InvalidAnnotationsError
from ._base import Collector, Imported, load_json, text
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


def read(
    source: str | Path | list[Any] | dict[str, Any],
    *,
    from_name: str | None = None,
    classes: Sequence[Any] | None = None,
    duplicates: str = "error",
    ground_truth: str = "gold",
) -> Imported:
    """Read a Label Studio JSON or JSON_MIN export (a path, or the parsed list).

    Parameters
    ----------
    source : path or list
    from_name : str, optional
        The ``Choices`` control to read (its ``name`` in the labeling config; in JSON_MIN the column). Needed
        only when the export has several; JSON_MIN guesses the label column when there is no doubt and says
        which.
    classes, duplicates : passed to :meth:`Annotations.from_frame`.
    ground_truth : {"gold", "vote"}, default "gold"
        Annotations flagged ``ground_truth``: gold labels (not votes), or ordinary votes.
    """
    name = source_name(source)
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() in (".csv", ".tsv"):
        return _read_csv(Path(source), from_name, classes, duplicates)
    data = load_json(source, FMT) if isinstance(source, (str, Path)) else source
    if ground_truth not in ("gold", "vote"):
        raise InvalidAnnotationsError(f"ground_truth must be 'gold' or 'vote', got {ground_truth!r}")
    data = task_list(data)
    if not isinstance(data, list):
        raise InvalidAnnotationsError(
            f"{name} is not a Label Studio export: expected a JSON list of tasks (JSON export) or of records "
            f"(JSON_MIN), got {_kind(data)}"
        )
    for pos, task in enumerate(data):
        if not isinstance(task, dict):
            raise InvalidAnnotationsError(
                f"{name}: record {pos + 1} (counting from 1) is {_kind(task)}, not a task object"
            )
    collector = Collector(FMT, name)
    if export_layout(data, name) == "tasks":
        _read_tasks(data, collector, from_name, ground_truth)
    else:
        _read_min(data, collector, from_name)
    return collector.build(classes, duplicates)


# ------------------------------------------------------------------------------------------- JSON export
def _kind(value: Any) -> str:
    """What a JSON value is, for messages: "a list", "the number 5", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def annotator_id(completed_by: Any) -> str | None:
    """A user id (int) as text, or from a user dict its email, else its id."""
    if isinstance(completed_by, list):
        raise TypeError("completed_by")
    return user_id(completed_by)


def _task_annotations(task: dict[str, Any], where: str) -> list[Any]:
    key = "annotations" if "annotations" in task else "completions"
    value = task.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidAnnotationsError(f"{where}: {key!r} is {_kind(value)}; expected a list of annotations")
    return value


def _results(annotation: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """The annotation's choice results, after checking every level's type."""
    results = annotation.get("result")
    if results is None:
        return []
    if not isinstance(results, list):
        raise InvalidAnnotationsError(f"{where}: 'result' is {_kind(results)}; expected a list of results")
    out = []
    for k, r in enumerate(results):
        if not isinstance(r, dict):
            raise InvalidAnnotationsError(f"{where}, result {k + 1}: {_kind(r)}, not a result object")
        value = r.get("value")
        if value is not None and not isinstance(value, dict):
            raise InvalidAnnotationsError(
                f"{where}, result {k + 1}: 'value' is {_kind(value)}; expected an object"
            )
        if isinstance(value, dict) and "choices" in value:
            choices = value["choices"]
            if choices is not None and not isinstance(choices, list):
                raise InvalidAnnotationsError(
                    f"{where}, result {k + 1}: 'choices' is {_kind(choices)}; expected a list of labels"
                )
            for c in choices or []:
                if isinstance(c, (dict, list)):
                    raise InvalidAnnotationsError(
                        f"{where}, result {k + 1}: a choice is {_kind(c)}; expected a label (text)"
                    )
            out.append(r)
    return out


def _where(source: str, task: dict[str, Any], pos: int, k: int | None = None) -> str:
    return f"{source}, {task_where(task, pos, k)}"


def _pick_control(tasks: list[dict[str, Any]], from_name: str | None, source: str) -> str | None:
    names: Counter[str] = Counter()
    for pos, task in enumerate(tasks):
        for k, ann in enumerate(_task_annotations(task, _where(source, task, pos))):
            if isinstance(ann, dict):
                names.update(str(r.get("from_name")) for r in _results(ann, _where(source, task, pos, k)))
    return pick_control(names, from_name, source, "choice")


def _read_tasks(
    tasks: list[dict[str, Any]], out: Collector, from_name: str | None, ground_truth: str
) -> None:
    control = _pick_control(tasks, from_name, out.source)
    n_predictions = 0
    for pos, task in enumerate(tasks):
        item = task.get("id", f"task{pos}")
        if isinstance(item, (dict, list)):
            raise InvalidAnnotationsError(f"{_where(out.source, task, pos)}: the task id is {_kind(item)}")
        predictions = task.get("predictions")
        n_predictions += len(predictions) if isinstance(predictions, list) else 0
        for k, ann in enumerate(_task_annotations(task, _where(out.source, task, pos))):
            where = _where(out.source, task, pos, k)
            if not isinstance(ann, dict):
                raise InvalidAnnotationsError(f"{where}: {_kind(ann)}, not an annotation object")
            if ann.get("was_cancelled") or ann.get("skipped"):
                out.skip("cancelled or skipped annotation")
                continue
            results = [r for r in _results(ann, where) if str(r.get("from_name")) == control]
            label = _one_choice(results, out)
            if label is None:
                continue
            if ann.get("ground_truth") and ground_truth == "gold":
                out.add_gold(item, label)
                out.skip("ground-truth annotation (taken as gold, not as a vote)")
                continue
            try:
                annotator = annotator_id(ann.get("completed_by"))
            except TypeError:
                raise InvalidAnnotationsError(
                    f"{where}: 'completed_by' is {_kind(ann.get('completed_by'))}; expected a user id or "
                    f"object"
                ) from None
            out.add(item, annotator, label)
    if control is not None:
        out.notes.append(f"labels from the choice control {control!r}")
    if n_predictions:
        out.notes.append(f"ignored {n_predictions} model prediction(s)")


def _one_choice(results: list[dict[str, Any]], out: Collector) -> str | None:
    if not results:
        out.skip("annotation without a choice")
        return None
    choices = [c for r in results for c in (r["value"].get("choices") or [])]
    if not choices:
        out.skip("annotation with an empty or null list of choices")
        return None
    if len(choices) > 1:
        out.skip("several choices in one annotation (multi-label is not supported)")
        return None
    label = text(choices[0])
    if label is None:
        out.skip("annotation whose choice is empty or null")
    return label


# ------------------------------------------------------------------------------------------- JSON_MIN
def _label_of(value: Any) -> tuple[str | None, str | None]:
    """(label, skip reason) of one JSON_MIN cell."""
    if isinstance(value, dict):
        value = value.get("choices")
    if isinstance(value, list):
        if len(value) > 1:
            return None, "several choices in one annotation (multi-label is not supported)"
        value = value[0] if value else None
    if isinstance(value, (dict, list)):
        return None, "a label that is not a choice"
    label = text(value)
    return (label, None) if label is not None else (None, "annotation without a choice")


def _guess_label_field(records: list[dict[str, Any]], source: str) -> str:
    """The JSON_MIN label column, told apart from the task's data columns.

    In order: the only column holding ``{"choices": [...]}`` objects; else the only column whose value differs
    between annotators of the same task (data columns are constant within a task); else the column with
    clearly the fewest distinct values. Otherwise the caller must say (``from_name``).
    """
    values: dict[str, set[str]] = {}
    per_task: dict[tuple[str, Any], set[str]] = {}
    excluded, choice_objects = set(), set()
    for rec in records:
        for key, value in rec.items():
            if key in MIN_META or key in excluded:
                continue
            if isinstance(value, dict):
                if "choices" not in value:
                    excluded.add(key)
                    continue
                choice_objects.add(key)
            label, _ = _label_of(value)
            if label is None:
                continue
            seen = values.setdefault(key, set())
            if len(seen) <= 1000:
                seen.add(label)
            per_task.setdefault((key, text(rec.get("id"))), set()).add(label)
    candidates = sorted(k for k in values if k not in excluded)
    if not candidates:
        raise InvalidAnnotationsError(
            f"{source}: no label column in the records; name it with "
            f"{option('from_name=...', '--label-col NAME')}"
        )
    if len(choice_objects - excluded) == 1:
        return next(iter(choice_objects - excluded))
    varying = [k for k in candidates if any(len(v) > 1 for (key, _), v in per_task.items() if key == k)]
    if len(varying) == 1:
        return varying[0]
    ranked = sorted(varying or candidates, key=lambda k: (len(values[k]), k))
    if len(ranked) == 1 or (len(values[ranked[0]]) < len(values[ranked[1]]) and len(values[ranked[0]]) <= 50):
        return ranked[0]
    raise InvalidAnnotationsError(
        f"{source}: cannot tell which JSON_MIN column holds the labels "
        f"(candidates {ranked[:6]}); name it with {option('from_name=...', '--label-col NAME')}"
    )


def _read_min(
    records: list[dict[str, Any]], out: Collector, from_name: str | None, kind: str = "JSON_MIN"
) -> None:
    field = from_name if from_name is not None else _guess_label_field(records, out.source)
    if from_name is not None and not any(from_name in r for r in records):
        raise InvalidAnnotationsError(f"{out.source}: no {kind} column {from_name!r}")
    for pos, rec in enumerate(records):
        label, why = _label_of(rec.get(field))
        if label is None:
            out.skip(why or "no label")
            continue
        try:
            annotator = annotator_id(rec.get("annotator"))
        except TypeError:
            raise InvalidAnnotationsError(
                f"{out.source}, {rec.get('_where', f'record {pos + 1}')}: 'annotator' is "
                f"{_kind(rec.get('annotator'))}; expected a user id or email"
            ) from None
        item = rec.get("id", f"task{pos}")
        if isinstance(item, (dict, list)):
            raise InvalidAnnotationsError(
                f"{out.source}, {rec.get('_where', f'record {pos + 1}')}: the task id is {_kind(item)}"
            )
        out.add(item, annotator, label)
    guessed = "" if from_name else f" (guessed; {option('from_name=...', '--label-col NAME')} chooses)"
    out.notes.append(f"{kind} labels from the column {field!r}{guessed}")


# ------------------------------------------------------------------------------------------- CSV / TSV
def _cell(value: Any) -> Any:
    """A CSV cell: empty -> None; a JSON object or list (how the CSV export writes multi-valued results) ->
    parsed; anything else the text as written."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return value
    return value


def _read_csv(path: Path, from_name: str | None, classes: Sequence[Any] | None, duplicates: str) -> Imported:
    """A Label Studio CSV or TSV export: the JSON_MIN records, one row per annotation."""
    kind, frame, records = csv_records(path, _cell)
    if "annotator" not in frame.columns:
        shown = ", ".join(repr(c) for c in list(frame.columns)[:12])
        raise InvalidAnnotationsError(
            f"{path}: no 'annotator' column, so this is not a Label Studio {kind} export (its columns are "
            f"{shown}); export the project again as CSV, or read a plain table without "
            f"{option('accord.io.read', '--from label_studio')}"
        )
    out = Collector(FMT, str(path))
    _read_min(records, out, from_name, kind)
    out.notes.append(
        f"a {kind} export holds no cancelled annotations and no tasks nobody annotated (Label Studio leaves "
        "them out); export JSON to see them"
    )
    return out.build(classes, duplicates)
