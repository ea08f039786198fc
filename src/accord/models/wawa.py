"""Annotator-weighted votes: Wawa and ZeroBasedSkill (heuristics as crowd-kit defines them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._kernel.driver import EMResult, EStep, run_em
from .._kernel.votes import TieRule, break_ties, vote_shares, weighted_votes
from .._utils import check_positive_int
from ..annotations import Annotations
from ..consensus import Consensus
from ._base import Aggregator, IterativeAggregator, renamed_n_iter

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


@dataclass(frozen=True)
class ZbsParams:
    """Skills after ``step`` updates, and the learning rate of the last update."""

    skills: np.ndarray
    lr: float
    step: int


class ZbsSteps:
    """ZeroBasedSkill as driver pieces: the E-step is the skill-weighted vote (ties by the model's rule), the
    statistics each annotator's number of labels equal to it, the M-step one gradient step of the skills."""

    def __init__(self, annotations: Annotations, model: ZeroBasedSkill, rng: np.random.Generator) -> None:
        self.ann, self.model, self.rng = annotations, model, rng
        self.n = annotations.annotator_sizes().astype(np.float64)
        self._last: tuple[np.ndarray, np.ndarray] | None = None  # (posterior, labels) of the last E-step

    def statistics(self, post: np.ndarray) -> np.ndarray:
        """``hits[a]``: how many of ``a``'s labels equal the weighted vote (additive over items)."""
        labels = self._last[1] if self._last is not None and self._last[0] is post else post.argmax(axis=1)
        ann = self.ann
        hits = (ann.label == labels[ann.item]).astype(np.float64)
        return np.bincount(ann.annotator, weights=hits, minlength=ann.n_annotators)

    def m_step(self, stats: np.ndarray, params: ZbsParams | None) -> ZbsParams:
        assert params is not None  # starts from the initial skills
        m, step = self.model, params.step + 1
        lr = params.lr * m.lr_reduce_factor if step % m.lr_steps_to_reduce == 0 else params.lr
        accuracy = np.divide(stats, self.n, out=np.zeros_like(stats), where=self.n > 0)
        return ZbsParams(params.skills + lr * (accuracy - params.skills), lr, step)

    def e_step(self, params: ZbsParams) -> EStep:
        counts = weighted_votes(self.ann, params.skills)
        labels = break_ties(counts, self.model.tie_break, self.rng)
        post = vote_shares(counts)
        self._last = (post, labels)
        return EStep(post, np.zeros(len(post)), labels)

    def objective(self, params: ZbsParams, e: EStep) -> float:
        """Minus half the squared gap between the skills and the agreement with the new vote (what each step
        reduces): ``-1/2 sum_a (acc[a] - s[a])^2``."""
        accuracy = np.divide(self.statistics(e.post), self.n, out=np.zeros(len(self.n)), where=self.n > 0)
        return -0.5 * float(np.sum((accuracy - params.skills) ** 2))


class ZeroBasedSkill(IterativeAggregator):
    """ZeroBasedSkill: annotator skills learned by gradient steps towards their agreement with the weighted
    vote.

    Parameters
    ----------
    max_iter : int, default 100
        ``n_iter`` is its deprecated spelling.
    tol : float, default 1e-5
        Stop once no vote share moves by more than ``tol`` in an iteration (with the initial learning rate of
        1 the shares stop moving exactly when the weighted vote is the same twice in a row).
    lr_init : float, default 1.0
    lr_steps_to_reduce : int, default 20
        The learning rate is multiplied by ``lr_reduce_factor`` every this many iterations.
    lr_reduce_factor : float, default 0.5
    eps : float, default 1e-5
        Added to the initial skill ``1 / K``.
    tie_break : {"lowest", "random", "prior"}
    random_state : int, Generator or None
        Used by ``tie_break="random"``.

    Attributes
    ----------
    labels_, proba_ (vote shares under the skills), consensus_, skills_, n_iter_, converged_, history_
    (``log_likelihood`` is 0: the method has no likelihood; ``objective`` is minus half the squared gap
    between skills and agreements).

    Notes
    -----
    ``s[a] = 1/K + eps``; each iteration: ``y`` = vote weighted by ``s``; ``acc[a]`` = agreement of ``a`` with
    ``y``; ``s[a] += lr * (acc[a] - s[a])``. crowd-kit has no stopping test; this one stops once the weighted
    vote shares no longer move (``tol``), which with ``lr = 1`` is one iteration after the vote repeats.

    References
    ----------
    D. Ustalov, N. Pavlichenko and B. Tseitlin (2024). Learning from crowds with Crowd-Kit. Journal of Open
    Source Software 9(96):6227. doi:10.21105/joss.06227 (an industry heuristic; no paper of its own).
    """

    name = "zbs"

    def __init__(
        self,
        *,
        max_iter: int = 100,
        tol: float = 1e-5,
        lr_init: float = 1.0,
        lr_steps_to_reduce: int = 20,
        lr_reduce_factor: float = 0.5,
        eps: float = 1e-5,
        tie_break: TieRule = "lowest",
        random_state: int | np.random.Generator | None = None,
        n_iter: int | None = None,
    ) -> None:
        self.max_iter = renamed_n_iter(n_iter, max_iter, "ZeroBasedSkill")
        self.tol = tol
        self.lr_init = lr_init
        self.lr_steps_to_reduce = lr_steps_to_reduce
        self.lr_reduce_factor = lr_reduce_factor
        self.eps = eps
        self.tie_break = tie_break
        self.random_state = random_state

    def _fit(
        self, annotations: Annotations, rng: np.random.Generator, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> Consensus:
        check_positive_int("max_iter", self.max_iter)
        check_positive_int("lr_steps_to_reduce", self.lr_steps_to_reduce)
        steps = ZbsSteps(annotations, self, rng)
        start = ZbsParams(
            np.full(annotations.n_annotators, 1.0 / annotations.n_classes + self.eps), float(self.lr_init), 0
        )
        first = steps.e_step(start)
        result = run_em(
            steps,
            first.post,
            max_iter=self.max_iter,
            tol=self.tol,
            params=start,
            history_bytes=0,
            model="ZeroBasedSkill",
        )
        return self._finish(annotations, result, steps)

    def _finish(self, annotations: Annotations, result: EMResult[ZbsParams], steps: ZbsSteps) -> Consensus:
        skills = result.params.skills
        self._store_run(result)
        labels = steps._last[1] if steps._last is not None else result.post.argmax(axis=1)
        self.skills_ = pd.Series(skills, index=annotations.annotators, name="skill")
        return Consensus(
            annotations,
            result.post,
            "ZeroBasedSkill",
            labels=labels,
            params=self.get_params(),
            history=self.history_,
            annotator_scores={"quality": skills, "skill": skills},
        )
