"""What a small gold set buys ``method="auto"``: gold-free choice against choice judged by a few gold labels.

For every classification dataset in ../shared/data and every seed, ``--known`` gold items are drawn at random
(at most half of the gold). ``Auto()`` is fitted without gold and ``Auto().fit(annotations, gold=known)`` with
it; both are scored on the *other* gold items. The ceiling is the best single candidate on those items (chosen
with all the gold, which no user has). Prints a Markdown table per dataset (seed mean) and the means.

Usage:
    python benchmarks/auto_gold.py [--seeds 0,1,2] [--known 50] [--only a,b]

About 10 minutes per seed on this machine (2 cores, one used).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import ROOT, classification_datasets  # a sibling module

from accord.datasets import load_dataset
from accord.evaluation import accuracy
from accord.models import Auto


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(ROOT / "data"))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--known", type=int, default=50)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    seeds = [int(s) for s in args.seeds.split(",")]
    folders = [
        f for f in classification_datasets(Path(args.data)) if not args.only or f.name in args.only.split(",")
    ]
    rows = []
    for folder in folders:
        start = time.perf_counter()
        data = load_dataset(folder)
        gold = data.gold
        n_known = min(args.known, len(gold) // 2)
        for seed in seeds:
            order = np.random.default_rng(seed).permutation(len(gold))
            known, rest = gold.iloc[order[:n_known]], gold.iloc[order[n_known:]]
            free = Auto(random_state=seed).fit(data.annotations)
            guided = Auto(random_state=seed).fit(data.annotations, gold=known)
            ceiling = max(accuracy(m.labels_, rest) for m in free.models_.values())
            rows.append(
                {
                    "dataset": folder.name,
                    "seed": seed,
                    "known": n_known,
                    "scored": len(rest),
                    "gold-free": accuracy(free.labels_, rest),
                    "with gold": accuracy(guided.labels_, rest),
                    "best candidate": ceiling,
                }
            )
        print(f"{folder.name}: {time.perf_counter() - start:.0f} s", flush=True)
    table = pd.DataFrame(rows)
    per = table.groupby("dataset")[["known", "scored", "gold-free", "with gold", "best candidate"]].mean()
    print(
        f"\n## auto with {args.known} known gold items (at most half the gold), scored on the rest; "
        f"seeds {args.seeds}\n"
    )
    print("| dataset | known | scored | gold-free | with gold | best candidate |")
    print("|---|---|---|---|---|---|")
    for name, r in per.iterrows():
        print(
            f"| {name} | {r['known']:.0f} | {r['scored']:.0f} | {r['gold-free']:.4f} | "
            f"{r['with gold']:.4f} | "
            f"{r['best candidate']:.4f} |"
        )
    per_seed = table.groupby("seed")[["gold-free", "with gold", "best candidate"]].mean()
    within = table.assign(
        free_ok=table["gold-free"] >= table["best candidate"] - 0.01 - 1e-9,
        gold_ok=table["with gold"] >= table["best candidate"] - 0.01 - 1e-9,
    )
    counts = within.groupby("seed")[["free_ok", "gold_ok"]].sum()
    print(
        f"| mean | | | {per['gold-free'].mean():.4f} | {per['with gold'].mean():.4f} | "
        f"{per['best candidate'].mean():.4f} |"
    )
    print("\nPer seed (mean over datasets; datasets within 1 point of the best candidate):\n")
    print(
        "| seed | gold-free | with gold | best candidate | within 1 point, gold-free "
        "| within 1 point, with gold |"
    )
    print("|---|---|---|---|---|---|")
    for seed, r in per_seed.iterrows():
        print(
            f"| {seed} | {r['gold-free']:.4f} | {r['with gold']:.4f} | {r['best candidate']:.4f} | "
            f"{int(counts.loc[seed, 'free_ok'])} | {int(counts.loc[seed, 'gold_ok'])} |"
        )


if __name__ == "__main__":
    main()
