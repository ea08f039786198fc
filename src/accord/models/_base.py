"""Base class of every aggregation model: the fit / predict surface and fitted-attribute access."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._utils import check_random_state
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import InvalidAnnotationsError, NotFittedError

__all__ = ["Aggregator", "as_annotations"]


def as_annotations(data: Annotations | pd.DataFrame) -> Annotations:
    """Accept an ``Annotations`` or a long DataFrame (item/annotator/label or task/worker/label columns)."""
    if isinstance(data, Annotations):
        return data
    if isinstance(data, pd.DataFrame):
        return Annotations.from_frame(data)
    raise InvalidAnnotationsError(
        "expected Annotations or a pandas DataFrame with item, annotator, label columns; "
        f"got {type(data).__name__}"
    )


class Aggregator:
    """Common surface of the models: ``fit`` returns ``self``; ``labels_``, ``proba_`` and ``consensus_``
    after.

    Subclasses implement ``_fit(annotations, rng, gold)`` and return a :class:`~accord.Consensus`.
    """

    name = "aggregator"

    def fit(self, annotations: Annotations | pd.DataFrame, gold: Any = None) -> Aggregator:
        """Fit the model.

        Parameters
        ----------
        annotations : Annotations or DataFrame
        gold : Series (item -> label), dict or DataFrame, optional
            Known true labels for some items; models that support it clamp those items during fitting.
            Do not pass the labels you will evaluate on.
        """
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

    def fit_predict(self, annotations: Annotations | pd.DataFrame, gold: Any = None) -> pd.Series:
        """Fit and return the consensus label of each item."""
        return self.fit(annotations, gold=gold).labels_

    def fit_predict_proba(self, annotations: Annotations | pd.DataFrame, gold: Any = None) -> pd.DataFrame:
        """Fit and return the posterior (items x classes)."""
        return self.fit(annotations, gold=gold).proba_

    def _fitted(self) -> Consensus:
        consensus = self.__dict__.get("consensus_")
        if consensus is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(annotations) first")
        return consensus

    @property
    def labels_(self) -> pd.Series:
        return self._fitted().labels

    @property
    def proba_(self) -> pd.DataFrame:
        return self._fitted().proba

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"
