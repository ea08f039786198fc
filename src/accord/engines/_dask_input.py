"""The Dask engine's input: the source as a Dask DataFrame that knows where each row came from, the shuffle
by item, and every partition validated and encoded on its worker.

A Parquet dataset is read file by file, and every row carries its origin (the file's position in the sorted
list of files and the row within the file, 1-based, as the in-memory reader numbers Parquet rows) through
the shuffle, so that a bad row is named by its file and row, not by its place in a shuffled partition.

Integer id and label columns are encoded as integers and only their distinct values become text (a file's
ids are text by the reading policy), which gives the same ids as converting every cell, without a Python
string per row; item ids stay integers on the worker until the outputs are written.
"""

from __future__ import annotations

import glob
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..annotations import Annotations
from ..errors import AccordError, InvalidAnnotationsError
from ..io.arrow import read_parquet_dataset, text_columns
from ..io.tables import cell_text

__all__ = [
    "Local",
    "Source",
    "by_item",
    "dask_source",
    "encode_partition",
    "item_text",
    "narrow_types",
    "row_bytes",
    "shuffle_method",
]

PART_COLUMN = "_accord_partition"
ORIGIN_COLUMN = "_accord_origin"
ROW_BITS = 40  # origin = file index * 2**40 + row within the file (1-based)
MAX_COUNTED_FILES = 200  # up to this many files, the rows are counted from the files' metadata
_CANONICAL_INT = re.compile(r"-?(0|[1-9][0-9]{0,18})")


@dataclass
class Source:
    """The input as a Dask DataFrame; ``text``: its cells are read as text (a file's are); ``files``: the
    files that ``ORIGIN_COLUMN`` points into (empty when the rows have no origin column); ``integer``: the
    columns that are integers in every file (or in the frame)."""

    frame: Any
    text: bool
    files: list[str]
    integer: frozenset[Any] = frozenset()
    n_rows: int | None = None  # when known without reading the rows (a pandas frame, Parquet metadata)


@dataclass(frozen=True)
class Origin:
    """Where a row came from, shown as the user counts it: ``row 7 of data/part-1.parquet``."""

    file: str
    row: int

    def __repr__(self) -> str:
        return f"{self.row} of {self.file}"


@dataclass
class Local:
    """One partition's annotations, validated and coded with its own indexes; ``item_text``: its item ids
    are integers that the outputs write as text."""

    annotations: Annotations
    item_text: bool


# --------------------------------------------------------------------------------------------- source
def dask_source(source: Any) -> Source:
    """The input as a Dask DataFrame: a Dask or pandas DataFrame as given, or a Parquet dataset read lazily,
    file by file, with every row's origin."""
    import dask.dataframe as dd

    if isinstance(source, dd.DataFrame):
        return Source(source, False, [], _integer_columns([source]))
    if isinstance(source, pd.DataFrame):
        import os

        parts = max(1, min(os.cpu_count() or 1, len(source) // 100_000 + 1))
        frame = dd.from_pandas(source, npartitions=parts)
        return Source(frame, False, [], _integer_columns([frame]), len(source))
    if isinstance(source, (str, Path)):
        files = parquet_files(source)
        read = [read_parquet_dataset(f, text=False) for f in files]
        # Dask takes a file's length from its Parquet metadata (~0.06 s a file): counted for a few files
        n_rows = sum(len(f) for f in read) if len(read) <= MAX_COUNTED_FILES else None
        frames = [_with_origin(f, i) for i, f in enumerate(read)]
        _check_columns(frames, files)
        frame = frames[0] if len(frames) == 1 else dd.concat(frames)
        return Source(frame, True, files, _integer_columns(frames), n_rows)
    raise InvalidAnnotationsError(
        f"expected a Dask DataFrame, a pandas DataFrame or the path of a Parquet dataset; got "
        f"{type(source).__name__}"
    )


def _integer_columns(frames: list[Any]) -> frozenset[Any]:
    """The columns whose type is a NumPy integer in every frame."""
    first = frames[0]
    return frozenset(
        c for c in first.columns if all(_is_int_dtype(f.dtypes[c]) for f in frames if c in f.columns)
    )


def parquet_files(source: str | Path) -> list[str]:
    """The files of a Parquet dataset: a directory (every file below it, except names starting with ``.``
    or ``_``, as Arrow's dataset discovery skips them), a glob, or one file; sorted."""
    where = str(source)
    if any(ch in where for ch in "*?["):
        files = sorted(p for p in glob.glob(where, recursive=True) if Path(p).is_file())
    elif Path(where).is_dir():
        root = Path(where)
        files = sorted(
            str(p)
            for p in root.rglob("*")
            if p.is_file() and not any(s.startswith((".", "_")) for s in p.relative_to(root).parts)
        )
    elif Path(where).is_file():
        files = [where]
    else:
        files = []
    if not files:
        raise InvalidAnnotationsError(
            f"no Parquet dataset at {where!r}: give a directory of .parquet files, a file or a glob"
        )
    return files


def _ones(rows: pd.Series) -> pd.Series:
    return pd.Series(np.ones(len(rows), dtype=np.int64), index=rows.index, name=ORIGIN_COLUMN)


def _numbered(part: pd.DataFrame, index: int) -> pd.DataFrame:
    """A whole file's rows with ``ORIGIN_COLUMN``: the file's index and each row's 1-based position."""
    origin = np.arange(1, len(part) + 1, dtype=np.int64) + (index << ROW_BITS)
    return part.assign(**{ORIGIN_COLUMN: origin})


def _with_origin(frame: Any, index: int) -> Any:
    """``frame`` (one file) with ``ORIGIN_COLUMN``: the file's index and the row's 1-based position in the
    file (a running count over the file's partitions; a file read as one partition is numbered in the task
    that reads it, without the scan)."""
    if frame.npartitions == 1:
        meta = frame._meta.assign(**{ORIGIN_COLUMN: np.zeros(0, dtype=np.int64)})
        return frame.map_partitions(_numbered, index, meta=meta)
    first = frame.columns[0]
    ones = frame[first].map_partitions(_ones, meta=(ORIGIN_COLUMN, "int64"))
    return frame.assign(**{ORIGIN_COLUMN: ones.cumsum() + (index << ROW_BITS)})


def _check_columns(frames: list[Any], files: list[str]) -> None:
    expected = list(frames[0].columns)
    for frame, path in zip(frames[1:], files[1:], strict=True):
        if list(frame.columns) != expected:
            raise InvalidAnnotationsError(
                f"the Parquet file {path} has the columns {[c for c in frame.columns if c != ORIGIN_COLUMN]}"
                f" but {files[0]} has {[c for c in expected if c != ORIGIN_COLUMN]}: every file of the "
                "dataset needs the same columns"
            )


# -------------------------------------------------------------------------------------------- shuffle
def _is_int_dtype(dtype: Any) -> bool:
    return isinstance(dtype, np.dtype) and pd.api.types.is_integer_dtype(dtype)


def _is_int(values: pd.Series) -> bool:
    return _is_int_dtype(values.dtype)


def id_hash(ids: pd.Series, text: bool = False) -> pd.Series:
    """A hash of every row's id that is equal for equal id texts: an integer (or a text that is an integer
    written plainly, or an integral float) hashes as that integer; any other id as its text (``text``: the
    text a file's reader gives it)."""
    if _is_int(ids):
        hashed = pd.util.hash_array(ids.to_numpy().astype(np.int64))
    else:
        codes, uniques = pd.factorize(ids, use_na_sentinel=True)
        texts = [cell_text(u) if text else str(u) for u in uniques]
        whole = [t is not None and _CANONICAL_INT.fullmatch(t) is not None for t in texts]
        ints = np.array([int(t) if t is not None and w else 0 for t, w in zip(texts, whole, strict=True)])
        words = np.array([t if not w else "" for t, w in zip(texts, whole, strict=True)], dtype=object)
        per_unique = np.where(whole, pd.util.hash_array(ints.astype(np.int64)), pd.util.hash_array(words))
        hashed = np.append(per_unique, np.uint64(0))[codes]
    return pd.Series(hashed.view(np.int64), index=ids.index, name=PART_COLUMN)


# An in-memory ("tasks") shuffle holds every row about this many times over (the input partitions, their
# pieces, the concatenated output) ...
TASKS_COPIES = 4
# ... and is chosen when that fits in this share of the workers' memory limits.
TASKS_MEMORY_SHARE = 0.25


def row_bytes(frame: Any) -> int:
    """Bytes of one row of ``frame`` in memory, roughly: a numeric cell's size, 64 per text or object cell."""
    return sum(t.itemsize if isinstance(t, np.dtype) and t.kind in "biuf" else 64 for t in frame.dtypes)


NARROW_TYPES = (np.dtype(np.int8), np.dtype(np.int16), np.dtype(np.int32))


def narrow_types(files: list[str], columns: list[Any]) -> dict[Any, np.dtype]:
    """For each of ``columns`` that is an integer without nulls in every file, the smallest of int8 / int16
    / int32 that holds all its values, from the files' Parquet statistics (the minimum and maximum of every
    row group); a column that some row group has no statistics for, or whose values need 64 bits, is left
    out. Cast to it before the shuffle, the rows it moves shrink (32 bytes a row of three int64 ids and the
    origin, 15 with int32 items, int16 annotators and int8 labels), and the values stay the same.

    Reads only the files' footers; an unreadable footer leaves every column out (the read reports it).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    low: dict[Any, int] = {}
    high: dict[Any, int] = {}
    wanted = [c for c in columns if isinstance(c, str)]
    try:
        for path in files:
            meta = pq.read_metadata(path)
            schema = meta.schema.to_arrow_schema()
            for c in list(wanted):
                at = schema.get_field_index(c)
                if at < 0 or not pa.types.is_integer(schema.field(at).type):
                    wanted.remove(c)
                    continue
                leaf = next(j for j in range(meta.num_columns) if meta.schema.column(j).path == c)
                for g in range(meta.num_row_groups):
                    stats = meta.row_group(g).column(leaf).statistics
                    rows = meta.row_group(g).num_rows
                    if rows == 0:
                        continue
                    if stats is None or not stats.has_min_max or stats.null_count:
                        wanted.remove(c)
                        break
                    low[c] = min(low.get(c, stats.min), stats.min)
                    high[c] = max(high.get(c, stats.max), stats.max)
    except (OSError, ValueError, StopIteration, pa.ArrowException):
        return {}
    out: dict[Any, np.dtype] = {}
    for c in wanted:
        if c not in low:  # no rows at all
            continue
        fits = [t for t in NARROW_TYPES if np.iinfo(t).min <= low[c] and high[c] <= np.iinfo(t).max]
        if fits:
            out[c] = fits[0]
    return out


def shuffle_method(n_rows: int | None, row_size: int, memory_limits: list[int]) -> str | None:
    """The shuffle for ``n_rows`` rows of ``row_size`` bytes on workers of ``memory_limits`` bytes:
    ``"tasks"`` (in memory: at 10^7 annotations on two workers 2.3x faster than Dask's peer-to-peer shuffle,
    which writes to disk, and with lower peaks) when ``TASKS_COPIES`` copies of the rows fit in
    ``TASKS_MEMORY_SHARE`` of the workers' memory, else None (Dask's choice: ``"p2p"`` on a cluster, which
    keeps memory bounded). Unknown sizes or limits give None.

    >>> shuffle_method(10**7, 32, [4 * 10**9, 4 * 10**9]), shuffle_method(10**8, 32, [4 * 10**9] * 2)
    ('tasks', None)
    """
    if n_rows is None or not memory_limits or min(memory_limits) <= 0:
        return None
    budget = TASKS_MEMORY_SHARE * min(memory_limits) * len(memory_limits)
    return "tasks" if n_rows * row_size * TASKS_COPIES <= budget else None


def by_item(
    frame: Any, item_col: Any, n: int, method: str | None, text: bool = False, integer: bool = False
) -> Any:
    """Shuffle the rows so that each of ``n`` partitions holds every annotation of its items; ``integer``:
    the item column is an integer in every partition, so Dask's own hash of it sends equal ids together
    (no hash column to move), else :func:`id_hash` of the id text."""
    if integer:
        return frame.shuffle(on=item_col, npartitions=n, shuffle_method=method)
    key = frame[item_col].map_partitions(id_hash, text, meta=(PART_COLUMN, "int64"))
    return frame.assign(**{PART_COLUMN: key}).shuffle(on=PART_COLUMN, npartitions=n, shuffle_method=method)


# --------------------------------------------------------------------------------------------- encode
def encode_partition(
    frame: pd.DataFrame, options: dict[str, Any], text: bool = False, files: list[str] | None = None
) -> Local | None:
    """Validate and encode one partition with :meth:`Annotations.from_frame` (None when it is empty).

    An error, or a note about dropped rows, names the rows by their file and row in it when the rows came
    from files, else by the frame's index; a repeated (item, annotator) pair is located too.
    """
    origin = frame[ORIGIN_COLUMN].to_numpy() if ORIGIN_COLUMN in frame.columns else None
    roles = [options["item"], options["annotator"], options["label"]]
    frame = frame[roles]
    if len(frame) == 0:
        return None
    try:
        local = _build(frame, options, text)
    except AccordError as exc:
        raise _located(exc, frame, options, text, origin, files or []) from None
    if local.annotations.report and origin is not None:
        notes = _notes(frame, options, text, origin, files or [])
        local = Local(_with_report(local.annotations, notes), local.item_text)
    return local


def _quiet_build(frame: pd.DataFrame, options: dict[str, Any]) -> Annotations:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what was dropped is in .report, gathered on the client
        return Annotations.from_frame(frame, **options)


def _build(frame: pd.DataFrame, options: dict[str, Any], text: bool) -> Local:
    if not text:
        return Local(_quiet_build(frame, options), False)
    whole = {c: _is_int(frame[c]) for c in frame.columns}
    slow = [c for c in frame.columns if not whole[c]]
    cells = frame if not slow else frame.assign(**text_columns(frame[slow]))
    ann = _quiet_build(cells, options)
    annotators = ann.annotators
    if whole[options["annotator"]]:
        annotators = pd.Index([str(v) for v in annotators], name=annotators.name, dtype=object)
    classes = ann.classes
    if whole[options["label"]] and options.get("classes") is None:
        classes = pd.Index([cell_text(v) for v in classes], name=classes.name, dtype=object)
    coded = Annotations(ann.item, ann.annotator, ann.label, ann.items, annotators, classes, report=ann.report)
    return Local(coded, whole[options["item"]])


def item_text(items: pd.Index) -> pd.Index:
    """Integer item ids as the text a file's reader gives them (``str(int)``, cast by Arrow).

    >>> list(item_text(pd.Index([3, -10, 0])))
    ['3', '-10', '0']
    """
    import pyarrow as pa

    texts = pa.array(np.asarray(items, dtype=np.int64)).cast(pa.string())
    return pd.Index(texts.to_numpy(zero_copy_only=False), name=items.name, dtype=object)


def _origins(origin: np.ndarray, files: list[str]) -> pd.Index:
    mask = (1 << ROW_BITS) - 1
    return pd.Index(
        [Origin(files[int(o) >> ROW_BITS], int(o) & mask) for o in origin], name="row", dtype=object
    )


def _as_read(frame: pd.DataFrame, text: bool, origin: np.ndarray | None, files: list[str]) -> pd.DataFrame:
    """The partition as the in-memory reader gives it: cells as text, rows named by file and row."""
    cells = text_columns(frame) if text else frame.copy()
    if origin is not None:
        cells.index = _origins(origin, files)
    return cells


def _located(
    exc: AccordError,
    frame: pd.DataFrame,
    options: dict[str, Any],
    text: bool,
    origin: np.ndarray | None,
    files: list[str],
) -> AccordError:
    """The error of ``exc`` as the rows' own places name it, with the rows of a repeated pair."""
    cells = _as_read(frame, text, origin, files)
    try:
        _quiet_build(cells, options)
    except AccordError as again:
        exc = again
    message = str(exc)
    if "more than once" in message:
        message += _first_repeat(cells, options)
    return type(exc)(message)


def _first_repeat(cells: pd.DataFrame, options: dict[str, Any]) -> str:
    """`` (the first on rows 3 of a.parquet, 9 of b.parquet)``: every row of the first repeated pair."""
    pairs = cells[[options["item"], options["annotator"]]].astype(str)
    repeated = pairs.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return ""
    first = pairs.iloc[int(np.flatnonzero(repeated)[0])]
    same = (pairs.iloc[:, 0] == first.iloc[0]).to_numpy() & (pairs.iloc[:, 1] == first.iloc[1]).to_numpy()
    rows = ", ".join(repr(v) for v in cells.index[same][:10])
    return f" (the first on rows {rows})"


def _notes(
    frame: pd.DataFrame, options: dict[str, Any], text: bool, origin: np.ndarray, files: list[str]
) -> list[str]:
    """The builder's notes (rows dropped) with the rows named by file and row."""
    return _quiet_build(_as_read(frame, text, origin, files), options).report


def _with_report(ann: Annotations, report: list[str]) -> Annotations:
    return Annotations(
        ann.item, ann.annotator, ann.label, ann.items, ann.annotators, ann.classes, report=report
    )
