"""Dataset folders (``annotations.csv``, ``gold.csv``, ``meta.json``) and the bundled pneumonia example."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from ..annotations import Annotations
from ..errors import InvalidAnnotationsError
from .tables import read_annotations, read_gold

__all__ = ["Dataset", "load_dataset", "load_demo", "read_gold", "read_meta"]


@dataclass
class Dataset:
    """A dataset folder: annotations, gold labels (Series item -> label, may be empty) and meta.json."""

    name: str
    annotations: Annotations
    gold: pd.Series
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def read_meta(folder: str | Path) -> dict[str, Any]:
    """The ``meta.json`` of a dataset folder as a dict (``{}`` when the folder has none)."""
    return _read_meta(Path(folder) / "meta.json")


def _read_meta(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidAnnotationsError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise InvalidAnnotationsError(f"{path} must hold a JSON object, got {type(meta).__name__}")
    return meta


def load_dataset(path: str | Path, **kwargs: Any) -> Dataset:
    """Read a folder with ``annotations.csv``, optional ``gold.csv`` and ``meta.json``.

    Keywords go to :func:`accord.io.read_annotations` (e.g. ``duplicates="keep_last"``). ``meta.json``'s
    ``classes`` list, when present, fixes the class order.
    """
    folder = Path(path)
    if not (folder / "annotations.csv").is_file():
        raise InvalidAnnotationsError(f"{folder} is not a dataset folder: it has no annotations.csv")
    meta = _read_meta(folder / "meta.json")
    classes = meta.get("classes") or (meta.get("stats") or {}).get("classes")
    if classes is not None and "classes" not in kwargs:
        kwargs["classes"] = [str(c) for c in classes]
    ann = read_annotations(folder / "annotations.csv", **kwargs)
    gold_path = folder / "gold.csv"
    gold = read_gold(gold_path) if gold_path.exists() else pd.Series(dtype=object, name="gold")
    return Dataset(meta.get("name", folder.name), ann, gold, meta, folder)


def load_demo() -> Dataset:
    """The bundled synthetic pneumonia example: 200 cases, 10 annotators (4 good, 4 random, 2 adversarial)."""
    base = resources.files("accord") / "data"
    with (
        resources.as_file(base / "rsip_pneumonia_annotations.csv") as ann_path,
        resources.as_file(base / "rsip_pneumonia_gold.csv") as gold_path,
    ):
        ann = read_annotations(ann_path, classes=["No Pneumonia", "Pneumonia"])
        gold = read_gold(gold_path)
    meta = {"name": "rsip_pneumonia", "description": "synthetic pneumonia example (200 cases, 10 annotators)"}
    return Dataset("rsip_pneumonia", ann, gold, meta, None)
