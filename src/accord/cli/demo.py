"""``accord demo``: the main job on the bundled example (a synthetic pneumonia set after RSIP Vision's
blog post on Dawid-Skene for medical labels)."""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from ..datasets import load_demo
from ..errors import ConvergenceWarning
from ..models import DawidSkene, MajorityVote
from ._common import check_output, write_table
from .aggregate import summary


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run majority vote and Dawid-Skene on the bundled pneumonia example",
        description="A synthetic example: 200 chest X-ray cases, 10 annotators (4 good, 4 random, "
        "2 adversarial), hidden truth known.",
    )
    parser.add_argument("--output", "-o", default=None, help="also write the consensus table here")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_output(args.output)
    data = load_demo()
    ann, gold = data.annotations, data.gold.reindex(data.annotations.items).to_numpy()
    mv = MajorityVote().fit(ann)
    model = DawidSkene(alpha=0.5, min_iter=8, max_iter=12, tol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(ann)
    print(f"{ann}\n")
    print(f"majority-vote accuracy : {np.mean(mv.labels_.to_numpy() == gold):.3f}")
    print(f"Dawid-Skene accuracy   : {np.mean(model.labels_.to_numpy() == gold):.3f}\n")
    print("consensus by EM iteration (iteration 1 = majority vote):")
    for step in model.snapshots_:
        labels = np.asarray(ann.classes)[step["labels"]]
        counts = ", ".join(f"{c}={int(np.sum(labels == c))}" for c in ann.classes)
        print(f"  iteration {step['iteration']:2d}: accuracy={np.mean(labels == gold):.3f}  {counts}")
    flipped = int((model.labels_ != mv.labels_).sum())
    print(f"EM flipped {flipped} labels relative to majority vote.\n")
    print(summary(model.consensus_))
    if args.output:
        write_table(model.consensus_.to_frame(), args.output)
        print(f"wrote {args.output}")
    return 0
