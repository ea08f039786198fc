"""Majority vote, with a documented tie rule."""

from __future__ import annotations

from typing import Literal

import numpy as np

from .._kernel.confusions import count_confusions
from .._kernel.votes import break_ties, cleanlab_majority_vote, vote_shares
from ..consensus import Consensus
from ..errors import InvalidParameterError
from ._base import Aggregator

__all__ = ["MajorityVote"]

MajorityTieRule = Literal["lowest", "random", "prior", "cleanlab"]
MAJORITY_TIE_RULES = ("lowest", "random", "prior", "cleanlab")


class MajorityVote(Aggregator):
    """Majority vote: the class most annotators chose; ``proba_`` is the share of votes per class.

    Parameters
    ----------
    tie_break : {"lowest", "random", "prior", "cleanlab"}, default "lowest"
        How a tie for the most votes is broken: ``"lowest"`` takes the smallest class code (the first class in
        ``Annotations.classes``, as ``np.argmax``); ``"random"`` draws among the tied classes with
        ``random_state``; ``"prior"`` takes the tied class that is most common over the whole dataset;
        ``"cleanlab"`` is cleanlab's ``get_majority_vote_label`` cascade without ``pred_probs``: the tied
        class that is rarest over the whole dataset, then the one chosen by the annotators who agree most with
        the untied majority vote, then a draw with ``random_state``.
    random_state : int, Generator or None
        Used by ``tie_break="random"`` and by the last step of ``"cleanlab"``.

    Notes
    -----
    ``c[i,k] = #{n : item[n] = i, label[n] = k}``; ``proba[i,k] = c[i,k] / sum_k c[i,k]``. For a tied item
    ``labels_`` follows the tie rule while ``proba_`` keeps the exact (tied) shares.

    The confusion matrices are the plain counts of each annotator's labels against the majority labels
    ``y``, row-normalised: ``theta[a,k,l] = #{n : annotator[n] = a, y[item[n]] = k, label[n] = l} / #{n :
    annotator[n] = a, y[item[n]] = k}`` (no pseudo-count; a row with no annotation is uniform).

    References
    ----------
    Goh, H. W., Tkachenko, U. and Mueller, J. CROWDLAB: Supervised learning to infer consensus labels and
    quality scores for data with multiple annotators. 2022. https://arxiv.org/abs/2210.06812

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2], "annotator": list("abcab"), "label": list("xxyxy")})
    >>> MajorityVote().fit_predict(df).tolist()
    ['x', 'x']
    >>> MajorityVote().fit(df).consensus_.confusion_matrix("c").to_numpy().tolist()
    [[0.0, 1.0], [0.5, 0.5]]
    """

    name = "mv"

    def __init__(
        self, *, tie_break: MajorityTieRule = "lowest", random_state: int | np.random.Generator | None = None
    ):
        self.tie_break = tie_break
        self.random_state = random_state

    def _fit(self, annotations, rng, gold):
        if self.tie_break not in MAJORITY_TIE_RULES:
            raise InvalidParameterError(
                f"MajorityVote: tie_break must be one of {MAJORITY_TIE_RULES}, got {self.tie_break!r}"
            )
        counts = annotations.vote_counts()
        if self.tie_break == "cleanlab":
            labels = cleanlab_majority_vote(annotations, None, rng, counts)
        else:
            labels = break_ties(counts, self.tie_break, rng)
        proba = vote_shares(counts)
        return Consensus(
            annotations,
            proba,
            "MajorityVote",
            labels=labels,
            confusions=count_confusions(annotations, labels),
            params=self.get_params(),
        )
