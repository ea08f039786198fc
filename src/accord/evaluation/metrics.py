"""Metrics of a consensus against gold labels: accuracy, macro-F1, log loss, calibration error."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InvalidAnnotationsError, InvalidParameterError

if TYPE_CHECKING:
    pass

__all__ = ["accuracy", "align_gold", "expected_calibration_error", "log_loss", "macro_f1", "macro_f1_codes"]


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
    """Unweighted mean over the gold classes of the per-class F1 score (see :func:`macro_f1_codes`)."""
    p, t = align_gold(labels, gold)
    return macro_f1_codes(p, t)


def macro_f1_codes(pred: np.ndarray, true: np.ndarray) -> float:
    """Macro-F1 of predicted against true labels given as two aligned arrays (codes or label values).

    For every class ``c`` present in ``true``: ``F1_c = 2 tp / (2 tp + fp + fn)`` (0 when ``tp = 0``); the
    result is their unweighted mean. Classes predicted but absent from ``true`` only count as false positives.

    >>> macro_f1_codes(np.array([0, 1, 0, 0]), np.array([0, 0, 0, 1]))
    0.3333333333333333
    """
    pred, true = np.asarray(pred), np.asarray(true)
    values, codes = np.unique(np.concatenate([true, pred]), return_inverse=True)
    t, p = codes[: len(true)], codes[len(true) :]
    k = len(values)
    tp = np.bincount(t[p == t], minlength=k)
    fp = np.bincount(p, minlength=k) - tp
    fn = np.bincount(t, minlength=k) - tp
    present = np.bincount(t, minlength=k) > 0
    f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(k), where=tp > 0)
    return float(np.mean(f1[present]))


# ---------------------------------------------------------------- calibration of a posterior on gold items
def _gold_rows(proba: pd.DataFrame, gold: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(p, y)``: the posterior rows of the gold items and the column of each gold label in ``proba``.

    Items and labels are matched as given, then as text. A gold label that is not a column of ``proba`` is an
    error (it names the label)."""
    rows = proba.index.get_indexer(gold.index)
    if (rows < 0).all():
        rows = pd.Index(proba.index.map(str)).get_indexer(gold.index.map(str))
    ok = rows >= 0
    if not ok.any():
        raise InvalidAnnotationsError("no gold item matches an item of the consensus; check the item ids")
    labels = gold.to_numpy()[ok]
    cols = proba.columns.get_indexer(labels)
    if (cols < 0).any():
        as_text = pd.Index(proba.columns.map(str))
        cols = np.where(cols < 0, as_text.get_indexer(pd.Index(labels).map(str)), cols)
    if (cols < 0).any():
        bad = pd.unique(labels[cols < 0])
        raise InvalidAnnotationsError(
            f"gold label(s) {list(bad)[:5]} are not classes of the consensus ({list(proba.columns)[:10]})"
        )
    return proba.to_numpy(dtype=np.float64)[rows[ok]], cols


def log_loss(proba: pd.DataFrame, gold: pd.Series, eps: float = 1e-15) -> float:
    r"""Mean negative log-likelihood of the gold labels under the posterior, over the gold items.

    :math:`\mathrm{NLL} = -\frac{1}{|G|} \sum_{i \in G} \log \max(p_{i, g_i}, \varepsilon)`; the floor ``eps``
    keeps one confident miss (or a hard 0/1 posterior) finite. Lower is better; a uniform posterior over ``K``
    classes scores ``log K``.

    Examples
    --------
    >>> proba = pd.DataFrame({"x": [0.8, 0.4], "y": [0.2, 0.6]}, index=[1, 2])
    >>> round(log_loss(proba, pd.Series({1: "x", 2: "x"})), 4)
    0.5697
    """
    p, y = _gold_rows(proba, gold)
    return float(-np.mean(np.log(np.maximum(p[np.arange(len(y)), y], eps))))


def expected_calibration_error(proba: pd.DataFrame, gold: pd.Series, n_bins: int = 10) -> float:
    r"""Expected calibration error of the top-class confidence, over the gold items.

    Items are put into ``n_bins`` equal-width bins by their confidence :math:`c_i = \max_k p_{ik}` (the top
    bin is closed); :math:`\mathrm{ECE} = \sum_b \frac{n_b}{n} \,|\mathrm{acc}_b - \bar c_b|`, with ``acc_b``
    the share of items in bin ``b`` whose top class (ties to the lowest class) is the gold label. 0 is
    perfectly calibrated.

    References
    ----------
    M. P. Naeini, G. F. Cooper and M. Hauskrecht (2015). Obtaining well calibrated probabilities using
    Bayesian binning. AAAI 2015. C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger (2017). On calibration of
    modern neural networks. ICML 2017.

    Examples
    --------
    >>> proba = pd.DataFrame({"x": [0.9, 0.9, 0.6], "y": [0.1, 0.1, 0.4]}, index=[1, 2, 3])
    >>> round(expected_calibration_error(proba, pd.Series({1: "x", 2: "y", 3: "x"})), 4)
    0.4
    """
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise InvalidParameterError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    p, y = _gold_rows(proba, gold)
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    bins = np.minimum((conf * n_bins).astype(np.int64), n_bins - 1)
    gap = np.abs(
        np.bincount(bins, weights=correct, minlength=n_bins)
        - np.bincount(bins, weights=conf, minlength=n_bins)
    )
    return float(gap.sum() / len(y))
