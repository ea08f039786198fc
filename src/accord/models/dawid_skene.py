"""Dawid-Skene EM with full confusion matrices, and its one-coin special case, on the shared EM driver."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._hints import option
from .._kernel.confusions import one_coin_confusions
from .._kernel.driver import EMResult, EStep, history_budget, relative_objective_tol, run_em
from .._kernel.em import (
    LOG_EPS,
    AnnotationMatrix,
    DSKernel,
    DSParams,
    DSStats,
    Init,
    clamp,
    e_step,
    initial_posterior,
    smoothed_confusions,
)
from .._kernel.votes import argmax_lowest
from .._utils import check_nonneg_float
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import DataQualityWarning, InvalidParameterError
from ._base import IterativeAggregator

__all__ = ["DawidSkene", "OneCoinDawidSkene"]


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


@dataclass(frozen=True)
class Smoothing:
    """Pseudo-counts of the confusion rows and the class prior: ``cell`` on every cell, ``diag`` more on the
    diagonal, ``prior`` on every class."""

    cell: float
    diag: float
    prior: float

    def confusions(self, counts: np.ndarray) -> np.ndarray:
        """``theta[a,k,l] = (n[a,k,l] + cell + diag [k == l]) / (n[a,k] + K cell + diag)``."""
        if self.diag:
            counts = counts + self.diag * np.eye(counts.shape[1])
        return smoothed_confusions(counts, self.cell)

    def class_prior(self, mass: np.ndarray, n_items: int) -> np.ndarray:
        """``prior[k] = (sum_i post[i,k] + prior) / (n_items + K prior)``."""
        return (mass + self.prior) / (n_items + len(mass) * self.prior)


class FullSteps:
    """Dawid-Skene's EM pieces for the driver: statistics ``(counts[a,k,l], sum_i post[i,k])``, the smoothed
    M-step, the sparse E-step and the penalised log-likelihood."""

    def __init__(self, matrix: AnnotationMatrix, smoothing: Smoothing, compiled: bool | None = None) -> None:
        self.matrix = matrix
        self.smoothing = smoothing
        self.compiled = compiled  # the kernel's path: None chooses by size, True / False force it
        self._kernel: DSKernel | None = None

    @property
    def kernel(self) -> DSKernel:
        """The E-step / statistics kernel and its buffers, made on first use (the M-step and the objective
        never need it, so a distributed engine's client-side steps never build one)."""
        if self._kernel is None:
            self._kernel = DSKernel(self.matrix, compiled=self.compiled)
        return self._kernel

    def statistics(self, post: np.ndarray) -> DSStats:
        return self.kernel.statistics(post)

    def m_step(self, stats: DSStats, params: DSParams | None) -> DSParams:
        return (
            self.smoothing.class_prior(stats.class_mass, self.matrix.n_items),
            self.smoothing.confusions(stats.counts),
        )

    def e_step(self, params: DSParams) -> EStep:
        return EStep(*self.kernel.e_step(np.log(params[0] + LOG_EPS), np.log(params[1] + LOG_EPS)))

    def fused_e_step(self, params: DSParams, post: np.ndarray, labels: np.ndarray) -> EStep:
        """The E-step with, compiled, the statistics of its posterior and the changes against ``post`` /
        ``labels`` from the same pass (the driver's ``fused_e_step``); a subclass with its own E-step runs
        that one."""
        if type(self).e_step is not FullSteps.e_step:
            return self.e_step(params)
        new, log_z, new_labels, stats, delta, changed = self.kernel.e_step_fused(
            np.log(params[0] + LOG_EPS), np.log(params[1] + LOG_EPS), post, labels
        )
        return EStep(new, log_z, new_labels, stats=stats, delta=delta, n_changed=changed)

    def pack(self, params: DSParams) -> np.ndarray:
        """The parameters as one vector for SQUAREM: log probabilities (floored at ``1e-300``), where an
        extrapolation stays valid once :meth:`unpack` renormalises each row."""
        prior, theta = params
        return np.log(np.maximum(np.concatenate([prior, theta.ravel()]), 1e-300))

    def unpack(self, x: np.ndarray, like: DSParams) -> DSParams:
        """A packed vector back to ``(prior, theta)``: a softmax over the prior and over each confusion
        row."""
        k = len(like[0])
        return _row_softmax(x[:k]), _row_softmax(x[k:].reshape(like[1].shape))

    def objective(self, params: DSParams, e: EStep) -> float:
        """``sum_i log Z_i + cell sum log theta + diag sum log theta[a,k,k] + prior sum log pi``: the log
        posterior (up to a constant) under the Dirichlet priors that the smoothing is the MAP estimate of."""
        prior, theta = params
        s = self.smoothing
        log_theta = np.log(theta + LOG_EPS)
        return (
            float(e.log_z.sum())
            + s.cell * float(log_theta.sum())
            + s.diag * float(np.trace(log_theta, axis1=1, axis2=2).sum())
            + s.prior * float(np.log(prior + LOG_EPS).sum())
        )


def _row_softmax(x: np.ndarray) -> np.ndarray:
    """Probabilities from log values along the last axis (the largest first subtracted)."""
    out = np.exp(x - x.max(axis=-1, keepdims=True))
    out /= out.sum(axis=-1, keepdims=True)
    return out


class OneCoinSteps(FullSteps):
    """One-coin pieces: the same statistics; ``s[a] = (C[a] + alpha) / (N[a] + K alpha)`` with ``C[a]`` the
    trace of the expected counts; the objective is the log posterior under the Beta prior this maximises."""

    def m_step(self, stats: DSStats, params: DSParams | None) -> DSParams:
        k = stats.counts.shape[1]
        alpha = self.smoothing.cell
        correct = np.trace(stats.counts, axis1=1, axis2=2)
        total = stats.counts.sum(axis=(1, 2))
        skills = np.clip((correct + alpha) / (total + k * alpha), 1e-10, 1 - 1e-10)
        return self.smoothing.class_prior(stats.class_mass, self.matrix.n_items), one_coin_confusions(
            skills, k
        )

    def pack(self, params: DSParams) -> np.ndarray:
        """Log prior and the logit of each skill (the only free parameters of the one-coin matrices)."""
        prior, theta = params
        skills = theta[:, 0, 0]
        return np.concatenate([np.log(np.maximum(prior, 1e-300)), np.log(skills) - np.log1p(-skills)])

    def unpack(self, x: np.ndarray, like: DSParams) -> DSParams:
        """A packed vector back to ``(prior, theta)``: softmax prior, skills by the logistic function
        (clipped as the M-step clips them)."""
        k = len(like[0])
        skills = np.clip(1.0 / (1.0 + np.exp(-x[k:])), 1e-10, 1 - 1e-10)
        return _row_softmax(x[:k]), one_coin_confusions(skills, k)

    def objective(self, params: DSParams, e: EStep) -> float:
        """``sum_i log Z_i + alpha sum_a [log s_a + (K-1) log(1 - s_a)] + prior sum log pi``.

        With ``alpha`` pseudo-counts per cell of one confusion row (``alpha`` on the diagonal, ``alpha`` on
        each of the ``K - 1`` others), this is the log posterior under ``s_a ~ Beta(alpha + 1, (K-1) alpha +
        1)``, which the M-step maximises exactly; the previous release added ``alpha log theta`` over all
        ``K^2`` cells, which that M-step does not maximise.
        """
        prior, theta = params
        k = theta.shape[1]
        skills = theta[:, 0, 0]
        alpha = self.smoothing.cell
        penalty = alpha * float(np.log(skills).sum() + (k - 1) * np.log1p(-skills).sum())
        return float(e.log_z.sum()) + penalty + self.smoothing.prior * float(np.log(prior + LOG_EPS).sum())


class _DawidSkeneBase(IterativeAggregator):
    """Shared fit of the full and one-coin models; subclasses supply ``_steps`` and ``_smoothing``."""

    model_name = "DawidSkene"

    def __init__(
        self,
        *,
        alpha: float | None = 0.5,
        prior_alpha: float = 0.0,
        init: Init = "mv",
        initial_confusions: Any = None,
        min_iter: int = 1,
        max_iter: int = 100,
        tol: float = 1e-3,
        tie_break: str = "lowest",
        keep_history: bool | str = "auto",
        random_state: int | np.random.Generator | None = None,
        accelerate: bool = False,
    ) -> None:
        self.alpha = alpha
        self.prior_alpha = prior_alpha
        self.accelerate = accelerate
        self.init = init
        self.initial_confusions = initial_confusions
        self.min_iter = min_iter
        self.max_iter = max_iter
        self.tol = tol
        self.tie_break = tie_break
        self.keep_history = keep_history
        self.random_state = random_state

    def _smoothing(self, k: int) -> Smoothing:
        alpha = 0.5 if self.alpha is None else self.alpha
        return Smoothing(
            check_nonneg_float("alpha", alpha), 0.0, check_nonneg_float("prior_alpha", self.prior_alpha)
        )

    def _steps(
        self, matrix: AnnotationMatrix, smoothing: Smoothing, compiled: bool | None = None
    ) -> FullSteps:
        return FullSteps(matrix, smoothing, compiled)

    def em_steps(self, matrix: AnnotationMatrix, compiled: bool | None = None) -> FullSteps:
        """This model's EM steps on ``matrix`` with its smoothing for ``matrix.n_classes``: the E-step kernel,
        the M-step from summed statistics and the objective that :func:`accord._kernel.driver.run_em` and
        :func:`~accord._kernel.driver.em_step` drive. A distributed loop (the Dask engine) builds one per
        partition and one on the client; ``compiled`` as in :class:`~accord._kernel.em.DSKernel`."""
        return self._steps(matrix, self._smoothing(matrix.n_classes), compiled)

    def _check_classes(self, annotations: Annotations) -> None:
        if annotations.n_classes < 2:
            raise InvalidParameterError(
                f"{self.model_name} needs at least 2 classes; the data have "
                f"{annotations.n_classes} ({list(annotations.classes)}). "
                + option("Pass classes=[...] to Annotations", "Name them all with --classes a,b")
            )

    def _start(
        self,
        annotations: Annotations,
        matrix: AnnotationMatrix,
        rng: np.random.Generator,
        gold: tuple[np.ndarray, np.ndarray] | None,
        counts: np.ndarray | None = None,
    ) -> np.ndarray:
        post = initial_posterior(annotations, self.init, gold, self.tie_break, rng, counts)
        if self.initial_confusions is not None:
            theta0 = _initial_confusions(self.initial_confusions, annotations)
            k = annotations.n_classes
            post, _ = e_step(matrix, np.log(np.full(k, 1.0 / k)), np.log(theta0 + LOG_EPS))
            clamp(post, *(gold if gold is not None else (None, None)))
        return post

    def em_options(self) -> dict[str, Any]:
        """The driver options beyond ``max_iter`` / ``tol`` / ``min_iter`` that set this model's trajectory
        (the relative objective rule that goes with ``tol``, SQUAREM); a distributed loop passes the same."""
        return {
            "objective_rtol": relative_objective_tol(check_nonneg_float("tol", self.tol)),
            "accelerate": bool(self.accelerate),
        }

    def _run(
        self, steps: FullSteps, post: np.ndarray, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> EMResult[DSParams]:
        return run_em(
            steps,
            post,
            max_iter=self.max_iter,
            tol=self.tol,
            min_iter=self.min_iter,
            gold=gold,
            history_bytes=history_budget(self.keep_history),
            snapshot=lambda params: {"confusions": params[1]},
            model=self.model_name,
            **self.em_options(),
        )

    def _fit(
        self, annotations: Annotations, rng: np.random.Generator, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> Consensus:
        self._check_classes(annotations)
        smoothing = self._smoothing(annotations.n_classes)
        counts = annotations.vote_counts()  # once: the checks and the start read it
        warn_if_unidentifiable(annotations, self.model_name, counts)
        matrix = AnnotationMatrix(annotations)
        post = self._start(annotations, matrix, rng, gold, counts)
        result = self._run(self._steps(matrix, smoothing), post, gold)
        return self._finish(annotations, result, counts)

    def _finish(
        self, annotations: Annotations, result: EMResult[DSParams], counts: np.ndarray | None = None
    ) -> Consensus:
        prior, theta = result.params
        self.priors_ = pd.Series(prior, index=annotations.classes, name="prior")
        self._store_confusions(theta, annotations)
        self._store_run(result)
        labels = argmax_lowest(result.post)
        warn_if_degenerate(annotations, labels, self.model_name, counts)
        return Consensus(
            annotations,
            result.post,
            self.model_name,
            confusions=theta,
            priors=prior,
            history=self.history_,
            params=self.get_params(),
            annotator_scores=self.annotator_scores(theta),
            labels=labels,
        )

    def annotator_scores(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Extra per-annotator columns of the consensus from the confusions ``theta`` (none for full DS)."""
        return {}


class DawidSkene(_DawidSkeneBase):
    r"""Dawid-Skene: every annotator has a full confusion matrix; fitted by EM from majority vote.

    Parameters
    ----------
    alpha : float, optional
        Pseudo-count added to every confusion cell: ``theta[a,k,l] = (n[a,k,l] + alpha + d [k == l]) /
        (sum_l n[a,k,l] + alpha K + d)``, the MAP estimate under a Dirichlet prior on each row. Given, it is
        used exactly (0.5 with ``diag_alpha=0`` is the smoothing of the pneumonia example of the
        ``accord demo``). By default the smoothing is per row instead: ``alpha = row_prior / K``, so each row
        gets ``row_prior`` pseudo-labels whatever the number of classes.
    row_prior : float, default 1.0
        Pseudo-labels spread evenly over each confusion row when ``alpha`` is not given (``c`` below).
    diag_alpha : float, optional
        Extra pseudo-count on the diagonal of every row ("annotators are better than chance"; ``d`` below).
        Default 1.0 with per-row smoothing, 0.0 when ``alpha`` is given.
    prior_alpha : float, default 0.0
        Pseudo-count of a symmetric Dirichlet prior on the class priors: ``prior[k] = (sum_i post[i,k] +
        prior_alpha) / (n_items + K * prior_alpha)``. 0 is the plain mean posterior.
    init : {"mv", "soft_mv"}, default "mv"
        Starting posterior: one-hot majority vote (breaks the label-switching symmetry) or vote shares.
    initial_confusions : array (n_annotators, K, K) or dict annotator -> K x K, optional
        Start from known confusion matrices instead (one E-step with a uniform prior gives the first
        posterior).
    min_iter, max_iter : int, default 1 and 100
    tol : float, default 1e-3
        Stop once the answer has stopped changing: an EM step (at least the ``min_iter``-th E-step) changed no
        label and moved no posterior probability by ``tol`` or more, or it raised the objective by at most
        ``tol ** 2`` of its size (a gain, not a drop beyond rounding; with ``gold`` the objective is the
        clamped one of the Notes; near the maximum a step's gain is quadratic in its size; this second rule
        is what stops large data, where a handful of items among hundreds of thousands keep flipping, and it
        is off for ``tol`` below about ``3e-7``, under the objective's rounding). On the 26 public benchmark
        sets the default stops in 470 iterations in all where the posterior rule alone took 719, with no
        set's accuracy lower (4 higher); at 10^6 simulated annotations in 9 (K = 2) and 11 (K = 5)
        iterations instead of 19 and 39. ``0`` runs exactly ``max_iter`` E-steps.
    accelerate : bool, default False
        Run SQUAREM cycles (two EM steps, then one extrapolated step kept only if it raises the objective;
        Varadhan and Roland 2008) in the space of log probabilities. ``max_iter`` and ``n_iter_`` count
        E-steps; ``history_`` gets the columns ``step`` (1 for an EM step, the step length of an
        extrapolation) and ``accepted``. It pays for tight ``tol`` (cifar10n at ``tol=1e-10``: 353
        E-steps instead of 1447). At the default ``tol`` it saves fewer (393 E-steps instead of 470 on the
        26 public sets; 9 instead of 11 at 10^6 simulated annotations with K = 5, 9 either way with
        K = 2) and moves one label of 50,000 on cifar10n, so it is off by default. A
        ``ConvergenceWarning`` quotes the last EM step's change.
    tie_break : {"lowest", "random", "prior"}, default "lowest"
        Tie rule of the majority vote used to start.
    keep_history : bool or "auto", default "auto"
        Keep per-iteration labels, posteriors and confusions in ``snapshots_`` (``"auto"``: while they fit in
        16 MiB). The scalar ``history_`` is always kept.
    random_state : int, Generator or None

    Attributes
    ----------
    labels_, proba_, consensus_
    confusions_ : Confusions
        ``P(given label | true class)`` per annotator, labelled: ``confusions_.loc[annotator]`` is a K x K
        DataFrame (index: true class, columns: given label); ``confusions_.values`` the array.
    errors_ : DataFrame
        The same in crowd-kit's layout: rows (annotator, given label), one column per true class.
    priors_ : Series
    n_iter_, converged_, log_likelihood_, objective_ (the penalised log-likelihood EM increases)
    history_ : DataFrame
        One row per iteration: iteration, objective, log_likelihood, max_delta, n_changed.
    snapshots_ : list of dict
        Per iteration ``t`` (from 0): the labels and posteriors entering iteration ``t + 1`` and the
        confusions fitted from them; ``snapshots_[0]["labels"]`` is the majority vote. Each has its
        ``"iteration"`` (E-step count); with ``accelerate=True`` a rejected extrapolation keeps none.

    Notes
    -----
    Generative model: ``t_i ~ Cat(prior)``, ``label_n | t_{i_n} = k ~ Cat(theta[a_n, k, :])``, independent
    given the truth. With ``c = row_prior`` and ``d = diag_alpha``, EM alternates

    .. math::

        n_{akl} = \sum_{n: a_n=a, l_n=l} p_{i_n k},\qquad
        \theta_{akl} = \frac{n_{akl} + c/K + d\,[k = l]}{\sum_{l'} n_{akl'} + c + d},\qquad
        p_{ik} \propto \pi_k \prod_{n \in i} \theta_{a_n k l_n}

    computed in log space with sparse products. Per-cell smoothing with a fixed ``alpha`` adds ``alpha K``
    pseudo-labels to each row, which flattens the matrices toward uniform when there are many classes; the
    per-row prior keeps the total at ``c + d``. The penalised log-likelihood
    ``sum_i log Z_i + sum_{akl} (c/K + d [k = l]) log theta_{akl}`` never decreases. Gold items, if given to
    ``fit``, are clamped to their class after every E-step; EM then increases the same sum with each gold
    item's ``log Z_i`` replaced by its log joint at the known class ``g_i``,
    ``log p(labels_i, t_i = g_i) = log Z_i + log p_{i g_i}`` (``p`` before the clamp), and that is the
    objective the stopping rule reads and ``objective_`` / ``log_likelihood_`` report.

    References
    ----------
    A. P. Dawid and A. M. Skene (1979). Maximum likelihood estimation of observer error-rates using the EM
    algorithm. Journal of the Royal Statistical Society, Series C 28(1):20-28. doi:10.2307/2346806

    R. Varadhan and C. Roland (2008). Simple and globally convergent methods for accelerating the convergence
    of any EM algorithm. Scandinavian Journal of Statistics 35(2):335-353.
    doi:10.1111/j.1467-9469.2007.00585.x

    Examples
    --------
    >>> import pandas as pd
    >>> from accord import DawidSkene
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2, 3, 3, 3],
    ...                    "annotator": list("abcabcabc"), "label": list("xxyyyyxxx")})
    >>> DawidSkene().fit_predict(df).tolist()
    ['x', 'y', 'x']
    """

    name = "ds"
    model_name = "DawidSkene"

    def __init__(
        self,
        *,
        alpha: float | None = None,
        row_prior: float = 1.0,
        diag_alpha: float | None = None,
        prior_alpha: float = 0.0,
        init: Init = "mv",
        initial_confusions: Any = None,
        min_iter: int = 1,
        max_iter: int = 100,
        tol: float = 1e-3,
        tie_break: str = "lowest",
        keep_history: bool | str = "auto",
        random_state: int | np.random.Generator | None = None,
        accelerate: bool = False,
    ) -> None:
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
            accelerate=accelerate,
        )
        self.row_prior = row_prior
        self.diag_alpha = diag_alpha

    def _smoothing(self, k: int) -> Smoothing:
        prior = check_nonneg_float("prior_alpha", self.prior_alpha)
        if self.alpha is not None:
            diag = 0.0 if self.diag_alpha is None else self.diag_alpha
            return Smoothing(
                check_nonneg_float("alpha", self.alpha), check_nonneg_float("diag_alpha", diag), prior
            )
        diag = 1.0 if self.diag_alpha is None else self.diag_alpha
        cell = check_nonneg_float("row_prior", self.row_prior) / k
        return Smoothing(cell, check_nonneg_float("diag_alpha", diag), prior)


class OneCoinDawidSkene(_DawidSkeneBase):
    r"""One-coin Dawid-Skene: one accuracy ``s[a]`` per annotator; errors spread evenly over the other
    classes.

    Parameters
    ----------
    alpha : float, default 0.5
        Pseudo-count of each cell of one confusion row: ``alpha`` on the diagonal and on each of the ``K - 1``
        others, i.e. a ``Beta(alpha + 1, (K - 1) alpha + 1)`` prior on ``s``.
    tol : float, default 1e-3
        Stop once an EM step changed no label and moved no posterior by ``tol`` or more (without
        :class:`DawidSkene`'s relative objective rule, which stopped one-coin one item short on three public
        sets).
    accelerate : bool, default False
        As :class:`DawidSkene` (SQUAREM on the log prior and the logits of the skills).
    prior_alpha, init, initial_confusions, min_iter, max_iter, tie_break, keep_history, random_state
        As :class:`DawidSkene`.

    Attributes
    ----------
    skills_ : Series
        ``s`` per annotator (also ``consensus_.annotator_quality["quality"]``).
    labels_, proba_, consensus_, confusions_, errors_, priors_, n_iter_, converged_, log_likelihood_,
    objective_, history_, snapshots_
        As :class:`DawidSkene`.

    Notes
    -----
    ``theta[a,k,l] = s[a]`` if ``l == k`` else ``(1 - s[a]) / (K - 1)``. With ``C[a] = sum_{n in a}
    post[i_n, l_n]`` (the trace of the expected counts) and ``N[a]`` the annotator's number of labels, the
    M-step

    .. math:: s_a = \frac{C_a + \alpha}{N_a + K\alpha}

    maximises ``C_a log s_a + (N_a - C_a) log(1 - s_a)`` plus the log prior
    ``alpha [log s_a + (K-1) log(1 - s_a)]``; ``history_["objective"]`` is the log-likelihood plus that log
    prior, which never decreases.

    References
    ----------
    Y. Zhang, X. Chen, D. Zhou and M. I. Jordan (2016). Spectral methods meet EM: a provably optimal algorithm
    for crowdsourcing. JMLR 17(102):1-44.
    """

    name = "onecoin"
    model_name = "OneCoinDawidSkene"

    def _steps(
        self, matrix: AnnotationMatrix, smoothing: Smoothing, compiled: bool | None = None
    ) -> FullSteps:
        return OneCoinSteps(matrix, smoothing, compiled)

    def em_options(self) -> dict[str, Any]:
        """As :meth:`DawidSkene.em_options` without the relative objective rule: on the 26 public sets it
        would stop one-coin one item short on zencrowd_all/in/us (measured), so ``tol`` keeps its posterior
        meaning alone here."""
        return {**super().em_options(), "objective_rtol": None}

    def _finish(
        self, annotations: Annotations, result: EMResult[DSParams], counts: np.ndarray | None = None
    ) -> Consensus:
        consensus = super()._finish(annotations, result, counts)
        self.skills_ = pd.Series(
            np.diagonal(result.params[1], axis1=1, axis2=2)[:, 0], index=annotations.annotators, name="skill"
        )
        return consensus

    def annotator_scores(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """One-coin's per-annotator columns from its confusions ``theta``: the skill (the diagonal)."""
        skills = np.diagonal(theta, axis1=1, axis2=2)[:, 0]
        return {"quality": skills, "skill": skills}


# Share of unanimous items (two or more annotations) a model may overrule before it is called degenerate.
# On the benchmark data a sound DS overrules at most 10% (relevance); collapsed fits overrule 70% or more.
DEGENERATE_SHARE = 0.25


def warn_if_degenerate(
    annotations: Annotations, labels: np.ndarray, model: str, counts: np.ndarray | None = None
) -> None:
    """Warn when the consensus contradicts unanimous annotators on many items: the sign of a collapsed or
    label-switched fixed point (``counts``: the vote table, if the caller has it)."""
    counts = annotations.vote_counts() if counts is None else counts
    n, top = np.array(counts[:, 0]), np.array(counts[:, 0])  # per item, a column at a time
    for j in range(1, counts.shape[1]):
        n += counts[:, j]
        np.maximum(top, counts[:, j], out=top)
    unanimous = (top == n) & (n >= 2)
    if not unanimous.any():
        return
    # a unanimous item is overruled when its label is not the one class holding all its votes
    overruled = unanimous & (counts[np.arange(len(counts)), labels] != n)
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


def warn_if_unidentifiable(annotations: Annotations, model: str, counts: np.ndarray | None = None) -> None:
    """Warn when most items have one annotation: the likelihood is then (nearly) flat in each annotator's
    confusion matrix, EM drifts from the majority-vote start, and accuracy can fall to chance (sp_amt with one
    label per item: majority vote 0.906, Dawid-Skene 0.51). ``counts``: the vote table, if the caller has it
    (its rows add up to the item sizes)."""
    if counts is None:
        sizes = annotations.item_sizes()
    else:
        sizes = np.array(counts[:, 0])  # a column at a time (a row sum over a short axis is slower)
        for j in range(1, counts.shape[1]):
            sizes += counts[:, j]
    share = float(np.mean(sizes == 1)) if len(sizes) else 0.0
    if share > SINGLE_LABEL_SHARE:
        warnings.warn(
            f"{share:.0%} of items have a single annotation: {model} cannot learn annotator quality from "
            "them and may drift away from the labels given. Use MajorityVote until items have two or more "
            "labels",
            DataQualityWarning,
            stacklevel=4,
        )
