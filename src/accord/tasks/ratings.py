"""Numeric ratings: a consensus value per item, with an interval, and each annotator's bias and noise.

Input is a long table with one numeric rating per (item, annotator): ``Ratings.from_frame(df, item=...,
annotator=..., value=...)`` validates and encodes it once. Three models turn it into a
:class:`RatingConsensus`:

- :class:`MeanRating` -- the mean of each item's ratings;
- :class:`MedianRating` -- their median (robust to a few wild ratings);
- :class:`BiasNoiseRating` -- every annotator has an additive bias and a noise variance, and every item a
  difficulty that scales the noise, fitted by EM with conjugate priors, so that a consistent offset is
  removed, noisy annotators count less and disputed items get wide intervals (Raykar et al. 2010, regression
  case).

Examples
--------
>>> df = pd.DataFrame({"item": ["x", "x", "y", "y"], "annotator": ["a", "b", "a", "b"],
...                    "value": [1.0, 3.0, 2.0, 6.0]})
>>> MeanRating().fit(df).values_.tolist()
[2.0, 4.0]
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Hashable
from functools import cached_property
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd
from scipy.special import gammaln, ndtri

from ..errors import ConvergenceWarning, InvalidAnnotationsError, InvalidParameterError
from ..models._base import Estimator, as_input
from ._tables import Sizes, TaskTables, find_column, id_column, rows_text, show_values

__all__ = [
    "RATING_METHODS",
    "BiasNoiseRating",
    "MeanRating",
    "MedianRating",
    "RatingConsensus",
    "Ratings",
    "aggregate_ratings_frame",
]

_ALIASES = {
    "item": ("item", "task", "item_id", "task_id"),
    "annotator": ("annotator", "worker", "annotator_id", "worker_id", "rater"),
    "value": ("value", "rating", "score", "label", "answer"),
}
RatingDuplicates = Literal["error", "mean", "keep_first", "keep_last"]


_show = show_values
_rows = rows_text


def _column(df: pd.DataFrame, role: str, given: Hashable | None) -> Hashable:
    return find_column(df, role, given, _ALIASES[role], named=3)


# ---------------------------------------------------------------------------------------------------- input
class Ratings(Sizes):
    """Numeric ratings given by annotators to items, validated and encoded.

    Attributes
    ----------
    items, annotators : pandas.Index
        The user's ids; position = integer code.
    item, annotator : ndarray of int32, shape (n_ratings,)
        Codes of each rating (read-only).
    value : ndarray of float64, shape (n_ratings,)
        The ratings (read-only, finite).
    report : list of str
        What a policy changed or dropped while building.

    Examples
    --------
    >>> df = pd.DataFrame({"item": [1, 1, 2], "annotator": ["a", "b", "a"], "value": ["4", "5", "2.5"]})
    >>> Ratings.from_frame(df)
    Ratings(2 items, 2 annotators, 3 ratings, values in [2.5, 5])
    """

    def __init__(
        self,
        item: np.ndarray,
        annotator: np.ndarray,
        value: np.ndarray,
        items: pd.Index,
        annotators: pd.Index,
        report: list[str] | None = None,
    ) -> None:
        self.item = _frozen(item, np.int32)
        self.annotator = _frozen(annotator, np.int32)
        self.value = _frozen(value, np.float64)
        self.items = items
        self.annotators = annotators
        self.report = list(report or [])

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        item: Hashable | None = None,
        annotator: Hashable | None = None,
        value: Hashable | None = None,
        duplicates: RatingDuplicates = "error",
        missing: Literal["error", "drop"] = "error",
    ) -> Ratings:
        """Build from a long table with one row per rating.

        Parameters
        ----------
        df : pandas.DataFrame
            Columns ``item, annotator, value`` (``task``/``worker`` and ``rating``/``score``/``label`` are
            recognised too). Values may be numbers or numeric text (as read from CSV).
        item, annotator, value : column names, optional
        duplicates : {"error", "mean", "keep_first", "keep_last"}
            What to do when an annotator rated the same item more than once; ``"mean"`` averages the repeats.
        missing : {"error", "drop"}
            What to do with a missing value (NaN, None, empty text).
        """
        if not isinstance(df, pd.DataFrame):
            raise InvalidAnnotationsError(
                f"expected a pandas DataFrame with columns item, annotator, value; got {type(df).__name__}"
            )
        _check_choice("duplicates", duplicates, ("error", "mean", "keep_first", "keep_last"))
        _check_choice("missing", missing, ("error", "drop"))
        if len(df) == 0:
            raise InvalidAnnotationsError("the ratings are empty: the table has no rows")
        cols = {
            role: _column(df, role, given)
            for role, given in (("item", item), ("annotator", annotator), ("value", value))
        }
        table = pd.DataFrame({role: df[c].to_numpy() for role, c in cols.items()}, index=df.index)
        _check_ids(table, cols)
        report: list[str] = []
        table = _numeric_values(table, cols["value"], missing, report)
        table = _resolve_duplicates(table, duplicates, report)
        item_codes, items = pd.factorize(table["item"], sort=False)
        ann_codes, annotators = pd.factorize(table["annotator"], sort=False)
        return cls(
            item_codes,
            ann_codes,
            table["value"].to_numpy(dtype=np.float64),
            pd.Index(items, name="item"),
            pd.Index(annotators, name="annotator"),
            report,
        )

    @property
    def n_ratings(self) -> int:
        return len(self.value)

    def __len__(self) -> int:
        return self.n_ratings

    def __repr__(self) -> str:
        lo, hi = self.value.min(), self.value.max()
        return (
            f"Ratings({self.n_items} items, {self.n_annotators} annotators, {self.n_ratings} ratings, "
            f"values in [{lo:g}, {hi:g}])"
        )

    def item_sizes(self) -> np.ndarray:
        """Number of ratings of each item."""
        return np.bincount(self.item, minlength=self.n_items)

    def annotator_sizes(self) -> np.ndarray:
        """Number of ratings by each annotator."""
        return np.bincount(self.annotator, minlength=self.n_annotators)

    def to_frame(self) -> pd.DataFrame:
        """One row per rating with the user's ids: item, annotator, value."""
        return pd.DataFrame(
            {"item": self.items[self.item], "annotator": self.annotators[self.annotator], "value": self.value}
        )


def _frozen(values: np.ndarray, dtype: type) -> np.ndarray:
    arr: np.ndarray = np.ascontiguousarray(values, dtype=dtype)
    arr.flags.writeable = False
    return arr


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidParameterError(
            f"{name} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}"
        )


def _check_ids(table: pd.DataFrame, cols: dict[str, Hashable]) -> None:
    for role in ("item", "annotator"):
        bad = table[role].isna().to_numpy()
        if bad.any():
            raise InvalidAnnotationsError(
                f"the {role} column {cols[role]!r} is missing on "
                f"{_rows(bad, table.index)}; every rating needs an {role} id"
            )


def _numeric_values(table: pd.DataFrame, column: Hashable, missing: str, report: list[str]) -> pd.DataFrame:
    raw = table["value"]
    blank = raw.isna().to_numpy() | raw.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(
        dtype=bool
    )
    text = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
    numbers_ = pd.to_numeric(text.where(~blank), errors="coerce").to_numpy(dtype=np.float64)
    bad = (~blank & ~np.isfinite(numbers_)) | raw.map(lambda v: isinstance(v, bool)).to_numpy(dtype=bool)
    if bad.any():
        raise InvalidAnnotationsError(
            f"the value column {column!r} must hold finite numbers, but {_rows(bad, table.index)} hold "
            f"{_show(list(pd.unique(raw.to_numpy()[bad])))}. Fix those rows (or use the multi-label or "
            "classification tasks for categorical answers)"
        )
    if blank.any():
        if missing == "error":
            raise InvalidAnnotationsError(
                f"the value column {column!r} is missing on {_rows(blank, table.index)}. Drop those rows, or "
                "pass missing='drop'"
            )
        if blank.all():
            raise InvalidAnnotationsError("the ratings are empty: every value is missing")
        report.append(f"dropped {int(blank.sum())} rating(s) with a missing value")
    out = table.assign(value=numbers_)
    return out.loc[~blank]


def _resolve_duplicates(table: pd.DataFrame, duplicates: str, report: list[str]) -> pd.DataFrame:
    dup = table.duplicated(subset=["item", "annotator"], keep=False).to_numpy()
    if not dup.any():
        return table
    pairs = table.loc[dup, ["item", "annotator"]].drop_duplicates()
    if duplicates == "error":
        shown = _show(list(pairs.itertuples(index=False, name=None)))
        raise InvalidAnnotationsError(
            f"{len(pairs)} (item, annotator) pair(s) are rated more than once, e.g. {shown} (rows "
            f"{_show(list(table.index[dup]))}). Pass duplicates='mean', 'keep_first' or 'keep_last' to choose"
        )
    if duplicates == "mean":
        out = table.groupby(["item", "annotator"], sort=False, as_index=False)["value"].mean()
        report.append(f"averaged the repeated ratings of {len(pairs)} (item, annotator) pair(s)")
        return out
    keep: Literal["first", "last"] = "last" if duplicates == "keep_last" else "first"
    out = table.loc[~table.duplicated(subset=["item", "annotator"], keep=keep)]
    report.append(f"dropped {len(table) - len(out)} repeated rating(s), keeping the {keep} of each pair")
    return out


# ---------------------------------------------------------------------------------------------------- result
class RatingConsensus(TaskTables):
    """Consensus value per item with an interval, and the bias and noise of each annotator.

    Parameters
    ----------
    ratings : Ratings
    values, sd : ndarray, shape (n_items,)
        Consensus value and its standard deviation (posterior sd or standard error).
    method : str
    bias, noise_sd : ndarray, shape (n_annotators,), optional
        Model estimates; default: the mean residual of each annotator against the consensus, and the root mean
        square of the residual left after removing that bias.
    history : pandas.DataFrame, optional
    item_scores, annotator_scores : dict of name -> array, optional
        Extra columns for ``item_quality`` / ``annotator_quality``.
    level : float
        Coverage of the ``lower`` / ``upper`` interval (normal approximation).
    """

    def __init__(
        self,
        ratings: Ratings,
        values: np.ndarray,
        sd: np.ndarray,
        method: str,
        *,
        bias: np.ndarray | None = None,
        noise_sd: np.ndarray | None = None,
        history: pd.DataFrame | None = None,
        item_scores: dict[str, np.ndarray] | None = None,
        annotator_scores: dict[str, np.ndarray] | None = None,
        params: dict[str, Any] | None = None,
        level: float = 0.95,
    ) -> None:
        self.ratings = ratings
        self.values_array = np.asarray(values, dtype=np.float64)
        self.sd_array = np.asarray(sd, dtype=np.float64)
        if self.values_array.shape != (ratings.n_items,) or self.sd_array.shape != (ratings.n_items,):
            raise ValueError(f"values and sd must have shape ({ratings.n_items},)")
        self.method = method
        resid = ratings.value - self.values_array[ratings.item]
        default_bias, default_noise = _residual_bias_noise(resid, ratings.annotator, ratings.n_annotators)
        self.bias_array = default_bias if bias is None else np.asarray(bias, dtype=np.float64)
        self.noise_sd_array = default_noise if noise_sd is None else np.asarray(noise_sd, dtype=np.float64)
        self.history = history if history is not None else pd.DataFrame()
        self.item_scores = dict(item_scores or {})
        self.annotator_scores = dict(annotator_scores or {})
        self.params = dict(params or {})
        self.level = float(level)

    def __repr__(self) -> str:
        r = self.ratings
        return f"RatingConsensus(method={self.method!r}, {r.n_items} items, {r.n_annotators} annotators)"

    @cached_property
    def values(self) -> pd.Series:
        """Consensus value per item, indexed by the user's item ids."""
        return pd.Series(self.values_array, index=self.ratings.items, name="value")

    @cached_property
    def sd(self) -> pd.Series:
        """Standard deviation of each consensus value."""
        return pd.Series(self.sd_array, index=self.ratings.items, name="sd")

    @cached_property
    def item_quality(self) -> pd.DataFrame:
        """One row per item: value, sd, lower, upper, n_annotations, spread (sd of the raw ratings)."""
        r = self.ratings
        z = float(ndtri(0.5 + self.level / 2))
        n = r.item_sizes().astype(np.float64)
        mean = np.bincount(r.item, weights=r.value, minlength=r.n_items) / n
        spread = np.sqrt(np.bincount(r.item, weights=(r.value - mean[r.item]) ** 2, minlength=r.n_items) / n)
        frame = pd.DataFrame(
            {
                "value": self.values_array,
                "sd": self.sd_array,
                "lower": self.values_array - z * self.sd_array,
                "upper": self.values_array + z * self.sd_array,
                "n_annotations": n.astype(np.int64),
                "spread": spread,
            },
            index=r.items,
        )
        for name, values in self.item_scores.items():
            frame[name] = values
        return frame

    @cached_property
    def annotator_quality(self) -> pd.DataFrame:
        """One row per annotator: n_labels, bias, noise_sd, mae and correlation with the consensus, + extras.

        ``mae`` is the mean absolute difference between the annotator's ratings and the consensus;
        ``correlation`` the Pearson correlation between them over the annotator's items (NaN with fewer than
        two items or constant ratings).
        """
        r = self.ratings
        n = r.annotator_sizes().astype(np.float64)
        truth = self.values_array[r.item]
        mae = np.bincount(r.annotator, weights=np.abs(r.value - truth), minlength=r.n_annotators) / n
        frame = pd.DataFrame(
            {
                "n_labels": n.astype(np.int64),
                "bias": self.bias_array,
                "noise_sd": self.noise_sd_array,
                "mae": mae,
                "correlation": _grouped_correlation(r.value, truth, r.annotator, r.n_annotators),
            },
            index=r.annotators,
        )
        for name, values in self.annotator_scores.items():
            frame[name] = values
        return frame

    @cached_property
    def annotation_quality(self) -> pd.DataFrame:
        """One row per rating: item, annotator, value, and residual = value - consensus - annotator bias."""
        r = self.ratings
        frame = r.to_frame()
        frame["residual"] = r.value - self.values_array[r.item] - self.bias_array[r.annotator]
        return frame

    def to_frame(self) -> pd.DataFrame:
        """One row per item: ``item`` and the ``item_quality`` columns."""
        return id_column(self.item_quality, "item")


def _residual_bias_noise(resid: np.ndarray, annotator: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    count = np.bincount(annotator, minlength=n).astype(np.float64)
    bias = np.bincount(annotator, weights=resid, minlength=n) / count
    noise = np.sqrt(np.bincount(annotator, weights=(resid - bias[annotator]) ** 2, minlength=n) / count)
    return bias, noise


def _grouped_correlation(x: np.ndarray, y: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Pearson correlation of ``x`` and ``y`` within each group (NaN where undefined)."""
    count = np.bincount(group, minlength=n).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.bincount(group, weights=x, minlength=n) / count
        my = np.bincount(group, weights=y, minlength=n) / count
        dx, dy = x - mx[group], y - my[group]
        sxy = np.bincount(group, weights=dx * dy, minlength=n)
        sxx = np.bincount(group, weights=dx * dx, minlength=n)
        syy = np.bincount(group, weights=dy * dy, minlength=n)
        denom = np.sqrt(sxx * syy)
        tiny = 1e-12 * (1.0 + np.bincount(group, weights=x * x + y * y, minlength=n))
        return np.where((count >= 2) & (denom > tiny), sxy / np.where(denom > 0, denom, 1.0), np.nan)


# ---------------------------------------------------------------------------------------------------- models
def as_ratings(data: Ratings | pd.DataFrame) -> Ratings:
    """Accept a :class:`Ratings` or a long DataFrame (item, annotator, value columns)."""
    return as_input(data, Ratings, Ratings.from_frame, " with item, annotator, value columns")


_Model = TypeVar("_Model", bound="_RatingModel")


class _RatingModel(Estimator[RatingConsensus]):
    """Common surface: ``fit`` returns ``self``; ``values_``, ``sd_`` and ``consensus_`` after."""

    name = "rating"
    _fit_input = "ratings"
    level: float = 0.95
    ratings_: Ratings

    def fit(self: _Model, ratings: Ratings | pd.DataFrame) -> _Model:  # noqa: PYI019
        """Fit the model to a :class:`Ratings` (or a long DataFrame) and return ``self``."""
        data = as_ratings(ratings)
        _check_level(self.level)
        self.ratings_ = data
        self.consensus_ = self._fit(data)
        return self

    def _fit(self, ratings: Ratings) -> RatingConsensus:
        raise NotImplementedError

    def fit_predict(self, ratings: Ratings | pd.DataFrame) -> pd.Series:
        """Fit and return the consensus value of each item."""
        return self.fit(ratings).values_

    @property
    def values_(self) -> pd.Series:
        return self._fitted().values

    @property
    def sd_(self) -> pd.Series:
        return self._fitted().sd


def _check_level(level: float) -> None:
    if not isinstance(level, numbers.Real) or not 0 < float(level) < 1:
        raise InvalidParameterError(f"level must be a number in (0, 1), e.g. 0.95; got {level!r}")


def _pooled_variance(ratings: Ratings) -> float:
    """Within-item variance pooled over items with two or more ratings (unbiased); the overall variance when
    no item has two, and a tiny positive floor when every rating is equal."""
    r = ratings
    n = r.item_sizes().astype(np.float64)
    mean = np.bincount(r.item, weights=r.value, minlength=r.n_items) / n
    ss = float(np.sum((r.value - mean[r.item]) ** 2))
    dof = float(np.sum(n - 1))
    var = ss / dof if dof > 0 else float(np.var(r.value))
    return max(var, 1e-12 * (1.0 + float(np.mean(r.value**2))))


class MeanRating(_RatingModel):
    """The mean of each item's ratings.

    Parameters
    ----------
    level : float, default 0.95
        Coverage of the reported interval.

    Notes
    -----
    ``value_i = mean_a y_ia``; ``sd_i = s / sqrt(n_i)``, the standard error with the within-item standard
    deviation ``s`` pooled over all items (defined even for an item with one rating).

    Examples
    --------
    >>> df = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"], "value": [1, 3, 5, 9]})
    >>> table = MeanRating().fit(df).consensus_.item_quality
    >>> table[["value", "sd", "n_annotations"]].round(3).to_dict("list")
    {'value': [2.0, 7.0], 'sd': [1.581, 1.581], 'n_annotations': [2, 2]}
    """

    name = "mean"

    def __init__(self, *, level: float = 0.95) -> None:
        self.level = level

    def _fit(self, ratings: Ratings) -> RatingConsensus:
        n = ratings.item_sizes().astype(np.float64)
        mean = np.bincount(ratings.item, weights=ratings.value, minlength=ratings.n_items) / n
        sd = np.sqrt(_pooled_variance(ratings) / n)
        return RatingConsensus(ratings, mean, sd, self.name, params=self.get_params(), level=self.level)


def _grouped_median(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of ``values`` within each group (mean of the two middle values for an even count)."""
    order = np.lexsort((values, group))
    sorted_values = values[order]
    count = np.bincount(group, minlength=n_groups)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    low = start + (count - 1) // 2
    high = start + count // 2
    return (sorted_values[low] + sorted_values[high]) / 2.0


class MedianRating(_RatingModel):
    """The median of each item's ratings (the mean of the two middle ones for an even count).

    Parameters
    ----------
    level : float, default 0.95
        Coverage of the reported interval.

    Notes
    -----
    ``sd_i = sqrt(pi / 2) * s / sqrt(n_i)``: the large-sample standard error of the median of normal data,
    with the pooled within-item standard deviation ``s``.

    Examples
    --------
    >>> df = pd.DataFrame({"item": [1, 1, 1], "annotator": ["a", "b", "c"], "value": [1, 2, 90]})
    >>> MedianRating().fit(df).values_.tolist()
    [2.0]
    """

    name = "median"

    def __init__(self, *, level: float = 0.95) -> None:
        self.level = level

    def _fit(self, ratings: Ratings) -> RatingConsensus:
        median = _grouped_median(ratings.value, ratings.item, ratings.n_items)
        n = ratings.item_sizes().astype(np.float64)
        sd = np.sqrt(np.pi / 2 * _pooled_variance(ratings) / n)
        return RatingConsensus(ratings, median, sd, self.name, params=self.get_params(), level=self.level)


class _Priors:
    """Hyper-parameters of :class:`BiasNoiseRating`, set once from the data (empirical Bayes)."""

    def __init__(
        self, ratings: Ratings, strength: float, bias_sd: float, item_strength: float | None
    ) -> None:
        n = ratings.item_sizes().astype(np.float64)
        means = np.bincount(ratings.item, weights=ratings.value, minlength=ratings.n_items) / n
        self.s0_sq = _pooled_variance(ratings)
        self.m0 = float(means.mean())
        self.v0 = max(float(means.var()), self.s0_sq)
        self.alpha = strength / 2.0
        self.beta = strength * self.s0_sq / 2.0
        self.tau_sq = (bias_sd**2) * self.s0_sq
        self.item_strength = item_strength  # None: no item difficulty (every d_i = 1)


class _Params:
    """Annotator bias and noise variance, item difficulty (noise multiplier) and the consensus posterior."""

    def __init__(self, r: Ratings, pr: _Priors) -> None:
        self.bias = np.zeros(r.n_annotators)
        self.var = np.full(r.n_annotators, pr.s0_sq)
        self.difficulty = np.ones(r.n_items)
        self.mu, self.v = _e_step(r, self, pr)

    def rating_var(self, r: Ratings) -> np.ndarray:
        """Noise variance of every rating: ``s_a^2 d_i``."""
        return self.var[r.annotator] * self.difficulty[r.item]


def _e_step(r: Ratings, th: _Params, pr: _Priors) -> tuple[np.ndarray, np.ndarray]:
    """Posterior of the true values: ``t_i ~ N(mu_i, v_i)`` given biases, noise variances and difficulties."""
    inv = 1.0 / th.rating_var(r)
    precision = 1.0 / pr.v0 + np.bincount(r.item, weights=inv, minlength=r.n_items)
    weighted = pr.m0 / pr.v0 + np.bincount(
        r.item, weights=(r.value - th.bias[r.annotator]) * inv, minlength=r.n_items
    )
    return weighted / precision, 1.0 / precision


def _m_step(r: Ratings, th: _Params, pr: _Priors, fit_bias: bool) -> None:
    """MAP bias (normal prior), then noise variance and difficulty (inverse-gamma priors), in place."""
    inv_d = 1.0 / th.difficulty[r.item]
    if fit_bias:
        resid = np.bincount(r.annotator, weights=(r.value - th.mu[r.item]) * inv_d, minlength=r.n_annotators)
        weight = np.bincount(r.annotator, weights=inv_d, minlength=r.n_annotators)
        th.bias = resid / (weight + th.var / pr.tau_sq)
    sq = (r.value - th.mu[r.item] - th.bias[r.annotator]) ** 2 + th.v[r.item]
    n_a = r.annotator_sizes().astype(np.float64)
    th.var = (2.0 * pr.beta + np.bincount(r.annotator, weights=sq * inv_d, minlength=r.n_annotators)) / (
        2.0 * pr.alpha + n_a + 2.0
    )
    if pr.item_strength is not None:
        n_i = r.item_sizes().astype(np.float64)
        scaled = np.bincount(r.item, weights=sq / th.var[r.annotator], minlength=r.n_items)
        th.difficulty = (pr.item_strength + scaled) / (pr.item_strength + n_i + 2.0)


def _inv_gamma_log_pdf(x: np.ndarray, alpha: float, beta: float) -> float:
    return float(np.sum(alpha * np.log(beta) - gammaln(alpha) - (alpha + 1) * np.log(x) - beta / x))


def _log_posterior(r: Ratings, th: _Params, pr: _Priors, fit_bias: bool) -> float:
    """Log marginal likelihood of the ratings (true values integrated out) plus the log priors.

    Per item, ``y_i ~ N(m0 + b, v0 11' + diag(s^2 d_i))``; the determinant and the quadratic form come from
    the matrix determinant lemma and Sherman-Morrison, so the cost is one pass over the ratings.
    """
    rating_var = th.rating_var(r)
    inv = 1.0 / rating_var
    res = r.value - th.bias[r.annotator] - pr.m0
    s1 = np.bincount(r.item, weights=inv, minlength=r.n_items)
    sr = np.bincount(r.item, weights=res * inv, minlength=r.n_items)
    quad = float(np.sum(res * res * inv)) - float(np.sum(pr.v0 * sr**2 / (1.0 + pr.v0 * s1)))
    logdet = float(np.sum(np.log(rating_var))) + float(np.sum(np.log1p(pr.v0 * s1)))
    value = -0.5 * (r.n_ratings * np.log(2 * np.pi) + logdet + quad)
    value += _inv_gamma_log_pdf(th.var, pr.alpha, pr.beta)
    if fit_bias:
        value += float(np.sum(-0.5 * th.bias**2 / pr.tau_sq - 0.5 * np.log(2 * np.pi * pr.tau_sq)))
    if pr.item_strength is not None:
        value += _inv_gamma_log_pdf(th.difficulty, pr.item_strength / 2, pr.item_strength / 2)
    return value


class BiasNoiseRating(_RatingModel):
    """Consensus values with each annotator's bias and noise and each item's difficulty, by EM with priors.

    Parameters
    ----------
    prior_strength : float, default 20.0
        ``nu_0``: weight, in ratings, of the inverse-gamma prior that pulls each annotator's noise variance
        toward the pooled within-item variance. An annotator with few ratings stays close to the crowd.
    bias_prior_sd : float, default 0.3
        Standard deviation of the normal prior on the biases, in units of the pooled within-item standard
        deviation. Small values shrink the biases of annotators with few ratings toward zero.
    item_prior_strength : float or None, default 2.0
        ``nu_d``: weight, in ratings, of the InvGamma(nu_d / 2, nu_d / 2) prior on each item's difficulty
        ``d_i`` (a multiplier of every annotator's noise variance on that item, prior mode near 1). ``None``
        leaves out item difficulty (``d_i = 1``).
    fit_bias : bool, default True
        ``False`` keeps every bias at zero (a noise-only model: precision-weighted means).
    max_iter : int, default 500
    tol : float, default 1e-8
        Stop when the log posterior rises by less than ``tol * (1 + |log posterior|)``.
    level : float, default 0.95
        Coverage of the reported interval.

    Attributes
    ----------
    consensus_ : RatingConsensus
        Its ``item_quality`` has a ``difficulty`` column, its ``annotator_quality`` a ``weight`` column (the
        annotator's precision relative to the mean annotator's).
    bias_, noise_sd_ : pandas.Series
        Per annotator.
    difficulty_ : pandas.Series
        Per item.
    n_iter_, converged_, history_
        Iterations run, whether ``tol`` was met, and one row per iteration (``iteration``, ``objective`` = log
        posterior, ``max_change`` = largest change of a consensus value).

    Notes
    -----
    The rating of item ``i`` by annotator ``a`` is ``y_ia = t_i + b_a + e_ia`` with
    ``e_ia ~ N(0, s_a^2 d_i)``. Priors: ``t_i ~ N(m_0, v_0)``, ``b_a ~ N(0, tau^2)``,
    ``s_a^2 ~ InvGamma(nu_0 / 2, nu_0 s_0^2 / 2)``, ``d_i ~ InvGamma(nu_d / 2, nu_d / 2)``, where ``s_0^2``
    is the pooled within-item variance, ``m_0`` and ``v_0`` the mean and variance of the item means
    (``v_0 >= s_0^2``) and ``tau = bias_prior_sd * s_0``. EM treats ``t`` as latent; with
    ``w_ia = 1 / (s_a^2 d_i)`` and ``r_ia = (y_ia - mu_i - b_a)^2 + v_i``:

    - E-step: ``t_i | y ~ N(mu_i, v_i)``, ``1 / v_i = 1 / v_0 + sum_a w_ia``,
      ``mu_i = v_i (m_0 / v_0 + sum_a w_ia (y_ia - b_a))``;
    - M-step (one block after the other): ``b_a = sum_i (y_ia - mu_i) / d_i / (sum_i 1 / d_i + s_a^2 /
      tau^2)``, ``s_a^2 = (nu_0 s_0^2 + sum_i r_ia / d_i) / (nu_0 + n_a + 2)``,
      ``d_i = (nu_d + sum_a r_ia / s_a^2) / (nu_d + n_i + 2)``.

    Each step raises the log posterior of ``(b, s^2, d)`` with ``t`` integrated out, which ``history_``
    records. The consensus is ``mu_i`` with ``sd_i = sqrt(v_i)`` (it treats the fitted parameters as known).
    An item the annotators disagree on gets a large ``d_i``: a wider interval, less weight in the annotators'
    estimates, and more shrinkage toward ``m_0``. With the same annotators on every item, the biases shift all
    values alike. This is the regression case of Raykar et al. (2010) with conjugate priors, plus an item
    difficulty in the spirit of Whitehill et al. (2009); CATD (Li et al. 2014) uses a chi-square interval on
    the error variance for the same purpose as ``nu_0``, shrinking annotators with few ratings.

    References
    ----------
    V. C. Raykar, S. Yu, L. H. Zhao, G. H. Valadez, C. Florin, L. Bogoni, L. Moy. Learning from crowds. JMLR
    11:1297-1322, 2010. https://jmlr.org/papers/v11/raykar10a.html

    Q. Li, Y. Li, J. Gao, L. Su, B. Zhao, M. Demirbas, W. Fan, J. Han. A confidence-aware approach for truth
    discovery on long-tail data. PVLDB 8(4):425-436, 2014. https://doi.org/10.14778/2735496.2735505

    J. Whitehill, P. Ruvolo, T. Wu, J. Bergsma, J. Movellan. Whose vote should count more: optimal integration
    of labels from labelers of unknown expertise. NIPS 2009.
    https://papers.nips.cc/paper/3644-whose-vote-should-count-more

    Examples
    --------
    >>> df = pd.DataFrame({"item": [1, 1, 2, 2, 3, 3], "annotator": ["a", "b"] * 3,
    ...                    "value": [1.0, 3.0, 2.0, 4.0, 5.0, 7.0]})
    >>> model = BiasNoiseRating(bias_prior_sd=10.0).fit(df)
    >>> float((model.bias_["b"] - model.bias_["a"]).round(2))
    2.0
    """

    name = "bias_noise"

    def __init__(
        self,
        *,
        prior_strength: float = 20.0,
        bias_prior_sd: float = 0.3,
        item_prior_strength: float | None = 2.0,
        fit_bias: bool = True,
        max_iter: int = 500,
        tol: float = 1e-8,
        level: float = 0.95,
    ) -> None:
        self.prior_strength = prior_strength
        self.bias_prior_sd = bias_prior_sd
        self.item_prior_strength = item_prior_strength
        self.fit_bias = fit_bias
        self.max_iter = max_iter
        self.tol = tol
        self.level = level

    def _check(self) -> None:
        names = ["prior_strength", "bias_prior_sd", "tol"]
        if self.item_prior_strength is not None:
            names.append("item_prior_strength")
        for name in names:
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not float(value) > 0:
                raise InvalidParameterError(f"{name} must be a positive number; got {value!r}")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise InvalidParameterError(f"max_iter must be an integer >= 1; got {self.max_iter!r}")
        if not isinstance(self.fit_bias, bool):
            raise InvalidParameterError(f"fit_bias must be True or False; got {self.fit_bias!r}")

    def _fit(self, ratings: Ratings) -> RatingConsensus:
        self._check()
        item = None if self.item_prior_strength is None else float(self.item_prior_strength)
        pr = _Priors(ratings, float(self.prior_strength), float(self.bias_prior_sd), item)
        th = _Params(ratings, pr)
        rows, previous = [], _log_posterior(ratings, th, pr, self.fit_bias)
        self.converged_ = False
        for it in range(1, int(self.max_iter) + 1):
            old_mu = th.mu
            _m_step(ratings, th, pr, self.fit_bias)
            th.mu, th.v = _e_step(ratings, th, pr)
            objective = _log_posterior(ratings, th, pr, self.fit_bias)
            rows.append((it, objective, float(np.max(np.abs(th.mu - old_mu)))))
            if abs(objective - previous) <= self.tol * (1.0 + abs(objective)):
                self.converged_ = True
                break
            previous = objective
        self._finish(rows)
        precision = 1.0 / th.var
        return RatingConsensus(
            ratings,
            th.mu,
            np.sqrt(th.v),
            self.name,
            bias=th.bias,
            noise_sd=np.sqrt(th.var),
            history=self.history_,
            item_scores={"difficulty": th.difficulty},
            annotator_scores={"weight": precision / precision.mean()},
            params=self.get_params(),
            level=self.level,
        )

    def _finish(self, rows: list[tuple[int, float, float]]) -> None:
        self.n_iter_ = len(rows)
        self.history_ = pd.DataFrame(rows, columns=["iteration", "objective", "max_change"])
        if not self.converged_:
            warnings.warn(
                f"BiasNoiseRating stopped at max_iter={self.max_iter} before the log posterior "
                f"settled (tol={self.tol}); raise max_iter",
                ConvergenceWarning,
                stacklevel=4,
            )

    @property
    def bias_(self) -> pd.Series:
        return pd.Series(self._fitted().bias_array, index=self.ratings_.annotators, name="bias")

    @property
    def noise_sd_(self) -> pd.Series:
        return pd.Series(self._fitted().noise_sd_array, index=self.ratings_.annotators, name="noise_sd")

    @property
    def difficulty_(self) -> pd.Series:
        values = self._fitted().item_scores["difficulty"]
        return pd.Series(values, index=self.ratings_.items, name="difficulty")


RATING_METHODS: dict[str, type[_RatingModel]] = {
    "mean": MeanRating,
    "median": MedianRating,
    "bias_noise": BiasNoiseRating,
}


def aggregate_ratings_frame(
    df: pd.DataFrame,
    method: str = "bias_noise",
    *,
    item: Hashable | None = None,
    annotator: Hashable | None = None,
    value: Hashable | None = None,
    duplicates: RatingDuplicates = "error",
    missing: Literal["error", "drop"] = "error",
    **params: Any,
) -> RatingConsensus:
    """CLI entry point: validate a long table of ratings, fit ``method`` and return its consensus.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per rating (columns as in :meth:`Ratings.from_frame`).
    method : {"mean", "median", "bias_noise"}
    item, annotator, value, duplicates, missing
        Passed to :meth:`Ratings.from_frame`.
    **params
        Keyword parameters of the model (e.g. ``prior_strength=5``).

    Examples
    --------
    >>> df = pd.DataFrame({"item": [1, 1], "annotator": ["a", "b"], "value": ["2", "4"]})
    >>> aggregate_ratings_frame(df, "mean").to_frame()[["item", "value", "n_annotations"]]
       item  value  n_annotations
    0     1    3.0              2
    """
    if method not in RATING_METHODS:
        raise InvalidParameterError(
            f"unknown rating method {method!r}; choose one of {', '.join(RATING_METHODS)}"
        )
    ratings = Ratings.from_frame(
        df, item=item, annotator=annotator, value=value, duplicates=duplicates, missing=missing
    )
    try:
        model = RATING_METHODS[method](**params)
    except TypeError as exc:
        raise InvalidParameterError(f"bad parameter for {method}: {exc}") from None
    return model.fit(ratings).consensus_
