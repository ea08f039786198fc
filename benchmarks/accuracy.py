"""Accuracy of accord's models on every classification dataset in ../shared/data, with crowd-kit beside them.

Usage:
    python benchmarks/accuracy.py [--data ../shared/data] [--methods mv,ds,onecoin,wawa,zbs] [--no-peers]

Prints a Markdown table: accuracy on the gold items of each dataset, one column per method, plus crowd-kit's
DawidSkene (and MajorityVote, OneCoinDawidSkene) when crowd-kit is importable. The last row is the mean.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
from _common import ROOT, accuracy_table, classification_datasets, print_row, run_method  # a sibling module

from accord.datasets import load_dataset
from accord.evaluation import accuracy


def crowdkit_methods() -> dict[str, object]:
    try:
        from crowdkit import aggregation as ck
    except Exception as exc:  # noqa: BLE001 - any import failure means "no peer column"
        print(f"(crowd-kit not importable: {type(exc).__name__}; peer columns skipped)")
        return {}
    return {
        "ck:DawidSkene": lambda: ck.DawidSkene(n_iter=100),
        "ck:OneCoinDawidSkene": lambda: ck.OneCoinDawidSkene(n_iter=100),
        "ck:MajorityVote": lambda: ck.MajorityVote(),
    }


def run_peer(factory, ann, gold) -> float:
    df = ann.to_frame().rename(columns={"item": "task", "annotator": "worker"})
    labels = factory().fit_predict(df)
    return accuracy(labels, gold)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--methods", default="mv,wawa,zbs,onecoin,ds")
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    methods = args.methods.split(",")
    peers = {} if args.no_peers else crowdkit_methods()
    rows = []
    for folder in classification_datasets(args.data):
        data = load_dataset(folder)
        row = {"dataset": data.name}
        for name in methods:
            seconds, labels = run_method(name, data.annotations)
            row[f"{name} s"], row[name] = seconds, accuracy(labels, data.gold)
        for name, factory in peers.items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    row[name] = run_peer(factory, data.annotations, data.gold)
            except Exception as exc:  # noqa: BLE001 - a failing peer leaves a blank, as in ANCHORS.md
                print(f"({name} failed on {data.name}: {type(exc).__name__})")
                row[name] = np.nan
        rows.append(row)
        print_row(row)
    table = accuracy_table(rows)
    if "ds" in table and "ck:DawidSkene" in table:
        diff = (table["ds"] - table["ck:DawidSkene"]).drop("mean")
        print(
            f"\naccord ds vs crowd-kit DS: better on {(diff > 0.005).sum()}, tie (within 0.5 pt) on "
            f"{(diff.abs() <= 0.005).sum()}, worse on {(diff < -0.005).sum()} of {len(diff)} datasets"
        )


if __name__ == "__main__":
    main()
