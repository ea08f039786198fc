"""``Boxes``: bounding-box annotations (item, annotator, label, x, y, width, height), validated once.

Coordinates keep the input's units (pixels for SageMaker Ground Truth, percent of the image for Label Studio);
``(x, y)`` is the top-left corner. Besides the boxes, a ``Boxes`` records which annotators annotated which
items, so that an annotation with no box at all ("nothing to see here") counts as a miss or a correct
rejection rather than disappearing.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidAnnotationsError
from ._tables import ClassSizes

__all__ = ["COORDINATES", "BoxCollector", "Boxes"]

COORDINATES = ("x", "y", "width", "height")
_ALIASES = {
    "item": ("item", "task", "image", "item_id", "task_id", "image_id"),
    "annotator": ("annotator", "worker", "annotator_id", "worker_id", "rater", "labeler"),
    "label": ("label", "class", "category", "class_name"),
    "x": ("x", "left", "xmin", "x_min"),
    "y": ("y", "top", "ymin", "y_min"),
    "width": ("width", "w"),
    "height": ("height", "h"),
}


def _show(values: Iterable[Any], limit: int = 5) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def _column(frame: pd.DataFrame, role: str, given: Hashable | None) -> Hashable:
    if given is not None:
        if given not in frame.columns:
            raise InvalidAnnotationsError(
                f"the {role} column {given!r} is not in the table; its columns are {_show(frame.columns, 20)}"
            )
        return given
    lower = {str(c).lower(): c for c in frame.columns}
    for alias in _ALIASES[role]:
        if alias in lower:
            return lower[alias]
    raise InvalidAnnotationsError(
        f"no {role} column: expected one named {_show(_ALIASES[role][:3])}, but the columns are "
        f"{_show(frame.columns, 20)}; rename it, or pass {role}='your column name'"
    )


def _rows(mask: np.ndarray, index: pd.Index) -> str:
    return f"row(s) {_show(index[np.flatnonzero(mask)].tolist())}"


def _codes(values: pd.Series, order: Sequence[Any] | None = None) -> tuple[np.ndarray, pd.Index]:
    if order is None:
        uniques = pd.unique(values.to_numpy(dtype=object))
        try:
            order = sorted(uniques)
        except TypeError:
            order = sorted(uniques, key=lambda v: (type(v).__name__, str(v)))
    index = pd.Index(list(order), dtype=object)
    return index.get_indexer(values.to_numpy(dtype=object)).astype(np.int64), index


class Boxes(ClassSizes):
    """Bounding boxes drawn by several annotators on several items.

    Parameters
    ----------
    item, annotator, label : array of int, shape (n_boxes,)
        Codes into ``items``, ``annotators`` and ``classes``.
    xywh : array of float, shape (n_boxes, 4)
        ``x, y, width, height`` per box (top-left corner), in the input's units.
    items, annotators, classes : pandas.Index
        The user's ids and label names.
    seen_item, seen_annotator : array of int, optional
        Every (item, annotator) pair that was annotated, boxes or not; always extended with the boxes' pairs.
    report : list of str, optional
        What the reader skipped or assumed, one line each.
    skipped : dict, optional
        Reason -> number of records skipped.
    units : str, optional
        ``"percent"``, ``"px"``, or ``None`` when unknown.
    image_sizes : DataFrame, optional
        ``width``, ``height`` of each item's image in pixels, indexed by item, when the export gives them.
    """

    def __init__(
        self,
        item: np.ndarray,
        annotator: np.ndarray,
        label: np.ndarray,
        xywh: np.ndarray,
        items: pd.Index,
        annotators: pd.Index,
        classes: pd.Index,
        seen_item: np.ndarray | None = None,
        seen_annotator: np.ndarray | None = None,
        *,
        report: Sequence[str] = (),
        skipped: dict[str, int] | None = None,
        units: str | None = None,
        image_sizes: pd.DataFrame | None = None,
    ) -> None:
        self.item = np.asarray(item, dtype=np.int64)
        self.annotator = np.asarray(annotator, dtype=np.int64)
        self.label = np.asarray(label, dtype=np.int64)
        self.xywh = np.asarray(xywh, dtype=np.float64).reshape(-1, 4)
        self.items, self.annotators, self.classes = items, annotators, classes
        pairs_item = self.item if seen_item is None else np.r_[np.asarray(seen_item, np.int64), self.item]
        pairs_ann = (
            self.annotator
            if seen_annotator is None
            else np.r_[np.asarray(seen_annotator, np.int64), self.annotator]
        )
        pairs = np.unique(pairs_item * max(len(annotators), 1) + pairs_ann)
        self.seen_item, self.seen_annotator = np.divmod(pairs, max(len(annotators), 1))
        self.report = list(report)
        self.skipped = dict(skipped or {})
        self.units = units
        self.image_sizes = image_sizes
        for array in (self.item, self.annotator, self.label, self.xywh, self.seen_item, self.seen_annotator):
            array.setflags(write=False)

    def __repr__(self) -> str:
        return (
            f"Boxes({self.n_boxes} boxes, {self.n_items} items, {self.n_annotators} annotators, "
            f"classes={list(self.classes)}, units={self.units!r})"
        )

    def __len__(self) -> int:
        return self.n_boxes

    @property
    def n_boxes(self) -> int:
        return len(self.item)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        item: Hashable | None = None,
        annotator: Hashable | None = None,
        label: Hashable | None = None,
        x: Hashable | None = None,
        y: Hashable | None = None,
        width: Hashable | None = None,
        height: Hashable | None = None,
        seen: pd.DataFrame | None = None,
        classes: Sequence[Any] | None = None,
        units: str | None = None,
    ) -> Boxes:
        """Boxes from a long table, one row per box.

        Column names are found by role (``item``/``task``/``image``, ``annotator``/``worker``, ``label``,
        ``x``/``left``, ``y``/``top``, ``width``, ``height``) unless given. ``seen`` is an optional table of
        (item, annotator) pairs that were annotated, including those without any box. Rows with a missing id,
        label or coordinate, a non-numeric coordinate, or a width or height that is not positive are refused
        with the rows named.

        Examples
        --------
        >>> df = pd.DataFrame({"item": ["a", "a"], "annotator": ["u", "v"], "label": ["cat", "cat"],
        ...                    "x": [0, 1], "y": [0, 1], "width": [10, 10], "height": [10, 10]})
        >>> Boxes.from_frame(df)
        Boxes(2 boxes, 1 items, 2 annotators, classes=['cat'], units=None)
        """
        if not isinstance(frame, pd.DataFrame):
            raise InvalidAnnotationsError(f"expected a pandas DataFrame of boxes, got {type(frame).__name__}")
        given = {"item": item, "annotator": annotator, "label": label, "x": x, "y": y}
        given.update(width=width, height=height)
        cols = {role: _column(frame, role, given[role]) for role in _ALIASES}
        frame = frame.reset_index(drop=True)
        shown_index = pd.RangeIndex(len(frame))
        for role in ("item", "annotator", "label"):
            missing = frame[cols[role]].isna().to_numpy()
            if missing.any():
                raise InvalidAnnotationsError(
                    f"missing {role} in {_rows(missing, shown_index)}; fill or drop those rows"
                )
        xywh = _coordinates(frame, cols, shown_index)
        seen_frame = _seen_frame(seen)
        item_codes, items = _codes(pd.concat([frame[cols["item"]], seen_frame["item"]], ignore_index=True))
        ann_codes, annotators = _codes(
            pd.concat([frame[cols["annotator"]], seen_frame["annotator"]], ignore_index=True)
        )
        label_codes, class_index = _label_codes(frame[cols["label"]], classes, shown_index)
        n = len(frame)
        return cls(
            item_codes[:n], ann_codes[:n], label_codes, xywh, items, annotators, class_index,
            item_codes[n:], ann_codes[n:], units=units,
        )  # fmt: skip

    # ------------------------------------------------------------------ views
    def to_frame(self) -> pd.DataFrame:
        """One row per box: ``item, annotator, label, x, y, width, height`` with the user's ids."""
        frame = pd.DataFrame(
            {
                "item": np.asarray(self.items, dtype=object)[self.item],
                "annotator": np.asarray(self.annotators, dtype=object)[self.annotator],
                "label": np.asarray(self.classes, dtype=object)[self.label],
            }
        )
        for k, name in enumerate(COORDINATES):
            frame[name] = self.xywh[:, k]
        return frame

    def seen_frame(self) -> pd.DataFrame:
        """One row per (item, annotator) pair that was annotated, with the number of boxes drawn."""
        counts = pd.Series(self.item * max(self.n_annotators, 1) + self.annotator).value_counts()
        keys = self.seen_item * max(self.n_annotators, 1) + self.seen_annotator
        return pd.DataFrame(
            {
                "item": np.asarray(self.items, dtype=object)[self.seen_item],
                "annotator": np.asarray(self.annotators, dtype=object)[self.seen_annotator],
                "n_boxes": counts.reindex(keys, fill_value=0).to_numpy(dtype=np.int64),
            }
        )


def _coordinates(frame: pd.DataFrame, cols: dict[str, Hashable], index: pd.Index) -> np.ndarray:
    out = np.empty((len(frame), 4))
    for k, role in enumerate(COORDINATES):
        raw = frame[cols[role]]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            shown = _show(raw[bad].tolist(), 3)
            raise InvalidAnnotationsError(
                f"{role} is missing or not a finite number in {_rows(bad, index)} (values {shown}); "
                "fix or drop those boxes"
            )
        out[:, k] = values
    flat = (out[:, 2] <= 0) | (out[:, 3] <= 0)
    if flat.any():
        raise InvalidAnnotationsError(
            f"width and height must be positive, but are not in {_rows(flat, index)}; drop those boxes "
            "(a box of zero area cannot overlap anything)"
        )
    return out


def _seen_frame(seen: pd.DataFrame | None) -> pd.DataFrame:
    if seen is None:
        return pd.DataFrame({"item": pd.Series([], dtype=object), "annotator": pd.Series([], dtype=object)})
    if not isinstance(seen, pd.DataFrame):
        raise InvalidAnnotationsError(
            f"seen must be a DataFrame of (item, annotator) pairs, got {type(seen)}"
        )
    item, annotator = _column(seen, "item", None), _column(seen, "annotator", None)
    out = pd.DataFrame(
        {"item": seen[item].to_numpy(dtype=object), "annotator": seen[annotator].to_numpy(dtype=object)}
    )
    missing = out.isna().any(axis=1).to_numpy()
    if missing.any():
        raise InvalidAnnotationsError(
            f"seen: missing item or annotator in {_rows(missing, pd.RangeIndex(len(out)))}"
        )
    return out


def _label_codes(
    values: pd.Series, classes: Sequence[Any] | None, index: pd.Index
) -> tuple[np.ndarray, pd.Index]:
    codes, class_index = _codes(values, classes)
    unknown = codes < 0
    if unknown.any():
        raise InvalidAnnotationsError(
            f"label(s) {_show(pd.unique(values[unknown]).tolist())} in {_rows(unknown, index)} are not among "
            f"the declared classes {_show(class_index, 20)}; add them to classes=... or fix the rows"
        )
    return codes, class_index


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


class BoxCollector:
    """Accumulates boxes, annotated (item, annotator) pairs, image sizes, skip reasons and notes for an
    importer, and builds the :class:`Boxes` (warning once with a ``DataQualityWarning`` about what it
    skipped)."""

    def __init__(self, fmt: str, source: str, units: str | None) -> None:
        self.fmt, self.source, self.units = fmt, source, units
        self.rows: list[tuple[str, str, str, float, float, float, float]] = []
        self.seen: list[tuple[str, str]] = []
        self.sizes: dict[str, tuple[float, float]] = {}
        self.skipped: dict[str, int] = {}
        self.notes: list[str] = []

    def skip(self, reason: str, n: int = 1) -> None:
        if n > 0:
            self.skipped[reason] = self.skipped.get(reason, 0) + n

    def add_seen(self, item: str, annotator: str) -> None:
        """An annotation of ``item`` by ``annotator`` (with or without boxes)."""
        self.seen.append((item, annotator))

    def add_size(self, item: str, width: Any, height: Any) -> None:
        w, h = _number(width), _number(height)
        if w is not None and h is not None and item not in self.sizes:
            self.sizes[item] = (w, h)

    def add(self, item: str, annotator: str, label: Any, coords: Sequence[Any], where: str) -> None:
        """One box; ``coords`` = (x, y, width, height). Missing values are skipped and counted; a value that
        is not a number is an error naming ``where``."""
        if label is None or (isinstance(label, str) and not label.strip()):
            self.skip("box without a label")
            return
        if any(c is None for c in coords):
            self.skip("box without x, y, width or height")
            return
        values = [_number(c) for c in coords]
        if any(v is None for v in values):
            raise InvalidAnnotationsError(
                f"{self.source}, {where}: box coordinates {list(coords)!r} are not all numbers; "
                "fix the export or remove that box"
            )
        x, y, w, h = (float(v) for v in values)  # type: ignore[arg-type]
        if w <= 0 or h <= 0:
            self.skip("box with zero or negative width or height")
            return
        self.rows.append((item, annotator, str(label).strip(), x, y, w, h))

    def build(self, classes: Sequence[Any] | None = None) -> Boxes:
        import warnings

        from ..errors import DataQualityWarning

        if not self.rows and not self.seen:
            why = "; ".join(f"{n} {r}" for r, n in self.skipped.items()) or "the export has no annotations"
            raise InvalidAnnotationsError(f"{self.source}: no usable {self.fmt} box annotation ({why})")
        frame = pd.DataFrame(self.rows, columns=["item", "annotator", "label", *COORDINATES])
        seen = pd.DataFrame(self.seen, columns=["item", "annotator"])
        boxes = Boxes.from_frame(frame, seen=seen, classes=classes, units=self.units)
        report = [f"{self.fmt}: skipped {n} record(s): {r}" for r, n in self.skipped.items()]
        report += [f"{self.fmt}: {note}" for note in self.notes]
        if self.skipped:
            warnings.warn(
                f"{self.source}: skipped {sum(self.skipped.values())} {self.fmt} record(s) ("
                + "; ".join(f"{n} {r}" for r, n in self.skipped.items())
                + ")",
                DataQualityWarning,
                stacklevel=3,
            )
        sizes = pd.DataFrame.from_dict(self.sizes, orient="index", columns=["width", "height"])
        sizes.index.name = "item"
        return Boxes(
            boxes.item, boxes.annotator, boxes.label, boxes.xywh, boxes.items, boxes.annotators,
            boxes.classes, boxes.seen_item, boxes.seen_annotator, report=report, skipped=self.skipped,
            units=self.units,
            image_sizes=sizes if len(sizes) else None,
        )  # fmt: skip
