"""Annotator-weighted votes: Wawa and ZeroBasedSkill (heuristics as crowd-kit defines them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._kernel.votes import TieRule, break_ties, vote_shares, weighted_votes
from .._utils import check_positive_int
from ..annotations import Annotations
from ..consensus import Consensus
from ._base import Aggregator

__all__ = ["Wawa", "ZeroBasedSkill"]


def agreement_with(annotations: Annotations, labels: np.ndarray) -> np.ndarray:
    """Share of each annotator's labels equal to ``labels[item]`` (0 for an annotator with no label)."""
    hits = (annotations.label == labels[annotations.item]).astype(np.float64)
    n = annotations.annotator_sizes()
    total = np.bincount(annotations.annotator, weights=hits, minlength=annotations.n_annotators)
    return np.divide(total, n, out=np.zeros_like(total), where=n > 0)


class Wawa(Aggregator):
    """Worker Agreement With Aggregate: a vote weighted by each annotator's agreement with majority vote.

    Notes
    -----
    1. ``mv`` = majority vote (ties by ``tie_break``);
    2. ``skill[a]`` = share of ``a``'s labels equal to ``mv`` of the item (their own vote included);
    3. ``proba[i,k] ∝ sum_{n in i, label[n]=k} skill[a_n]``; ``labels_`` = its top class.

    No paper; an industry heuristic packaged by crowd-kit (Ustalov et al., "Learning from Crowds with
    Crowd-Kit", JOSS 2024).
    """

    name = "wawa"

    def __init__(
        self, *, tie_break: TieRule = "lowest", random_state: int | np.random.Generator | None = None
    ):
        self.tie_break = tie_break
        self.random_state = random_state

    def _fit(self, annotations, rng, gold):
        mv = break_ties(annotations.vote_counts(), self.tie_break, rng)
        skills = agreement_with(annotations, mv)
        counts = weighted_votes(annotations, skills)
        labels = break_ties(counts, self.tie_break, rng)
        self.skills_ = pd.Series(skills, index=annotations.annotators, name="skill")
        return Consensus(
            annotations,
            vote_shares(counts),
            "Wawa",
            labels=labels,
            params=self.get_params(),
            annotator_scores={"quality": skills, "skill": skills},
        )


class ZeroBasedSkill(Aggregator):
    """ZeroBasedSkill: annotator skills learned by gradient steps towards their agreement with the weighted
    vote.

    Parameters
    ----------
    n_iter : int, default 100
    lr_init : float, default 1.0
    lr_steps_to_reduce : int, default 20
        The learning rate is multiplied by ``lr_reduce_factor`` every this many iterations.
    lr_reduce_factor : float, default 0.5
    eps : float, default 1e-5
        Added to the initial skill ``1 / K``.
    tie_break : {"lowest", "random", "prior"}

    Notes
    -----
    ``s[a] = 1/K + eps``; each iteration: ``y`` = vote weighted by ``s``; ``acc[a]`` = agreement of ``a`` with
    ``y``; ``s[a] += lr * (acc[a] - s[a])``. Stops early once ``y`` is unchanged for two iterations in a row
    (crowd-kit has no stopping test). ``n_iter_`` is the number of iterations run.
    """

    name = "zbs"

    def __init__(
        self,
        *,
        n_iter: int = 100,
        lr_init: float = 1.0,
        lr_steps_to_reduce: int = 20,
        lr_reduce_factor: float = 0.5,
        eps: float = 1e-5,
        tie_break: TieRule = "lowest",
        random_state: int | np.random.Generator | None = None,
    ):
        self.n_iter = n_iter
        self.lr_init = lr_init
        self.lr_steps_to_reduce = lr_steps_to_reduce
        self.lr_reduce_factor = lr_reduce_factor
        self.eps = eps
        self.tie_break = tie_break
        self.random_state = random_state

    def _fit(self, annotations, rng, gold):
        n_iter = check_positive_int("n_iter", self.n_iter)
        skills = np.full(annotations.n_annotators, 1.0 / annotations.n_classes + self.eps)
        lr, previous, unchanged, it = float(self.lr_init), None, 0, 0
        for it in range(1, n_iter + 1):
            if it % self.lr_steps_to_reduce == 0:
                lr *= self.lr_reduce_factor
            labels = break_ties(weighted_votes(annotations, skills), self.tie_break, rng)
            skills = skills + lr * (agreement_with(annotations, labels) - skills)
            unchanged = unchanged + 1 if previous is not None and np.array_equal(labels, previous) else 0
            previous = labels
            if unchanged >= 2:
                break
        self.n_iter_ = it
        counts = weighted_votes(annotations, skills)
        labels = break_ties(counts, self.tie_break, rng)
        self.skills_ = pd.Series(skills, index=annotations.annotators, name="skill")
        return Consensus(
            annotations,
            vote_shares(counts),
            "ZeroBasedSkill",
            labels=labels,
            params=self.get_params(),
            annotator_scores={"quality": skills, "skill": skills},
        )
