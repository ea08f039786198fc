"""Validation helpers shared by the task tables (ratings, label sets, comparisons): how values and rows are
named in messages, and how a role's column is found among the user's columns."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidAnnotationsError

__all__ = ["SHOWN", "find_column", "rows_text", "show_values"]

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
