"""The bundled demo (seed 000's pneumonia example) and a reader for dataset folders (``../shared/data``
layout)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from .annotations import Annotations, read_table
from .errors import InvalidAnnotationsError

__all__ = ["Dataset", "load_dataset", "load_demo", "read_gold"]


@dataclass
class Dataset:
    """A dataset folder: annotations, gold labels (Series item -> label, may be empty) and meta.json."""

    name: str
    annotations: Annotations
    gold: pd.Series
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def read_gold(path: str | Path) -> pd.Series:
    """Gold labels from a CSV/TSV/Parquet/JSONL file with ``item`` and ``label`` columns, as a Series."""
    frame = read_table(path)
    lower = {str(c).lower(): c for c in frame.columns}
    item_col = lower.get("item", lower.get("task"))
    label_col = lower.get("label", lower.get("gold", lower.get("true_label")))
    if item_col is None or label_col is None:
        raise InvalidAnnotationsError(
            f"gold file {path} needs columns 'item' and 'label'; it has {list(frame.columns)}"
        )
    return pd.Series(
        frame[label_col].to_numpy(), index=pd.Index(frame[item_col].to_numpy(), name="item"), name="gold"
    )


def load_dataset(path: str | Path, **kwargs: Any) -> Dataset:
    """Read a folder with ``annotations.csv``, optional ``gold.csv`` and ``meta.json``.

    Keywords go to :meth:`Annotations.read` (e.g. ``duplicates="keep_last"``). ``meta.json``'s ``classes``
    list, when present, fixes the class order.
    """
    folder = Path(path)
    meta_path = folder / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    classes = meta.get("classes") or (meta.get("stats") or {}).get("classes")
    if classes is not None and "classes" not in kwargs:
        kwargs["classes"] = [str(c) for c in classes]
    ann = Annotations.read(folder / "annotations.csv", **kwargs)
    gold_path = folder / "gold.csv"
    gold = read_gold(gold_path) if gold_path.exists() else pd.Series(dtype=object, name="gold")
    return Dataset(meta.get("name", folder.name), ann, gold, meta, folder)


def load_demo() -> Dataset:
    """Seed 000's synthetic pneumonia example: 200 cases, 10 annotators (4 tests, 4 random, 2 adversarial)."""
    base = resources.files("accord") / "data"
    with (
        resources.as_file(base / "rsip_pneumonia_annotations.csv") as ann_path,
        resources.as_file(base / "rsip_pneumonia_gold.csv") as gold_path,
    ):
        ann = Annotations.read(ann_path, classes=["No Pneumonia", "Pneumonia"])
        gold = read_gold(gold_path)
    meta = {"name": "rsip_pneumonia", "description": "seed 000's synthetic pneumonia example"}
    return Dataset("rsip_pneumonia", ann, gold, meta, None)
