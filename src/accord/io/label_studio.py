"""Label Studio exports: the full JSON export and JSON_MIN, for classification (``Choices``) projects.

JSON export: a list of tasks ``{"id", "data", "annotations": [{"completed_by", "result": [{"from_name",
"type": "choices", "value": {"choices": [...]}}], "was_cancelled", "ground_truth", ...}], "predictions":
[...]}``. ``completed_by`` is a user id (int) or, in some versions, a dict ``{"id", "email", ...}`` (the
email is used, else the id). JSON_MIN: a list of flat records, one per annotation, ``{"id": task id,
"<from_name>": "label" or {"choices": [...]}, "annotator": id or email, "annotation_id", ...}`` plus the
task's data fields.

Skipped, and counted in the report: cancelled (or skipped) annotations, annotations without a choice for the
chosen control, several choices at once (multi-label is not supported), annotations without an annotator.
Model ``predictions`` are ignored. Annotations marked ``ground_truth`` are returned as gold labels, not as
votes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidAnnotationsError
from ._base import Collector, Imported, load_json, text

__all__ = ["read"]

FMT = "Label Studio"
_MIN_META = {
    "id",
    "annotator",
    "annotation_id",
    "created_at",
    "updated_at",
    "lead_time",
    "agreement",
    "task",
    "project",
    "drafts",
    "predictions",
    "meta",
    "file_upload",
    "inner_id",
    "total_annotations",
    "cancelled_annotations",
    "total_predictions",
    "updated_by",
    "completed_by",
}


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
    name = str(source) if isinstance(source, (str, Path)) else "Label Studio data"
    data = load_json(source, FMT) if isinstance(source, (str, Path)) else source
    if ground_truth not in ("gold", "vote"):
        raise InvalidAnnotationsError(f"ground_truth must be 'gold' or 'vote', got {ground_truth!r}")
    if isinstance(data, dict) and ("annotations" in data or "completions" in data):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise InvalidAnnotationsError(
            f"{name} is not a Label Studio export: expected a JSON list of tasks (JSON "
            "export) or of records (JSON_MIN)"
        )
    collector = Collector(FMT, name)
    if any("annotations" in t or "completions" in t for t in data):
        _read_tasks(data, collector, from_name, ground_truth)
    elif any("annotator" in t for t in data):
        _read_min(data, collector, from_name)
    else:
        raise InvalidAnnotationsError(
            f"{name} is not a Label Studio export: its records have neither "
            "'annotations' (JSON export) nor 'annotator' (JSON_MIN)"
        )
    return collector.build(classes, duplicates)


# ------------------------------------------------------------------------------------------- JSON export
def annotator_id(completed_by: Any) -> str | None:
    """A user id (int) as text, or from a user dict its email, else its id."""
    if isinstance(completed_by, dict):
        return text(completed_by.get("email")) or text(completed_by.get("id"))
    return text(completed_by)


def _choice_results(annotation: dict[str, Any]) -> list[dict[str, Any]]:
    results = annotation.get("result") or []
    return [
        r
        for r in results
        if isinstance(r, dict) and isinstance(r.get("value"), dict) and "choices" in r["value"]
    ]


def _pick_control(tasks: list[dict[str, Any]], from_name: str | None, source: str) -> str | None:
    names: Counter[str] = Counter()
    for task in tasks:
        for ann in task.get("annotations") or task.get("completions") or []:
            if isinstance(ann, dict):
                names.update(str(r.get("from_name")) for r in _choice_results(ann))
    if from_name is not None:
        if from_name not in names:
            raise InvalidAnnotationsError(
                f"{source}: no choice control named {from_name!r}; the export has {sorted(names) or 'none'}"
            )
        return from_name
    if len(names) > 1:
        raise InvalidAnnotationsError(
            f"{source}: the export has several choice controls {sorted(names)}; pass "
            "from_name=... (CLI: --field) to say which one to aggregate"
        )
    return next(iter(names), None)


def _read_tasks(
    tasks: list[dict[str, Any]], out: Collector, from_name: str | None, ground_truth: str
) -> None:
    control = _pick_control(tasks, from_name, out.source)
    n_predictions = 0
    for pos, task in enumerate(tasks):
        item = task.get("id", f"task{pos}")
        n_predictions += len(task.get("predictions") or [])
        for ann in task.get("annotations") or task.get("completions") or []:
            if not isinstance(ann, dict):
                out.skip("annotation that is not a JSON object")
                continue
            if ann.get("was_cancelled") or ann.get("skipped"):
                out.skip("cancelled or skipped annotation")
                continue
            label = _one_choice([r for r in _choice_results(ann) if str(r.get("from_name")) == control], out)
            if label is None:
                continue
            if ann.get("ground_truth") and ground_truth == "gold":
                out.add_gold(item, label)
                out.skip("ground-truth annotation (taken as gold, not as a vote)")
                continue
            out.add(item, annotator_id(ann.get("completed_by")), label)
    if control is not None:
        out.notes.append(f"labels from the choice control {control!r}")
    if n_predictions:
        out.notes.append(f"ignored {n_predictions} model prediction(s)")


def _one_choice(results: list[dict[str, Any]], out: Collector) -> str | None:
    choices = [c for r in results for c in (r["value"].get("choices") or [])]
    if not choices:
        out.skip("annotation without a choice")
        return None
    if len(choices) > 1:
        out.skip("several choices in one annotation (multi-label is not supported)")
        return None
    return text(choices[0])


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
            if key in _MIN_META or key in excluded:
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
            f"{source}: no label column in the JSON_MIN records; pass from_name=..."
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
        f"(candidates {ranked[:6]}); pass from_name=... (CLI: --field)"
    )


def _read_min(records: list[dict[str, Any]], out: Collector, from_name: str | None) -> None:
    field = from_name if from_name is not None else _guess_label_field(records, out.source)
    if from_name is not None and not any(from_name in r for r in records):
        raise InvalidAnnotationsError(f"{out.source}: no JSON_MIN column {from_name!r}")
    for pos, rec in enumerate(records):
        label, why = _label_of(rec.get(field))
        if label is None:
            out.skip(why or "no label")
            continue
        out.add(rec.get("id", f"task{pos}"), annotator_id(rec.get("annotator")), label)
    out.notes.append(
        f"JSON_MIN labels from the column {field!r}"
        + ("" if from_name else " (guessed; pass from_name=... to choose)")
    )
