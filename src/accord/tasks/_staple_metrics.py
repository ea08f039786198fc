"""Overlap scores of label maps held as flat pixel arrays: Dice and IoU per segment, vectorised over pixels.

For a segment (an item, or one mask of an item) and a foreground class ``c >= 1``, with ``A`` and ``B`` the
pixels labelled ``c`` in the two maps::

    Dice_c = 2 |A & B| / (|A| + |B|)        IoU_c = |A & B| / |A | B|

A segment's score is the mean over the foreground classes present in either map; two maps without any
foreground agree perfectly (score 1). Label ``K`` (the number of classes) marks a pixel with no label and is
never counted.

>>> import numpy as np
>>> a, b = np.array([0, 1, 1, 1]), np.array([0, 0, 1, 1])
>>> dice_iou(*overlap_counts(a, b, np.zeros(4, dtype=int), 1, 2))
(array([0.8]), array([0.66666667]))
"""

from __future__ import annotations

import numpy as np

__all__ = ["dice_iou", "mask_scores", "overlap_counts"]


def overlap_counts(
    a: np.ndarray,
    b: np.ndarray,
    segment: np.ndarray,
    n_segments: int,
    n_classes: int,
    weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``inter[g, c]``, ``area_a[g, c]``, ``area_b[g, c]`` for segments ``g`` and classes ``c < K``.

    ``weight`` counts each row that many times (rows standing for groups of identical pixels).
    """
    base = n_classes + 1
    size = n_segments * base
    seg = segment.astype(np.int64) * base
    a64, b64 = a.astype(np.int64), b.astype(np.int64)
    inter = np.bincount(seg + np.where(a64 == b64, a64, n_classes), weights=weight, minlength=size)
    area_a = np.bincount(seg + a64, weights=weight, minlength=size)
    area_b = np.bincount(seg + b64, weights=weight, minlength=size)
    shape = (n_segments, base)
    return (
        inter.reshape(shape)[:, :n_classes],
        area_a.reshape(shape)[:, :n_classes],
        area_b.reshape(shape)[:, :n_classes],
    )


def dice_iou(inter: np.ndarray, area_a: np.ndarray, area_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean Dice and IoU over the foreground classes present in either map (1.0 where neither has any)."""
    inter, area_a, area_b = (x[:, 1:].astype(np.float64) for x in (inter, area_a, area_b))
    total = area_a + area_b
    present = total > 0
    dice = np.divide(2 * inter, total, out=np.zeros_like(total), where=present)
    union = total - inter
    iou = np.divide(inter, union, out=np.zeros_like(total), where=present)
    n_present = present.sum(axis=1)
    mean = np.ones(len(total)), np.ones(len(total))
    has = n_present > 0
    mean[0][has] = dice.sum(axis=1)[has] / n_present[has]
    mean[1][has] = iou.sum(axis=1)[has] / n_present[has]
    return mean


def mask_scores(
    votes: np.ndarray,
    pixel_item: np.ndarray,
    reference: np.ndarray,
    n_items: int,
    n_classes: int,
    weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Dice and IoU of every mask (item ``t``, slot ``s``) against ``reference``; shape ``(n_items, S)``."""
    n_slots = votes.shape[1]
    dice = np.empty((n_items, n_slots))
    iou = np.empty((n_items, n_slots))
    for s in range(n_slots):
        counts = overlap_counts(votes[:, s], reference, pixel_item, n_items, n_classes, weight)
        dice[:, s], iou[:, s] = dice_iou(*counts)
    return dice, iou
