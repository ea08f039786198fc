"""Log-space helpers: the row-wise softmax of log-scores, fused with its argmax, and column sums.

NumPy's row reductions over a short last axis (K = 2..10 classes) are several times slower than K whole-column
operations, so these work one column at a time.
"""

from __future__ import annotations

import numpy as np

__all__ = ["column_sums", "log_normalize", "log_normalize_argmax"]


def log_normalize_argmax(log_u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`log_normalize` that also returns the row-wise argmax (ties to the lowest column), computed in
    the same pass over the columns; the posterior comes back column-major (Fortran order), which is what the
    EM loop's next products read fastest."""
    n, k = log_u.shape
    cols = np.asfortranarray(log_u)
    m = cols[:, 0].copy()
    arg = np.zeros(n, dtype=np.intp)
    for j in range(1, k):
        np.copyto(arg, j, where=cols[:, j] > m)
        np.maximum(m, cols[:, j], out=m)
    post = np.empty((n, k), order="F")
    total = np.zeros(n)
    for j in range(k):
        np.subtract(cols[:, j], m, out=post[:, j])
        np.exp(post[:, j], out=post[:, j])
        total += post[:, j]
    post /= total[:, None]
    return post, np.log(total) + m, arg


def log_normalize(log_u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise softmax of log-scores: returns ``(post, log_Z)`` with ``post = exp(log_u - log_Z)``,
    C-ordered.

    Works column by column (see :func:`log_normalize_argmax`): NumPy's row reductions over a short last axis
    (K = 2..10 classes) are several times slower than K whole-column operations.
    """
    post, log_z, _ = log_normalize_argmax(log_u)
    return np.ascontiguousarray(post), log_z


def column_sums(x: np.ndarray) -> np.ndarray:
    """``x.sum(axis=0)`` one column at a time (several times faster for tall, narrow arrays)."""
    return np.array([x[:, j].sum() for j in range(x.shape[1])])
