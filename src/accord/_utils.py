"""Small helpers shared across modules: random state, segment sums, log-sum-exp."""

from __future__ import annotations

import numbers

import numpy as np

from .errors import InvalidParameterError

RandomState = "int | np.random.Generator | None"


def check_random_state(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """Turn ``random_state`` into a ``np.random.Generator`` once, at fit time.

    ``None`` gives a fixed seed (0), so that results are deterministic unless the user asks otherwise.
    """
    if random_state is None:
        return np.random.default_rng(0)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral):
        return np.random.default_rng(int(random_state))
    raise InvalidParameterError(
        f"random_state must be an int, a numpy Generator or None, got {type(random_state).__name__}"
    )


def seg_sum(values: np.ndarray | None, keys: np.ndarray, size: int) -> np.ndarray:
    """Per-key sums: ``out[j] = sum(values[keys == j])`` (counts when ``values`` is None)."""
    return np.bincount(keys, weights=values, minlength=size).astype(np.float64, copy=False)


def log_normalize_argmax(log_u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`log_normalize` that also returns the row-wise argmax (ties to the lowest column), computed in the
    same pass over the columns; the posterior comes back column-major (Fortran order), which is what the EM
    loop's next products read fastest."""
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
    """Row-wise softmax of log-scores: returns ``(post, log_Z)`` with ``post = exp(log_u - log_Z)``, C-ordered.

    Works column by column (see :func:`log_normalize_argmax`): NumPy's row reductions over a short last axis
    (K = 2..10 classes) are several times slower than K whole-column operations.
    """
    post, log_z, _ = log_normalize_argmax(log_u)
    return np.ascontiguousarray(post), log_z


def column_sums(x: np.ndarray) -> np.ndarray:
    """``x.sum(axis=0)`` one column at a time (several times faster for tall, narrow arrays)."""
    return np.array([x[:, j].sum() for j in range(x.shape[1])])


def argmax_lowest(x: np.ndarray) -> np.ndarray:
    """Row-wise argmax; ties go to the lowest column index (``np.argmax``'s rule)."""
    return np.asarray(x).argmax(axis=1)


def check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    if not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_nonneg_float(name: str, value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number >= 0, got {value!r}") from None
    if not np.isfinite(v) or v < 0:
        raise InvalidParameterError(f"{name} must be a finite number >= 0, got {value!r}")
    return v
