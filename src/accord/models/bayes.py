"""The posterior of each item's true class when the annotators' confusions are known (Bayes' rule)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._kernel.confusions import one_coin_confusions
from .._kernel.em import LOG_EPS, AnnotationMatrix, e_step
from ..annotations import Annotations
from ..errors import InvalidParameterError
from ._base import as_annotations

__all__ = ["posterior"]


def _per_annotator(values: Any, annotations: Annotations, name: str) -> np.ndarray:
    """Align a dict / Series keyed by annotator id (or an array in ``annotations.annotators`` order)."""
    if isinstance(values, (dict, pd.Series)):
        mapping = dict(values)
        missing = [a for a in annotations.annotators if a not in mapping]
        if missing:
            raise InvalidParameterError(
                f"{name} is missing annotator(s) {missing[:5]}; give one for every annotator in the data"
            )
        return np.asarray([np.asarray(mapping[a], dtype=np.float64) for a in annotations.annotators])
    arr = np.asarray(values, dtype=np.float64)
    if len(arr) != annotations.n_annotators:
        raise InvalidParameterError(
            f"{name} has {len(arr)} entries but there are {annotations.n_annotators} annotators"
        )
    return arr


def posterior(
    annotations: Annotations | pd.DataFrame,
    *,
    confusions: Any = None,
    accuracies: Any = None,
    priors: Any = None,
) -> pd.DataFrame:
    r"""Posterior over the true class of every item, given each annotator's confusion matrix or accuracy.

    .. math:: P(t_i = k \mid \text{labels}) \propto \pi_k \prod_{n \in i} \theta_{a_n k l_n}

    Parameters
    ----------
    annotations : Annotations or DataFrame
    confusions : dict annotator -> K x K array (rows = true class, columns = label given), or an array
        (n_annotators x K x K) in ``annotations.annotators`` order.
    accuracies : dict annotator -> float, or array
        One-coin alternative: P(correct) = accuracy, errors spread evenly over the other classes.
    priors : sequence of K floats or dict class -> float, optional
        Class prior; default uniform.

    Examples
    --------
    Two annotators of accuracy 0.6 say "owl", one of accuracy 0.8 says "falcon": the single better annotator
    outweighs the two weaker ones, ``0.8 * 0.4^2 : 0.2 * 0.6^2 = 0.64 : 0.36``.

    >>> labels = ["owl", "owl", "falcon"]
    >>> df = pd.DataFrame({"item": [1, 1, 1], "annotator": ["a", "b", "c"], "label": labels})
    >>> posterior(df, accuracies={"a": 0.6, "b": 0.6, "c": 0.8}).round(2).loc[1].to_dict()
    {'falcon': 0.64, 'owl': 0.36}
    """
    ann = as_annotations(annotations)
    k = ann.n_classes
    if (confusions is None) == (accuracies is None):
        raise InvalidParameterError("give exactly one of confusions= or accuracies=")
    if confusions is not None:
        theta = _per_annotator(confusions, ann, "confusions")
        if theta.shape != (ann.n_annotators, k, k):
            raise InvalidParameterError(
                f"confusions must be K x K per annotator with K = {k} "
                f"(classes {list(ann.classes)}), got shape {theta.shape[1:]}"
            )
    else:
        acc = _per_annotator(accuracies, ann, "accuracies")
        if ((acc < 0) | (acc > 1)).any():
            raise InvalidParameterError("accuracies must lie in [0, 1]")
        theta = one_coin_confusions(acc, k)
    if priors is None:
        prior = np.full(k, 1.0 / k)
    elif isinstance(priors, dict):
        prior = np.asarray([priors[c] for c in ann.classes], dtype=np.float64)
    else:
        prior = np.asarray(priors, dtype=np.float64)
    if prior.shape != (k,) or (prior < 0).any() or not np.isclose(prior.sum(), 1.0):
        raise InvalidParameterError(f"priors must be {k} non-negative numbers summing to 1")
    post, _ = e_step(AnnotationMatrix(ann), np.log(prior + LOG_EPS), np.log(theta + LOG_EPS))
    return pd.DataFrame(post, index=ann.items, columns=ann.classes)
