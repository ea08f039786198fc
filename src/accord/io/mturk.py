"""Amazon Mechanical Turk batch results (the CSV the requester site downloads).

One row per assignment: ``HITId``, ``AssignmentId``, ``WorkerId``, ``AssignmentStatus`` (Submitted, Approved,
Rejected), ``Input.<variable>`` (what the HIT showed) and ``Answer.<field>`` (what the worker answered). A
crowd-HTML classifier answers in one column such as ``Answer.sentiment.label``; a group of radio buttons
gives one column per option (``Answer.sentiment.positive``, ``Answer.sentiment.negative``, ... holding
``true``/``false``), which is read as one answer: the option that is ``true``.

The item is the ``HITId`` unless ``item=`` names an ``Input.*`` column (useful when the same input was posted
in several HITs). Rejected assignments are skipped unless ``keep_rejected=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._hints import option
from ..errors import InvalidAnnotationsError
from ._base import Collector, Imported, open_table, require_columns

__all__ = ["read"]

FMT = "MTurk"
_TRUE = {"true", "on", "1", "yes"}
_BOOL = _TRUE | {"false", "off", "0", "no"}


def _column(frame: pd.DataFrame, name: str, prefix: str, source: str, role: str) -> str:
    for candidate in (name, f"{prefix}{name}"):
        if candidate in frame.columns:
            return candidate
    raise InvalidAnnotationsError(
        f"{source}: no {role} column {name!r} (nor {prefix}{name!r}); the "
        f"{prefix}* columns are {[c for c in frame.columns if c.startswith(prefix)]}"
    )


def _is_boolean(series: pd.Series) -> bool:
    values = series.dropna().str.strip().str.lower()
    return len(values) > 0 and values.isin(_BOOL).all()


def answer_candidates(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Answer candidates: a plain ``Answer.*`` column maps to itself; a radio group ``Answer.q.*`` of boolean
    columns maps to its option columns."""
    answers = [c for c in frame.columns if c.startswith("Answer.")]
    groups: dict[str, list[str]] = {}
    for c in answers:
        if c.count(".") >= 2 and _is_boolean(frame[c]):
            groups.setdefault(c.rsplit(".", 1)[0], []).append(c)
    out = {c: [c] for c in answers if not any(c in cols for cols in groups.values())}
    out.update({g: cols for g, cols in groups.items() if len(cols) > 1})
    for cols in groups.values():
        if len(cols) == 1:
            out[cols[0]] = cols
    return out


def _labels(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    if len(columns) == 1:
        return frame[columns[0]]
    on = np.column_stack(
        [frame[c].fillna("").str.strip().str.lower().isin(_TRUE).to_numpy() for c in columns]
    )
    names = np.array([c.rsplit(".", 1)[1] for c in columns], dtype=object)
    picked = np.where(on.sum(axis=1) == 1, names[on.argmax(axis=1)], None)
    return pd.Series(np.where(on.sum(axis=1) > 1, "<several>", picked), index=frame.index)


def read(
    source: str | Path | pd.DataFrame,
    *,
    item: str | None = None,
    label: str | None = None,
    gold: str | None = None,
    keep_rejected: bool = False,
    classes: Sequence[Any] | None = None,
    duplicates: str = "error",
) -> Imported:
    """Read an MTurk batch-results CSV (a path, or the table as a DataFrame of text).

    Parameters
    ----------
    item : str, optional
        ``Input.*`` column (with or without the prefix) that identifies the item; default ``HITId``.
    label : str, optional
        The answer to aggregate (``Answer.*`` column or radio group, prefix optional); needed when there are
        several.
    gold : str, optional
        An ``Input.*`` column holding a known label (e.g. for test questions): returned as gold.
    keep_rejected : bool, default False
        Keep assignments the requester rejected.
    classes, duplicates : passed to :meth:`Annotations.from_frame`.
    """
    name, frame = open_table(
        source,
        ",",
        FMT,
        ["WorkerId"],
        "An MTurk batch-results CSV has WorkerId, HITId, Input.* and Answer.* columns",
    )
    item_col = _column(frame, item, "Input.", name, "item") if item else "HITId"
    hint = "Name the item column with " + option("item='Input.<column>'", "--item-col Input.<column>")
    require_columns(frame, [item_col], name, FMT, hint)
    candidates = answer_candidates(frame)
    if label is not None:
        key = next((k for k in (label, f"Answer.{label}") if k in candidates), None)
        if key is None:
            raise InvalidAnnotationsError(
                f"{name}: no answer {label!r}; the answers are {sorted(candidates)}"
            )
    elif len(candidates) == 1:
        key = next(iter(candidates))
    else:
        raise InvalidAnnotationsError(
            f"{name}: "
            + (
                "no Answer.* column"
                if not candidates
                else f"several answers {sorted(candidates)}; name one with "
                f"{option('label=...', '--label-col ANSWER')}"
            )
        )
    out = Collector(FMT, name)
    labels = _labels(frame, candidates[key])
    status = frame["AssignmentStatus"].fillna("").str.strip() if "AssignmentStatus" in frame else None
    keep = np.ones(len(frame), dtype=bool)
    if status is not None and not keep_rejected:
        rejected = (status.str.lower() == "rejected").to_numpy()
        out.skip("rejected assignment", int(rejected.sum()))
        keep &= ~rejected
    several = (labels == "<several>").to_numpy()
    out.skip("several options ticked in one radio group", int((several & keep).sum()))
    keep &= ~several
    for i, a, lab in zip(
        frame[item_col].to_numpy()[keep],
        frame["WorkerId"].to_numpy()[keep],
        labels.to_numpy()[keep],
        strict=False,
    ):
        out.add(i, a, lab)
    if gold is not None:
        gold_col = _column(frame, gold, "Input.", name, "gold")
        for i, g in zip(frame[item_col], frame[gold_col], strict=False):
            out.add_gold(i, g)
    out.notes.append(f"labels from {key!r}, items from {item_col!r}")
    return out.build(classes, duplicates)
