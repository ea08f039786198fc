"""Confusion matrices built from a few parameters."""

from __future__ import annotations

import numpy as np

__all__ = ["one_coin_confusions"]


def one_coin_confusions(skills: np.ndarray, k: int) -> np.ndarray:
    """Confusion matrices of one-coin annotators: ``s`` on the diagonal, ``(1 - s) / (K - 1)`` elsewhere."""
    off = (1.0 - skills) / (k - 1)
    theta = np.repeat(off[:, None, None], k, axis=1).repeat(k, axis=2)
    idx = np.arange(k)
    theta[:, idx, idx] = skills[:, None]
    return theta
