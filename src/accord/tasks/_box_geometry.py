"""Box geometry on arrays: corner conversion and intersection-over-union, vectorised with broadcasting.

Boxes are rows ``(x, y, width, height)`` with ``(x, y)`` the top-left corner, in any unit (pixels, percent of
the image, ...). IoU is invariant to scaling each axis, so percent and pixel boxes give the same IoU.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["from_corners", "iou_from_corners", "iou_matrix", "paired_iou", "to_corners"]


def to_corners(xywh: np.ndarray) -> np.ndarray:
    """``(x, y, width, height)`` rows to ``(x1, y1, x2, y2)`` rows."""
    xywh = np.asarray(xywh, dtype=np.float64)
    return np.concatenate([xywh[..., :2], xywh[..., :2] + xywh[..., 2:4]], axis=-1)


def from_corners(corners: np.ndarray) -> np.ndarray:
    """``(x1, y1, x2, y2)`` rows to ``(x, y, width, height)`` rows."""
    corners = np.asarray(corners, dtype=np.float64)
    return np.concatenate([corners[..., :2], corners[..., 2:4] - corners[..., :2]], axis=-1)


def iou_from_corners(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of corner boxes ``a`` and ``b`` that broadcast against each other (last axis = 4 corners)."""
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0.0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0.0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def iou_matrix(a: ArrayLike, b: ArrayLike | None = None) -> np.ndarray:
    """Pairwise IoU of ``(x, y, width, height)`` boxes: ``out[i, j] = IoU(a[i], b[j])``.

    Parameters
    ----------
    a : array, shape (n, 4)
    b : array, shape (m, 4), optional
        Default: ``a`` itself.

    Returns
    -------
    ndarray, shape (n, m)

    Notes
    -----
    :math:`\\mathrm{IoU}(A, B) = |A \\cap B| / (|A| + |B| - |A \\cap B|)`, computed for all pairs at once by
    broadcasting an ``(n, 1, 4)`` against a ``(1, m, 4)`` corner array.

    Examples
    --------
    >>> iou_matrix([[0, 0, 2, 2]], [[1, 1, 2, 2], [0, 0, 2, 2]]).round(4).tolist()
    [[0.1429, 1.0]]
    """
    ca = to_corners(np.asarray(a, dtype=np.float64).reshape(-1, 4))
    cb = ca if b is None else to_corners(np.asarray(b, dtype=np.float64).reshape(-1, 4))
    return iou_from_corners(ca[:, None, :], cb[None, :, :])


def paired_iou(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Element-wise IoU of two equally long ``(x, y, width, height)`` arrays: ``out[i] = IoU(a[i], b[i])``."""
    return iou_from_corners(
        to_corners(np.asarray(a).reshape(-1, 4)), to_corners(np.asarray(b).reshape(-1, 4))
    )
