"""Matching boxes across annotators: constrained agglomerative clustering on IoU, one item at a time.

Every item's boxes start as singletons. The two clusters with the highest average pairwise IoU are merged,
as long as that average is at least the threshold and the two clusters share no annotator (and, with
``by_label``, carry the same label); then the next pair, until no admissible pair is left. The result does not
depend on the order of the rows or on the names of annotators (boxes are visited in coordinate order; only
exactly equal IoUs could tie).

This is the order-free counterpart of the greedy matching of weighted boxes fusion (Solovyev et al. 2021),
which visits boxes by decreasing confidence and attaches each to the first fused box it overlaps enough, and
of SageMaker Ground Truth's consolidation, which groups the most similar boxes of different workers by their
Jaccard index (IoU) before averaging them.
"""

from __future__ import annotations

import numpy as np

from ._box_geometry import iou_matrix

__all__ = ["cluster_boxes", "cluster_item"]


def cluster_item(
    xywh: np.ndarray, annotator: np.ndarray, label: np.ndarray | None, iou_threshold: float
) -> np.ndarray:
    """Cluster codes ``0..m-1`` of one item's boxes (average-linkage on IoU, cannot-link inside an annotator).

    Parameters
    ----------
    xywh : array, shape (n, 4)
    annotator : array of int, shape (n,)
    label : array of int, shape (n,), optional
        When given, boxes of different labels are never merged.
    iou_threshold : float
        Smallest average IoU between two clusters that still merges them.

    Examples
    --------
    >>> boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [50, 50, 5, 5]])
    >>> cluster_item(boxes, np.array([0, 1, 0, 2]), None, 0.5).tolist()
    [0, 0, 1, 2]
    """
    n = len(xywh)
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    sums = iou_matrix(xywh)
    np.fill_diagonal(sums, 0.0)
    size = np.ones(n)
    blocked = annotator[:, None] == annotator[None, :]
    if label is not None:
        blocked |= label[:, None] != label[None, :]
    assign = np.arange(n)
    while True:
        link = np.where(blocked, -1.0, sums / np.outer(size, size))
        i, j = divmod(int(np.argmax(link)), n)
        if link[i, j] < iou_threshold:
            break
        _merge(sums, size, blocked, i, j)
        assign[assign == j] = i
    return np.unique(assign, return_inverse=True)[1].astype(np.int64)


def _merge(sums: np.ndarray, size: np.ndarray, blocked: np.ndarray, i: int, j: int) -> None:
    """Fold cluster ``j`` into cluster ``i`` in place: IoU sums, sizes and cannot-link constraints."""
    sums[i] += sums[j]
    sums[:, i] += sums[:, j]
    sums[i, i] = 0.0
    size[i] += size[j]
    blocked[i] |= blocked[j]
    blocked[:, i] |= blocked[:, j]
    blocked[j, :] = True
    blocked[:, j] = True


def item_slices(item: np.ndarray, xywh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(order, starts, stops)``: boxes sorted by item, then by coordinates; item ``g`` is
    ``order[starts[g]:stops[g]]``."""
    order = np.lexsort((xywh[:, 3], xywh[:, 2], xywh[:, 1], xywh[:, 0], item))
    if len(order) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return order, empty, empty
    bounds = np.flatnonzero(np.diff(item[order])) + 1
    return order, np.r_[0, bounds], np.r_[bounds, len(order)]


def cluster_boxes(
    item: np.ndarray,
    annotator: np.ndarray,
    label: np.ndarray,
    xywh: np.ndarray,
    *,
    iou_threshold: float = 0.5,
    by_label: bool = False,
) -> np.ndarray:
    """A cluster id per box, clusters numbered item by item (see :func:`cluster_item`).

    Examples
    --------
    >>> xywh = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 4, 4]], dtype=float)
    >>> cluster_boxes(np.array([1, 0, 0]), np.array([0, 0, 1]), np.zeros(3, int), xywh).tolist()
    [2, 1, 0]
    """
    out = np.empty(len(item), dtype=np.int64)
    order, starts, stops = item_slices(item, xywh)
    next_id = 0
    for start, stop in zip(starts, stops, strict=True):
        idx = order[start:stop]
        local = cluster_item(xywh[idx], annotator[idx], label[idx] if by_label else None, iou_threshold)
        out[idx] = local + next_id
        next_id += int(local.max()) + 1
    return out
