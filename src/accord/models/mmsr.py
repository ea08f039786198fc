"""M-MSR: annotator skills by robust rank-one completion of the pairwise agreement matrix."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._kernel.confusions import one_coin_confusions
from .._kernel.softmax import log_normalize
from .._utils import check_nonneg_float, check_positive_int
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import ConvergenceWarning, InvalidParameterError
from ._base import Aggregator

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
    with np.errstate(divide="ignore", invalid="ignore"):  # a ratio over a zero estimate is left out
        v = _trimmed_means(x / u[:, None], observed & (u[:, None] > 0), v, f, floor)
        u = _trimmed_means((x / v[None, :]).T, (observed & (v[None, :] > 0)).T, u, f, floor)
    return u, v


def _signs(centred: np.ndarray, common: np.ndarray, abs_s: np.ndarray, n_rounds: int = 10) -> np.ndarray:
    """Sign of each annotator's centred skill.

    Starting from all positive, each annotator takes the sign of its agreement with the others, weighted by
    shared items and signed by the others' current signs: ``sign_a = sign(sum_b n_common[a,b] C[a,b]
    sign_b)``, repeated until stable; the overall sign is then chosen so that the skill-weighted majority of
    annotators is better than random (``sum_a sign_a |s_a| >= 0``).
    An annotator who shares no item with anyone gets sign 0 (skill 0: their votes carry no weight).
    """
    weighted = common * centred
    signs = np.where((common > 0).any(axis=1), 1.0, 0.0)
    for _ in range(n_rounds):
        score = weighted @ signs
        new = np.where(score < 0, -1.0, np.where(signs == 0, 0.0, 1.0))
        if np.array_equal(new, signs):
            break
        signs = new
    return -signs if np.sum(signs * abs_s) < 0 else signs


class MMSR(Aggregator):
    r"""M-MSR (matrix mean-subsequence-reduced): one-coin annotator skills by robust rank-one matrix
    completion.

    Parameters
    ----------
    n_iter : int, default 10000
        Maximum number of MSR sweeps.
    tol : float, default 1e-10
        Stop when ``||u v^T - u_prev v_prev^T||_F < tol``.
    random_state : int, Generator or None
        Draws the U(0, 1) starting vectors.

    Attributes
    ----------
    labels_, proba_, consensus_
    skills_ : Series
        Per annotator the log-odds weight ``w[a] = log((K-1) p[a] / (1 - p[a]))`` (crowd-kit's ``skills_``).
    accuracies_ : Series
        The estimated one-coin accuracies ``p[a]``.
    n_iter_, converged_, loss_history_

    Notes
    -----
    One-coin annotators answer correctly with probability ``p[a]``; with centred skill ``s = (K p - 1)/(K -
    1)`` the centred agreement of two annotators satisfies ``E[C_{ab}] = s_a s_b`` (``a != b``), a rank-one
    matrix seen only where the pair shares items. ``|s|`` is estimated by alternating trimmed means (``F =
    floor(d_min/2) - 1`` values trimmed on each side, ``d_min`` the smallest number of co-annotators of any
    annotator; at least 0), the signs from each annotator's weighted agreement with the others, then ``s`` is
    clipped to ``[-1/(K-1) + 1/sqrt(I), 1 - 1/sqrt(I)]``. The consensus is the one-coin posterior under a
    uniform prior,

    .. math:: P(t_i = k) \propto \exp \sum_{n \in i,\, l_n = k} w_{a_n},\qquad
              w_a = \log \frac{(K-1)\, p_a}{1 - p_a},

    i.e. crowd-kit's weighted majority vote, normalised into probabilities.

    Differences from crowd-kit: the agreement matrix comes from sparse products instead of a loop over pairs,
    the trimmed means are vectorised over annotators, ``F`` is never negative (crowd-kit's ``F = -1`` keeps
    only the largest ratio), and the signs come from each annotator's weighted agreement with the others
    rather than crowd-kit's signed-graph eigenproblem.

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
        n_iter: int = 10000,
        tol: float = 1e-10,
        random_state: int | np.random.Generator | None = None,
    ):
        self.n_iter = n_iter
        self.tol = tol
        self.random_state = random_state

    def _fit(self, annotations, rng, gold):
        n_iter = check_positive_int("n_iter", self.n_iter)
        tol = check_nonneg_float("tol", self.tol)
        k, i = annotations.n_classes, annotations.n_items
        if k < 2:
            raise InvalidParameterError(f"MMSR needs at least 2 classes; the data have {k}. Pass classes=...")
        centred, common = agreement_matrix(annotations)
        abs_s = self._rank_one(np.abs(centred), common > 0, n_iter, tol, 1.0 / np.sqrt(i), rng)
        s = np.clip(
            _signs(centred, common, abs_s) * abs_s, -1.0 / (k - 1) + 1.0 / np.sqrt(i), 1.0 - 1.0 / np.sqrt(i)
        )
        p = s * (k - 1) / k + 1.0 / k
        weights = np.log((k - 1) * p / (1.0 - p))
        proba, _ = log_normalize(annotations.vote_counts(weights[annotations.annotator]))
        self.skills_ = pd.Series(weights, index=annotations.annotators, name="skill")
        self.accuracies_ = pd.Series(p, index=annotations.annotators, name="accuracy")
        return Consensus(
            annotations,
            proba,
            "MMSR",
            confusions=one_coin_confusions(p, k),
            params=self.get_params(),
            annotator_scores={"quality": p, "skill": weights},
        )

    def _rank_one(
        self,
        x: np.ndarray,
        observed: np.ndarray,
        n_iter: int,
        tol: float,
        floor: float,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """``|s|`` from the MSR iteration on ``X = |C|``, scaled as ``u / sqrt(||u|| / ||v||)``."""
        a = len(x)
        degree = observed.sum(axis=0)
        f = max(int(np.floor(degree.min() / 2)) - 1, 0) if a else 0
        u, v = rng.uniform(size=a), rng.uniform(size=a)
        self.loss_history_: list[float] = []
        self.converged_ = False
        self.n_iter_ = 0
        for it in range(1, n_iter + 1):
            u_new, v_new = msr_update(x, observed, u, v, f, floor)
            loss = float(np.sqrt(np.sum((np.outer(u_new, v_new) - np.outer(u, v)) ** 2)))
            u, v = u_new, v_new
            self.loss_history_.append(loss)
            self.n_iter_ = it
            if loss < tol:
                self.converged_ = True
                break
        if not self.converged_:
            warnings.warn(
                f"MMSR stopped at n_iter={n_iter} before converging (last change {loss:.2g} > tol={tol:g})",
                ConvergenceWarning,
                stacklevel=4,
            )
        norm_u, norm_v = np.linalg.norm(u), np.linalg.norm(v)
        return u / np.sqrt(norm_u / norm_v) if norm_u > 0 and norm_v > 0 else np.zeros(a)
