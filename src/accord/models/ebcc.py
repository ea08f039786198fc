"""EBCC: Bayesian classifier combination with latent sub-types of every class (correlated annotators).

Each true class has ``M`` sub-types and every annotator one confusion row per (class, sub-type), so annotators
who err together on one kind of item are modelled together. Fitted by mean-field variational Bayes on the
shared EM driver, from several random starts, keeping the highest evidence lower bound. Both variational steps
are sparse products of the annotation design matrix (``items x (annotators * K)``) with ``K * M`` columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from .._kernel.driver import HISTORY_BYTES, EMResult, EStep, run_em_restarts
from .._kernel.em import AnnotationMatrix, sparse_product
from .._kernel.lbfgs import vdot
from .._kernel.softmax import log_normalize
from .._kernel.votes import vote_shares
from .._utils import check_nonneg_float, check_positive_int
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import InvalidParameterError
from ._base import IterativeAggregator

__all__ = ["EBCC", "EBCCState", "EBCCStats", "EBCCSteps", "subtype_start"]


def _ln_beta(v: np.ndarray) -> np.ndarray:
    """Log multivariate Beta function over the last axis."""
    return gammaln(v).sum(axis=-1) - gammaln(v.sum(axis=-1))


def _elog_dirichlet(v: np.ndarray) -> np.ndarray:
    """``E[log p]`` under ``Dirichlet(v)`` over the last axis."""
    return digamma(v) - digamma(v.sum(axis=-1, keepdims=True))


@dataclass(frozen=True)
class EBCCStats:
    """Sufficient statistics: sub-type mass ``sum_i zeta[i,k,m]`` (K x M) and expected counts
    ``counts[a,k,m,l] = sum_{n: a_n=a, l_n=l} zeta[i_n,k,m]``. Both add up over disjoint sets of items."""

    subtype_mass: np.ndarray
    counts: np.ndarray

    def __add__(self, other: EBCCStats) -> EBCCStats:
        return EBCCStats(self.subtype_mass + other.subtype_mass, self.counts + other.counts)


@dataclass
class EBCCState:
    """Posterior Dirichlet parameters (``eta`` K x M, ``nu`` K, ``mu`` A x K x M x K) and their expected
    logs."""

    eta: np.ndarray
    nu: np.ndarray
    mu: np.ndarray
    elog_pi: np.ndarray
    elog_tau: np.ndarray
    elog_v: np.ndarray

    @property
    def subtype_weights(self) -> np.ndarray:
        """Posterior-mean sub-type weights of every class ``E[pi[k, m]]`` (rows sum to 1)."""
        return self.eta / self.eta.sum(axis=1, keepdims=True)

    @property
    def confusions(self) -> np.ndarray:
        """Each annotator's confusion matrix, sub-types mixed in: ``sum_m E[pi[k,m]] E[v[a,k,m,:]]``."""
        v = self.mu / self.mu.sum(axis=-1, keepdims=True)
        return np.einsum("km,akml->akl", self.subtype_weights, v)

    @property
    def priors(self) -> np.ndarray:
        return self.nu / self.nu.sum()


class EBCCSteps:
    """EBCC's pieces for the EM driver. The driver's posterior is the class posterior ``z[i,k] = sum_m
    zeta[i,k,m]``; the split over sub-types given the class, ``cond[i,k,m]``, is kept here from the last
    E-step (or the start), so that a clamped gold item keeps its sub-type split at its known class.

    The ``items x K x M`` arrays of the statistics and of the split over sub-types live in buffers made once
    per fit; the constant part of the bound (the priors' log Beta functions) is computed once.

    The E-step gives each gold item its log joint at the known class itself (``gold_log_joint``: the
    driver does not add it again)."""

    gold_log_joint = True

    def __init__(
        self,
        matrix: AnnotationMatrix,
        n_subtypes: int,
        a_pi: float,
        beta: np.ndarray,
        alpha: np.ndarray,
        gold: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.matrix, self.n_subtypes, self.a_pi, self.beta, self.alpha = matrix, n_subtypes, a_pi, beta, alpha
        self.gold = gold
        i, k, m = matrix.n_items, matrix.n_classes, n_subtypes
        self.cond = np.full((i, k, m), 1.0 / m)
        self._zeta = np.empty((i, k, m))
        self._by_subtype = np.empty((m, k * max(1, min(SPLIT_ROWS // k, i))))
        self._log_zeta = np.empty((i, k * m))
        self._csc = matrix.M.T  # the CSC view the statistics read, made once
        eta0 = np.full((k, m), a_pi / m)
        # sum of the priors' lnB over every Dirichlet of the bound (the KL terms' constant part)
        self._ln_beta0 = float(
            _ln_beta(eta0).sum() + _ln_beta(alpha) + matrix.n_annotators * m * _ln_beta(beta).sum()
        )

    def start(self, cond: np.ndarray) -> None:
        """Set the sub-type split the next run starts from (items x K x M, summing to 1 over M)."""
        np.copyto(self.cond, cond)

    def statistics(self, post: np.ndarray) -> EBCCStats:
        zeta = np.multiply(post[:, :, None], self.cond, out=self._zeta)
        i, k, m = zeta.shape
        a = self.matrix.n_annotators
        flat = np.asarray(self._csc @ zeta.reshape(i, k * m))  # (a, l) x (k, m)
        counts = flat.reshape(a, k, k, m).transpose(0, 2, 3, 1)  # a, k, m, l
        return EBCCStats(zeta.sum(axis=0), counts)

    def m_step(self, stats: EBCCStats, params: EBCCState | None) -> EBCCState:
        eta = self.a_pi / self.n_subtypes + stats.subtype_mass
        nu = self.alpha + stats.subtype_mass.sum(axis=1)
        mu = self.beta[None, :, None, :] + stats.counts
        return EBCCState(eta, nu, mu, _elog_dirichlet(eta), _elog_dirichlet(nu), _elog_dirichlet(mu))

    def log_zeta(self, params: EBCCState) -> np.ndarray:
        """``log zeta[i,k,m]`` up to each item's normaliser (items x K x M, in a buffer the next call
        writes again)."""
        out = self._evidence(params)
        out += self._offset(params)[None, :, :]
        return out

    def _evidence(self, params: EBCCState) -> np.ndarray:
        """The annotations' part of ``log zeta``: ``sum_{a in A(i)} E log v[a, k, m, y_ia]`` (items x K x M,
        in the buffer of :meth:`log_zeta`)."""
        a, k, m, _ = params.elog_v.shape
        table = np.ascontiguousarray(params.elog_v.transpose(0, 3, 1, 2)).reshape(a * k, k * m)
        return sparse_product("csr", self.matrix.M, table, self._log_zeta).reshape(-1, k, m)

    @staticmethod
    def _offset(params: EBCCState) -> np.ndarray:
        """The items' common part of ``log zeta``: ``E log pi[k, m] + E log tau[k]`` (K x M)."""
        return params.elog_pi + params.elog_tau[:, None]

    def e_step(self, params: EBCCState) -> EStep:
        # the common part is added inside the split, block by block (the same sums as log_zeta's)
        log_zk = _split_subtypes(self._evidence(params), self.cond, self._by_subtype, self._offset(params))
        post, log_z = log_normalize(log_zk)
        if self.gold is not None and len(self.gold[0]):
            log_z[self.gold[0]] = log_zk[self.gold[0], self.gold[1]]
        return EStep(post, log_z)

    def objective(self, params: EBCCState, e: EStep) -> float:
        """Evidence lower bound: ``sum_i log Z_i`` minus the KL divergences of the three Dirichlets, each
        ``lnB(prior) - lnB(posterior) + sum (posterior - prior) E log p`` (the priors' part precomputed)."""
        kl = self._ln_beta0
        kl -= float(_ln_beta(params.eta).sum() + _ln_beta(params.nu) + _ln_beta(params.mu).sum())
        kl += vdot((params.eta - self.a_pi / self.n_subtypes).ravel(), params.elog_pi.ravel())
        kl += vdot(params.nu - self.alpha, params.elog_tau)
        kl += vdot((params.mu - self.beta[None, :, None, :]).ravel(), params.elog_v.ravel())
        return float(e.log_z.sum() - kl)


# rows of (item, class) that _split_subtypes transposes at a time: a block of M x rows fits in the L2 cache,
# where the whole-array transposes ran at memory speed (2x slower at 10^6 annotations)
SPLIT_ROWS = 4096


def _split_subtypes(
    log_zeta: np.ndarray, cond: np.ndarray, scratch: np.ndarray, offset: np.ndarray | None = None
) -> np.ndarray:
    """Softmax over the last axis (sub-types) of ``log_zeta + offset`` (items x K x M; ``offset`` K x M,
    or none) into ``cond``; returns its log normaliser (items x K). Computed sub-type-major in ``scratch``
    (M x rows, ``rows`` a multiple of K), one block of (item, class) rows at a time: NumPy's passes over a
    short last axis are several times slower than over whole contiguous rows, and a block stays in cache.
    Every element goes through the same operations in the same order whatever the block size."""
    i, k, m = log_zeta.shape
    rows, block = log_zeta.reshape(i * k, m), scratch.shape[1]
    out_cond, total = cond.reshape(i * k, m), np.empty(i * k)
    tile = None if offset is None else np.tile(offset.T, (1, block // k))  # tile[:, r] = offset[r % K]
    for lo in range(0, i * k, block):
        hi = min(lo + block, i * k)
        t = scratch[:, : hi - lo]
        if tile is None:
            np.copyto(t, rows[lo:hi].T)
        else:
            np.add(rows[lo:hi].T, tile[:, : hi - lo], out=t)
        top = t.max(axis=0)
        t -= top
        np.exp(t, out=t)
        part = np.sum(t, axis=0, out=total[lo:hi])
        t /= part
        np.copyto(out_cond[lo:hi], t.T)
        np.log(part, out=part)
        part += top
    return total.reshape(i, k)


def subtype_start(annotations: Annotations, n_subtypes: int, rng: np.random.Generator) -> np.ndarray:
    """A random sub-type split ``cond[i,k,m] = r[i,m]``, ``r[i] ~ Dirichlet(1, ..., 1)``, the same for every
    class. The draws follow the items' ids in sorted (text) order, so shuffling the rows of the data, or
    renaming annotators or classes, gives the same start."""
    n = annotations.n_items
    order = np.argsort(np.asarray(annotations.items.astype(str)), kind="stable")
    r = np.empty((n, n_subtypes))
    r[order] = rng.dirichlet(np.ones(n_subtypes), size=n)
    return np.broadcast_to(r[:, None, :], (n, annotations.n_classes, n_subtypes))


class EBCC(IterativeAggregator):
    r"""Enhanced Bayesian classifier combination (EBCC): annotator correlation through class sub-types.

    Every true class ``k`` has ``n_subtypes`` latent sub-types; every annotator has one confusion row per
    (class, sub-type). Annotators who make the same mistakes on the same kind of item share a sub-type, which
    independent-annotator models (Dawid-Skene, IBCC) cannot express. Strong on data with many annotators per
    item and on correlated crowds; a Dirichlet prior keeps sparse annotators near "better than chance".

    Parameters
    ----------
    n_subtypes : int, default 10
        Sub-types per class (``M``).
    a_pi : float, default 0.1
        Total Dirichlet pseudo-count of every class's sub-type weights (``a_pi / M`` per sub-type).
    a_v, b_v : float, default 4.0 and 1.0
        Dirichlet prior of every confusion row: ``a_v`` on the diagonal, ``b_v`` elsewhere.
    alpha : float or None, default None
        Symmetric Dirichlet pseudo-count of the class proportions; None uses the column sums of the vote
        shares (the empirical prior of the reference).
    n_restarts : int, default 5
        Random starts; the run with the highest evidence lower bound is kept.
    max_iter : int, default 500
    tol : float, default 1e-3
        A run stops once no class posterior changes by ``tol`` or more in an iteration.
    random_state : int, Generator or None
        Seed of the random sub-type splits (None: a fixed seed).

    Attributes
    ----------
    labels_, proba_, consensus_
    confusions_ : Confusions (annotators x K x K)
        Posterior-mean confusion matrices with the sub-types mixed in by their weights.
    subtype_weights_ : DataFrame (classes x sub-types)
        Posterior-mean sub-type weights ``E[pi[k, m]]``.
    priors_ : Series
        Posterior-mean class proportions.
    elbo_ : float
        Evidence lower bound of the kept run; ``restart_elbos_`` lists every run's.
    n_iter_, converged_, history_, log_likelihood_, objective_

    Notes
    -----
    Generative model: ``tau ~ Dir(alpha)``, ``pi_k ~ Dir(a_pi / M)``, ``v[a,k,m,:] ~ Dir(beta[k,:])`` with
    ``beta[k,k] = a_v`` and ``beta[k,l] = b_v``; for every item ``t_i ~ Cat(tau)``, ``g_i | t_i = k ~
    Cat(pi_k)`` and ``y_ia | t_i = k, g_i = m ~ Cat(v[a,k,m,:])``. With ``q(t, g) = zeta`` the mean-field
    updates are

    .. math::

        \eta_{km} = a_\pi / M + \sum_i \zeta_{ikm},\quad \nu_k = \alpha_k + \sum_{i,m} \zeta_{ikm},\quad
        \mu_{akml} = \beta_{kl} + \sum_{i: y_{ia} = l} \zeta_{ikm},

        \log \zeta_{ikm} = \mathbb{E}\log\pi_{km} + \mathbb{E}\log\tau_k
        + \sum_{a \in A(i)} \mathbb{E}\log v_{a k m y_{ia}} + c_i

    (``E log`` of a Dirichlet: ``psi(x) - psi(sum x)``); ``proba[i,k] = sum_m zeta[i,k,m]``. The bound
    ``sum_i log Z_i - KL(q(pi)||p(pi)) - KL(q(tau)||p(tau)) - KL(q(v)||p(v))`` is evaluated after every
    E-step and never decreases. A start splits the vote shares over the sub-types at random
    (``zeta[i,k,m] = share[i,k] r[i,m]``, ``r[i] ~ Dir(1)``). One iteration costs ``O(N K M)``.

    References
    ----------
    Y. Li, B. I. P. Rubinstein and T. Cohn (2019). Exploiting worker correlation for label aggregation in
    crowdsourcing. Proceedings of the 36th International Conference on Machine Learning (ICML), PMLR
    97:3886-3895. https://proceedings.mlr.press/v97/li19i.html

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame(
    ...     {"item": [1, 1, 1, 2, 2, 2, 3, 3, 3], "annotator": list("abcabcabc"), "label": list("xxyyyyxxx")}
    ... )
    >>> EBCC().fit_predict(df).tolist()
    ['x', 'y', 'x']
    """

    name = "ebcc"
    model_name = "EBCC"

    def __init__(
        self,
        *,
        n_subtypes: int = 10,
        a_pi: float = 0.1,
        a_v: float = 4.0,
        b_v: float = 1.0,
        alpha: float | None = None,
        n_restarts: int = 5,
        max_iter: int = 500,
        tol: float = 1e-3,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_subtypes = n_subtypes
        self.a_pi = a_pi
        self.a_v = a_v
        self.b_v = b_v
        self.alpha = alpha
        self.n_restarts = n_restarts
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _check(self, annotations: Annotations) -> tuple[int, float, np.ndarray, np.ndarray]:
        k = annotations.n_classes
        if k < 2:
            raise InvalidParameterError(
                f"EBCC needs at least 2 classes; the data have {k} ({list(annotations.classes)}). "
                "Pass classes=... to Annotations"
            )
        m = check_positive_int("n_subtypes", self.n_subtypes)
        check_positive_int("n_restarts", self.n_restarts)
        values = {name: check_nonneg_float(name, getattr(self, name)) for name in ("a_pi", "a_v", "b_v")}
        if min(values.values()) <= 0:
            raise InvalidParameterError(f"a_pi, a_v and b_v must be > 0 (Dirichlet parameters); got {values}")
        beta = np.full((k, k), values["b_v"])
        np.fill_diagonal(beta, values["a_v"])
        if self.alpha is None:
            alpha = vote_shares(annotations.vote_counts()).sum(axis=0)
            alpha = np.maximum(alpha, 1e-3)  # a declared class nobody chose keeps a proper Dirichlet
        else:
            a = check_nonneg_float("alpha", self.alpha)
            if a <= 0:
                raise InvalidParameterError(f"alpha must be > 0 or None (the vote-share prior); got {a}")
            alpha = np.full(k, a)
        return m, values["a_pi"], beta, alpha

    def _starts(
        self, annotations: Annotations, steps: EBCCSteps, rng: np.random.Generator
    ) -> Iterator[np.ndarray]:
        """Each restart: the vote shares, with a new random sub-type split set on ``steps`` just before."""
        shares = vote_shares(annotations.vote_counts())
        for _ in range(self.n_restarts):
            steps.start(subtype_start(annotations, steps.n_subtypes, rng))
            yield shares.copy()

    def _fit(
        self, annotations: Annotations, rng: np.random.Generator, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> Consensus:
        m, a_pi, beta, alpha = self._check(annotations)
        steps = EBCCSteps(AnnotationMatrix(annotations), m, a_pi, beta, alpha, gold)
        result = run_em_restarts(
            steps,
            self._starts(annotations, steps, rng),
            max_iter=self.max_iter,
            tol=float(self.tol),
            gold=gold,
            history_bytes=HISTORY_BYTES,
            model=self.model_name,
        )
        self.restart_elbos_ = np.array(result.restarts)
        return self._finish(annotations, result)

    def _finish(self, annotations: Annotations, result: EMResult[EBCCState]) -> Consensus:
        state = result.params
        theta = state.confusions
        self._store_confusions(theta, annotations)
        self.subtype_weights_ = pd.DataFrame(
            state.subtype_weights, index=annotations.classes, columns=pd.RangeIndex(state.eta.shape[1])
        )
        self.priors_ = pd.Series(state.priors, index=annotations.classes, name="prior")
        self._store_run(result)
        self.elbo_ = self.objective_
        return Consensus(
            annotations,
            result.post,
            self.model_name,
            confusions=theta,
            priors=state.priors,
            history=self.history_,
            params=self.get_params(),
        )
