r"""crowd-kit's aggregation classes, computed by accord's models.

Each class here has the name, constructor parameters (with crowd-kit's defaults), methods (``fit``,
``fit_predict``, ``fit_predict_proba``, and ``predict`` / ``predict_proba`` / ``fit_predict_score`` where
crowd-kit has them) and fitted attributes of ``crowdkit.aggregation``'s class, so that

.. code-block:: python

    from crowdkit.aggregation import DawidSkene      # before
    from accord.compat.crowdkit import DawidSkene    # after

is the only change a program needs. The input is crowd-kit's: a DataFrame with columns ``task``, ``worker``
and ``label`` (other columns are ignored; a worker may label a task more than once, as crowd-kit allows). The
results are laid out as crowd-kit lays them out:

- ``labels_``: Series indexed by ``task``, named ``"agg_label"``;
- ``probas_``: DataFrame, one row per task (index ``task``), one column per label (columns named ``"label"``);
- ``skills_``: Series indexed by ``worker``, named ``"skill"``;
- ``errors_`` (Dawid-Skene): DataFrame indexed by ``(worker, label)`` = (worker, label given), one column per
  true label: ``errors_.loc[(w, given), true] = P(w says given | true)``, so each worker's columns sum to 1;
- ``priors_``: Series indexed by label, named ``"prior"``; ``loss_history_``: one float per iteration.

The numbers are accord's (:class:`accord.DawidSkene`, :class:`accord.GLAD`, ...; see their documentation for
the mathematics and references); the ``model_`` attribute holds the fitted accord model, with its
``consensus_`` (item, annotator and annotation quality tables). Where crowd-kit and accord differ, each class
says how. Labels are ordered as accord orders classes (numbers numerically, text lexically), which is the
order of crowd-kit's ``probas_`` columns.

Examples
--------
>>> import pandas as pd
>>> from accord.compat.crowdkit import DawidSkene
>>> df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "worker": list("abcabc"), "label": list("xxyyyy")})
>>> ds = DawidSkene(n_iter=100)
>>> ds.fit_predict(df).to_dict()
{1: 'x', 2: 'y'}
>>> ds.errors_.loc[("c", "y")].round(3).to_dict()
{'x': 1.0, 'y': 1.0}
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from accord import (
    GLAD as _GLAD,
)
from accord import (
    KOS as _KOS,
)
from accord import (
    MACE as _MACE,
)
from accord import (
    MMSR as _MMSR,
)
from accord import (
    Annotations,
    InvalidAnnotationsError,
    InvalidParameterError,
    NotFittedError,
)
from accord import (
    DawidSkene as _DawidSkene,
)
from accord import (
    MajorityVote as _MajorityVote,
)
from accord import (
    OneCoinDawidSkene as _OneCoinDawidSkene,
)
from accord import (
    Wawa as _Wawa,
)
from accord import (
    ZeroBasedSkill as _ZeroBasedSkill,
)

__all__ = [
    "GLAD",
    "KOS",
    "MACE",
    "MMSR",
    "DawidSkene",
    "MajorityVote",
    "OneCoinDawidSkene",
    "Wawa",
    "ZeroBasedSkill",
]

COLUMNS = ("task", "worker", "label")
_Self = TypeVar("_Self", bound="_Aggregator")


# ====================================================================== input and output layout
def to_annotations(data: Any, appearance: bool = False) -> Annotations:
    """crowd-kit's DataFrame (``task``, ``worker``, ``label``) as accord ``Annotations``.

    Repeated (task, worker) pairs are all kept, as crowd-kit keeps them. Classes are in accord's order
    (sorted), or with ``appearance=True`` in order of first appearance (the column order of crowd-kit's plain
    majority vote, whose ties go to the first column). Raises
    :class:`~accord.InvalidAnnotationsError` naming a missing column or a bad row.
    """
    if not isinstance(data, pd.DataFrame):
        raise InvalidAnnotationsError(
            f"expected a pandas DataFrame with columns task, worker, label (crowd-kit's layout); got "
            f"{type(data).__name__}"
        )
    missing = [c for c in COLUMNS if c not in data.columns]
    if missing:
        raise InvalidAnnotationsError(
            f"the DataFrame lacks column(s) {missing}; crowd-kit's layout has columns task, worker, label "
            f"(its columns are {list(data.columns)[:10]}). Rename them, e.g. "
            "df.rename(columns={'item': 'task'})"
        )
    classes = list(pd.Series(pd.unique(data["label"])).dropna()) if appearance else None
    return Annotations.from_frame(
        data, item="task", annotator="worker", label="label", classes=classes, duplicates="keep_all"
    )


def _classes(ann: Annotations) -> pd.Index:
    return pd.Index(ann.classes, name="label", tupleize_cols=False)


def _tasks(ann: Annotations) -> pd.Index:
    return pd.Index(ann.items, name="task", tupleize_cols=False)


def _workers(ann: Annotations) -> pd.Index:
    return pd.Index(ann.annotators, name="worker", tupleize_cols=False)


def labels_series(ann: Annotations, codes: np.ndarray) -> pd.Series:
    """crowd-kit's ``labels_``: the label of each task, named ``"agg_label"``, indexed by ``task``."""
    return pd.Series(
        _classes(ann).take(np.asarray(codes, dtype=np.int64)).to_numpy(), index=_tasks(ann), name="agg_label"
    )


def probas_frame(ann: Annotations, proba: np.ndarray) -> pd.DataFrame:
    """crowd-kit's ``probas_``: tasks x labels."""
    return pd.DataFrame(np.asarray(proba, dtype=np.float64), index=_tasks(ann), columns=_classes(ann))


def skills_series(ann: Annotations, values: Any, name: str = "skill") -> pd.Series:
    """A per-worker Series indexed by ``worker`` (crowd-kit's ``skills_`` layout)."""
    return pd.Series(np.asarray(values, dtype=np.float64), index=_workers(ann), name=name)


def errors_frame(ann: Annotations, confusions: np.ndarray) -> pd.DataFrame:
    """crowd-kit's ``errors_`` from accord's ``confusions[a, true, given]``.

    Rows ``(worker, label given)`` for every worker and label (crowd-kit lists only the labels a worker used;
    Dawid-Skene's other rows hold 0), columns the true labels.
    """
    a, k = ann.n_annotators, ann.n_classes
    classes = _classes(ann)
    index = pd.MultiIndex.from_arrays(
        [_workers(ann).repeat(k), classes[np.tile(np.arange(k), a)]], names=["worker", "label"]
    )
    values = np.transpose(np.asarray(confusions, dtype=np.float64), (0, 2, 1)).reshape(a * k, k)
    return pd.DataFrame(values, index=index, columns=classes)


def weighted_vote(ann: Annotations, skills: pd.Series) -> pd.DataFrame:
    """crowd-kit's weighted majority vote: per task, the summed skills of the workers who chose each label,
    divided by the row's total (``MajorityVote().fit(data, skills)``'s ``probas_``)."""
    weights = pd.Series(skills).reindex(ann.annotators).to_numpy(dtype=np.float64)
    unknown = np.isnan(weights)
    if unknown.any():
        names = list(ann.annotators[unknown][:5])
        raise InvalidAnnotationsError(
            f"{int(unknown.sum())} worker(s) have no skill, e.g. {names}: every worker in the data needs one "
            "(fit on data that includes them, or pass skills for them)"
        )
    scores = ann.vote_counts(weights[ann.annotator])
    total = scores.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return probas_frame(ann, scores / total)


def most_probable(probas: pd.DataFrame) -> pd.Series:
    """``probas.idxmax(axis=1)`` named ``"agg_label"`` (ties to the first label, as crowd-kit)."""
    values = probas.to_numpy()
    codes = (
        np.nanargmax(np.where(np.isnan(values), -np.inf, values), axis=1)
        if values.size
        else np.array([], int)
    )
    return pd.Series(probas.columns.take(codes).to_numpy(), index=probas.index, name="agg_label")


def _iterations(cls: type, value: int) -> dict[str, Any]:
    """The iteration-limit keyword of an accord model (``max_iter`` or ``n_iter``, whichever it takes)."""
    params = inspect.signature(cls).parameters
    return {"max_iter": value} if "max_iter" in params else {"n_iter": value}


def _stopping(cls: type, tol: float) -> dict[str, Any]:
    """crowd-kit's ``tol`` (stop once the objective gains less than ``tol`` per label; never if negative) as
    accord's keywords: ``objective_tol`` where the model has it (with the posterior-change test off), else
    ``tol`` (accord's rule: no label changed and no posterior moved by ``tol``; for accord's DawidSkene
    also a relative objective gain of at most ``tol ** 2``, 1e-10 at crowd-kit's default)."""
    if "objective_tol" in inspect.signature(cls).parameters:
        return {"tol": 0.0, "objective_tol": None if tol < 0 else float(tol)}
    return {"tol": max(float(tol), 0.0)}


def _history_column(model: Any, column: str, scale: float) -> list[float]:
    history = getattr(model, "history_", None)
    if isinstance(history, pd.DataFrame) and column in history.columns:
        return [float(v) / scale for v in history[column].to_numpy(dtype=np.float64)]
    if isinstance(history, list):
        return [float(h[column]) / scale for h in history if column in h]
    return []


# ====================================================================== base
class _Aggregator:
    """Shared crowd-kit surface: ``fit`` builds and fits an accord model and stores crowd-kit's attributes."""

    labels_: pd.Series
    probas_: pd.DataFrame
    _appearance = False  # classes in order of first appearance (crowd-kit's plain majority vote)

    def _params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._params().items())})"

    def _model(self) -> Any:
        raise NotImplementedError

    def _store(self, ann: Annotations, model: Any) -> None:
        consensus = model.consensus_
        self.labels_ = labels_series(ann, consensus.label_codes)
        self.probas_ = probas_frame(ann, consensus.proba_array)

    def _fit_model(self: _Self, data: pd.DataFrame, gold: Any = None) -> _Self:
        ann = to_annotations(data, self._appearance)
        model = self._model()
        model.fit(ann, gold=gold)
        self.model_ = model
        self._store(ann, model)
        return self

    def fit(self: _Self, data: pd.DataFrame) -> _Self:
        """Fit on ``data`` (columns ``task``, ``worker``, ``label``); returns ``self``."""
        return self._fit_model(data)

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:
        """Fit and return ``labels_`` (the label of each task)."""
        return self.fit(data).labels_

    def fit_predict_proba(self, data: pd.DataFrame) -> pd.DataFrame:
        """Fit and return ``probas_`` (tasks x labels)."""
        return self.fit(data).probas_

    def _fitted_skills(self) -> pd.Series:
        skills = self.__dict__.get("skills_")
        if skills is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(data) first")
        return skills


class _SkillsPredictor(_Aggregator):
    """``predict`` / ``predict_proba``: the weighted vote of new data with the fitted ``skills_``."""

    skills_: pd.Series

    def predict(self, data: pd.DataFrame) -> pd.Series:
        """Labels of the tasks in ``data`` by a vote weighted by the fitted ``skills_``."""
        return most_probable(self.predict_proba(data))

    def predict_proba(self, data: pd.DataFrame) -> pd.DataFrame:
        """Weighted vote shares of the tasks in ``data`` with the fitted ``skills_``."""
        probas = weighted_vote(to_annotations(data), self._fitted_skills())
        self.probas_, self.labels_ = probas, most_probable(probas)
        return probas


# ====================================================================== vote-based
class MajorityVote(_Aggregator):
    """crowd-kit's ``MajorityVote``: the most chosen label, or a vote weighted by given worker skills.

    Parameters
    ----------
    default_skill : float, optional
        With ``on_missing_skill="value"``: the weight of a worker absent from ``skills``.
    on_missing_skill : {"error", "ignore", "value"}, default "error"
        What to do with a worker absent from ``skills``: raise, drop their labels, or weigh them by
        ``default_skill``.

    Attributes
    ----------
    labels_, probas_ (vote shares), skills_ (each worker's agreement with ``labels_``).

    Notes
    -----
    Without skills this is :class:`accord.MajorityVote` with the labels in order of first appearance, as
    crowd-kit's columns, so that a tie goes to the label seen first (crowd-kit's ``idxmax``). With
    ``fit(data, skills)``, ``probas_[t, l] = sum of the skills of the workers who gave l / row total``, the
    labels sorted (ties to the first).
    """

    _appearance = True

    def __init__(self, default_skill: float | None = None, on_missing_skill: str = "error") -> None:
        self.default_skill = default_skill
        self.on_missing_skill = on_missing_skill

    def _model(self) -> Any:
        return _MajorityVote(tie_break="lowest")

    def _store(self, ann: Annotations, model: Any) -> None:
        super()._store(ann, model)
        self.skills_ = skills_series(ann, model.consensus_.annotator_quality["accuracy"].to_numpy())

    def _skills_for(self, data: pd.DataFrame, skills: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
        if self.on_missing_skill not in ("error", "ignore", "value"):
            raise InvalidParameterError(
                f"on_missing_skill must be 'error', 'ignore' or 'value', got {self.on_missing_skill!r}"
            )
        known = data["worker"].isin(pd.Series(skills).dropna().index)
        if self.on_missing_skill == "ignore":
            return data[known.to_numpy()], skills
        if self.on_missing_skill == "value":
            if self.default_skill is None:
                raise InvalidParameterError("on_missing_skill='value' needs default_skill=...")
            extra = pd.Series(float(self.default_skill), index=pd.unique(data.loc[~known, "worker"]))
            return data, pd.concat([pd.Series(skills).dropna(), extra])
        return data, skills

    def fit(self, data: pd.DataFrame, skills: pd.Series | None = None) -> MajorityVote:
        """Fit on ``data``; with ``skills`` (Series indexed by worker), a vote weighted by them."""
        if skills is None:
            self._fit_model(data)
            return self
        data, skills = self._skills_for(data, skills)
        ann = to_annotations(data)
        self.probas_ = weighted_vote(ann, skills)
        self.labels_ = most_probable(self.probas_)
        codes = _classes(ann).get_indexer(self.labels_.to_numpy())
        hits = np.bincount(
            ann.annotator, weights=(ann.label == codes[ann.item]).astype(float), minlength=ann.n_annotators
        )
        self.skills_ = skills_series(ann, hits / ann.annotator_sizes())
        return self

    def fit_predict(self, data: pd.DataFrame, skills: pd.Series | None = None) -> pd.Series:
        return self.fit(data, skills).labels_

    def fit_predict_proba(self, data: pd.DataFrame, skills: pd.Series | None = None) -> pd.DataFrame:
        return self.fit(data, skills).probas_


class Wawa(_SkillsPredictor):
    """crowd-kit's ``Wawa`` (Worker Agreement with Aggregate), by :class:`accord.Wawa`.

    ``skills_`` is each worker's agreement with the majority vote (ties to the label seen first, as
    :class:`MajorityVote`); ``labels_`` / ``probas_`` are the vote weighted by them (``predict`` applies the
    fitted skills to new data). crowd-kit's ``fit`` stores only ``skills_`` and its ``fit_predict`` then
    votes; here ``fit`` also stores ``labels_`` and ``probas_``.
    """

    _appearance = True

    def _model(self) -> Any:
        return _Wawa(tie_break="lowest")

    def _store(self, ann: Annotations, model: Any) -> None:
        self.skills_ = skills_series(ann, model.skills_.to_numpy())

    def fit(self, data: pd.DataFrame) -> Wawa:
        """Fit the skills, then vote with them (labels sorted, ties to the first, as crowd-kit)."""
        self._fit_model(data)
        self.predict_proba(data)
        return self


class ZeroBasedSkill(_SkillsPredictor):
    """crowd-kit's ``ZeroBasedSkill``, by :class:`accord.ZeroBasedSkill`.

    Parameters
    ----------
    n_iter : int, default 100
    lr_init : float, default 1.0
    lr_steps_to_reduce : int, default 20
    lr_reduce_factor : float, default 0.5
    eps : float, default 1e-5

    Notes
    -----
    ``s[w] = 1/K + eps``; each iteration ``s[w] += lr * (agreement of w with the s-weighted vote - s[w])``,
    the learning rate multiplied by ``lr_reduce_factor`` every ``lr_steps_to_reduce`` iterations. accord
    stops once the weighted vote has not changed for two iterations (crowd-kit always runs ``n_iter``), so
    ``skills_`` can differ slightly while the labels agree.
    """

    def __init__(
        self,
        n_iter: int = 100,
        lr_init: float = 1.0,
        lr_steps_to_reduce: int = 20,
        lr_reduce_factor: float = 0.5,
        eps: float = 1e-5,
    ) -> None:
        self.n_iter = n_iter
        self.lr_init = lr_init
        self.lr_steps_to_reduce = lr_steps_to_reduce
        self.lr_reduce_factor = lr_reduce_factor
        self.eps = eps

    def _model(self) -> Any:
        return _ZeroBasedSkill(
            **_iterations(_ZeroBasedSkill, self.n_iter),
            lr_init=self.lr_init,
            lr_steps_to_reduce=self.lr_steps_to_reduce,
            lr_reduce_factor=self.lr_reduce_factor,
            eps=self.eps,
            tie_break="lowest",
        )

    def _store(self, ann: Annotations, model: Any) -> None:
        self.skills_ = skills_series(ann, model.skills_.to_numpy())
        self.probas_ = weighted_vote(ann, self.skills_)
        self.labels_ = most_probable(self.probas_)


# ====================================================================== Dawid-Skene family
CLIP = 1e-10  # crowd-kit's floor of an error-matrix cell before normalising


def expected_counts(ann: Annotations, post: np.ndarray) -> np.ndarray:
    """``n[a, true, given]``: the sum of ``post[i, true]`` over the labels ``given`` by worker ``a``."""
    a, k = ann.n_annotators, ann.n_classes
    flat = (ann.annotator.astype(np.int64) * k)[:, None] * k + np.arange(k)[None, :] * k + ann.label[:, None]
    return np.bincount(flat.ravel(), weights=post[ann.item].ravel(), minlength=a * k * k).reshape(a, k, k)


def crowdkit_errors(ann: Annotations, post: np.ndarray) -> np.ndarray:
    """crowd-kit's M-step on the final posterior: over the labels each worker used, expected counts floored at
    1e-10 and normalised per true label; labels a worker never gave get 0."""
    a, k = ann.n_annotators, ann.n_classes
    used = np.bincount(ann.annotator.astype(np.int64) * k + ann.label, minlength=a * k).reshape(a, 1, k) > 0
    counts = np.where(used, np.clip(expected_counts(ann, post), CLIP, None), 0.0)
    return counts / counts.sum(axis=2, keepdims=True)


def one_coin_errors(skills: np.ndarray, k: int) -> np.ndarray:
    """``s`` on the diagonal, ``(1 - s) / (K - 1)`` elsewhere, clipped to ``[1e-10, 1 - 1e-10]``."""
    theta = np.repeat(((1.0 - skills) / (k - 1))[:, None, None], k, axis=1).repeat(k, axis=2)
    theta[:, np.arange(k), np.arange(k)] = skills[:, None]
    return np.clip(theta, CLIP, 1.0 - CLIP)


def _initial_confusions(ann: Annotations, initial_error: pd.DataFrame, strategy: str | None) -> np.ndarray:
    """accord's ``initial_confusions`` (workers x true x given) from crowd-kit's ``initial_error``.

    ``"assign"``: the given matrices (counts or probabilities), normalised per true label. ``"addition"``: the
    counts added to those of the majority-vote start (the vote shares), then normalised.
    """
    if strategy not in ("assign", "addition"):
        raise InvalidParameterError(
            f"initial_error_strategy must be 'assign' or 'addition' to use initial_error, got {strategy!r}"
        )
    if not isinstance(initial_error, pd.DataFrame) or list(initial_error.index.names) != ["worker", "label"]:
        raise InvalidParameterError(
            "initial_error must be a DataFrame indexed by (worker, label) with one "
            "column per true label, as crowd-kit's errors_"
        )
    a, k = ann.n_annotators, ann.n_classes
    given = errors_frame(ann, np.zeros((a, k, k))).copy()
    frame = initial_error.reindex(index=given.index, columns=given.columns)
    if strategy == "assign":
        absent = ann.annotators[frame.isna().all(axis=1).to_numpy().reshape(a, k).all(axis=1)]
        if len(absent):
            raise InvalidParameterError(
                f"initial_error_strategy='assign' needs every worker's matrix; missing {list(absent[:5])}"
            )
    counts = np.transpose(frame.fillna(0.0).to_numpy(dtype=np.float64).reshape(a, k, k), (0, 2, 1))
    if strategy == "addition":
        counts = counts + expected_counts(ann, _MajorityVote().fit(ann).consensus_.proba_array)
    counts = np.clip(counts, CLIP, None)
    return counts / counts.sum(axis=2, keepdims=True)


class DawidSkene(_Aggregator):
    r"""crowd-kit's ``DawidSkene``, by :class:`accord.DawidSkene`: a full confusion matrix per worker, EM.

    Parameters
    ----------
    n_iter : int, default 100
        The most EM iterations.
    tol : float, default 1e-5
        Stop once an iteration gains less than ``tol`` in log-likelihood per label, where accord's model has
        that test (``objective_tol``); else by accord's rule at ``tol``: an iteration changed no label and
        moved no posterior by ``tol`` or more, or (accord's DawidSkene, used here) raised the objective by
        at most ``tol ** 2`` of its size (1e-10 at the default ``tol``). crowd-kit's evidence lower bound
        usually stops a few iterations earlier. A negative ``tol`` never stops early.
    initial_error_strategy : {"assign", "addition"}, optional
        How ``fit(..., initial_error=...)`` is used: as the starting matrices, or as counts added to the first
        M-step's.

    Attributes
    ----------
    labels_, probas_, priors_, errors_ (see the module docstring), loss_history_ (log-likelihood per label
    after every iteration), model_ (the accord model: ``n_iter_``, ``converged_``, ``history_``,
    ``consensus_``).

    Notes
    -----
    As in crowd-kit: the EM starts from the majority-vote shares, the confusion cells are not smoothed
    (``alpha=0``), known ``true_labels`` are clamped after every E-step, and ``priors_`` / ``errors_`` come
    from one more M-step on the final posterior (cells floored at 1e-10), so they are consistent with
    ``probas_``. With ``initial_error`` the first posterior comes from one E-step with a uniform prior
    (crowd-kit uses the majority vote's mean).

    References
    ----------
    A. P. Dawid and A. M. Skene (1979). Maximum likelihood estimation of observer error-rates using the EM
    algorithm. Journal of the Royal Statistical Society, Series C 28(1):20-28. doi:10.2307/2346806
    """

    _accord_class: type = _DawidSkene

    def __init__(
        self, n_iter: int = 100, tol: float = 1e-5, initial_error_strategy: str | None = None
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.initial_error_strategy = initial_error_strategy

    def _model(self, initial_confusions: np.ndarray | None = None) -> Any:
        return self._accord_class(
            alpha=0.0,
            init="soft_mv",
            **_stopping(self._accord_class, self.tol),
            initial_confusions=initial_confusions,
            **_iterations(self._accord_class, self.n_iter),
        )

    def _store(self, ann: Annotations, model: Any) -> None:
        super()._store(ann, model)
        post = model.consensus_.proba_array
        self.priors_ = pd.Series(post.mean(axis=0), index=_classes(ann), name="prior")
        self.errors_ = errors_frame(ann, self._errors(ann, post))
        self.loss_history_ = _history_column(model, "log_likelihood", float(ann.n_annotations))

    def _errors(self, ann: Annotations, post: np.ndarray) -> np.ndarray:
        return crowdkit_errors(ann, post)

    def fit(
        self,
        data: pd.DataFrame,
        true_labels: pd.Series | None = None,
        initial_error: pd.DataFrame | None = None,
    ) -> DawidSkene:
        """Fit by EM; ``true_labels`` (Series by task) are clamped, ``initial_error`` starts the EM."""
        ann = to_annotations(data)
        start = None
        if initial_error is not None and self.initial_error_strategy is not None:
            start = _initial_confusions(ann, initial_error, self.initial_error_strategy)
        model = self._model(start)
        model.fit(ann, gold=true_labels)
        self.model_ = model
        self._store(ann, model)
        return self

    def fit_predict(
        self,
        data: pd.DataFrame,
        true_labels: pd.Series | None = None,
        initial_error: pd.DataFrame | None = None,
    ) -> pd.Series:
        return self.fit(data, true_labels, initial_error).labels_

    def fit_predict_proba(
        self,
        data: pd.DataFrame,
        true_labels: pd.Series | None = None,
        initial_error: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        return self.fit(data, true_labels, initial_error).probas_


class OneCoinDawidSkene(DawidSkene):
    """crowd-kit's ``OneCoinDawidSkene``, by :class:`accord.OneCoinDawidSkene`: one accuracy per worker.

    Parameters and attributes as :class:`DawidSkene`, plus ``skills_`` (each worker's accuracy ``s``: the mean
    posterior of the labels they gave, from one M-step on the final posterior, as crowd-kit). ``errors_``
    holds ``s`` on the diagonal and ``(1 - s) / (K - 1)`` elsewhere.

    References
    ----------
    Y. Zhang, X. Chen, D. Zhou and M. I. Jordan (2016). Spectral methods meet EM: a provably optimal algorithm
    for crowdsourcing. JMLR 17(102):1-44.
    """

    _accord_class = _OneCoinDawidSkene

    def __init__(self, n_iter: int = 100, tol: float = 1e-5) -> None:
        super().__init__(n_iter=n_iter, tol=tol)

    def _skills(self, ann: Annotations, post: np.ndarray) -> np.ndarray:
        """One-coin M-step on the final posterior: each worker's mean posterior of the labels they gave."""
        return (
            np.bincount(ann.annotator, weights=post[ann.item, ann.label], minlength=ann.n_annotators)
            / ann.annotator_sizes()
        )

    def _errors(self, ann: Annotations, post: np.ndarray) -> np.ndarray:
        return one_coin_errors(self._skills(ann, post), ann.n_classes)

    def _store(self, ann: Annotations, model: Any) -> None:
        super()._store(ann, model)
        self.skills_ = skills_series(ann, self._skills(ann, model.consensus_.proba_array))

    def fit(
        self,
        data: pd.DataFrame,
        true_labels: pd.Series | None = None,
        initial_error: pd.DataFrame | None = None,
    ) -> OneCoinDawidSkene:
        """Fit by EM; ``true_labels`` (Series by task), if given, are clamped (crowd-kit's one-coin ``fit``
        takes only ``data``)."""
        if initial_error is not None:
            raise InvalidParameterError(
                "OneCoinDawidSkene takes no initial_error (one accuracy per worker has "
                "no confusion matrix to start from); use DawidSkene"
            )
        super().fit(data, true_labels)
        return self


# ====================================================================== GLAD, MACE
def _constant_prior(name: str, value: Any, index: pd.Index) -> float:
    """crowd-kit's per-worker / per-task prior means must be one value here (accord's prior is shared)."""
    if value is None:
        return 1.0
    values = (
        pd.Series(value).reindex(index) if isinstance(value, pd.Series) else pd.Series(value, index=index)
    )
    arr = values.to_numpy(dtype=np.float64)
    if np.isnan(arr).any() or not np.allclose(arr, arr[0]):
        raise InvalidParameterError(
            f"{name} must give the same mean to every entry (accord's GLAD has one "
            "normal prior for all); pass a constant Series or leave it out"
        )
    return float(arr[0])


class GLAD(_Aggregator):
    r"""crowd-kit's ``GLAD``, by :class:`accord.GLAD`: worker ability ``alpha`` x task easiness ``beta``.

    Parameters
    ----------
    n_iter : int, default 100
    tol : float, default 1e-5
        Stop when the log-posterior gains less than ``tol`` per label (never, if negative).
    silent : bool, default True
        Accepted for compatibility (accord shows no progress bar).
    labels_priors : Series, optional
        Prior over the true label (indexed by label); default uniform.
    alphas_priors_mean, betas_priors_mean : Series, optional
        Means of the normal priors on ``alpha`` (per worker) and ``beta`` (per task); default 1. accord's GLAD
        has one prior for all, so these must be constant.
    m_step_max_iter : int, default 25
        Iterations of the M-step's optimiser (accord: L-BFGS; crowd-kit: conjugate gradients).
    m_step_tol : float, default 1e-2
        Gradient tolerance of the M-step.

    Attributes
    ----------
    labels_, probas_, priors_, loss_history_ (log-posterior per label after every iteration),
    alphas_ : Series indexed by worker, named "alpha"
        Abilities: ``P(correct) = sigmoid(alpha * exp(beta))``.
    betas_ : Series indexed by task, named "beta"
        Log easiness ``beta = log(1 / difficulty)`` (crowd-kit's parametrisation).

    References
    ----------
    J. Whitehill, P. Ruvolo, T. Wu, J. Bergsma and J. Movellan (2009). Whose vote should count more: optimal
    integration of labels from labelers of unknown expertise. NIPS 22, 2035-2043.
    """

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-5,
        silent: bool = True,
        labels_priors: pd.Series | None = None,
        alphas_priors_mean: pd.Series | None = None,
        betas_priors_mean: pd.Series | None = None,
        m_step_max_iter: int = 25,
        m_step_tol: float = 1e-2,
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.silent = silent
        self.labels_priors = labels_priors
        self.alphas_priors_mean = alphas_priors_mean
        self.betas_priors_mean = betas_priors_mean
        self.m_step_max_iter = m_step_max_iter
        self.m_step_tol = m_step_tol

    def _class_prior(self, ann: Annotations) -> Any:
        if self.labels_priors is None:
            return "uniform"
        prior = pd.Series(self.labels_priors).reindex(ann.classes).to_numpy(dtype=np.float64)
        if np.isnan(prior).any():
            raise InvalidParameterError(f"labels_priors must give a prior to every label {list(ann.classes)}")
        return prior

    def fit(self, data: pd.DataFrame) -> GLAD:
        ann = to_annotations(data)
        model = _GLAD(
            class_prior=self._class_prior(ann),
            **_stopping(_GLAD, self.tol),
            m_step_max_iter=self.m_step_max_iter,
            m_step_tol=self.m_step_tol,
            **_iterations(_GLAD, self.n_iter),
            alpha_prior=(_constant_prior("alphas_priors_mean", self.alphas_priors_mean, ann.annotators), 1.0),
            b_prior=(_constant_prior("betas_priors_mean", self.betas_priors_mean, ann.items), 1.0),
        ).fit(ann)
        self.model_ = model
        self._store(ann, model)
        return self

    def _store(self, ann: Annotations, model: Any) -> None:
        super()._store(ann, model)
        self.alphas_ = skills_series(ann, model.abilities_.to_numpy(), name="alpha")
        self.betas_ = pd.Series(
            -np.log(model.difficulties_.to_numpy(dtype=np.float64)), index=_tasks(ann), name="beta"
        )
        self.priors_ = pd.Series(model.consensus_.priors_array, index=_classes(ann), name="prior")
        self.loss_history_ = _history_column(model, "objective", float(ann.n_annotations))


class MACE(_Aggregator):
    r"""crowd-kit's ``MACE``, by :class:`accord.MACE`: workers who know the answer, and workers who spam.

    Parameters
    ----------
    n_restarts : int, default 10
    n_iter : int, default 50
        Iterations per start.
    method : {"vb", "em"}, default "vb"
    smoothing : float, default 0.1
        Accepted for compatibility; as in crowd-kit, the EM smoothing used is ``smoothing_ = 0.01 / K``.
    default_noise : float, default 0.5
    alpha, beta : float, default 0.5
        Beta prior of the spam / know probabilities (VB).
    random_state : int, default 0
    verbose : int, default 0
        Accepted for compatibility (accord shows no progress bar).

    Attributes
    ----------
    labels_, probas_,
    spamming_ : ndarray (n_workers, 2)
        Per worker (in order of first appearance in the data) the probabilities of spamming and of knowing.
    thetas_ : ndarray (n_workers, n_labels)
        Each worker's spam strategy, labels in order of first appearance in the data (crowd-kit's order).
    theta_priors_, strategy_priors_ : ndarray (VB only, else None), smoothing_ : float, model_.

    References
    ----------
    D. Hovy, T. Berg-Kirkpatrick, A. Vaswani and E. Hovy (2013). Learning whom to trust with MACE. Proceedings
    of NAACL-HLT 2013, 1120-1130.
    """

    def __init__(
        self,
        n_restarts: int = 10,
        n_iter: int = 50,
        method: str = "vb",
        smoothing: float = 0.1,
        default_noise: float = 0.5,
        alpha: float = 0.5,
        beta: float = 0.5,
        random_state: int = 0,
        verbose: int = 0,
    ) -> None:
        self.n_restarts = n_restarts
        self.n_iter = n_iter
        self.method = method
        self.smoothing = smoothing
        self.default_noise = default_noise
        self.alpha = alpha
        self.beta = beta
        self.random_state = random_state
        self.verbose = verbose

    def _model(self) -> Any:
        return _MACE(
            method=self.method,  # type: ignore[arg-type]
            n_restarts=self.n_restarts,
            default_noise=self.default_noise,
            alpha=self.alpha,
            beta=self.beta,
            random_state=self.random_state,
            **_iterations(_MACE, self.n_iter),
        )

    def fit(self, data: pd.DataFrame) -> MACE:
        self._label_order = (
            pd.unique(data["label"]) if isinstance(data, pd.DataFrame) and "label" in data else None
        )
        self._fit_model(data)
        return self

    def _store(self, ann: Annotations, model: Any) -> None:
        super()._store(ann, model)
        k = ann.n_classes
        spam = model.spamming_.reindex(ann.annotators)
        self.spamming_ = spam[["spam", "know"]].to_numpy(dtype=np.float64)
        order = ann.classes.get_indexer(self._label_order) if self._label_order is not None else np.arange(k)
        self.thetas_ = model.strategies_.reindex(ann.annotators).to_numpy(dtype=np.float64)[:, order]
        vb = self.method == "vb"
        self.theta_priors_ = np.tile([self.alpha, self.beta], (ann.n_annotators, 1)) if vb else None
        self.strategy_priors_ = np.full((ann.n_annotators, k), 10.0) if vb else None
        self.smoothing_ = 0.01 / k


# ====================================================================== MMSR, KOS
class MMSR(_SkillsPredictor):
    r"""crowd-kit's ``MMSR`` (matrix mean-subsequence-reduced), by :class:`accord.MMSR`.

    Parameters
    ----------
    n_iter : int, default 10000
    tol : float, default 1e-10
    random_state : int, default 0

    Attributes
    ----------
    skills_ : Series indexed by worker
        Log-odds weights ``log((K-1) p / (1 - p))`` of the one-coin accuracies ``p``.
    scores_ : DataFrame
        crowd-kit's scores: per task, the sum of the weights of the workers who chose each label over the
        row's total (``fit_predict_score``, ``predict_score``).
    labels_ : the label with the largest summed weight; probas_ : accord's posterior ``softmax`` of the summed
    weights (crowd-kit has no probabilities); loss_history_.

    References
    ----------
    Q. Ma and A. Olshevsky (2020). Adversarial crowdsourcing through robust rank-one matrix completion.
    NeurIPS 2020. arXiv:2010.12181
    """

    def __init__(self, n_iter: int = 10000, tol: float = 1e-10, random_state: int | None = 0) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.random_state = random_state

    def _model(self) -> Any:
        return _MMSR(tol=self.tol, random_state=self.random_state, **_iterations(_MMSR, self.n_iter))

    def _store(self, ann: Annotations, model: Any) -> None:
        super()._store(ann, model)
        self.skills_ = skills_series(ann, model.skills_.to_numpy())
        self.scores_ = weighted_vote(ann, self.skills_)
        self.loss_history_ = [float(v) for v in getattr(model, "loss_history_", [])]

    def predict_score(self, data: pd.DataFrame) -> pd.DataFrame:
        """crowd-kit's scores of the tasks in ``data`` with the fitted ``skills_``."""
        self.scores_ = weighted_vote(to_annotations(data), self._fitted_skills())
        return self.scores_

    def fit_predict_score(self, data: pd.DataFrame) -> pd.DataFrame:
        """Fit and return ``scores_``."""
        self.fit(data)
        return self.scores_


class KOS(_Aggregator):
    r"""crowd-kit's ``KOS`` (Karger-Oh-Shah message passing, binary labels), by :class:`accord.KOS`.

    Parameters
    ----------
    n_iter : int, default 100
    random_state : int, default 0
        Seeds the Normal(1, 1) starting messages, as crowd-kit draws them (the draws themselves differ).

    Attributes
    ----------
    labels_; probas_ is the hard decision (one-hot: KOS gives no probabilities); model_ (``scores_``: the
    real-valued score of each task).

    References
    ----------
    D. R. Karger, S. Oh and D. Shah (2011). Iterative learning for reliable crowdsourcing systems. NIPS 24.
    """

    def __init__(self, n_iter: int = 100, random_state: int = 0) -> None:
        self.n_iter = n_iter
        self.random_state = random_state

    def _model(self) -> Any:
        return _KOS(init="random", random_state=self.random_state, **_iterations(_KOS, self.n_iter))
