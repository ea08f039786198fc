"""GLAD: annotator ability times item (inverse) difficulty, fitted by EM with a gradient M-step.

The math lives in module-level functions on the annotation arrays (E-step, expected complete log-posterior and
its gradient, log prior); :class:`GLAD` only orchestrates. Every step is a handful of ``np.bincount`` passes
over the annotations, so one EM iteration costs O(n_annotations x L-BFGS evaluations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from .._kernel.confusions import one_coin_confusions
from .._kernel.driver import EMResult, EStep, run_em
from .._kernel.em import clamp
from .._kernel.lbfgs import minimize_lbfgs, vdot
from .._kernel.priors import class_prior_setting
from .._kernel.softmax import column_sums, log_normalize
from .._utils import check_nonneg_float, check_positive_int
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import InvalidParameterError
from ._base import IterativeAggregator

__all__ = ["GLAD"]

NormalPriors = tuple[float, float, float, float]  # (mean, sd) of alpha, then of b


@dataclass(frozen=True)
class GladData:
    """The annotation arrays GLAD needs, as int64, with the precomputed vote key ``item * K + label``."""

    item: np.ndarray
    annot: np.ndarray
    label: np.ndarray
    key_il: np.ndarray
    n_items: int
    n_annotators: int
    n_classes: int

    @classmethod
    def of(cls, ann: Annotations) -> GladData:
        item = ann.item.astype(np.int64)
        label = ann.label.astype(np.int64)
        return cls(
            item,
            ann.annotator.astype(np.int64),
            label,
            item * ann.n_classes + label,
            ann.n_items,
            ann.n_annotators,
            ann.n_classes,
        )


def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))``, without overflow (faster than ``np.logaddexp``)."""
    out = np.exp(-np.abs(x))
    np.log1p(out, out=out)
    out += np.maximum(x, 0.0)
    return out


class GladWork:
    """Per-annotation buffers reused by every evaluation of the M-step objective and by the E-step, instead
    of about ten fresh arrays of ``n_annotations`` floats per evaluation (at 10^7 annotations the fresh
    arrays cost a third of the time in page faults).

    ``x``, ``sp = softplus(x)``, ``alpha_n`` and ``beta_n`` belong to the point ``(alpha, b)`` recorded in
    ``at``: the E-step after an M-step and the first evaluation of the next M-step are at the point the last
    evaluation left there, and read them instead of recomputing them (the same operations on the same
    values, so the same results).

    Arrays of the parameters' size (``n_params = annotators + items``) are kept too: at 10^7 annotations
    each fresh one is 16 MB of new pages, and a handful per evaluation made an eighth of the fit system time.
    The gradient is written into the same array on every evaluation (:func:`minimize_lbfgs` copies the
    gradient it keeps).
    """

    def __init__(self, n: int, n_params: int = 0) -> None:
        self.alpha_n, self.beta_n, self.x, self.sp, self.t1, self.t2 = (np.empty(n) for _ in range(6))
        self.at = np.empty(n_params)
        self.params = np.empty(n_params)  # exp(b) (in logits), then the prior's residuals (in neg_q)
        self.grad = np.empty(n_params)
        self.valid = False

    def holds(self, alpha: np.ndarray, b: np.ndarray) -> bool:
        """Whether the buffers hold the logits and their softplus at ``(alpha, b)``."""
        # compared as bits (0.0 and -0.0 differ, NaN equals itself): the buffers are reused only for the very
        # same point
        at, na = self.at.view(np.int64), len(alpha)
        same = np.array_equal
        return (
            self.valid
            and len(at) == na + len(b)
            and same(at[:na], np.ascontiguousarray(alpha, dtype=np.float64).view(np.int64))
            and same(at[na:], np.ascontiguousarray(b, dtype=np.float64).view(np.int64))
        )

    def fill(self, data: GladData, alpha: np.ndarray, b: np.ndarray) -> None:
        """Logits and softplus at ``(alpha, b)`` into the buffers, unless they are there already."""
        if self.holds(alpha, b):
            return
        self.valid = False
        logits(data, alpha, b, self)
        softplus_into(self.x, self.sp, self.t2)
        if len(self.at) != len(alpha) + len(b):
            self.at = np.empty(len(alpha) + len(b))
        self.at[: len(alpha)] = alpha
        self.at[len(alpha) :] = b
        self.valid = True

    def scratch(self, size: int) -> np.ndarray:
        """A work array of ``size`` floats (the parameters' buffer when it is that large)."""
        if len(self.params) < size:
            self.params = np.empty(size)
        return self.params[:size]

    def gradient(self, size: int) -> np.ndarray:
        """The gradient's array (the same one on every call)."""
        if len(self.grad) != size:
            self.grad = np.empty(size)
        return self.grad


def softplus_into(x: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """:func:`softplus` into ``out`` (``tmp`` is scratch), by the same operations, so the same values."""
    np.abs(x, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    np.maximum(x, 0.0, out=tmp)
    np.add(out, tmp, out=out)
    return out


def logits(data: GladData, alpha: np.ndarray, b: np.ndarray, work: GladWork | None = None) -> np.ndarray:
    """``x[n] = alpha[annot[n]] * exp(b[item[n]])``: the log-odds that annotation ``n`` is correct (in
    ``work.x`` when given)."""
    if work is None:
        return alpha[data.annot] * np.exp(b)[data.item]
    np.take(alpha, data.annot, out=work.alpha_n, mode="clip")
    np.take(np.exp(b, out=work.scratch(len(b))), data.item, out=work.beta_n, mode="clip")
    return np.multiply(work.alpha_n, work.beta_n, out=work.x)


def log_scores(data: GladData, x: np.ndarray, work: GladWork | None = None) -> np.ndarray:
    """``sum_{n in i} log P(label[n] | t_i = k)`` for every item ``i`` and class ``k`` (items x K).

    With ``log sig = -softplus(-x)`` and ``log(1 - sig) = -softplus(x)``: every annotation contributes
    ``-softplus(x) - log(K-1)`` to all classes and ``x + log(K-1)`` more to the class it names.
    """
    i, k = data.n_items, data.n_classes
    log_km1 = np.log(k - 1.0)
    if work is None:
        base = np.bincount(data.item, weights=-softplus(x) - log_km1, minlength=i)
        bonus = np.bincount(data.key_il, weights=x + log_km1, minlength=i * k).reshape(i, k)
    else:
        # softplus(x) from the work buffers (``x`` is ``work.x``, filled by ``GladWork.fill``)
        sp = np.add(work.sp, log_km1, out=work.t1)
        np.negative(sp, out=sp)
        base = np.bincount(data.item, weights=sp, minlength=i)
        np.add(x, log_km1, out=work.t2)
        bonus = np.bincount(data.key_il, weights=work.t2, minlength=i * k).reshape(i, k)
    bonus += base[:, None]
    return bonus


def e_step(
    data: GladData, alpha: np.ndarray, b: np.ndarray, log_prior: np.ndarray, work: GladWork | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior ``post[i, k]`` and per-item log evidence ``log p(labels of i)``."""
    if work is None:
        scores = log_scores(data, logits(data, alpha, b))
    else:
        work.fill(data, alpha, b)
        scores = log_scores(data, work.x, work)
    scores += log_prior
    return log_normalize(scores)


def neg_q(
    theta: np.ndarray,
    data: GladData,
    p_given: np.ndarray,
    prior: tuple[float, float, float, float],
    work: GladWork | None = None,
    p_sum: float | None = None,
) -> tuple[float, np.ndarray]:
    """Minus the expected complete log-posterior ``Q(alpha, b)`` and its gradient, for the M-step optimiser.

    ``p_given[n] = post[item[n], label[n]]`` (``p_sum`` its sum, if known). With ``g[n] = p_given[n] -
    sigmoid(x[n])``::

        Q        = sum_n p log sig + (1 - p) (log(1 - sig) - log(K-1))
                 = sum_n p x - softplus(x) - (1 - p) log(K-1)            (as log sig = x - softplus(x))
                   - sum_a (alpha - m_a)^2 / (2 s_a^2) - sum_i (b - m_b)^2 / (2 s_b^2)
        dQ/dalpha[a] = sum_{n in a} g[n] exp(b[i_n])              - (alpha[a] - m_a) / s_a^2
        dQ/db[i]     = sum_{n in i} g[n] alpha[a_n] exp(b[i])      - (b[i] - m_b) / s_b^2
    """
    m_a, s_a, m_b, s_b = prior
    na = data.n_annotators
    alpha, b = theta[:na], theta[na:]
    w = work if work is not None else GladWork(len(data.item))
    w.fill(data, alpha, b)
    x = w.x
    log_km1 = np.log(data.n_classes - 1.0)
    sp_sum = float(w.sp.sum())
    total = float(p_given.sum()) if p_sum is None else p_sum
    q = vdot(p_given, x) - sp_sum - log_km1 * (len(x) - total)
    da = alpha - m_a
    db = np.subtract(b, m_b, out=w.scratch(len(b)))
    q -= 0.5 * (vdot(da, da) / s_a**2 + vdot(db, db) / s_b**2)
    g = expit(x, out=w.t1)
    np.subtract(p_given, g, out=g)
    np.multiply(g, w.beta_n, out=g)  # g_beta
    # The gradient of -Q written straight into one array (no concatenation): -(bincount - d / s^2).
    grad = w.gradient(len(theta))
    np.subtract(
        np.bincount(data.annot, weights=g, minlength=na), np.divide(da, s_a**2, out=da), out=grad[:na]
    )
    np.multiply(g, w.alpha_n, out=g)
    d_b = np.bincount(data.item, weights=g, minlength=data.n_items)
    np.subtract(d_b, np.divide(db, s_b**2, out=db), out=grad[na:])
    np.negative(grad, out=grad)
    return -q, grad


def log_prior_density(alpha: np.ndarray, b: np.ndarray, prior: tuple[float, float, float, float]) -> float:
    """``log N(alpha; m_a, s_a^2) + log N(b; m_b, s_b^2)`` summed over annotators and items."""
    m_a, s_a, m_b, s_b = prior
    za, zb = (alpha - m_a) / s_a, (b - m_b) / s_b
    const = 0.5 * np.log(2 * np.pi)
    return float(
        -0.5 * vdot(za, za)
        - len(alpha) * (const + np.log(s_a))
        - 0.5 * vdot(zb, zb)
        - len(b) * (const + np.log(s_b))
    )


def m_step(
    data: GladData,
    p_given: np.ndarray,
    alpha: np.ndarray,
    b: np.ndarray,
    prior: tuple[float, float, float, float],
    max_iter: int,
    gtol: float,
    work: GladWork | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A partial M-step: L-BFGS on ``-Q`` from the current ``(alpha, b)`` (generalised EM: ``Q`` never
    falls). ``p_given[n] = post[item[n], label[n]]``."""
    na = data.n_annotators
    w = work if work is not None else GladWork(len(data.item))
    p_sum = float(p_given.sum())
    res = minimize_lbfgs(
        lambda theta: neg_q(theta, data, p_given, prior, w, p_sum),
        np.concatenate([alpha, b]),
        max_iter=max_iter,
        gtol=gtol,
    )
    return res.x[:na].copy(), res.x[na:].copy()


def expected_accuracy(data: GladData, alpha: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean ``sigmoid(alpha[a] * beta[i])`` over the items each annotator labelled (the median item if
    none)."""
    sig = expit(logits(data, alpha, b))
    n = np.bincount(data.annot, minlength=data.n_annotators)
    total = np.bincount(data.annot, weights=sig, minlength=data.n_annotators)
    fallback = expit(alpha * (np.exp(np.median(b)) if len(b) else 1.0))
    return np.divide(total, n, out=fallback, where=n > 0)


@dataclass(frozen=True)
class GladStats:
    """What GLAD's M-step reads: the posterior of the label given, per annotation, and the posterior mass of
    each class (for a learned class prior)."""

    p_given: np.ndarray
    class_mass: np.ndarray


@dataclass(frozen=True)
class GladParams:
    alpha: np.ndarray
    b: np.ndarray
    log_pi: np.ndarray


class GladSteps:
    """GLAD's pieces for the EM driver: a partial (L-BFGS) M-step on ``(alpha, b)``, the class prior fixed or
    re-estimated, the log-space E-step and the log-posterior as objective."""

    def __init__(
        self, data: GladData, prior: NormalPriors, log_pi: np.ndarray, learn: bool, max_iter: int, gtol: float
    ) -> None:
        self.data, self.prior, self.log_pi, self.learn = data, prior, log_pi, learn
        self.max_iter, self.gtol = max_iter, gtol
        self.work = GladWork(len(data.item), data.n_annotators + data.n_items)
        self._p_given = np.empty(len(data.item))

    def initial(self) -> GladParams:
        """The start: every ability at its prior mean, every ``b`` at its prior mean."""
        return GladParams(
            np.full(self.data.n_annotators, self.prior[0]),
            np.full(self.data.n_items, self.prior[2]),
            self.log_pi,
        )

    def statistics(self, post: np.ndarray) -> GladStats:
        """The posterior of each annotation's label (into a buffer the next M-step reads) and the class
        mass."""
        if post.flags.c_contiguous:
            p_given = np.take(post.reshape(-1), self.data.key_il, out=self._p_given, mode="clip")
        else:
            p_given = post[self.data.item, self.data.label]
        return GladStats(p_given, column_sums(post))

    def m_step(self, stats: GladStats, params: GladParams | None) -> GladParams:
        start = params if params is not None else self.initial()
        alpha, b = m_step(
            self.data, stats.p_given, start.alpha, start.b, self.prior, self.max_iter, self.gtol, self.work
        )
        log_pi = start.log_pi
        if self.learn:
            log_pi = np.log(np.clip(stats.class_mass / self.data.n_items, 1e-300, None))
        return GladParams(alpha, b, log_pi)

    def e_step(self, params: GladParams) -> EStep:
        return EStep(*e_step(self.data, params.alpha, params.b, params.log_pi, self.work))

    def objective(self, params: GladParams, e: EStep) -> float:
        """``sum_i log p(labels of i) + log N(alpha) + log N(b)``: the log-posterior generalised EM raises."""
        return float(e.log_z.sum()) + log_prior_density(params.alpha, params.b, self.prior)


class GLAD(IterativeAggregator):
    r"""GLAD (Generative model of Labels, Abilities and Difficulties), multi-class, fitted by EM.

    Parameters
    ----------
    class_prior : {"uniform", "learn"} or array of shape (K,), default "uniform"
        Prior over the true class: fixed uniform (the paper's default and crowd-kit's), re-estimated in every
        M-step as the mean posterior (``"learn"``), or fixed to the given probabilities (in class order).
    alpha_prior : (mean, sd), default (1.0, 1.0)
        Normal prior on each annotator's ability ``alpha[a]``.
    b_prior : (mean, sd), default (1.0, 1.0)
        Normal prior on ``b[i] = log beta[i]``, the log inverse difficulty of each item.
    max_iter : int, default 100
    tol : float, default 0.0
        Stop once an iteration changed no label and moved no posterior probability by ``tol`` or more (the
        meaning ``tol`` has in every iterative model; 0 turns this test off).
    objective_tol : float or None, default 1e-5
        Stop once an iteration raises the log-posterior by less than ``objective_tol`` per annotation
        (crowd-kit's rule; in the previous release this was ``tol``); None turns this test off.
    m_step_max_iter : int, default 10
        L-BFGS iterations per M-step (a partial M-step is enough for EM to increase the objective).
    m_step_tol : float, default 1e-4
        Gradient tolerance of the M-step (largest component of the projected gradient).
    random_state : int, Generator or None
        Unused (the fit is deterministic); accepted for a uniform interface.

    Attributes
    ----------
    labels_, proba_, consensus_
    abilities_ : Series
        ``alpha`` per annotator: P(correct) = sigmoid(alpha * beta), so random guessing is
        ``alpha * beta = -log(K - 1)`` (0 for two classes) and lower is adversarial.
    difficulties_ : Series
        ``1 / beta = exp(-b)`` per item (larger = harder); crowd-kit's ``betas_`` is ``-log`` of it.
    priors_ : Series
        Class prior used in the last E-step.
    n_iter_, converged_, log_likelihood_ (marginal, at the returned parameters), objective_ (log-posterior),
    history_ (DataFrame: iteration, log_likelihood, objective, max_delta, n_changed).

    Notes
    -----
    Generative model (Whitehill et al. 2009), with errors spread evenly over the other classes (the
    multi-class form of the original paper and of crowd-kit):

    .. math::

        t_i \sim \mathrm{Cat}(\pi),\quad
        P(l_n = l \mid t_{i_n} = k) = \begin{cases} \sigma(\alpha_{a_n}\beta_{i_n}) & l = k \\
        (1 - \sigma(\alpha_{a_n}\beta_{i_n})) / (K - 1) & l \neq k \end{cases},\quad
        \beta_i = e^{b_i},\ \alpha_a \sim N(1, 1),\ b_i \sim N(1, 1).

    E-step: ``post[i, k] ∝ pi[k] * prod_{n in i} P(l_n | k)``, summed in log space with two ``bincount``
    passes. M-step: with ``p[n] = post[i_n, l_n]`` and ``g[n] = p[n] - sigmoid(x[n])``, the expected complete
    log-posterior and its gradient are

    .. math::

        Q = \sum_n p_n \log\sigma(x_n) + (1 - p_n)\,(\log(1 - \sigma(x_n)) - \log(K-1))
            - \sum_a \tfrac12(\alpha_a - 1)^2 - \sum_i \tfrac12(b_i - 1)^2,

        \partial Q/\partial\alpha_a = \sum_{n \in a} g_n \beta_{i_n} - (\alpha_a - 1),\qquad
        \partial Q/\partial b_i = \sum_{n \in i} g_n \alpha_{a_n}\beta_i - (b_i - 1),

    maximised by a few L-BFGS iterations from the current point. Generalised EM never decreases the
    log-posterior ``sum_i log p(labels_i) + log p(alpha) + log p(b)`` (``history_["objective"]``). It starts
    at ``alpha = b = 1`` with an E-step; gold items, if given, are clamped after every E-step.

    References
    ----------
    J. Whitehill, P. Ruvolo, T. Wu, J. Bergsma and J. Movellan (2009). Whose vote should count more: optimal
    integration of labels from labelers of unknown expertise. Advances in Neural Information Processing
    Systems 22 (NIPS 2009), 2035-2043.

    Examples
    --------
    >>> import pandas as pd
    >>> from accord.models.glad import GLAD
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc"), "label": list("xxyyyy")})
    >>> GLAD().fit_predict(df).tolist()
    ['x', 'y']
    """

    name = "glad"
    model_name = "GLAD"

    def __init__(
        self,
        *,
        class_prior: Any = "uniform",
        alpha_prior: tuple[float, float] = (1.0, 1.0),
        b_prior: tuple[float, float] = (1.0, 1.0),
        max_iter: int = 100,
        tol: float = 0.0,
        objective_tol: float | None = 1e-5,
        m_step_max_iter: int = 10,
        m_step_tol: float = 1e-4,
        random_state: int | np.random.Generator | None = None,
    ):
        self.class_prior = class_prior
        self.alpha_prior = alpha_prior
        self.b_prior = b_prior
        self.max_iter = max_iter
        self.tol = tol
        self.objective_tol = objective_tol
        self.m_step_max_iter = m_step_max_iter
        self.m_step_tol = m_step_tol
        self.random_state = random_state

    # ------------------------------------------------------------------ checks
    def _check(self, ann: Annotations) -> tuple[float, float, float, float]:
        check_positive_int("max_iter", self.max_iter)
        check_positive_int("m_step_max_iter", self.m_step_max_iter)
        check_nonneg_float("tol", self.tol)
        check_nonneg_float("m_step_tol", self.m_step_tol)
        if ann.n_classes < 2:
            raise InvalidParameterError(
                f"GLAD needs at least 2 classes; the data have {ann.n_classes} "
                f"({list(ann.classes)}). Pass classes=... when building the "
                "Annotations"
            )
        return (*_normal_prior("alpha_prior", self.alpha_prior), *_normal_prior("b_prior", self.b_prior))

    # ------------------------------------------------------------------ fit
    def _fit(
        self, annotations: Annotations, rng: np.random.Generator, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> Consensus:
        prior = self._check(annotations)
        data = GladData.of(annotations)
        log_pi, learn = class_prior_setting(self.class_prior, annotations)
        steps = GladSteps(data, prior, log_pi, learn, self.m_step_max_iter, float(self.m_step_tol))
        start = steps.initial()
        first = steps.e_step(start)
        post = clamp(first.post, *(gold if gold is not None else (None, None)))
        objective_tol = (
            None if self.objective_tol is None else check_nonneg_float("objective_tol", self.objective_tol)
        )
        result = run_em(
            steps,
            post,
            max_iter=self.max_iter,
            tol=self.tol,
            gold=gold,
            params=start,
            objective_tol=objective_tol,
            objective_scale=float(max(len(data.item), 1)),
            start_objective=steps.objective(start, first),
            model=self.model_name,
        )
        return self._finish(annotations, data, result)

    def _finish(self, ann: Annotations, data: GladData, result: EMResult[GladParams]) -> Consensus:
        alpha, b, pi = result.params.alpha, result.params.b, np.exp(result.params.log_pi)
        quality = expected_accuracy(data, alpha, b)
        self.abilities_ = pd.Series(alpha, index=ann.annotators, name="ability")
        self.difficulties_ = pd.Series(np.exp(-b), index=ann.items, name="difficulty")
        self.priors_ = pd.Series(pi, index=ann.classes, name="prior")
        self._store_run(result)
        confusions = one_coin_confusions(quality, ann.n_classes)
        self._store_confusions(confusions, ann)
        return Consensus(
            ann,
            result.post,
            self.model_name,
            confusions=confusions,
            priors=pi,
            history=self.history_,
            params=self.get_params(),
            annotator_scores={"quality": quality, "ability": alpha},
            item_scores={"difficulty": np.exp(-b)},
        )


def _normal_prior(name: str, value: Any) -> tuple[float, float]:
    try:
        mean, sd = (float(v) for v in value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a (mean, sd) pair of numbers, got {value!r}") from None
    if not (np.isfinite(mean) and np.isfinite(sd) and sd > 0):
        raise InvalidParameterError(f"{name} needs a finite mean and a finite sd > 0, got {value!r}")
    return mean, sd
