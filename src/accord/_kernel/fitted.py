"""Labelled fitted attributes shared by the models: confusion matrices and the per-iteration history.

- :class:`Confusions` holds every annotator's confusion matrix ``theta[a, k, l] = P(label l | true class k)``
  with the user's annotator ids and class names. ``to_frame()`` is a DataFrame indexed by (annotator, true
  class) with one column per given label; :func:`errors_frame` is crowd-kit's ``errors_`` layout, indexed by
  (annotator, given label) with one column per true class.
- :class:`History` is the ``history_`` DataFrame, one row per iteration; the per-iteration arrays (labels,
  posteriors, confusions) are in the model's ``snapshots_``.

Both still answer the spellings of the previous release (positional indexing of a bare confusion array,
``history_[t]["labels"]``) with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Confusions", "History", "errors_frame", "history_frame"]


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; use {new}",
        DeprecationWarning,
        stacklevel=3,
    )


class Confusions(np.lib.mixins.NDArrayOperatorsMixin):
    """Confusion matrices labelled by annotator, true class and given label.

    ``values`` is the ``annotators x K x K`` array (``np.asarray(confusions)`` gives it too, and NumPy
    functions and arithmetic apply to it); ``loc[annotator]`` is that annotator's ``K x K`` DataFrame (index:
    true class, columns: given label); ``to_frame()`` stacks them all.

    Examples
    --------
    >>> c = Confusions(np.array([[[0.9, 0.1], [0.2, 0.8]]]), pd.Index(["ann"]), pd.Index(["x", "y"]))
    >>> float(c.loc["ann"].loc["y", "x"])
    0.2
    >>> list(c.to_frame().index.names), c.shape
    (['annotator', 'true'], (1, 2, 2))
    """

    def __init__(self, values: np.ndarray, annotators: pd.Index, classes: pd.Index) -> None:
        array = np.array(values, dtype=np.float64)
        a, k = len(annotators), len(classes)
        if array.shape != (a, k, k):
            raise ValueError(f"confusions of shape {array.shape} do not match {a} annotators and {k} classes")
        array.flags.writeable = False
        self._values = array
        self.annotators = annotators
        self.classes = classes
        self._frame: pd.DataFrame | None = None

    @property
    def values(self) -> np.ndarray:
        """The ``annotators x K x K`` array (read-only)."""
        return self._values

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._values.shape)

    def to_frame(self) -> pd.DataFrame:
        """DataFrame indexed by (annotator, true class), one column per given label."""
        if self._frame is None:
            a, k = self._values.shape[:2]
            index = pd.MultiIndex.from_arrays(
                [self.annotators.repeat(k), self.classes[np.tile(np.arange(k), a)]],
                names=["annotator", "true"],
            )
            self._frame = pd.DataFrame(
                self._values.reshape(a * k, k), index=index, columns=pd.Index(self.classes, name="given")
            )
        return self._frame

    @property
    def loc(self) -> Any:
        """Label-based access to :meth:`to_frame`: ``loc[annotator]`` is that annotator's matrix."""
        return self.to_frame().loc

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self._values if dtype is None else self._values.astype(dtype)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        args = [x._values if isinstance(x, Confusions) else x for x in inputs]
        return getattr(ufunc, method)(*args, **kwargs)

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, key: Any) -> Any:
        _deprecated(
            "positional indexing of confusions_", "confusions_.values[...] or confusions_.loc[annotator]"
        )
        return self._values[key]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not hasattr(np.ndarray, name):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        _deprecated(f"confusions_.{name}", f"confusions_.values.{name}")
        return getattr(self._values, name)

    def __repr__(self) -> str:
        k = len(self.classes)
        return (
            f"Confusions({len(self.annotators)} annotators x {k} true classes x {k} given labels; "
            f"classes {list(self.classes)[:6]})"
        )


def errors_frame(confusions: Confusions) -> pd.DataFrame:
    """crowd-kit's ``errors_`` layout: indexed by (annotator, given label), one column per true class, so that
    ``errors_.loc[(a, given), true] = P(a says given | true)``."""
    values = confusions.values
    a, k = values.shape[:2]
    classes = confusions.classes
    index = pd.MultiIndex.from_arrays(
        [confusions.annotators.repeat(k), classes[np.tile(np.arange(k), a)]], names=["annotator", "label"]
    )
    return pd.DataFrame(
        values.transpose(0, 2, 1).reshape(a * k, k), index=index, columns=pd.Index(classes, name="true")
    )


class History(pd.DataFrame):
    """``history_``: one row per iteration. ``history_[t]`` (an integer, the previous release's list-of-dicts
    spelling) still returns that iteration's dict, with its snapshot arrays, and a DeprecationWarning."""

    _metadata = ["snapshots"]

    @property
    def _constructor(self) -> Any:
        return pd.DataFrame

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool) and key not in self.columns:
            _deprecated(
                "history_[t] as a dict", "history_.iloc[t] for the scalars and snapshots_[t] for the arrays"
            )
            column = super().__getitem__
            row: dict[str, Any] = {str(c): column(c).iloc[key] for c in self.columns}
            snaps = getattr(self, "snapshots", None) or []
            position = range(len(self))[key]
            if position < len(snaps):
                row.update(snaps[position])
            return row
        return super().__getitem__(key)


def history_frame(frame: pd.DataFrame, snapshots: Sequence[dict[str, Any]] = ()) -> History:
    """Wrap a history DataFrame, keeping the per-iteration snapshots for the deprecated ``history_[t]``."""
    out = History(frame)
    out.snapshots = list(snapshots)
    return out
