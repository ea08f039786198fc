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
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import (  # a sibling module; auto_gold.py and auto_selection.py take these names from here
    ROOT,
    accuracy_table,
    classification_datasets,
    print_row,
    read_anchors,
    run_method,
)

from accord.datasets import load_dataset
from accord.evaluation import accuracy

PEER_COLUMN = {"glad": "ck:GLAD", "mace": "ck:MACE"}
LARGE = {"fact_eval", "cifar10n", "relevance", "adult"}


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
        print_row(row)
    table = accuracy_table(rows)
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


if __name__ == "__main__":
    main()
