"""Validation of a classifier's predicted probabilities against the annotations (shape, class columns,
item ids, finiteness, rows summing to 1), shared by the models that read them and by the readers in io."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import DataQualityWarning, InvalidAnnotationsError
from .ids import match_index

if TYPE_CHECKING:
    from ..annotations import Annotations

__all__ = ["SUM_TOL", "check_pred_probs", "check_unlabeled_pred_probs", "show_values"]

SUM_TOL = 1e-3  # how far a pred_probs row may sum from 1 before it is an error
_SHOW = 5


# ====================================================================== pred_probs: validation and reading
def show_values(values: Any) -> str:
    values = list(values)
    text = ", ".join(repr(v) for v in values[:_SHOW])
    return text + (f", ... ({len(values)} in all)" if len(values) > _SHOW else "")


def _class_columns(frame: pd.DataFrame, classes: pd.Index, name: str) -> np.ndarray:
    """The frame's columns reordered to ``classes`` (matched by label, or as text); errors name what is
    off."""
    cols = pd.Index(frame.columns)
    if cols.has_duplicates:
        raise InvalidAnnotationsError(f"{name} has repeated columns {show_values(cols[cols.duplicated()])}")
    pos = match_index(pd.Index(classes), cols)
    if (pos < 0).any() or len(cols) != len(classes):
        missing = [c for c, p in zip(classes, pos, strict=False) if p < 0]
        extra = [c for i, c in enumerate(cols) if i not in set(pos.tolist())]
        raise InvalidAnnotationsError(
            f"{name} has {len(cols)} class column(s) {show_values(cols)} but the annotations have "
            f"{len(classes)} classes {show_values(classes)}"
            + (f"; missing: {show_values(missing)}" if missing else "")
            + (f"; not a class: {show_values(extra)}" if extra else "")
            + ". Give one column per class, named by the class label"
        )
    try:
        return frame.iloc[:, pos].to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidAnnotationsError(
            f"{name} has non-numeric values; every class column must hold probabilities"
        ) from None


def _check_values(values: np.ndarray, row_ids: pd.Index, name: str) -> np.ndarray:
    """NaN, infinite or negative entries and rows not summing to 1 are errors; rows are renormalised
    exactly."""
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise InvalidAnnotationsError(
            f"{name} has NaN or infinite values for item(s) {show_values(row_ids[bad])}: "
            "every item needs a probability for every class"
        )
    bad = (values < 0).any(axis=1)
    if bad.any():
        raise InvalidAnnotationsError(
            f"{name} has negative values for item(s) {show_values(row_ids[bad])}: "
            "probabilities must be >= 0 (did you pass logits or log-probabilities?)"
        )
    sums = values.sum(axis=1)
    bad = np.abs(sums - 1.0) > SUM_TOL
    if bad.any():
        shown = ", ".join(
            f"{i!r} (sum {s:.4g})" for i, s in zip(row_ids[bad][:_SHOW], sums[bad][:_SHOW], strict=False)
        )
        raise InvalidAnnotationsError(
            f"{name} rows must sum to 1, but {int(bad.sum())} do not: {shown}. Pass predict_proba output, "
            "or normalise the rows (p / p.sum(axis=1, keepdims=True)); logits need a softmax first"
        )
    return values / sums[:, None]


def check_pred_probs(pred_probs: Any, annotations: Annotations, *, name: str = "pred_probs") -> np.ndarray:
    """Validate predicted class probabilities and align them to ``annotations.items`` and ``.classes``.

    Parameters
    ----------
    pred_probs : DataFrame or array-like, shape (n_items, n_classes)
        A DataFrame indexed by item id with one column per class label (any order; extra items, e.g.
        unlabelled ones, are dropped with a :class:`~accord.DataQualityWarning`), or an array whose rows are
        in ``annotations.items`` order and columns in ``annotations.classes`` order.
    annotations : Annotations
    name : str
        What to call the input in error messages.

    Returns
    -------
    ndarray, shape (n_items, n_classes)
        Rows renormalised to sum to exactly 1.

    Raises
    ------
    InvalidAnnotationsError
        Wrong number of items or classes, an item without a row, NaN or infinite values, negative values, rows
        whose sum is more than 1e-3 away from 1.
    """
    items = annotations.items
    if isinstance(pred_probs, pd.DataFrame):
        values = _class_columns(pred_probs, annotations.classes, name)
        pos = match_index(pd.Index(pred_probs.index), items)
        if (pos < 0).any() and pred_probs.index.has_duplicates:
            raise InvalidAnnotationsError(
                f"{name} has repeated item ids {show_values(pred_probs.index[pred_probs.index.duplicated()])}"
            )
        rows = match_index(items, pd.Index(pred_probs.index))
        if (rows < 0).any():
            raise InvalidAnnotationsError(
                f"{name} has no row for {int((rows < 0).sum())} annotated item(s): "
                f"{show_values(items[rows < 0])}. "
                "Give a row per item, indexed by item id (or an array in annotations.items order)"
            )
        if len(pred_probs) > len(items):
            warnings.warn(
                f"{name} has {len(pred_probs) - len(items)} row(s) for items without annotations; "
                "they are ignored here",
                DataQualityWarning,
                stacklevel=3,
            )
        return _check_values(values[rows], items, name)
    try:
        values = np.array(pred_probs, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidAnnotationsError(
            f"{name} must be a DataFrame or a numeric array (items x classes); got "
            f"{type(pred_probs).__name__}"
        ) from None
    expected = (annotations.n_items, annotations.n_classes)
    if values.ndim != 2 or values.shape != expected:
        what = "items" if values.ndim == 2 and values.shape[1] == expected[1] else "classes"
        raise InvalidAnnotationsError(
            f"{name} has shape {values.shape} but the annotations have {expected[0]} items and {expected[1]} "
            f"classes {show_values(annotations.classes)}, so it must be {expected} (wrong number of {what}). "
            "Rows are items in annotations.items order, columns classes in annotations.classes order; "
            "or pass a DataFrame indexed by item id"
        )
    return _check_values(values, items, name)


def check_unlabeled_pred_probs(
    pred_probs: pd.DataFrame, classes: pd.Index, *, name: str = "pred_probs_unlabeled"
) -> np.ndarray:
    """Validate a DataFrame of predicted probabilities for items that have no annotation (any item ids)."""
    if not isinstance(pred_probs, pd.DataFrame):
        raise InvalidAnnotationsError(
            f"{name} must be a DataFrame indexed by item id with one column per class"
        )
    if pred_probs.index.has_duplicates:
        raise InvalidAnnotationsError(
            f"{name} has repeated item ids {show_values(pred_probs.index[pred_probs.index.duplicated()])}"
        )
    return _check_values(_class_columns(pred_probs, classes, name), pd.Index(pred_probs.index), name)
