"""Accuracy of accord's models on every classification dataset in ../shared/data, with crowd-kit beside them.

Usage:
    python benchmarks/accuracy.py [--data ../shared/data] [--methods mv,ds,onecoin,wawa,zbs] [--no-peers]

Prints a Markdown table: accuracy on the gold items of each dataset, one column per method, plus crowd-kit's
DawidSkene (and MajorityVote, OneCoinDawidSkene) when crowd-kit is importable. The last row is the mean.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from accord import ConvergenceWarning, DataQualityWarning, make_model
from accord.datasets import load_dataset
from accord.evaluation import accuracy

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def classification_datasets(root: Path) -> list[Path]:
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").exists() else {}
        if meta.get("task_type", "classification") == "classification" and (folder / "gold.csv").exists():
            out.append(folder)
    return out


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
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
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
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (ConvergenceWarning, DataQualityWarning))
                start = time.perf_counter()
                labels = make_model(name).fit(data.annotations).labels_
                row[f"{name} s"] = time.perf_counter() - start
            row[name] = accuracy(labels, data.gold)
        for name, factory in peers.items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    row[name] = run_peer(factory, data.annotations, data.gold)
            except Exception as exc:  # noqa: BLE001 - a failing peer leaves a blank, as in ANCHORS.md
                print(f"({name} failed on {data.name}: {type(exc).__name__})")
                row[name] = np.nan
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
    if "ds" in table and "ck:DawidSkene" in table:
        diff = (table["ds"] - table["ck:DawidSkene"]).drop("mean")
        print(
            f"\naccord ds vs crowd-kit DS: better on {(diff > 0.005).sum()}, tie (within 0.5 pt) on "
            f"{(diff.abs() <= 0.005).sum()}, worse on {(diff < -0.005).sum()} of {len(diff)} datasets"
        )


def to_markdown(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    lines = ["| dataset | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in table.iterrows():
        lines.append(f"| {name} | " + " | ".join("" if pd.isna(v) else f"{v:.4f}" for v in row) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
