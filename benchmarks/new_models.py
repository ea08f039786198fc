"""EBCC, BWA and Snorkel's label model on every public classification set, beside DS and majority vote.

Usage:
    python benchmarks/new_models.py [--data ../shared/data] [--datasets a,b] [--models ebcc,bwa,label_model]
                                    [--ebcc-restarts 1,5,10] [--label-model-sgd]

Prints one line per dataset as it goes, then a Markdown table: accuracy on the gold items of accord's
DawidSkene and MajorityVote (defaults), each new model (EBCC once per restart count), the authors' published
figures where they exist (EBCC: 40 restarts, ICML 2019 notebook; BWA: WWW 2019 notebook; repository
yuan-li/truth-inference-at-scale) and the peer anchors of the shared data folder (crowd-kit DS, Snorkel's
LabelModel, best peer), then the mean over the sets each column covers and the fit times.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from _common import ROOT, accuracy, classification_datasets, read_anchors, to_markdown  # a sibling module

from accord import DawidSkene, MajorityVote
from accord.datasets import load_dataset
from accord.errors import ConvergenceWarning, DataQualityWarning
from accord.models.bwa import BWA
from accord.models.ebcc import EBCC
from accord.models.label_model import LabelModel

# The authors' tables (dataset names mapped to ours): EBCC with 40 restarts, BWA.
PUBLISHED = {
    "EBCC": {
        "sp": 0.9152,
        "sp_amt": 0.944,
        "zencrowd_all": 0.8623,
        "zencrowd_in": 0.7809,
        "zencrowd_us": 0.9123,
        "product": 0.9349,
        "sentiment": 0.961,
        "adult": 0.7477,
        "bluebirds": 0.8611,
        "dog": 0.8401,
        "rte": 0.9313,
    },
    "BWA": {
        "fact_eval": 0.8872,
        "sp": 0.9170,
        "sp_amt": 0.946,
        "zencrowd_all": 0.8348,
        "zencrowd_in": 0.7637,
        "zencrowd_us": 0.9108,
        "product": 0.9194,
        "sentiment": 0.956,
        "adult": 0.7417,
        "bluebirds": 0.7593,
        "dog": 0.8315,
        "rte": 0.9275,
    },
}
ANCHOR_COLUMNS = {"ck:DawidSkene": "crowd-kit DS", "snorkel:LabelModel": "snorkel LM", "best": "best peer"}


def anchors(path: Path) -> pd.DataFrame:
    """The peer anchors table (dataset x method) of the shared data folder."""
    return read_anchors(path)[list(ANCHOR_COLUMNS)].rename(columns=ANCHOR_COLUMNS)


def models(names: list[str], restarts: list[int], sgd: bool) -> dict[str, Callable[[], object]]:
    out: dict[str, Callable[[], object]] = {"DS": DawidSkene, "MV": MajorityVote}
    if "ebcc" in names:
        for r in restarts:
            out[f"EBCC r={r}"] = lambda r=r: EBCC(n_restarts=r)
    if "bwa" in names:
        out["BWA"] = BWA
    if "label_model" in names:
        out["LabelModel"] = LabelModel
        if sgd:
            out["LabelModel sgd"] = lambda: LabelModel(optimizer="sgd")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--datasets", default="")
    parser.add_argument("--models", default="ebcc,bwa,label_model")
    parser.add_argument("--ebcc-restarts", default="5")
    parser.add_argument("--label-model-sgd", action="store_true", help="also Snorkel's SGD schedule")
    args = parser.parse_args()
    peers = anchors(args.data.parent / "ANCHORS.md")
    wanted = set(filter(None, args.datasets.split(",")))
    makers = models(
        args.models.split(","), [int(r) for r in args.ebcc_restarts.split(",")], args.label_model_sgd
    )
    rows, times = [], []
    for folder in classification_datasets(args.data):
        if wanted and folder.name not in wanted:
            continue
        data = load_dataset(folder)
        row: dict[str, float | str] = {"dataset": folder.name}
        took: dict[str, float | str] = {"dataset": folder.name}
        for label, make in makers.items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (ConvergenceWarning, DataQualityWarning))
                model = make()
                model.fit(data.annotations)  # type: ignore[attr-defined]
            took[label] = time.perf_counter() - start
            row[label] = accuracy(model.labels_, data.gold)  # type: ignore[attr-defined]
        for paper, figures in PUBLISHED.items():
            row[f"{paper} published"] = figures.get(folder.name, np.nan)
        for column in peers.columns:
            row[column] = float(peers[column].get(folder.name, np.nan))
        rows.append(row)
        times.append(took)
        shown = {k: round(v, 4) for k, v in row.items() if isinstance(v, float) and not np.isnan(v)}
        print(
            folder.name, shown, {k: f"{v:.2f}s" for k, v in took.items() if isinstance(v, float)}, flush=True
        )
    table = pd.DataFrame(rows).set_index("dataset")
    table.loc["mean"] = table.mean(numeric_only=True)
    print()
    print(to_markdown(table))
    for paper, figures in PUBLISHED.items():
        ours = [c for c in table.columns if c.startswith(paper) and "published" not in c]
        sets = [d for d in figures if d in table.index]
        for column in ours:
            mean_ours = table.loc[sets, column].mean()
            mean_paper = table.loc[sets, f"{paper} published"].mean()
            print(
                f"{column} on the {len(sets)} sets of the paper: {mean_ours:.4f} (published {mean_paper:.4f})"
            )
    timing = pd.DataFrame(times).set_index("dataset")
    print()
    print("fit seconds:", timing.sum().round(2).to_dict())


if __name__ == "__main__":
    main()
