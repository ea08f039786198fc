"""``Annotations``: the one input type of every model.

An ``Annotations`` object holds a set of (item, annotator, label) triples as three parallel ``int32`` code
arrays, plus the ``pandas.Index`` objects that map codes back to the user's item ids, annotator ids and class
labels. It is validated once, when built, so that models can trust it; it is immutable (the arrays are
read-only).

Build one with :meth:`Annotations.from_frame` (long table), :meth:`Annotations.from_wide` (items x annotators
matrix with missing cells, cleanlab's layout) or :meth:`Annotations.read` (CSV, TSV, Parquet, JSON Lines).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._utils import check_positive_int, check_random_state
from .errors import DataQualityWarning, InvalidAnnotationsError, InvalidParameterError

__all__ = ["Annotations"]

_COLUMN_ALIASES = {
    "item": ("item", "task", "item_id", "task_id", "example", "example_id"),
    "annotator": ("annotator", "worker", "annotator_id", "worker_id", "rater", "labeler"),
    "label": ("label", "answer", "class", "response"),
}
_MAX_SHOWN = 5
Duplicates = Literal["error", "keep_first", "keep_last", "keep_all"]


def _show(values: Iterable[Any], limit: int = _MAX_SHOWN) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:limit])
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


def _resolve_column(df: pd.DataFrame, role: str, given: Hashable | None) -> Hashable:
    if given is not None:
        if given not in df.columns:
            raise InvalidAnnotationsError(
                f"the {role} column {given!r} is not in the table; its columns are {_show(df.columns, 20)}. "
                f"Pass the right name with {role}=... (CLI: --{role}-col)"
            )
        return given
    lower = {str(c).lower(): c for c in df.columns}
    for alias in _COLUMN_ALIASES[role]:
        if alias in lower:
            return lower[alias]
    raise InvalidAnnotationsError(
        f"no {role} column: expected one named {' or '.join(repr(a) for a in _COLUMN_ALIASES[role][:2])}, "
        f"but the columns are {_show(df.columns, 20)}. Rename it, or pass {role}='your column name'"
    )


def _rows(mask: np.ndarray, index: pd.Index | None = None) -> str:
    pos = np.flatnonzero(mask)
    labels = pos if index is None else index[pos]
    return f"row{'s' if len(pos) > 1 else ''} {_show(list(labels))}"


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
            What to do with rows whose label is missing (NaN, None, empty string).
        extra : sequence of column names, optional
            Per-annotation columns to carry along (available as ``.extra``).
        """
        if not isinstance(df, pd.DataFrame):
            raise InvalidAnnotationsError(
                f"expected a pandas DataFrame with columns item, annotator, label; got {type(df).__name__}. "
                "For an items x annotators matrix use Annotations.from_wide"
            )
        if duplicates not in ("error", "keep_first", "keep_last", "keep_all"):
            raise InvalidParameterError(
                f"duplicates must be 'error', 'keep_first', 'keep_last' or 'keep_all', got {duplicates!r}"
            )
        if missing not in ("error", "drop"):
            raise InvalidParameterError(f"missing must be 'error' or 'drop', got {missing!r}")
        if len(df) == 0:
            raise InvalidAnnotationsError("the annotations are empty: the table has no rows")
        cols = {
            role: _resolve_column(df, role, given)
            for role, given in (("item", item), ("annotator", annotator), ("label", label))
        }
        extra_cols = list(extra or [])
        for c in extra_cols:
            if c not in df.columns:
                raise InvalidAnnotationsError(
                    f"extra column {c!r} is not in the table; its columns are {_show(df.columns, 20)}"
                )
        report: list[str] = []
        table = df[[cols["item"], cols["annotator"], cols["label"], *extra_cols]]
        table.columns = pd.Index(["item", "annotator", "label", *[str(c) for c in extra_cols]])
        table = table.reset_index(drop=True)
        for role in ("item", "annotator"):
            bad = table[role].isna().to_numpy()
            if bad.any():
                raise InvalidAnnotationsError(
                    f"the {role} column {cols[role]!r} is missing on {_rows(bad, df.index)}; "
                    f"every annotation needs an {role} id: fill or drop those rows"
                )
        table, dropped = cls._handle_missing_labels(table, cols["label"], df.index, missing)
        report += dropped
        table, dropped = cls._handle_duplicates(table, duplicates)
        report += dropped
        return cls._encode(table, classes, extra_cols, report)

    @staticmethod
    def _handle_missing_labels(
        table: pd.DataFrame, label_col: Hashable, index: pd.Index, missing: str
    ) -> tuple[pd.DataFrame, list[str]]:
        lab = table["label"]
        bad = lab.isna().to_numpy().copy()  # pandas may hand back a read-only view
        if lab.dtype == object:
            bad |= lab.map(lambda v: isinstance(v, str) and v.strip() == "").to_numpy(dtype=bool)
        if not bad.any():
            return table, []
        if missing == "error":
            raise InvalidAnnotationsError(
                f"the label column {label_col!r} is missing (NaN/None/empty) on {_rows(bad, index)}. "
                "Drop those rows, or pass missing='drop' (the CLI: --missing drop) to drop them with a note"
            )
        note = f"dropped {int(bad.sum())} annotation(s) with a missing label"
        warnings.warn(note, DataQualityWarning, stacklevel=4)
        if bad.all():
            raise InvalidAnnotationsError("the annotations are empty: every label is missing")
        return table.loc[~bad].reset_index(drop=True), [note]

    @staticmethod
    def _handle_duplicates(table: pd.DataFrame, duplicates: str) -> tuple[pd.DataFrame, list[str]]:
        if duplicates == "keep_all":
            return table, []
        dup = table.duplicated(subset=["item", "annotator"], keep=False).to_numpy()
        if not dup.any():
            return table, []
        pairs = table.loc[dup, ["item", "annotator"]].drop_duplicates()
        if duplicates == "error":
            shown = _show(list(pairs.itertuples(index=False, name=None)))
            raise InvalidAnnotationsError(
                f"{len(pairs)} (item, annotator) pair(s) occur more than once, e.g. {shown}. "
                "Pass duplicates='keep_last', 'keep_first' or 'keep_all' (CLI: --duplicates ...) to choose"
            )
        keep = "last" if duplicates == "keep_last" else "first"
        kept = table.loc[~table.duplicated(subset=["item", "annotator"], keep=keep)].reset_index(drop=True)
        note = (
            f"dropped {len(table) - len(kept)} repeated annotation(s) of {len(pairs)} (item, annotator) "
            f"pair(s), keeping the {keep} of each"
        )
        return kept, [note]

    @classmethod
    def _encode(
        cls, table: pd.DataFrame, classes: Sequence[Any] | None, extra_cols: list[Hashable], report: list[str]
    ) -> Annotations:
        item_codes, items = pd.factorize(table["item"], sort=False)
        ann_codes, annotators = pd.factorize(table["annotator"], sort=False)
        class_index = cls._class_index(table["label"], classes)
        label_codes = cls._encode_labels(table["label"], class_index)
        extra = table[[str(c) for c in extra_cols]] if extra_cols else None
        return cls(
            item_codes,
            ann_codes,
            label_codes,
            pd.Index(items, name="item"),
            pd.Index(annotators, name="annotator"),
            class_index,
            extra,
            report,
        )

    @staticmethod
    def _class_index(labels: pd.Series, classes: Sequence[Any] | None) -> pd.Index:
        if classes is None:
            seen = pd.unique(labels.to_numpy())
            return pd.Index(_default_class_order(list(seen)), name="class", tupleize_cols=False)
        class_index = pd.Index(list(classes), name="class", tupleize_cols=False)
        if len(class_index) == 0:
            raise InvalidParameterError("classes is empty: give at least two classes, or leave it out")
        if class_index.has_duplicates:
            raise InvalidParameterError(
                f"classes has repeated entries: {_show(class_index[class_index.duplicated()].tolist())}"
            )
        return class_index

    @staticmethod
    def _encode_labels(labels: pd.Series, class_index: pd.Index) -> np.ndarray:
        codes = class_index.get_indexer(labels.to_numpy())
        if (codes < 0).any():
            # Labels read from text ("1") against classes given as numbers (1), or the other way round.
            as_text = pd.Index([str(c) for c in class_index])
            if not as_text.has_duplicates:
                codes_text = as_text.get_indexer(labels.astype(str).to_numpy())
                codes = np.where(codes < 0, codes_text, codes)
        unknown = codes < 0
        if unknown.any():
            bad = pd.unique(labels.to_numpy()[unknown])
            raise InvalidAnnotationsError(
                f"label(s) {_show(list(bad))} are not among the declared classes "
                f"{_show(list(class_index), 20)} "
                f"(on {_rows(unknown)}). Add them to classes=..., or fix those rows"
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
        """Build from an items x annotators matrix; a missing annotation is NaN, None or ``pd.NA``.

        This is cleanlab's ``labels_multiannotator`` layout. Row labels are item ids and column labels
        annotator ids (for a NumPy array: 0..n-1 unless ``items`` / ``annotators`` are given). An item (row)
        with no annotation at all is an error unless ``empty_items="drop"``, which drops it and says so in
        ``.report``.
        """
        frame = cls._wide_frame(matrix, items, annotators)
        if frame.size == 0:
            raise InvalidAnnotationsError("the annotations are empty: the matrix has no cells")
        present = frame.notna().to_numpy()
        empty_rows = ~present.any(axis=1)
        report: list[str] = []
        if empty_rows.any():
            ids = frame.index[empty_rows]
            if empty_items == "error":
                raise InvalidAnnotationsError(
                    f"{len(ids)} item(s) have no annotation: {_show(list(ids))}. Remove those rows, or pass "
                    "empty_items='drop'"
                )
            report.append(f"dropped {len(ids)} item(s) with no annotation: {_show(list(ids))}")
            warnings.warn(report[-1], DataQualityWarning, stacklevel=2)
        if not present.any():
            raise InvalidAnnotationsError("the annotations are empty: every cell of the matrix is missing")
        rows, cols = np.nonzero(present)
        values = frame.to_numpy(dtype=object)[rows, cols]
        table = pd.DataFrame({"item": frame.index[rows], "annotator": frame.columns[cols], "label": values})
        item_codes, _ = pd.factorize(table["item"])
        kept_items = frame.index[~empty_rows]
        item_codes = kept_items.get_indexer(table["item"])
        ann_codes, ann_index = pd.factorize(table["annotator"])
        class_index = cls._class_index(table["label"], classes)
        label_codes = cls._encode_labels(table["label"], class_index)
        return cls(
            item_codes,
            ann_codes,
            label_codes,
            pd.Index(kept_items, name="item"),
            pd.Index(ann_index, name="annotator"),
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
        else:
            arr = np.asarray(matrix, dtype=object)
            if arr.ndim != 2:
                raise InvalidAnnotationsError(
                    f"a wide annotation matrix must be 2-D (items x annotators), got shape {arr.shape}"
                )
            frame = pd.DataFrame(arr)
        if items is not None:
            frame.index = pd.Index(list(items))
        if annotators is not None:
            frame.columns = pd.Index(list(annotators))
        if frame.index.has_duplicates:
            raise InvalidAnnotationsError(
                f"repeated item ids in the rows: {_show(frame.index[frame.index.duplicated()].tolist())}"
            )
        if frame.columns.has_duplicates:
            raise InvalidAnnotationsError(
                f"repeated annotator ids in the columns: "
                f"{_show(frame.columns[frame.columns.duplicated()].tolist())}"
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

        Formats: ``csv``, ``tsv``, ``parquet``, ``jsonl`` (JSON Lines, one annotation per line). Ids and
        labels are read as text, so ``"007"`` stays ``"007"``. With ``layout="wide"`` the first column holds
        item ids and the others are annotators. Other keywords go to :meth:`from_frame` (or
        :meth:`from_wide`).
        """
        frame = read_table(path, format=format)
        if layout == "wide":
            frame = frame.set_index(frame.columns[0])
            return cls.from_wide(frame, **kwargs)
        if layout != "long":
            raise InvalidParameterError(f"layout must be 'long' or 'wide', got {layout!r}")
        return cls.from_frame(frame, **kwargs)

    # ------------------------------------------------------------------ annotation-tool exports
    @classmethod
    def from_label_studio(cls, path: Any, **options: Any) -> Annotations:
        """From a Label Studio JSON or JSON_MIN export (choices); see :func:`accord.io.label_studio.read`."""
        from .io import from_label_studio

        return from_label_studio(path, **options)

    @classmethod
    def from_sagemaker(cls, path: Any, **options: Any) -> Annotations:
        """From SageMaker Ground Truth worker responses or an output manifest; see
        :mod:`accord.io.sagemaker`."""
        from .io import from_sagemaker

        return from_sagemaker(path, **options)

    @classmethod
    def from_mturk(cls, path: Any, **options: Any) -> Annotations:
        """From an Amazon MTurk batch-results CSV; see :func:`accord.io.mturk.read`."""
        from .io import from_mturk

        return from_mturk(path, **options)

    @classmethod
    def from_toloka(cls, path: Any, **options: Any) -> Annotations:
        """From a Toloka assignments TSV; see :func:`accord.io.toloka.read`."""
        from .io import from_toloka

        return from_toloka(path, **options)

    @classmethod
    def from_prodigy(cls, path: Any, **options: Any) -> Annotations:
        """From a Prodigy JSONL export; see :func:`accord.io.prodigy.read`."""
        from .io import from_prodigy

        return from_prodigy(path, **options)

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
        key = self.item.astype(np.int64) * k + self.label
        w = None if weights is None else np.asarray(weights, dtype=np.float64)
        return np.bincount(key, weights=w, minlength=self.n_items * k).astype(np.float64).reshape(-1, k)

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
        codes = self.items.get_indexer(ids)
        if (codes < 0).any():
            as_text = pd.Index([str(i) for i in self.items])
            if not as_text.has_duplicates:
                codes = np.where(codes < 0, as_text.get_indexer([str(i) for i in ids]), codes)
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
        ``(item_codes, label_codes)``. Gold items that have no annotation are skipped with a warning."""
        series = _gold_series(gold)
        if series.index.has_duplicates:
            raise InvalidAnnotationsError(
                f"gold has repeated items: {_show(series.index[series.index.duplicated()].tolist())}"
            )
        if series.isna().any():
            raise InvalidAnnotationsError(
                f"gold labels are missing for items {_show(series.index[series.isna().to_numpy()].tolist())}"
            )
        codes = self.items.get_indexer(series.index)
        if (codes < 0).any():
            as_text = pd.Index([str(i) for i in self.items])
            if not as_text.has_duplicates:
                codes = np.where(codes < 0, as_text.get_indexer([str(i) for i in series.index]), codes)
        unknown = codes < 0
        if unknown.any():
            warnings.warn(
                f"{int(unknown.sum())} gold item(s) have no annotation and are ignored, e.g. "
                f"{_show(series.index[unknown].tolist(), 3)}",
                DataQualityWarning,
                stacklevel=2,
            )
        labels = self.encode_labels(series.to_numpy()[~unknown])
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
        item_col = _resolve_column(gold, "item", None)
        label_col = _resolve_column(gold, "label", None)
        return pd.Series(gold[label_col].to_numpy(), index=pd.Index(gold[item_col].to_numpy()))
    raise InvalidAnnotationsError(
        f"gold must be a Series (item -> label), a dict or a DataFrame with item and "
        f"label columns; got {type(gold).__name__}"
    )


def read_table(path: str | Path, *, format: str | None = None) -> pd.DataFrame:
    """Read a CSV, TSV, Parquet or JSON Lines file with every column as text (Parquet keeps its types)."""
    path = Path(path)
    if not path.exists():
        raise InvalidAnnotationsError(f"no such file: {path}")
    fmt = (format or _format_from_suffix(path)).lower()
    try:
        if fmt == "csv":
            return pd.read_csv(path, dtype=str, keep_default_na=True, na_values=[""])
        if fmt == "tsv":
            return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=True, na_values=[""])
        if fmt == "parquet":
            try:
                return pd.read_parquet(path)
            except ImportError:
                raise InvalidAnnotationsError(
                    "reading Parquet needs pyarrow: pip install 'accord[parquet]'"
                ) from None
        if fmt in ("jsonl", "ndjson", "json"):
            return pd.read_json(path, lines=True, dtype=False)
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, InvalidAnnotationsError):
            raise
        raise InvalidAnnotationsError(f"could not read {path} as {fmt}: {str(exc).splitlines()[0]}") from None
    raise InvalidAnnotationsError(
        f"unknown file format {fmt!r} for {path}; use .csv, .tsv, .parquet or .jsonl, or pass format=..."
    )


def _format_from_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".zip", ".xz"):
        suffixes = suffixes[:-1]
    if not suffixes:
        raise InvalidAnnotationsError(
            f"cannot tell the format of {path} (no suffix); pass format='csv' or similar"
        )
    return suffixes[-1].lstrip(".")
