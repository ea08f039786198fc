"""Codes-first encoding of a long annotation table: factorize each column once, check duplicates on one
``int64`` key, and map the few distinct labels to classes.

:func:`encode_codes_first` handles the common, clean case only (no missing or blank cell, no repeated (item,
annotator) pair unless they are kept, no extra columns): it returns None whenever the careful builder
(``Annotations.from_frame``) must look at the data, so that every error and every note keeps that builder's
wording. When it does return, its codes and indexes are the ones the careful builder produces: items and
annotators in order of first appearance, classes as ``classify`` orders them.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"item": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["y", "x", "y"]})
>>> def classify(values):
...     classes = pd.Index(sorted(values), name="class")
...     return classes, classes.get_indexer(values)
>>> enc = encode_codes_first(frame, "item", "annotator", "label", classify)
>>> enc.item.tolist(), enc.annotator.tolist(), enc.label.tolist(), list(enc.classes)
([0, 0, 1], [0, 1, 0], [1, 0, 1], ['x', 'y'])
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Encoded", "encode_codes_first", "has_duplicate_pairs"]


@dataclass(frozen=True)
class Encoded:
    """Code arrays (``int64``) and the indexes that map codes back to ids and classes."""

    item: np.ndarray
    annotator: np.ndarray
    label: np.ndarray
    items: pd.Index
    annotators: pd.Index
    classes: pd.Index


def _codes(values: pd.Series) -> tuple[np.ndarray, Any] | None:
    """``pd.factorize`` of a column; None when a cell is missing, blank or unhashable."""
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:
        return None
    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) and codes.min() < 0:
        return None
    if _any_blank(uniques):
        return None
    return codes, uniques


def _any_blank(uniques: Any) -> bool:
    """Whether a distinct value is a blank or whitespace-only string (a missing cell)."""
    if not (uniques.dtype == object or pd.api.types.is_string_dtype(uniques.dtype)):
        return False
    try:
        blank = pd.Series(uniques).str.strip() == ""
    except AttributeError:  # no string at all
        return False
    return bool(blank.fillna(False).any())


def has_duplicate_pairs(item: np.ndarray, annotator: np.ndarray, n_annotators: int) -> bool:
    """Whether an (item, annotator) pair occurs twice, from one ``int64`` key per annotation."""
    key = item.astype(np.int64) * max(n_annotators, 1) + annotator
    return len(pd.unique(key)) < len(key)


def encode_codes_first(
    frame: pd.DataFrame,
    item: Hashable,
    annotator: Hashable,
    label: Hashable,
    classify: Callable[[np.ndarray], tuple[pd.Index, np.ndarray]],
    check_duplicates: bool = True,
) -> Encoded | None:
    """Encode the three columns of ``frame``, or None when the careful builder must take over.

    Parameters
    ----------
    frame : pandas.DataFrame
    item, annotator, label : column names
    classify : callable
        ``distinct label values -> (class index, class code of each value)``; a code below 0 (a value that is
        not a class, or a missing one) hands the table to the careful builder.
    check_duplicates : bool
        Hand over when an (item, annotator) pair repeats (False keeps them all).
    """
    if len(frame) == 0:
        return None
    parts = [_codes(frame[c]) for c in (item, annotator, label)]
    if any(p is None for p in parts):
        return None
    (item_codes, item_ids), (ann_codes, ann_ids), (label_codes, label_values) = parts  # type: ignore[misc]
    if check_duplicates and has_duplicate_pairs(item_codes, ann_codes, len(ann_ids)):
        return None
    classes, per_value = classify(np.asarray(label_values, dtype=object))
    per_value = np.asarray(per_value, dtype=np.int64)
    if (per_value < 0).any():
        return None
    return Encoded(
        item_codes,
        ann_codes,
        per_value[label_codes],
        pd.Index(item_ids, name="item", tupleize_cols=False),
        pd.Index(ann_ids, name="annotator", tupleize_cols=False),
        classes,
    )
