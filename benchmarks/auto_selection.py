"""``method="auto"`` on the public classification datasets: accuracy against the peers, selection against
stacking, and its cost against one Dawid-Skene fit.

For every classification dataset in ../shared/data, ``Auto()`` (default candidates and rule) is fitted once;
its score table gives, from the same held-out predictions, what the other rules would have chosen: ``loglik``
(the candidate with the best held-out log-likelihood), ``kappa`` (the best chance-corrected agreement with the
held-out labels) and ``oracle`` (the candidate most accurate on gold, which no user has). Next to them: crowd-
kit's DawidSkene, majority vote and the best peer figure per dataset from ../shared/ANCHORS.md, whether
``auto`` reaches ``max(majority vote, crowd-kit DS) - 1 point``, and the time of ``Auto`` divided by the time
of one ``DawidSkene()`` fit on the same data, in the same run.

Usage:
    python benchmarks/auto_selection.py [--only a,b] [--seed 0] [--candidates mv,vote,...]

About 10 minutes on this machine (2 cores).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd
from _common import ROOT, classification_datasets, read_anchors  # a sibling module

from accord.datasets import load_dataset
from accord.evaluation import accuracy
from accord.models import Auto
from accord.models.registry import make_model

TIMED = ("relevance", "fact_eval")


def rules(auto: Auto, gold: pd.Series) -> dict[str, float]:
    """Accuracy of what each rule picks from ``auto``'s score table (and of the best candidate on gold)."""
    table = auto.scores_
    fitted = table[table["note"] == ""] if "note" in table else table
    accs = {name: accuracy(model.labels_, gold) for name, model in auto.models_.items()}
    out = {"oracle": max(accs.values())}
    if "heldout_loglik" in fitted and len(fitted) > 1:
        usable = fitted[~fitted["degenerate"].astype(bool) & (fitted["unrecognised"] == "")]
        usable = usable if len(usable) else fitted
        out["loglik"] = accs[usable["heldout_loglik"].idxmax()]
        out["kappa"] = accs[usable.sort_values(["heldout_kappa", "heldout_loglik"], ascending=False).index[0]]
    else:  # no comparison was made (small data): every rule gives the result
        out["loglik"] = out["kappa"] = accuracy(auto.labels_, gold)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--anchors", type=Path, default=ROOT / "ANCHORS.md")
    parser.add_argument("--only", default="", help="comma-separated dataset names")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--candidates", default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    anchors = read_anchors(args.anchors)
    only = [n for n in args.only.split(",") if n]
    rows = []
    for folder in classification_datasets(args.data):
        if only and folder.name not in only:
            continue
        data = load_dataset(folder)
        start = time.perf_counter()
        make_model("ds").fit(data.annotations)
        t_ds = time.perf_counter() - start
        start = time.perf_counter()
        auto = Auto(candidates=args.candidates, random_state=args.seed, progress=False).fit(data.annotations)
        t_auto = time.perf_counter() - start
        mv, ck = anchors.loc[folder.name, "ck:MajorityVote"], anchors.loc[folder.name, "ck:DawidSkene"]
        row = {
            "dataset": folder.name,
            "auto": accuracy(auto.labels_, data.gold),
            "chosen": auto.chosen_,
            **rules(auto, data.gold),
            "ck:DawidSkene": ck,
            "majority vote": mv,
            "best peer": anchors.loc[folder.name, "best"],
            "ratio": t_auto / t_ds,
            "seconds": t_auto,
        }
        row["target"] = max(mv, ck) - 0.01
        rows.append(row)
        print(
            f"{folder.name}: auto {row['auto']:.4f} ({auto.chosen_}), {t_auto:.1f} s = "
            f"{row['ratio']:.1f} x DS",
            flush=True,
        )
    table = pd.DataFrame(rows).set_index("dataset")
    cols = ["auto", "loglik", "kappa", "oracle", "ck:DawidSkene", "majority vote", "best peer"]
    print(f"\n## auto on {len(table)} public classification datasets (seed {args.seed})\n")
    print("| dataset | chosen | " + " | ".join(cols) + " | >= max(MV, ck DS) - 1 pt | time / DS |")
    print("|---|---|" + "---|" * len(cols) + "---|---|")
    for name, r in table.iterrows():
        ok = "yes" if r["auto"] >= r["target"] - 1e-9 else f"no ({100 * (r['auto'] - r['target']):+.1f})"
        cells = " | ".join(f"{r[c]:.4f}" for c in cols)
        print(f"| {name} | {r['chosen']} | {cells} | {ok} | {r['ratio']:.1f} |")
    means = " | ".join(f"**{table[c].mean():.4f}**" for c in cols)
    passed = int((table["auto"] >= table["target"] - 1e-9).sum())
    print(f"| mean | | {means} | {passed} of {len(table)} | |")
    print("\nTargets: mean >= 0.840 gold-free; every set >= max(majority vote, crowd-kit DS) - 1 point.")
    for name in TIMED:
        if name in table.index:
            print(f"auto / one DS fit on {name}: {table.loc[name, 'ratio']:.1f}x (target <= 5x)")


if __name__ == "__main__":
    main()
