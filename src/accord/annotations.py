"""``Annotations``: the one input type of every model.

An ``Annotations`` object holds a set of (item, annotator, label) triples as three parallel ``int32`` code
arrays, plus the ``pandas.Index`` objects that map codes back to the user's item ids, annotator ids and class
labels. It is validated once, when built, so that models can trust it; it is immutable (the arrays are
read-only).

Build one with :meth:`Annotations.from_frame` (long table), :meth:`Annotations.from_wide` (items x annotators
matrix with missing cells, cleanlab's layout) or :meth:`Annotations.read` (CSV, TSV, Parquet, JSON Lines).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._hints import option
from ._kernel.encode import blank_values, has_duplicate_pairs, in_first_appearance_order, used_values
from ._kernel.ids import match_index
from ._utils import check_positive_int, check_random_state
from .errors import AccordError, DataQualityWarning, InvalidAnnotationsError, InvalidParameterError

__all__ = ["Annotations", "register_reader", "role_columns"]

_COLUMN_ALIASES = {
    "item": ("item", "task", "item_id", "task_id", "example", "example_id"),
    "annotator": ("annotator", "worker", "annotator_id", "worker_id", "rater", "labeler"),
    "label": ("label", "answer", "class", "response"),
}
_MAX_SHOWN = 5
Duplicates = Literal["error", "keep_first", "keep_last", "keep_all"]
# the constructor's first six arguments: item, annotator and label codes, then the three indexes
_Parts = tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index, pd.Index, pd.Index]

# Readers of files and tool exports live in :mod:`accord.io`, which depends on this module (never the
# reverse); it registers them here so that ``Annotations.read`` and ``Annotations.from_label_studio`` (...)
# keep working.
_READERS: dict[str, Callable[..., Annotations]] = {}


def register_reader(name: str, reader: Callable[..., Annotations]) -> None:
    """Make ``reader`` the implementation of ``Annotations.read`` (``name="read"``) or of
    ``Annotations.from_<name>``; :mod:`accord.io` calls this when it is imported."""
    _READERS[name] = reader


def _reader(name: str) -> Callable[..., Annotations]:
    if name not in _READERS:  # ``import accord`` loads subpackages on first use: load the readers now
        importlib.import_module(".io", __package__)
    if name not in _READERS:
        raise AccordError(
            f"no reader for {name!r}: import accord (or accord.io) to register the file readers"
        )
    return _READERS[name]


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds, so that messages show ``4``, not ``np.int64(4)``."""
    return value.item() if isinstance(value, np.generic) else value


def _show(values: Iterable[Any], limit: int = _MAX_SHOWN) -> str:
    values = list(values)
    shown = ", ".join(repr(_plain(v)) for v in values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def _is_numeric_string(values: Sequence[Any]) -> bool:
    if not all(isinstance(v, str) for v in values):
        return False
    try:
        [float(v) for v in values]
    except ValueError:
        return False
    return True


def _default_class_order(values: Sequence[Any]) -> list[Any]:
    """Sorted order: numerically for numbers and numeric strings ("2" before "10"), else lexically."""
    if _is_numeric_string(values):
        return sorted(values, key=lambda v: (float(v), v))
    try:
        return sorted(values)
    except TypeError:  # mixed types: group by type name, then by text
        return sorted(values, key=lambda v: (type(v).__name__, str(v)))


def _resolve_column(columns: pd.Index, role: str, given: Hashable | None) -> Hashable:
    flag = {"item": "--item-col", "annotator": "--annotator-col", "label": "--label-col"}[role]
    if given is not None:
        if given not in columns:
            raise InvalidAnnotationsError(
                f"the {role} column {given!r} is not in the table; its columns are {_show(columns, 20)}. "
                f"Name the right one with {option(f'{role}=...', flag + ' NAME')}"
            )
        return given
    lower = {str(c).strip().lower(): c for c in columns}
    for alias in _COLUMN_ALIASES[role]:
        if alias in lower:
            return lower[alias]
    raise InvalidAnnotationsError(
        f"no {role} column: expected one named {' or '.join(repr(a) for a in _COLUMN_ALIASES[role][:2])}, "
        f"but the columns are {_show(columns, 20)}. Rename it, or name it with "
        f"{option(role + '=' + repr('your column name'), flag + ' NAME')}"
    )


def role_columns(
    columns: pd.Index, item: Hashable | None, annotator: Hashable | None, label: Hashable | None
) -> dict[str, Hashable]:
    """The column of each role (``"item"``, ``"annotator"``, ``"label"``): the one named, else the first of
    its usual names present (``task``, ``worker``, ...), as :meth:`Annotations.from_frame` chooses them; the
    same error when a role has none. A reader uses it to read only these columns.

    >>> role_columns(pd.Index(["when", "task", "worker", "label"]), None, None, None)
    {'item': 'task', 'annotator': 'worker', 'label': 'label'}
    """
    return {
        role: _resolve_column(columns, role, given)
        for role, given in (("item", item), ("annotator", annotator), ("label", label))
    }


_resolve_columns = role_columns


def _check_options(duplicates: str, missing: str) -> None:
    if duplicates not in ("error", "keep_first", "keep_last", "keep_all"):
        raise InvalidParameterError(
            f"duplicates must be 'error', 'keep_first', 'keep_last' or 'keep_all', got {duplicates!r}"
        )
    if missing not in ("error", "drop"):
        raise InvalidParameterError(f"missing must be 'error' or 'drop', got {missing!r}")


def _where(rows: pd.Index, positions: np.ndarray, place: str = "", header: bool = False) -> str:
    """The rows at ``positions`` as the user numbers them: file lines (when read from a file) or index
    labels."""
    positions = np.asarray(positions)
    unit = "line" if rows.name == "line" else "row"
    text = f"{unit}{'s' if len(positions) > 1 else ''} {_show(list(rows[positions]))}{place}"
    return text + (" (line 1 is the header)" if header and unit == "line" else "")


def _source(df: pd.DataFrame) -> tuple[str, bool]:
    """``(" of <file>", header)`` when ``df`` was read from a file by :mod:`accord.io`, else ``("",
    False)``."""
    return _source_of(df.attrs.get("accord_source"))


def _source_of(src: Any) -> tuple[str, bool]:
    """``(" of <file>", header)`` from what :mod:`accord.io` records about a file, else ``("", False)``."""
    if isinstance(src, Mapping) and src.get("path"):
        return f" of {src['path']}", bool(src.get("header"))
    return "", False


def _factorize(
    values: pd.Series, what: str, rows: pd.Index, place: str, header: bool
) -> tuple[np.ndarray, Any]:
    """``pd.factorize`` (missing -> -1) that names the rows holding a list, dict
    or other unhashable value."""
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:
        bad = values.map(lambda v: not isinstance(v, Hashable)).to_numpy(dtype=bool)
        kinds = sorted({type(v).__name__ for v in values[bad]})
        raise InvalidAnnotationsError(
            f"the {what} must be single values, but {_where(rows, np.flatnonzero(bad), place, header)} "
            f"hold{'s' if bad.sum() == 1 else ''} {' / '.join(kinds)} values; give one id or label per cell"
        ) from None
    return np.asarray(codes, dtype=np.int64), uniques


def _blank_codes(codes: np.ndarray, uniques: Any) -> np.ndarray:
    """Mask of missing entries: NaN/None (code -1) or a blank / whitespace-only string."""
    blank = blank_values(uniques)
    if not blank.any():
        return np.asarray(codes) < 0
    return np.append(blank, True)[codes]


def _renumber(
    codes: np.ndarray, ids: pd.Index, pos: np.ndarray | None, ordered: bool = False
) -> tuple[np.ndarray, pd.Index]:
    """Codes of the rows kept (``pos``; None: all) numbered by first appearance, and their ids (``ordered``:
    the codes are known to number every id by first appearance, as :func:`pandas.factorize` gives them)."""
    if pos is None and (ordered or in_first_appearance_order(codes, len(ids))):
        return codes, ids
    new_codes, used = pd.factorize(codes if pos is None else codes[pos], sort=False)
    return new_codes, ids[used]


def _integral(value: Any) -> Any:
    """A float that holds an integer (pandas widens integer columns with a gap to floats) as that integer."""
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return int(value)
    return _plain(value)


def _merge_uniques(codes: np.ndarray, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integral floats back to ints, merging the codes of values that become equal (``1`` and ``1.0``)."""
    if not any(isinstance(u, (float, np.floating)) for u in uniques):
        return codes, uniques
    fixed = pd.Series([_integral(u) for u in uniques], dtype=object)
    new_codes, merged = pd.factorize(fixed, use_na_sentinel=True)
    lookup = np.append(np.asarray(new_codes, dtype=np.int64), -1)
    return lookup[codes], np.asarray(merged, dtype=object)


class Annotations:
    """Labels given by annotators to items, encoded and validated.

    Attributes
    ----------
    items, annotators, classes : pandas.Index
        The user's item ids, annotator ids and class labels; position = integer code.
    item, annotator, label : numpy.ndarray of int32, shape (n_annotations,)
        The codes of each annotation. Read-only.
    extra : pandas.DataFrame or None
        Optional per-annotation columns (e.g. a proposal that was shown), aligned with the code arrays.
    report : list of str
        What was changed or dropped while building (duplicates, empty items, missing labels), one line each.

    Examples
    --------
    >>> df = pd.DataFrame({"item": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["cat", "dog", "dog"]})
    >>> ann = Annotations.from_frame(df)
    >>> ann
    Annotations(2 items, 2 annotators, 2 classes ['cat', 'dog'], 3 annotations)
    >>> ann.label.tolist()
    [0, 1, 1]
    """

    def __init__(
        self,
        item: np.ndarray,
        annotator: np.ndarray,
        label: np.ndarray,
        items: pd.Index,
        annotators: pd.Index,
        classes: pd.Index,
        extra: pd.DataFrame | None = None,
        report: list[str] | None = None,
    ) -> None:
        self.item = self._freeze(item)
        self.annotator = self._freeze(annotator)
        self.label = self._freeze(label)
        self.items = items
        self.annotators = annotators
        self.classes = classes
        self.extra = None if extra is None else extra.reset_index(drop=True)
        self.report = list(report or [])

    @staticmethod
    def _freeze(codes: np.ndarray) -> np.ndarray:
        arr = np.ascontiguousarray(codes, dtype=np.int32)
        arr.flags.writeable = False
        return arr

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        item: Hashable | None = None,
        annotator: Hashable | None = None,
        label: Hashable | None = None,
        classes: Sequence[Any] | None = None,
        duplicates: Duplicates = "error",
        missing: Literal["error", "drop"] = "error",
        extra: Sequence[Hashable] | None = None,
    ) -> Annotations:
        """Build from a long table with one row per annotation.

        Parameters
        ----------
        df : pandas.DataFrame
            Columns ``item, annotator, label`` (crowd-kit's ``task, worker, label`` are accepted too).
        item, annotator, label : column names, optional
            Other column names to use.
        classes : sequence, optional
            The set and order of classes. A label outside it is an error. Default: the labels seen, sorted
            (numerically when they are numbers or numeric strings).
        duplicates : {"error", "keep_first", "keep_last", "keep_all"}
            What to do when an annotator labelled the same item more than once.
        missing : {"error", "drop"}
            What to do with rows whose label is missing: NaN, None, ``pd.NA``, or a blank or whitespace-only
            string. Strings such as ``"NA"`` or ``"None"`` are labels like any other.
        extra : sequence of column names, optional
            Per-annotation columns to carry along (available as ``.extra``).

        Notes
        -----
        Ids keep their type (an integer item column gives integer item ids). Labels that are integral floats
        (an integer column that pandas widened to floats because of a gap) become the integers they were, so
        ``1`` and ``1.0`` are one class. An error about a row names it by the frame's index, or by its line in
        the file when the frame was read by :func:`accord.io.read_table`.
        """
        if not isinstance(df, pd.DataFrame):
            raise InvalidAnnotationsError(
                f"expected a pandas DataFrame with columns item, annotator, label; got {type(df).__name__}. "
                "For an items x annotators matrix use Annotations.from_wide"
            )
        _check_options(duplicates, missing)
        place, header = _source(df)
        if len(df) == 0:
            raise InvalidAnnotationsError(f"the annotations{place} are empty: the table has no rows")
        cols = _resolve_columns(df.columns, item, annotator, label)
        extra_cols = list(extra or [])
        for c in extra_cols:
            if c not in df.columns:
                raise InvalidAnnotationsError(
                    f"extra column {c!r} is not in the table; its columns are {_show(df.columns, 20)}"
                )
        rows = df.index if df.index.name == "line" else pd.Index(df.index)

        def column(role: str) -> tuple[np.ndarray, Any]:
            what = "labels" if role == "label" else f"{role} ids"
            return _factorize(df[cols[role]], what, rows, place, header)

        parts, pos, report = cls._assemble(
            column, cols, rows, place, header, classes, duplicates, missing, ordered=True
        )
        extra_frame = None
        if extra_cols:
            extra_frame = (df[extra_cols] if pos is None else df[extra_cols].iloc[pos]).reset_index(drop=True)
            extra_frame.columns = pd.Index([str(c) for c in extra_cols])
        return cls(*parts, extra_frame, report)

    @classmethod
    def from_codes(
        cls,
        columns: Mapping[Any, tuple[np.ndarray, Any]],
        *,
        item: Hashable | None = None,
        annotator: Hashable | None = None,
        label: Hashable | None = None,
        classes: Sequence[Any] | None = None,
        duplicates: Duplicates = "error",
        missing: Literal["error", "drop"] = "error",
        rows: pd.Index | None = None,
        source: Mapping[str, Any] | None = None,
        check_values: bool = True,
        copy: bool = True,
        first_appearance: bool = False,
        extra: pd.DataFrame | None = None,
    ) -> Annotations:
        """Build from a table whose columns are already factorized: ``(codes, values)`` per column.

        The same validation, policy and messages as :meth:`from_frame` (which calls the same steps), without
        a per-row Python object: :func:`accord.io.read_annotations` builds from pyarrow's dictionary encoding
        this way.

        Parameters
        ----------
        columns : mapping
            Column name -> ``(codes, values)``: ``codes`` an integer array with one entry per row (``-1`` for
            an empty cell), ``values`` the distinct values the codes point to (no repeats). Only the three
            columns that are used are looked up, so the mapping may encode a column when it is asked for.
        item, annotator, label, classes, duplicates, missing
            As in :meth:`from_frame`.
        rows : pandas.Index, optional
            What errors call the rows (an index named ``"line"`` holds file lines). Default: positions.
        source : mapping, optional
            Where the rows came from, as :func:`accord.io.source_of` records it (``{"path", "header"}``), so
            that errors name the file.
        check_values : bool, default True
            Check that the values of each column do not repeat (a reader whose values come from a dictionary
            encoding may skip the check).
        copy : bool, default True
            Copy the code arrays. ``False`` lets ``int32`` arrays become the result's (read-only) arrays
            without a copy: for a reader that made them and keeps no other use for them.
        first_appearance : bool, default False
            The codes of the item and annotator columns use every value and number them in order of first
            appearance (as :func:`pandas.factorize` or one dictionary encoding of the whole column gives
            them), so the build need not check it before keeping them as they are.
        extra : pandas.DataFrame, optional
            Per-annotation columns, one row per row of the codes (as :meth:`from_frame`'s ``extra=``); the
            rows kept become ``.extra``.

        Examples
        --------
        >>> columns = {
        ...     "item": (np.array([0, 0, 1]), ["i1", "i2"]),
        ...     "annotator": (np.array([0, 1, 0]), ["a", "b"]),
        ...     "label": (np.array([1, 0, 0]), ["dog", "cat"]),
        ... }
        >>> ann = Annotations.from_codes(columns)
        >>> list(ann.classes), ann.label.tolist()
        (['cat', 'dog'], [0, 1, 1])
        """
        _check_options(duplicates, missing)
        place, header = _source_of(source)
        names = pd.Index(list(columns), tupleize_cols=False)
        if rows is not None and len(rows) == 0:
            raise InvalidAnnotationsError(f"the annotations{place} are empty: the table has no rows")
        cols = _resolve_columns(names, item, annotator, label)
        fetched: dict[str, tuple[np.ndarray, Any]] = {}
        for role in ("item", "annotator", "label"):
            codes, values = columns[cols[role]]
            fetched[role] = (np.asarray(codes), values)
        n_rows = len(fetched["item"][0])
        if any(len(fetched[role][0]) != n_rows for role in fetched) or (
            rows is not None and len(rows) != n_rows
        ):
            raise InvalidParameterError(
                "the code arrays (and rows) of from_codes must have one entry per row"
            )
        if n_rows == 0:
            raise InvalidAnnotationsError(f"the annotations{place} are empty: the table has no rows")
        where = pd.RangeIndex(n_rows) if rows is None else rows

        def column(role: str) -> tuple[np.ndarray, Any]:
            codes, values = fetched[role]
            if role == "label":
                values = np.asarray(values, dtype=object)
            distinct = pd.Index(values, tupleize_cols=False)
            if check_values and distinct.has_duplicates:
                raise InvalidParameterError(
                    f"the values of column {cols[role]!r} given to from_codes repeat "
                    f"{_show(distinct[distinct.duplicated()].tolist())}; give each distinct value once"
                )
            codes = np.asarray(codes)
            if codes.dtype.kind not in "iu":
                raise InvalidParameterError(
                    f"the codes of column {cols[role]!r} given to from_codes must be integers, "
                    f"got {codes.dtype}"
                )
            if len(codes) and (codes.min() < -1 or codes.max() >= len(distinct)):
                raise InvalidParameterError(
                    f"the codes of column {cols[role]!r} given to from_codes must lie in -1 .. "
                    f"{len(distinct) - 1} (-1 for an empty cell, else a position in its values)"
                )
            # a copy (unless told otherwise), so that the caller's array is neither frozen nor shared
            codes = codes.astype(np.int32 if len(distinct) < 2**31 - 1 else np.int64, copy=copy)
            return codes, values if role == "label" else distinct

        parts, pos, report = cls._assemble(
            column, cols, where, place, header, classes, duplicates, missing, 6, ordered=first_appearance
        )
        extra_frame = None
        if extra is not None:
            if len(extra) != n_rows:
                raise InvalidParameterError("the extra columns given to from_codes must have one row per row")
            extra_frame = (extra if pos is None else extra.iloc[pos]).reset_index(drop=True)
            extra_frame.columns = pd.Index([str(c) for c in extra.columns])
        return cls(*parts, extra_frame, report)

    @classmethod
    def _assemble(
        cls,
        column: Callable[[str], tuple[np.ndarray, Any]],
        cols: dict[str, Hashable],
        rows: pd.Index,
        place: str,
        header: bool,
        classes: Sequence[Any] | None,
        duplicates: str,
        missing: str,
        stacklevel: int = 5,
        ordered: bool = False,
    ) -> tuple[_Parts, np.ndarray | None, list[str]]:
        """The steps :meth:`from_frame` and :meth:`from_codes` share, on codes: ids checked, missing labels
        and repeated pairs handled, ids renumbered when rows were dropped, labels mapped to classes.

        Returns the six arguments of the constructor before ``extra``, the positions kept (None: every row)
        and the report."""
        ids = {}
        for role in ("item", "annotator"):
            codes, uniques = column(role)
            ids[role] = (codes, cls._check_ids(codes, uniques, role, cols[role], rows, place, header))
        label_codes, label_uniques = column("label")
        label_codes, label_values = _merge_uniques(label_codes, np.asarray(label_uniques, dtype=object))
        keep = np.ones(len(label_codes), dtype=bool)
        report = cls._handle_missing_labels(
            _blank_codes(label_codes, label_values),
            keep,
            cols["label"],
            rows,
            place,
            header,
            missing,
            stacklevel,
        )
        report += cls._handle_duplicates(ids["item"][0], ids["annotator"][0], keep, ids, duplicates)
        pos = None if keep.all() else np.flatnonzero(keep)
        item_codes, items = _renumber(ids["item"][0], ids["item"][1], pos, ordered)
        ann_codes, annotators = _renumber(ids["annotator"][0], ids["annotator"][1], pos, ordered)
        kept_labels = label_codes if pos is None else label_codes[pos]
        used = used_values(kept_labels, len(label_values))
        class_index = cls._class_index(list(label_values[used]), classes)
        per_value = np.full(len(label_values), -1, dtype=np.int32)
        per_value[used] = cls._code_values(label_values[used], class_index, "label", "")
        if np.array_equal(per_value, np.arange(len(per_value))) and kept_labels.dtype == np.int32:
            codes = kept_labels  # the values are the classes in their order: the codes are the classes'
        else:
            codes = per_value[kept_labels]
        if (codes < 0).any():
            bad = np.flatnonzero(codes < 0)
            shown = pd.unique(label_values[kept_labels[bad]])
            kept_rows = rows if pos is None else rows[pos]
            raise InvalidAnnotationsError(
                f"label(s) {_show(shown)} are not among the declared classes {_show(class_index, 20)} "
                f"(on {_where(kept_rows, bad, place, header)}). Add them to "
                f"{option('classes=...', '--classes')}, or fix those rows"
            )
        parts = (
            item_codes,
            ann_codes,
            codes,
            pd.Index(items, name="item"),
            pd.Index(annotators, name="annotator"),
            class_index,
        )
        return parts, pos, report

    @staticmethod
    def _check_ids(
        codes: np.ndarray, uniques: Any, role: str, column: Hashable, rows: pd.Index, place: str, header: bool
    ) -> pd.Index:
        """The unique ids of an id column; a missing or blank id is an error that names the rows."""
        bad = _blank_codes(codes, uniques)
        if bad.any():
            raise InvalidAnnotationsError(
                f"the {role} column {column!r} is missing on "
                f"{_where(rows, np.flatnonzero(bad), place, header)} "
                f"(an empty cell); every annotation needs an {role} id: fill or delete those rows"
            )
        return pd.Index(uniques, tupleize_cols=False) if len(uniques) else pd.Index([])

    @staticmethod
    def _handle_missing_labels(
        bad: np.ndarray,
        keep: np.ndarray,
        label_col: Hashable,
        rows: pd.Index,
        place: str,
        header: bool,
        missing: str,
        stacklevel: int = 5,
    ) -> list[str]:
        if not bad.any():
            return []
        where = _where(rows, np.flatnonzero(bad), place, header)
        hint = option("missing='drop'", "--missing drop")
        if missing == "error":
            raise InvalidAnnotationsError(
                f"the label column {label_col!r} is missing (empty or blank) on {where}. Fill or delete "
                f"those rows, or drop them with a note: {hint}"
            )
        if bad.all():
            raise InvalidAnnotationsError(f"the annotations{place} are empty: every label is missing")
        note = f"dropped {int(bad.sum())} annotation(s) with a missing label ({where})"
        warnings.warn(note, DataQualityWarning, stacklevel=stacklevel)
        keep &= ~bad
        return [note]

    @staticmethod
    def _handle_duplicates(
        item: np.ndarray,
        annotator: np.ndarray,
        keep: np.ndarray,
        ids: dict[str, tuple[np.ndarray, pd.Index]],
        duplicates: str,
    ) -> list[str]:
        if duplicates == "keep_all":
            return []
        n_annotators = len(ids["annotator"][1])
        if keep.all():
            if not has_duplicate_pairs(item, annotator, n_annotators):
                return []
        elif not has_duplicate_pairs(item[keep], annotator[keep], n_annotators):
            return []
        pos = np.flatnonzero(keep)
        width = int(annotator.max(initial=0)) + 1
        key = item[pos].astype(np.int64) * width + annotator[pos]
        # the keys that repeat, from a sort (SIMD-sorted integers), then each row looked up among those few:
        # at 10^7 rows 0.3 s against 1.6 s for hashing every key (pandas' duplicated)
        ordered = np.sort(key)
        pairs = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        if not len(pairs):
            return []
        dup = pd.Index(pairs).get_indexer(key) >= 0
        if duplicates == "error":
            examples = list(
                dict.fromkeys(
                    (_plain(ids["item"][1][item[p]]), _plain(ids["annotator"][1][annotator[p]]))
                    for p in pos[dup][: 4 * _MAX_SHOWN]
                )
            )[:_MAX_SHOWN]
            # the count of pairs leads the message: the examples end in "..." rather than a second count
            shown = _show(examples) + (", ..." if len(pairs) > len(examples) else "")
            hint = option(
                "duplicates='keep_last', 'keep_first' or 'keep_all'",
                "--duplicates keep_last (or keep_first, keep_all)",
            )
            raise InvalidAnnotationsError(
                f"{len(pairs)} (item, annotator) pair(s) occur more than once, e.g. {shown}. Choose which to "
                f"keep with {hint}"
            )
        which = "last" if duplicates == "keep_last" else "first"
        # among the rows of repeated pairs only (a row of a pair that occurs once is never dropped): the
        # same rows as over every key, without a second pass of hashing them all
        repeated = pos[dup]
        drop = pd.Series(key[dup]).duplicated(keep=which).to_numpy()
        keep[repeated[drop]] = False
        return [
            f"dropped {int(drop.sum())} repeated annotation(s) of {len(pairs)} (item, annotator) "
            f"pair(s), keeping the {which} of each"
        ]

    @staticmethod
    def _class_index(seen: Sequence[Any], classes: Sequence[Any] | None) -> pd.Index:
        if classes is None:
            return pd.Index(_default_class_order(list(seen)), name="class", tupleize_cols=False)
        class_index = pd.Index([_plain(c) for c in classes], name="class", tupleize_cols=False)
        if len(class_index) == 0:
            raise InvalidParameterError("classes is empty: give at least two classes, or leave it out")
        if class_index.has_duplicates:
            raise InvalidParameterError(
                f"classes has repeated entries: {_show(class_index[class_index.duplicated()].tolist())}"
            )
        return class_index

    @staticmethod
    def _code_values(values: Sequence[Any], class_index: pd.Index, what: str, where: str) -> np.ndarray:
        """Class code of each value (-1 when it is not a class); labels read as text ("1") also match classes
        given as numbers (1), and the other way round."""
        arr = np.empty(len(values), dtype=object)
        arr[:] = list(values)
        codes = class_index.get_indexer(arr) if len(arr) else np.zeros(0, dtype=np.int64)
        if (codes < 0).any():
            as_text = pd.Index([str(c) for c in class_index])
            if not as_text.has_duplicates:
                codes_text = as_text.get_indexer([str(v) for v in arr])
                codes = np.where(codes < 0, codes_text, codes)
        return np.asarray(codes, dtype=np.int64)

    @classmethod
    def _encode_labels(cls, labels: pd.Series, class_index: pd.Index, what: str = "label") -> np.ndarray:
        codes = cls._code_values([_integral(v) for v in labels.to_numpy()], class_index, what, "")
        unknown = codes < 0
        if unknown.any():
            bad = pd.unique(labels.to_numpy()[unknown])
            raise InvalidAnnotationsError(
                f"{what}(s) {_show(list(bad))} are not among the declared classes "
                f"{_show(list(class_index), 20)} "
                f"(on {_where(pd.Index(labels.index), np.flatnonzero(unknown))}). Use one of the classes"
            )
        return codes.astype(np.int32)

    @classmethod
    def from_wide(
        cls,
        matrix: pd.DataFrame | np.ndarray,
        *,
        classes: Sequence[Any] | None = None,
        items: Sequence[Any] | None = None,
        annotators: Sequence[Any] | None = None,
        empty_items: Literal["error", "drop"] = "error",
    ) -> Annotations:
        """Build from an items x annotators matrix; a missing annotation is NaN, None, ``pd.NA`` or a blank
        cell.

        This is cleanlab's ``labels_multiannotator`` layout. Row labels are item ids and column labels
        annotator ids (for a NumPy array: 0..n-1 unless ``items`` / ``annotators`` are given). An item (row)
        with no annotation at all is an error unless ``empty_items="drop"``, which drops it and says so in
        ``.report``. Labels follow the same policy as :meth:`from_frame`: strings such as ``"NA"`` are labels,
        and a column that pandas turned into floats because of a gap gives the integers it held.
        """
        if empty_items not in ("error", "drop"):
            raise InvalidParameterError(f"empty_items must be 'error' or 'drop', got {empty_items!r}")
        frame = cls._wide_frame(matrix, items, annotators)
        place, _ = _source(frame)
        if frame.size == 0:
            raise InvalidAnnotationsError(f"the annotations{place} are empty: the matrix has no cells")
        n_items, n_ann = frame.shape
        flat = pd.Series(frame.to_numpy(dtype=object).ravel())
        try:
            codes, uniques = pd.factorize(flat, use_na_sentinel=True)
        except TypeError:
            bad = np.flatnonzero(flat.map(lambda v: not isinstance(v, Hashable)).to_numpy(dtype=bool))
            cells = [(_plain(frame.index[p // n_ann]), _plain(frame.columns[p % n_ann])) for p in bad[:3]]
            raise InvalidAnnotationsError(
                f"the matrix{place} must hold one label per cell, but {len(bad)} cell(s) hold lists or other "
                f"containers, e.g. (item, annotator) {_show(cells)}"
            ) from None
        codes, values = _merge_uniques(np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object))
        present = ~_blank_codes(codes, values).reshape(n_items, n_ann)
        empty_rows = ~present.any(axis=1)
        report: list[str] = []
        if empty_rows.any():
            ids = frame.index[empty_rows]
            if empty_items == "error":
                hint = option("empty_items='drop'", "--empty-items drop")
                raise InvalidAnnotationsError(
                    f"{len(ids)} item(s){place} have no annotation: {_show(list(ids))}. Remove those rows, "
                    f"or "
                    f"drop them with a note: {hint}"
                )
            report.append(f"dropped {len(ids)} item(s) with no annotation: {_show(list(ids))}")
            warnings.warn(report[-1], DataQualityWarning, stacklevel=2)
        if not present.any():
            raise InvalidAnnotationsError(
                f"the annotations{place} are empty: every cell of the matrix is missing"
            )
        rows, cols = np.nonzero(present)
        kept_items = frame.index[~empty_rows]
        item_codes = np.cumsum(~empty_rows)[rows] - 1
        ann_codes, ann_used = pd.factorize(cols, sort=False)
        cell_codes = codes.reshape(n_items, n_ann)[rows, cols]
        used = np.unique(cell_codes)
        class_index = cls._class_index([values[c] for c in used], classes)
        per_value = np.full(len(values), -1, dtype=np.int64)
        per_value[used] = cls._code_values([values[c] for c in used], class_index, "label", "")
        label_codes = per_value[cell_codes]
        if (label_codes < 0).any():
            bad = np.flatnonzero(label_codes < 0)
            shown = pd.unique(np.asarray([values[c] for c in cell_codes[bad]], dtype=object))
            raise InvalidAnnotationsError(
                f"label(s) {_show(shown)} are not among the declared classes {_show(class_index, 20)} (e.g. "
                f"item "
                f"{_plain(frame.index[rows[bad[0]]])!r}, annotator {_plain(frame.columns[cols[bad[0]]])!r}). "
                f"Add them to {option('classes=...', '--classes')}, or fix those cells"
            )
        return cls(
            item_codes,
            ann_codes,
            label_codes,
            pd.Index(kept_items, name="item"),
            pd.Index(frame.columns[ann_used], name="annotator"),
            class_index,
            None,
            report,
        )

    @staticmethod
    def _wide_frame(
        matrix: pd.DataFrame | np.ndarray, items: Sequence[Any] | None, annotators: Sequence[Any] | None
    ) -> pd.DataFrame:
        if isinstance(matrix, pd.DataFrame):
            frame = matrix.copy()
            frame.attrs = dict(matrix.attrs)
        else:
            try:
                arr = np.asarray(matrix, dtype=object)
            except ValueError as exc:
                raise InvalidAnnotationsError(
                    f"a wide annotation matrix must be 2-D (items x annotators): {exc}"
                ) from None
            if arr.ndim != 2:
                raise InvalidAnnotationsError(
                    f"a wide annotation matrix must be 2-D (items x annotators), got shape {arr.shape}"
                )
            frame = pd.DataFrame(arr)
        if items is not None:
            frame.index = pd.Index(list(items))
        if annotators is not None:
            frame.columns = pd.Index(list(annotators))
        place, _ = _source(frame)
        for what, index in (
            ("item ids in the rows", frame.index),
            ("annotator ids in the columns", frame.columns),
        ):
            codes, uniques = _factorize(
                pd.Series(index, dtype=object), what, pd.RangeIndex(len(index)), place, False
            )
            blank = _blank_codes(codes, uniques)
            if blank.any():
                raise InvalidAnnotationsError(
                    f"missing {what}{place}: position(s) {_show(np.flatnonzero(blank))} (counting from 0) "
                    f"have "
                    "an empty id; name every row and column"
                )
            if index.has_duplicates:
                raise InvalidAnnotationsError(
                    f"repeated {what}{place}: {_show(index[index.duplicated()].tolist())}"
                )
        return frame

    @classmethod
    def read(
        cls,
        path: str | Path,
        *,
        format: str | None = None,
        layout: Literal["long", "wide"] = "long",
        **kwargs: Any,
    ) -> Annotations:
        """Read annotations from a file; the format comes from the suffix unless ``format`` is given.

        The same as :func:`accord.io.read_annotations` (which this calls): ``csv``, ``tsv``, ``parquet``,
        ``jsonl`` (JSON Lines, one annotation per line). Ids and labels are read as text kept exactly as
        written (``"007"`` stays ``"007"``, ``"NA"`` stays ``"NA"``); only an empty cell is missing. With
        ``layout="wide"`` the first column holds item ids and the others are annotators. Other keywords go to
        :meth:`from_frame` (or :meth:`from_wide`).
        """
        return _reader("read")(path, format=format, layout=layout, **kwargs)

    # ------------------------------------------------------------------ annotation-tool exports
    @classmethod
    def from_label_studio(cls, path: Any, **options: Any) -> Annotations:
        """From a Label Studio JSON, JSON_MIN, CSV or TSV export; see :func:`accord.io.label_studio.read`."""
        return _reader("label_studio")(path, **options)

    @classmethod
    def from_sagemaker(cls, path: Any, **options: Any) -> Annotations:
        """From SageMaker Ground Truth worker responses or an output manifest; see
        :mod:`accord.io.sagemaker`."""
        return _reader("sagemaker")(path, **options)

    @classmethod
    def from_mturk(cls, path: Any, **options: Any) -> Annotations:
        """From an Amazon MTurk batch-results CSV; see :func:`accord.io.mturk.read`."""
        return _reader("mturk")(path, **options)

    @classmethod
    def from_toloka(cls, path: Any, **options: Any) -> Annotations:
        """From a Toloka assignments TSV; see :func:`accord.io.toloka.read`."""
        return _reader("toloka")(path, **options)

    @classmethod
    def from_prodigy(cls, path: Any, **options: Any) -> Annotations:
        """From a Prodigy JSONL export; see :func:`accord.io.prodigy.read`."""
        return _reader("prodigy")(path, **options)

    # ------------------------------------------------------------------ sizes
    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_annotators(self) -> int:
        return len(self.annotators)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_annotations(self) -> int:
        return len(self.item)

    def __len__(self) -> int:
        return self.n_annotations

    def __repr__(self) -> str:
        shown = list(self.classes[:6])
        more = ", ..." if self.n_classes > 6 else ""
        return (
            f"Annotations({self.n_items} items, {self.n_annotators} annotators, {self.n_classes} classes "
            f"{shown}{more}, {self.n_annotations} annotations)"
        )

    # ------------------------------------------------------------------ derived arrays
    def vote_counts(self, weights: np.ndarray | None = None) -> np.ndarray:
        """``counts[i, k]``: number (or total weight) of annotations of item ``i`` with label ``k``."""
        k = self.n_classes
        key = self.item.astype(np.intp)  # the one array of the size of the annotations, updated in place
        key *= k
        key += self.label
        w = None if weights is None else np.asarray(weights, dtype=np.float64)
        counts = np.bincount(key, weights=w, minlength=self.n_items * k)
        return counts.reshape(-1, k) if w is not None else counts.astype(np.float64).reshape(-1, k)

    def item_sizes(self) -> np.ndarray:
        """Number of annotations of each item."""
        return np.bincount(self.item, minlength=self.n_items)

    def annotator_sizes(self) -> np.ndarray:
        """Number of annotations by each annotator."""
        return np.bincount(self.annotator, minlength=self.n_annotators)

    # ------------------------------------------------------------------ subsets
    def take(self, indices: np.ndarray) -> Annotations:
        """The annotations at ``indices`` (positions or a boolean mask), keeping the same item, annotator and
        class indexes, so that results stay aligned with the full data. Items may be left with no
        annotation."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != self.item.shape:
                raise InvalidParameterError(f"mask has shape {idx.shape}, expected {self.item.shape}")
            idx = np.flatnonzero(idx)
        extra = None if self.extra is None else self.extra.iloc[idx]
        return Annotations(
            self.item[idx],
            self.annotator[idx],
            self.label[idx],
            self.items,
            self.annotators,
            self.classes,
            extra,
            self.report,
        )

    def subsample(
        self, max_per_item: int, random_state: int | np.random.Generator | None = None
    ) -> Annotations:
        """At most ``max_per_item`` annotations per item, chosen uniformly at random (for redundancy curves).

        Items keep all their annotations when they have no more than ``max_per_item``. The item, annotator and
        class indexes are unchanged.
        """
        max_per_item = check_positive_int("max_per_item", max_per_item)
        rng = check_random_state(random_state)
        order = rng.permutation(self.n_annotations)
        order = order[np.argsort(self.item[order], kind="stable")]
        sizes = self.item_sizes()
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        rank = np.arange(self.n_annotations) - starts[self.item[order]]
        keep = np.sort(order[rank < max_per_item])
        return self.take(keep)

    def select_items(self, items: Sequence[Any] | np.ndarray) -> Annotations:
        """The annotations of the given items (ids), re-encoded so that only those items remain."""
        codes = self.encode_items(items)
        mask = np.zeros(self.n_items, dtype=bool)
        mask[codes] = True
        keep = np.flatnonzero(mask[self.item])
        new_code = np.full(self.n_items, -1, dtype=np.int64)
        new_code[np.flatnonzero(mask)] = np.arange(mask.sum())
        extra = None if self.extra is None else self.extra.iloc[keep]
        return Annotations(
            new_code[self.item[keep]],
            self.annotator[keep],
            self.label[keep],
            self.items[mask],
            self.annotators,
            self.classes,
            extra,
            self.report,
        )

    # ------------------------------------------------------------------ encoding of other inputs
    def encode_items(self, ids: Sequence[Any] | np.ndarray | pd.Index) -> np.ndarray:
        """Codes of the given item ids; an unknown id is an error."""
        ids = pd.Index(list(ids) if not isinstance(ids, pd.Index) else ids)
        codes = match_index(ids, self.items)
        if (codes < 0).any():
            raise InvalidAnnotationsError(
                f"item id(s) {_show(list(ids[codes < 0]))} are not in the annotations"
            )
        return codes

    def encode_labels(self, values: Sequence[Any] | np.ndarray | pd.Series) -> np.ndarray:
        """Class codes of the given labels; a label outside ``classes`` is an error."""
        return self._encode_labels(pd.Series(list(values), dtype=object), self.classes)

    def encode_gold(self, gold: pd.Series | dict[Any, Any] | pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Turn gold labels (a Series item -> label, a dict, or a DataFrame with item and label columns) into
        ``(item_codes, label_codes)``.

        Gold items that have no annotation are skipped with a :class:`~accord.DataQualityWarning`; when *no*
        gold item has an annotation, that is an error (the ids do not match), the same in every function and
        command that takes gold labels. A gold label outside ``classes`` is an error that names it as gold.
        """
        series = _gold_series(gold)
        if len(series) == 0:
            raise InvalidAnnotationsError("the gold labels are empty")
        if series.index.has_duplicates:
            raise InvalidAnnotationsError(
                f"gold has repeated items: {_show(series.index[series.index.duplicated()].tolist())}"
            )
        blank = series.isna().to_numpy() | series.map(
            lambda v: isinstance(v, str) and not v.strip()
        ).to_numpy(dtype=bool)
        if blank.any():
            raise InvalidAnnotationsError(
                f"gold labels are missing for items {_show(series.index[blank].tolist())}"
            )
        codes = match_index(pd.Index(series.index), self.items)
        unknown = codes < 0
        if unknown.any():
            warnings.warn(
                f"{int(unknown.sum())} gold item(s) have no annotation and are ignored, e.g. "
                f"{_show(series.index[unknown].tolist(), 3)}",
                DataQualityWarning,
                stacklevel=2,
            )
        if unknown.all():
            raise InvalidAnnotationsError(
                f"no gold item has an annotation: none of the {len(series)} gold item id(s) "
                f"{_show(series.index.tolist(), 3)} matches the item ids {_show(self.items.tolist(), 3)}; "
                "check that the gold file uses the same item ids"
            )
        known = series.iloc[np.flatnonzero(~unknown)]
        labels = self._code_values([_integral(v) for v in known.to_numpy()], self.classes, "gold label", "")
        if (labels < 0).any():
            bad = labels < 0
            raise InvalidAnnotationsError(
                f"gold label(s) {_show(pd.unique(known.to_numpy()[bad]))} (items "
                f"{_show(known.index[bad].tolist(), 3)}) are not among the classes of the annotations "
                f"{_show(list(self.classes), 20)}; fix the gold labels or declare the class with "
                f"{option('classes=...', '--classes')}"
            )
        return codes[~unknown].astype(np.int64), labels.astype(np.int64)

    # ------------------------------------------------------------------ back to pandas
    def to_frame(self) -> pd.DataFrame:
        """Long form: one row per annotation, with the user's ids and labels (and any extra columns)."""
        frame = pd.DataFrame(
            {
                "item": self.items[self.item],
                "annotator": self.annotators[self.annotator],
                "label": self.classes[self.label],
            }
        )
        if self.extra is not None:
            frame = pd.concat([frame, self.extra.reset_index(drop=True)], axis=1)
        return frame

    def to_wide(self) -> pd.DataFrame:
        """Items x annotators matrix of labels; missing annotations are NaN. Repeated pairs keep the last."""
        codes = np.full((self.n_items, self.n_annotators), -1, dtype=np.int64)
        codes[self.item, self.annotator] = self.label
        values = np.asarray(self.classes, dtype=object)[codes]
        values[codes < 0] = np.nan
        return pd.DataFrame(values, index=self.items, columns=self.annotators)


def _gold_series(gold: pd.Series | dict[Any, Any] | pd.DataFrame) -> pd.Series:
    if isinstance(gold, pd.Series):
        return gold
    if isinstance(gold, dict):
        return pd.Series(gold, dtype=object)
    if isinstance(gold, pd.DataFrame):
        item_col = _resolve_column(gold.columns, "item", None)
        label_col = _resolve_column(gold.columns, "label", None)
        return pd.Series(gold[label_col].to_numpy(), index=pd.Index(gold[item_col].to_numpy()))
    raise InvalidAnnotationsError(
        f"gold must be a Series (item -> label), a dict or a DataFrame with item and "
        f"label columns; got {type(gold).__name__}"
    )
