"""The Dask engine's per-annotator table and gold accuracy, from sums that every partition adds up.

The in-memory :attr:`Consensus.annotator_quality` reads, per annotator, the number of labels, how many equal
the consensus label and the posterior mass of its items per class; with the confusion matrices and the class
priors of the fit that is the whole table. Each partition sends those sums (annotators, annotators x K, and
for majority vote the annotators x K x K counts against its labels), added as a tree like the EM statistics;
the client builds the table. Gold labels (small next to the annotations) are sent to every worker once and
matched to each partition's items by their text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from ..annotations import Annotations
from ..consensus import worst_class_codes
from ..errors import InvalidAnnotationsError

__all__ = [
    "GoldMatch",
    "Tally",
    "annotator_frame",
    "check_gold",
    "gold_codes",
    "gold_match",
    "gold_positions",
    "merge_tallies",
    "tally",
    "vote_confusions",
]

_SHOWN = 5


@dataclass
class Tally:
    """Sums over a partition's annotations and items (see the module notes); :func:`merge_tallies` adds
    two."""

    n_labels: np.ndarray
    hits: np.ndarray
    mass: np.ndarray
    proba: np.ndarray
    votes: np.ndarray | None
    n_items: int
    gold: int = 0
    correct: int = 0


@dataclass
class GoldMatch:
    """How many gold items a partition holds, and gold labels of them that are not classes (a few)."""

    matched: int
    unknown: list[str]


def gold_codes(gold: pd.Series, classes: pd.Index) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Gold item ids as text, each gold label's class code (-1: not a class) and its text."""
    labels = np.array([str(v) for v in gold.to_numpy()], dtype=object)
    codes = pd.Index([str(c) for c in classes]).get_indexer(labels)
    return pd.Index([str(v) for v in gold.index], dtype=object), np.asarray(codes, dtype=np.int64), labels


def gold_positions(items: pd.Index, gold: tuple[pd.Index, np.ndarray, np.ndarray]) -> np.ndarray:
    """Position in the gold of every item (-1: no gold label), matched by text."""
    return _positions(items, gold)


def _positions(items: pd.Index, gold: tuple[pd.Index, np.ndarray, np.ndarray]) -> np.ndarray:
    """Position in the gold of every item (-1: no gold label), matched by text."""
    if pd.api.types.infer_dtype(items, skipna=False) != "string":
        items = pd.Index([str(v) for v in items], dtype=object)
    return np.asarray(gold[0].get_indexer(items), dtype=np.int64)


def gold_match(items: pd.Index, gold: tuple[pd.Index, np.ndarray, np.ndarray]) -> GoldMatch:
    pos = _positions(items, gold)
    found = pos[pos >= 0]
    unknown = pd.unique(gold[2][found[gold[1][found] < 0]])[:_SHOWN]
    return GoldMatch(len(found), [str(v) for v in unknown])


def tally(
    ann: Annotations,
    items: pd.Index | None,
    proba: np.ndarray,
    labels: np.ndarray,
    votes: bool,
    gold: tuple[pd.Index, np.ndarray, np.ndarray] | None,
    vote_labels: np.ndarray | None = None,
    prior_proba: np.ndarray | None = None,
) -> Tally:
    """The partition's sums: ``ann`` coded with the global annotator and class indexes, ``items`` its item
    ids as the outputs write them (needed with ``gold`` only), ``proba``/``labels`` the consensus;
    ``votes``: also count the labels against the consensus (majority vote's confusions). With known labels
    set in a majority vote's output, ``vote_labels`` and ``prior_proba`` are the vote's own labels and
    shares, which its confusions and prior count, as in memory."""
    a, k = ann.n_annotators, ann.n_classes
    n_labels = np.bincount(ann.annotator, minlength=a).astype(np.float64)
    agree = (ann.label == labels[ann.item]).astype(np.float64)
    hits = np.bincount(ann.annotator, weights=agree, minlength=a)
    columns = np.ascontiguousarray(proba.T)  # one class at a time: no annotations x K temporary
    mass = np.stack(
        [np.bincount(ann.annotator, weights=col[ann.item], minlength=a) for col in columns], axis=1
    )
    counts = None
    if votes:
        voted = labels if vote_labels is None else vote_labels
        key = (ann.annotator.astype(np.int64) * k + voted[ann.item]) * k + ann.label
        counts = np.bincount(key, minlength=a * k * k).reshape(a, k, k).astype(np.float64)
    matched = correct = 0
    if gold is not None and items is not None:
        pos = _positions(items, gold)
        have = pos >= 0
        matched = int(have.sum())
        correct = int((gold[1][pos[have]] == labels[have]).sum())
    shares = (proba if prior_proba is None else prior_proba).sum(axis=0)
    return Tally(n_labels, hits, mass, shares, counts, len(proba), matched, correct)


def merge_tallies(*tallies: Tally) -> Tally:
    """Add partitions' tallies."""
    first = tallies[0]
    votes = None if first.votes is None else np.sum([cast(np.ndarray, t.votes) for t in tallies], axis=0)
    return Tally(
        np.sum([t.n_labels for t in tallies], axis=0),
        np.sum([t.hits for t in tallies], axis=0),
        np.sum([t.mass for t in tallies], axis=0),
        np.sum([t.proba for t in tallies], axis=0),
        votes,
        sum(t.n_items for t in tallies),
        sum(t.gold for t in tallies),
        sum(t.correct for t in tallies),
    )


def vote_confusions(votes: np.ndarray) -> np.ndarray:
    """Row-normalised counts against the hard consensus (a row without labels is uniform), as majority
    vote's in-memory confusions."""
    k = votes.shape[-1]
    total = votes.sum(axis=2, keepdims=True)
    return np.divide(votes, total, out=np.full(votes.shape, 1.0 / k), where=total > 0)


def annotator_frame(
    total: Tally,
    annotators: pd.Index,
    classes: pd.Index,
    confusions: np.ndarray,
    priors: np.ndarray,
    scores: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """One row per annotator with the columns of :meth:`Consensus.annotators_frame`: n_labels, quality,
    agreement_with_consensus, expected_accuracy, worst_class (and the model's own scores)."""
    n_labels = total.n_labels
    agreement = np.divide(total.hits, n_labels, out=np.zeros_like(total.hits), where=n_labels > 0)
    diag = np.diagonal(confusions, axis1=1, axis2=2)
    expected = diag @ priors
    frame = pd.DataFrame(
        {
            "n_labels": n_labels.astype(np.int64),
            "quality": expected,
            "agreement_with_consensus": agreement,
            "expected_accuracy": expected,
            "worst_class": pd.Categorical.from_codes(worst_class_codes(diag, total.mass), pd.Index(classes)),
        },
        index=pd.Index(annotators, name="annotator"),
    )
    for name, values in (scores or {}).items():
        frame[name] = values
    return frame.reset_index()


def check_gold(matches: list[GoldMatch], n_gold: int, where: str, classes: pd.Index) -> int:
    """The number of gold items that have annotations; an error naming the gold labels (``where``) when none
    has, or when a gold label is not a class."""
    matched = sum(m.matched for m in matches)
    if matched == 0:
        raise InvalidAnnotationsError(
            f"{where}: no gold item has an annotation: none of the {n_gold} gold item id(s) matches an "
            "item id of the annotations; check that the gold file uses the same item ids"
        )
    unknown = list(dict.fromkeys(v for m in matches for v in m.unknown))[:_SHOWN]
    if unknown:
        raise InvalidAnnotationsError(
            f"{where}: gold label(s) {', '.join(repr(v) for v in unknown)} are not among the classes of "
            f"the annotations {[str(c) for c in classes][:20]}; fix the gold labels or declare the class "
            "with --classes"
        )
    return matched
