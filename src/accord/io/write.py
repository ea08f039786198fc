"""Writing result tables by file suffix: CSV and TSV (formatted by pyarrow, the same text as pandas'
``to_csv``), Parquet (pyarrow), JSON and JSON Lines.

CSV and TSV cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` ...) are written with
a leading ``'`` unless ``escape_formulas=False`` (see :mod:`accord._csv`). ``-`` writes CSV to standard
output.

>>> import tempfile, pathlib
>>> frame = pd.DataFrame({"item": ["a", "=b"], "p": [0.25, 1e-05]})
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_table(frame, folder / "out.csv")
>>> print((folder / "out.csv").read_text(), end="")
item,p
a,0.25
'=b,1e-05
>>> write_table(frame, folder / "out.parquet")
>>> pd.read_parquet(folder / "out.parquet")["p"].tolist()
[0.25, 1e-05]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

import pandas as pd

from .._csv import write_csv, write_parquet
from ..errors import AccordError, InvalidParameterError

__all__ = ["OUTPUT_FORMATS", "output_format", "write_table"]

OUTPUT_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def output_format(path: str | Path) -> str:
    """The format a path is written in, from its suffix (``-``: CSV on standard output).

    >>> output_format("out.TSV"), output_format("-")
    ('tsv', 'csv')
    """
    text = str(path)
    suffix = ".csv" if text == "-" else Path(text).suffix.lower()
    fmt = OUTPUT_FORMATS.get(suffix)
    if fmt is None:
        raise InvalidParameterError(
            f"cannot write {text}: the suffix {suffix or '(none)'} is not one accord writes; "
            "use .csv, .tsv, .parquet, .json or .jsonl"
        )
    return fmt


def write_table(
    frame: pd.DataFrame,
    path: str | Path | IO[Any],
    *,
    fmt: str | None = None,
    escape_formulas: bool = True,
    float_digits: int | None = None,
) -> None:
    """Write ``frame`` (without its index) to ``path`` in ``fmt`` (default: from the suffix).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, e.g. ``Consensus.to_frame()`` or ``Consensus.annotators_frame()``.
    path : str, Path or open file
        Where to write; ``-`` is standard output (CSV unless ``fmt`` says otherwise). An open file needs
        ``fmt``.
    fmt : {"csv", "tsv", "parquet", "json", "jsonl"}, optional
    escape_formulas : bool, default True
        CSV and TSV only: neutralise text cells that a spreadsheet would run as a formula.
    float_digits : int, optional
        CSV and TSV only: write floats with this many digits after the decimal point (``0.500000`` for 6, as
        pandas' ``float_format="%.6f"``), several times faster than the default, the shortest text that
        reads back to the same double (``0.5``, ``0.7310585786300049``). Parquet, JSON and JSON Lines keep
        every bit.
    """
    is_file = not isinstance(path, str | Path)
    if fmt is None:
        if not isinstance(path, str | Path):
            raise InvalidParameterError("write_table to an open file needs fmt= (csv, tsv, parquet, ...)")
        fmt = output_format(path)
    if fmt not in OUTPUT_FORMATS.values():
        raise InvalidParameterError(f"fmt={fmt!r}: use one of csv, tsv, parquet, json, jsonl")
    target: Any = sys.stdout if str(path) == "-" and not is_file else path
    if fmt in ("csv", "tsv"):
        write_csv(
            frame,
            target,
            sep="\t" if fmt == "tsv" else ",",
            escape_formulas=escape_formulas,
            float_digits=float_digits,
        )
    elif fmt == "parquet":
        try:
            write_parquet(frame, target)
        except ImportError:
            raise AccordError("writing Parquet needs pyarrow: pip install 'accord[parquet]'") from None
    else:
        frame.to_json(target, orient="records", lines=fmt == "jsonl", force_ascii=False)
