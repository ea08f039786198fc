"""Prodigy datasets exported as JSON Lines (``prodigy db-out dataset > annotations.jsonl``).

Each line is one answered task: the input (``text``, ``image``, ...), ``_input_hash`` / ``_task_hash``, the
``answer`` (``accept``, ``reject`` or ``ignore``), who answered (``_annotator_id``, or ``_session_id`` in
older versions), and the annotation itself:

- choice tasks (``options`` with ``id``/``text``; the selected ids in ``accept``): the label is the one
  selected option id. Rejected or ignored tasks, none or several selected options are skipped.
- binary tasks (a ``label`` and no ``options``, e.g. ``textcat.teach``): the label is the answer, ``accept``
  or ``reject`` (``ignore`` is skipped); when the file asks about several labels, each (input, label) pair is
  an item named ``<input>::<label>``.

The item is the ``_input_hash`` (so the same text shown to several annotators is one item), or ``item=``
another key.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidAnnotationsError
from ._base import Collector, Imported, iter_jsonl, text

__all__ = ["read"]

FMT = "Prodigy"


def _annotator(rec: dict[str, Any]) -> str | None:
    return text(rec.get("_annotator_id")) or text(rec.get("_session_id"))


def _item(rec: dict[str, Any], key: str) -> str | None:
    value = rec.get(key)
    if value is None and key == "_input_hash":
        value = rec.get("text")
    return text(value)


def _choice_label(rec: dict[str, Any], out: Collector) -> str | None:
    answer = rec.get("answer")
    if answer != "accept":
        out.skip(f"answer {answer!r}" if answer else "no answer")
        return None
    accepted = rec.get("accept") or []
    if not isinstance(accepted, list) or not accepted:
        out.skip("no option selected")
        return None
    if len(accepted) > 1:
        out.skip("several options selected (multi-label is not supported)")
        return None
    return text(accepted[0])


def read(
    source: str | Path | list[dict[str, Any]],
    *,
    item: str = "_input_hash",
    classes: Sequence[Any] | None = None,
    duplicates: str = "error",
) -> Imported:
    """Read a Prodigy JSONL export (a path, or the parsed records).

    Parameters
    ----------
    item : str, default "_input_hash"
        The key identifying the item (falls back to ``text`` when a record has no ``_input_hash``).
    classes, duplicates : passed to :meth:`Annotations.from_frame`.
    """
    name = str(source) if isinstance(source, (str, Path)) else "Prodigy records"
    records = [rec for _, rec in iter_jsonl(source, FMT)] if isinstance(source, (str, Path)) else list(source)
    if not records:
        raise InvalidAnnotationsError(f"{name} is empty")
    if not any("answer" in r for r in records):
        raise InvalidAnnotationsError(
            f"{name} is not a Prodigy export: no record has an 'answer' (accept / reject / ignore)"
        )
    if not any(_annotator(r) for r in records):
        raise InvalidAnnotationsError(
            f"{name}: no record says who annotated it (_annotator_id or _session_id); "
            "export with named sessions (e.g. ?session=alice) to aggregate annotators"
        )
    out = Collector(FMT, name)
    binary_labels: set[str] = {
        lab for r in records if "options" not in r and "accept" not in r if (lab := text(r.get("label")))
    }
    for rec in records:
        item_id = _item(rec, item)
        if "options" in rec or "accept" in rec:
            label = _choice_label(rec, out)
        elif "label" in rec:
            label = rec.get("answer") if rec.get("answer") in ("accept", "reject") else None
            if label is None:
                out.skip(f"answer {rec.get('answer')!r}")
                continue
            if len(binary_labels) > 1 and item_id is not None:
                item_id = f"{item_id}::{text(rec.get('label'))}"
        else:
            out.skip("task with neither options nor a label (e.g. spans; not a classification)")
            continue
        if label is not None:
            out.add(item_id, _annotator(rec), label)
    if binary_labels:
        out.notes.append(f"binary tasks ({', '.join(sorted(binary_labels))}): labels are accept / reject")
    return out.build(classes, duplicates)
