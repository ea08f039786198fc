"""Readers built on pyarrow: annotation files straight to integer codes, CSV/TSV and JSON Lines tables as the
pandas readers give them, and a Parquet dataset (a directory or a glob of files) as a lazy Dask DataFrame.

:func:`read_annotation_codes` is what :func:`accord.io.read_annotations` tries first for a CSV, TSV (plain,
or compressed with gzip, bzip2 or zstd) or Parquet file when pyarrow is installed. For CSV and TSV, pyarrow
parses only the item, annotator and label columns (and any ``extra=`` ones) as text, on every core; a column
of integers written plainly (``12``, ``-3``) is encoded through its values, any other column by one
dictionary encoding of the whole column, the columns on threads. Parquet columns are read one at a time, text
ones as dictionaries. The reading policy of :mod:`accord.io.tables` is applied to the few distinct values
only, and :meth:`accord.Annotations.from_codes` validates and builds with the messages of
:meth:`~accord.Annotations.from_frame`. No Python object is made per row.

:func:`read_text_table` and :func:`read_json_lines` give :func:`accord.io.read_table` its frame for a CSV/TSV
or JSON Lines file (the wide layout, gold labels, predicted probabilities and item lists read through it).

Whatever these are not sure to read exactly as the pandas (or Python) readers would (a ``.zip`` or ``.xz``
file, a repeated or empty column name, a row pyarrow cannot parse, a column of dates or lists, an odd number
of quote characters, a JSON line with two objects or a key given twice) they hand back (``None``), and the
pandas reader reads the file as before, so that every message stays.

Kept in :mod:`accord.io` so that every file read of the package happens here; :mod:`accord.engines.dask`
calls :func:`read_parquet_dataset` and never opens a file itself.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..annotations import Annotations, role_columns
from ..errors import AccordError, InvalidAnnotationsError

__all__ = [
    "cell_text",
    "read_annotation_codes",
    "read_json_lines",
    "read_parquet_dataset",
    "read_text_table",
    "text_columns",
]

# keywords of Annotations.from_frame that the codes path honours; any other one (extra=...) is read by pandas
_CODES_KEYWORDS = frozenset({"item", "annotator", "label", "classes", "duplicates", "missing", "extra"})
_COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst")
_CODECS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}  # what pyarrow decompresses (.zip, .xz: pandas)
# the text dtype pandas gives a column of strings: ``str`` from pandas 3, ``object`` before
_TEXT_DTYPE = pd.Series(["a"]).dtype


def cell_text(value: Any) -> str | None:
    """One cell as text by the reading policy: ``None``/NaN -> ``None``; integral floats lose their ``.0``;
    booleans are ``true``/``false``; strings are returned unchanged (even ``"NA"``).

    >>> [cell_text(v) for v in ["NA", 1.0, 2.5, True, None, float("nan"), 7]]
    ['NA', '1', '2.5', 'true', None, None, '7']
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f):
            return None
        if f.is_integer() and abs(f) < 2**63:
            return str(int(f))
        return repr(f)
    return str(value)


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


# ====================================================================== annotations straight to codes
class _Unreadable(Exception):
    """A column the codes path does not read exactly as pandas would: the pandas reader takes over."""


def read_annotation_codes(path: str | Path, fmt: str, **kwargs: Any) -> Annotations | None:
    """Annotations from a CSV, TSV or Parquet file through pyarrow's dictionary encoding, or None when the
    pandas reader must read it (pyarrow missing, a file or keyword this path does not take).

    Parameters
    ----------
    path : str or Path
        An existing file.
    fmt : {"csv", "tsv", "parquet"}
        Its format (:func:`accord.io.tables.format_of`).
    **kwargs
        ``item``, ``annotator``, ``label``, ``classes``, ``duplicates``, ``missing`` of
        :meth:`accord.Annotations.from_frame`.

    Returns
    -------
    Annotations or None
        Equal to what ``Annotations.from_frame(read_table(path), **kwargs)`` gives: the same codes, the same
        item, annotator and class indexes (order and dtype), the same report, warnings and errors.
    """
    if fmt not in ("csv", "tsv", "parquet") or not set(kwargs) <= _CODES_KEYWORDS:
        return None
    kwargs = dict(kwargs)
    extra = kwargs.pop("extra", None)
    if extra is not None and (
        fmt == "parquet" or not isinstance(extra, list | tuple) or not all(isinstance(c, str) for c in extra)
    ):
        return None  # pandas reads it (and names a column that is not there)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    p = Path(path)
    sep = "," if fmt == "csv" else "\t"
    opened = _open_parquet(p) if fmt == "parquet" else _open_delimited(p, sep, kwargs, list(extra or []))
    if opened is None:
        return None
    columns, rows, extra_frame = opened
    source = {"path": str(p), "format": fmt, "header": fmt != "parquet"}
    try:
        built = Annotations.from_codes(
            columns,
            rows=rows,
            source=source,
            check_values=False,
            copy=False,
            first_appearance=fmt != "parquet",  # a whole CSV column is encoded at once
            extra=extra_frame,
            **kwargs,
        )
    except _Unreadable:
        return None
    return built


class _Columns(Mapping[str, tuple[np.ndarray, pd.Index]]):
    """Column name -> ``(codes, text values)``, each column encoded when it is asked for (and not kept, so
    that the codes live only in what is built from them)."""

    def __init__(self, names: Sequence[str], load: Callable[[str], Any]) -> None:
        self._names = list(names)
        self._load = load

    def __getitem__(self, name: str) -> tuple[np.ndarray, pd.Index]:
        if name not in self._names:
            raise KeyError(name)
        return _text_codes(self._load(name))

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _open_delimited(
    p: Path, sep: str, kwargs: Mapping[str, Any] | None = None, extra: Sequence[str] = ()
) -> tuple[Mapping[str, tuple[np.ndarray, pd.Index]], pd.Index, pd.DataFrame | None] | None:
    """A CSV/TSV file (plain, or compressed with gzip, bzip2 or zstd) parsed by pyarrow: the item, annotator
    and label columns (named by ``kwargs`` as in :meth:`accord.Annotations.from_frame`, else found by their
    usual names) read as text, an empty field null, and encoded on a few threads; the ``extra`` columns as
    a text frame (None when there are none)."""
    roles: list[str] = []

    def choose(names: list[str]) -> list[str]:
        roles.extend(_wanted_columns(names, kwargs or {}))
        return [n for n in names if n in set(roles) or n in set(extra)]

    parsed = _parse_delimited(p, sep, choose)
    if parsed is None or not set(extra) <= set(parsed[0]):
        return None
    names, table = parsed
    rows = pd.RangeIndex(2, table.num_rows + 2, name="line")
    extra_frame = _text_frame(table.select(list(extra)), list(extra), rows) if extra else None
    return _Encoded(names, table.select(roles)), rows, extra_frame


def read_text_table(path: str | Path, sep: str) -> pd.DataFrame | None:
    """A CSV/TSV file as :func:`accord.io.read_table` gives it (every column text, an empty field missing,
    the index the file's line numbers), parsed by pyarrow on every core; None when pyarrow is missing or the
    file is one it would not read as pandas does (the pandas reader then reads it, with its messages)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    parsed = _parse_delimited(Path(path), sep, list)
    if parsed is None:
        return None
    names, table = parsed
    return _text_frame(table, names, pd.RangeIndex(2, table.num_rows + 2, name="line"))


def _text_frame(table: Any, names: list[str], rows: pd.Index) -> pd.DataFrame:
    """The text columns of a pyarrow table as the frame pandas' CSV reader gives (``str`` columns)."""
    columns = {
        name: pd.Series(table.column(i).to_pandas(), dtype=_TEXT_DTYPE, copy=False)
        for i, name in enumerate(names)
    }
    frame = pd.DataFrame(columns, copy=False)
    frame.columns = pd.Index(names, dtype=_TEXT_DTYPE)
    frame.index = rows
    return frame


def _parse_delimited(
    p: Path, sep: str, choose: Callable[[list[str]], list[str]]
) -> tuple[list[str], Any] | None:
    """``(column names, table of the chosen columns as text)`` of a CSV/TSV file, or None for a file pyarrow
    would not read as pandas does (a quote left open, a repeated or empty column name, a short row, ...)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    data = _file_bytes(p)
    if data is None:
        return None
    quotes = _count_byte(data, ord('"'))
    if quotes % 2:  # perhaps a quote left open at the end, which pandas refuses
        return None
    buffer = data
    try:
        names = pacsv.open_csv(
            pa.BufferReader(buffer), parse_options=pacsv.ParseOptions(delimiter=sep)
        ).schema.names
    except (pa.ArrowException, ValueError):
        return None
    if len(set(names)) < len(names) or any(not n for n in names):  # pandas renames these
        return None
    wanted = choose(list(names))
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(wanted, pa.string()),
        include_columns=wanted,
        strings_can_be_null=True,
        null_values=[""],
        quoted_strings_can_be_null=True,
    )
    for newlines in (False, True) if quotes else (False,):
        try:
            table = pacsv.read_csv(
                pa.BufferReader(buffer),
                parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=newlines),
                convert_options=convert,
            )
        except (pa.ArrowException, ValueError):
            continue
        return (list(names), table) if table.column_names == wanted else None
    return None


def _count_byte(data: Any, byte: int, chunk: int = 1 << 22) -> int:
    """How many times ``byte`` occurs in a buffer, compared a few MB at a time into one reused mask: a mask
    of the whole file is a fresh array of its size, whose first touch alone costs more than the count
    (0.88 s against 0.05 s for a 330 MB file on a 2-core virtual machine)."""
    raw = np.frombuffer(data, dtype=np.uint8)
    mask = np.empty(min(chunk, len(raw)), dtype=bool)
    total = 0
    for start in range(0, len(raw), chunk):
        part = raw[start : start + chunk]
        hits = mask[: len(part)]
        np.equal(part, byte, out=hits)
        total += int(np.count_nonzero(hits))
    return total


def read_json_lines(path: str | Path) -> tuple[pd.DataFrame, pd.Index] | None:
    """A JSON Lines file parsed by pyarrow: ``(frame, lines)`` with the frame's columns as
    ``pandas.DataFrame.from_records`` makes them from the parsed objects (numbers, text, booleans, missing
    cells) and the line number of each record; None when pyarrow is missing or the file holds anything the
    Python reader would read otherwise or name in an error (a line that is no single JSON object, a key
    given twice, nested values, a line break other than ``\\n`` and ``\\r\\n``, integers too large for a
    double, a byte-order mark)."""
    try:
        import pyarrow as pa
        import pyarrow.json as pajson
    except ImportError:
        return None
    data = Path(path).read_bytes()
    if data.startswith(b"\xef\xbb\xbf") or data.count(b"\r") != data.count(b"\r\n"):
        return None
    try:
        table = pajson.read_json(pa.BufferReader(pa.py_buffer(data)))
    except (pa.ArrowException, ValueError):
        return None
    lines = _record_lines(data)
    if table.num_rows != len(lines) or not len(lines):  # e.g. two objects on one line
        return None
    for field in table.schema:
        kind = field.type
        if not (
            pa.types.is_string(kind)
            or pa.types.is_integer(kind)
            or pa.types.is_boolean(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_null(kind)
        ):
            return None
        if pa.types.is_floating(kind) and _has_large_integers(table.column(field.name)):
            return None  # Python keeps such integers exact; a double does not
    frame = table.to_pandas()
    frame.columns = pd.Index(list(table.column_names), dtype=object)
    return frame, lines


def _record_lines(data: bytes) -> pd.Index:
    """The numbers (from 1) of the lines of ``data`` that hold more than spaces, tabs and ``\\r``."""
    raw = np.frombuffer(data, dtype=np.uint8)
    if not len(raw):
        return pd.Index([], dtype=np.int64, name="line")
    line_of = np.cumsum(raw == ord("\n"))
    line_of -= raw == ord("\n")  # a line break belongs to the line it ends
    blank = (raw == ord(" ")) | (raw == ord("\t")) | (raw == ord("\r")) | (raw == ord("\n"))
    used = np.zeros(int(line_of[-1]) + 1, dtype=bool)
    used[line_of[~blank]] = True
    return pd.Index(np.flatnonzero(used) + 1, name="line")


def _has_large_integers(column: Any) -> bool:
    """Whether a float column holds whole numbers of magnitude 2^53 or more (integers in the file)."""
    values = np.asarray(column.to_numpy(), dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return bool(((np.abs(values) >= 2.0**53) & np.isfinite(values)).any())


def _file_bytes(p: Path) -> Any:
    """The bytes of a file as a pyarrow buffer, read into memory (decompressed by pyarrow for ``.gz``,
    ``.bz2`` and ``.zst``); None for what pandas must read (``.zip``, ``.xz``, a codec this pyarrow lacks, a
    damaged stream, a file that cannot be read).

    The file is copied, never memory-mapped: a mapping of a file that another process truncates while it is
    parsed kills this process with SIGBUS, and no platform-independent way protects a mapping against that
    (the copy costs a few hundredths of a second per 100 MB, against the parse's second)."""
    import pyarrow as pa

    suffix = p.suffix.lower()
    codec = _CODECS.get(suffix)
    if suffix in _COMPRESSED and (codec is None or not pa.Codec.is_available(codec)):
        return None
    try:
        if codec is None:
            with pa.OSFile(str(p)) as file:
                return file.read_buffer()
        with pa.input_stream(str(p), compression=codec) as stream:
            return stream.read_buffer()
    except (pa.ArrowException, OSError, ValueError):
        return None


def _wanted_columns(names: Sequence[str], kwargs: Mapping[str, Any]) -> list[str]:
    """The columns of the three roles, in the file's order; every column when a role has none (the build
    then raises the error that names the columns)."""
    try:
        roles = role_columns(
            pd.Index(names), kwargs.get("item"), kwargs.get("annotator"), kwargs.get("label")
        )
    except AccordError:
        return list(names)
    used = set(roles.values())
    return [n for n in names if n in used]


class _Encoded(Mapping[str, tuple[np.ndarray, pd.Index]]):
    """Column name -> ``(codes, text values)`` of the columns a table holds, all of them encoded at once on
    a few threads when the first one is asked for (pyarrow's kernels release the GIL)."""

    def __init__(self, names: Sequence[str], table: Any) -> None:
        self._names = list(names)
        self._table: Any = table
        self._done: dict[str, tuple[np.ndarray, pd.Index]] = {}

    def __getitem__(self, name: str) -> tuple[np.ndarray, pd.Index]:
        if name not in self._names:
            raise KeyError(name)
        if self._table is not None:
            table, self._table = self._table, None
            columns = table.column_names
            with ThreadPoolExecutor(max(1, min(len(columns), os.cpu_count() or 1))) as pool:
                done = list(pool.map(lambda n: _string_codes(table.column(n)), columns))
            self._done = dict(zip(columns, done, strict=True))
        if name not in self._done:
            raise _Unreadable(name)
        return self._done[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _string_codes(column: Any) -> tuple[np.ndarray, pd.Index]:
    """``(codes, distinct texts)`` of a text column (``-1`` for a null), numbered by first appearance: a
    column of integers written plainly (``12``, ``-3``; never ``007``, ``-0`` or ``0x1f``) through their
    values, any other by one dictionary encoding of the whole column."""
    import pyarrow as pa

    chunks = [c for c in column.chunks if len(c)] if isinstance(column, pa.ChunkedArray) else [column]
    found = _plain_integer_codes(chunks) if chunks and not column.null_count else None
    codes, texts = found if found is not None else _dictionary_text_codes(chunks, column.type)
    return codes, pd.Index(texts.to_pandas(), dtype=_TEXT_DTYPE, tupleize_cols=False)


def _dictionary_text_codes(chunks: list[Any], kind: Any) -> tuple[np.ndarray, Any]:
    """Codes and dictionary of text chunks encoded as one column (one hash table, first appearance)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not chunks:
        return np.zeros(0, dtype=np.int32), pa.array([], type=kind)
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, type=kind))
    parts = encoded.chunks
    if any(len(c.dictionary) != len(parts[-1].dictionary) for c in parts):  # not one shared dictionary
        parts = [pc.dictionary_encode(pa.concat_arrays(chunks))]
    codes = np.empty(sum(len(c) for c in parts), dtype=np.int32)
    at = 0
    for part in parts:
        indices = part.indices
        filled = pc.fill_null(indices, -1) if indices.null_count else indices
        codes[at : at + len(part)] = filled.to_numpy(zero_copy_only=False)
        at += len(part)
    return codes, parts[-1].dictionary


_POWERS = 10 ** np.arange(1, 20, dtype=np.uint64)  # 10 .. 10^19: the digit count of an int64 magnitude


def _plain_integer_codes(chunks: list[Any]) -> tuple[np.ndarray, Any] | None:
    """Codes and distinct texts of text chunks whose every value is an integer written as Python writes it
    (digits, ``-`` before a negative number, no leading zero, not ``-0``), from the integers themselves;
    None for any other column.

    A decimal text that parses as an integer holds every digit of its magnitude (and ``-`` when negative),
    so written otherwise (``007``, ``-0``, ``+5``, a space) it takes more characters than its plain text;
    only forms with a letter (hexadecimal ``0x1f``, which pyarrow also parses) can take fewer. So once no
    byte above ``9`` is found (no letter, no non-ASCII digit) and the values parse, the chunks' total length
    decides."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for chunk in chunks:  # no letter (pyarrow would also parse hexadecimal "0x1f")
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[
            chunk.offset : chunk.offset + len(chunk) + 1
        ]
        start, stop = int(offsets[0]), int(offsets[-1])
        data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[start:stop] if stop > start else None
        if data is None or data.max() > ord("9"):
            return None
        total += stop - start
    try:
        values = pc.cast(pa.chunked_array(chunks), pa.int64())
    except (pa.ArrowException, ValueError):
        return None
    codes, uniques, counts = _counted_integer_codes(values)
    assert counts is not None
    numbers = np.asarray(uniques.to_numpy())
    magnitude = np.abs(numbers).view(np.uint64)  # |-2^63| wraps to 2^63 as uint64
    plain = np.searchsorted(_POWERS, magnitude, side="right") + 1 + (numbers < 0)
    if int(counts @ plain) != total:
        return None
    return codes, pc.cast(uniques, pa.string())


def _open_parquet(p: Path) -> tuple[_Columns, pd.Index, None] | None:
    """A Parquet file whose columns are read one at a time when asked for (text ones as dictionaries)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(p)
        n_rows = pq.read_metadata(p).num_rows
    except (pa.ArrowException, OSError, ValueError):
        return None
    meta = schema.pandas_metadata or {}
    hidden = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
    names = [n for n in schema.names if n not in hidden]
    if len(set(names)) < len(names):
        return None
    text_names = [n for n in names if pa.types.is_string(schema.field(n).type)]

    def load(name: str) -> Any:
        try:
            column = pq.ParquetFile(p, read_dictionary=[name] if name in text_names else None)
            return column.read(columns=[name]).column(0)
        except (pa.ArrowException, OSError, ValueError):
            raise _Unreadable(name) from None

    return _Columns(names, load), pd.RangeIndex(1, n_rows + 1, name="row"), None


def _text_codes(column: Any) -> tuple[np.ndarray, pd.Index]:
    """``(codes, distinct texts)`` of a pyarrow column: ``-1`` for a missing cell; each distinct value is
    turned into text by :func:`cell_text`'s policy. The texts are in the order pyarrow met them (usually the
    order of first appearance; ``Annotations.from_codes`` renumbers the ids when they are not)."""
    import pyarrow as pa

    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if not (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_floating(kind)
    ):
        raise _Unreadable(str(column.type))
    if pa.types.is_dictionary(column.type):
        codes, values = _dictionary_codes(column)
    elif pa.types.is_integer(kind):
        codes, values = _integer_codes(column)
    else:
        codes, values = _encoded_codes(column)
    codes, texts = _as_text(codes, values)
    return codes, pd.Index(texts.to_pandas(), dtype=_TEXT_DTYPE, tupleize_cols=False)


def _encoded_codes(column: Any) -> tuple[np.ndarray, Any]:
    """Codes of a column that is not dictionary-encoded yet: its chunks joined, then encoded once (encoding
    chunk by chunk would repeat the whole dictionary in every chunk)."""
    import pyarrow as pa

    joined = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return _dictionary_codes(pa.chunked_array([joined.dictionary_encode()]))


def _dictionary_codes(column: Any) -> tuple[np.ndarray, Any]:
    """Codes into one dictionary for a column whose chunks each carry their own: the chunks' dictionaries
    are concatenated and encoded once, then each chunk's indices are mapped (missing -> -1)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = [c for c in column.chunks if len(c)]
    if not chunks:
        return np.zeros(0, dtype=np.int32), pa.array([], type=column.type.value_type)
    if sum(len(c.dictionary) for c in chunks) > sum(len(c) for c in chunks):  # dictionaries repeated
        return _encoded_codes(column.cast(column.type.value_type))
    first = chunks[0].dictionary
    mapping = None
    offsets = [0] * len(chunks)
    if len(chunks) > 1 and not all(c.dictionary is first for c in chunks):
        merged = pc.dictionary_encode(pa.concat_arrays([c.dictionary for c in chunks]))
        first = merged.dictionary
        mapping = np.asarray(pc.fill_null(merged.indices, -1).to_numpy(), dtype=np.int32)
        offsets = np.concatenate([[0], np.cumsum([len(c.dictionary) for c in chunks])[:-1]]).tolist()
    codes = np.empty(sum(len(c) for c in chunks), dtype=np.int32)
    at = 0
    for chunk, offset in zip(chunks, offsets, strict=True):
        indices = chunk.indices
        local = np.asarray((pc.fill_null(indices, -1) if indices.null_count else indices).to_numpy())
        part = codes[at : at + len(local)]
        if mapping is None:
            part[:] = local
        else:
            np.take(mapping, local + offset, out=part)
            if indices.null_count:
                part[local < 0] = -1
        at += len(local)
    return codes, first


def _integer_codes(column: Any) -> tuple[np.ndarray, Any]:
    """Codes of an integer column, numbered by first appearance: runs when it is sorted (a file grouped by
    item), a lookup table when its values span a small range (annotators, labels), else a hash table."""
    if column.null_count:
        return _encoded_codes(column)
    codes, values, _ = _counted_integer_codes(column, counts=False)
    return codes, values


def _counted_integer_codes(column: Any, counts: bool = True) -> tuple[np.ndarray, Any, np.ndarray | None]:
    """:func:`_integer_codes` of a column without nulls, and how many rows hold each value (``counts``;
    else None where counting would cost a pass)."""
    import pyarrow as pa

    values = np.asarray(column.to_numpy())
    if len(values) == 0:
        return np.zeros(0, dtype=np.int32), pa.array(values), np.zeros(0, dtype=np.int64)
    if (values[1:] >= values[:-1]).all():
        # each run's first row, then the codes by repeating each run's number (no running sum over a mask)
        bounds = np.concatenate([[0], np.flatnonzero(values[1:] != values[:-1]) + 1, [len(values)]])
        runs = np.diff(bounds)
        codes = np.repeat(np.arange(len(runs), dtype=np.int32), runs)
        return codes, pa.array(values[bounds[:-1]]), runs
    low, high = int(values.min()), int(values.max())
    if high - low < min(len(values), _LOOKUP_LIMIT) and high <= np.iinfo(np.int64).max:
        return _lookup_codes(values.astype(np.int64, copy=False), low, high, counts)
    codes, uniques = pd.factorize(values)
    codes = np.asarray(codes, dtype=np.int32)
    return codes, pa.array(uniques), np.bincount(codes, minlength=len(uniques)) if counts else None


_LOOKUP_LIMIT = 1 << 22  # a table of at most 4M entries (16 MB)


def _lookup_codes(
    values: np.ndarray, low: int, high: int, counts: bool = True
) -> tuple[np.ndarray, Any, np.ndarray | None]:
    """Codes of integers within ``low .. high`` through a table indexed by value, and each value's count
    (``counts``; else None).
    The order of first appearance comes from the shortest prefix of rows that holds every distinct value
    (for annotators or labels, a few thousand rows), so no hash table is built over all the rows."""
    import pyarrow as pa

    shifted = values - low if low else values
    per_value: np.ndarray | None = None
    if counts:
        tally = np.bincount(shifted, minlength=high - low + 1)
        n_distinct, per_value = int(np.count_nonzero(tally)), tally
    else:  # marking is cheaper than counting
        present = np.zeros(high - low + 1, dtype=bool)
        present[shifted] = True
        n_distinct = int(present.sum())
    prefix = 4096
    while True:
        order = pd.unique(shifted[:prefix])
        if len(order) == n_distinct or prefix >= len(shifted):
            break
        prefix *= 4
    table = np.full(high - low + 1, -1, dtype=np.int32)
    table[order] = np.arange(len(order), dtype=np.int32)
    found = None if per_value is None else per_value[order]
    return table[shifted], pa.array(np.asarray(order, dtype=np.int64) + low), found


def _as_text(codes: np.ndarray, values: Any) -> tuple[np.ndarray, Any]:
    """The distinct values as text (a pyarrow string array) by the reading policy; values whose texts are
    equal (``0.0`` and ``-0.0``) are merged and a value with no text (NaN) is a missing cell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        if not values.null_count:  # a dictionary: each text once
            return codes, values
        texts = values
    elif pa.types.is_integer(values.type) or pa.types.is_boolean(values.type):
        return codes, pc.cast(values, pa.string())  # decimal digits, "true"/"false": never equal twice
    else:
        texts = pa.array([cell_text(v) for v in values.to_pylist()], type=pa.string())
    if not texts.null_count and len(pc.unique(texts)) == len(texts):
        return codes, texts
    merged = pc.dictionary_encode(texts)
    lookup = np.append(pc.fill_null(merged.indices, -1).to_numpy().astype(np.int64), -1)
    return lookup[codes], merged.dictionary


# ====================================================================== Parquet datasets for Dask
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
