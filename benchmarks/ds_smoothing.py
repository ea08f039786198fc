"""Dawid-Skene smoothing on every public classification set: per cell (the 0.5 pseudo-count of the pneumonia
example) against per row (``c / K`` per cell plus ``d`` on the diagonal, the default), beside crowd-kit's DS.

Usage:
    python benchmarks/ds_smoothing.py [--data ../shared/data]

Prints a Markdown table (accuracy on the gold items per dataset, and the mean) and, per setting, on how many
sets it beats / ties (within 0.5 point) / trails per-cell smoothing. The crowd-kit column is read from the
peer anchors table of the shared data folder (crowd-kit 1.4.2, default parameters), so no peer needs to run.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

# a sibling module; ds_stopping.py takes ROOT, accuracy and classification_datasets from this script
from _common import ROOT, accuracy, classification_datasets, read_anchors

from accord import DawidSkene
from accord.datasets import load_dataset
from accord.errors import ConvergenceWarning, DataQualityWarning

SETTINGS: dict[str, dict[str, float]] = {
    "cell alpha=0.5": {"alpha": 0.5, "diag_alpha": 0.0},
    "row c=1 d=1 (default)": {},
    "row c=1 d=0": {"row_prior": 1.0, "diag_alpha": 0.0},
    "row c=2 d=1": {"row_prior": 2.0, "diag_alpha": 1.0},
    "row c=0.5 d=1": {"row_prior": 0.5, "diag_alpha": 1.0},
}


def crowdkit_ds(path: Path) -> pd.Series:
    """The crowd-kit DawidSkene column of the anchors table (dataset -> accuracy)."""
    return read_anchors(path)["ck:DawidSkene"]


def markdown(table: pd.DataFrame) -> str:
    """The table as Markdown, accuracies with four decimals (K as an integer)."""
    head = ["dataset", *map(str, table.columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in table.iterrows():
        cells = [f"{v:.0f}" if c == "K" and name != "mean" else f"{v:.4f}" for c, v in row.items()]
        lines.append("| " + " | ".join([str(name), *cells]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    args = parser.parse_args()
    peer = crowdkit_ds(args.data.parent / "ANCHORS.md")
    rows = []
    for folder in classification_datasets(args.data):
        data = load_dataset(folder)
        row: dict[str, float | str | int] = {"dataset": folder.name, "K": data.annotations.n_classes}
        for name, params in SETTINGS.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (ConvergenceWarning, DataQualityWarning))
                row[name] = accuracy(DawidSkene(**params).fit(data.annotations).labels_, data.gold)
        row["crowd-kit DS"] = float(peer.get(folder.name, np.nan))
        rows.append(row)
        print(folder.name, {k: round(v, 4) for k, v in row.items() if isinstance(v, float)}, flush=True)
    table = pd.DataFrame(rows).set_index("dataset").astype({"K": float})
    table.loc["mean"] = table.mean(numeric_only=True)
    print()
    print(markdown(table))
    base = table.drop(index="mean")["cell alpha=0.5"]
    for name in list(SETTINGS)[1:]:
        diff = table.drop(index="mean")[name] - base
        wins, ties, losses = (diff > 0.005).sum(), (diff.abs() <= 0.005).sum(), (diff < -0.005).sum()
        mean, cell = table.loc["mean", name], table.loc["mean", "cell alpha=0.5"]
        print(
            f"{name}: beats per-cell smoothing on {wins}, ties {ties}, trails {losses}; "
            f"mean {mean:.4f} vs {cell:.4f}"
        )


if __name__ == "__main__":
    main()
