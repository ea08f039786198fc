"""Multi-label annotations: each annotator gives a *set* of classes per item; the consensus is a set per item.

Input is either a long table with one row per selected (item, annotator, class) -- a row with an empty
class meaning "looked at the item and selected nothing" -- or one row per (item, annotator) whose label column
holds a list (a Python list/tuple/set, or JSON text such as ``'["cat", "dog"]'``).
``MultiLabelAnnotations.from_frame`` reads both. Two models give a :class:`MultiLabelConsensus`:

- :class:`MultiLabelMajority` -- a class is in the set when more than half of the item's annotators chose it;
- :class:`MultiLabelDawidSkene` -- a binary Dawid-Skene model per class whose annotator parameters
  (sensitivity, specificity) are shared across the classes, fitted by EM.

Examples
--------
>>> df = pd.DataFrame({"item": [1, 1, 1], "annotator": ["a", "b", "c"],
...                    "label": [["cat", "dog"], ["cat"], ["cat", "dog"]]})
>>> MultiLabelMajority().fit(df).labels_.tolist()
[('cat', 'dog')]
"""

from __future__ import annotations

import json
import numbers
import warnings
from collections.abc import Hashable, Sequence
from functools import cached_property
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import expit, gammaln

from ..errors import ConvergenceWarning, InvalidAnnotationsError, InvalidParameterError
from ..models._base import LabelEstimator, as_input
from ._tables import ClassSizes, TaskTables, find_column, id_column, rows_text, show_values

__all__ = [
    "MULTILABEL_METHODS",
    "MultiLabelAnnotations",
    "MultiLabelConsensus",
    "MultiLabelDawidSkene",
    "MultiLabelMajority",
    "aggregate_multilabel_frame",
]

_ALIASES = {
    "item": ("item", "task", "item_id", "task_id"),
    "annotator": ("annotator", "worker", "annotator_id", "worker_id", "rater"),
    "label": ("label", "labels", "class", "classes", "answer"),
}
Layout = Literal["auto", "long", "lists"]


_show = show_values
_rows = rows_text


def _column(df: pd.DataFrame, role: str, given: Hashable | None) -> Hashable:
    return find_column(df, role, given, _ALIASES[role], named=3)


def _is_blank(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return False
    return bool(pd.isna(value))


# ---------------------------------------------------------------------------------------------------- input
class MultiLabelAnnotations(ClassSizes):
    """Sets of classes chosen by annotators for items, validated and encoded.

    Attributes
    ----------
    items, annotators, classes : pandas.Index
        The user's ids and class names; position = integer code.
    pair_item, pair_annotator : ndarray of int32, shape (n_pairs,)
        One entry per (item, annotator) who annotated the item (the set may be empty).
    sel_pair, sel_class : ndarray of int32, shape (n_selections,)
        One entry per chosen class: the pair it belongs to and the class code.
    report : list of str
        What a policy changed or dropped while building.

    Examples
    --------
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2], "annotator": ["a", "a", "b", "a"],
    ...                    "label": ["cat", "dog", "cat", None]})
    >>> MultiLabelAnnotations.from_frame(df)
    MultiLabelAnnotations(2 items, 2 annotators, 2 classes ['cat', 'dog'], 3 annotated pairs, 3 selections)
    """

    def __init__(
        self,
        pair_item: np.ndarray,
        pair_annotator: np.ndarray,
        sel_pair: np.ndarray,
        sel_class: np.ndarray,
        items: pd.Index,
        annotators: pd.Index,
        classes: pd.Index,
        report: list[str] | None = None,
    ) -> None:
        self.pair_item = _frozen(pair_item)
        self.pair_annotator = _frozen(pair_annotator)
        self.sel_pair = _frozen(sel_pair)
        self.sel_class = _frozen(sel_class)
        self.items, self.annotators, self.classes = items, annotators, classes
        self.report = list(report or [])

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        item: Hashable | None = None,
        annotator: Hashable | None = None,
        label: Hashable | None = None,
        classes: Sequence[Any] | None = None,
        layout: Layout = "auto",
    ) -> MultiLabelAnnotations:
        """Build from a long table or from a column of lists.

        Parameters
        ----------
        df : pandas.DataFrame
        item, annotator, label : column names, optional
        classes : sequence, optional
            The set and order of classes; a chosen class outside it is an error. Default: the classes seen,
            sorted. Give it when some class may never have been chosen.
        layout : {"auto", "long", "lists"}
            ``"long"``: one row per chosen class (an empty label = nothing chosen; a repeated row counts
            once).
            ``"lists"``: one row per (item, annotator) holding a list or JSON list text; a repeated pair is an
            error. ``"auto"`` picks ``"lists"`` when a label is a list or text starting with ``[``.
        """
        if not isinstance(df, pd.DataFrame):
            raise InvalidAnnotationsError(f"expected a pandas DataFrame; got {type(df).__name__}")
        if layout not in ("auto", "long", "lists"):
            raise InvalidParameterError(f"layout must be 'auto', 'long' or 'lists'; got {layout!r}")
        if len(df) == 0:
            raise InvalidAnnotationsError("the annotations are empty: the table has no rows")
        cols = {
            role: _column(df, role, given)
            for role, given in (("item", item), ("annotator", annotator), ("label", label))
        }
        table = pd.DataFrame({role: df[c].to_numpy() for role, c in cols.items()}, index=df.index)
        for role in ("item", "annotator"):
            bad = table[role].isna().to_numpy()
            if bad.any():
                raise InvalidAnnotationsError(
                    f"the {role} column {cols[role]!r} is missing on "
                    f"{_rows(bad, table.index)}; every row needs an {role} id"
                )
        if layout == "auto":
            layout = "lists" if table["label"].map(_looks_like_list).any() else "long"
        if layout == "lists":
            table = _explode_lists(table, cols["label"])
        return cls._encode(table, classes)

    @classmethod
    def _encode(cls, table: pd.DataFrame, classes: Sequence[Any] | None) -> MultiLabelAnnotations:
        pairs = table[["item", "annotator"]].drop_duplicates()
        pair_item, items = pd.factorize(pairs["item"], sort=False)
        pair_ann, annotators = pd.factorize(pairs["annotator"], sort=False)
        chosen = table.loc[~table["label"].map(_is_blank).to_numpy(dtype=bool)].drop_duplicates()
        class_index = _class_index(chosen["label"], classes)
        codes = class_index.get_indexer(chosen["label"].to_numpy())
        if (codes < 0).any():
            raise InvalidAnnotationsError(
                f"class(es) {_show(list(pd.unique(chosen['label'].to_numpy()[codes < 0])))} are not among "
                f"the declared classes {_show(list(class_index))} (on {_rows(codes < 0, chosen.index)}). Add "
                "them to classes=..., or fix those rows"
            )
        key = pd.MultiIndex.from_frame(pairs)
        sel_pair = key.get_indexer(pd.MultiIndex.from_frame(chosen[["item", "annotator"]]))
        return cls(
            pair_item,
            pair_ann,
            sel_pair,
            codes,
            pd.Index(items, name="item"),
            pd.Index(annotators, name="annotator"),
            class_index,
        )

    @property
    def n_pairs(self) -> int:
        return len(self.pair_item)

    def __repr__(self) -> str:
        shown = list(self.classes[:6])
        more = ", ..." if self.n_classes > 6 else ""
        return (
            f"MultiLabelAnnotations({self.n_items} items, {self.n_annotators} annotators, {self.n_classes} "
            f"classes {shown}{more}, {self.n_pairs} annotated pairs, {len(self.sel_pair)} selections)"
        )

    @cached_property
    def sel_item(self) -> np.ndarray:
        return self.pair_item[self.sel_pair]

    @cached_property
    def sel_annotator(self) -> np.ndarray:
        return self.pair_annotator[self.sel_pair]

    @cached_property
    def pair_matrix(self) -> sparse.csr_matrix:
        """Items x annotators sparse 0/1 matrix: who annotated what (``P @ table`` sums a per-annotator table
        over each item's annotators)."""
        ones = np.ones(self.n_pairs)
        shape = (self.n_items, self.n_annotators)
        return sparse.csr_matrix((ones, (self.pair_item, self.pair_annotator)), shape=shape)

    def item_sizes(self) -> np.ndarray:
        """Number of annotators of each item."""
        return np.bincount(self.pair_item, minlength=self.n_items)

    def annotator_sizes(self) -> np.ndarray:
        """Number of items each annotator annotated."""
        return np.bincount(self.pair_annotator, minlength=self.n_annotators)

    def selection_counts(self) -> np.ndarray:
        """``counts[i, c]``: how many of item ``i``'s annotators chose class ``c``."""
        key = self.sel_item.astype(np.int64) * self.n_classes + self.sel_class
        return np.bincount(key, minlength=self.n_items * self.n_classes).reshape(self.n_items, self.n_classes)

    def to_frame(self) -> pd.DataFrame:
        """One row per (item, annotator) with the chosen classes as a tuple (in class order)."""
        order = np.lexsort((self.sel_class, self.sel_pair))
        sets: list[list[Any]] = [[] for _ in range(self.n_pairs)]
        names = np.asarray(self.classes, dtype=object)
        for p, c in zip(self.sel_pair[order].tolist(), self.sel_class[order].tolist(), strict=True):
            sets[p].append(names[c])
        return pd.DataFrame(
            {
                "item": self.items[self.pair_item],
                "annotator": self.annotators[self.pair_annotator],
                "labels": [tuple(s) for s in sets],
            }
        )


def _frozen(values: np.ndarray) -> np.ndarray:
    arr: np.ndarray = np.ascontiguousarray(values, dtype=np.int32)
    arr.flags.writeable = False
    return arr


def _looks_like_list(value: Any) -> bool:
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return True
    return isinstance(value, str) and value.lstrip().startswith("[")


def _parse_list(value: Any) -> list[Any] | None:
    """A list of classes from a list-like, JSON list text or a blank (= empty set); None when unreadable."""
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
    if _is_blank(value):
        return []
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, list) else None
    return None


def _explode_lists(table: pd.DataFrame, column: Hashable) -> pd.DataFrame:
    parsed = table["label"].map(_parse_list)
    bad = parsed.isna().to_numpy()
    if bad.any():
        raise InvalidAnnotationsError(
            f"the label column {column!r} must hold lists of classes (a list, or JSON text like "
            f'\'["a", "b"]\'), but {_rows(bad, table.index)} hold '
            f"{_show(list(table['label'].to_numpy()[bad]))}"
        )
    dup = table.duplicated(subset=["item", "annotator"], keep=False).to_numpy()
    if dup.any():
        raise InvalidAnnotationsError(
            f"(item, annotator) pairs occur more than once on {_rows(dup, table.index)}; with a column of "
            "lists each annotator gives one set per item. Merge those rows into one list"
        )
    out = table.assign(label=parsed.map(lambda v: v if v else [None])).explode("label")
    return out


def _class_index(labels: pd.Series, classes: Sequence[Any] | None) -> pd.Index:
    if classes is None:
        seen = list(pd.unique(labels.to_numpy()))
        if not seen:
            raise InvalidAnnotationsError("no annotator chose any class: pass classes=[...] to name them")
        try:
            ordered = sorted(seen)
        except TypeError:
            ordered = sorted(seen, key=lambda v: (type(v).__name__, str(v)))
        return pd.Index(ordered, name="class", tupleize_cols=False)
    index = pd.Index(list(classes), name="class", tupleize_cols=False)
    if len(index) == 0 or index.has_duplicates:
        raise InvalidParameterError("classes must be a non-empty list without repeats")
    return index


# ---------------------------------------------------------------------------------------------------- result
class MultiLabelConsensus(TaskTables):
    """Consensus set of classes per item, per-class probabilities, and each annotator's quality.

    Parameters
    ----------
    annotations : MultiLabelAnnotations
    proba : ndarray, shape (n_items, n_classes)
        Probability that each class belongs to the item's set.
    method : str
    threshold : float
        A class is in the consensus set when its probability exceeds ``threshold``.
    sensitivity, specificity : ndarray, shape (n_annotators,), optional
        Model estimates; default: measured against the consensus sets.
    history : pandas.DataFrame, optional
    annotator_scores : dict of name -> array, optional
        Extra columns for ``annotator_quality``.
    """

    def __init__(
        self,
        annotations: MultiLabelAnnotations,
        proba: np.ndarray,
        method: str,
        *,
        threshold: float = 0.5,
        sensitivity: np.ndarray | None = None,
        specificity: np.ndarray | None = None,
        history: pd.DataFrame | None = None,
        annotator_scores: dict[str, np.ndarray] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.annotations = annotations
        self.proba_array = np.asarray(proba, dtype=np.float64)
        if self.proba_array.shape != (annotations.n_items, annotations.n_classes):
            raise ValueError(f"proba must have shape {(annotations.n_items, annotations.n_classes)}")
        self.method = method
        self.threshold = float(threshold)
        self.decisions = self.proba_array > self.threshold
        se, sp = _rates(annotations, self.decisions.astype(np.float64))
        self.sensitivity_array = se if sensitivity is None else np.asarray(sensitivity, dtype=np.float64)
        self.specificity_array = sp if specificity is None else np.asarray(specificity, dtype=np.float64)
        self.history = history if history is not None else pd.DataFrame()
        self.annotator_scores = dict(annotator_scores or {})
        self.params = dict(params or {})

    def __repr__(self) -> str:
        a = self.annotations
        return (
            f"MultiLabelConsensus(method={self.method!r}, {a.n_items} items, {a.n_annotators} annotators, "
            f"{a.n_classes} classes)"
        )

    @cached_property
    def labels(self) -> pd.Series:
        """Consensus set per item, as a tuple of class names in class order."""
        names = np.asarray(self.annotations.classes, dtype=object)
        sets = [tuple(names[row]) for row in self.decisions]
        return pd.Series(sets, index=self.annotations.items, name="labels", dtype=object)

    @cached_property
    def proba(self) -> pd.DataFrame:
        """Probability of each class (columns) being in each item's set (rows)."""
        return pd.DataFrame(self.proba_array, index=self.annotations.items, columns=self.annotations.classes)

    @cached_property
    def item_quality(self) -> pd.DataFrame:
        """One row per item: labels, n_labels, confidence, min_confidence, agreement, n_annotations.

        ``confidence`` is the probability that the whole set is right (the product over classes of the
        probability of the decision taken, classes being independent given the annotators); ``min_confidence``
        the probability of the least certain decision; ``agreement`` the share of (annotator, class) answers
        on the item that match the consensus decision.
        """
        a = self.annotations
        p = self.proba_array
        sure = np.where(self.decisions, p, 1.0 - p)
        n = a.item_sizes().astype(np.float64)
        counts = a.selection_counts().astype(np.float64)
        agree = np.where(self.decisions, counts, n[:, None] - counts).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            agreement = agree / (n * a.n_classes)
        return pd.DataFrame(
            {
                "labels": self.labels.to_numpy(),
                "n_labels": self.decisions.sum(axis=1).astype(np.int64),
                "confidence": np.exp(np.sum(np.log(np.clip(sure, 1e-300, 1.0)), axis=1)),
                "min_confidence": sure.min(axis=1),
                "agreement": agreement,
                "n_annotations": n.astype(np.int64),
            },
            index=a.items,
        )

    @cached_property
    def annotator_quality(self) -> pd.DataFrame:
        """One row per annotator: n_labels, sensitivity, specificity, quality, accuracy, mean_set_size.

        ``n_labels`` counts the items annotated; ``quality`` is ``sensitivity + specificity - 1`` (1 for a
        perfect annotator, 0 for one who chooses at random); ``accuracy`` the share of their per-class answers
        equal to the consensus decision. Model extras (``weight``) follow.
        """
        a = self.annotations
        n = a.annotator_sizes().astype(np.float64)
        consensus = self.decisions.astype(np.float64)
        hits_in = np.bincount(
            a.sel_annotator, weights=consensus[a.sel_item, a.sel_class], minlength=a.n_annotators
        )
        chosen = np.bincount(a.sel_annotator, minlength=a.n_annotators).astype(np.float64)
        positives = np.bincount(
            a.pair_annotator, weights=consensus.sum(axis=1)[a.pair_item], minlength=a.n_annotators
        )
        correct = n * a.n_classes - chosen - positives + 2 * hits_in
        frame = pd.DataFrame(
            {
                "n_labels": n.astype(np.int64),
                "sensitivity": self.sensitivity_array,
                "specificity": self.specificity_array,
                "quality": self.sensitivity_array + self.specificity_array - 1.0,
                "accuracy": correct / (n * a.n_classes),
                "mean_set_size": chosen / n,
            },
            index=a.annotators,
        )
        for name, values in self.annotator_scores.items():
            frame[name] = values
        return frame

    def to_frame(self, proba: bool = True) -> pd.DataFrame:
        """One row per item: ``item``, ``labels`` as JSON list text, the other ``item_quality`` columns, then
        ``proba_<class>`` columns."""
        frame = self.item_quality.copy()
        frame["labels"] = [json.dumps([_jsonable(v) for v in s]) for s in frame["labels"]]
        if proba:
            for c, name in enumerate(self.annotations.classes):
                frame[f"proba_{name}"] = self.proba_array[:, c]
        return id_column(frame, "item")


def _jsonable(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _rates(a: MultiLabelAnnotations, truth: np.ndarray, alpha: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Sensitivity and specificity of every annotator against soft truth ``truth[i, c]`` (with ``alpha``
    pseudo-counts on each side; 0.5 where an annotator has no positive or no negative)."""
    tp, pos, fp, neg = _counts(a, truth, per_class=False)
    se = np.divide(tp + alpha, pos + 2 * alpha, out=np.full_like(tp, 0.5), where=pos + 2 * alpha > 0)
    sp = np.divide(neg - fp + alpha, neg + 2 * alpha, out=np.full_like(tp, 0.5), where=neg + 2 * alpha > 0)
    return se, sp


def _counts(
    a: MultiLabelAnnotations, truth: np.ndarray, per_class: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Expected true positives, positives, false positives and negatives per annotator (or per annotator and
    class when ``per_class``) under the soft truth ``truth[i, c]``: one bincount over the selections and one
    over the annotated pairs."""
    k = a.n_classes
    t_sel = truth[a.sel_item, a.sel_class]
    if per_class:
        size = a.n_annotators * k
        sel_key = a.sel_annotator.astype(np.int64) * k + a.sel_class
        tp = np.bincount(sel_key, weights=t_sel, minlength=size).reshape(-1, k)
        n_sel = np.bincount(sel_key, minlength=size).reshape(-1, k).astype(np.float64)
        pos = np.asarray(a.pair_matrix.T @ truth)
        n_pairs = np.bincount(a.pair_annotator, minlength=a.n_annotators).astype(np.float64)[:, None]
        return tp, pos, n_sel - tp, n_pairs - pos
    tp = np.bincount(a.sel_annotator, weights=t_sel, minlength=a.n_annotators)
    n_sel = np.bincount(a.sel_annotator, minlength=a.n_annotators).astype(np.float64)
    pos = np.bincount(a.pair_annotator, weights=truth.sum(axis=1)[a.pair_item], minlength=a.n_annotators)
    n_cells = np.bincount(a.pair_annotator, minlength=a.n_annotators).astype(np.float64) * k
    return tp, pos, n_sel - tp, n_cells - pos


# ---------------------------------------------------------------------------------------------------- models
def as_multilabel(data: MultiLabelAnnotations | pd.DataFrame) -> MultiLabelAnnotations:
    """Accept a :class:`MultiLabelAnnotations` or a DataFrame (read by its ``from_frame``)."""
    return as_input(data, MultiLabelAnnotations, MultiLabelAnnotations.from_frame, "")


_Model = TypeVar("_Model", bound="_MultiLabelModel")


class _MultiLabelModel(LabelEstimator[MultiLabelConsensus]):
    """Common surface: ``fit`` returns ``self``; ``labels_``, ``proba_`` and ``consensus_`` after."""

    name = "multilabel"
    _fit_input = "annotations"
    threshold: float = 0.5
    annotations_: MultiLabelAnnotations

    def fit(self: _Model, annotations: MultiLabelAnnotations | pd.DataFrame) -> _Model:  # noqa: PYI019
        """Fit the model and return ``self``."""
        data = as_multilabel(annotations)
        if not isinstance(self.threshold, numbers.Real) or not 0 < float(self.threshold) < 1:
            raise InvalidParameterError(f"threshold must be a number in (0, 1); got {self.threshold!r}")
        self.annotations_ = data
        self.consensus_ = self._fit(data)
        return self

    def _fit(self, annotations: MultiLabelAnnotations) -> MultiLabelConsensus:
        raise NotImplementedError

    def fit_predict(self, annotations: MultiLabelAnnotations | pd.DataFrame) -> pd.Series:
        """Fit and return the consensus set of each item."""
        return self.fit(annotations).labels_


def _vote_shares(a: MultiLabelAnnotations) -> np.ndarray:
    return a.selection_counts() / a.item_sizes()[:, None].astype(np.float64)


class MultiLabelMajority(_MultiLabelModel):
    """Per-class majority: a class is in the set when more than ``threshold`` of the annotators chose it.

    Parameters
    ----------
    threshold : float, default 0.5
        A class needs a share of votes strictly above it (an exact half is not enough at 0.5).

    Notes
    -----
    ``proba[i, c]`` is the share of item ``i``'s annotators who chose class ``c``.

    Examples
    --------
    >>> df = pd.DataFrame({"item": [1, 1], "annotator": ["a", "b"], "label": ['["x"]', '["x", "y"]']})
    >>> MultiLabelMajority().fit(df).consensus_.to_frame()[["item", "labels", "proba_x", "proba_y"]]
       item labels  proba_x  proba_y
    0     1  ["x"]      1.0      0.5
    """

    name = "mv"

    def __init__(self, *, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def _fit(self, annotations: MultiLabelAnnotations) -> MultiLabelConsensus:
        return MultiLabelConsensus(
            annotations,
            _vote_shares(annotations),
            self.name,
            threshold=self.threshold,
            params=self.get_params(),
        )


class MultiLabelDawidSkene(_MultiLabelModel):
    """Per-class consensus with annotator sensitivity and specificity shared across classes (EM).

    Parameters
    ----------
    shared : bool, default True
        ``True``: one sensitivity and one specificity per annotator, for all classes. ``False``: one pair per
        annotator and class (an independent binary Dawid-Skene per class).
    alpha : float, default 2.0
        Beta(alpha, alpha) prior on every sensitivity and specificity (MAP-EM; ``alpha=1`` is maximum
        likelihood), which keeps annotators with few answers near 0.5.
    prior_alpha : float, default 2.0
        Beta(prior_alpha, prior_alpha) prior on each class's prevalence (keeps a class from being explained
        away entirely as false positives on small data).
    threshold : float, default 0.5
    max_iter : int, default 100
    tol : float, default 1e-6
        Stop when no probability changes by more than ``tol``.

    Attributes
    ----------
    consensus_ : MultiLabelConsensus
    sensitivity_, specificity_ : pandas.Series (``shared=True``) or DataFrame (annotators x classes)
    prevalence_ : pandas.Series
    n_iter_, converged_, history_
        ``history_`` has one row per iteration: ``iteration``, ``objective`` (log posterior), ``max_change``.

    Notes
    -----
    For item ``i`` and class ``c`` the truth ``z_ic`` is 1 with probability ``pi_c``. Annotator ``a`` who
    annotated item ``i`` chooses ``c`` with probability ``se_a`` if ``z_ic = 1`` and ``1 - sp_a`` if
    ``z_ic = 0``, independently over classes. The E-step is, for every (item, class),

    ``logit P(z_ic = 1) = logit pi_c + sum_a [x_iac log(se_a / (1 - sp_a)) + (1 - x_iac) log((1 - se_a) /
    sp_a)]``,

    computed as one bincount over the annotated pairs plus one over the chosen classes. The M-step is

    ``se_a = (sum T_ic x_iac + alpha - 1) / (sum T_ic + 2 alpha - 2)``,
    ``sp_a = (sum (1 - T_ic)(1 - x_iac) + alpha - 1) / (sum (1 - T_ic) + 2 alpha - 2)``,

    the sums running over the items ``a`` annotated and all classes. Sharing the parameters across classes
    lets an annotator's carefulness on common classes inform their weight on rare ones; a careless annotator
    (choosing classes at random) gets ``se_a + sp_a`` near 1 and a weight near 0. This is Dawid and Skene's
    model applied to each class as a binary question with tied annotator parameters, as in the multi-label
    crowdsourcing models of Nowak and Rueger (2010) and Duan et al. (2014).

    References
    ----------
    A. P. Dawid, A. M. Skene. Maximum likelihood estimation of observer error-rates using the EM algorithm.
    Applied Statistics 28(1):20-28, 1979. https://doi.org/10.2307/2346806

    S. Nowak, S. Rueger. How reliable are annotations via crowdsourcing? A study about inter-annotator
    agreement for multi-label image annotation. ACM MIR 2010. https://doi.org/10.1145/1743384.1743478

    L. Duan, S. Oyama, H. Sato, M. Kurihara. Separate or joint? Estimation of multiple labels from
    crowdsourced annotations. Expert Systems with Applications 41(13):5723-5732, 2014.
    https://doi.org/10.1016/j.eswa.2014.03.048

    Examples
    --------
    >>> sets = {"a": [["x"], ["y"], ["x", "y"], [], ["x"]], "b": [["x"], ["y"], ["x", "y"], [], ["x"]],
    ...         "c": [["x"], ["y"], ["x"], ["y"], ["x"]], "d": [["y"], ["x"], [], ["x", "y"], ["y"]]}
    >>> df = pd.DataFrame([(i, a, s[i]) for a, s in sets.items() for i in range(5)],
    ...                   columns=["item", "annotator", "label"])
    >>> model = MultiLabelDawidSkene().fit(df)
    >>> model.labels_.tolist()
    [('x',), ('y',), ('x', 'y'), (), ('x',)]
    >>> model.consensus_.annotator_quality["quality"].round(2).tolist()
    [0.71, 0.71, 0.43, -0.71]
    """

    name = "ds"

    def __init__(
        self,
        *,
        shared: bool = True,
        alpha: float = 2.0,
        prior_alpha: float = 1.0,
        threshold: float = 0.5,
        max_iter: int = 100,
        tol: float = 1e-6,
    ) -> None:
        self.shared = shared
        self.alpha = alpha
        self.prior_alpha = prior_alpha
        self.threshold = threshold
        self.max_iter = max_iter
        self.tol = tol

    def _check(self) -> None:
        for name in ("alpha", "prior_alpha"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or float(value) < 1:
                raise InvalidParameterError(f"{name} must be a number >= 1; got {value!r}")
        if not isinstance(self.shared, bool):
            raise InvalidParameterError(f"shared must be True or False; got {self.shared!r}")
        if not isinstance(self.tol, numbers.Real) or not self.tol > 0:
            raise InvalidParameterError(f"tol must be a positive number; got {self.tol!r}")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise InvalidParameterError(f"max_iter must be an integer >= 1; got {self.max_iter!r}")

    def _fit(self, annotations: MultiLabelAnnotations) -> MultiLabelConsensus:
        self._check()
        a = annotations
        post = _vote_shares(a)
        rows = []
        self.converged_ = False
        for it in range(1, int(self.max_iter) + 1):
            params = _m_step(a, post, not self.shared, float(self.alpha), float(self.prior_alpha))
            new_post, loglik = _e_step(a, *params)
            objective = loglik + _log_prior(*params, float(self.alpha), float(self.prior_alpha))
            change = float(np.max(np.abs(new_post - post)))
            rows.append((it, objective, change))
            post = new_post
            if change <= self.tol:
                self.converged_ = True
                break
        self.n_iter_ = len(rows)
        self.history_ = pd.DataFrame(rows, columns=["iteration", "objective", "max_change"])
        if not self.converged_:
            warnings.warn(
                f"MultiLabelDawidSkene stopped at max_iter={self.max_iter} before the probabilities "
                f"settled (tol={self.tol}); raise max_iter",
                ConvergenceWarning,
                stacklevel=3,
            )
        se, sp, prevalence = _m_step(a, post, not self.shared, float(self.alpha), float(self.prior_alpha))
        self._params = (se, sp, prevalence)
        weight = np.log(se / (1 - sp)) - np.log((1 - se) / sp)
        shared_se = se if se.ndim == 1 else None
        shared_sp = sp if sp.ndim == 1 else None
        return MultiLabelConsensus(
            a,
            post,
            self.name,
            threshold=self.threshold,
            sensitivity=shared_se,
            specificity=shared_sp,
            history=self.history_,
            params=self.get_params(),
            annotator_scores={"weight": weight if weight.ndim == 1 else weight.mean(axis=1)},
        )

    @property
    def sensitivity_(self) -> pd.Series | pd.DataFrame:
        return self._labelled(self._fitted_params()[0], "sensitivity")

    @property
    def specificity_(self) -> pd.Series | pd.DataFrame:
        return self._labelled(self._fitted_params()[1], "specificity")

    @property
    def prevalence_(self) -> pd.Series:
        return pd.Series(self._fitted_params()[2], index=self.annotations_.classes, name="prevalence")

    def _fitted_params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self._fitted()
        return self._params

    def _labelled(self, values: np.ndarray, name: str) -> pd.Series | pd.DataFrame:
        if values.ndim == 1:
            return pd.Series(values, index=self.annotations_.annotators, name=name)
        return pd.DataFrame(values, index=self.annotations_.annotators, columns=self.annotations_.classes)


def _m_step(
    a: MultiLabelAnnotations, post: np.ndarray, per_class: bool, alpha: float, prior_alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MAP sensitivities, specificities (Beta(alpha, alpha) priors) and prevalences from the posterior."""
    tp, pos, fp, neg = _counts(a, post, per_class)
    se = _ratio(tp + alpha - 1, pos + 2 * alpha - 2)
    sp = _ratio(neg - fp + alpha - 1, neg + 2 * alpha - 2)
    prevalence = _ratio(
        post.sum(axis=0) + prior_alpha - 1, np.full(a.n_classes, a.n_items + 2 * prior_alpha - 2)
    )
    eps = 1e-9
    return np.clip(se, eps, 1 - eps), np.clip(sp, eps, 1 - eps), np.clip(prevalence, eps, 1 - eps)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, 0.5 where the denominator is 0 (no evidence either way)."""
    return np.divide(num, den, out=np.full(np.shape(num), 0.5), where=den > 0)


def _e_step(
    a: MultiLabelAnnotations, se: np.ndarray, sp: np.ndarray, prevalence: np.ndarray
) -> tuple[np.ndarray, float]:
    """Posterior ``P(z_ic = 1)`` for every (item, class) and the marginal log-likelihood of the answers."""
    n, k = a.n_items, a.n_classes
    se_m = se if se.ndim == 2 else np.repeat(se[:, None], k, axis=1)
    sp_m = sp if sp.ndim == 2 else np.repeat(sp[:, None], k, axis=1)
    # Log-likelihoods if every class were left out (x = 0), then a correction for the classes chosen.
    base1 = np.asarray(a.pair_matrix @ np.log1p(-se_m))
    base0 = np.asarray(a.pair_matrix @ np.log(sp_m))
    key = a.sel_item.astype(np.int64) * k + a.sel_class
    gain1 = np.log(se_m) - np.log1p(-se_m)
    gain0 = np.log1p(-sp_m) - np.log(sp_m)
    base1 += np.bincount(key, weights=gain1[a.sel_annotator, a.sel_class], minlength=n * k).reshape(n, k)
    base0 += np.bincount(key, weights=gain0[a.sel_annotator, a.sel_class], minlength=n * k).reshape(n, k)
    log1 = np.log(prevalence)[None, :] + base1
    log0 = np.log1p(-prevalence)[None, :] + base0
    post = expit(log1 - log0)
    loglik = float(np.sum(np.logaddexp(log1, log0)))
    return post, loglik


def _log_prior(
    se: np.ndarray, sp: np.ndarray, prevalence: np.ndarray, alpha: float, prior_alpha: float
) -> float:
    def beta_log(p: np.ndarray, s: float) -> float:
        norm = gammaln(2 * s) - 2 * gammaln(s)
        return float(np.sum((s - 1) * (np.log(p) + np.log1p(-p)) + norm))

    return beta_log(se, alpha) + beta_log(sp, alpha) + beta_log(prevalence, prior_alpha)


MULTILABEL_METHODS: dict[str, type[_MultiLabelModel]] = {
    "mv": MultiLabelMajority,
    "ds": MultiLabelDawidSkene,
}


def aggregate_multilabel_frame(
    df: pd.DataFrame,
    method: str = "ds",
    *,
    item: Hashable | None = None,
    annotator: Hashable | None = None,
    label: Hashable | None = None,
    classes: Sequence[Any] | None = None,
    layout: Layout = "auto",
    **params: Any,
) -> MultiLabelConsensus:
    """CLI entry point: read a multi-label table (long or lists), fit ``method`` and return its consensus.

    Parameters
    ----------
    df : pandas.DataFrame
    method : {"mv", "ds"}
    item, annotator, label, classes, layout
        Passed to :meth:`MultiLabelAnnotations.from_frame`.
    **params
        Keyword parameters of the model (e.g. ``threshold=0.6``, ``shared=False``).

    Examples
    --------
    >>> df = pd.DataFrame({"item": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["x", "x", ""]})
    >>> aggregate_multilabel_frame(df, "mv", classes=["x", "y"]).to_frame()["labels"].tolist()
    ['["x"]', '[]']
    """
    if method not in MULTILABEL_METHODS:
        raise InvalidParameterError(
            f"unknown multi-label method {method!r}; choose one of {', '.join(MULTILABEL_METHODS)}"
        )
    data = MultiLabelAnnotations.from_frame(
        df, item=item, annotator=annotator, label=label, classes=classes, layout=layout
    )
    try:
        model = MULTILABEL_METHODS[method](**params)
    except TypeError as exc:
        raise InvalidParameterError(f"bad parameter for {method}: {exc}") from None
    return model.fit(data).consensus_
