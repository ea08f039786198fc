"""Snorkel's label model: annotators as labelling functions, conditional label probabilities fitted by matrix
completion of the annotators' overlap matrix (no EM; a missing annotation is an abstain).

The overlap matrix ``O = L^T L / n`` of the one-hot annotations (``L`` the items x (annotators * K) design
matrix) is sparse: it has an entry only for pairs of (annotator, label) columns seen on one item. The loss and
its gradient use ``O`` only through sparse products, so the cost per evaluation is ``O(nnz(O) K + A K^3)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment, minimize

from .._hints import option
from .._kernel.em import AnnotationMatrix
from .._kernel.fitted import Confusions, errors_frame
from .._utils import check_nonneg_float, check_positive_int
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import InvalidParameterError
from ._base import Aggregator

__all__ = ["LabelModel", "Overlaps", "initial_mu", "mu_loss", "permute_classes"]

Optimizer = Literal["sgd", "lbfgs"]


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """One BLAS thread while L-BFGS-B runs, when threadpoolctl is installed: its Fortran core calls
    multi-threaded BLAS on small vectors, measured 10x slower on a busy machine (adult: 26 s, not 2.6 s)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it the results are the same, only slower on a loaded machine
        yield
        return
    with threadpool_limits(1):
        yield


@dataclass(frozen=True)
class Overlaps:
    """The statistics the label model is fitted to.

    ``off`` is the overlap matrix ``O = L^T L / n`` with each annotator's own ``K x K`` block removed (sparse,
    ``d x d``, ``d = annotators * K``); ``propensity`` is the diagonal of ``O`` (the share of items on
    which annotator ``a`` gives label ``y``, at row ``a * K + y``); ``off_norm2`` is ``||off||_F^2``.
    """

    off: sp.csr_matrix
    propensity: np.ndarray
    off_norm2: float
    n_annotators: int
    n_classes: int

    @classmethod
    def of(cls, annotations: Annotations) -> Overlaps:
        matrix = AnnotationMatrix(annotations)
        n = max(annotations.n_items, 1)
        ones = matrix.M.copy()
        ones.data[:] = 1.0  # one-hot, as a labelling-function output (a repeated annotation counts once)
        full = (ones.T @ ones).tocoo()
        k = annotations.n_classes
        propensity = np.asarray(ones.sum(axis=0)).ravel() / n
        other = (full.row // k) != (full.col // k)
        off = sp.csr_matrix(
            (full.data[other] / n, (full.row[other], full.col[other])), shape=full.shape, dtype=np.float64
        )
        return cls(off, propensity, float((off.data**2).sum()), annotations.n_annotators, k)


def mu_loss(
    mu: np.ndarray, stats: Overlaps, p: np.ndarray, mu_init: np.ndarray, l2: float
) -> tuple[float, np.ndarray]:
    """Snorkel's loss ``||(O - mu P mu^T)[mask]||^2 + ||mu p - diag(O)||^2 + l2^2 ||mu - mu_init||^2`` and its
    gradient (``mu`` is ``d x K``; the mask drops each annotator's own block).

    The masked residual is never formed: with ``G = mu^T mu`` and ``G_a = mu_a^T mu_a`` (``mu_a`` the rows of
    annotator ``a``), ``||mu P mu^T||^2 = tr((P G)^2)``, the dropped blocks are ``sum_a tr((P G_a)^2)``, and
    ``R mu = O_off mu - mu P G + [mu_a P G_a]_a``; the gradient of the first term is ``-4 R mu P``.
    """
    a, k = stats.n_annotators, stats.n_classes
    q = mu * p[None, :]
    om = np.asarray(stats.off @ mu)
    gram = mu.T @ mu
    blocks = np.einsum("ayc,ayd->acd", mu.reshape(a, k, k), mu.reshape(a, k, k))
    pg = p[:, None] * gram
    pgb = p[None, :, None] * blocks
    fit = stats.off_norm2 - 2.0 * float((om * q).sum()) + float((pg * pg.T).sum())
    fit -= float(np.einsum("acd,adc->", pgb, pgb))
    r_mu = om - q @ gram + np.einsum("ayc,acd->ayd", q.reshape(a, k, k), blocks).reshape(a * k, k)
    residual = q.sum(axis=1) - stats.propensity
    diff = mu - mu_init
    loss = fit + float(residual @ residual) + l2 * l2 * float((diff * diff).sum())
    grad = -4.0 * r_mu * p[None, :] + 2.0 * residual[:, None] * p[None, :] + 2.0 * l2 * l2 * diff
    return max(loss, 0.0), grad


def initial_mu(stats: Overlaps, p: np.ndarray, prec_init: np.ndarray) -> np.ndarray:
    """``mu_init[a*K + y, y] = clip(P(a says y) * prec_a / p_y, 0, 1)``, zero elsewhere (Snorkel's start,
    which assumes annotators better than chance and so breaks the label-switching symmetry)."""
    a, k = stats.n_annotators, stats.n_classes
    out = np.zeros((a, k, k))
    propensity = stats.propensity.reshape(a, k) * prec_init[:, None]
    diag = np.divide(propensity, p[None, :], out=np.zeros_like(propensity), where=p[None, :] > 0)
    idx = np.arange(k)
    out[:, idx, idx] = np.clip(diag, 0.0, 1.0)
    return out.reshape(a * k, k)


def permute_classes(mu: np.ndarray, p: np.ndarray, n_annotators: int) -> np.ndarray:
    """Snorkel's symmetry break: among classes of equal balance (to 3 decimals), permute the columns of ``mu``
    so that the annotators' summed ``P(label = y, Y = y)`` is largest (an assignment problem per group)."""
    k = len(p)
    probs = mu.reshape(n_annotators, k, k).sum(axis=0) * p[None, :]  # label x class
    z = np.zeros((k, k))
    rounded = np.round(p, 3)
    for value in np.unique(rounded):
        group = np.flatnonzero(rounded == value)
        rows, cols = linear_sum_assignment(-probs[np.ix_(group, group)].T)
        z[group[rows], group[cols]] = 1.0
    return mu @ z


class LabelModel(Aggregator):
    r"""Snorkel's label model (matrix completion): annotators as labelling functions, no EM.

    Fits ``mu[(a, y), c] = P(annotator a says y | Y = c)`` (abstaining when the annotation is missing) so that
    the model's second moments ``mu P mu^T`` match the observed overlaps of every pair of annotators, then
    combines the labels as a naive Bayes model. Good on small, dense sets where EM's confusion matrices
    overfit.

    Parameters
    ----------
    class_balance : sequence of float or None, default None
        Class proportions ``p`` (one per class, in the order of the classes). None: uniform over the classes
        the annotators used (a declared class nobody chose gets 0), or, when ``fit`` gets ``gold``, the gold
        class shares (add-one smoothed over the used classes), as Snorkel's ``Y_dev``.
    prec_init : float or sequence of float, default 0.7
        Initial precision ``P(Y = y | annotator says y)`` of every annotator (or one per annotator).
    l2 : float, default 0.0
        Strength of the pull toward the start (Snorkel's centred L2 term ``||l2 (mu - mu_init)||^2``).
    optimizer : {"sgd", "lbfgs"}, default "sgd"
        "sgd": Snorkel's default schedule (``n_epochs`` steps of SGD with momentum 0.9 and rate ``lr``, ``mu``
        clamped to ``[mu_eps, 1 - mu_eps]`` after each): the figures of Snorkel's label model. "lbfgs":
        L-BFGS-B on the same loss within those bounds, to convergence; it reaches a lower loss but measured
        worse labels on the public sets (mean accuracy 0.678 against 0.733 over 26 sets), as the early stop of
        the short SGD schedule keeps ``mu`` near its start.
    max_iter : int, default 500
        L-BFGS iterations at most.
    tol : float, default 1e-10
        L-BFGS stops once the loss falls by less than ``tol`` (relative) in an iteration.
    n_epochs : int, default 100
        SGD steps (``optimizer="sgd"``).
    lr : float, default 0.01
        SGD learning rate.
    mu_eps : float or None, default None
        Bounds of ``mu``; None: ``min(0.01, 10**-ceil(log10(n_items)))`` (Snorkel's rule).
    random_state : int, Generator or None
        The start is ``mu_init`` times one uniform draw (Snorkel's random scale).

    Attributes
    ----------
    labels_, proba_, consensus_
    mu_ : DataFrame ((annotator, label) x class)
        ``P(annotator says label | true class)``; one minus a column's sum per annotator is the abstain rate.
    confusions_ : Confusions (annotators x K x K)
        ``mu`` renormalised over the labels an annotator gave (abstains left out); ``errors_`` likewise.
    weights_ : Series
        Snorkel's annotator weights: ``sum_y P(says y, Y = y)`` divided by the annotator's coverage.
    class_balance_ : Series
    n_iter_, converged_, history_ (iteration, objective = the loss), loss_
        ``converged_`` is L-BFGS's own test; the SGD schedule always runs its ``n_epochs`` (True).

    Notes
    -----
    With ``O = L^T L / n`` the overlaps of the one-hot annotations and ``P = diag(p)``, the model
    ``P(lambda_a = y | Y = c) = mu[(a, y), c]`` with conditionally independent annotators implies
    ``O[(a,y), (b,y')] = (mu P mu^T)[(a,y), (b,y')]`` for ``a != b`` and ``diag(O) = mu p``. The loss

    .. math::

        \ell(\mu) = \big\| (O - \mu P \mu^\top)_{a \ne b} \big\|_F^2
        + \big\| \mu p - \operatorname{diag}(O) \big\|^2 + \ell_2^2 \| \mu - \mu_0 \|_F^2

    is minimised from ``mu_0[(a,y), y] = P(lambda_a = y) prec / p_y``; then columns of classes with equal
    balance are permuted to make the annotators most accurate. Predictions:
    ``P(Y = c | labels) ∝ p_c prod_{n in i} mu[(a_n, y_n), c]`` (abstains ignored).

    References
    ----------
    A. Ratner, B. Hancock, J. Dunnmon, F. Sala, S. Pandey and C. Ré (2019). Training complex models with
    multi-task weak supervision. Proceedings of the AAAI Conference on Artificial Intelligence 33:4763-4771.
    doi:10.1609/aaai.v33i01.33014763 (arXiv:1810.02840)

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame(
    ...     {"item": [1, 1, 1, 2, 2, 2, 3, 3, 3], "annotator": list("abcabcabc"), "label": list("xxyyyyxxx")}
    ... )
    >>> LabelModel().fit_predict(df).tolist()
    ['x', 'y', 'x']
    """

    name = "label_model"
    model_name = "LabelModel"

    def __init__(
        self,
        *,
        class_balance: Sequence[float] | None = None,
        prec_init: float | Sequence[float] = 0.7,
        l2: float = 0.0,
        optimizer: Optimizer = "sgd",
        max_iter: int = 500,
        tol: float = 1e-10,
        n_epochs: int = 100,
        lr: float = 0.01,
        mu_eps: float | None = None,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.class_balance = class_balance
        self.prec_init = prec_init
        self.l2 = l2
        self.optimizer = optimizer
        self.max_iter = max_iter
        self.tol = tol
        self.n_epochs = n_epochs
        self.lr = lr
        self.mu_eps = mu_eps
        self.random_state = random_state

    # ----------------------------------------------------------------------------------------- inputs
    def _balance(self, annotations: Annotations, gold: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
        k = annotations.n_classes
        if self.class_balance is None:
            # a declared class nobody chose gets no mass: nothing could tell its labelling rates apart
            used = annotations.vote_counts().sum(axis=0) > 0
            counts = used.astype(np.float64)
            if gold is not None and len(gold[0]):
                counts = np.bincount(gold[1], minlength=k) + used
            return counts / counts.sum()
        p = np.asarray(self.class_balance, dtype=np.float64)
        if p.shape != (k,) or not np.isfinite(p).all() or (p <= 0).any():
            raise InvalidParameterError(
                f"class_balance must be {k} positive numbers, one per class {list(annotations.classes)}; "
                f"got {self.class_balance!r}"
            )
        return p / p.sum()

    def _precisions(self, n_annotators: int) -> np.ndarray:
        prec = np.asarray(self.prec_init, dtype=np.float64)
        if prec.ndim == 0:
            prec = np.full(n_annotators, float(prec))
        if prec.shape != (n_annotators,) or not np.isfinite(prec).all() or (prec <= 0).any():
            raise InvalidParameterError(
                f"prec_init must be a positive number or one per annotator ({n_annotators}); "
                f"got {self.prec_init!r}"
            )
        return prec

    def _eps(self, n_items: int) -> float:
        if self.mu_eps is None:
            return min(0.01, 1.0 / 10 ** np.ceil(np.log10(max(n_items, 1))))
        eps = check_nonneg_float("mu_eps", self.mu_eps)
        if not 0 < eps < 0.5:
            raise InvalidParameterError(f"mu_eps must lie in (0, 0.5); got {eps}")
        return eps

    # ------------------------------------------------------------------------------------ optimisers
    def _lbfgs(
        self, mu0: np.ndarray, stats: Overlaps, p: np.ndarray, mu_init: np.ndarray, l2: float, eps: float
    ) -> tuple[np.ndarray, list[float], bool]:
        shape = mu0.shape
        losses: list[float] = []

        def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
            loss, grad = mu_loss(x.reshape(shape), stats, p, mu_init, l2)
            return loss, grad.ravel()

        def record(x: np.ndarray) -> None:
            losses.append(fun(x)[0])

        with _one_blas_thread():
            result = minimize(
                fun,
                mu0.ravel(),
                jac=True,
                method="L-BFGS-B",
                bounds=[(eps, 1.0 - eps)] * mu0.size,
                callback=record,
                options={
                    "maxiter": check_positive_int("max_iter", self.max_iter),
                    "ftol": self.tol,
                    "gtol": 0.0,
                },
            )
        return result.x.reshape(shape), losses, bool(result.success)

    def _sgd(
        self, mu0: np.ndarray, stats: Overlaps, p: np.ndarray, mu_init: np.ndarray, l2: float, eps: float
    ) -> tuple[np.ndarray, list[float], bool]:
        lr = check_nonneg_float("lr", self.lr)
        mu, velocity = mu0.copy(), np.zeros_like(mu0)
        losses = []
        for _ in range(check_positive_int("n_epochs", self.n_epochs)):
            loss, grad = mu_loss(mu, stats, p, mu_init, l2)
            losses.append(loss)
            velocity = 0.9 * velocity + grad
            mu = np.clip(mu - lr * velocity, eps, 1.0 - eps)
        return mu, losses, True

    # ------------------------------------------------------------------------------------------- fit
    def _fit(
        self, annotations: Annotations, rng: np.random.Generator, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> Consensus:
        k, a = annotations.n_classes, annotations.n_annotators
        if k < 2:
            raise InvalidParameterError(
                f"LabelModel needs at least 2 classes; the data have {k}. "
                + option("Pass classes=[...] to Annotations", "Name them all with --classes a,b")
            )
        if self.optimizer not in ("lbfgs", "sgd"):
            raise InvalidParameterError(f"optimizer must be 'sgd' or 'lbfgs', got {self.optimizer!r}")
        check_nonneg_float("tol", self.tol)
        check_positive_int("max_iter", self.max_iter)
        check_positive_int("n_epochs", self.n_epochs)
        check_nonneg_float("lr", self.lr)
        p = self._balance(annotations, gold)
        l2 = check_nonneg_float("l2", self.l2)
        eps = self._eps(annotations.n_items)
        stats = Overlaps.of(annotations)
        mu_init = initial_mu(stats, p, self._precisions(a))
        mu0 = mu_init * rng.random()
        run = self._lbfgs if self.optimizer == "lbfgs" else self._sgd
        mu, losses, converged = run(np.clip(mu0, eps, 1.0 - eps), stats, p, mu_init, l2, eps)
        mu = permute_classes(mu, p, a)
        self.n_iter_ = len(losses)
        self.converged_ = converged
        self.history_ = pd.DataFrame({"iteration": np.arange(1, len(losses) + 1), "objective": losses})
        self.loss_ = mu_loss(mu, stats, p, mu_init, l2)[0]
        return self._finish(annotations, mu, p)

    def _finish(self, annotations: Annotations, mu: np.ndarray, p: np.ndarray) -> Consensus:
        a, k = annotations.n_annotators, annotations.n_classes
        with np.errstate(divide="ignore"):  # a class of zero balance gets probability zero
            log_p = np.log(p)
        log_u = np.asarray(AnnotationMatrix(annotations).M @ np.log(mu)) + log_p[None, :]
        log_u -= log_u.max(axis=1, keepdims=True)
        proba = np.exp(log_u)
        proba /= proba.sum(axis=1, keepdims=True)
        index = pd.MultiIndex.from_arrays(
            [annotations.annotators.repeat(k), annotations.classes[np.tile(np.arange(k), a)]],
            names=["annotator", "label"],
        )
        self.mu_ = pd.DataFrame(mu, index=index, columns=annotations.classes)
        cube = mu.reshape(a, k, k).transpose(0, 2, 1)  # annotator, class, label
        theta = cube / cube.sum(axis=2, keepdims=True)
        self.confusions_ = Confusions(theta, annotations.annotators, annotations.classes)
        self.errors_ = errors_frame(self.confusions_)
        coverage = np.maximum(annotations.annotator_sizes() / max(annotations.n_items, 1), 1e-12)
        accurate = np.einsum("ayy,y->a", mu.reshape(a, k, k), p)
        self.weights_ = pd.Series(np.clip(accurate / coverage, 1e-6, 1.0), index=annotations.annotators)
        self.class_balance_ = pd.Series(p, index=annotations.classes, name="class_balance")
        return Consensus(
            annotations,
            proba,
            self.model_name,
            confusions=theta,
            priors=p,
            history=self.history_,
            params=self.get_params(),
        )
