"""Readers built on pyarrow: a Parquet dataset (a directory or a glob of files) as a lazy Dask DataFrame.

Kept in :mod:`accord.io` so that every file read of the package happens here; :mod:`accord.engines.dask`
calls :func:`read_parquet_dataset` and never opens a file itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AccordError, InvalidAnnotationsError
from .tables import cell_text

__all__ = ["read_parquet_dataset", "text_columns"]


def text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as text by the reading policy of :func:`accord.io.read_table` (:func:`cell_text` of each
    distinct value: integral floats without ``.0``, missing cells ``None``), so that a typed file gives the
    same ids and labels whichever engine reads it.

    >>> text_columns(pd.DataFrame({"item": [1, 2], "label": [1.0, None]})).to_dict("list")
    {'item': ['1', '2'], 'label': ['1', None]}
    """
    out = {}
    for name in frame.columns:
        codes, uniques = pd.factorize(frame[name], use_na_sentinel=True)
        texts = np.array([cell_text(u) for u in uniques] + [None], dtype=object)
        out[str(name)] = pd.Series(texts[codes], index=frame.index, dtype=object)
    return pd.DataFrame(out, index=frame.index)


def read_parquet_dataset(source: str | Path, columns: Sequence[str] | None = None, text: bool = True) -> Any:
    """A Parquet dataset as a lazy ``dask.dataframe.DataFrame``: nothing is read until it is computed.

    Parameters
    ----------
    source : str or Path
        A directory of Parquet files, one Parquet file, or a glob (``"data/part-*.parquet"``).
    columns : sequence of str, optional
        Read only these columns.
    text : bool, default True
        Turn every column into text, partition by partition (:func:`text_columns`), as the in-memory reader
        does.

    Returns
    -------
    dask.dataframe.DataFrame
        One partition per file (or row group), as Dask reads it.

    Raises
    ------
    AccordError
        When Dask is not installed.
    InvalidAnnotationsError
        When ``source`` names nothing that exists.
    """
    try:
        import dask.dataframe as dd
    except ImportError:
        raise AccordError("the Dask engine needs dask: pip install 'accord[dask]'") from None
    where = str(source)
    if not any(ch in where for ch in "*?[") and not Path(where).exists():
        raise InvalidAnnotationsError(
            f"no Parquet dataset at {where!r}: give a directory of .parquet files, a file or a glob"
        )
    frame = dd.read_parquet(where, columns=None if columns is None else list(columns))
    if not text:
        return frame
    meta = pd.DataFrame({str(c): pd.Series([], dtype=object) for c in frame.columns})
    return frame.map_partitions(text_columns, meta=meta)
