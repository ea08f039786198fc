"""How long ``accord report`` takes on a million annotations (the goal: well under a minute).

Synthetic Dawid-Skene data: 200,000 items x 5 annotations from 1,000 annotators (20% spammers), 4 classes,
gold for every item. Times, in one run: fitting Dawid-Skene alone (the baseline), building the report data
without and with gold (the gold part refits majority vote and Dawid-Skene on subsamples for the redundancy
curves), rendering the HTML, and writing the JSON.

    nice python benchmarks/report_speed.py [--annotations 1000000] [--classes 4] [--out /tmp/report.html]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from accord import Annotations, DawidSkene
from accord.report import build_report, render_html


def synthetic(
    n_annotations: int, n_classes: int, per_item: int = 5, n_annotators: int = 1000, seed: int = 0
) -> tuple[Annotations, pd.Series]:
    """Items with ``per_item`` distinct annotators each; good annotators are right 70-95% of the time, a fifth
    of them are spammers answering uniformly at random."""
    rng = np.random.default_rng(seed)
    n_items = n_annotations // per_item
    truth = rng.integers(0, n_classes, n_items)
    item = np.repeat(np.arange(n_items), per_item)
    annotator = (rng.integers(0, n_annotators, n_items)[:, None] + np.arange(per_item) * 7) % n_annotators
    annotator = annotator.ravel()
    skill = rng.uniform(0.7, 0.95, n_annotators)
    skill[rng.random(n_annotators) < 0.2] = 1.0 / n_classes
    right = rng.random(len(item)) < skill[annotator]
    label = np.where(right, truth[item], rng.integers(0, n_classes, len(item)))
    classes = pd.Index([f"class_{k}" for k in range(n_classes)], name="class")
    ann = Annotations(
        item,
        annotator,
        label,
        pd.Index([f"item{i}" for i in range(n_items)], name="item"),
        pd.Index([f"worker{a}" for a in range(n_annotators)], name="annotator"),
        classes,
    )
    gold = pd.Series(np.asarray(classes)[truth], index=ann.items, name="gold")
    return ann, gold


def timed(label: str, func):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = func()
    seconds = time.perf_counter() - start
    print(f"{label:<44s} {seconds:8.2f} s", flush=True)
    return value, seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--annotations", type=int, default=1_000_000)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--out", default=None, help="also write the HTML here")
    args = parser.parse_args()

    ann, gold = synthetic(args.annotations, args.classes)
    print(f"{ann}\n")
    _, fit = timed("baseline: DawidSkene().fit", lambda: DawidSkene().fit(ann))
    data, plain = timed("report data, no gold", lambda: build_report(ann))
    data_gold, with_gold = timed(
        "report data, gold + redundancy curves", lambda: build_report(ann, gold=gold)
    )
    html, render = timed("render HTML", lambda: render_html(data_gold))
    _, as_json = timed("to JSON", data_gold.to_json)
    total = with_gold + render
    print(
        f"\nreport with gold, data + HTML: {total:.2f} s = {total / fit:.1f} x the Dawid-Skene fit alone; "
        f"without gold {plain + render:.2f} s; HTML {len(html) / 1e6:.2f} MB"
    )
    gold = data_gold.gold
    print(f"accuracy on gold: DS {gold['accuracy']:.4f}, majority vote {gold['mv_accuracy']:.4f}")
    print("goal (< 60 s):", "met" if total < 60 else "NOT met")
    if args.out:
        Path(args.out).write_text(html, encoding="utf-8")
        print(f"wrote {args.out}")
    del data, as_json


if __name__ == "__main__":
    main()
