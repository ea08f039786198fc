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

from ._box_geometry import iou_from_corners

__all__ = ["cluster_batch", "cluster_boxes", "cluster_item"]


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
    lab = None if label is None else np.asarray(label)[None, :]
    return cluster_batch(np.asarray(xywh, float)[None], np.asarray(annotator)[None], lab, iou_threshold)[0]


def cluster_batch(
    xywh: np.ndarray, annotator: np.ndarray, label: np.ndarray | None, iou_threshold: float
) -> np.ndarray:
    """:func:`cluster_item` on ``B`` items of ``n`` boxes each at once: arrays ``(B, n, 4)``, ``(B, n)``.

    Every step merges, in every item that still has an admissible pair, its best pair; at most ``n - 1``
    steps, each a handful of array operations over the whole batch.
    """
    n_items, n = annotator.shape
    corners = np.concatenate([xywh[..., :2], xywh[..., :2] + xywh[..., 2:]], axis=-1)
    sums = iou_from_corners(corners[:, :, None, :], corners[:, None, :, :])
    idx = np.arange(n)
    sums[:, idx, idx] = 0.0
    size = np.ones((n_items, n))
    blocked = annotator[:, :, None] == annotator[:, None, :]
    if label is not None:
        blocked |= label[:, :, None] != label[:, None, :]
    assign = np.tile(idx, (n_items, 1))
    for _ in range(n - 1):
        link = np.where(blocked, -1.0, sums / (size[:, :, None] * size[:, None, :])).reshape(n_items, -1)
        flat = np.argmax(link, axis=1)
        go = np.flatnonzero(link[np.arange(n_items), flat] >= iou_threshold)
        if len(go) == 0:
            break
        i, j = np.divmod(flat[go], n)
        _merge(sums, size, blocked, go, i, j)
        assign[go] = np.where(assign[go] == j[:, None], i[:, None], assign[go])
    roots = assign == idx[None, :]
    rank = np.cumsum(roots, axis=1) - 1
    return np.take_along_axis(rank, assign, axis=1).astype(np.int64)


def _merge(
    sums: np.ndarray, size: np.ndarray, blocked: np.ndarray, b: np.ndarray, i: np.ndarray, j: np.ndarray
) -> None:
    """In items ``b``, fold cluster ``j`` into cluster ``i`` in place: IoU sums, sizes, cannot-links."""
    sums[b, i, :] += sums[b, j, :]
    sums[b, :, i] += sums[b, :, j]
    sums[b, i, i] = 0.0
    size[b, i] += size[b, j]
    blocked[b, i, :] |= blocked[b, j, :]
    blocked[b, :, i] |= blocked[b, :, j]
    blocked[b, j, :] = True
    blocked[b, :, j] = True


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
    max_batch_cells: int = 4_000_000,
) -> np.ndarray:
    """A cluster id per box, clusters numbered item by item (see :func:`cluster_item`).

    Items with the same number of boxes are clustered together by :func:`cluster_batch`, in chunks of at
    most ``max_batch_cells`` IoU cells, so the Python loop runs over box counts, not over items.

    Examples
    --------
    >>> xywh = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 4, 4]], dtype=float)
    >>> cluster_boxes(np.array([1, 0, 0]), np.array([0, 0, 1]), np.zeros(3, int), xywh).tolist()
    [2, 1, 0]
    """
    order, starts, stops = item_slices(item, xywh)
    counts = stops - starts
    local = np.empty(len(item), dtype=np.int64)
    for n in np.unique(counts):
        groups = np.flatnonzero(counts == n)
        step = max(1, max_batch_cells // int(n * n))
        for chunk in range(0, len(groups), step):
            rows = order[starts[groups[chunk : chunk + step], None] + np.arange(n)[None, :]]
            lab = label[rows] if by_label else None
            local[rows] = cluster_batch(xywh[rows], annotator[rows], lab, iou_threshold)
    n_local = np.zeros(len(starts), dtype=np.int64)
    np.maximum.at(n_local, np.repeat(np.arange(len(starts)), counts), local[order] + 1)
    offset = np.cumsum(n_local) - n_local
    out = np.empty(len(item), dtype=np.int64)
    out[order] = local[order] + np.repeat(offset, counts)
    return out
