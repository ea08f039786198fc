"""Toloka assignment results (the TSV the requester interface downloads, or ``get_assignments_df``).

One row per task in an assignment: ``INPUT:<field>`` (the task), ``OUTPUT:<field>`` (the answer),
``GOLDEN:<field>`` (the known answer of a control task, empty otherwise), ``HINT:*``, and ``ASSIGNMENT:*``
(``worker_id``, ``status`` = SUBMITTED / ACCEPTED / APPROVED / REJECTED / SKIPPED / EXPIRED, ``task_id`` when
exported, ...).

The item is ``ASSIGNMENT:task_id`` when present, otherwise the task's input: the single ``INPUT:*`` value, or
all ``INPUT:*`` values joined with `` | ``. Workers' answers on control tasks are kept as annotations; the
``GOLDEN:`` value becomes the item's gold label. Rejected, skipped and expired assignments are skipped. Blank
separator lines are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._hints import option
from ..errors import InvalidAnnotationsError
from ._base import Collector, Imported, open_table

__all__ = ["read"]

FMT = "Toloka"
KEPT_STATUSES = ("SUBMITTED", "ACCEPTED", "APPROVED")


def _prefixed(frame: pd.DataFrame, prefix: str) -> list[str]:
    return [c for c in frame.columns if c.startswith(prefix)]


def _output_column(frame: pd.DataFrame, label: str | None, source: str) -> str:
    outputs = _prefixed(frame, "OUTPUT:")
    if label is not None:
        for candidate in (label, f"OUTPUT:{label}"):
            if candidate in frame.columns:
                return candidate
        raise InvalidAnnotationsError(f"{source}: no output {label!r}; the outputs are {outputs}")
    if len(outputs) != 1:
        raise InvalidAnnotationsError(
            f"{source}: "
            + (
                "no OUTPUT:* column — not a Toloka results file?"
                if not outputs
                else f"several outputs {outputs}; name one with {option('label=...', '--label-col OUTPUT')}"
            )
        )
    return outputs[0]


def _item_ids(frame: pd.DataFrame, item: str | None, source: str) -> tuple[np.ndarray, str]:
    if item is not None:
        for candidate in (item, f"INPUT:{item}", f"ASSIGNMENT:{item}"):
            if candidate in frame.columns:
                return frame[candidate].to_numpy(dtype=object), candidate
        raise InvalidAnnotationsError(f"{source}: no item column {item!r}")
    if "ASSIGNMENT:task_id" in frame.columns and frame["ASSIGNMENT:task_id"].notna().all():
        return frame["ASSIGNMENT:task_id"].to_numpy(dtype=object), "ASSIGNMENT:task_id"
    inputs = _prefixed(frame, "INPUT:")
    if not inputs:
        raise InvalidAnnotationsError(
            f"{source}: no INPUT:* column and no ASSIGNMENT:task_id to identify tasks; name the item column "
            f"with "
            f"{option('item=...', '--item-col COLUMN')}"
        )
    if len(inputs) == 1:
        return frame[inputs[0]].to_numpy(dtype=object), inputs[0]
    joined = frame[inputs].fillna("").astype(str).agg(" | ".join, axis=1)
    return joined.to_numpy(dtype=object), " | ".join(inputs)


def read(
    source: str | Path | pd.DataFrame,
    *,
    item: str | None = None,
    label: str | None = None,
    statuses: Sequence[str] = KEPT_STATUSES,
    classes: Sequence[Any] | None = None,
    duplicates: str = "error",
) -> Imported:
    """Read a Toloka results TSV (a path, or the table as a DataFrame).

    Parameters
    ----------
    item : str, optional
        Column identifying the task (``INPUT:``/``ASSIGNMENT:`` prefix optional); see the module notes for the
        default.
    label : str, optional
        The ``OUTPUT:`` field to aggregate, when there are several. Its ``GOLDEN:`` twin gives the gold
        labels.
    statuses : sequence of str
        Assignment statuses to keep (default SUBMITTED, ACCEPTED, APPROVED).
    classes, duplicates : passed to :meth:`Annotations.from_frame`.
    """
    name, frame = open_table(
        source,
        "\t",
        FMT,
        ["ASSIGNMENT:worker_id"],
        "A Toloka results TSV has INPUT:*, OUTPUT:* and ASSIGNMENT:* columns",
    )
    out = Collector(FMT, name)
    blank = frame.isna().all(axis=1).to_numpy()
    frame = frame.loc[~blank].reset_index(drop=True)
    output = _output_column(frame, label, name)
    items, item_col = _item_ids(frame, item, name)
    keep = np.ones(len(frame), dtype=bool)
    if "ASSIGNMENT:status" in frame.columns:
        status = frame["ASSIGNMENT:status"].fillna("").str.strip().str.upper().to_numpy()
        wanted = {s.upper() for s in statuses}
        for s in sorted(set(status) - wanted):
            out.skip(f"assignment with status {s or 'missing'}", int(np.sum(status == s)))
        keep &= np.isin(status, list(wanted))
    for i, a, lab in zip(
        items[keep],
        frame["ASSIGNMENT:worker_id"].to_numpy()[keep],
        frame[output].to_numpy()[keep],
        strict=False,
    ):
        out.add(i, a, lab)
    golden = "GOLDEN:" + output.split(":", 1)[1]
    if golden in frame.columns:
        for i, g in zip(items, frame[golden].to_numpy(), strict=False):
            out.add_gold(i, g)
    out.notes.append(
        f"labels from {output!r}, items from {item_col!r}"
        + (f", gold from {golden!r}" if golden in frame.columns else "")
    )
    return out.build(classes, duplicates)
