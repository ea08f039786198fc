"""Accuracy of GLAD, MACE and MMCE on every classification dataset in ../shared/data, beside crowd-kit.

Usage:
    python benchmarks/models_accuracy.py [--data ../shared/data] [--methods glad,mace,mmce,mace:learn]
    /work/venv-peers/bin/python benchmarks/models_accuracy.py --crowdkit-fixed   # + crowd-kit MACE, fixed

The crowd-kit figures come from ../shared/ANCHORS.md (crowd-kit 1.4.2, default parameters), so no peer needs
to run. ``--crowdkit-fixed`` also runs crowd-kit's MACE live with its strategy-matrix indexing corrected (it
fills the matrix from a groupby, annotators and labels sorted, but reads it by factorize codes, in order of
appearance), to show that the corrected crowd-kit gives our figures; it is slow (minutes per dataset) and
skips the four largest sets unless ``--all``. A method ``name:learn`` is the model with
``class_prior="learn"``. Numeric rating tasks (wordsim, affect_*) are skipped. Prints a Markdown table and,
per model, how many datasets it beats, ties (within 0.5 point) or trails crowd-kit's figure.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from accord.datasets import load_dataset
from accord.errors import ConvergenceWarning, DataQualityWarning
from accord.evaluation import accuracy
from accord.models.registry import make_model

ROOT = Path(__file__).resolve().parents[2] / "shared"
PEER_COLUMN = {"glad": "ck:GLAD", "mace": "ck:MACE"}
LARGE = {"fact_eval", "cifar10n", "relevance", "adult"}


def read_anchors(path: Path) -> pd.DataFrame:
    """The accuracy table of ANCHORS.md as a DataFrame (dataset x method), blanks as NaN."""
    rows = [line for line in path.read_text().splitlines() if line.startswith("| ")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    body = [[c.strip() for c in r.strip("|").split("|")] for r in rows[1:] if not r.startswith("| mean")]
    table = pd.DataFrame([r for r in body if len(r) == len(header)], columns=header).set_index("dataset")
    return table.apply(pd.to_numeric, errors="coerce")


def classification_datasets(root: Path) -> list[Path]:
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").exists() else {}
        skip = folder.name == "wordsim" or folder.name.startswith("affect_")
        kind = meta.get("task_type", "classification")
        if not skip and kind == "classification" and (folder / "gold.csv").exists():
            out.append(folder)
    return out


def run_method(spec: str, annotations) -> tuple[float, object]:
    name, _, variant = spec.partition(":")
    params = {"class_prior": "learn"} if variant == "learn" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, DataQualityWarning))
        start = time.perf_counter()
        labels = make_model(name, **params).fit(annotations).labels_
        return time.perf_counter() - start, labels


def crowdkit_mace_fixed():
    """crowd-kit's MACE with the strategy counts re-indexed to its own annotator and label codes."""
    from crowdkit.aggregation import MACE

    class FixedMACE(MACE):
        def _e_step(self, annotation, task_names, worker_names, label_names, tasks, workers, labels):
            ll, marginals, strategy, knowing = super()._e_step(
                annotation, task_names, worker_names, label_names, tasks, workers, labels
            )
            strategy = strategy.reindex(index=worker_names, columns=label_names).fillna(0.0)
            return ll, marginals, strategy, knowing

    return FixedMACE


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--anchors", type=Path, default=ROOT / "ANCHORS.md")
    parser.add_argument("--methods", default="glad,mace,mmce,mace:learn")
    parser.add_argument("--crowdkit-fixed", action="store_true")
    parser.add_argument("--all", action="store_true", help="with --crowdkit-fixed: the largest sets too")
    args = parser.parse_args()
    anchors = read_anchors(args.anchors) if args.anchors.exists() else pd.DataFrame()
    methods = args.methods.split(",")
    fixed = crowdkit_mace_fixed() if args.crowdkit_fixed else None
    rows = []
    for folder in classification_datasets(args.data):
        data = load_dataset(folder)
        row = {"dataset": data.name}
        for spec in methods:
            seconds, labels = run_method(spec, data.annotations)
            row[spec], row[f"{spec} s"] = accuracy(labels, data.gold), seconds
        for col in sorted(set(PEER_COLUMN.values())):
            known = data.name in anchors.index and col in anchors
            row[col] = anchors.loc[data.name, col] if known else np.nan
        if fixed is not None and (args.all or data.name not in LARGE):
            frame = data.annotations.to_frame().rename(columns={"item": "task", "annotator": "worker"})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row["ck:MACE fixed"] = accuracy(fixed(random_state=0).fit_predict(frame), data.gold)
        rows.append(row)
        print(
            f"{data.name}: "
            + ", ".join(f"{k}={v:.4f}" for k, v in row.items() if k != "dataset" and not k.endswith(" s")),
            flush=True,
        )
    table = pd.DataFrame(rows).set_index("dataset")
    acc_cols = [c for c in table.columns if not c.endswith(" s")]
    table.loc["mean"] = table.mean(numeric_only=True)
    print()
    print(to_markdown(table[acc_cols]))
    print()
    for spec in methods:
        peer = PEER_COLUMN.get(spec.partition(":")[0])
        if peer is None or peer not in table:
            continue
        diff = (table[spec] - table[peer]).drop("mean").dropna()
        print(
            f"{spec} vs crowd-kit {peer[3:]}: better on {(diff > 0.005).sum()}, tie (within 0.5 pt) on "
            f"{(diff.abs() <= 0.005).sum()}, worse on {(diff < -0.005).sum()} of {len(diff)}; "
            f"mean over those {table.loc[diff.index, spec].mean():.4f} vs "
            f"{table.loc[diff.index, peer].mean():.4f}; "
            f"total fit time {table[f'{spec} s'].sum():.1f} s"
        )


def to_markdown(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    lines = ["| dataset | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in table.iterrows():
        lines.append(f"| {name} | " + " | ".join("" if pd.isna(v) else f"{v:.4f}" for v in row) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
