"""Metrics of a consensus against gold labels: accuracy, macro-F1, log loss, calibration error."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InvalidAnnotationsError

__all__ = ["accuracy", "macro_f1", "align_gold"]


def align_gold(labels: pd.Series, gold: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(predicted, true)`` arrays on the items that have both a prediction and a gold label.

    Item ids are matched as given, then as text (so gold read from a file matches integer ids)."""
    pred = labels.copy()
    g = gold.copy()
    common = pred.index.intersection(g.index)
    if len(common) == 0:
        pred.index = pred.index.map(str)
        g.index = g.index.map(str)
        common = pred.index.intersection(g.index)
    if len(common) == 0:
        raise InvalidAnnotationsError("no gold item matches an item of the consensus; check the item ids")
    p = pred.loc[common].to_numpy()
    t = g.loc[common].to_numpy()
    if p.dtype == object or t.dtype == object:
        p, t = p.astype(str), t.astype(str)
    return p, t


def accuracy(labels: pd.Series, gold: pd.Series) -> float:
    """Share of gold items whose consensus label equals the gold label."""
    p, t = align_gold(labels, gold)
    return float(np.mean(p == t))


def macro_f1(labels: pd.Series, gold: pd.Series) -> float:
    """Unweighted mean over the gold classes of the per-class F1 score."""
    p, t = align_gold(labels, gold)
    scores = []
    for c in np.unique(t):
        tp = np.sum((p == c) & (t == c))
        fp = np.sum((p == c) & (t != c))
        fn = np.sum((p != c) & (t == c))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))
