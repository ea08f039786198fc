"""What the accuracy benchmarks share: the public datasets they loop over, the peer anchors table, running one
model, accuracy on the gold items, and the Markdown table they print. Imported by the sibling scripts (run
as ``python benchmarks/<script>.py``, which puts this folder on the path)."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from accord.errors import ConvergenceWarning, DataQualityWarning
from accord.models.registry import make_model

ROOT = Path(__file__).resolve().parents[2] / "shared"


def classification_datasets(root: Path) -> list[Path]:
    """The classification sets with gold labels under ``root`` (numeric rating sets left out), by name."""
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").exists() else {}
        skip = folder.name == "wordsim" or folder.name.startswith("affect_")
        kind = meta.get("task_type", "classification")
        if not skip and kind == "classification" and (folder / "gold.csv").exists():
            out.append(folder)
    return out


def named_datasets(data: Path, names: str, needs: str, missing: str) -> Iterator[Path]:
    """The folders of the comma-separated ``names`` under ``data`` that hold the file ``needs``, in order;
    each other name is printed as skipped (``missing`` says why) when the loop reaches it."""
    if not data.is_dir():
        raise SystemExit(f"no datasets at {data}")
    return _named(data, names, needs, missing)


def _named(data: Path, names: str, needs: str, missing: str) -> Iterator[Path]:
    for name in names.split(","):
        folder = data / name
        if not (folder / needs).exists():
            print(f"({name}: {missing}; skipped)")
            continue
        yield folder


def read_anchors(path: Path) -> pd.DataFrame:
    """The accuracy table of the peer anchors file as a DataFrame (dataset x method), blanks as NaN."""
    rows = [line for line in path.read_text().splitlines() if line.startswith("| ")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    body = [[c.strip() for c in r.strip("|").split("|")] for r in rows[1:] if not r.startswith("| mean")]
    table = pd.DataFrame([r for r in body if len(r) == len(header)], columns=header).set_index("dataset")
    return table.apply(pd.to_numeric, errors="coerce")


def accuracy(labels: pd.Series, gold: pd.Series) -> float:
    """Share of the gold items whose label equals the gold label, compared as text."""
    common = gold.index.intersection(labels.index)
    return float((labels.loc[common].astype(str) == gold.loc[common].astype(str)).mean())


def run_method(spec: str, annotations: Any) -> tuple[float, pd.Series]:
    """Fit the registered method ``spec`` (``name``, or ``name:learn`` for ``class_prior="learn"``) at its
    defaults, quietly: (seconds, labels)."""
    name, _, variant = spec.partition(":")
    params = {"class_prior": "learn"} if variant == "learn" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, DataQualityWarning))
        start = time.perf_counter()
        labels = make_model(name, **params).fit(annotations).labels_
        return time.perf_counter() - start, labels


def print_row(row: dict[str, Any]) -> None:
    """One dataset's accuracies as the loop goes (the ``... s`` timing columns left out)."""
    print(
        f"{row['dataset']}: "
        + ", ".join(f"{k}={v:.4f}" for k, v in row.items() if k != "dataset" and not k.endswith(" s")),
        flush=True,
    )


def accuracy_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as a table (dataset x column) with a ``mean`` row; prints its accuracy columns as Markdown."""
    table = pd.DataFrame(rows).set_index("dataset")
    acc_cols = [c for c in table.columns if not c.endswith(" s")]
    table.loc["mean"] = table.mean(numeric_only=True)
    print()
    print(to_markdown(table[acc_cols]))
    return table


def to_markdown(table: pd.DataFrame, whole: Callable[[str], bool] = lambda column: False) -> str:
    """The table as Markdown: one row per dataset, four decimals (none in the columns that ``whole`` picks,
    e.g. iteration counts), NaN as a blank cell."""
    cols = [str(c) for c in table.columns]
    lines = ["| dataset | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in table.iterrows():
        pairs = zip(cols, row, strict=True)
        cells = ("" if pd.isna(v) else f"{v:.0f}" if whole(c) else f"{v:.4f}" for c, v in pairs)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
