"""Tables on disk: annotations, gold labels, predicted probabilities and item lists in CSV, TSV, Parquet or
JSONL.

One reading policy for every file accord reads:

- ids and labels are **text, kept exactly as written**: ``NA``, ``N/A``, ``#N/A``, ``null``, ``None``,
``nan``,
  ``NULL`` and ``<NA>`` are ordinary strings (an annotator may be called ``#N/A``, a class ``None``), and
  ``"007"`` stays ``"007"``;
- **only an empty cell is missing** (an empty CSV/TSV field, a JSON ``null`` or an absent key, a Parquet
null);
  a label that is blank or only whitespace is a missing label too (see ``missing=`` of
  :meth:`accord.Annotations.from_frame`);
- numbers that a typed format stored as floats because of a gap (Parquet, JSON) are read back as the integers
  they were: ``1.0`` is ``"1"``;
- every row keeps its place in the file, so errors name it as the user's editor numbers it: line 1 of a CSV or
  TSV is the header and the first data row is line 2; a JSON Lines record is named by its line.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "a.csv").write_text("item,annotator,label\\nNA,#N/A,None\\nNA,b,cat\\n")
>>> read_annotations(folder / "a.csv").to_frame().values.tolist()
[['NA', '#N/A', 'None'], ['NA', 'b', 'cat']]
"""

from __future__ import annotations

import json
import lzma
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._hints import option
from .._kernel.pred_probs import check_pred_probs, check_unlabeled_pred_probs
from ..annotations import Annotations
from ..errors import InvalidAnnotationsError, InvalidParameterError
from .arrow import cell_text, read_annotation_codes, read_json_lines, read_text_table

__all__ = [
    "FORMATS",
    "cell_text",
    "format_of",
    "read_annotations",
    "read_gold",
    "read_item_ids",
    "read_pred_probs",
    "read_table",
    "source_of",
]

FORMATS = ("csv", "tsv", "parquet", "jsonl")
_FORMAT_ALIASES = {
    "csv": "csv",
    "tsv": "tsv",
    "tab": "tsv",
    "txt": "tsv",
    "parquet": "parquet",
    "pq": "parquet",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "json": "jsonl",
}
_COMPRESSION = (".gz", ".bz2", ".zip", ".xz", ".zst")
_SOURCE = "accord_source"  # DataFrame.attrs key: where the rows came from (see :func:`source_of`)
_MAX_DEPTH = 64
_TEXT_DTYPE = pd.Series(["a"]).dtype  # what pandas makes of a column of strings: str from pandas 3


# ====================================================================== format and cells
def format_of(path: str | Path, format: str | None = None) -> str:
    """The table format of ``path``: ``format`` if given, else from the suffix (``.csv.gz`` is CSV).

    >>> format_of("x.TSV"), format_of("x.csv.gz"), format_of("x", "ndjson")
    ('tsv', 'csv', 'jsonl')
    """
    if format is not None:
        key = str(format).strip().lower().lstrip(".")
        if key not in _FORMAT_ALIASES:
            raise InvalidParameterError(
                f"unknown table format {format!r}; use one of {', '.join(FORMATS)} "
                f"({option('format=...', '--format')})"
            )
        return _FORMAT_ALIASES[key]
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1].lstrip(".") not in _FORMAT_ALIASES:
        shown = repr(suffixes[-1]) if suffixes else "(no suffix)"
        raise InvalidAnnotationsError(
            f"unknown file format {shown} of {p}: name it .csv, .tsv, .parquet or .jsonl, or pass "
            + option("format='csv' (or tsv, parquet, jsonl)", "--format csv (or tsv, parquet, jsonl)")
        )
    return _FORMAT_ALIASES[suffixes[-1].lstrip(".")]


def _text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Scalar columns of a typed table (Parquet, JSON) as text by :func:`cell_text`; nested cells
    unchanged."""
    out = {}
    for name in frame.columns:
        col = frame[name]
        if col.dtype == _TEXT_DTYPE and not pd.api.types.is_object_dtype(_TEXT_DTYPE):
            out[name] = col
            continue
        codes, uniques = _factorize(col)
        if uniques is None:  # nested values (lists, dicts): leave them for the caller to judge
            out[name] = col
            continue
        texts = np.array([cell_text(u) for u in uniques] + [None], dtype=object)
        out[name] = pd.Series(texts[codes], index=frame.index, dtype=_TEXT_DTYPE)
    result = pd.DataFrame(out, index=frame.index)
    result.columns = pd.Index([str(c) for c in frame.columns])
    return result


def _factorize(col: pd.Series) -> tuple[np.ndarray, list[Any] | None]:
    try:
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
    except TypeError:  # unhashable cells
        return np.zeros(0, dtype=np.int64), None
    return codes, list(uniques)


# ====================================================================== where rows came from
def source_of(frame: pd.DataFrame) -> dict[str, Any] | None:
    """What :func:`read_table` recorded about ``frame``: ``{"path", "format", "header"}`` (``None`` for a
    frame
    built in memory). Its index then holds the file's line numbers."""
    src = frame.attrs.get(_SOURCE)
    return dict(src) if isinstance(src, dict) else None


def _tag(frame: pd.DataFrame, path: Path, fmt: str, header: bool) -> pd.DataFrame:
    frame.attrs[_SOURCE] = {"path": str(path), "format": fmt, "header": header}
    return frame


# ====================================================================== reading a table
def read_table(path: str | Path, *, format: str | None = None) -> pd.DataFrame:
    """Read a CSV, TSV, Parquet or JSON Lines file by the reading policy (see the module notes).

    Every scalar cell is text (``str``) or missing (``None``/NaN); the index holds each row's line number in
    the file (a CSV's first data row is line 2; Parquet rows are numbered from 1) and ``frame.attrs`` says
    where the rows came from (:func:`source_of`).
    """
    p = Path(path)
    if not p.exists():
        raise InvalidAnnotationsError(f"no such file: {p}")
    if p.is_dir():
        raise InvalidAnnotationsError(f"{p} is a folder; expected a file")
    fmt = format_of(p, format)
    if fmt in ("csv", "tsv"):
        return _tag(_read_delimited(p, "," if fmt == "csv" else "\t", fmt), p, fmt, True)
    if fmt == "parquet":
        return _tag(_read_parquet(p), p, fmt, False)
    return _tag(_read_jsonl(p), p, fmt, False)


def _read_delimited(p: Path, sep: str, fmt: str) -> pd.DataFrame:
    fast = read_text_table(p, sep)  # pyarrow, when it reads the file exactly as pandas would
    if fast is not None:
        return fast
    try:
        frame = pd.read_csv(
            p, sep=sep, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
        )
    except pd.errors.EmptyDataError:
        raise InvalidAnnotationsError(f"{p} is empty: expected a header line and one line per row") from None
    except UnicodeDecodeError:
        raise InvalidAnnotationsError(f"{p} is not UTF-8 text; save it as UTF-8 {fmt.upper()}") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise InvalidAnnotationsError(
            f"could not read {p} as {fmt.upper()}: {str(exc).splitlines()[0]}"
            + ("" if fmt != "csv" or not p.suffix.lower() == ".json" else "")
        ) from None
    except ImportError:  # pandas reads .zst with the zstandard package only
        raise InvalidAnnotationsError(
            f"reading {p} needs the zstandard package (pip install zstandard), or pyarrow with zstd"
        ) from None
    except (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise InvalidAnnotationsError(
            f"could not read {p}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__} (is it "
            f"really compressed as its suffix {p.suffix} says?)"
        ) from None
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="line")
    return frame


def _read_parquet(p: Path) -> pd.DataFrame:
    try:
        raw = pd.read_parquet(p)
    except ImportError:
        raise InvalidAnnotationsError(
            "reading Parquet needs pyarrow: pip install 'accord[parquet]'"
        ) from None
    except Exception as exc:  # pyarrow raises its own error types for a damaged or non-Parquet file
        raise InvalidAnnotationsError(f"could not read {p} as Parquet: {str(exc).splitlines()[0]}") from None
    frame = _text_frame(raw.reset_index(drop=True))
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    return frame


def _read_jsonl(p: Path) -> pd.DataFrame:
    fast = read_json_lines(p)  # pyarrow, when the Python reader would read the file the same
    if fast is not None:
        raw, rows = fast
        frame = _text_frame(raw)
        frame.index = rows
        return frame
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    try:
        with p.open(encoding="utf-8-sig") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                records.append(_json_record(line, lineno, p))
                lines.append(lineno)
    except UnicodeDecodeError:
        raise InvalidAnnotationsError(f"{p} is not UTF-8 text") from None
    if not records:
        raise InvalidAnnotationsError(f"{p} is empty: expected one JSON object per line")
    frame = _text_frame(pd.DataFrame.from_records(records))
    frame.index = pd.Index(lines, name="line")
    return frame


def _json_record(line: str, lineno: int, p: Path) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except RecursionError:
        raise InvalidAnnotationsError(f"{p}, line {lineno}: the JSON is nested too deeply to read") from None
    except json.JSONDecodeError as exc:
        hint = ""
        if lineno == 1 and line.lstrip().startswith(("[", "{")) and p.suffix.lower() == ".json":
            hint = ". If this is an annotation tool's export (one JSON document), read it with " + option(
                "accord.io.read(path) (format='label_studio', ...)",
                "--from auto (or --from label_studio, ...)",
            )
        raise InvalidAnnotationsError(
            f"{p}, line {lineno}: not valid JSON ({exc.msg}, column {exc.colno}); a JSON Lines file has one "
            f"JSON object per line{hint}"
        ) from None
    if not isinstance(obj, dict):
        kind = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
            type(obj), "null" if obj is None else type(obj).__name__
        )
        hint = ""
        if isinstance(obj, list) and lineno == 1:
            hint = (
                " (a whole JSON export on one line? read it with "
                + option("accord.io.read(path)", "--from auto")
                + ")"
            )
        raise InvalidAnnotationsError(
            f'{p}, line {lineno}: expected a JSON object {{"item": ..., "annotator": ..., "label": ...}}, '
            f"got {kind}{hint}"
        )
    return obj


# ====================================================================== annotations
def read_annotations(
    path: str | Path,
    *,
    format: str | None = None,
    layout: Literal["long", "wide"] = "long",
    **kwargs: Any,
) -> Annotations:
    """Read annotations from a CSV, TSV, Parquet or JSON Lines file (the format from the suffix unless given).

    ``layout="long"``: one row per annotation (columns item, annotator, label; other names via ``item=``,
    ``annotator=``, ``label=``). ``layout="wide"``: an items x annotators matrix whose first column holds the
    item ids and whose empty cells mean "not labelled". Other keywords go to
    :meth:`~accord.Annotations.from_frame` (or :meth:`~accord.Annotations.from_wide`).

    With pyarrow installed, a long CSV, TSV or Parquet file is parsed by pyarrow straight to integer codes
    (:func:`accord.io.arrow.read_annotation_codes`; several times faster on large files, and no Python object
    per row); the result, its report and its errors are the ones the pandas reader gives, which reads
    whatever that path hands back.
    """
    if layout == "long":
        p = Path(path)
        if p.is_file():
            fast = read_annotation_codes(p, format_of(p, format), **kwargs)
            if fast is not None:
                return fast
    frame = read_table(path, format=format)
    if layout == "wide":
        if frame.shape[1] < 2:
            raise InvalidAnnotationsError(
                f"{path}: a wide matrix needs a first column of item ids and one column per annotator; it "
                f"has "
                f"{frame.shape[1]} column(s)"
            )
        first = frame.columns[0]
        wide = frame.set_index(first)
        wide.attrs = frame.attrs
        return Annotations.from_wide(wide, **kwargs)
    if layout != "long":
        raise InvalidParameterError(f"layout must be 'long' or 'wide', got {layout!r}")
    return Annotations.from_frame(frame, **kwargs)


def _id_column(frame: pd.DataFrame, names: Sequence[str]) -> Any:
    lower = {str(c).strip().lower(): c for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def _where(frame: pd.DataFrame, positions: np.ndarray) -> str:
    src = source_of(frame)
    labels = [int(v) if isinstance(v, (int, np.integer)) else v for v in frame.index[positions][:5]]
    unit = "line" if frame.index.name == "line" else "row"
    text = f"{unit}{'s' if len(positions) > 1 else ''} {', '.join(str(v) for v in labels)}"
    if len(positions) > 5:
        text += f", ... ({len(positions)} in all)"
    if src and src.get("header"):
        text += " (line 1 is the header)"
    return text


def _blank(values: pd.Series) -> np.ndarray:
    na = values.isna().to_numpy()
    blank = values.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    return na | blank


# ====================================================================== gold labels
def read_gold(path: str | Path, *, format: str | None = None) -> pd.Series:
    """Gold labels from a file with an ``item`` column and a ``label`` column (or ``gold`` / ``true_label``).

    Returns a Series item -> label (text, by the reading policy). A row without an item or a label, or an item
    given twice with different labels, is an error that names the line.
    """
    frame = read_table(path, format=format)
    item_col = _id_column(frame, ("item", "task", "item_id", "task_id"))
    label_col = _id_column(frame, ("label", "gold", "true_label", "gold_label", "answer"))
    if item_col is None or label_col is None:
        need = " and ".join(repr(n) for n, c in (("item", item_col), ("label", label_col)) if c is None)
        raise InvalidAnnotationsError(
            f"gold file {path} needs a column {need}; its columns are {[str(c) for c in frame.columns][:12]}"
        )
    items, labels = frame[item_col], frame[label_col]
    for what, values in (("item id", items), ("gold label", labels)):
        bad = np.flatnonzero(_blank(values))
        if len(bad):
            raise InvalidAnnotationsError(
                f"gold file {path}: no {what} on {_where(frame, bad)}; fill or delete those rows"
            )
    dup = items.duplicated(keep=False).to_numpy()
    if dup.any():
        conflict = labels[dup].groupby(items[dup].to_numpy()).nunique()
        if (conflict > 1).any():
            first = conflict.index[conflict.to_numpy() > 1][0]
            lines = np.flatnonzero((items == first).to_numpy())
            raise InvalidAnnotationsError(
                f"gold file {path}: item {first!r} has different gold labels on {_where(frame, lines)}; keep "
                f"one"
            )
        keep = ~items.duplicated(keep="first").to_numpy()
        items, labels = items[keep], labels[keep]
    return pd.Series(
        labels.to_numpy(dtype=object), index=pd.Index(items.to_numpy(dtype=object), name="item"), name="gold"
    )


# ============================================================= predicted probabilities and item lists
def read_pred_probs(
    path: str | Path, annotations: Annotations | None = None, *, align: bool = True
) -> pd.DataFrame:
    """Read a classifier's predicted probabilities: a column ``item`` and one column per class label.

    Parameters
    ----------
    path : str or Path
        CSV, TSV, Parquet or JSON Lines (by suffix).
    annotations : Annotations, optional
        With it, columns are matched to its classes and the values validated
        (see :func:`accord.models.crowdlab.check_pred_probs`).
    align : bool, default True
        With ``annotations``: keep exactly the annotated items, in ``annotations.items`` order (rows for other
        items are dropped with a warning). ``False`` keeps the file's rows (e.g. unlabelled items).

    Returns
    -------
    DataFrame indexed by item, one column per class.
    """
    frame = read_table(path)
    item_col = _id_column(frame, ("item", "task", "item_id", "example"))
    if item_col is None:
        raise InvalidAnnotationsError(
            f"{path}: a pred_probs file needs a column 'item' and one column per class; its columns are "
            f"{[str(c) for c in frame.columns][:12]}"
        )
    numbers = _numeric(frame.drop(columns=[item_col]), frame, path)
    numbers.index = pd.Index(frame[item_col].to_numpy(dtype=object), name="item")
    if annotations is None:
        return numbers
    name = f"pred_probs file {path}"
    if not align:
        values = check_unlabeled_pred_probs(numbers, annotations.classes, name=name)
        return pd.DataFrame(values, index=numbers.index, columns=annotations.classes)
    values = check_pred_probs(numbers, annotations, name=name)
    return pd.DataFrame(values, index=annotations.items, columns=annotations.classes)


def _numeric(values: pd.DataFrame, frame: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    out = {}
    for col in values.columns:
        numbers = pd.to_numeric(values[col], errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy())
        if len(bad):
            shown = values[col].iloc[bad[0]]
            raise InvalidAnnotationsError(
                f"{path}: column {col!r} must hold probabilities, but has {shown!r} on {_where(frame, bad)}"
            )
        out[col] = numbers.to_numpy(dtype=np.float64)
    return pd.DataFrame(out, index=values.index)


def read_item_ids(path: str | Path) -> tuple[list[Any], pd.DataFrame]:
    """Item ids from a file with a column ``item`` (and possibly other columns): ``(ids, table)``."""
    frame = read_table(path)
    item_col = _id_column(frame, ("item", "task", "item_id"))
    if item_col is None:
        raise InvalidAnnotationsError(
            f"{path}: needs a column 'item'; its columns are {[str(c) for c in frame.columns][:12]}"
        )
    bad = np.flatnonzero(_blank(frame[item_col]))
    if len(bad):
        raise InvalidAnnotationsError(f"{path}: no item id on {_where(frame, bad)}")
    return frame[item_col].tolist(), frame
