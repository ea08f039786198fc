"""Item (or annotator) feature files: a table with an id column and numeric columns, or a ``.npy`` matrix
with its ids in a separate file; and item texts, for a text feature builder.

>>> import pandas as pd, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "f.csv").write_text("item,a,b\\nx,1,2\\ny,3,4\\n")
>>> read_features(folder / "f.csv").loc["y", "b"]
np.float64(4.0)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AccordError, InvalidAnnotationsError
from .tables import read_item_ids, read_table

__all__ = ["bundled_sentence_embedder", "read_features", "read_texts"]

WORDLLAMA_WEIGHTS = ("weights", "l2_supercat_256.safetensors")
WORDLLAMA_TOKENIZER = ("tokenizers", "l2_supercat_tokenizer_config.json")
ID_COLUMNS = {"item": ("item", "task", "item_id"), "annotator": ("annotator", "worker", "annotator_id")}


def _id_column(frame: pd.DataFrame, key: str, path: Path) -> Any:
    names = {str(c).strip().lower(): c for c in frame.columns}
    for name in ID_COLUMNS.get(key, (key,)):
        if name in names:
            return names[name]
    raise InvalidAnnotationsError(
        f"{path}: a feature file needs a column {key!r} with the ids and numeric feature columns; its "
        f"columns are {[str(c) for c in frame.columns][:12]}"
    )


def _row_place(frame: pd.DataFrame, positions: np.ndarray) -> str:
    lines = [str(v) for v in frame.index[positions[:5]]]
    return f"{frame.index.name or 'row'} {', '.join(lines)}" + (" ..." if len(positions) > 5 else "")


def _checked_ids(ids: pd.Index, path: Path) -> pd.Index:
    if ids.has_duplicates:
        shown = [str(v) for v in ids[ids.duplicated()].unique()[:5]]
        raise InvalidAnnotationsError(f"{path}: repeated ids {shown}; give one row per id")
    return ids


def _table_features(path: Path, key: str, format: str | None) -> pd.DataFrame:
    frame = read_table(path, format=format)
    id_col = _id_column(frame, key, path)
    blank = frame[id_col].isna().to_numpy()
    if blank.any():
        raise InvalidAnnotationsError(f"{path}: no {key} id on {_row_place(frame, np.flatnonzero(blank))}")
    out = {}
    for col in frame.columns.drop(id_col):
        numbers = pd.to_numeric(frame[col], errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy() & frame[col].notna().to_numpy())
        if len(bad):
            raise InvalidAnnotationsError(
                f"{path}: column {col!r} must be numeric but has {frame[col].iloc[bad[0]]!r} on "
                f"{_row_place(frame, bad)}; drop text columns (texts: accord.io.read_texts and "
                "accord.models.lia.TextFeatures)"
            )
        out[col] = numbers.to_numpy(dtype=np.float64)
    if not out:
        raise InvalidAnnotationsError(f"{path}: no feature column besides {id_col!r}")
    ids = _checked_ids(pd.Index(frame[id_col].to_numpy(dtype=object), name=key), path)
    return pd.DataFrame(out, index=ids)


def _default_ids_file(path: Path) -> Path:
    return path.with_name(f"{path.stem}_items.csv")


def _npy_features(path: Path, ids_path: Path | None, key: str) -> pd.DataFrame:
    ids_file = ids_path if ids_path is not None else _default_ids_file(path)
    if not ids_file.exists():
        raise InvalidAnnotationsError(
            f"{path} holds a bare matrix: name the file with its row ids (a CSV with an {key!r} column), "
            f"e.g. items={ids_file.name!r} (looked for {ids_file})"
        )
    try:
        matrix = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InvalidAnnotationsError(f"could not read {path} as a NumPy .npy array: {exc}") from None
    if matrix.ndim != 2 or not np.issubdtype(matrix.dtype, np.number):
        raise InvalidAnnotationsError(
            f"{path} must hold a numeric 2-D array (rows x features); got {matrix.dtype} of shape "
            f"{matrix.shape}"
        )
    ids, _ = read_item_ids(ids_file) if key == "item" else _annotator_ids(ids_file)
    if len(ids) != len(matrix):
        raise InvalidAnnotationsError(
            f"{path} has {len(matrix)} rows but {ids_file} lists {len(ids)} ids; they must match row for row"
        )
    index = _checked_ids(pd.Index(ids, dtype=object, name=key), ids_file)
    return pd.DataFrame(matrix.astype(np.float64), index=index)


def _annotator_ids(path: Path) -> tuple[list[Any], pd.DataFrame]:
    frame = read_table(path)
    return frame[_id_column(frame, "annotator", path)].tolist(), frame


def read_features(
    path: str | Path, *, items: str | Path | None = None, key: str = "item", format: str | None = None
) -> pd.DataFrame:
    """Read numeric features, one row per item (or annotator).

    Parameters
    ----------
    path : str or Path
        A CSV, TSV, Parquet or JSON Lines table with an id column (``item``; ``annotator`` with
        ``key="annotator"``) and numeric columns, or a ``.npy`` matrix (rows x features).
    items : str or Path, optional
        For a ``.npy`` matrix: the CSV listing the row ids in order (an ``item`` / ``annotator`` column);
        default ``<stem>_items.csv`` beside it.
    key : {"item", "annotator"}, default "item"
    format : str, optional
        The table format when the suffix does not tell it.

    Returns
    -------
    DataFrame indexed by id (text, as in annotation files), one float column per feature.
    """
    p = Path(path)
    if not p.exists():
        raise InvalidAnnotationsError(f"no such file: {p}")
    if key not in ID_COLUMNS:
        raise InvalidAnnotationsError(f"key must be 'item' or 'annotator', got {key!r}")
    if p.suffix.lower() == ".npy":
        frame = _npy_features(p, None if items is None else Path(items), key)
    else:
        frame = _table_features(p, key, format)
    frame.index = pd.Index([str(v) for v in frame.index], dtype=object, name=key)
    bad = ~np.isfinite(frame.to_numpy()).all(axis=1)
    if bad.any():
        shown = [str(v) for v in frame.index[bad][:5]]
        raise InvalidAnnotationsError(f"{p}: missing or infinite feature values for {key}(s) {shown}")
    return frame


def read_texts(path: str | Path, columns: list[str] | tuple[str, ...] | None = None) -> pd.DataFrame:
    """Read item texts: a table with an ``item`` column and text columns (all of them, or ``columns``).

    Missing cells become empty strings. Turn the result into numeric features with
    :class:`accord.models.lia.TextFeatures`.
    """
    p = Path(path)
    frame = read_table(p)
    id_col = _id_column(frame, "item", p)
    chosen = [c for c in frame.columns if c != id_col] if columns is None else list(columns)
    absent = [c for c in chosen if c not in frame.columns]
    if absent:
        raise InvalidAnnotationsError(
            f"{p}: no column(s) {absent}; its columns are {[str(c) for c in frame.columns][:12]}"
        )
    ids = _checked_ids(pd.Index([str(v) for v in frame[id_col]], dtype=object, name="item"), p)
    return pd.DataFrame({c: frame[c].fillna("").astype(str).to_numpy() for c in chosen}, index=ids)


class BundledSentenceEmbedder:
    """Unit-length sentence embeddings from the weights that ship inside the ``wordllama`` package."""

    def __init__(self) -> None:
        try:
            import wordllama
            from safetensors import safe_open
            from tokenizers import Tokenizer
            from wordllama.inference import WordLlamaInference
        except ImportError:
            raise AccordError(
                "bundled sentence embeddings need the wordllama package (it ships its weights): pip install "
                "wordllama; or keep TextFeatures' default embedding='lsa'"
            ) from None
        root = Path(wordllama.__file__).parent
        weights, tokenizer = root.joinpath(*WORDLLAMA_WEIGHTS), root.joinpath(*WORDLLAMA_TOKENIZER)
        if not weights.exists() or not tokenizer.exists():
            raise AccordError(
                f"this wordllama install has no bundled weights ({weights.name} and {tokenizer.name} under "
                f"{root}); reinstall it from the package index, or keep TextFeatures' embedding='lsa'"
            )
        with safe_open(str(weights), framework="np") as handle:
            table = handle.get_tensor("embedding.weight")
        self.model = WordLlamaInference(table, Tokenizer.from_file(str(tokenizer)), binary=False)
        self.dim = int(table.shape[1])

    def __call__(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.model.embed(list(texts), norm=True), dtype=np.float64)


def bundled_sentence_embedder() -> BundledSentenceEmbedder:
    """A sentence embedder (list of texts -> unit rows) read from the ``wordllama`` package's own files.

    Its 256-d weights and tokenizer ship inside the package, so nothing is downloaded; pass it to
    ``TextFeatures(embedding=bundled_sentence_embedder())``. Raises AccordError when wordllama is not
    installed.
    """
    return BundledSentenceEmbedder()
