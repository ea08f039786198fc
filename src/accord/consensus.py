"""``Consensus``: the one result type every model returns.

Reports, the CLI and evaluation read a ``Consensus`` and never care which model produced it. It holds the
posterior over classes for every item and the annotators' confusion matrices, and derives from them:

- ``labels`` and ``proba`` (items x classes);
- ``item_quality``: label, confidence (posterior of the chosen class), agreement (share of the item's
  annotators who chose it), number of annotations, entropy of the posterior, and the consensus
  strength (``Strong`` = unanimous: two or more annotations, all for the consensus label; ``Weak`` = the
  consensus label ties for the most votes or is not the most voted; ``Moderate`` otherwise);
- ``annotator_quality``: number of labels, quality score, agreement with the consensus, expected accuracy
  from the confusion matrix, worst class;
- ``annotation_quality``: for each annotation, the posterior probability of the label given;
- ``history``: one row per iteration of an iterative model.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._csv import write_csv, write_parquet
from ._kernel.votes import argmax_lowest

if TYPE_CHECKING:
    from .annotations import Annotations

__all__ = [
    "STRENGTHS",
    "STRENGTH_CATEGORIES",
    "Consensus",
    "consensus_strength",
    "strength_codes",
    "worst_class_codes",
]

STRENGTHS = ("Strong", "Moderate", "Weak")
STRENGTH_CATEGORIES = (*STRENGTHS, "None")  # "None": an item without annotations
_BLOCK = 1 << 20  # annotations read at once by the annotator sums


class Consensus:
    """Consensus labels, their confidence, and the quality of items, annotators and annotations.

    Parameters
    ----------
    annotations : Annotations
        The data the model was fitted on.
    proba : ndarray, shape (n_items, n_classes)
        Posterior (or soft consensus) per item; rows sum to 1.
    method : str
        Name of the model that produced it.
    labels : ndarray of int, optional
        Consensus class codes; default: ``argmax`` of ``proba``, ties to the lowest class code.
    confusions : ndarray, shape (n_annotators, n_classes, n_classes), optional
        ``confusions[a, k, l]`` = P(annotator ``a`` says ``l`` | true class ``k``). Default: the matrix
        implied by the consensus, i.e. one Dawid-Skene M-step on ``proba`` with 0.5 pseudo-counts per cell.
    priors : ndarray, shape (n_classes,), optional
        Class prior; default: the mean of ``proba``.
    history : pandas.DataFrame, optional
        One row per iteration (e.g. ``log_likelihood``, ``n_changed``, ``max_delta``).
    item_scores, annotator_scores, annotation_scores : dict of name -> array, optional
        Extra columns a model adds to ``item_quality``, ``annotator_quality`` or ``annotation_quality``.
        ``annotator_scores["quality"]`` replaces the default quality score (the expected accuracy).
    """

    def __init__(
        self,
        annotations: Annotations,
        proba: np.ndarray,
        method: str,
        *,
        labels: np.ndarray | None = None,
        confusions: np.ndarray | None = None,
        priors: np.ndarray | None = None,
        history: pd.DataFrame | None = None,
        item_scores: dict[str, np.ndarray] | None = None,
        annotator_scores: dict[str, np.ndarray] | None = None,
        annotation_scores: dict[str, np.ndarray] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        proba = np.asarray(proba, dtype=np.float64)
        if proba.shape != (annotations.n_items, annotations.n_classes):
            raise ValueError(
                f"proba has shape {proba.shape}, expected {(annotations.n_items, annotations.n_classes)}"
            )
        if not np.isfinite(proba).all():
            raise FloatingPointError(
                f"{method} produced non-finite probabilities; please report this as a bug"
            )
        self.annotations = annotations
        self.method = method
        self.proba_array = proba
        self.label_codes = argmax_lowest(proba) if labels is None else np.asarray(labels, dtype=np.int64)
        self._confusions = confusions
        self.priors_array = proba.mean(axis=0) if priors is None else np.asarray(priors, dtype=np.float64)
        self.history = history if history is not None else pd.DataFrame()
        self.item_scores = dict(item_scores or {})
        self.annotator_scores = dict(annotator_scores or {})
        self.annotation_scores = dict(annotation_scores or {})
        self.params = dict(params or {})

    def __repr__(self) -> str:
        ann = self.annotations
        return (
            f"Consensus(method={self.method!r}, {ann.n_items} items, {ann.n_annotators} annotators, "
            f"classes={list(ann.classes)})"
        )

    # ------------------------------------------------------------------ per item
    @cached_property
    def classes(self) -> pd.Index:
        return self.annotations.classes

    @cached_property
    def labels(self) -> pd.Series:
        """Consensus label per item, in the user's label values."""
        return pd.Series(
            np.asarray(self.classes, dtype=object)[self.label_codes],
            index=self.annotations.items,
            name="label",
        )

    @cached_property
    def proba(self) -> pd.DataFrame:
        """Posterior per item (rows) and class (columns); rows sum to 1."""
        return pd.DataFrame(self.proba_array, index=self.annotations.items, columns=self.classes)

    @cached_property
    def priors(self) -> pd.Series:
        return pd.Series(self.priors_array, index=self.classes, name="prior")

    @cached_property
    def vote_counts(self) -> np.ndarray:
        return self.annotations.vote_counts()

    @cached_property
    def item_quality(self) -> pd.DataFrame:
        """One row per item: label, confidence, agreement, n_annotations, entropy, strength (+ model
        scores). ``label`` and ``strength`` are categoricals (the classes; :data:`STRENGTH_CATEGORIES`)."""
        return pd.DataFrame(self._item_columns(), index=self.annotations.items, copy=False)

    def _item_columns(self) -> dict[str, Any]:
        """The ``item_quality`` columns, built in one pass over the vote table and the posterior."""
        counts = self.vote_counts
        codes = self.label_codes
        p = self.proba_array
        n = _row_sum(counts)
        chosen = _pick(counts, codes)
        columns: dict[str, Any] = {
            "label": self._class_column(codes),
            "confidence": _pick(p, codes),
            "agreement": np.divide(chosen, n, out=np.zeros_like(n), where=n > 0),
            "n_annotations": n.astype(np.int64),
            "entropy": _entropy(p),
            "strength": pd.Categorical.from_codes(strength_codes(counts, codes), STRENGTH_CATEGORIES),
        }
        for name, values in self.item_scores.items():
            columns[name] = values
        return columns

    def _class_column(self, codes: np.ndarray) -> pd.Categorical:
        """Class codes as a categorical of the class values (no per-row objects)."""
        return pd.Categorical.from_codes(codes, pd.Index(self.classes))

    # ------------------------------------------------------------------ per annotator
    @cached_property
    def confusions(self) -> np.ndarray:
        """``confusions[a, k, l]`` = P(annotator ``a`` says ``l`` | true class ``k``); rows sum to 1."""
        if self._confusions is not None:
            return np.asarray(self._confusions, dtype=np.float64)
        from ._kernel.em import AnnotationMatrix, smoothed_confusions

        counts = AnnotationMatrix(self.annotations).expected_counts(self.proba_array)
        return smoothed_confusions(counts, alpha=0.5)

    def confusion_matrix(self, annotator: Any) -> pd.DataFrame:
        """Confusion matrix of one annotator: rows = true class, columns = label given."""
        pos = self.annotations.annotators.get_indexer([annotator])[0]
        if pos < 0:
            raise KeyError(f"unknown annotator {annotator!r}")
        true_index = pd.Index(self.classes, name="true")
        given_index = pd.Index(self.classes, name="given")
        return pd.DataFrame(self.confusions[pos], index=true_index, columns=given_index)

    @cached_property
    def annotator_quality(self) -> pd.DataFrame:
        """One row per annotator: n_labels, quality, agreement_with_consensus, expected_accuracy,
        worst_class (+ model scores).

        ``agreement_with_consensus`` is the share of the annotator's labels equal to the consensus label (not
        an accuracy: no gold label is involved; accuracy against gold is
        :func:`accord.evaluation.metrics.accuracy`); ``accuracy`` is the same column under its old name,
        kept for one release;
        ``expected_accuracy`` is ``sum_k prior[k] * confusion[a, k, k]``; ``worst_class`` is the true class
        the annotator gets right least often (among the classes their items carry posterior mass on);
        ``quality`` is the model's quality score, by default the expected accuracy.
        """
        ann = self.annotations
        n_labels, hits, mass = self._annotator_sums
        agreement = np.divide(hits, n_labels, out=np.zeros_like(hits), where=n_labels > 0)
        conf = self.confusions
        diag = np.diagonal(conf, axis1=1, axis2=2)
        expected = diag @ self.priors_array
        frame = pd.DataFrame(
            {
                "n_labels": n_labels.astype(np.int64),
                "quality": expected,
                "agreement_with_consensus": agreement,
                "expected_accuracy": expected,
                "worst_class": self._class_column(worst_class_codes(diag, mass)),
            },
            index=ann.annotators,
        )
        for name, values in self.annotator_scores.items():
            frame[name] = values
        frame["accuracy"] = agreement  # the old name of agreement_with_consensus (deprecated)
        return frame

    @cached_property
    def _annotator_sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per annotator: the number of labels, the number equal to the consensus label, and the posterior
        mass of each class summed over the annotator's items (annotators x classes); one pass over the
        annotations in blocks, each class's posterior gathered from a contiguous column per block."""
        ann = self.annotations
        m, k = ann.n_annotators, ann.n_classes
        columns = np.ascontiguousarray(self.proba_array.T)
        consensus = self.label_codes.astype(np.int8 if k < 128 else np.int32)
        n_labels = np.zeros(m, dtype=np.int64)
        hits = np.zeros(m)
        mass = np.zeros((k, m))
        for start in range(0, ann.n_annotations, _BLOCK):
            block = slice(start, start + _BLOCK)
            item, who = ann.item[block].astype(np.intp), ann.annotator[block].astype(np.intp)
            key = who << 1  # (annotator, agrees) pairs
            key |= ann.label[block] == consensus.take(item)
            pairs = np.bincount(key, minlength=2 * m).reshape(m, 2)
            n_labels += pairs.sum(axis=1)
            hits += pairs[:, 1]
            for c in range(k):
                mass[c] += np.bincount(who, weights=columns[c].take(item), minlength=m)
        return n_labels, hits, mass.T

    # ------------------------------------------------------------------ per annotation
    @cached_property
    def annotation_quality(self) -> pd.DataFrame:
        """One row per annotation: item, annotator, label, quality (posterior of the given label), agrees."""
        ann = self.annotations
        frame = ann.to_frame()
        frame["quality"] = self.proba_array[ann.item, ann.label]
        frame["agrees"] = ann.label == self.label_codes[ann.item]
        for name, values in self.annotation_scores.items():
            frame[name] = values
        return frame

    # ------------------------------------------------------------------ outputs
    def to_frame(self, proba: bool = True) -> pd.DataFrame:
        """One row per item: ``item`` and the ``item_quality`` columns, then ``proba_<class>`` columns."""
        iq = self.item_quality
        if "item" in iq.columns:
            raise ValueError("cannot insert item, already exists: rename the model score called 'item'")
        columns: dict[str, Any] = {"item": self.annotations.items}
        columns.update({name: iq[name].array for name in iq.columns})
        if proba:
            for c, name in enumerate(self.classes):
                columns[f"proba_{name}"] = self.proba_array[:, c]
        return pd.DataFrame(columns, copy=False)

    def annotators_frame(self) -> pd.DataFrame:
        """One row per annotator: ``annotator`` and the ``annotator_quality`` columns (without the deprecated
        ``accuracy`` alias of ``agreement_with_consensus``)."""
        frame = self.annotator_quality.drop(columns=["accuracy"])
        frame.index.name = "annotator"
        return frame.reset_index()

    def to_csv(
        self,
        path: str | Path,
        annotators_path: str | Path | None = None,
        *,
        escape_formulas: bool = True,
        float_digits: int | None = None,
    ) -> None:
        """Write the per-item table (and, if asked, the per-annotator table) as CSV.

        Text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``) are
        written with a leading ``'`` unless ``escape_formulas=False``; numbers are never changed (see
        :mod:`accord._csv`, which writes the same text as pandas' ``to_csv``, formatted by pyarrow when it is
        installed). ``float_digits=N`` writes floats with ``N`` digits after the decimal point (as pandas'
        ``float_format=f"%.{N}f"``), several times faster; by default each float is the shortest text that
        reads back to the same double.
        """
        write_csv(self.to_frame(), path, escape_formulas=escape_formulas, float_digits=float_digits)
        if annotators_path is not None:
            write_csv(
                self.annotators_frame(),
                annotators_path,
                escape_formulas=escape_formulas,
                float_digits=float_digits,
            )

    def to_parquet(self, path: str | Path, annotators_path: str | Path | None = None) -> None:
        """Write the per-item table (and, if asked, the per-annotator table) as Parquet (needs pyarrow)."""
        try:
            write_parquet(self.to_frame(), path)
            if annotators_path is not None:
                write_parquet(self.annotators_frame(), annotators_path)
        except ImportError:
            from .errors import AccordError

            raise AccordError("writing Parquet needs pyarrow: pip install 'accord[parquet]'") from None


def _row_sum(counts: np.ndarray) -> np.ndarray:
    """Row sums of a (rows x classes) table, class by class (faster than an ``axis=1`` reduction over a
    few classes; exact for counts)."""
    if counts.shape[1] == 0:
        return np.zeros(len(counts), dtype=counts.dtype)
    out = counts[:, 0].copy()
    for c in range(1, counts.shape[1]):
        out += counts[:, c]
    return out


def _pick(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``table[i, codes[i]]`` for every row, by one flat gather."""
    flat = np.arange(len(table), dtype=np.intp) * table.shape[1]
    flat += codes
    return table.ravel().take(flat)


def _row_max(counts: np.ndarray) -> np.ndarray:
    if counts.shape[1] == 0:
        return np.zeros(len(counts), dtype=counts.dtype)
    out = counts[:, 0].copy()
    for c in range(1, counts.shape[1]):
        np.maximum(out, counts[:, c], out=out)
    return out


def _entropy(p: np.ndarray) -> np.ndarray:
    """``-sum_k p_k log p_k`` per row (``0 log 0 = 0``), with one temporary array."""
    logs = np.where(p > 0, p, 1.0)
    np.log(logs, out=logs)
    logs *= p
    total = logs[:, 0] + logs[:, 1] if p.shape[1] == 2 else logs.sum(axis=1)  # the same sum for two classes
    return -total


def worst_class_codes(diag: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """Per annotator, the class with the smallest diagonal confusion among the classes their items carry
    posterior mass (at least 0.5) on; among all classes when there is none."""
    masked = np.where(mass >= 0.5, diag, np.inf)
    none_seen = ~np.isfinite(masked).any(axis=1)
    masked[none_seen] = diag[none_seen]
    return masked.argmin(axis=1)


def strength_codes(counts: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """Consensus strength as codes into :data:`STRENGTH_CATEGORIES` (0 Strong, 1 Moderate, 2 Weak, 3 None);
    see :func:`consensus_strength`.

    >>> strength_codes(np.array([[3, 0], [2, 1], [1, 1], [0, 0]])).tolist()
    [0, 1, 2, 3]
    """
    counts = np.asarray(counts)
    top, n = _row_max(counts), _row_sum(counts)
    chosen = top if labels is None else _pick(counts, np.asarray(labels))
    n_top = np.zeros(len(n), dtype=np.int8 if counts.shape[1] < 128 else np.int64)
    for c in range(counts.shape[1]):
        n_top += counts[:, c] == top
    weak = (chosen < top) | (n_top > 1)
    strong = (chosen == n) & (n >= 2)  # never weak: every vote went to the chosen class
    codes = weak.view(np.int8) + np.int8(1)
    codes -= strong.view(np.int8)
    codes[n == 0] = 3
    return codes


def consensus_strength(counts: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """Consensus strength from a vote table (items x classes) and the consensus labels (default: the most
    voted class).

    ``Strong``: unanimous, i.e. two or more annotations and every one of them for the consensus label.
    ``Weak``: the consensus label ties with another class for the most votes, or is not the most voted
    class (a model overruled the votes). ``Moderate``: the consensus label is the single most voted class,
    but not unanimously (or the item has a single annotation). ``None`` for an item with no annotation.

    >>> votes = np.array([[3, 0], [2, 1], [1, 1], [1, 0], [3, 0]])
    >>> consensus_strength(votes, np.array([0, 0, 0, 0, 1])).tolist()
    ['Strong', 'Moderate', 'Weak', 'Moderate', 'Weak']
    """
    return np.asarray(STRENGTH_CATEGORIES, dtype=object)[strength_codes(counts, labels)]
