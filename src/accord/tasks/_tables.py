"""What the task tables (ratings, label sets, comparisons, boxes) and their results share: how values and rows
are named in messages, how a role's column is found among the user's columns, the table sizes, and the
per-item and per-annotator output tables."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..errors import InvalidAnnotationsError

__all__ = [
    "SHOWN",
    "ClassSizes",
    "Sizes",
    "TaskTables",
    "find_column",
    "id_column",
    "rows_text",
    "show_values",
]

#: How many values a message lists before it says how many there are in all.
SHOWN = 5


def show_values(values: list[Any]) -> str:
    """The first :data:`SHOWN` values, then how many there are in all."""
    shown = ", ".join(repr(v) for v in values[:SHOWN])
    return shown + (f", ... ({len(values)} in all)" if len(values) > SHOWN else "")


def rows_text(mask: np.ndarray, index: pd.Index) -> str:
    """``row 4`` or ``rows 4, 9, ...``: the rows of ``index`` where ``mask`` holds."""
    pos = np.flatnonzero(mask)
    return f"row{'s' if len(pos) > 1 else ''} {show_values(list(index[pos]))}"


def find_column(
    df: pd.DataFrame, role: str, given: Hashable | None, aliases: Sequence[str], named: int = 3
) -> Hashable:
    """The column holding ``role``: ``given`` if the user named one, else the first of ``aliases`` present
    (case-insensitive); the error names the columns there are and the first ``named`` aliases."""
    if given is not None:
        if given not in df.columns:
            raise InvalidAnnotationsError(
                f"the {role} column {given!r} is not in the table; its columns are "
                f"{show_values(list(df.columns))}. Pass the right name with {role}=..."
            )
        return given
    lower = {str(c).lower(): c for c in df.columns}
    for alias in aliases:
        if alias in lower:
            return lower[alias]
    raise InvalidAnnotationsError(
        f"no {role} column: expected one named {' or '.join(repr(a) for a in aliases[:named])}, but the "
        f"columns are {show_values(list(df.columns))}. Rename it, or pass {role}='your column name'"
    )


class Sizes:
    """``n_items`` and ``n_annotators`` of a task's table, from its ``items`` and ``annotators`` ids."""

    items: pd.Index
    annotators: pd.Index

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_annotators(self) -> int:
        return len(self.annotators)


class ClassSizes(Sizes):
    """:class:`Sizes` and ``n_classes``, from the table's ``classes``."""

    classes: pd.Index

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def id_column(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """A copy of ``table`` with its index (the user's ids) as the first column, ``name``."""
    frame = table.copy()
    frame.index.name = name
    return frame.reset_index()


class _Result(Protocol):
    @property
    def annotator_quality(self) -> pd.DataFrame: ...

    def to_frame(self) -> pd.DataFrame: ...

    def annotators_frame(self) -> pd.DataFrame: ...


class TaskTables:
    """``annotators_frame`` and ``to_csv`` of a task's result, from its ``annotator_quality`` and
    ``to_frame``."""

    def annotators_frame(self: _Result) -> pd.DataFrame:
        """One row per annotator: ``annotator`` and the ``annotator_quality`` columns."""
        return id_column(self.annotator_quality, "annotator")

    def to_csv(self: _Result, path: str | Path, annotators_path: str | Path | None = None) -> None:
        """Write the per-item table (and, if asked, the per-annotator table) as CSV."""
        self.to_frame().to_csv(path, index=False)
        if annotators_path is not None:
            self.annotators_frame().to_csv(annotators_path, index=False)
