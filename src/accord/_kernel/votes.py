"""Vote counting, vote shares and the tie rules every model uses to turn a table of scores into labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import InvalidParameterError

if TYPE_CHECKING:
    from ..annotations import Annotations

__all__ = ["TIE_RULES", "TieRule", "argmax_lowest", "break_ties", "vote_shares", "weighted_votes"]

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
        return counts.argmax(axis=1)
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
    """Row-wise argmax; ties go to the lowest column index (``np.argmax``'s rule)."""
    return np.asarray(x).argmax(axis=1)
