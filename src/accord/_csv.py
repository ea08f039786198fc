"""Tables written as CSV (safe to open in a spreadsheet, fast with pyarrow) and as Parquet.

**Formulas.** A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets (CSV injection: ``=HYPERLINK(...)`` in an annotator id or a
label). accord writes such text cells with a leading ``'``, which spreadsheets show as text. Numbers,
including negative ones, are left alone, and so is text that is just a number (``"-1"``), which no
spreadsheet runs. Turn it off with ``escape_formulas=False`` (the CLI: ``--allow-formulas``). The check runs
on the distinct values of a categorical column and on whole columns of text, never cell by cell in Python.

**CSV text.** :func:`write_csv` writes the same bytes as ``DataFrame.to_csv(index=False)``: floats as
Python's ``repr`` (shortest round trip: ``0.1``, ``1e-05``, ``100.0``), missing values as empty cells,
``True`` and ``False``, text quoted only when it holds the separator, a quote or a line break (quotes
doubled). With pyarrow installed the cells are formatted by Arrow's compute kernels in blocks of rows on a
few threads, and Arrow's shortest float text is turned into Python's spelling (exponent from ``1e-05`` down
and from ``1e+16`` up, a trailing ``.0`` on whole numbers). Formatting floats is most of the cost, so a column
of few distinct values (shares, counts) formats each value once, and a column whose every value repeats
another float column of its row (a consensus table's ``confidence`` is one of its ``proba_`` columns) takes
that column's text. A column of another type (dates, ...) or no pyarrow sends the whole table through pandas.

References
----------
OWASP. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection

Apache Arrow. Compute functions. https://arrow.apache.org/docs/python/api/compute.html

>>> frame = pd.DataFrame({"a": ["=HYPERLINK(1)", "-1", "@x", "ok"], "b": [-1.5, 2, 3, 4]})
>>> neutralise_formulas(frame)["a"].tolist(), neutralise_formulas(frame)["b"].tolist()
(["'=HYPERLINK(1)", '-1', "'@x", 'ok'], [-1.5, 2.0, 3.0, 4.0])
>>> import io
>>> out = io.StringIO()
>>> write_csv(pd.DataFrame({"id": ["a,b", "=1"], "p": [1e-05, 100.0]}), out)
>>> print(out.getvalue(), end="")
id,p
"a,b",1e-05
'=1,100.0
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

__all__ = ["FORMULA_START", "fixed_text", "float_text", "neutralise_formulas", "write_csv", "write_parquet"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BLOCK_ROWS = 1 << 18  # rows formatted together; bounds the memory of the text in flight
_THREADS = max(1, min(4, os.cpu_count() or 1))


# ====================================================================== formulas
def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells that a spreadsheet would run as a formula start with ``'``."""
    out = frame.copy(deep=False)  # only the columns that change are new
    for position in range(len(out.columns)):
        col = out.iloc[:, position]
        if isinstance(col.dtype, pd.CategoricalDtype):
            fixed = _neutralise_categorical(col)
        elif pd.api.types.is_string_dtype(col.dtype) and not pd.api.types.is_object_dtype(col.dtype):
            fixed = _neutralise_text(col)
        elif pd.api.types.is_object_dtype(col.dtype):
            fixed = _neutralise_objects(col)
        else:
            fixed = None
        if fixed is not None:
            out.isetitem(position, fixed)
    return out


def _risky(text: pd.Series) -> np.ndarray:
    """Positions of the (all-string, possibly missing) values that start like a formula and are no number."""
    starts = np.flatnonzero(text.str.startswith(FORMULA_START).fillna(False).to_numpy(dtype=bool))
    if not len(starts):
        return starts
    numeric = pd.to_numeric(text.iloc[starts], errors="coerce").notna().to_numpy()
    return starts[~numeric]


def _neutralise_text(col: pd.Series) -> pd.Series | None:
    risky = _risky(col)
    if not len(risky):
        return None
    mask = np.zeros(len(col), dtype=bool)
    mask[risky] = True
    return col.mask(mask, "'" + col)


def _neutralise_categorical(col: pd.Series) -> pd.Series | None:
    categories = col.cat.categories
    if not pd.api.types.is_string_dtype(categories.dtype):
        return None
    values = pd.Series(categories.to_numpy(dtype=object))
    fixed = _neutralise_objects(values)
    if fixed is None:
        return None
    renamed = pd.Index(fixed.to_numpy(dtype=object))
    if renamed.is_unique:
        return col.cat.rename_categories(renamed)
    return pd.Series(renamed.to_numpy(dtype=object)[col.cat.codes.to_numpy()], index=col.index, name=col.name)


def _neutralise_objects(col: pd.Series) -> pd.Series | None:
    """Object values: only the strings among them can be neutralised."""
    if not len(col):
        return None
    text = col.astype(object)
    if _object_strings(text) is not None:  # strings and missing values only: one pass over the column
        risky = _risky(text)
    else:
        is_str = text.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        risky = np.flatnonzero(is_str)[_risky(text[is_str])] if is_str.any() else is_str[:0].nonzero()[0]
    if not len(risky):
        return None
    text = text.copy()
    text.iloc[risky] = ["'" + v for v in text.iloc[risky]]
    return text


# ====================================================================== CSV
def write_csv(
    frame: pd.DataFrame,
    target: str | Path | IO[Any],
    *,
    sep: str = ",",
    escape_formulas: bool = True,
    float_digits: int | None = None,
) -> None:
    """Write ``frame`` (without its index) as CSV: the bytes ``DataFrame.to_csv(target, sep=sep,
    index=False)`` writes, formatted by pyarrow when it is installed.

    ``target`` is a path or an open file (text or binary). Text cells that would run as spreadsheet formulas
    are neutralised first (:func:`neutralise_formulas`) unless ``escape_formulas=False``. ``float_digits=N``
    writes every float column with ``N`` digits after the decimal point, as ``to_csv(...,
    float_format=f"%.{N}f")`` does (``0.500000``; categories and object cells unchanged), several times
    faster than the shortest round-trip text of the default.
    """
    float_format = _float_format(float_digits)
    safe = neutralise_formulas(frame) if escape_formulas else frame
    formatters = _formatters(safe, sep, float_digits)
    if formatters is None:
        safe.to_csv(target, sep=sep, index=False, float_format=float_format)
        return
    header = io.StringIO()
    csv.writer(header, delimiter=sep, lineterminator=os.linesep).writerow([str(c) for c in safe.columns])
    with _binary_sink(target) as write:
        write(header.getvalue().encode("utf-8"))
        for block in _text_blocks(formatters, len(safe), sep, single=len(safe.columns) == 1):
            write(block)


class _binary_sink:
    """A ``write(bytes)`` for a path (opened and closed here) or for an open text or binary file."""

    def __init__(self, target: str | Path | IO[Any]) -> None:
        self.target = target
        self.handle: IO[bytes] | None = None

    def __enter__(self) -> Callable[[Any], Any]:
        if isinstance(self.target, str | Path):
            self.handle = open(self.target, "wb")  # noqa: SIM115 - closed in __exit__
            return self.handle.write
        raw = getattr(self.target, "buffer", None)
        if raw is not None and _is_utf8(getattr(self.target, "encoding", None)):
            self.target.flush()
            return raw.write
        if isinstance(self.target, io.TextIOBase) or hasattr(self.target, "encoding"):
            return lambda data: self.target.write(bytes(data).decode("utf-8"))  # type: ignore[union-attr]
        return self.target.write

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()
        else:
            raw = getattr(self.target, "buffer", None)
            if raw is not None:
                raw.flush()


def _is_utf8(encoding: str | None) -> bool:
    try:
        return encoding is not None and codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def _text_blocks(
    formatters: list[_Formatter | _Repeat], n_rows: int, sep: str, *, single: bool
) -> Iterator[Any]:
    """The CSV text of the rows, one buffer per block of :data:`BLOCK_ROWS` rows, in order; a few blocks
    are formatted at once on threads (Arrow's kernels release the GIL)."""
    starts = range(0, n_rows, BLOCK_ROWS)
    with ThreadPoolExecutor(_THREADS) as pool:
        pending: deque[Future[Any]] = deque()
        for start in starts:
            stop = min(start + BLOCK_ROWS, n_rows)
            pending.append(pool.submit(_block_text, formatters, start, stop, sep, single))
            if len(pending) > _THREADS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _block_text(formatters: list[_Formatter | _Repeat], start: int, stop: int, sep: str, single: bool) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    def text(value: str) -> Any:
        return pa.scalar(value, pa.large_string())

    cells: list[Any] = [None] * len(formatters)
    for i, f in enumerate(formatters):
        if not isinstance(f, _Repeat):
            cells[i] = pc.cast(f(start, stop), pa.large_string())
    for i, f in enumerate(formatters):
        if isinstance(f, _Repeat):
            cells[i] = pc.choose(pa.array(f.which[start:stop]), *[cells[j] for j in f.sources])
    cells = [pc.fill_null(c, text("")) if c.null_count else c for c in cells]
    if single:  # the csv module quotes a lone empty field, so that the line is not blank
        cells[0] = pc.if_else(pc.equal(cells[0], text("")), text('""'), cells[0])
    # the line break joins the last cell (a copy of one column, not of every line)
    cells[-1] = pc.binary_join_element_wise(cells[-1], text(""), text(os.linesep))
    rows = cells[0] if single else pc.binary_join_element_wise(*cells, text(sep))
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset : rows.offset + len(rows) + 1]
    return memoryview(rows.buffers()[2])[int(offsets[0]) : int(offsets[-1])]


_Formatter = Callable[[int, int], Any]  # (start, stop) -> a pyarrow array of cell text, null = empty


def _float_format(digits: int | None) -> str | None:
    """``"%.{digits}f"`` for pandas, after checking ``digits`` (None: the shortest round-trip text)."""
    if digits is None:
        return None
    if isinstance(digits, bool) or not isinstance(digits, int | np.integer) or not 0 <= digits <= 20:
        from .errors import InvalidParameterError

        raise InvalidParameterError(
            f"float_digits must be a whole number of digits from 0 to 20 (or None), got {digits!r}"
        )
    return f"%.{int(digits)}f"


def _formatters(
    frame: pd.DataFrame, sep: str, digits: int | None = None
) -> list[_Formatter | _Repeat] | None:
    """One cell formatter per column, or ``None`` when pyarrow is missing or a column needs pandas."""
    if not len(frame.columns) or not len(frame) or isinstance(frame.columns, pd.MultiIndex):
        return None
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    out: list[_Formatter | _Repeat] = []
    for name in range(len(frame.columns)):
        f = _column_formatter(frame.iloc[:, name], sep, digits)
        if f is None:
            return None
        out.append(f)
    _find_repeats(frame, out)
    return out


class _Repeat:
    """A float column whose every value is, bit for bit, the value of one of ``sources`` (other columns) in
    the same row (``which``: the position in ``sources``); its text is taken from theirs, not formatted
    again. A consensus table's ``confidence`` is the posterior of the chosen class: one ``proba_`` column
    per row."""

    def __init__(self, sources: list[int], which: np.ndarray) -> None:
        self.sources = sources
        self.which = which


def _find_repeats(frame: pd.DataFrame, formatters: list[_Formatter | _Repeat]) -> None:
    """Replace the formatter of each float column that repeats other float columns by a :class:`_Repeat`
    (a column that others repeat is never itself a repeat)."""
    floats = [i for i in range(len(frame.columns)) if frame.dtypes.iloc[i] == np.float64]
    if len(floats) < 2:
        return
    bits = {i: frame.iloc[:, i].to_numpy().view(np.int64) for i in floats}
    used: set[int] = set()
    for i in floats:
        if i in used:
            continue
        others = [j for j in floats if j != i and not isinstance(formatters[j], _Repeat)]
        which = _which_repeat(bits[i], [bits[j] for j in others])
        if which is not None:
            sources = np.flatnonzero(np.bincount(which, minlength=len(others)))
            remap = np.zeros(len(others), dtype=np.int8)
            remap[sources] = np.arange(len(sources))
            formatters[i] = _Repeat([others[k] for k in sources.tolist()], remap[which])
            used.update(others[k] for k in sources.tolist())


def _which_repeat(column: np.ndarray, others: list[np.ndarray]) -> np.ndarray | None:
    """Per row, the position in ``others`` of a column with the same bits as ``column`` in that row
    (``None`` if a row has none). A sample of rows decides first, so that an unrelated column costs little;
    the candidates are then tried most frequent first, until every row has one."""
    if not others or len(others) > 127:
        return None
    sample = slice(None, None, max(1, len(column) // 4096))
    hits = np.array([column[sample] == o[sample] for o in others])
    if not hits.any(axis=0).all():
        return None
    which = np.full(len(column), -1, dtype=np.int8)
    for k in np.argsort(-hits.sum(axis=1), kind="stable"):
        if not hits[k].any():
            break
        which[(which < 0) & (column == others[k])] = k
        if (which >= 0).all():
            return which
    return None


def _column_formatter(col: pd.Series, sep: str, digits: int | None = None) -> _Formatter | None:
    import pyarrow as pa

    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _categorical_formatter(col, sep)
    if pd.api.types.is_object_dtype(dtype):
        arr = _object_strings(col)
        return None if arr is None else _string_formatter(arr, sep)
    if pd.api.types.is_string_dtype(dtype):
        return _string_formatter(pa.array(col.array), sep)
    if pd.api.types.is_bool_dtype(dtype):
        flags = pa.array(col.array)
        return lambda a, b: _bool_text(flags.slice(a, b - a))
    if pd.api.types.is_integer_dtype(dtype):
        ints = pa.array(col.array)
        return lambda a, b: ints.slice(a, b - a)
    if dtype == np.float64:
        return _float_formatter(col.to_numpy(), digits)
    if dtype == np.float32:
        values32 = col.to_numpy()
        if digits is not None:
            return _float_formatter(values32.astype(np.float64), digits)
        return lambda a, b: _numpy_text(values32[a:b])
    return None


def _float_formatter(values: np.ndarray, digits: int | None = None) -> _Formatter:
    """Float text per block (:func:`float_text`, or :func:`fixed_text` with ``digits``); a column of few
    distinct values (shares, counts) formats each value once."""
    import pyarrow as pa

    def format_floats(v: np.ndarray) -> Any:
        return float_text(v) if digits is None else fixed_text(v, digits)

    few = _few_values(values)
    if few is None:
        return lambda a, b: format_floats(values[a:b])
    codes, uniques = few
    text = format_floats(uniques)
    return lambda a, b: text.take(pa.array(codes[a:b]))


def _few_values(values: np.ndarray, limit: int = 256) -> tuple[np.ndarray, np.ndarray] | None:
    """``(codes, distinct values)`` when a column holds at most ``limit`` distinct doubles (told apart by
    their bits, so that ``-0.0`` stays apart from ``0.0``); ``None`` otherwise, decided on a sample first."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
    if len(pd.unique(bits[:: max(1, len(bits) // 4096)])) > limit // 4:
        return None
    codes, uniques = pd.factorize(bits)
    if len(uniques) > limit:
        return None
    return codes, np.asarray(uniques, dtype=np.int64).view(np.float64)


def _object_strings(col: pd.Series) -> Any:
    """An object column as an Arrow string array when it holds only strings (and missing values)."""
    import pyarrow as pa

    try:
        arr = pa.array(col.to_numpy(), from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.large_string())
    return arr if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) else None


def _categorical_formatter(col: pd.Series, sep: str) -> _Formatter | None:
    """Format the categories once; each block takes their text by code (code -1 = missing)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    categories = pd.Series(col.cat.categories)
    f = _column_formatter(categories, sep)
    if f is None:
        return None
    text = (
        pc.cast(f(0, len(categories)), pa.large_string())
        if len(categories)
        else pa.array([], pa.large_string())
    )
    codes = col.cat.codes.to_numpy()
    missing = codes < 0

    def take(a: int, b: int) -> Any:
        block = codes[a:b]
        return text.take(pa.array(block, mask=missing[a:b])) if missing[a:b].any() else text.take(block)

    return take


@lru_cache(maxsize=8)
def _quoted_characters(sep: str) -> bytes:
    """The ASCII characters that make this Python's csv module (as pandas calls it) quote a field."""
    found = []
    for code in range(1, 128):
        out = io.StringIO()
        csv.writer(out, delimiter=sep, lineterminator=os.linesep).writerow(["a" + chr(code) + "b", "c"])
        if out.getvalue().startswith('"'):
            found.append(code)
    return bytes(found)


def _string_formatter(arr: Any, sep: str) -> _Formatter:
    return lambda a, b: quote_text(arr.slice(a, b - a), sep)


def quote_text(arr: Any, sep: str = ",") -> Any:
    """Arrow strings quoted as the csv module does (minimal quoting, quotes doubled); nulls stay null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pc.cast(arr, pa.large_string())
    if not len(arr):
        return arr
    validity, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])] if data_buf else None
    if data is None or not len(data):
        return arr
    special = np.zeros(len(data), dtype=bool)
    for code in _quoted_characters(sep):
        special |= data == code
    hits = np.flatnonzero(special)
    if not len(hits):
        return arr
    rows = np.unique(np.searchsorted(offsets - offsets[0], hits, side="right") - 1)
    chosen = pc.cast(arr.take(pa.array(rows)), pa.string())
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(chosen, '"', '""'), '"', "")
    mask = np.zeros(len(arr), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(arr, pa.array(mask), pc.cast(quoted, pa.large_string()))


def _bool_text(flags: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.if_else(flags, pa.scalar("True", pa.large_string()), pa.scalar("False", pa.large_string()))


def _numpy_text(values: np.ndarray) -> Any:
    """numpy's own text of any float type (as pandas writes it), missing values as nulls."""
    import pyarrow as pa

    text = values.astype(str).astype(object)
    return pa.array(text, type=pa.large_string(), mask=np.isnan(values))


def float_text(values: np.ndarray) -> Any:
    """Float64 values as Python writes them (``repr``), as an Arrow string array; NaN is null.

    Arrow and Python both print the shortest digits that read back to the same double; they differ in where
    the exponent starts and in whole numbers, which this fixes up on the values concerned only:

    - whole numbers below 1e16 end in ``.0`` (``100.0``; Arrow writes ``100`` or ``1e+15``);
    - from 1e-4 down Python writes an exponent with two digits at least (``1.5e-05``, ``2e-07``), Arrow
      writes ``0.000015`` down to 1e-6 and ``2e-7`` below;
    - from 1e10 up (other than whole numbers) each value is written by ``repr``.

    >>> float_text(np.array([0.1, 100.0, 1.5e-05, 2e-07, -0.0, np.nan, 1e16])).to_pylist()
    ['0.1', '100.0', '1.5e-05', '2e-07', '-0.0', None, '1e+16']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    v = np.ascontiguousarray(values, dtype=np.float64)
    nan = np.isnan(v)
    text = pc.cast(pa.array(v, mask=nan if nan.any() else None), pa.large_string())
    mag = np.abs(v)
    with np.errstate(invalid="ignore"):
        whole = (v == np.floor(v)) & (mag < 1e16)
        tiny = (mag < 1e-6) & (mag >= 1e-10)
        small = (mag < 1e-4) & (mag >= 1e-6)
        large = (mag >= 1e10) & ~whole & np.isfinite(v)
    for mask, fix in ((whole, _whole_text), (small, _small_text), (tiny, _tiny_text), (large, _repr_text)):
        if mask.any():
            text = pc.replace_with_mask(text, pa.array(mask), pc.cast(fix(v[mask]), pa.large_string()))
    return text


def _whole_text(v: np.ndarray) -> Any:
    """Whole numbers below 1e16: the integer and ``.0`` (``-0.0`` for negative zero)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.binary_join_element_wise(pc.cast(pa.array(v.astype(np.int64)), pa.string()), ".0", "")
    negative_zero = (v == 0) & np.signbit(v)
    return pc.if_else(pa.array(negative_zero), "-0.0", text) if negative_zero.any() else text


def _small_text(v: np.ndarray) -> Any:
    """1e-6 <= |v| < 1e-4: Arrow writes ``0.0000ddd`` (or ``0.00000ddd``); Python ``d.dde-05`` (``-06``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    mag = np.abs(v)
    six = mag < 1e-5
    digits = pc.utf8_slice_codeunits(pc.cast(pa.array(mag), pa.string()), 6)  # after "0.0000"
    digits = pc.if_else(pa.array(six), pc.utf8_slice_codeunits(digits, 1), digits)
    head = pc.utf8_slice_codeunits(digits, 0, 1)
    tail = pc.utf8_slice_codeunits(digits, 1)
    mantissa = pc.if_else(pc.equal(tail, ""), head, pc.binary_join_element_wise(head, tail, "."))
    exponent = pa.array(np.where(six, "e-06", "e-05"))
    sign = pa.array(np.where(v < 0, "-", ""))
    return pc.binary_join_element_wise(sign, mantissa, exponent, "")


def _tiny_text(v: np.ndarray) -> Any:
    """1e-10 <= |v| < 1e-6: Arrow's one-digit exponents ``e-7``, ``e-8``, ``e-9`` get their ``0``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.cast(pa.array(v), pa.string())
    for digit in "789":
        text = pc.replace_substring(text, f"e-{digit}", f"e-0{digit}")
    return text


def fixed_text(values: np.ndarray, digits: int) -> Any:
    """Float64 values as Python's ``f"%.{digits}f" % value`` writes them (pandas' ``float_format``), as an
    Arrow string array; NaN is null.

    Each magnitude is scaled by ``10**digits`` and rounded to an integer, whose decimal text gets its point
    put in (Arrow's integer formatting, several times faster than shortest round-trip float text). The
    scaled product carries a relative rounding error of at most 2^-53, so it is rounded as the exact value
    would be unless it lies that close to a half; those values, infinities and magnitudes of 2^52 and more
    after scaling are written by Python itself.

    >>> fixed_text(np.array([0.5, 1 / 3, -0.0, np.nan, 2.675, 1e300, -1e-9]), 2).to_pylist()[:5]
    ['0.50', '0.33', '-0.00', None, '2.67']
    >>> fixed_text(np.array([2.5, 3.5, -7.2]), 0).to_pylist()
    ['2', '4', '-7']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    v = np.ascontiguousarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.abs(v) * 10.0**digits
        exact = scaled < 2.0**52  # False for NaN and infinities
        exact &= np.abs(scaled - np.floor(scaled) - 0.5) > scaled * 2.0**-52
    rounded = np.rint(scaled, out=scaled)
    rounded[~exact] = 0
    text = pc.cast(pa.array(rounded.astype(np.int64)), pa.large_string())  # the type the lines are joined in
    if digits:  # "636962" -> "0636962" -> "0.636962"
        text = pc.utf8_replace_slice(pc.utf8_lpad(text, digits + 1, "0"), -digits, -digits, ".")
    negative = np.signbit(v) & exact
    if negative.any():
        minus, empty = pa.scalar("-", pa.large_string()), pa.scalar("", pa.large_string())
        signed = pc.binary_join_element_wise(minus, text.filter(pa.array(negative)), empty)
        text = pc.replace_with_mask(text, pa.array(negative), signed)
    if not exact.all():
        form = f"%.{digits}f"
        by_python = [None if x != x else form % x for x in v[~exact].tolist()]
        text = pc.replace_with_mask(text, pa.array(~exact), pa.array(by_python, type=pa.large_string()))
    return text


def _repr_text(v: np.ndarray) -> Any:
    import pyarrow as pa

    return pa.array([repr(x) for x in v.tolist()], type=pa.string())


# ====================================================================== Parquet
def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` (without its index) as Parquet with pyarrow: the file ``DataFrame.to_parquet(path,
    index=False)`` writes for the same table with its categoricals as plain columns.

    Categorical columns are stored as their values (plain text and numbers in the file, which Parquet's own
    dictionary encoding keeps small), so that every reader sees the same columns as before; Parquet's
    dictionary encoding is tried on the columns other than floats only (a posterior has no repeats).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    categorical = [
        i for i in range(len(frame.columns)) if isinstance(frame.dtypes.iloc[i], pd.CategoricalDtype)
    ]
    if categorical:
        table = _decode_categoricals(frame, table, categorical)
    dictionary = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
    pq.write_table(table, str(path), use_dictionary=dictionary)


def _decode_categoricals(frame: pd.DataFrame, table: Any, positions: list[int]) -> Any:
    """The Arrow table with the dictionary columns at ``positions`` decoded to the type (and pandas
    metadata) a plain column of their categories' dtype gets."""
    import pyarrow as pa

    meta = json.loads(table.schema.metadata[b"pandas"])
    for i in positions:
        categories = pd.DataFrame({"x": pd.Series(frame.iloc[:, i].cat.categories)})
        plain = pa.Schema.from_pandas(categories, preserve_index=False)
        entry = json.loads(plain.metadata[b"pandas"])["columns"][0]
        meta["columns"][i].update({key: entry[key] for key in ("pandas_type", "numpy_type", "metadata")})
        field = table.schema.field(i)
        table = table.set_column(i, field.name, table.column(i).cast(plain.field(0).type))
    return table.replace_schema_metadata({**table.schema.metadata, b"pandas": json.dumps(meta).encode()})
