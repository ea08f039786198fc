"""M-MSR: annotator skills by robust rank-one completion of the pairwise agreement matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._kernel.confusions import one_coin_confusions
from .._kernel.driver import EMResult, EStep, run_em
from .._kernel.softmax import log_normalize
from .._utils import check_nonneg_float, check_positive_int
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import InvalidParameterError
from ._base import IterativeAggregator, renamed_n_iter

__all__ = ["MMSR", "agreement_matrix", "msr_update"]


def agreement_matrix(annotations: Annotations) -> tuple[np.ndarray, np.ndarray]:
    """Centred pairwise agreement ``C`` and the number of shared items ``n_common`` (annotators x annotators).

    ``C[a,b] = K/(K-1) * agree[a,b] / n_common[a,b] - 1/(K-1)`` where the pair shares an item, else 0; then
    ``E[C[a,b]] = s[a] s[b]`` for one-coin annotators with centred skills ``s = (K p - 1)/(K - 1)``. Built
    from sparse indicator products (cost ``O(sum_i N_i^2)``), never a loop over pairs. The diagonal is 0.
    """
    k, a = annotations.n_classes, annotations.n_annotators
    ones = np.ones(annotations.n_annotations)
    seen = sp.csr_matrix((ones, (annotations.item, annotations.annotator)), shape=(annotations.n_items, a))
    seen.data[:] = 1.0
    keyed = sp.csr_matrix(
        (ones, (annotations.item.astype(np.int64) * k + annotations.label, annotations.annotator)),
        shape=(annotations.n_items * k, a),
    )
    keyed.data[:] = 1.0
    common = np.asarray((seen.T @ seen).todense())
    agree = np.asarray((keyed.T @ keyed).todense())
    np.fill_diagonal(common, 0.0)
    np.fill_diagonal(agree, 0.0)
    share = np.divide(agree, common, out=np.zeros_like(agree), where=common > 0)
    centred = np.where(common > 0, (k * share - 1.0) / (k - 1.0), 0.0)
    return centred, common


def _trimmed_means(
    ratios: np.ndarray, observed: np.ndarray, current: np.ndarray, f: int, floor: float
) -> np.ndarray:
    """Column-wise MSR step: drop the ``F`` largest values above the current estimate (all of them if fewer)
    and the ``F`` smallest below it, and average the rest; a column with nothing left keeps its estimate, and
    one left with a single 0 gets ``floor`` (crowd-kit's ``1/sqrt(n_items)``)."""
    vals = np.where(observed, ratios, np.inf)
    below = np.sum(observed & (ratios < current[None, :]), axis=0)
    above = np.sum(observed & (ratios > current[None, :]), axis=0)
    m = observed.sum(axis=0)
    lo = np.minimum(f, below)
    hi = m - np.minimum(f, above)
    ordered = np.sort(vals, axis=0)  # unobserved (inf) last
    rank = np.arange(ordered.shape[0])[:, None]
    keep = (rank >= lo[None, :]) & (rank < hi[None, :])
    count = hi - lo
    total = np.where(keep, ordered, 0.0).sum(axis=0)
    out = np.divide(total, count, out=current.astype(np.float64).copy(), where=count > 0)
    out[(count == 1) & (total == 0)] = floor
    return out


def msr_update(
    x: np.ndarray, observed: np.ndarray, u: np.ndarray, v: np.ndarray, f: int, floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """One sweep of the matrix mean-subsequence-reduced iteration: ``v`` from ``X[:, j] / u``, then ``u`` from
    ``X[i, :] / v`` (``X`` symmetric)."""
    with np.errstate(
        divide="ignore", invalid="ignore", over="ignore"
    ):  # ratios over 0 estimates are left out
        v = _trimmed_means(x / u[:, None], observed & (u[:, None] > 0), v, f, floor)
        u = _trimmed_means((x / v[None, :]).T, (observed & (v[None, :] > 0)).T, u, f, floor)
    return _balanced(u, v)


def _norm(x: np.ndarray) -> float:
    """Euclidean norm without BLAS (``np.linalg.norm`` goes through multi-threaded BLAS, which was measured
    20x slower than the work itself on a busy machine) and without underflow warnings."""
    with np.errstate(under="ignore"):
        return float(np.sqrt(np.einsum("i,i->", x, x)))


def _balanced(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(c u, v / c)`` with ``||c u|| = ||v / c||``: the same rank-one product ``u v^T``, whose two factors
    can otherwise drift apart (one to overflow, the other to underflow) on small, sparse agreement graphs."""
    nu, nv = _norm(u), _norm(v)
    if not (nu > 0 and nv > 0 and np.isfinite(nu) and np.isfinite(nv)):
        return u, v
    c = np.sqrt(nv) / np.sqrt(nu)
    return u * c, v / c


def _raw_signs(centred: np.ndarray, common: np.ndarray, n_rounds: int = 10) -> np.ndarray:
    """Sign of each annotator's centred skill.

    Starting from all positive, each annotator takes the sign of its agreement with the others, weighted by
    shared items and signed by the others' current signs: ``sign_a = sign(sum_b n_common[a,b] C[a,b]
    sign_b)``, repeated until stable (the overall sign is chosen later, so that the skill-weighted majority of
    annotators is better than random: ``sum_a sign_a |s_a| >= 0``, a tie going to the group that casts more
    votes, see :func:`_tie_sign`). An annotator who shares no item with
    anyone gets sign 0 (skill 0: their votes carry no weight).
    """
    weighted = common * centred
    signs = np.where((common > 0).any(axis=1), 1.0, 0.0)
    for _ in range(n_rounds):
        score = weighted @ signs
        new = np.where(score < 0, -1.0, np.where(signs == 0, 0.0, 1.0))
        if np.array_equal(new, signs):
            break
        signs = new
    return signs


def _tie_sign(signs: np.ndarray, annotations: Annotations) -> float:
    """Orientation used when the skill-weighted sum of the signs is a tie: the sign that gives the positive
    group more votes, then (if the votes tie too) more votes for the first class, then the second, ...

    Every key is an integer count over the annotations, so the choice is the same whatever the ids or the
    row order.
    """
    k = annotations.n_classes
    counts = np.bincount(
        annotations.annotator.astype(np.int64) * k + annotations.label,
        minlength=annotations.n_annotators * k,
    ).reshape(-1, k)
    signed = (signs[:, None] * counts).sum(axis=0)  # per class: votes of the positive group minus the others
    for key in (signed.sum(), *signed):
        if key != 0:
            return 1.0 if key > 0 else -1.0
    return 1.0


def _orientation(signs: np.ndarray, abs_s: np.ndarray, tie_sign: float) -> float:
    """``sum_a sign_a |s_a|``, or ``tie_sign`` when that sum is 0 up to rounding (``1e-9`` of ``sum |s|``):
    two equally skilled groups of opposite signs give a sum whose rounding sign follows the order of the
    annotators, so it must not decide."""
    score = float(np.sum(signs * abs_s))
    scale = float(np.sum(np.abs(signs * abs_s)))
    return tie_sign if abs(score) <= 1e-9 * scale else score


@dataclass(frozen=True)
class MsrGraph:
    """What the MSR sweeps read (fixed during the fit): ``X = |C|``, where it is observed, the trim count
    ``F``, the floor of a lone zero, the centred agreement and shared-item counts (for the signs)."""

    x: np.ndarray
    observed: np.ndarray
    f: int
    floor: float
    signs: np.ndarray
    n_classes: int
    n_items: int
    tie_sign: float = 1.0

    @classmethod
    def of(cls, annotations: Annotations) -> MsrGraph:
        centred, common = agreement_matrix(annotations)
        observed = common > 0
        degree = observed.sum(axis=0)
        f = max(int(np.floor(degree.min() / 2)) - 1, 0) if len(degree) else 0
        i = annotations.n_items
        signs = _raw_signs(centred, common)
        return cls(
            np.abs(centred),
            observed,
            f,
            1.0 / np.sqrt(i),
            signs,
            annotations.n_classes,
            i,
            _tie_sign(signs, annotations),
        )

    def agreement_start(self) -> np.ndarray:
        """``sqrt(mean_b X[a, b]^2)`` over the observed pairs (0.5 where there are none or all are 0): with
        ``X = s s^T`` this is ``|s_a|`` times the root-mean-square skill of ``a``'s partners."""
        n = self.observed.sum(axis=1)
        total = np.where(self.observed, self.x * self.x, 0.0).sum(axis=1)
        rms = np.sqrt(np.divide(total, n, out=np.zeros(len(n)), where=n > 0))
        return np.where(rms > 0, rms, 0.5)

    def accuracies(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """One-coin accuracies ``p`` from the rank-one factors: ``|s| = u / sqrt(||u|| / ||v||)``, signed,
        clipped to ``[-1/(K-1) + 1/sqrt(I), 1 - 1/sqrt(I)]``, then ``p = s (K-1)/K + 1/K``."""
        k, root = self.n_classes, np.sqrt(self.n_items)
        norm_u, norm_v = _norm(u), _norm(v)
        abs_s = u / np.sqrt(norm_u / norm_v) if norm_u > 0 and norm_v > 0 else np.zeros(len(u))
        signs = -self.signs if _orientation(self.signs, abs_s, self.tie_sign) < 0 else self.signs
        s = np.clip(signs * abs_s, -1.0 / (k - 1) + 1.0 / root, 1.0 - 1.0 / root)
        return s * (k - 1) / k + 1.0 / k


def log_odds_weights(p: np.ndarray, k: int) -> np.ndarray:
    """``w[a] = log((K-1) p[a] / (1 - p[a]))``, the one-coin weight of a vote (finite: ``p < 1``)."""
    return np.log((k - 1) * p) - np.log1p(-p)


class MsrSteps:
    """M-MSR as driver pieces: the parameters are the rank-one factors ``(u, v)``, the M-step one MSR sweep
    (its statistics are the fixed agreement graph, so ``statistics`` returns nothing), the E-step the
    one-coin posterior under the implied skills. There is no objective (``nan`` in the history); the extra
    column ``param_change`` is ``||u v^T - u_prev v_prev^T||_F``."""

    def __init__(self, annotations: Annotations, graph: MsrGraph) -> None:
        self.ann, self.graph = annotations, graph
        self._previous: np.ndarray | None = None

    def statistics(self, post: np.ndarray) -> None:
        return None

    def m_step(
        self, stats: None, params: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        assert params is not None  # starts from the random factors
        g = self.graph
        self._previous = np.outer(*params)
        return msr_update(g.x, g.observed, params[0], params[1], g.f, g.floor)

    def e_step(self, params: tuple[np.ndarray, np.ndarray]) -> EStep:
        weights = log_odds_weights(self.graph.accuracies(*params), self.graph.n_classes)
        post, _ = log_normalize(self.ann.vote_counts(weights[self.ann.annotator]))
        extra = {}
        if self._previous is not None:
            with np.errstate(under="ignore"):
                change = np.outer(*params) - self._previous
                extra["param_change"] = _norm(change.ravel())
        return EStep(post, np.zeros(len(post)), extra=extra)

    def objective(self, params: tuple[np.ndarray, np.ndarray], e: EStep) -> float:
        return float("nan")


class MMSR(IterativeAggregator):
    r"""M-MSR (matrix mean-subsequence-reduced): one-coin annotator skills by robust rank-one matrix
    completion.

    Parameters
    ----------
    max_iter : int, default 10000
        Maximum number of MSR sweeps (``n_iter`` is its deprecated spelling).
    tol : float, default 1e-10
        Stop once no posterior probability moves by more than ``tol`` in a sweep (the previous release
        compared ``||u v^T - u_prev v_prev^T||_F`` with ``tol``; that change is the ``param_change`` column of
        ``history_``).
    init : {"agreement", "random"}, default "agreement"
        Starting factors: each annotator's root-mean-square centred agreement with the others (the rank-one
        guess, the same whatever the ids or the row order), or U(0, 1) draws from ``random_state``
        (crowd-kit's start; the result then depends on the draw, and so on the order of the annotator ids).
    random_state : int, Generator or None
        Draws the U(0, 1) starting vectors when ``init="random"``.

    Attributes
    ----------
    labels_, proba_, consensus_
    skills_ : Series
        Per annotator the log-odds weight ``w[a] = log((K-1) p[a] / (1 - p[a]))`` (crowd-kit's ``skills_``).
    accuracies_ : Series
        The estimated one-coin accuracies ``p[a]``.
    n_iter_, converged_, history_ (``log_likelihood`` is 0 and ``objective`` nan: M-MSR maximises no
    likelihood), loss_history_ (crowd-kit's name: ``param_change`` per sweep)

    Notes
    -----
    One-coin annotators answer correctly with probability ``p[a]``; with centred skill ``s = (K p - 1)/(K -
    1)`` the centred agreement of two annotators satisfies ``E[C_{ab}] = s_a s_b`` (``a != b``), a rank-one
    matrix seen only where the pair shares items. ``|s|`` is estimated by alternating trimmed means (``F =
    floor(d_min/2) - 1`` values trimmed on each side, ``d_min`` the smallest number of co-annotators of any
    annotator; at least 0), the signs from each annotator's weighted agreement with the others (oriented so
    that ``sum_a s_a >= 0``; an exact tie goes to the group with more votes, then more votes for the first
    class, ..., never to the order of the ids), then ``s`` is clipped to ``[-1/(K-1) + 1/sqrt(I), 1 -
    1/sqrt(I)]``. The consensus is the one-coin posterior under a uniform prior,

    .. math:: P(t_i = k) \propto \exp \sum_{n \in i,\, l_n = k} w_{a_n},\qquad
              w_a = \log \frac{(K-1)\, p_a}{1 - p_a},

    i.e. crowd-kit's weighted majority vote, normalised into probabilities.

    Differences from crowd-kit: the agreement matrix comes from sparse products instead of a loop over pairs,
    the trimmed means are vectorised over annotators, ``F`` is never negative (crowd-kit's ``F = -1`` keeps
    only the largest ratio), the signs come from each annotator's weighted agreement with the others
    rather than crowd-kit's signed-graph eigenproblem, and the two factors are rebalanced to equal norms
    after every sweep (their product is unchanged; unbalanced, they overflow on small, sparse data).

    References
    ----------
    Q. Ma and A. Olshevsky (2020). Adversarial crowdsourcing through robust rank-one matrix completion.
    NeurIPS 2020. arXiv:2010.12181

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc"), "label": list("xxyyyy")})
    >>> MMSR().fit_predict(df).tolist()
    ['x', 'y']
    """

    name = "mmsr"

    def __init__(
        self,
        *,
        max_iter: int = 10000,
        tol: float = 1e-10,
        init: str = "agreement",
        random_state: int | np.random.Generator | None = None,
        n_iter: int | None = None,
    ) -> None:
        self.max_iter = renamed_n_iter(n_iter, max_iter, "MMSR")
        self.tol = tol
        self.init = init
        self.random_state = random_state

    def _fit(
        self, annotations: Annotations, rng: np.random.Generator, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> Consensus:
        check_positive_int("max_iter", self.max_iter)
        tol = check_nonneg_float("tol", self.tol)
        k = annotations.n_classes
        if k < 2:
            raise InvalidParameterError(f"MMSR needs at least 2 classes; the data have {k}. Pass classes=...")
        graph = MsrGraph.of(annotations)
        a = annotations.n_annotators
        if self.init == "random":
            start = _balanced(rng.uniform(size=a), rng.uniform(size=a))
        elif self.init == "agreement":
            start = (graph.agreement_start(),) * 2
        else:
            raise InvalidParameterError(f"init must be 'agreement' or 'random', got {self.init!r}")
        steps = MsrSteps(annotations, graph)
        first = steps.e_step(start)
        result = run_em(
            steps, first.post, max_iter=self.max_iter, tol=tol, params=start, history_bytes=0, model="MMSR"
        )
        return self._finish(annotations, graph, result)

    def _finish(
        self, annotations: Annotations, graph: MsrGraph, result: EMResult[tuple[np.ndarray, np.ndarray]]
    ) -> Consensus:
        k = annotations.n_classes
        p = graph.accuracies(*result.params)
        weights = log_odds_weights(p, k)
        self._store_run(result)
        self.loss_history_ = [float(v) for v in result.history.get("param_change", pd.Series(dtype=float))]
        self.skills_ = pd.Series(weights, index=annotations.annotators, name="skill")
        self.accuracies_ = pd.Series(p, index=annotations.annotators, name="accuracy")
        return Consensus(
            annotations,
            result.post,
            "MMSR",
            confusions=one_coin_confusions(p, k),
            params=self.get_params(),
            history=self.history_,
            annotator_scores={"quality": p, "skill": weights},
        )
