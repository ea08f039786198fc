"""How many iterations DawidSkene's default stopping rule runs on every public classification set, and where
other stopping rules would have stopped, with the accuracy of the labels at that iteration.

Usage:
    python benchmarks/ds_stopping.py [--data ../shared/data]

One fit per set with ``tol=0`` (the whole 100-iteration trajectory, every iteration's labels kept). Rules
compared, each read off the same trajectory (a rule that never fires stops at iteration 100):

- ``default``: an older default, largest posterior change ``max |post_t - post_{t-1}| < 1e-5``;
- ``stable 1e-3``: the previous default (no label changed in the iteration and the largest posterior change
  below ``tol = 1e-3``);
- ``stable or tol^2``: the current default, ``stable 1e-3`` or a relative objective gain
  ``L_t - L_{t-1} <= tol^2 |L_t|`` (``tol^2 = 1e-6``), whichever comes first;
- ``rel 1e-6`` / ``rel 1e-8``: relative change of the objective ``|L_t - L_{t-1}| <= r |L_t|``;
- ``stable 3``: the labels have not changed for 3 iterations in a row.

Prints a Markdown table (iterations and accuracy per rule and dataset, then the totals / means) and the sets
on which a rule's accuracy differs from the default's.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import ROOT, accuracy, classification_datasets, to_markdown  # a sibling module

from accord import DawidSkene
from accord.datasets import load_dataset
from accord.errors import ConvergenceWarning, DataQualityWarning

RULES = ("default", "stable 1e-3", "stable or tol^2", "rel 1e-6", "rel 1e-8", "stable 3")


def stop_iterations(history: pd.DataFrame) -> dict[str, int]:
    """The 1-based iteration at which each rule stops (the last iteration when it never fires)."""
    last = len(history)
    obj = history["objective"].to_numpy()
    delta = history["max_delta"].to_numpy()
    change = np.abs(np.diff(obj, prepend=np.nan))
    still = history["n_changed"].to_numpy() == 0
    out = {}
    gain = np.diff(obj, prepend=-np.inf)
    rules = (
        ("default", delta < 1e-5),
        ("stable 1e-3", still & (delta < 1e-3)),
        ("stable or tol^2", (still & (delta < 1e-3)) | (gain <= 1e-6 * np.abs(obj))),
    )
    for name, ok in rules:
        hit = np.flatnonzero(ok)
        out[name] = int(hit[0]) + 1 if len(hit) else last
    for name, r in (("rel 1e-6", 1e-6), ("rel 1e-8", 1e-8)):
        hit = np.flatnonzero(change <= r * np.abs(obj))
        out[name] = int(hit[0]) + 1 if len(hit) else last
    run = np.convolve(still, np.ones(3), mode="full")[: len(still)] >= 3
    hit = np.flatnonzero(run)
    out["stable 3"] = int(hit[0]) + 1 if len(hit) else last
    return out


def measure(folder: Path) -> dict[str, float]:
    data = load_dataset(folder)
    ann = data.annotations
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, DataQualityWarning))
        model = DawidSkene(tol=0.0, keep_history=True).fit(ann)
    row: dict[str, float] = {}
    labels_after = [s["labels"] for s in model.snapshots_[1:]] + [model.consensus_.label_codes]
    for rule, t in stop_iterations(model.history_).items():
        codes = labels_after[t - 1]  # the labels after iteration t
        labels = pd.Series(np.asarray(ann.classes, dtype=object)[codes], index=ann.items)
        row[f"{rule} it"] = t
        row[f"{rule} acc"] = accuracy(labels, data.gold)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    args = parser.parse_args()
    table = pd.DataFrame({f.name: measure(f) for f in classification_datasets(args.data)}).T
    total = table.mean()
    for rule in RULES:
        total[f"{rule} it"] = table[f"{rule} it"].sum()
    table.loc["total / mean"] = total
    print(to_markdown(table, whole=lambda column: column.endswith(" it")))
    body = table.drop(index="total / mean")
    for rule in RULES[1:]:
        diff = body[f"{rule} acc"] - body["default acc"]
        moved = diff[np.abs(diff) > 1e-12]
        print(f"\n{rule}: {len(moved)} of {len(body)} sets change accuracy", dict(moved.round(4)) or "")


if __name__ == "__main__":
    main()
