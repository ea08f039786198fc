"""Annotator qualification: score each annotator on a gold subset and keep those above a threshold ``mu``.

Notes
-----
Schmarje et al. (2024, appendix A.2 and C) train annotators on a small precisely labelled set ``X_l`` until
they reach a threshold ``mu`` (60 % to 80 %; 0.6 in their study) in macro accuracy and macro F1; an annotator
who does not is excluded together with all their annotations. For annotator ``a`` with confusion counts
``m[k, l]`` = gold items of class ``k`` they labelled ``l``, over the gold classes ``G_a`` they saw
(``sum_l m[k, l] > 0``):

- ``accuracy = sum_k m[k, k] / sum_{k,l} m[k, l]``;
- ``macro_accuracy = mean_{k in G_a} m[k, k] / sum_l m[k, l]`` (per-class recall; balanced accuracy);
- ``macro_f1 = mean_{k in G_a} 2 m[k, k] / (sum_l m[k, l] + sum_j m[j, k])``.

Classes an annotator used but never saw in gold lower the F1 of the gold classes through false positives, but
are not averaged over (the convention of :func:`accord.evaluation.metrics.macro_f1`).

References
----------
L. Schmarje et al. Annotating Ambiguous Images: General Annotation Strategy for High-Quality Data with
Real-World Biomedical Validation. TMLR 2024, appendix A.2. https://openreview.net/forum?id=gii9qgtvsL
(arXiv:2306.12189)
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..annotations import Annotations
from ..errors import DataQualityWarning, InvalidAnnotationsError, InvalidParameterError

__all__ = ["METRICS", "keep_annotators", "passing_annotators", "qualify"]

METRICS = ("both", "macro_accuracy", "macro_f1", "accuracy")


def _gold_confusions(annotations: Annotations, gold: Any) -> np.ndarray:
    """``m[a, k, l]``: gold items of class ``k`` that annotator ``a`` labelled ``l``."""
    items, labels = annotations.encode_gold(gold)
    if len(items) == 0:
        raise InvalidAnnotationsError(
            "no gold item has an annotation: check that gold item ids match the annotations' item ids"
        )
    gold_of = np.full(annotations.n_items, -1, dtype=np.int64)
    gold_of[items] = labels
    g = gold_of[annotations.item]
    on_gold = g >= 0
    k = annotations.n_classes
    key = (annotations.annotator[on_gold].astype(np.int64) * k + g[on_gold]) * k + annotations.label[on_gold]
    return np.bincount(key, minlength=annotations.n_annotators * k * k).reshape(-1, k, k).astype(np.float64)


def _scores(m: np.ndarray) -> dict[str, np.ndarray]:
    support = m.sum(axis=2)  # gold items per (annotator, class)
    predicted = m.sum(axis=1)  # labels given per (annotator, class)
    hits = np.diagonal(m, axis1=1, axis2=2)
    seen = support > 0
    n_classes_seen = seen.sum(axis=1)
    n = support.sum(axis=1)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=seen)
    f1 = np.divide(2 * hits, support + predicted, out=np.zeros_like(hits), where=seen)
    nan = np.full(len(m), np.nan)
    return {
        "n_gold": n.astype(np.int64),
        "accuracy": np.divide(hits.sum(axis=1), n, out=nan.copy(), where=n > 0),
        "macro_accuracy": np.divide(
            recall.sum(axis=1), n_classes_seen, out=nan.copy(), where=n_classes_seen > 0
        ),
        "macro_f1": np.divide(f1.sum(axis=1), n_classes_seen, out=nan.copy(), where=n_classes_seen > 0),
        "classes_seen": n_classes_seen.astype(np.int64),
    }


def qualify(
    annotations: Annotations | pd.DataFrame,
    gold: Any,
    *,
    mu: float = 0.6,
    metric: str = "both",
    min_gold: int = 1,
) -> pd.DataFrame:
    """Score every annotator on the gold items and say who reaches ``mu``.

    Parameters
    ----------
    annotations : Annotations or long DataFrame
    gold : Series (item -> label), dict or DataFrame with item and label columns
        The precisely labelled subset ``X_l``.
    mu : float in [0, 1], default 0.6
        The threshold.
    metric : {"both", "macro_accuracy", "macro_f1", "accuracy"}, default "both"
        What must reach ``mu``; ``"both"`` (the paper's rule) requires macro accuracy and macro F1.
    min_gold : int, default 1
        Annotators with fewer gold items do not pass (their scores are still shown).

    Returns
    -------
    DataFrame indexed by annotator: ``n_gold``, ``classes_seen``, ``accuracy``, ``macro_accuracy``,
    ``macro_f1``, ``passes``; sorted as ``annotations.annotators``. Scores are NaN for an annotator with no
    gold item.

    Examples
    --------
    >>> df = pd.DataFrame({"item": [1, 2, 1, 2], "annotator": list("aabb"), "label": list("xyxx")})
    >>> qualify(df, {1: "x", 2: "y"})["passes"].tolist()
    [True, False]
    """
    from ..models._base import as_annotations

    ann = as_annotations(annotations)
    mu = _check_mu(mu)
    if metric not in METRICS:
        raise InvalidParameterError(f"metric must be one of {METRICS}, got {metric!r}")
    if not isinstance(min_gold, (int, np.integer)) or min_gold < 1:
        raise InvalidParameterError(f"min_gold must be an integer >= 1, got {min_gold!r}")
    frame = pd.DataFrame(_scores(_gold_confusions(ann, gold)), index=ann.annotators)
    columns = ["macro_accuracy", "macro_f1"] if metric == "both" else [metric]
    reached = (frame[columns].fillna(-1.0) >= mu - 1e-12).all(axis=1)
    frame["passes"] = reached & (frame["n_gold"] >= min_gold)
    unseen = int((frame["n_gold"] == 0).sum())
    if unseen:
        warnings.warn(
            f"{unseen} annotator(s) labelled no gold item and cannot qualify",
            DataQualityWarning,
            stacklevel=2,
        )
    return frame


def _check_mu(mu: float) -> float:
    try:
        value = float(mu)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"mu must be a number in [0, 1], got {mu!r}") from None
    if not (0 <= value <= 1):
        raise InvalidParameterError(f"mu must be in [0, 1] (a share, e.g. 0.6), got {mu!r}")
    return value


def passing_annotators(annotations: Annotations | pd.DataFrame, gold: Any, **kwargs: Any) -> list[Any]:
    """The ids of the annotators that pass :func:`qualify` (same keywords)."""
    table = qualify(annotations, gold, **kwargs)
    return table.index[table["passes"].to_numpy()].tolist()


def keep_annotators(annotations: Annotations, annotators: Any) -> Annotations:
    """Only the annotations of the given annotator ids (e.g. those that qualified); indexes are unchanged.

    Items may be left without annotation; they stay in ``items`` so results align with the full data.
    """
    ids = pd.Index(list(annotators))
    codes = annotations.annotators.get_indexer(ids)
    if (codes < 0).any():
        raise InvalidAnnotationsError(f"unknown annotator id(s): {ids[codes < 0][:5].tolist()}")
    mask = np.zeros(annotations.n_annotators, dtype=bool)
    mask[codes] = True
    return annotations.take(mask[annotations.annotator])
