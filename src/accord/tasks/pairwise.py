"""Pairwise comparisons: a score per item with its standard error and a ranking, from "which is better?".

Input is a long table with one comparison per row: annotator, left item, right item, winner (the left or the
right item's id). ``Comparisons.from_frame`` validates and encodes it once. Two models give a
:class:`PairwiseConsensus`:

- :class:`BradleyTerry` -- ``P(i beats j) = p_i / (p_i + p_j)``, fitted by Hunter's MM algorithm with a gamma
  prior on the strengths (so that items that never lost or never won keep finite scores);
- :class:`NoisyBradleyTerry` -- each annotator answers from the Bradley-Terry model with probability
  ``reliability``, and otherwise guesses, choosing the left item with probability ``left_bias``; fitted by EM.

Examples
--------
>>> df = pd.DataFrame({"annotator": ["a", "b", "c"], "left": ["x", "x", "y"], "right": ["y", "y", "x"],
...                    "winner": ["x", "x", "x"]})
>>> BradleyTerry().fit(df).ranking_.to_dict()
{'x': 1, 'y': 2}
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Hashable
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.special import expit, gammaln, ndtri

from ..errors import ConvergenceWarning, InvalidAnnotationsError, InvalidParameterError
from ..models._base import Estimator, as_input
from ._tables import Sizes, TaskTables, find_column, id_column, rows_text, show_values

__all__ = [
    "PAIRWISE_METHODS",
    "BradleyTerry",
    "Comparisons",
    "NoisyBradleyTerry",
    "PairwiseConsensus",
    "aggregate_pairwise_frame",
]

_ALIASES = {
    "annotator": ("annotator", "worker", "annotator_id", "worker_id", "rater"),
    "left": ("left", "item_a", "first", "a"),
    "right": ("right", "item_b", "second", "b"),
    "winner": ("winner", "label", "choice", "preferred"),
}
_EXACT_SE_MAX_ITEMS = 2000


_show = show_values
_rows = rows_text


def _column(df: pd.DataFrame, role: str, given: Hashable | None) -> Hashable:
    return find_column(df, role, given, _ALIASES[role], named=2)


# ---------------------------------------------------------------------------------------------------- input
class Comparisons(Sizes):
    """Pairwise comparisons, validated and encoded.

    Attributes
    ----------
    items, annotators : pandas.Index
        The user's ids; position = integer code. Items are every id seen as left or right.
    winner, loser, annotator : ndarray of int32, shape (n_comparisons,)
        Codes of each comparison (read-only).
    left_won : ndarray of bool, shape (n_comparisons,)
        Whether the item shown on the left won (for position bias).

    Examples
    --------
    >>> df = pd.DataFrame({"worker": ["a", "b"], "left": [1, 2], "right": [2, 3], "label": [1, 3]})
    >>> Comparisons.from_frame(df)
    Comparisons(3 items, 2 annotators, 2 comparisons)
    """

    def __init__(
        self,
        winner: np.ndarray,
        loser: np.ndarray,
        annotator: np.ndarray,
        left_won: np.ndarray,
        items: pd.Index,
        annotators: pd.Index,
    ) -> None:
        self.winner = _frozen(winner, np.int32)
        self.loser = _frozen(loser, np.int32)
        self.annotator = _frozen(annotator, np.int32)
        self.left_won = _frozen(left_won, np.bool_)
        self.items = items
        self.annotators = annotators

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        annotator: Hashable | None = None,
        left: Hashable | None = None,
        right: Hashable | None = None,
        winner: Hashable | None = None,
    ) -> Comparisons:
        """Build from a long table with one comparison per row.

        Parameters
        ----------
        df : pandas.DataFrame
            Columns ``annotator, left, right, winner`` (crowd-kit's ``worker, left, right, label`` work too).
            ``winner`` must equal that row's ``left`` or ``right`` (compared as text when the types differ,
            e.g. numbers read back as strings).
        annotator, left, right, winner : column names, optional
        """
        if not isinstance(df, pd.DataFrame):
            raise InvalidAnnotationsError(
                f"expected a pandas DataFrame with columns annotator, left, right, "
                f"winner; got {type(df).__name__}"
            )
        if len(df) == 0:
            raise InvalidAnnotationsError("the comparisons are empty: the table has no rows")
        given = {"annotator": annotator, "left": left, "right": right, "winner": winner}
        cols = {role: _column(df, role, g) for role, g in given.items()}
        table = pd.DataFrame({role: df[c].to_numpy() for role, c in cols.items()}, index=df.index)
        _check_missing(table, cols)
        left_won = _left_won(table, cols)
        items = pd.Index(
            pd.unique(np.concatenate([table["left"].to_numpy(), table["right"].to_numpy()])), name="item"
        )
        left_codes, right_codes = items.get_indexer(table["left"]), items.get_indexer(table["right"])
        ann_codes, annotators = pd.factorize(table["annotator"], sort=False)
        win = np.where(left_won, left_codes, right_codes)
        lose = np.where(left_won, right_codes, left_codes)
        return cls(win, lose, ann_codes, left_won, items, pd.Index(annotators, name="annotator"))

    @property
    def n_comparisons(self) -> int:
        return len(self.winner)

    def __len__(self) -> int:
        return self.n_comparisons

    def __repr__(self) -> str:
        return (
            f"Comparisons({self.n_items} items, {self.n_annotators} annotators, "
            f"{self.n_comparisons} comparisons)"
        )

    def wins(self) -> np.ndarray:
        """Number of comparisons each item won."""
        return self._win_counts.copy()

    @cached_property
    def _win_counts(self) -> np.ndarray:
        return np.bincount(self.winner, minlength=self.n_items).astype(np.float64)

    @cached_property
    def _pair_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The distinct compared pairs ``(lo, hi)`` (``lo < hi``), the pair of each comparison, and whether
        ``lo`` won it."""
        lo = np.minimum(self.winner, self.loser).astype(np.int64)
        hi = np.maximum(self.winner, self.loser).astype(np.int64)
        keys, inverse = np.unique(lo * self.n_items + hi, return_inverse=True)
        return keys // self.n_items, keys % self.n_items, inverse, (self.winner == lo).astype(np.float64)

    def _pairs(
        self, weight: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(lo, hi, count, lo_wins)`` over the distinct pairs, counts weighted by ``weight`` if given."""
        lo, hi, inverse, lo_won = self._pair_index
        w = np.ones(len(inverse)) if weight is None else weight
        count = np.bincount(inverse, weights=w, minlength=len(lo))
        return lo, hi, count, np.bincount(inverse, weights=w * lo_won, minlength=len(lo))

    def losses(self) -> np.ndarray:
        """Number of comparisons each item lost."""
        return np.bincount(self.loser, minlength=self.n_items)

    def to_frame(self) -> pd.DataFrame:
        """One row per comparison: annotator, left, right, winner (the user's ids)."""
        left = np.where(self.left_won, self.winner, self.loser)
        right = np.where(self.left_won, self.loser, self.winner)
        return pd.DataFrame(
            {
                "annotator": self.annotators[self.annotator],
                "left": self.items[left],
                "right": self.items[right],
                "winner": self.items[self.winner],
            }
        )


def _frozen(values: np.ndarray, dtype: type) -> np.ndarray:
    arr: np.ndarray = np.ascontiguousarray(values, dtype=dtype)
    arr.flags.writeable = False
    return arr


def _check_missing(table: pd.DataFrame, cols: dict[str, Hashable]) -> None:
    for role in ("annotator", "left", "right", "winner"):
        bad = table[role].isna().to_numpy()
        if bad.any():
            hint = " (a tie or no answer: drop those rows)" if role == "winner" else ""
            raise InvalidAnnotationsError(
                f"the {role} column {cols[role]!r} is missing on {_rows(bad, table.index)}{hint}"
            )
    same = (table["left"].astype(str) == table["right"].astype(str)).to_numpy()
    if same.any():
        raise InvalidAnnotationsError(
            f"an item is compared with itself on {_rows(same, table.index)}: left and right must differ"
        )


def _left_won(table: pd.DataFrame, cols: dict[str, Hashable]) -> np.ndarray:
    left_text, right_text = table["left"].astype(str), table["right"].astype(str)
    winner_text = table["winner"].astype(str)
    is_left = (winner_text == left_text).to_numpy()
    is_right = (winner_text == right_text).to_numpy()
    bad = ~(is_left | is_right)
    if bad.any():
        raise InvalidAnnotationsError(
            f"the winner column {cols['winner']!r} must name the left or the right item, but on "
            f"{_rows(bad, table.index)} it is {_show(list(table['winner'].to_numpy()[bad]))}. Fix those rows "
            "(drop ties)"
        )
    return is_left


# ---------------------------------------------------------------------------------------------------- result
class PairwiseConsensus(TaskTables):
    """Item scores (log-strengths) with standard errors, a ranking, and each annotator's agreement.

    Parameters
    ----------
    comparisons : Comparisons
    scores, se : ndarray, shape (n_items,)
        ``score_i = log p_i``; ``P(i beats j) = expit(score_i - score_j)``.
    method : str
    history : pandas.DataFrame, optional
    annotator_scores : dict of name -> array, optional
        Extra columns for ``annotator_quality``.
    level : float
        Coverage of the ``lower`` / ``upper`` interval on the scores.
    """

    def __init__(
        self,
        comparisons: Comparisons,
        scores: np.ndarray,
        se: np.ndarray,
        method: str,
        *,
        history: pd.DataFrame | None = None,
        annotator_scores: dict[str, np.ndarray] | None = None,
        params: dict[str, Any] | None = None,
        level: float = 0.95,
    ) -> None:
        self.comparisons = comparisons
        self.scores_array = np.asarray(scores, dtype=np.float64)
        self.se_array = np.asarray(se, dtype=np.float64)
        if self.scores_array.shape != (comparisons.n_items,):
            raise ValueError(f"scores must have shape ({comparisons.n_items},)")
        self.method = method
        self.history = history if history is not None else pd.DataFrame()
        self.annotator_scores = dict(annotator_scores or {})
        self.params = dict(params or {})
        self.level = float(level)

    def __repr__(self) -> str:
        c = self.comparisons
        return (
            f"PairwiseConsensus(method={self.method!r}, {c.n_items} items, {c.n_annotators} annotators, "
            f"{c.n_comparisons} comparisons)"
        )

    @cached_property
    def scores(self) -> pd.Series:
        """Score (log-strength) per item, indexed by the user's item ids."""
        return pd.Series(self.scores_array, index=self.comparisons.items, name="score")

    @cached_property
    def ranking(self) -> pd.Series:
        """Rank per item: 1 = highest score; equal scores share the best rank."""
        ranks = self.scores.rank(ascending=False, method="min").astype(np.int64)
        return ranks.rename("rank")

    def win_probability(self, item: Any, other: Any) -> float:
        """``P(item beats other) = expit(score_item - score_other)``."""
        return float(expit(self.scores[item] - self.scores[other]))

    @cached_property
    def item_quality(self) -> pd.DataFrame:
        """One row per item: score, se, lower, upper, rank, n_comparisons, wins, losses, win_rate."""
        c = self.comparisons
        z = float(ndtri(0.5 + self.level / 2))
        wins, losses = c.wins(), c.losses()
        n = wins + losses
        return pd.DataFrame(
            {
                "score": self.scores_array,
                "se": self.se_array,
                "lower": self.scores_array - z * self.se_array,
                "upper": self.scores_array + z * self.se_array,
                "rank": self.ranking.to_numpy(),
                "n_comparisons": n.astype(np.int64),
                "wins": wins.astype(np.int64),
                "losses": losses.astype(np.int64),
                "win_rate": wins / n,
            },
            index=c.items,
        )

    @cached_property
    def annotator_quality(self) -> pd.DataFrame:
        """One row per annotator: n_comparisons, agreement (share of their answers where the winner has the
        higher score; a tie counts one half), and model extras (``reliability``, ``left_bias``)."""
        c = self.comparisons
        diff = self.scores_array[c.winner] - self.scores_array[c.loser]
        agree = np.where(diff > 0, 1.0, np.where(diff == 0, 0.5, 0.0))
        n = np.bincount(c.annotator, minlength=c.n_annotators).astype(np.float64)
        frame = pd.DataFrame(
            {
                "n_comparisons": n.astype(np.int64),
                "agreement": np.bincount(c.annotator, weights=agree, minlength=c.n_annotators) / n,
            },
            index=c.annotators,
        )
        for name, values in self.annotator_scores.items():
            frame[name] = values
        return frame

    def to_frame(self) -> pd.DataFrame:
        """One row per item, best first: ``item`` and the ``item_quality`` columns."""
        frame = id_column(self.item_quality, "item")
        return frame.sort_values("rank", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------- math
def _mm_step(c: Comparisons, p: np.ndarray, a: float, b: float) -> np.ndarray:
    """One MM update of the strengths (Hunter 2004) under a Gamma(a, b) prior (Caron & Doucet 2012):
    ``p_i = (W_i + a - 1) / (b + sum_r [i in r] / (p_winner_r + p_loser_r))``, ``W_i`` the wins."""
    inv = 1.0 / (p[c.winner] + p[c.loser])
    denom = (
        b
        + np.bincount(c.winner, weights=inv, minlength=c.n_items)
        + np.bincount(c.loser, weights=inv, minlength=c.n_items)
    )
    return (c._win_counts + a - 1.0) / denom


def _bt_log_posterior(
    c: Comparisons, p: np.ndarray, a: float, b: float, weight: np.ndarray | None = None
) -> float:
    """``sum_r w_r log(p_winner / (p_winner + p_loser))`` plus the gamma log prior."""
    theta = np.log(p)
    log_total = np.log(p[c.winner] + p[c.loser])
    if weight is None:
        loglik = float(c._win_counts @ theta) - float(np.sum(log_total))
    else:
        loglik = float(weight @ (theta[c.winner] - log_total))
    return loglik + _gamma_log_prior(p, a, b)


def _gamma_log_prior(p: np.ndarray, a: float, b: float) -> float:
    if b == 0:
        return 0.0
    return float(np.sum(a * np.log(b) - gammaln(a) + (a - 1) * np.log(p) - b * p))


def _standard_errors(c: Comparisons, p: np.ndarray, weight: np.ndarray | None, b: float) -> np.ndarray:
    """Standard errors of ``log p`` from the observed Fisher information.

    ``H = sum_r w_r q_r (1 - q_r) (e_winner - e_loser)(e_winner - e_loser)' + diag(b p)`` with
    ``q_r = p_winner / (p_winner + p_loser)``: a weighted graph Laplacian plus the prior's curvature. Without
    a prior (``b = 0``) ``H`` is singular along the common shift of all scores; the pseudo-inverse gives the
    errors of scores centred to mean zero. Above 2000 items only the diagonal of ``H`` is inverted.
    """
    w = np.ones(c.n_comparisons) if weight is None else weight
    q = p[c.winner] / (p[c.winner] + p[c.loser])
    edge = w * q * (1.0 - q)
    n = c.n_items
    degree = np.bincount(c.winner, weights=edge, minlength=n) + np.bincount(
        c.loser, weights=edge, minlength=n
    )
    diag = degree + b * p
    if n > _EXACT_SE_MAX_ITEMS:
        return np.sqrt(1.0 / np.maximum(diag, 1e-300))
    rows = np.concatenate([c.winner, c.loser])
    cols = np.concatenate([c.loser, c.winner])
    hessian = sparse.coo_matrix((-np.concatenate([edge, edge]), (rows, cols)), shape=(n, n)).toarray()
    hessian[np.diag_indices(n)] += diag
    if b == 0:
        return np.sqrt(np.clip(np.diag(np.linalg.pinv(hessian, hermitian=True)), 0.0, None))
    try:
        inverse = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:  # singular in floating point: the pseudo-inverse
        inverse = np.linalg.pinv(hessian, hermitian=True)
    return np.sqrt(np.clip(np.diag(inverse), 0.0, None))


def _check_connected(c: Comparisons) -> None:
    """Without a prior the maximum-likelihood scores exist only when every item can reach every other along
    "beat" edges (Hunter 2004, Assumption 1): the win graph must be strongly connected."""
    graph = sparse.coo_matrix((np.ones(c.n_comparisons), (c.winner, c.loser)), shape=(c.n_items, c.n_items))
    n_parts, labels = connected_components(graph, directed=True, connection="strong")
    if n_parts > 1:
        sizes = np.bincount(labels)
        small = np.flatnonzero(labels == np.argmin(sizes))
        raise InvalidParameterError(
            f"prior=0 needs every item to have beaten, directly or through others, every other item, but "
            f"the comparisons split into {n_parts} groups (e.g. {_show(list(c.items[small]))} never beat or "
            "never lost to the rest). Use prior > 0 (the default) for finite scores"
        )


def as_comparisons(data: Comparisons | pd.DataFrame) -> Comparisons:
    """Accept a :class:`Comparisons` or a long DataFrame (annotator, left, right, winner columns)."""
    return as_input(data, Comparisons, Comparisons.from_frame, " with annotator, left, right, winner columns")


# ---------------------------------------------------------------------------------------------------- models
_Model = TypeVar("_Model", bound="_PairwiseModel")


class _PairwiseModel(Estimator[PairwiseConsensus]):
    """Common surface: ``fit`` returns ``self``; ``scores_``, ``ranking_`` and ``consensus_`` after."""

    name = "pairwise"
    _fit_input = "comparisons"
    prior: float = 1.0
    max_iter: int = 1000
    tol: float = 1e-8
    level: float = 0.95
    comparisons_: Comparisons

    def fit(self: _Model, comparisons: Comparisons | pd.DataFrame) -> _Model:  # noqa: PYI019
        """Fit the model and return ``self``."""
        data = as_comparisons(comparisons)
        self._check()
        self.comparisons_ = data
        self.consensus_ = self._fit(data)
        return self

    def _check(self) -> None:
        if not isinstance(self.prior, numbers.Real) or float(self.prior) < 0:
            raise InvalidParameterError(f"prior must be a number >= 0; got {self.prior!r}")
        if not isinstance(self.tol, numbers.Real) or not float(self.tol) > 0:
            raise InvalidParameterError(f"tol must be a positive number; got {self.tol!r}")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise InvalidParameterError(f"max_iter must be an integer >= 1; got {self.max_iter!r}")
        if not isinstance(self.level, numbers.Real) or not 0 < float(self.level) < 1:
            raise InvalidParameterError(f"level must be a number in (0, 1); got {self.level!r}")

    def _fit(self, comparisons: Comparisons) -> PairwiseConsensus:
        raise NotImplementedError

    def _finish(self, rows: list[tuple[int, float, float]], converged: bool) -> pd.DataFrame:
        self.n_iter_ = len(rows)
        self.converged_ = converged
        self.history_ = pd.DataFrame(rows, columns=["iteration", "objective", "max_change"])
        if not converged:
            warnings.warn(
                f"{type(self).__name__} stopped at max_iter={self.max_iter} before the scores settled "
                f"(tol={self.tol}); raise max_iter",
                ConvergenceWarning,
                stacklevel=4,
            )
        return self.history_

    def fit_predict(self, comparisons: Comparisons | pd.DataFrame) -> pd.Series:
        """Fit and return the score of each item."""
        return self.fit(comparisons).scores_

    @property
    def scores_(self) -> pd.Series:
        return self._fitted().scores

    @property
    def ranking_(self) -> pd.Series:
        return self._fitted().ranking


def _gamma_parameters(prior: float) -> tuple[float, float]:
    """Gamma(1 + prior, prior) on each strength: mode 1 (score 0), worth about ``prior`` comparisons."""
    return 1.0 + prior, prior


class BradleyTerry(_PairwiseModel):
    """Bradley-Terry scores by Newton's method or the MM algorithm, with a gamma prior for finite scores.

    Parameters
    ----------
    prior : float, default 1.0
        Strength of a Gamma(1 + prior, prior) prior on each item's strength ``p_i`` (mode 1, i.e. score 0):
        about ``prior`` virtual comparisons per item against an average item. ``0`` is maximum likelihood
        (Hunter's algorithm; the win graph must then be strongly connected, and scores are centred to mean 0).
    solver : {"newton", "mm"}, default "newton"
        ``"newton"``: Newton-Raphson steps on the scores, each solved by preconditioned conjugate gradients
        and kept only if the log posterior rises (halving the step otherwise); a few iterations suffice.
        ``"mm"``: Hunter's MM update with adaptive over-relaxation; linear convergence, slow when strengths
        are far apart. Both reach the same maximum.
    max_iter : int, default 1000
    tol : float, default 1e-8
        Stop when no score changes by more than ``tol``.
    level : float, default 0.95
        Coverage of the reported interval on the scores.

    Attributes
    ----------
    consensus_ : PairwiseConsensus
    scores_, ranking_ : pandas.Series
    n_iter_, converged_, history_
        ``history_`` has one row per iteration: ``iteration``, ``objective`` (log posterior), ``max_change``.

    Notes
    -----
    ``P(i beats j) = p_i / (p_i + p_j)`` and ``score_i = log p_i``. With ``W_i`` wins, the MM update

    ``p_i <- (W_i + a - 1) / (b + sum_j n_ij / (p_i + p_j))``,

    (``n_ij`` comparisons of ``i`` and ``j``, Gamma(a, b) prior) raises the log posterior at every step
    (Hunter 2004; Caron & Doucet 2012 for the prior). Newton's step solves ``H d = g`` with the gradient
    ``g_i = sum_r (1 - q_r)([i won r] - [i lost r]) + a - 1 - b p_i`` (``q_r`` the fitted probability of the
    observed winner) and ``H`` the information below, using only sums over the distinct compared pairs.
    The standard errors come from the inverse of the
    observed Fisher information of the scores, a weighted graph Laplacian plus the prior's curvature
    ``b p_i``. For two items compared ``w + l`` times, ``w`` won by the first, maximum likelihood gives
    ``p_1 / p_2 = w / l``.

    References
    ----------
    R. A. Bradley, M. E. Terry. Rank analysis of incomplete block designs: I. The method of paired
    comparisons. Biometrika 39(3/4):324-345, 1952. https://doi.org/10.2307/2334029

    D. R. Hunter. MM algorithms for generalized Bradley-Terry models. The Annals of Statistics 32(1):384-406,
    2004. https://doi.org/10.1214/aos/1079120141

    F. Caron, A. Doucet. Efficient Bayesian inference for generalized Bradley-Terry models. Journal of
    Computational and Graphical Statistics 21(1):174-196, 2012. https://doi.org/10.1080/10618600.2012.638220

    R. Salakhutdinov, S. Roweis. Adaptive overrelaxed bound optimization methods. Proceedings of the 20th
    International Conference on Machine Learning (ICML), 2003.

    Examples
    --------
    >>> df = pd.DataFrame({"annotator": list("abcd"), "left": ["x"] * 4, "right": ["y"] * 4,
    ...                    "winner": ["x", "x", "x", "y"]})
    >>> scores = BradleyTerry(prior=0).fit(df).scores_
    >>> round(float(np.exp(scores["x"] - scores["y"])), 6)
    3.0
    """

    name = "bt"

    def __init__(
        self,
        *,
        prior: float = 1.0,
        solver: str = "newton",
        max_iter: int = 1000,
        tol: float = 1e-8,
        level: float = 0.95,
    ) -> None:
        self.prior = prior
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.level = level

    def _fit(self, comparisons: Comparisons) -> PairwiseConsensus:
        c = comparisons
        prior = float(self.prior)
        if prior == 0:
            _check_connected(c)
        a, b = _gamma_parameters(prior)
        if self.solver not in ("newton", "mm"):
            raise InvalidParameterError(f"solver must be 'newton' or 'mm'; got {self.solver!r}")
        fit = _fit_bt_newton if self.solver == "newton" else _fit_bt
        p, rows, converged = fit(c, a, b, int(self.max_iter), float(self.tol))
        history = self._finish(rows, converged)
        scores = np.log(p)
        se = _standard_errors(c, p, None, b)
        return PairwiseConsensus(
            c, scores, se, self.name, history=history, params=self.get_params(), level=float(self.level)
        )


def _fit_bt(
    c: Comparisons, a: float, b: float, max_iter: int, tol: float
) -> tuple[np.ndarray, list[tuple[int, float, float]], bool]:
    """Iterate the MM update from equal strengths, with adaptive over-relaxation; without a prior, keep the
    scores centred.

    Each iteration takes the MM step ``theta_1`` and also tries ``theta + omega (theta_1 - theta)`` in log
    space; the extrapolated point is kept only when its log posterior is at least that of ``theta_1`` (then
    ``omega`` grows by half), otherwise ``theta_1`` is kept and ``omega`` falls back to 1. The objective still
    rises at every iteration, and far fewer iterations are needed where plain MM crawls (Salakhutdinov &
    Roweis 2003).
    """
    theta = np.zeros(c.n_items)
    rows: list[tuple[int, float, float]] = []
    omega = 1.0
    for it in range(1, max_iter + 1):
        step = _centre(np.log(_mm_step(c, np.exp(theta), a, b)), b)
        objective = _bt_log_posterior(c, np.exp(step), a, b)
        if omega > 1.0:
            jump = _centre(theta + omega * (step - theta), b)
            jump_objective = _bt_log_posterior(c, np.exp(jump), a, b)
            if jump_objective >= objective:
                step, objective, omega = jump, jump_objective, min(1.5 * omega, 64.0)
            else:
                omega = 1.0
        else:
            omega = 1.5
        change = float(np.max(np.abs(step - theta)))
        theta = step
        rows.append((it, objective, change))
        if change <= tol:
            return np.exp(theta), rows, True
    return np.exp(theta), rows, False


def _fit_bt_newton(
    c: Comparisons, a: float, b: float, max_iter: int, tol: float
) -> tuple[np.ndarray, list[tuple[int, float, float]], bool]:
    """Newton-Raphson on the scores with a backtracking line search (the log posterior never falls)."""
    pairs = c._pairs()
    theta = np.zeros(c.n_items)
    objective = _bt_log_posterior(c, np.exp(theta), a, b)
    rows: list[tuple[int, float, float]] = []
    for it in range(1, max_iter + 1):
        theta, objective, change = _newton_step(c, theta, objective, pairs, None, a, b)
        rows.append((it, objective, change))
        if change <= tol:
            return np.exp(theta), rows, True
    return np.exp(theta), rows, False


def _newton_step(
    c: Comparisons,
    theta: np.ndarray,
    objective: float,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    weight: np.ndarray | None,
    a: float,
    b: float,
) -> tuple[np.ndarray, float, float]:
    """One safeguarded Newton step on the (weighted) Bradley-Terry log posterior, from pair sums."""
    lo, hi, count, lo_wins = pairs
    p = np.exp(theta)
    q_lo = p[lo] / (p[lo] + p[hi])
    resid = lo_wins - count * q_lo  # observed minus expected wins of the first item of each pair
    flow: np.ndarray = np.bincount(lo, weights=resid, minlength=c.n_items)
    grad = flow - np.bincount(hi, weights=resid, minlength=c.n_items) + (a - 1.0 - b * p)
    edge = count * q_lo * (1.0 - q_lo)
    step = _centre(_solve_laplacian(lo, hi, edge, b * p, grad), b)
    return _line_search(c, theta, step, objective, weight, a, b)


def _line_search(
    c: Comparisons,
    theta: np.ndarray,
    step: np.ndarray,
    objective: float,
    weight: np.ndarray | None,
    a: float,
    b: float,
) -> tuple[np.ndarray, float, float]:
    """The longest of ``theta + step / 2^k`` (k = 0..30) that does not lower the log posterior."""
    t = 1.0
    for _ in range(31):
        trial = _centre(theta + t * step, b)
        value = _bt_log_posterior(c, np.exp(trial), a, b, weight)
        if value >= objective:
            return trial, value, float(np.max(np.abs(trial - theta)))
        t /= 2.0
    return theta, objective, 0.0


def _solve_laplacian(
    lo: np.ndarray, hi: np.ndarray, edge: np.ndarray, ridge: np.ndarray, rhs: np.ndarray
) -> np.ndarray:
    """Solve ``(L + diag(ridge)) x = rhs`` by Jacobi-preconditioned conjugate gradients, ``L`` the graph
    Laplacian with weight ``edge`` on each pair; the product with ``L`` is two bincounts over the pairs."""
    n = len(rhs)
    diag = np.bincount(lo, weights=edge, minlength=n) + np.bincount(hi, weights=edge, minlength=n) + ridge
    diag = np.maximum(diag, 1e-12 * max(float(diag.max()), 1e-300))
    shift = 1e-10 * float(diag.mean())  # keeps the prior-free (singular) system well posed

    def matvec(x: np.ndarray) -> np.ndarray:
        flow = edge * (x[lo] - x[hi])
        return (
            np.bincount(lo, weights=flow, minlength=n)
            - np.bincount(hi, weights=flow, minlength=n)
            + (ridge + shift) * x
        )

    x = np.zeros(n)
    r = rhs.copy()
    z = r / diag
    d = z.copy()
    rz = float(r @ z)
    stop = 1e-20 * float(rhs @ rhs)
    for _ in range(max(50, 2 * n)):
        if float(r @ r) <= stop:
            break
        hd = matvec(d)
        alpha = rz / float(d @ hd)
        x += alpha * d
        r -= alpha * hd
        z = r / diag
        rz, rz_old = float(r @ z), rz
        d = z + (rz / rz_old) * d
    return x


def _centre(theta: np.ndarray, b: float) -> np.ndarray:
    """Without a prior (``b = 0``) the scores are defined up to a common shift: fix their mean at 0."""
    return theta - theta.mean() if b == 0 else theta


class NoisyBradleyTerry(_PairwiseModel):
    """Bradley-Terry with annotators who sometimes guess, and a position bias when they do (EM).

    Parameters
    ----------
    prior : float, default 1.0
        Gamma(1 + prior, prior) prior on the strengths, as in :class:`BradleyTerry` (must be > 0 here).
    reliability_prior : tuple of float, default (4.0, 2.0)
        Beta prior on each annotator's reliability (mode 0.75), so that one with few answers is neither fully
        trusted nor dismissed; text ``"4,2"`` works too.
    bias_prior : float, default 2.0
        Beta(bias_prior, bias_prior) prior on each annotator's left bias.
    max_iter : int, default 1000
    tol : float, default 1e-8
        Stop when no score, reliability or bias changes by more than ``tol``.
    level : float, default 0.95

    Attributes
    ----------
    consensus_ : PairwiseConsensus
        Its ``annotator_quality`` has ``reliability`` and ``left_bias`` columns.
    reliability_, left_bias_ : pandas.Series
    n_iter_, converged_, history_
        ``history_`` has one row per iteration: ``iteration``, ``objective`` (log posterior), ``max_change``.

    Notes
    -----
    Annotator ``a`` shown ``(l, r)`` says "left" with probability

    ``g_a expit(s_l - s_r) + (1 - g_a) beta_a``:

    with probability ``g_a`` (reliability) they answer from the Bradley-Terry model, otherwise they guess,
    picking the left item with probability ``beta_a``. This is the model crowd-kit fits as ``NoisyBT`` with a
    gradient method; here EM with a latent "answered from the model" indicator per comparison:

    - E-step: ``rho_r = g_a q_r / (g_a q_r + (1 - g_a) beta_a^y (1 - beta_a)^(1 - y))``, ``q_r`` the
      Bradley-Terry probability of the observed winner and ``y = 1`` if the left item won;
    - M-step: ``g_a = (sum rho + c - 1) / (n_a + c + d - 2)`` (Beta(c, d) prior), ``beta_a`` the smoothed
      share of "left" among the guesses, and one safeguarded Newton step of a Bradley-Terry fit weighted by
      ``rho`` (see :class:`BradleyTerry`).

    Each step raises the log posterior (generalised EM). The standard errors treat ``rho`` as known. CrowdBT
    (Chen et al. 2013) is the close relative in which an unreliable annotator flips the answer instead of
    guessing.

    References
    ----------
    D. R. Hunter. MM algorithms for generalized Bradley-Terry models. The Annals of Statistics 32(1):384-406,
    2004. https://doi.org/10.1214/aos/1079120141

    X. Chen, P. N. Bennett, K. Collins-Thompson, E. Horvitz. Pairwise ranking aggregation in a crowdsourced
    setting. WSDM 2013. https://doi.org/10.1145/2433396.2433420

    Examples
    --------
    >>> good = [("x", "y", "x"), ("z", "y", "y"), ("x", "z", "x"),
    ...         ("y", "x", "x"), ("y", "z", "y"), ("z", "x", "x")]
    >>> rows = [("good", *r) for r in good] * 2
    >>> rows += [("lefty", "z", "x", "z"), ("lefty", "y", "x", "y"), ("lefty", "z", "y", "z")] * 3
    >>> df = pd.DataFrame(rows, columns=["annotator", "left", "right", "winner"])
    >>> model = NoisyBradleyTerry().fit(df)
    >>> model.ranking_.sort_values().index.tolist()
    ['x', 'y', 'z']
    >>> bool(model.left_bias_["lefty"] > 0.7)
    True
    """

    name = "noisy_bt"

    def __init__(
        self,
        *,
        prior: float = 1.0,
        reliability_prior: tuple[float, float] = (4.0, 2.0),
        bias_prior: float = 2.0,
        max_iter: int = 1000,
        tol: float = 1e-8,
        level: float = 0.95,
    ) -> None:
        self.prior = prior
        self.reliability_prior = reliability_prior
        self.bias_prior = bias_prior
        self.max_iter = max_iter
        self.tol = tol
        self.level = level

    def _check(self) -> None:
        super()._check()
        if not float(self.prior) > 0:
            raise InvalidParameterError(
                f"NoisyBradleyTerry needs prior > 0 (got {self.prior!r}): the reliability "
                "and the spread of the scores are not identified without it"
            )
        values = [*_pair(self.reliability_prior), self.bias_prior]
        if len(values) != 3 or not all(isinstance(v, numbers.Real) and float(v) >= 1 for v in values):
            raise InvalidParameterError(
                f"reliability_prior must be two numbers >= 1 and bias_prior a number >= 1; "
                f"got {self.reliability_prior!r} and {self.bias_prior!r}"
            )

    def _fit(self, comparisons: Comparisons) -> PairwiseConsensus:
        c = comparisons
        a, b = _gamma_parameters(float(self.prior))
        state = _NoisyState(
            c, a, b, tuple(float(v) for v in _pair(self.reliability_prior)), float(self.bias_prior)
        )
        rows: list[tuple[int, float, float]] = []
        converged = False
        for it in range(1, int(self.max_iter) + 1):
            change = state.step()
            rows.append((it, state.log_posterior(), change))
            if change <= self.tol:
                converged = True
                break
        history = self._finish(rows, converged)
        rho = state.responsibilities()
        se = _standard_errors(c, state.p, rho, b)
        return PairwiseConsensus(
            c,
            np.log(state.p),
            se,
            self.name,
            history=history,
            params=self.get_params(),
            level=float(self.level),
            annotator_scores={"reliability": state.reliability, "left_bias": state.left_bias},
        )

    @property
    def reliability_(self) -> pd.Series:
        values = self._fitted().annotator_scores["reliability"]
        return pd.Series(values, index=self.comparisons_.annotators, name="reliability")

    @property
    def left_bias_(self) -> pd.Series:
        values = self._fitted().annotator_scores["left_bias"]
        return pd.Series(values, index=self.comparisons_.annotators, name="left_bias")


def _pair(value: Any) -> tuple[Any, ...]:
    """A prior given as a tuple, or as text ``"4,2"`` (from the command line)."""
    if isinstance(value, str):
        try:
            return tuple(float(v) for v in value.split(","))
        except ValueError:
            return (value,)
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


class _NoisyState:
    """Parameters of :class:`NoisyBradleyTerry` and its EM step, on the encoded arrays."""

    def __init__(
        self, c: Comparisons, a: float, b: float, rel_prior: tuple[float, ...], bias_prior: float
    ) -> None:
        self.c, self.a, self.b = c, a, b
        self.rel_prior, self.bias_prior = rel_prior, bias_prior
        self.p = np.ones(c.n_items)
        self.reliability = np.full(c.n_annotators, 0.75)
        self.left_bias = np.full(c.n_annotators, 0.5)
        self.n = np.bincount(c.annotator, minlength=c.n_annotators).astype(np.float64)

    def _parts(self) -> tuple[np.ndarray, np.ndarray]:
        """Per comparison: probability of the answer from the model, and from a guess (both with weights)."""
        c = self.c
        q = self.p[c.winner] / (self.p[c.winner] + self.p[c.loser])
        g = self.reliability[c.annotator]
        beta = self.left_bias[c.annotator]
        guess = np.where(c.left_won, beta, 1.0 - beta)
        return g * q, (1.0 - g) * guess

    def responsibilities(self) -> np.ndarray:
        model, guess = self._parts()
        return model / (model + guess)

    def step(self) -> float:
        c = self.c
        rho = self.responsibilities()
        d1, d2 = self.rel_prior
        reliability = (np.bincount(c.annotator, weights=rho, minlength=c.n_annotators) + d1 - 1) / (
            self.n + d1 + d2 - 2
        )
        guess_w = 1.0 - rho
        lefts = np.bincount(c.annotator, weights=guess_w * c.left_won, minlength=c.n_annotators)
        guesses = np.bincount(c.annotator, weights=guess_w, minlength=c.n_annotators)
        k = self.bias_prior
        left_bias = (
            (lefts + k - 1) / (guesses + 2 * k - 2)
            if k > 1
            else np.divide(lefts, guesses, out=np.full_like(lefts, 0.5), where=guesses > 0)
        )
        theta = np.log(self.p)
        start = _bt_log_posterior(c, self.p, self.a, self.b, rho)
        theta, _, _ = _newton_step(c, theta, start, c._pairs(rho), rho, self.a, self.b)
        p = np.exp(theta)
        change = max(
            float(np.max(np.abs(np.log(p) - np.log(self.p)))),
            float(np.max(np.abs(reliability - self.reliability))),
            float(np.max(np.abs(left_bias - self.left_bias))),
        )
        self.p, self.reliability = p, np.clip(reliability, 1e-12, 1 - 1e-12)
        self.left_bias = np.clip(left_bias, 1e-12, 1 - 1e-12)
        return change

    def log_posterior(self) -> float:
        model, guess = self._parts()
        loglik = float(np.sum(np.log(model + guess)))
        d1, d2 = self.rel_prior
        g, beta, k = self.reliability, self.left_bias, self.bias_prior
        log_rel = float(np.sum((d1 - 1) * np.log(g) + (d2 - 1) * np.log1p(-g)))
        log_bias = float(np.sum((k - 1) * (np.log(beta) + np.log1p(-beta))))
        return loglik + _gamma_log_prior(self.p, self.a, self.b) + log_rel + log_bias


PAIRWISE_METHODS: dict[str, type[_PairwiseModel]] = {
    "bt": BradleyTerry,
    "noisy_bt": NoisyBradleyTerry,
}


def aggregate_pairwise_frame(
    df: pd.DataFrame,
    method: str = "bt",
    *,
    annotator: Hashable | None = None,
    left: Hashable | None = None,
    right: Hashable | None = None,
    winner: Hashable | None = None,
    **params: Any,
) -> PairwiseConsensus:
    """CLI entry point: validate a table of comparisons, fit ``method`` and return its consensus.

    Parameters
    ----------
    df : pandas.DataFrame
    method : {"bt", "noisy_bt"}
    annotator, left, right, winner
        Column names, passed to :meth:`Comparisons.from_frame`.
    **params
        Keyword parameters of the model (e.g. ``prior=0.5``).

    Examples
    --------
    >>> df = pd.DataFrame({"annotator": ["a", "b"], "left": ["x", "y"], "right": ["y", "x"],
    ...                    "winner": ["x", "x"]})
    >>> aggregate_pairwise_frame(df).to_frame()[["item", "rank", "wins"]]
      item  rank  wins
    0    x     1     2
    1    y     2     0
    """
    if method not in PAIRWISE_METHODS:
        raise InvalidParameterError(
            f"unknown pairwise method {method!r}; choose one of {', '.join(PAIRWISE_METHODS)}"
        )
    data = Comparisons.from_frame(df, annotator=annotator, left=left, right=right, winner=winner)
    try:
        model = PAIRWISE_METHODS[method](**params)
    except TypeError as exc:
        raise InvalidParameterError(f"bad parameter for {method}: {exc}") from None
    return model.fit(data).consensus_
