"""Vote counting, vote shares and the tie rules every model uses to turn a table of scores into labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import InvalidParameterError
from .softmax import running_argmax

if TYPE_CHECKING:
    from ..annotations import Annotations

__all__ = [
    "TIE_RULES",
    "TieRule",
    "argmax_lowest",
    "break_ties",
    "cleanlab_majority_vote",
    "keep_best",
    "vote_shares",
    "weighted_votes",
]

TieRule = Literal["lowest", "random", "prior"]
TIE_RULES = ("lowest", "random", "prior")


def break_ties(
    counts: np.ndarray, rule: str = "lowest", rng: np.random.Generator | None = None
) -> np.ndarray:
    """Index of the top class of every row of a vote table, ties broken by ``rule``.

    - ``"lowest"``: the tied class with the smallest class code (``np.argmax``'s rule);
    - ``"random"``: a uniform choice among the tied classes, drawn from ``rng``;
    - ``"prior"``: the tied class with the most votes over the whole dataset (the most prevalent class), then
      the lowest code.
    """
    if rule not in TIE_RULES:
        raise InvalidParameterError(f"tie_break must be one of {TIE_RULES}, got {rule!r}")
    if rule == "lowest":
        return argmax_lowest(counts)
    top = counts.max(axis=1, keepdims=True)
    tied = np.isclose(counts, top, rtol=1e-12, atol=1e-12)
    if rule == "random":
        if rng is None:
            raise InvalidParameterError("tie_break='random' needs a random generator")
        score = np.where(tied, rng.random(counts.shape), -1.0)
        return score.argmax(axis=1)
    prevalence = counts.sum(axis=0)
    rank = np.argsort(np.argsort(prevalence, kind="stable"), kind="stable") + 1.0  # 1 = rarest
    return np.where(tied, rank[None, :], 0.0).argmax(axis=1)


def weighted_votes(annotations: Annotations, annotator_weights: np.ndarray | None = None) -> np.ndarray:
    """Vote table ``c[i, k]`` with each annotation weighted by its annotator's weight (1 if none).

    Items whose votes all have weight 0 fall back to the unweighted count, so no row is all zero.
    """
    plain = annotations.vote_counts()
    if annotator_weights is None:
        return plain
    weighted = annotations.vote_counts(np.asarray(annotator_weights, dtype=np.float64)[annotations.annotator])
    empty = weighted.sum(axis=1) <= 0
    weighted[empty] = plain[empty]
    return weighted


def vote_shares(counts: np.ndarray) -> np.ndarray:
    """Normalise a vote table into probabilities; an item with no vote gets the uniform distribution."""
    total = counts.sum(axis=1, keepdims=True)
    k = counts.shape[1]
    return np.divide(counts, total, out=np.full_like(counts, 1.0 / k), where=total > 0)


def argmax_lowest(x: np.ndarray) -> np.ndarray:
    """Row-wise argmax; ties go to the lowest column index (``np.argmax``'s rule, NaN included).

    A tall, narrow table (items x a few classes) is worked a column at a time: NumPy's row-wise argmax over
    a short last axis is several times slower than a few whole-column comparisons. The running argmax is
    updated in one-byte integers (:func:`~accord._kernel.softmax.running_argmax`), several times faster than
    a masked assignment on 200,000 x 5.
    """
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] > 16 or x.shape[0] < 1024 or not np.issubdtype(x.dtype, np.number):
        return x.argmax(axis=1)
    best = np.array(x[:, 0], dtype=np.float64)
    arg = running_argmax(x, best)
    if np.isnan(best).any():  # np.argmax picks the first NaN; keep its answer
        return x.argmax(axis=1)
    return arg.astype(np.intp)


def keep_best(tied: np.ndarray, score: np.ndarray, largest: bool) -> np.ndarray:
    """Narrow each row's tied set to the classes with the best ``score`` (exact ties survive)."""
    s = np.where(tied, score if largest else -score, -np.inf)
    return tied & (s == s.max(axis=1, keepdims=True))


def cleanlab_majority_vote(
    annotations: Annotations,
    pred_probs: np.ndarray | None,
    rng: np.random.Generator,
    counts: np.ndarray | None = None,
) -> np.ndarray:
    """Majority vote with cleanlab's tie cascade (cleanlab's ``get_majority_vote_label``; Goh et al. 2022).

    Among the classes tied for the most votes, keep (1) those with the highest ``pred_probs`` (if given), then
    (2) the rarest over all votes, then (3) those chosen by the annotators with the highest agreement with the
    untied majority vote, and finally (4) draw one uniformly with ``rng``.
    """
    counts = annotations.vote_counts() if counts is None else counts
    tied = counts == counts.max(axis=1, keepdims=True)
    untied = tied.sum(axis=1) == 1
    if pred_probs is not None:
        tied = keep_best(tied, pred_probs, largest=True)
    tied = keep_best(tied, np.broadcast_to(counts.sum(axis=0), counts.shape), largest=False)
    still = tied.sum(axis=1) > 1
    if still.any():
        tied = keep_best(
            tied, _tie_quality(annotations, untied, counts.argmax(axis=1), tied.shape[1]), largest=True
        )
    draw = np.where(tied, rng.random(tied.shape) + 1.0, 0.0)
    return draw.argmax(axis=1)


def _tie_quality(annotations: Annotations, untied: np.ndarray, mv: np.ndarray, k: int) -> np.ndarray:
    """Mean agreement with the majority vote on the items without a tie, of the annotators who chose each
    class, per item (annotators with no such item get the mean)."""
    ann = annotations
    on_untied = untied[ann.item]
    hits = np.bincount(
        ann.annotator[on_untied],
        weights=(ann.label == mv[ann.item])[on_untied].astype(float),
        minlength=ann.n_annotators,
    )
    seen = np.bincount(ann.annotator[on_untied], minlength=ann.n_annotators)
    agree = np.divide(hits, seen, out=np.full(ann.n_annotators, np.nan), where=seen > 0)
    agree[seen == 0] = np.nanmean(agree) if (seen > 0).any() else 0.0
    key = ann.item.astype(np.int64) * k + ann.label
    size = len(untied) * k
    total = np.bincount(key, weights=agree[ann.annotator], minlength=size).reshape(-1, k)
    n = np.bincount(key, minlength=size).reshape(-1, k)
    return np.divide(total, n, out=np.zeros_like(total), where=n > 0)
