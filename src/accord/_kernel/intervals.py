"""Confidence intervals for a share of annotations (Wald and Wilson)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidParameterError

__all__ = ["Z95", "check_fraction", "proportion_interval"]

Z95 = 1.96


def check_fraction(name: str, value: float, *, open_low: bool = False, open_high: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number in [0, 1], got {value!r}") from None
    low_ok = v > 0 if open_low else v >= 0
    high_ok = v < 1 if open_high else v <= 1
    if not (np.isfinite(v) and low_ok and high_ok):
        lo, hi = "(" if open_low else "[", ")" if open_high else "]"
        raise InvalidParameterError(f"{name} must be in {lo}0, 1{hi}, got {value!r}")
    return v


def proportion_interval(
    successes: Any, n: Any, *, method: str = "wilson", z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided interval for a share ``successes / n`` (elementwise; ``n = 0`` gives ``(0, 1)``).

    ``method="wald"``: ``p +- z sqrt(p (1 - p) / n)`` (eq. 1 of the paper), clipped to [0, 1].
    ``method="wilson"``: ``(p + z^2/2n +- z sqrt(p (1 - p)/n + z^2/4n^2)) / (1 + z^2/n)``.
    """
    s = np.asarray(successes, dtype=np.float64)
    n_arr = np.asarray(n, dtype=np.float64)
    if (n_arr < 0).any() or (s < 0).any() or (s > n_arr + 1e-9).any():
        raise InvalidParameterError("need 0 <= successes <= n")
    safe = np.where(n_arr > 0, n_arr, 1.0)
    p = np.where(n_arr > 0, s / safe, 0.5)
    if method == "wald":
        half = z * np.sqrt(p * (1 - p) / safe)
        low, high = p - half, p + half
    elif method == "wilson":
        denom = 1 + z * z / safe
        centre = (p + z * z / (2 * safe)) / denom
        half = z * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe)) / denom
        low, high = centre - half, centre + half
    else:
        raise InvalidParameterError(f"method must be 'wilson' or 'wald', got {method!r}")
    low = np.where(n_arr > 0, np.clip(low, 0, 1), 0.0)
    high = np.where(n_arr > 0, np.clip(high, 0, 1), 1.0)
    return low, high
