"""Base class of every aggregation model: the fit / predict surface and fitted-attribute access."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np
import pandas as pd

from .._kernel.driver import EMResult
from .._kernel.fitted import Confusions, errors_frame, history_frame
from .._utils import check_random_state
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import InvalidAnnotationsError, NotFittedError

__all__ = [
    "Aggregator",
    "Estimator",
    "LabelEstimator",
    "IterativeAggregator",
    "as_annotations",
    "as_input",
    "check_no_positional",
]

_Result = TypeVar("_Result")


class _Labelled(Protocol):
    @property
    def labels(self) -> pd.Series: ...

    @property
    def proba(self) -> pd.DataFrame: ...


_LabelResult = TypeVar("_LabelResult", bound=_Labelled)
_Input = TypeVar("_Input")


def as_input(
    data: object, kind: type[_Input], read: Callable[[pd.DataFrame], _Input], columns: str
) -> _Input:
    """``data`` itself when it is a ``kind``, a DataFrame read by ``read``; anything else is an error naming
    what was expected (``columns``, e.g. ``" with item, annotator, label columns"``)."""
    if isinstance(data, kind):
        return data
    if isinstance(data, pd.DataFrame):
        return read(data)
    raise InvalidAnnotationsError(
        f"expected {kind.__name__} or a pandas DataFrame{columns}; got {type(data).__name__}"
    )


def as_annotations(data: Annotations | pd.DataFrame) -> Annotations:
    """Accept an ``Annotations`` or a long DataFrame (item/annotator/label or task/worker/label columns)."""
    return as_input(data, Annotations, Annotations.from_frame, " with item, annotator, label columns")


class Estimator(Generic[_Result]):
    """Parameters and fitted-result access shared by the models here and the task models of
    :mod:`accord.tasks`.

    ``fit`` stores its result in ``consensus_``; the fitted attributes read it through ``_fitted``, which
    names the input ``fit`` takes (``_fit_input``) when the model is not fitted yet. ``get_params`` lists the
    constructor settings: the instance attributes that neither start nor end with an underscore.
    """

    _fit_input: ClassVar[str] = "annotations"
    consensus_: _Result

    def _fitted(self) -> _Result:
        consensus = self.__dict__.get("consensus_")
        if consensus is None:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet: call fit({self._fit_input}) first"
            )
        return consensus

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class LabelEstimator(Estimator[_LabelResult]):
    """An :class:`Estimator` whose result gives a label and class probabilities per item: ``labels_`` and
    ``proba_``."""

    @property
    def labels_(self) -> pd.Series:
        return self._fitted().labels

    @property
    def proba_(self) -> pd.DataFrame:
        return self._fitted().proba


class Aggregator(LabelEstimator[Consensus]):
    """Common surface of the models: ``fit`` returns ``self``; ``labels_``, ``proba_`` and ``consensus_``
    after.

    Subclasses implement ``_fit(annotations, rng, gold)`` and return a :class:`~accord.Consensus`. Every input
    of ``fit`` but the annotations is keyword-only; ``requires`` names the ones a model cannot fit without
    (e.g. ``("pred_probs",)``) and ``accepts`` all the ones it takes.
    """

    name = "aggregator"
    requires: ClassVar[tuple[str, ...]] = ()
    accepts: ClassVar[tuple[str, ...]] = ("gold",)

    def fit(self, annotations: Annotations | pd.DataFrame, *args: Any, gold: Any = None) -> Aggregator:
        """Fit the model.

        Parameters
        ----------
        annotations : Annotations or DataFrame
        gold : Series (item -> label), dict or DataFrame, optional, keyword-only
            Known true labels for some items; models that support it clamp those items during fitting.
            Do not pass the labels you will evaluate on.
        """
        check_no_positional(self, args)
        ann = as_annotations(annotations)
        gold_codes = ann.encode_gold(gold) if gold is not None else None
        rng = check_random_state(getattr(self, "random_state", None))
        self.annotations_ = ann
        consensus = self._fit(ann, rng, gold_codes)
        if gold_codes is not None:  # every model honours gold in its output, whether or not it used it inside
            consensus.proba_array[gold_codes[0]] = 0.0
            consensus.proba_array[gold_codes[0], gold_codes[1]] = 1.0
            consensus.label_codes[gold_codes[0]] = gold_codes[1]
        self.consensus_ = consensus
        return self

    def _fit(
        self, annotations: Annotations, rng: np.random.Generator, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> Consensus:
        raise NotImplementedError

    def fit_predict(self, annotations: Annotations | pd.DataFrame, *args: Any, **inputs: Any) -> pd.Series:
        """Fit and return the consensus label of each item (inputs as :meth:`fit`, keyword-only)."""
        check_no_positional(self, args)
        return self.fit(annotations, **inputs).labels_

    def fit_predict_proba(
        self, annotations: Annotations | pd.DataFrame, *args: Any, **inputs: Any
    ) -> pd.DataFrame:
        """Fit and return the posterior (items x classes) (inputs as :meth:`fit`, keyword-only)."""
        check_no_positional(self, args)
        return self.fit(annotations, **inputs).proba_


def check_no_positional(model: Any, args: tuple[Any, ...]) -> None:
    """Refuse extra inputs passed by position: ``fit(ann, gold)`` would otherwise be read as another input."""
    if args:
        names = ", ".join(f"{name}=..." for name in model.accepts) or "nothing else"
        raise TypeError(
            f"{type(model).__name__}.fit takes the annotations as its only positional argument; pass the "
            f"other inputs by keyword ({names})"
        )


class IterativeAggregator(Aggregator):
    """An aggregator fitted by iterations of the EM driver (:func:`accord._kernel.driver.run_em`).

    It shares one vocabulary: parameters ``max_iter``, ``tol`` and ``random_state``; fitted ``n_iter_``,
    ``converged_``, ``history_`` (a DataFrame, one row per iteration: iteration, objective, log_likelihood,
    max_delta, n_changed), ``snapshots_`` (per-iteration arrays within a byte budget), ``log_likelihood_`` and
    ``objective_``; models with confusion matrices add ``confusions_`` (:class:`~accord._kernel.fitted.
    Confusions`, labelled by annotator, true class and given label) and ``errors_`` (crowd-kit's layout).
    """

    max_iter: int
    tol: float

    def _store_run(self, result: EMResult[Any]) -> None:
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self.snapshots_ = result.snapshots
        self.history_ = history_frame(result.history, result.snapshots)
        self.log_likelihood_ = float(result.log_z.sum())
        self.objective_ = float(result.objective)

    def _store_confusions(self, values: np.ndarray, annotations: Annotations) -> Confusions:
        self.confusions_ = Confusions(values, annotations.annotators, annotations.classes)
        self.errors_ = errors_frame(self.confusions_)
        return self.confusions_

    @property
    def n_iter(self) -> int:
        """Deprecated spelling of ``max_iter``."""
        warnings.warn("n_iter is deprecated; use max_iter", DeprecationWarning, stacklevel=2)
        return self.max_iter

    @n_iter.setter
    def n_iter(self, value: int) -> None:
        warnings.warn("n_iter is deprecated; use max_iter", DeprecationWarning, stacklevel=2)
        self.max_iter = value


def renamed_n_iter(n_iter: int | None, max_iter: int, model: str) -> int:
    """``max_iter``, or the deprecated ``n_iter`` when a caller still passes it (with a
    DeprecationWarning)."""
    if n_iter is None:
        return max_iter
    warnings.warn(
        f"{model}(n_iter=...) is deprecated and will be removed in the next release; use max_iter",
        DeprecationWarning,
        stacklevel=3,
    )
    return int(n_iter)
