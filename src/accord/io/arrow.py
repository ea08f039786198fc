"""Readers built on pyarrow: a Parquet dataset (a directory or a glob of files) as a lazy Dask DataFrame.

Kept in :mod:`accord.io` so that every file read of the package happens here; :mod:`accord.engines.dask`
calls :func:`read_parquet_dataset` and never opens a file itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import AccordError, InvalidAnnotationsError

__all__ = ["read_parquet_dataset"]


def read_parquet_dataset(source: str | Path, columns: Sequence[str] | None = None) -> Any:
    """A Parquet dataset as a lazy ``dask.dataframe.DataFrame``: nothing is read until it is computed.

    Parameters
    ----------
    source : str or Path
        A directory of Parquet files, one Parquet file, or a glob (``"data/part-*.parquet"``).
    columns : sequence of str, optional
        Read only these columns.

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
    text = str(source)
    if not any(ch in text for ch in "*?[") and not Path(text).exists():
        raise InvalidAnnotationsError(
            f"no Parquet dataset at {text!r}: give a directory of .parquet files, a file or a glob"
        )
    return dd.read_parquet(text, columns=None if columns is None else list(columns))
