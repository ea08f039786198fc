"""Matching the user's ids between two indexes."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["match_index"]


def match_index(wanted: pd.Index, given: pd.Index) -> np.ndarray:
    """Position in ``given`` of every entry of ``wanted`` (-1 if absent); ids are matched as given, then as
    text."""
    pos = given.get_indexer(wanted) if given.is_unique else np.full(len(wanted), -1)
    if (pos < 0).any():
        as_text = pd.Index([str(v) for v in given])
        if as_text.is_unique:
            text_pos = as_text.get_indexer([str(v) for v in wanted])
            pos = np.where(pos < 0, text_pos, pos)
    return pos
