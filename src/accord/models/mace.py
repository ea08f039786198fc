"""MACE: every annotation is either the truth (the annotator knows) or spam from the annotator's own strategy.

The model is a Dawid-Skene model whose confusion matrix is ``th * I + (1 - th) * xi``, so the E-step is the
sparse product of the shared kernel (:mod:`accord._kernel.em`) with an ``(annotators * K) x K`` log table, and
the expected counts of the M-step reduce to one gather of ``post[item, label]`` and one ``bincount``. Both
fitting schemes of the reference implementation are here: EM with additive smoothing, and variational Bayes
(its default).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from .._kernel.driver import EMResult, EStep, run_em_restarts
from .._kernel.em import AnnotationMatrix, DSKernel, clamp
from .._kernel.priors import class_prior_setting
from .._kernel.softmax import column_sums, log_normalize
from .._utils import check_nonneg_float, check_positive_int
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import InvalidParameterError
from ._base import IterativeAggregator, renamed_n_iter

__all__ = ["MACE"]

Method = Literal["vb", "em"]


@dataclass
class MaceParams:
    """Log-probabilities of spamming and knowing (``A``) and of each annotator's spam strategy (``A x K``).

    In variational Bayes they are the sub-normalised ``exp(E[log .])`` values; they are used as they are.
    """

    log_spam: np.ndarray
    log_know: np.ndarray
    log_xi: np.ndarray
    # variational Bayes only: the posterior Beta (know, spam) and Dirichlet (xi) parameters behind the logs
    posterior: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def log_table(self) -> np.ndarray:
        """``T[(a, l), k] = log(spam[a] xi[a, l] + know[a] 1[l == k])``, rows ordered like the columns of the
        design matrix (``annotator * K + label``), so that ``M @ T`` is the E-step sum (``(A * K) x K``)."""
        k = self.log_xi.shape[1]
        spam_part = (self.log_spam[:, None] + self.log_xi).ravel()
        table = np.repeat(spam_part[:, None], k, axis=1)
        rows = np.arange(len(spam_part))
        table[rows, rows % k] = np.logaddexp(spam_part, np.repeat(self.log_know, k))
        return table

    def competence(self) -> np.ndarray:
        """``P(knows) / (P(knows) + P(spams))``: the reference tool's competence (normalised under VB)."""
        return np.exp(self.log_know - np.logaddexp(self.log_know, self.log_spam))


@dataclass(frozen=True)
class MaceData:
    """Annotation arrays and the sparse design matrix, built once per fit."""

    matrix: AnnotationMatrix
    key_il: np.ndarray
    key_al: np.ndarray
    n_per_label: np.ndarray
    key_li: np.ndarray | None = None  # label * n_items + item: the same gather from a column-major posterior

    @classmethod
    def of(cls, ann: Annotations) -> MaceData:
        k = ann.n_classes
        label = ann.label.astype(np.int64)
        item = ann.item.astype(np.int64)
        key_al = ann.annotator.astype(np.int64) * k + label
        n_al = np.bincount(key_al, minlength=ann.n_annotators * k).astype(np.float64).reshape(-1, k)
        return cls(AnnotationMatrix(ann), item * k + label, key_al, n_al, label * ann.n_items + item)

    @property
    def n_per_annotator(self) -> np.ndarray:
        return self.n_per_label.sum(axis=1)


def e_step(data: MaceData, params: MaceParams, log_prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior ``post[i, k]`` and per-item log evidence; ``P(l | k) = spam * xi[l] + know * 1[l = k]``."""
    log_u = np.asarray(data.matrix.M @ params.log_table())
    log_u += log_prior
    return log_normalize(log_u)


def expected_counts(data: MaceData, params: MaceParams, post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected number of "knows" per annotator (A) and of spam labels per annotator and label (A x K).

    An annotation can be a "knows" only if the truth is its own label, so
    ``P(knows | data)[n] = post[i, l] * know[a] / (spam[a] * xi[a, l] + know[a])`` and
    ``P(spam | data)[n] = 1 - P(knows | data)[n]``. Both depend on the annotation only through its
    (annotator, label) and ``post[i, l]``, so one gather and one ``bincount`` give them:
    ``knows[a, l] = know[a] / f[a, l] * sum_{n in (a, l)} post[i_n, l]`` and
    ``spam[a, l] = N[a, l] - knows[a, l]``.
    """
    return expected_counts_from_mass(data, params, label_mass(data, post))


def label_mass(data: MaceData, post: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
    """``mass[a, l] = sum_{n: a_n = a, l_n = l} post[i_n, l]``: the posterior of the label given, summed.

    The gather reads the posterior in its own layout (row- or column-major, no copy) into ``scratch`` (one
    float per annotation) when given."""
    a, k = data.n_per_label.shape
    if post.flags.f_contiguous and not post.flags.c_contiguous and data.key_li is not None:
        source, index = post.T.reshape(-1), data.key_li
    else:
        source, index = post.reshape(-1) if post.flags.c_contiguous else post.ravel(order="C"), data.key_il
    flat = np.take(source, index, out=scratch, mode="clip") if scratch is not None else source[index]
    return np.bincount(data.key_al, weights=flat, minlength=a * k).reshape(a, k)


def expected_counts_from_mass(
    data: MaceData, params: MaceParams, mass: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`expected_counts` from the summed label mass: ``knows[a, l] = know[a] / f[a, l] mass[a, l]``."""
    log_f_diag = np.logaddexp(params.log_spam[:, None] + params.log_xi, params.log_know[:, None])  # A x K
    ratio = np.exp(params.log_know[:, None] - log_f_diag)
    knows = ratio * mass
    return knows.sum(axis=1), data.n_per_label - knows


def em_m_step(e_know: np.ndarray, spam: np.ndarray, n: np.ndarray, smoothing: float) -> MaceParams:
    """``know = (E_know + s) / (N_a + 2s)``; ``xi[a, l] = (S[a, l] + s) / (sum_l S[a, l] + K s)``."""
    k = spam.shape[1]
    with np.errstate(divide="ignore"):
        log_den = np.log(n + 2 * smoothing)
        log_know = np.log(e_know + smoothing) - log_den
        log_spam = np.log(np.clip(n - e_know, 0.0, None) + smoothing) - log_den
        log_xi = np.log(spam + smoothing) - np.log(spam.sum(axis=1, keepdims=True) + k * smoothing)
    return _finite(MaceParams(log_spam, log_know, log_xi), k)


def vb_m_step(
    e_know: np.ndarray, spam: np.ndarray, n: np.ndarray, a_spam: float, b_know: float, strategy_prior: float
) -> MaceParams:
    """Mean-field update: ``log know = digamma(E_know + b) - digamma(N_a + a + b)``, and likewise for spam
    and for ``xi`` under a symmetric Dirichlet(``strategy_prior``); left sub-normalised, as the reference."""
    p_know, p_spam, p_xi = e_know + b_know, np.clip(n - e_know, 0.0, None) + a_spam, spam + strategy_prior
    log_den = digamma(p_know + p_spam)
    log_xi = digamma(p_xi) - digamma(p_xi.sum(axis=1, keepdims=True))
    return MaceParams(digamma(p_spam) - log_den, digamma(p_know) - log_den, log_xi, (p_know, p_spam, p_xi))


def _ln_beta(v: np.ndarray) -> np.ndarray:
    """Log multivariate Beta function over the last axis: ``sum gammaln(v) - gammaln(sum v)``."""
    return gammaln(v).sum(axis=-1) - gammaln(v.sum(axis=-1))


def vb_divergence(params: MaceParams, a_spam: float, b_know: float, strategy_prior: float) -> float:
    """``KL(q || prior)`` of the variational posteriors: Beta over (know, spam) and Dirichlet over ``xi``,
    per annotator, each in the closed form ``lnB(prior) - lnB(q) + sum (q - prior) E_q[log p]``."""
    assert params.posterior is not None
    p_know, p_spam, p_xi = params.posterior
    pair = np.column_stack([p_know, p_spam])
    prior_pair = np.array([b_know, a_spam])
    logs = np.column_stack([params.log_know, params.log_spam])
    kl_pair = (_ln_beta(prior_pair) - _ln_beta(pair)).sum() + ((pair - prior_pair) * logs).sum()
    prior_xi = np.full(p_xi.shape[1], strategy_prior)
    kl_xi = (_ln_beta(prior_xi) - _ln_beta(p_xi)).sum() + ((p_xi - strategy_prior) * params.log_xi).sum()
    return float(kl_pair + kl_xi)


def _finite(params: MaceParams, k: int) -> MaceParams:
    """EM without smoothing: an annotator with no label gets know = spam = 1/2 and uniform ``xi``."""
    for name, fill in (("log_spam", np.log(0.5)), ("log_know", np.log(0.5)), ("log_xi", -np.log(k))):
        value = getattr(params, name)
        value[np.isnan(value)] = fill
    return params


def random_params(rng: np.random.Generator, a: int, k: int, noise: float) -> MaceParams:
    """Reference initialisation: every entry ``1 + noise * U(0, 1)``, then normalised (in code order)."""
    return params_from_uniforms(rng.random((a, 2)), rng.random((a, k)), noise)


def params_from_uniforms(u_sk: np.ndarray, u_xi: np.ndarray, noise: float) -> MaceParams:
    """``1 + noise * u`` for (spam, know) and for ``xi``, each row normalised."""
    sk = 1.0 + noise * u_sk
    xi = 1.0 + noise * u_xi
    log_sk = np.log(sk / sk.sum(axis=1, keepdims=True))
    return MaceParams(log_sk[:, 0], log_sk[:, 1], np.log(xi / xi.sum(axis=1, keepdims=True)))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on a ``uint64`` array (wrapping arithmetic): a stable, well-spread hash."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def annotator_keys(data: MaceData) -> np.ndarray:
    """A 64-bit key per annotator made only of what the annotations say, never of its id or code: its number
    of labels per class ``N[a, l]`` and, per class, how many other votes on its items agree with its labels.

    Renaming the ids or shuffling the rows gives every annotator the same key; annotators with the same key
    are indistinguishable by these counts and get the same starting values.
    """
    a, k = data.n_per_label.shape
    votes = np.bincount(data.key_il, minlength=data.matrix.n_items * k)
    agree = np.bincount(data.key_al, weights=votes[data.key_il] - 1.0, minlength=a * k).reshape(a, k)
    columns = np.hstack([data.n_per_label, agree]).round().astype(np.int64).view(np.uint64)
    key = np.zeros(a, dtype=np.uint64)
    for column in columns.T:  # 2 K columns, not one per annotator
        key = _mix(key ^ column)
    return key


def restart_seeds(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` 63-bit seeds (``uint64``), one per start, drawn from ``rng`` before anything else."""
    return rng.integers(0, 2**63, size=n, dtype=np.int64).astype(np.uint64)


def keyed_params(keys: np.ndarray, seed: np.uint64, k: int, noise: float) -> MaceParams:
    """:func:`random_params` with annotator ``a``'s uniforms a hash of ``(keys[a], seed, entry)``: the same
    draw for the same annotator and seed whatever the order of the annotators."""
    start = _mix(keys ^ _mix(np.full(1, seed, dtype=np.uint64)))  # per annotator and seed
    bits = _mix(start[:, None] ^ np.arange(k + 2, dtype=np.uint64)[None, :])  # per entry
    u = (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53  # 53 random bits in [0, 1)
    return params_from_uniforms(u[:, :2], u[:, 2:], noise)


def log_map_penalty(params: MaceParams, smoothing: float) -> float:
    """Log density (up to a constant) of the Beta(s+1, s+1) and Dirichlet(s+1) priors that EM with additive
    smoothing ``s`` maximises against: EM never decreases ``log-likelihood + this``."""
    return smoothing * float(params.log_spam.sum() + params.log_know.sum() + params.log_xi.sum())


@dataclass(frozen=True)
class MaceStats:
    """What MACE's M-step reads: ``mass[a, l] = sum_{n in (a, l)} post[i_n, l]`` and the class mass."""

    mass: np.ndarray
    class_mass: np.ndarray


MaceState = tuple[MaceParams, np.ndarray]  # (parameters, log class prior)


class MaceSteps:
    """MACE's pieces for the EM driver. The expected "knows" counts need the parameters of the last E-step
    (the M-step's ``params``), so the statistics are the posterior mass of each (annotator, label)."""

    def __init__(self, data: MaceData, model: MACE, smoothing: float, learn: bool) -> None:
        self.data, self.model, self.smoothing, self.learn = data, model, smoothing, learn
        self._kernel: DSKernel | None = None
        self._gathered = np.empty(len(data.key_al))

    @property
    def kernel(self) -> DSKernel:
        """The shared E-step kernel and its buffers (made on first use)."""
        if self._kernel is None:
            self._kernel = DSKernel(self.data.matrix)
        return self._kernel

    def statistics(self, post: np.ndarray) -> MaceStats:
        return MaceStats(label_mass(self.data, post, self._gathered), column_sums(post))

    def m_step(self, stats: MaceStats, params: MaceState | None) -> MaceState:
        assert params is not None  # MACE always starts from parameters
        old, log_prior = params
        e_know, spam = expected_counts_from_mass(self.data, old, stats.mass)
        m = self.model
        if m.method == "em":
            new = em_m_step(e_know, spam, self.data.n_per_annotator, self.smoothing)
        else:
            new = vb_m_step(
                e_know,
                spam,
                self.data.n_per_annotator,
                float(m.alpha),
                float(m.beta),
                float(m.strategy_prior),
            )
        if self.learn:
            log_prior = np.log(np.clip(stats.class_mass / self.data.matrix.n_items, 1e-300, None))
        return new, log_prior

    def e_step(self, params: MaceState) -> EStep:
        """:func:`e_step` in the shared kernel's buffers (with the labels)."""
        state, log_prior = params
        return EStep(*self.kernel.e_step_table(log_prior, state.log_table()))

    def objective(self, params: MaceState, e: EStep) -> float:
        """EM: log-likelihood plus the log prior its smoothing maximises; VB: the evidence lower bound
        ``sum_i log Z_i - KL(q(know, spam) || Beta) - KL(q(xi) || Dirichlet)``."""
        m = self.model
        if m.method == "em":
            return float(e.log_z.sum()) + log_map_penalty(params[0], self.smoothing)
        kl = vb_divergence(params[0], float(m.alpha), float(m.beta), float(m.strategy_prior))
        return float(e.log_z.sum()) - kl


class MACE(IterativeAggregator):
    r"""MACE (Multi-Annotator Competence Estimation): annotators who know, and annotators who spam.

    Parameters
    ----------
    method : {"vb", "em"}, default "vb"
        Variational Bayes with Beta and Dirichlet priors (the reference default), or EM with additive
        smoothing.
    n_restarts : int, default 10
        Random starts; the one with the highest log marginal likelihood is kept.
    max_iter : int, default 50
        EM / VB iterations per start (the reference runs a fixed number). ``n_iter`` is its deprecated
        spelling.
    tol : float, default 0.0
        Stop a start early once an iteration changed no label and moved no posterior by ``tol`` or more (0:
        always run ``max_iter``, as the reference does).
    smoothing : float, optional
        EM only: pseudo-count added before normalising; default ``0.01 / K`` (the reference's).
    alpha, beta : float, default 0.5
        VB only: Beta prior parameters paired with the spam and the "knows" counts.
    strategy_prior : float, default 10.0
        VB only: symmetric Dirichlet prior on each annotator's spam strategy ``xi``.
    default_noise : float, default 0.5
        Initial values are ``1 + default_noise * U(0, 1)``, normalised.
    class_prior : {"uniform", "learn"} or array of shape (K,), default "uniform"
        Prior over the true class: fixed uniform (the reference), re-estimated in every M-step as the mean
        posterior (``"learn"``, as in Dawid-Skene), or fixed to the given probabilities (in class order).
    random_state : int, Generator or None
        One seed per start is drawn from it; an annotator's starting values are a hash of that seed and of
        the annotator's label counts (never of its id or of the row order), so renaming the ids or
        shuffling the rows gives the same starts and the same result.

    Attributes
    ----------
    labels_, proba_, consensus_
    competence_ : Series
        ``P(knows)`` per annotator (under VB, ``know / (know + spam)``); also the annotators' quality score.
    spamming_ : DataFrame
        Columns ``spam`` and ``know``: the fitted probabilities (sub-normalised under VB, as in the
        reference).
    strategies_ : DataFrame
        Annotators x classes: each annotator's spam distribution ``xi`` (rows normalised).
    log_likelihood_ : float
        Log marginal likelihood of the kept start; ``restart_log_likelihoods_`` lists every start's.
    n_iter_, converged_ (the kept start's last posterior change was at most ``max(tol, 1e-4)``; MACE runs a
    fixed schedule, so no ConvergenceWarning), history_ (DataFrame of the kept start: iteration, objective,
    log_likelihood, max_delta, n_changed; the objective is the penalised log-likelihood under EM and the
    evidence lower bound under VB, and never decreases), snapshots_, objective_.

    Notes
    -----
    Generative model (Hovy et al. 2013), with a fixed uniform prior over the truth:

    .. math::

        t_i \sim \mathrm{Uniform}(K),\quad S_n \sim \mathrm{Bernoulli}(1 - \theta_{a_n}),\quad
        l_n = t_{i_n} \text{ if } S_n = 0,\quad l_n \sim \mathrm{Cat}(\xi_{a_n}) \text{ if } S_n = 1,

    so ``P(l | t = k) = (1 - th[a]) xi[a, l] + th[a] 1[l = k]``. E-step: the Dawid-Skene posterior with that
    confusion matrix, in log space. Expected counts: ``P(knows)[n] = post[i, l] th / f[a, l]`` with
    ``f[a, l] = (1 - th) xi[a, l] + th``, and ``P(spam)[n] = 1 - P(knows)[n]``. EM M-step:
    ``th = (E_know + s) / (N_a + 2 s)``, ``xi[a, l] = (S[a, l] + s) / (S[a] + K s)``, which never decreases
    the log-likelihood plus ``s`` times the log of every parameter (``history_["objective"]``). VB M-step:
    ``know = exp(psi(E_know + beta) - psi(N_a + alpha + beta))``, ``spam`` likewise with ``alpha``,
    ``xi = exp(psi(S + 10) - psi(S_a + 10 K))``, used unnormalised. Gold items are clamped after every E-step.

    References
    ----------
    D. Hovy, T. Berg-Kirkpatrick, A. Vaswani and E. Hovy (2013). Learning whom to trust with MACE. Proceedings
    of NAACL-HLT 2013, 1120-1130.

    Examples
    --------
    >>> import pandas as pd
    >>> from accord.models.mace import MACE
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc"), "label": list("xxyyyy")})
    >>> MACE(random_state=0).fit_predict(df).tolist()
    ['x', 'y']
    """

    name = "mace"
    model_name = "MACE"

    def __init__(
        self,
        *,
        method: Method = "vb",
        n_restarts: int = 10,
        max_iter: int = 50,
        tol: float = 0.0,
        smoothing: float | None = None,
        alpha: float = 0.5,
        beta: float = 0.5,
        strategy_prior: float = 10.0,
        default_noise: float = 0.5,
        class_prior: Any = "uniform",
        random_state: int | np.random.Generator | None = None,
        n_iter: int | None = None,
    ) -> None:
        self.method = method
        self.n_restarts = n_restarts
        self.max_iter = renamed_n_iter(n_iter, max_iter, "MACE")
        self.tol = tol
        self.smoothing = smoothing
        self.alpha = alpha
        self.beta = beta
        self.strategy_prior = strategy_prior
        self.default_noise = default_noise
        self.class_prior = class_prior
        self.random_state = random_state

    def _check(self, ann: Annotations) -> float:
        if self.method not in ("vb", "em"):
            raise InvalidParameterError(f"method must be 'vb' or 'em', got {self.method!r}")
        check_positive_int("n_restarts", self.n_restarts)
        check_positive_int("max_iter", self.max_iter)
        for name in ("tol", "default_noise"):
            check_nonneg_float(name, getattr(self, name))
        for name in ("alpha", "beta", "strategy_prior"):
            if check_nonneg_float(name, getattr(self, name)) <= 0:
                raise InvalidParameterError(f"{name} must be > 0 (a Beta/Dirichlet prior parameter)")
        if ann.n_classes < 2:
            raise InvalidParameterError(
                f"MACE needs at least 2 classes; the data have {ann.n_classes} "
                f"({list(ann.classes)}). Pass classes=... when building the "
                "Annotations"
            )
        s = 0.01 / ann.n_classes if self.smoothing is None else self.smoothing
        return check_nonneg_float("smoothing", s)

    def _starts(
        self,
        data: MaceData,
        steps: MaceSteps,
        log_prior: np.ndarray,
        rng: np.random.Generator,
        gold: tuple[np.ndarray, np.ndarray] | None,
    ) -> Iterator[tuple[np.ndarray, MaceState]]:
        """Each restart: one seed drawn from ``rng``, hashed with each annotator's counts into its start."""
        k = data.n_per_label.shape[1]
        keys = annotator_keys(data)
        for seed in restart_seeds(rng, self.n_restarts):
            state = (keyed_params(keys, seed, k, float(self.default_noise)), log_prior)
            post = clamp(steps.e_step(state).post, *(gold if gold is not None else (None, None)))
            yield post, state

    def _fit(
        self, annotations: Annotations, rng: np.random.Generator, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> Consensus:
        smoothing = self._check(annotations)
        data = MaceData.of(annotations)
        log_prior, _ = class_prior_setting(self.class_prior, annotations)
        learn = isinstance(self.class_prior, str) and self.class_prior == "learn"
        steps = MaceSteps(data, self, smoothing, learn)
        result = run_em_restarts(
            steps,
            self._starts(data, steps, log_prior, rng, gold),
            key=lambda run: float(run.log_z.sum()),  # the reference keeps the highest marginal likelihood
            max_iter=self.max_iter,
            tol=float(self.tol),
            gold=gold,
            history_bytes=0,
            warn=False,
            model=self.model_name,
        )
        self.restart_log_likelihoods_ = np.array(result.restarts)
        return self._finish(annotations, result)

    def _finish(self, ann: Annotations, result: EMResult[MaceState]) -> Consensus:
        params, log_prior = result.params
        competence = params.competence()
        xi = np.exp(params.log_xi)
        xi = xi / xi.sum(axis=1, keepdims=True)
        k = ann.n_classes
        confusions = (1.0 - competence)[:, None, None] * xi[:, None, :] + competence[:, None, None] * np.eye(
            k
        )
        self.competence_ = pd.Series(competence, index=ann.annotators, name="competence")
        self.spamming_ = pd.DataFrame(
            {"spam": np.exp(params.log_spam), "know": np.exp(params.log_know)}, index=ann.annotators
        )
        self.strategies_ = pd.DataFrame(xi, index=ann.annotators, columns=ann.classes)
        self._store_confusions(confusions, ann)
        self.priors_ = pd.Series(np.exp(log_prior), index=ann.classes, name="prior")
        self._store_run(result)
        last = float(result.history["max_delta"].iloc[-1]) if len(result.history) else 0.0
        self.converged_ = bool(last <= max(float(self.tol), 1e-4))
        return Consensus(
            ann,
            result.post,
            self.model_name,
            confusions=confusions,
            priors=np.exp(log_prior),
            history=self.history_,
            params=self.get_params(),
            annotator_scores={"quality": competence, "competence": competence},
        )
