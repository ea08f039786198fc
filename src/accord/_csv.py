"""CSV outputs that are safe to open in a spreadsheet: text cells that would run as formulas are neutralised.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by Excel,
LibreOffice and Google Sheets (CSV injection: ``=HYPERLINK(...)`` in an annotator id or a label). accord
writes such text cells with a leading ``'``, which spreadsheets show as text. Numbers, including negative
ones, are left alone, and so is text that is just a number (``"-1"``), which no spreadsheet runs. Turn it off
with ``escape_formulas=False`` (the CLI: ``--allow-formulas``).

References
----------
OWASP. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection

>>> frame = pd.DataFrame({"a": ["=HYPERLINK(1)", "-1", "@x", "ok"], "b": [-1.5, 2, 3, 4]})
>>> neutralise_formulas(frame)["a"].tolist(), neutralise_formulas(frame)["b"].tolist()
(["'=HYPERLINK(1)", '-1', "'@x", 'ok'], [-1.5, 2.0, 3.0, 4.0])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FORMULA_START", "neutralise_formulas"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells that a spreadsheet would run as a formula start with ``'``."""
    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if not (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)):
            continue
        text = col.astype(object)
        is_str = text.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        if not is_str.any():
            continue
        starts = np.zeros(len(text), dtype=bool)
        starts[is_str] = [v.startswith(FORMULA_START) for v in text[is_str]]
        if not starts.any():
            continue
        numeric = pd.to_numeric(text[starts], errors="coerce").notna().to_numpy()
        risky = np.flatnonzero(starts)[~numeric]
        if len(risky):
            text = text.copy()
            text.iloc[risky] = ["'" + v for v in text.iloc[risky]]
            out[name] = text
    return out
