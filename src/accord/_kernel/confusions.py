"""Confusion matrices built from a few parameters or counted against hard labels."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..annotations import Annotations

__all__ = ["count_confusions", "one_coin_confusions"]


def one_coin_confusions(skills: np.ndarray, k: int) -> np.ndarray:
    """Confusion matrices of one-coin annotators: ``s`` on the diagonal, ``(1 - s) / (K - 1)`` elsewhere."""
    off = (1.0 - skills) / (k - 1)
    theta = np.repeat(off[:, None, None], k, axis=1).repeat(k, axis=2)
    idx = np.arange(k)
    theta[:, idx, idx] = skills[:, None]
    return theta


def count_confusions(annotations: Annotations, labels: np.ndarray) -> np.ndarray:
    """Row-normalised counts of each annotator's labels against hard consensus ``labels`` (class codes).

    ``c[a, k, l] = #{n : annotator[n] = a, labels[item[n]] = k, label[n] = l}``, divided by its row sum; a row
    with no annotation (annotator ``a`` never labelled an item of consensus class ``k``) is uniform.
    """
    ann = annotations
    k = ann.n_classes
    key = (ann.annotator.astype(np.int64) * k + np.asarray(labels, dtype=np.int64)[ann.item]) * k + ann.label
    counts = np.bincount(key, minlength=ann.n_annotators * k * k).reshape(ann.n_annotators, k, k)
    total = counts.sum(axis=2, keepdims=True)
    return np.divide(counts, total, out=np.full(counts.shape, 1.0 / k), where=total > 0)
