"""Small data: what a first try looks like. Many random subsets of 10-50 items with at most 3 labels per item.

Protocol (fixed; ``--seed`` changes the draw): subset ``j`` is drawn with ``numpy.random.default_rng([seed,
j])`` from the public classification dataset number ``j mod 26`` (sorted by name, so every set gets the same
share): a number of items uniform in 10..50 among the items that have a gold label, a cap uniform in {1, 2,
3}, and for every item a uniformly random ``min(cap, n_i)`` of its labels. The subset is re-read from a plain
frame as a user's file would be (only the classes that occur, the user's ids), and every method is fitted on
it.

Accuracy is measured on the subset's gold items. A tie counts as a random tie-break: an item whose top score
is shared by ``m`` classes, one of them the gold label, counts ``1/m`` (the expected accuracy over tie-
breaks), for majority vote and for every model alike. ``single`` is the expected accuracy of one annotator's
label (the share of an item's labels that are right). The expected calibration error (10 equal-width bins of
the top-class confidence) is pooled over all items of all subsets. ``unchosen`` counts items whose label no
annotator gave the item, with confidence >= 0.8. A method that raises counts as a failure (its subset is left
out of its mean).

Usage:
    python benchmarks/small_data.py [--subsets 260] [--seed 0] [--methods mv,ds,vote,auto] [--data DIR]

About 2 minutes on this machine (2 cores).
"""

from __future__ import annotations

import argparse
import inspect
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import ROOT, classification_datasets  # a sibling module

from accord import Annotations
from accord.datasets import load_dataset
from accord.models.registry import METHODS, make_model

CAPS = (1, 2, 3)


def draw_subset(frame: pd.DataFrame, gold: pd.Series, rng: np.random.Generator) -> tuple[pd.DataFrame, int]:
    """A random subset of one dataset's annotations (long frame with item, annotator, label as text)."""
    items = np.asarray(sorted(set(frame["item"]) & set(gold.index)), dtype=object)
    n_items = int(rng.integers(10, 51))
    cap = int(rng.choice(CAPS))
    chosen = set(rng.choice(items, size=min(n_items, len(items)), replace=False).tolist())
    part = frame[frame["item"].isin(chosen)]
    part = part.iloc[rng.permutation(len(part))]
    part = part[part.groupby("item").cumcount() < cap]
    return part.sort_values(["item", "annotator"]).reset_index(drop=True), cap


def expected_correct(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per item, 1/m if the gold class is among the m classes sharing the top score, else 0 (truth -1: 0)."""
    top = scores.max(axis=1, keepdims=True)
    tied = np.isclose(scores, top, rtol=0.0, atol=1e-9)
    hit = np.zeros(len(truth), dtype=bool)
    ok = truth >= 0
    hit[ok] = tied[np.flatnonzero(ok), truth[ok]]
    return np.where(hit, 1.0 / tied.sum(axis=1), 0.0)


def ece(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> float:
    bins = np.minimum((confidence * n_bins).astype(np.int64), n_bins - 1)
    gap = np.abs(
        np.bincount(bins, weights=correct, minlength=n_bins)
        - np.bincount(bins, weights=confidence, minlength=n_bins)
    )
    return float(gap.sum() / max(len(confidence), 1))


def score_subset(part: pd.DataFrame, gold: pd.Series, methods: list[str], seed: int) -> dict[str, dict]:
    ann = Annotations.from_frame(part)
    classes = [str(c) for c in ann.classes]
    truth = np.array(
        [classes.index(str(g)) if str(g) in classes else -1 for g in gold.reindex(ann.items).to_numpy()]
    )
    counts = ann.vote_counts()
    shares = counts / counts.sum(axis=1, keepdims=True)
    out: dict[str, dict] = {}
    single = np.where(truth >= 0, shares[np.arange(len(truth)), np.maximum(truth, 0)], 0.0)
    out["single"] = {"correct": single, "conf": None, "unchosen": 0}
    for name in methods:
        start = time.perf_counter()
        try:
            if name == "mv":
                proba, scores = shares, counts
            else:
                takes_seed = "random_state" in inspect.signature(METHODS[name]).parameters
                kwargs = {"random_state": seed} if takes_seed else {}
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = make_model(name, **kwargs).fit(ann)
                proba = model.consensus_.proba_array
                scores = proba
        except Exception as exc:  # a failure is a result here
            out[name] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
            continue
        correct = expected_correct(scores, truth)
        label = scores.argmax(axis=1)
        conf = proba.max(axis=1)
        unchosen = int(((counts[np.arange(len(label)), label] == 0) & (conf >= 0.8)).sum())
        out[name] = {
            "correct": correct,
            "conf": conf,
            "unchosen": unchosen,
            "seconds": time.perf_counter() - start,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--subsets", type=int, default=260)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="mv,ds,vote,auto")
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    sets = []
    for folder in classification_datasets(args.data):
        ds = load_dataset(folder)
        frame = ds.annotations.to_frame().astype(str)
        gold = pd.Series(ds.gold.to_numpy().astype(str), index=ds.gold.index.astype(str))
        sets.append((folder.name, frame, gold))
    rows, pooled, failures = [], {m: ([], []) for m in methods}, {m: [] for m in methods}
    unchosen = dict.fromkeys(methods, 0)
    seconds = dict.fromkeys(methods, 0.0)
    start = time.perf_counter()
    for j in range(args.subsets):
        name, frame, gold = sets[j % len(sets)]
        rng = np.random.default_rng([args.seed, j])
        part, cap = draw_subset(frame, gold, rng)
        result = score_subset(part, gold, methods, args.seed + j)
        row = {
            "subset": j,
            "dataset": name,
            "cap": cap,
            "items": part["item"].nunique(),
            "single": float(result["single"]["correct"].mean()),
        }
        for m in methods:
            r = result[m]
            if "error" in r:
                failures[m].append(f"subset {j} ({name}): {r['error']}")
                row[m] = np.nan
                continue
            row[m] = float(r["correct"].mean())
            pooled[m][0].append(r["conf"])
            pooled[m][1].append(r["correct"])
            unchosen[m] += r["unchosen"]
            seconds[m] += r["seconds"]
        rows.append(row)
    table = pd.DataFrame(rows)
    cols = ["single", *methods]
    print(
        f"\n## Small data: {args.subsets} subsets of 10-50 items, at most 1-3 labels per item, "
        f"seed {args.seed} "
        f"({time.perf_counter() - start:.0f} s)\n"
    )
    print(
        "| method | mean accuracy | vs majority vote (points) | ECE | unchosen label, conf >= 0.8 | "
        "failures | seconds |"
    )
    print("|---|---|---|---|---|---|---|")
    base = table["mv"].mean() if "mv" in table else np.nan
    for m in cols:
        acc = table[m].mean()
        if m == "single":
            print(f"| single annotator | {acc:.4f} | {100 * (acc - base):+.2f} | | | | |")
            continue
        conf, corr = (np.concatenate(v) if v else np.zeros(0) for v in pooled[m])
        print(
            f"| {m} | {acc:.4f} | {100 * (acc - base):+.2f} | {ece(conf, corr):.4f} | {unchosen[m]} | "
            f"{len(failures[m])} | {seconds[m]:.1f} |"
        )
    print("\nBy cap on labels per item (mean accuracy; subsets):\n")
    print("| cap | subsets | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for cap, group in table.groupby("cap"):
        print(f"| {cap} | {len(group)} | " + " | ".join(f"{group[m].mean():.4f}" for m in cols) + " |")
    worst = table.groupby("dataset")[cols].mean()
    print("\nBy dataset (mean accuracy over its subsets):\n")
    print("| dataset | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for name, r in worst.iterrows():
        print(f"| {name} | " + " | ".join(f"{r[m]:.4f}" for m in cols) + " |")
    for m, items in failures.items():
        for line in items[:10]:
            print(f"failure {m}: {line}")


if __name__ == "__main__":
    main()
