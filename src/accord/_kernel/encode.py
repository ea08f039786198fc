"""Codes-first steps of building an annotation table: work on integer codes and on the few distinct values,
never on one Python object per row.

:meth:`accord.Annotations.from_frame` and :meth:`accord.Annotations.from_codes` use these on their clean,
common path and hand anything they flag to the careful code that names rows in its messages:

- :func:`has_duplicate_pairs`: whether an (item, annotator) pair repeats, from one ``int64`` key: compared
  with its few neighbours when the rows are grouped by item, else sorted (a sort is several times faster
  than hashing ten million keys);
- :func:`in_first_appearance_order`: whether codes already number their values in order of first appearance
  (then re-numbering them is the identity and is skipped);
- :func:`used_values`: which distinct values the codes use, by marking them;
- :func:`blank_values`: which distinct values are missing, empty or whitespace-only strings (vectorised with
  pyarrow when it is installed, by exactly Python's ``str.isspace``).

Examples
--------
>>> import numpy as np
>>> has_duplicate_pairs(np.array([0, 0, 1]), np.array([0, 1, 0]), 2)
False
>>> in_first_appearance_order(np.array([0, 1, 0, 2]), 3), in_first_appearance_order(np.array([1, 0]), 2)
(True, False)
>>> used_values(np.array([2, 0, 2]), 4).tolist()
[0, 2]
>>> blank_values(np.array(["a", "", " \\t", None, "NA"], dtype=object)).tolist()
[False, True, True, True, False]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["blank_values", "has_duplicate_pairs", "in_first_appearance_order", "used_values"]


def has_duplicate_pairs(item: np.ndarray, annotator: np.ndarray, n_annotators: int) -> bool:
    """Whether an (item, annotator) pair occurs twice, from one ``int64`` key per annotation.

    When the rows are grouped by item (item codes never decrease, as a file sorted by item gives them) and
    no item has more than :data:`_GROUP_LIMIT` rows, a repeated pair can only sit fewer rows apart than its
    item has, so comparing each key with the few keys before it decides; otherwise the keys are sorted.

    Parameters
    ----------
    item, annotator : numpy.ndarray of int
        Codes (``0 <= annotator < n_annotators``), one per annotation.
    n_annotators : int
        The number of annotator codes.
    """
    if len(item) < 2:
        return False
    width = max(int(n_annotators), 1)
    # one key array, updated in place: int32 when every key fits (half the memory traffic), else int64
    small = (int(item.max()) + 1) * width < 2**31 and int(item.min()) >= 0
    key = np.array(item, dtype=np.int32 if small else np.int64)
    key *= width
    key += annotator
    longest = _longest_run(item)
    if longest is not None and longest <= _GROUP_LIMIT:
        return any(bool((key[d:] == key[:-d]).any()) for d in range(1, longest))
    key.sort()
    return bool((key[1:] == key[:-1]).any())


_GROUP_LIMIT = 16


def _longest_run(codes: np.ndarray) -> int | None:
    """The most rows one code has when ``codes`` never decrease (each code's rows are then one run), else
    None."""
    step = codes[1:] != codes[:-1]
    if not (codes[1:] >= codes[:-1]).all():
        return None
    ends = np.flatnonzero(step)
    bounds = np.concatenate([[-1], ends, [len(codes) - 1]])
    return int(np.diff(bounds).max())


def in_first_appearance_order(codes: np.ndarray, n_values: int) -> bool:
    """Whether ``codes`` use every value ``0 .. n_values - 1`` and number them in order of first appearance
    (as :func:`pandas.factorize` does), so that factorizing them again would give them back unchanged."""
    codes = np.asarray(codes)
    if len(codes) == 0:
        return n_values == 0
    if codes[0] != 0:
        return False
    running = np.maximum.accumulate(codes)
    if running[-1] != n_values - 1:
        return False
    running += 1  # in place: no second array of the size of codes
    return bool((codes[1:] <= running[:-1]).all())


def used_values(codes: np.ndarray, n_values: int) -> np.ndarray:
    """The distinct codes (each ``0 <= code < n_values``) that occur, sorted: ``np.unique`` in one pass."""
    seen = np.zeros(n_values, dtype=bool)
    seen[codes] = True  # no int64 copy of the codes, unlike np.bincount
    return np.flatnonzero(seen)


def blank_values(values: Any) -> np.ndarray:
    """Mask of the values that are missing (None, NaN, ``pd.NA``) or strings that are empty or only whitespace
    (``not value.strip()``); any other value (a number, ``"NA"``, ``" a "``) is not blank.

    Parameters
    ----------
    values : array-like
        Distinct values (a pandas Index or array, a NumPy array or a pyarrow array).
    """
    dtype = getattr(values, "dtype", None)
    if dtype is not None and getattr(dtype, "kind", "O") in "biufcmM":  # numbers and dates: only NaN/NA
        return np.asarray(pd.isna(values), dtype=bool).reshape(-1)
    mask = _blank_with_arrow(values)
    if mask is not None:
        return mask
    series = pd.Series(np.asarray(values, dtype=object), dtype=object)
    text = series.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    return text | series.isna().to_numpy(dtype=bool)


def _blank_with_arrow(values: Any) -> np.ndarray | None:
    """:func:`blank_values` for text, vectorised with pyarrow; None when pyarrow is missing or the values are
    not all text. pyarrow's ``utf8_is_space`` agrees with Python's ``str.isspace`` on every code point."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return None
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            return None
        text = values
    else:
        if len(values) and pd.api.types.infer_dtype(values, skipna=True) != "string":
            return None
        try:
            text = pa.array(values, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            return None
    blank = pc.or_kleene(pc.equal(pc.utf8_length(text), 0), pc.utf8_is_space(text))
    return np.asarray(pc.fill_null(blank, True).to_numpy(zero_copy_only=False), dtype=bool)
