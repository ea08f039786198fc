"""Dawid-Skene EM with full confusion matrices, and its one-coin special case."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._kernel.confusions import one_coin_confusions
from .._kernel.em import (
    LOG_EPS,
    AnnotationMatrix,
    clamp,
    class_priors,
    e_step,
    e_step_labels,
    initial_posterior,
    smoothed_confusions,
)
from .._utils import check_nonneg_float
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import DataQualityWarning, InvalidParameterError
from ._base import Aggregator
from ._driver import EMResult, run_em

__all__ = ["DawidSkene", "OneCoinDawidSkene"]

Init = Literal["mv", "soft_mv"]


def _initial_confusions(value: Any, annotations: Annotations) -> np.ndarray:
    """Confusions given by the user: an array (annotators x K x K) or a dict annotator -> K x K matrix."""
    a, k = annotations.n_annotators, annotations.n_classes
    if isinstance(value, dict):
        out = np.full((a, k, k), 1.0 / k)
        for name, matrix in value.items():
            pos = annotations.annotators.get_indexer([name])[0]
            if pos >= 0:
                out[pos] = np.asarray(matrix, dtype=np.float64)
    else:
        out = np.array(value, dtype=np.float64)
    if out.shape != (a, k, k):
        raise InvalidParameterError(
            f"initial_confusions must have shape (n_annotators, K, K) = {(a, k, k)}, got {out.shape}"
        )
    if (out < 0).any() or not np.allclose(out.sum(axis=2), 1.0, atol=1e-6):
        raise InvalidParameterError("initial_confusions rows must be probabilities (>= 0, summing to 1)")
    return out


class _DawidSkeneBase(Aggregator):
    """Shared driver of the full and one-coin models; subclasses supply ``_m_step``."""

    model_name = "DawidSkene"

    def __init__(
        self,
        *,
        alpha: float = 0.5,
        prior_alpha: float = 0.0,
        init: Init = "mv",
        initial_confusions: Any = None,
        min_iter: int = 1,
        max_iter: int = 100,
        tol: float = 1e-5,
        tie_break: str = "lowest",
        keep_history: bool | str = "auto",
        random_state: int | np.random.Generator | None = None,
    ):
        self.alpha = alpha
        self.prior_alpha = prior_alpha
        self.init = init
        self.initial_confusions = initial_confusions
        self.min_iter = min_iter
        self.max_iter = max_iter
        self.tol = tol
        self.tie_break = tie_break
        self.keep_history = keep_history
        self.random_state = random_state

    def _m_step(self, matrix: AnnotationMatrix, post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _penalty(self, prior: np.ndarray, theta: np.ndarray) -> float:
        return 0.0

    def _fit(self, annotations, rng, gold):
        check_nonneg_float("alpha", self.alpha)
        check_nonneg_float("prior_alpha", self.prior_alpha)
        if annotations.n_classes < 2:
            raise InvalidParameterError(
                f"{self.model_name} needs at least 2 classes; the data have "
                f"{annotations.n_classes} ({list(annotations.classes)}). Pass classes=..."
            )
        warn_if_unidentifiable(annotations, self.model_name)
        matrix = AnnotationMatrix(annotations)
        post = initial_posterior(annotations, self.init, gold, self.tie_break, rng)
        if self.initial_confusions is not None:
            theta0 = _initial_confusions(self.initial_confusions, annotations)
            post, _ = e_step(
                matrix,
                np.log(np.full(annotations.n_classes, 1.0 / annotations.n_classes)),
                np.log(theta0 + LOG_EPS),
            )
            clamp(post, *(gold if gold is not None else (None, None)))
        result = run_em(
            post,
            m_step=lambda p: self._m_step(matrix, p),
            e_step=lambda params: e_step_labels(
                matrix, np.log(params[0] + LOG_EPS), np.log(params[1] + LOG_EPS)
            ),
            objective=lambda params, log_z: float(log_z.sum()) + self._penalty(*params),
            min_iter=self.min_iter,
            max_iter=self.max_iter,
            tol=self.tol,
            gold=gold,
            keep_history=self.keep_history,
            confusions_of=lambda params: params[1],
            model=self.model_name,
        )
        return self._finish(annotations, result)

    def _finish(self, annotations: Annotations, result: EMResult) -> Consensus:
        prior, theta = result.params
        self.priors_ = pd.Series(prior, index=annotations.classes, name="prior")
        self.confusions_ = theta
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self.log_likelihood_ = float(result.log_z.sum())
        self.history_ = result.history
        warn_if_degenerate(annotations, result.post.argmax(axis=1), self.model_name)
        return Consensus(
            annotations,
            result.post,
            self.model_name,
            confusions=theta,
            priors=prior,
            history=result.history_frame(),
            params=self.get_params(),
            annotator_scores=self._annotator_scores(theta),
        )

    def _annotator_scores(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        return {}


class DawidSkene(_DawidSkeneBase):
    r"""Dawid-Skene: every annotator has a full confusion matrix; fitted by EM from majority vote.

    Parameters
    ----------
    alpha : float, default 0.5
        Pseudo-count added to every confusion cell (seed 000's smoothing): ``theta[a,k,l] = (n[a,k,l] + alpha)
        / (sum_l n[a,k,l] + alpha * K)``, the MAP estimate under a symmetric Dirichlet(alpha + 1) prior. It
        keeps annotators with few labels from vetoing the others and avoids absorbing zeros.
    diag_alpha : float, default 0.0
        Extra pseudo-count on the diagonal of every confusion row (a Dirichlet prior saying "annotators are
        better than chance"): ``theta[a,k,l] = (n[a,k,l] + alpha + diag_alpha * [k == l]) / (sum_l n[a,k,l] +
        alpha * K + diag_alpha)``. 0 reproduces seed 000; 1.0 is more accurate on sparse real data (see
        benchmarks/accuracy.py).
    prior_alpha : float, default 0.0
        Pseudo-count of a symmetric Dirichlet prior on the class priors: ``prior[k] = (sum_i post[i,k] +
        prior_alpha) / (n_items + K * prior_alpha)``. 0 is the plain mean posterior (seed 000).
    init : {"mv", "soft_mv"}, default "mv"
        Starting posterior: one-hot majority vote (seed 000; breaks the label-switching symmetry) or vote
        shares.
    initial_confusions : array (n_annotators, K, K) or dict annotator -> K x K, optional
        Start from known confusion matrices instead (one E-step with a uniform prior gives the first
        posterior).
    min_iter, max_iter : int, default 1 and 100
    tol : float, default 1e-5
        Stop once ``max |post_new - post| < tol`` after at least ``min_iter`` iterations.
    tie_break : {"lowest", "random", "prior"}, default "lowest"
        Tie rule of the majority vote used to start.
    keep_history : bool or "auto", default "auto"
        Keep per-iteration labels, confusions and posteriors in ``history_`` (``"auto"``: when the posterior
        has at most 2 million cells). Scalars (log-likelihood, change) are always kept.
    random_state : int, Generator or None

    Attributes
    ----------
    labels_, proba_, consensus_, confusions_ (n_annotators x K x K), priors_, n_iter_, converged_,
    log_likelihood_, history_ (list of dicts: iteration, labels, confusions, posteriors, log_likelihood, ...).

    Notes
    -----
    Generative model: ``t_i ~ Cat(prior)``, ``label_n | t_{i_n} = k ~ Cat(theta[a_n, k, :])``, independent
    given the truth. EM alternates

    .. math::

        n_{akl} = \sum_{n: a_n=a, l_n=l} p_{i_n k},\qquad
        \theta_{akl} = \frac{n_{akl} + \alpha}{\sum_{l'} n_{akl'} + \alpha K},\qquad
        p_{ik} \propto \pi_k \prod_{n \in i} \theta_{a_n k l_n}

    computed in log space with sparse products (see ``accord._kernel.em``). Gold items, if given to ``fit``,
    are clamped to their class after every E-step (crowd-kit's behaviour). ``history_[t]`` is the state
    entering iteration ``t + 1``: ``history_[0]["labels"]`` is the majority vote.

    References
    ----------
    A. P. Dawid and A. M. Skene (1979). Maximum likelihood estimation of observer error-rates using the EM
    algorithm. Journal of the Royal Statistical Society, Series C 28(1):20-28. doi:10.2307/2346806

    Examples
    --------
    >>> import pandas as pd
    >>> from accord import DawidSkene
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc"), "label": list("xxyyyy")})
    >>> DawidSkene().fit_predict(df).tolist()
    ['x', 'y']
    """

    name = "ds"
    model_name = "DawidSkene"

    def __init__(
        self,
        *,
        alpha: float = 0.5,
        diag_alpha: float = 0.0,
        prior_alpha: float = 0.0,
        init: Init = "mv",
        initial_confusions: Any = None,
        min_iter: int = 1,
        max_iter: int = 100,
        tol: float = 1e-5,
        tie_break: str = "lowest",
        keep_history: bool | str = "auto",
        random_state: int | np.random.Generator | None = None,
    ):
        super().__init__(
            alpha=alpha,
            prior_alpha=prior_alpha,
            init=init,
            initial_confusions=initial_confusions,
            min_iter=min_iter,
            max_iter=max_iter,
            tol=tol,
            tie_break=tie_break,
            keep_history=keep_history,
            random_state=random_state,
        )
        self.diag_alpha = diag_alpha

    def _m_step(self, matrix, post):
        counts = matrix.expected_counts(post)
        diag = check_nonneg_float("diag_alpha", self.diag_alpha)
        if diag:
            counts = counts + diag * np.eye(counts.shape[1])
        return class_priors(post, float(self.prior_alpha)), smoothed_confusions(counts, float(self.alpha))

    def _penalty(self, prior, theta):
        log_theta = np.log(theta + LOG_EPS)
        return (
            float(self.alpha) * float(log_theta.sum())
            + float(self.diag_alpha) * float(np.trace(log_theta, axis1=1, axis2=2).sum())
            + float(self.prior_alpha) * float(np.log(prior + LOG_EPS).sum())
        )


class OneCoinDawidSkene(_DawidSkeneBase):
    r"""One-coin Dawid-Skene: one accuracy ``s[a]`` per annotator; errors spread evenly over the other
    classes.

    ``theta[a,k,l] = s[a]`` if ``l == k`` else ``(1 - s[a]) / (K - 1)``. M-step:
    ``s[a] = (sum_{n in a} post[i_n, l_n] + alpha) / (N_a + K * alpha)``, the exact maximiser of the expected
    complete log-likelihood with ``alpha`` pseudo-counts per confusion cell. Parameters as
    :class:`DawidSkene`. ``skills_`` holds ``s``; ``consensus_.annotator_quality["quality"]`` is ``s``.

    References
    ----------
    Y. Zhang, X. Chen, D. Zhou and M. I. Jordan (2016). Spectral methods meet EM: a provably optimal algorithm
    for crowdsourcing. JMLR 17(102):1-44.
    """

    name = "onecoin"
    model_name = "OneCoinDawidSkene"

    def _m_step(self, matrix, post):
        counts = matrix.expected_counts(post)
        k = counts.shape[1]
        correct = np.trace(counts, axis1=1, axis2=2)
        total = counts.sum(axis=(1, 2))
        skills = (correct + self.alpha) / (total + k * self.alpha)
        skills = np.clip(skills, 1e-10, 1 - 1e-10)
        return class_priors(post, float(self.prior_alpha)), one_coin_confusions(skills, k)

    def _penalty(self, prior, theta):
        return float(self.alpha) * float(np.log(theta + LOG_EPS).sum())

    def _finish(self, annotations, result):
        consensus = super()._finish(annotations, result)
        self.skills_ = pd.Series(
            np.diagonal(result.params[1], axis1=1, axis2=2)[:, 0], index=annotations.annotators, name="skill"
        )
        return consensus

    def _annotator_scores(self, theta):
        skills = np.diagonal(theta, axis1=1, axis2=2)[:, 0]
        return {"quality": skills, "skill": skills}


# Share of unanimous items (two or more annotations) a model may overrule before it is called degenerate.
# On the benchmark data a sound DS overrules at most 10% (relevance); collapsed fits overrule 70% or more.
DEGENERATE_SHARE = 0.25


def warn_if_degenerate(annotations: Annotations, labels: np.ndarray, model: str) -> None:
    """Warn when the consensus contradicts unanimous annotators on many items: the sign of a collapsed or
    label-switched fixed point (ANCHORS.md: 'methods that collapse')."""
    counts = annotations.vote_counts()
    n = counts.sum(axis=1)
    unanimous = (counts.max(axis=1) == n) & (n >= 2)
    if not unanimous.any():
        return
    overruled = unanimous & (labels != counts.argmax(axis=1))
    share = overruled.sum() / unanimous.sum()
    if share > DEGENERATE_SHARE:
        warnings.warn(
            f"{model} contradicts the unanimous annotators on {int(overruled.sum())} of "
            f"{int(unanimous.sum())} items ({share:.0%}); the fit is probably degenerate (too little data "
            "per annotator, or a label-switched solution). Try MajorityVote, DawidSkene(diag_alpha=1.0), or "
            "gold labels in fit(gold=...)",
            DataQualityWarning,
            stacklevel=4,
        )


# Above this share of single-annotation items, annotator error cannot be told apart from item truth.
SINGLE_LABEL_SHARE = 0.5


def warn_if_unidentifiable(annotations: Annotations, model: str) -> None:
    """Warn when most items have one annotation: the likelihood is then (nearly) flat in each annotator's
    confusion matrix, EM drifts from the majority-vote start, and accuracy can fall to chance (sp_amt with one
    label per item: majority vote 0.906, Dawid-Skene 0.51)."""
    sizes = annotations.item_sizes()
    share = float(np.mean(sizes == 1)) if len(sizes) else 0.0
    if share > SINGLE_LABEL_SHARE:
        warnings.warn(
            f"{share:.0%} of items have a single annotation: {model} cannot learn annotator quality from "
            "them and may drift away from the labels given. Use MajorityVote until items have two or more "
            "labels",
            DataQualityWarning,
            stacklevel=4,
        )
