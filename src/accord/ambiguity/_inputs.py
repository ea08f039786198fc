"""Checks of the inputs of the ambiguous-data functions: probability tables and smoothing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..consensus import Consensus
from ..errors import InvalidAnnotationsError, InvalidParameterError

__all__ = ["ROW_TOL", "as_distribution", "check_rows", "check_smoothing", "consensus_of"]

ROW_TOL = 1e-6


def consensus_of(obj: Any) -> Consensus | None:
    """The Consensus inside a Consensus or a fitted model, else None."""
    if isinstance(obj, Consensus):
        return obj
    consensus = getattr(obj, "__dict__", {}).get("consensus_")
    return consensus if isinstance(consensus, Consensus) else None


def as_distribution(obj: Any, name: str = "p") -> tuple[np.ndarray, pd.Index | None, pd.Index | None]:
    """``(array, item index, class index)`` of a Consensus, fitted model, DataFrame or 2-D array of rows that
    each sum to 1. The indexes are None for a plain array. Raises InvalidAnnotationsError otherwise."""
    consensus = consensus_of(obj)
    if consensus is not None:
        return consensus.proba_array, consensus.annotations.items, consensus.classes
    if isinstance(obj, pd.DataFrame):
        arr, index, columns = obj.to_numpy(dtype=np.float64, na_value=np.nan), obj.index, obj.columns
    else:
        try:
            arr = np.asarray(obj, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidAnnotationsError(
                f"{name} must be a Consensus, a DataFrame (items x classes) or a "
                f"2-D array of probabilities; got {type(obj).__name__}"
            ) from None
        index = columns = None
    check_rows(arr, name)
    return arr, index, columns


def check_rows(arr: np.ndarray, name: str) -> None:
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise InvalidAnnotationsError(f"{name} must be 2-D (items x classes), got shape {arr.shape}")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise InvalidAnnotationsError(
            f"{name} has NaN or infinite values in row(s) "
            f"{np.flatnonzero(bad)[:5].tolist()}; fill or drop those items"
        )
    if (arr < 0).any():
        rows = np.flatnonzero((arr < 0).any(axis=1))[:5].tolist()
        raise InvalidAnnotationsError(f"{name} has negative probabilities in row(s) {rows}")
    off = np.abs(arr.sum(axis=1) - 1.0) > ROW_TOL
    if off.any():
        rows = np.flatnonzero(off)[:5].tolist()
        raise InvalidAnnotationsError(
            f"the rows of {name} must sum to 1, but row(s) {rows} sum to "
            f"{np.round(arr.sum(axis=1)[off][:5], 6).tolist()}; divide each row by its sum (vote counts are "
            "not probabilities)"
        )


def check_smoothing(smoothing: float) -> float:
    try:
        beta = float(smoothing)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"smoothing must be a number >= 0, got {smoothing!r}") from None
    if not np.isfinite(beta) or beta < 0:
        raise InvalidParameterError(f"smoothing must be a finite number >= 0, got {smoothing!r}")
    return beta
