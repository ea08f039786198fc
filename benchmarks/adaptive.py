"""Adaptive stopping on real datasets with many labels per item: annotations saved vs accuracy and KL lost.

Usage:
    python benchmarks/adaptive.py [--data ../shared/data] [--datasets sp_amt,sentiment,...] [--a-cons 3,5,10]
                                  [--a-total 0] [--agreement 1.0] [--repeats 10]

The rule of Schmarje et al. (appendix A.4): annotate an item A_cons times; stop if those annotations agree
(the top label holds at least ``--agreement`` of them; 1.0 = unanimous), else continue to A^cons. Each repeat
replays it with every item's annotations in a new random order. The baseline always collects A^cons
(``--a-total 0`` = every annotation the item has). Reported per dataset and A_cons (means over repeats):
share of items stopped early, annotations collected by each rule and the share saved, majority-vote accuracy
on the gold items under each rule, and the mean KL divergence of each rule's soft labels to the soft labels
from all annotations (the KL "lost"; 0 for the baseline when A^cons = all). The last column gives the KL of
the adaptive soft labels after class blending ("shrink", c estimated leave-one-out from the collected
annotations).

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
from accord.evaluation import accuracy
from accord.planning import adaptive_sample

DEFAULT_SETS = "sp_amt,sentiment,ducks,bluebirds,temp,rte,dog,wsd,mre_cause"


def one_repeat(ann, gold, reference, a_cons, a_total, agreement, rng) -> dict[str, float]:
    sample = adaptive_sample(ann, a_cons=a_cons, a_total=a_total, agreement=agreement, random_state=rng)
    adaptive, fixed = soft_labels(sample.annotations), soft_labels(sample.fixed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        c = estimate_transition(sample.annotations, method="loo")
    blended = blend(adaptive, c, variant="shrink")
    n_ad, n_fx = sample.annotations.n_annotations, sample.fixed.n_annotations
    return {
        "stopped %": 100 * sample.stopped_early.mean(),
        "ann. adaptive": n_ad,
        "ann. fixed": n_fx,
        "saved %": 100 * (1 - n_ad / n_fx),
        "acc adaptive": accuracy(adaptive.labels, gold),
        "acc fixed": accuracy(fixed.labels, gold),
        "KL adaptive": mean_kl_divergence(reference, adaptive),
        "KL fixed": mean_kl_divergence(reference, fixed),
        "KL adaptive+blend": mean_kl_divergence(reference, blended),
    }


def run_dataset(
    folder: Path, a_cons_list: list[int], a_total: int | None, agreement: float, repeats: int
) -> list[dict]:
    data = load_dataset(folder)
    ann = data.annotations
    median = int(np.median(ann.item_sizes()))
    reference = soft_labels(ann)
    rows = []
    for a_cons in a_cons_list:
        if a_cons >= (a_total or median):
            continue
        rng = np.random.default_rng(0)
        runs = [
            one_repeat(ann, data.gold, reference, a_cons, a_total, agreement, rng) for _ in range(repeats)
        ]
        mean = pd.DataFrame(runs).mean()
        rows.append(
            {
                "dataset": data.name,
                "K": ann.n_classes,
                "labels/item": median,
                "A_cons": a_cons,
                "A^cons": a_total or "all",
                **mean.to_dict(),
            }
        )
    return rows


def to_markdown(frame: pd.DataFrame) -> str:
    fmt = {"stopped %": "{:.1f}", "saved %": "{:.1f}", "ann. adaptive": "{:,.0f}", "ann. fixed": "{:,.0f}"}
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for _, row in frame.iterrows():
        cells = []
        for col in frame.columns:
            v = row[col]
            if col in fmt:
                cells.append(fmt[col].format(v))
            elif isinstance(v, float):
                cells.append(f"{v:.4f}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--datasets", default=DEFAULT_SETS)
    parser.add_argument("--a-cons", default="3,5,10")
    parser.add_argument("--a-total", type=int, default=0, help="A^cons; 0 = every annotation of the item")
    parser.add_argument("--agreement", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    folders = named_datasets(args.data, args.datasets, "gold.csv", "no annotations and gold")
    a_cons_list = [int(x) for x in args.a_cons.split(",")]
    start = time.perf_counter()
    rows = []
    for folder in folders:
        rows += run_dataset(folder, a_cons_list, args.a_total or None, args.agreement, args.repeats)
    frame = pd.DataFrame(rows)
    print(
        f"Adaptive stopping (agreement >= {args.agreement:g} of the first A_cons), {args.repeats} repeats\n"
    )
    print(to_markdown(frame))
    for a_cons, part in frame.groupby("A_cons"):
        lost = (part["acc fixed"] - part["acc adaptive"]).mean()
        print(
            f"\nA_cons = {a_cons}: mean saved {part['saved %'].mean():.1f} % of the annotations, "
            f"accuracy lost {100 * lost:.2f} points, KL to all annotations "
            f"{part['KL adaptive'].mean():.4f} ({part['KL adaptive+blend'].mean():.4f} after blending)"
        )
    print(f"\n({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
