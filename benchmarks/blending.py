"""Class blending on real data: soft labels from A annotations per item, KL to the all-annotations labels.

Usage:
    python benchmarks/blending.py [--data ../shared/data] [--datasets dog,wsd,...] [--per-item 3,5]
                                  [--repeats 10] [--min-labels 10] [--heldout]

For each dataset, items with at least ``--min-labels`` annotations are kept; the reference is the vote
distribution of *all* their annotations. Each repeat draws A annotations per item at random and estimates the
soft label from them alone: plain vote fractions, additive smoothing (0.5), and class blending with the
transition matrix c estimated from the same subsample (never from the reference): the authors' rule
(mu = 0.75) with c from class means ("mean") or leave-one-out ("loo"), "balanced" (mu = 0.5), "only" (mu = 0)
and "shrink" (mu = A / (A + 2)). Cells are the mean KL(reference || estimate) over items and repeats, with the
authors' clipping (1e-5). With ``--heldout`` the reference is instead the distribution of the annotations
*not* drawn, so that estimate and reference share no annotation.

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import ROOT, named_datasets  # a sibling module

from accord import DataQualityWarning
from accord.ambiguity.blending import blend, estimate_transition
from accord.ambiguity.soft import mean_kl_divergence, soft_labels
from accord.datasets import load_dataset

DEFAULT_SETS = "dog,wsd,adult,slr_intervention,sentiment,sp_amt,bluebirds,ducks,temp,rte,mre_cause"
COLUMNS = [
    "plain",
    "smooth 0.5",
    "blend .75 mean-c",
    "blend .75 loo-c",
    "balanced loo-c",
    "only loo-c",
    "shrink s=2 loo-c",
]


def estimates(sub) -> dict[str, np.ndarray]:
    """Every estimator of the table, from the subsample alone."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # a class that is never the main class
        soft = soft_labels(sub)
        c_mean = estimate_transition(sub, method="mean")
        c_loo = estimate_transition(sub, method="loo")
    return {
        "plain": soft.proba_array,
        "smooth 0.5": soft_labels(sub, smoothing=0.5).proba_array,
        "blend .75 mean-c": blend(soft, c_mean).proba_array,
        "blend .75 loo-c": blend(soft, c_loo).proba_array,
        "balanced loo-c": blend(soft, c_loo, variant="balanced").proba_array,
        "only loo-c": blend(soft, c_loo, variant="only").proba_array,
        "shrink s=2 loo-c": blend(soft, c_loo, variant="shrink", strength=2.0).proba_array,
    }


def heldout_reference(ann, sub) -> np.ndarray:
    """Vote distribution of the annotations of ``ann`` that are not in ``sub`` (same item indexes)."""
    counts = ann.vote_counts() - sub.vote_counts()
    return counts / counts.sum(axis=1, keepdims=True)


def run_dataset(
    folder: Path, per_item: list[int], repeats: int, min_labels: int, heldout: bool
) -> list[dict]:
    data = load_dataset(folder)
    ann = data.annotations
    keep = ann.items[ann.item_sizes() >= min_labels]
    if len(keep) < 20:
        print(f"({data.name}: only {len(keep)} items with >= {min_labels} labels; skipped)")
        return []
    ann = ann.select_items(keep)
    reference = soft_labels(ann).proba_array
    rows = []
    rng = np.random.default_rng(0)
    for a in per_item:
        sums = dict.fromkeys(COLUMNS, 0.0)
        for _ in range(repeats):
            sub = ann.subsample(a, random_state=rng)
            ref = heldout_reference(ann, sub) if heldout else reference
            for name, est in estimates(sub).items():
                sums[name] += mean_kl_divergence(ref, est) / repeats
        rows.append(
            {
                "dataset": data.name,
                "K": ann.n_classes,
                "items": ann.n_items,
                "labels/item": float(np.median(ann.item_sizes())),
                "A": a,
                **sums,
            }
        )
    return rows


def to_markdown(frame: pd.DataFrame) -> str:
    """Markdown table; the lowest KL of each row in bold."""
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for _, row in frame.iterrows():
        best = min(row[c] for c in COLUMNS)
        cells = []
        for col in frame.columns:
            v = row[col]
            if col in COLUMNS:
                cells.append(f"**{v:.4f}**" if v == best else f"{v:.4f}")
            else:
                cells.append(f"{v:g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--datasets", default=DEFAULT_SETS)
    parser.add_argument("--per-item", default="3,5")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--min-labels", type=int, default=10)
    parser.add_argument("--heldout", action="store_true", help="reference = the annotations not drawn")
    args = parser.parse_args()
    folders = named_datasets(args.data, args.datasets, "annotations.csv", "not found")
    per_item = [int(x) for x in args.per_item.split(",")]
    start = time.perf_counter()
    rows = []
    for folder in folders:
        rows += run_dataset(folder, per_item, args.repeats, args.min_labels, args.heldout)
    frame = pd.DataFrame(rows)
    ref = "annotations not drawn" if args.heldout else "all annotations"
    print(
        f"Mean KL(reference || estimate), reference = {ref}; {args.repeats} repeats; items with >= "
        f"{args.min_labels} labels\n"
    )
    print(to_markdown(frame))
    for a in per_item:
        part = frame[frame["A"] == a]
        blended = part[["blend .75 loo-c", "balanced loo-c", "shrink s=2 loo-c"]]
        wins = (blended.max(axis=1) < part["plain"]).sum()
        beat_smooth = (part["shrink s=2 loo-c"] < part["smooth 0.5"]).sum()
        print(
            f"\nA = {a}: all three blends below plain on {wins} of {len(part)} datasets; shrink below "
            f"smoothing on {beat_smooth} of {len(part)}; mean over datasets: "
            + ", ".join(f"{c} {part[c].mean():.4f}" for c in COLUMNS)
        )
    print(f"\n({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
