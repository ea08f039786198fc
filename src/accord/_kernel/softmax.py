"""Log-space helpers: the row-wise softmax of log-scores, fused with its argmax, and column sums.

NumPy's row reductions over a short last axis (K = 2..10 classes) are several times slower than K whole-column
operations, so these work one column at a time.
"""

from __future__ import annotations

import numpy as np

__all__ = ["column_sums", "log_normalize", "log_normalize_argmax", "running_argmax", "small_codes"]


def log_normalize_argmax(log_u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`log_normalize` that also returns the row-wise argmax (ties to the lowest column), computed in
    the same pass over the columns; the posterior comes back column-major (Fortran order), which is what the
    EM loop's next products read fastest."""
    n, k = log_u.shape
    cols = np.asfortranarray(log_u)
    m = cols[:, 0].copy()
    arg = running_argmax(cols, m).astype(np.intp)
    post = np.empty((n, k), order="F")
    total = np.zeros(n)
    for j in range(k):
        np.subtract(cols[:, j], m, out=post[:, j])
        np.exp(post[:, j], out=post[:, j])
        total += post[:, j]
    post /= total[:, None]
    return post, np.log(total) + m, arg


def small_codes(k: int) -> type[np.signedinteger]:
    """The narrowest signed integer type that holds the column indices ``0 .. k - 1``."""
    return np.int8 if k <= 127 else np.int16 if k <= 32767 else np.int64


def running_argmax(
    cols: np.ndarray,
    best: np.ndarray,
    arg: np.ndarray | None = None,
    better: np.ndarray | None = None,
    step: np.ndarray | None = None,
) -> np.ndarray:
    """Row-wise argmax of ``cols`` (items x K), ties to the lowest column, with ``best`` holding column 0 on
    entry and the row-wise maximum on return (``np.maximum``'s, so a NaN propagates).

    Column ``j`` takes a row over when it beats the running maximum of columns ``0 .. j - 1``; as ``j``
    grows, the argmax is the largest such ``j`` (0 if none): ``arg = max(arg, j * (col_j > best))``. The
    indices are kept in :func:`small_codes` (one byte for up to 127 classes): the passes move an eighth of
    the memory of ``intp`` arithmetic, and there is no masked assignment (several times slower).
    ``arg``, ``better`` and ``step`` are optional buffers (item-long; ``arg`` / ``step`` of
    :func:`small_codes`, ``better`` bool); returns ``arg``.
    """
    n, k = cols.shape
    code = small_codes(k)
    arg = np.empty(n, dtype=code) if arg is None else arg
    better = np.empty(n, dtype=bool) if better is None else better
    step = np.empty(n, dtype=code) if step is None else step
    arg.fill(0)
    for j in range(1, k):
        col = cols[:, j]
        np.greater(col, best, out=better)
        np.multiply(better, arg.dtype.type(j), out=step)
        np.maximum(arg, step, out=arg)
        np.maximum(best, col, out=best)
    return arg


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
