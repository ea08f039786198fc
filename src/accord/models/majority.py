"""Majority vote, with a documented tie rule."""

from __future__ import annotations

import numpy as np

from .._kernel.votes import TieRule, break_ties, vote_shares
from ..consensus import Consensus
from ._base import Aggregator

__all__ = ["MajorityVote"]


class MajorityVote(Aggregator):
    """Majority vote: the class most annotators chose; ``proba_`` is the share of votes per class.

    Parameters
    ----------
    tie_break : {"lowest", "random", "prior"}, default "lowest"
        How a tie for the most votes is broken: ``"lowest"`` takes the smallest class code (the first class in
        ``Annotations.classes``, as ``np.argmax``); ``"random"`` draws among the tied classes with
        ``random_state``; ``"prior"`` takes the tied class that is most common over the whole dataset.
    random_state : int, Generator or None
        Used by ``tie_break="random"`` only.

    Notes
    -----
    ``c[i,k] = #{n : item[n] = i, label[n] = k}``; ``proba[i,k] = c[i,k] / sum_k c[i,k]``. For a tied item
    ``labels_`` follows the tie rule while ``proba_`` keeps the exact (tied) shares.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2], "annotator": list("abcab"), "label": list("xxyxy")})
    >>> MajorityVote().fit_predict(df).tolist()
    ['x', 'x']
    """

    name = "mv"

    def __init__(
        self, *, tie_break: TieRule = "lowest", random_state: int | np.random.Generator | None = None
    ):
        self.tie_break = tie_break
        self.random_state = random_state

    def _fit(self, annotations, rng, gold):
        counts = annotations.vote_counts()
        labels = break_ties(counts, self.tie_break, rng)
        proba = vote_shares(counts)
        return Consensus(annotations, proba, "MajorityVote", labels=labels, params=self.get_params())
