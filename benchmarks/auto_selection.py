"""How well can a gold-free rule choose the truth-inference model? Evidence for ``method="auto"``.

For every classification dataset in ../shared/data and every seed, each candidate model is fitted on all the
annotations and, ``--splits`` times, with a random tenth of them hidden (exactly as ``Auto`` hides them: one
label of every item and of every annotator always stays visible). The hidden labels then score the candidates,
and several gold-free rules pick a result:

- ``stack``   the stacking of the posteriors that ``Auto`` does by default (first 3 splits, as ``Auto``);
- ``stack5``  the same stacking with all the splits;
- ``loglik``  the candidate with the best held-out log-likelihood of the hidden labels (ALGORITHMS.md s. 14);
- ``kappa``   the candidate whose consensus agrees best with the hidden labels, chance-corrected;
- ``agree``   the same with raw agreement;
- ``oracle``  the candidate that is most accurate on gold (not available to a user: the ceiling of choosing).

Every rule first sets aside, as ``Auto`` does, candidates whose labels have Cohen's kappa < 0.2 with majority
vote and candidates that put at least 2% of the items in a class whose label the annotators give those items
less often than chance (``unrecognised_classes``). The first table gives each rule's mean accuracy over the
datasets (per seed, and mean +- sd over seeds) and on how many datasets it comes within 1 point of the best
peer figure of ../shared/ANCHORS.md. The second table shows, for every dataset where no rule reaches that
mark, the signals the hidden labels give for the candidate that gold prefers against the one the rules choose.

Usage:
    python benchmarks/auto_selection.py [--seeds 0,1,2] [--splits 5] [--candidates mv,wawa,...] [--only a,b]

About 4 minutes per seed on this machine for the default candidates (2 cores, one used).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from models_accuracy import ROOT, classification_datasets, read_anchors  # a sibling script

from accord._kernel.votes import break_ties
from accord.datasets import load_dataset
from accord.errors import AccordError
from accord.models.auto import (
    DEFAULT_CANDIDATES,
    LOG_FLOOR,
    Auto,
    _applicable,
    heldout_likelihood,
    holdout_splits,
    kappa_with,
    stacking_weights,
    unrecognised_classes,
)

RULES = ("stack", "stack5", "loglik", "kappa", "agree", "oracle")


def gold_codes(ds, ann) -> tuple[np.ndarray, np.ndarray]:
    pos = ann.items.astype(str).get_indexer(ds.gold.index.astype(str))
    ok = pos >= 0
    return pos[ok], ann.classes.astype(str).get_indexer(ds.gold.to_numpy()[ok].astype(str))


def accuracy_of(proba: np.ndarray, gold: tuple[np.ndarray, np.ndarray]) -> float:
    return float(np.mean(proba[gold[0]].argmax(axis=1) == gold[1]))


def evaluate_seed(ann, gold, names: list[str], seed: int, n_splits: int) -> dict:
    """Fit every candidate (full data + hidden splits) and apply every rule; returns accuracies and
    signals."""
    rng = np.random.default_rng(seed)
    model_seed = int(rng.integers(2**31 - 1))  # the same draws as Auto(random_state=seed)
    splits = holdout_splits(ann, 0.1, n_splits, rng)
    mv = break_ties(ann.vote_counts(), "lowest", rng)
    full, probs, kappas, agrees = {}, {}, {}, {}
    for name in names:
        try:
            full[name] = Auto._fit_one(name, model_seed, ann).consensus_
        except AccordError:
            continue
        probs[name], kappas[name], agrees[name] = [], [], []
        for hidden in splits:
            keep = np.ones(ann.n_annotations, dtype=bool)
            keep[hidden] = False
            model = Auto._fit_one(name, model_seed, ann.take(keep))
            probs[name].append(heldout_likelihood(model, ann, hidden))
            predicted = model.consensus_.label_codes[ann.item[hidden]]
            kappas[name].append(kappa_with(predicted, ann.label[hidden], ann.n_classes))
            agrees[name].append(float(np.mean(predicted == ann.label[hidden])))
    fitted = list(full)
    usable = [
        n
        for n in fitted
        if kappa_with(full[n].label_codes, mv, ann.n_classes) >= 0.2
        and not unrecognised_classes(full[n].label_codes, ann)
    ] or fitted
    acc = {n: accuracy_of(full[n].proba_array, gold) for n in fitted}
    loglik = {n: float(np.mean(np.log(np.maximum(np.concatenate(probs[n]), LOG_FLOOR)))) for n in fitted}
    kappa = {n: float(np.mean(kappas[n])) for n in fitted}
    agree = {n: float(np.mean(agrees[n])) for n in fitted}

    def stacked(k: int) -> float:
        if len(usable) == 1:
            return acc[usable[0]]
        weights = stacking_weights(np.stack([np.concatenate(probs[n][:k]) for n in usable], axis=1))
        proba = sum(w * full[n].proba_array for w, n in zip(weights, usable, strict=False))
        return accuracy_of(proba, gold)

    def best_by(score: dict) -> str:
        return max(usable, key=lambda n: score[n])

    picks = {
        "loglik": best_by(loglik),
        "kappa": best_by(kappa),
        "agree": best_by(agree),
        "oracle": max(fitted, key=lambda n: acc[n]),
    }
    result = {"stack": stacked(3), "stack5": stacked(n_splits)}
    result.update({rule: acc[name] for rule, name in picks.items()})
    signals = pd.DataFrame(
        {"accuracy": acc, "heldout_loglik": loglik, "heldout_kappa": kappa, "heldout_agreement": agree}
    )
    return {"acc": result, "picks": picks, "signals": signals}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--anchors", type=Path, default=ROOT / "ANCHORS.md")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--candidates", default=",".join(DEFAULT_CANDIDATES))
    parser.add_argument("--only", default="", help="comma-separated dataset names")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    seeds = [int(s) for s in args.seeds.split(",")]
    names = args.candidates.split(",")
    best = read_anchors(args.anchors)["best"]
    folders = [
        f for f in classification_datasets(args.data) if not args.only or f.name in args.only.split(",")
    ]

    rows, evidence = [], []
    for folder in folders:
        start = time.perf_counter()
        ds = load_dataset(folder)
        ann = ds.annotations
        gold = gold_codes(ds, ann)
        usable = [n for n in names if _applicable(n, ann)]
        for seed in seeds:
            out = evaluate_seed(ann, gold, usable, seed, args.splits)
            rows.append({"dataset": folder.name, "seed": seed, **out["acc"]})
            if seed == seeds[0]:
                sig = out["signals"]
                target = best.get(folder.name, np.nan) - 0.01
                if all(out["acc"][r] < target - 1e-9 for r in RULES if r != "oracle"):
                    chosen = out["picks"]["loglik"]
                    for name in dict.fromkeys([out["picks"]["oracle"], chosen, "ds", "onecoin"]):
                        if name in sig.index:
                            evidence.append(
                                {
                                    "dataset": folder.name,
                                    "best peer": best[folder.name],
                                    "candidate": name,
                                    **sig.loc[name].round(4).to_dict(),
                                }
                            )
        print(f"{folder.name}: {time.perf_counter() - start:.0f} s", flush=True)

    table = pd.DataFrame(rows)
    table["best_peer"] = table["dataset"].map(best)
    print(
        f"\n## Gold-free rules over {table['dataset'].nunique()} datasets, seeds {args.seeds}, "
        f"{args.splits} hidden splits of 10%\n"
    )
    print(
        "| rule | mean accuracy per seed | mean +- sd | datasets within 1 point of the best peer (per seed) |"
    )
    print("|---|---|---|---|")
    for rule in RULES:
        per_seed = table.groupby("seed")[rule].mean()
        within = table.assign(ok=table[rule] >= table["best_peer"] - 0.01 - 1e-9).groupby("seed")["ok"].sum()
        print(
            f"| {rule} | {' / '.join(f'{v:.4f}' for v in per_seed)} | {per_seed.mean():.4f} +- "
            f"{per_seed.std(ddof=1) if len(per_seed) > 1 else 0:.4f} | "
            f"{' / '.join(str(int(v)) for v in within)} |"
        )
    print(f"\nBest single peer on the mean (ANCHORS.md): crowd-kit DawidSkene {0.8289:.4f}.")
    first = table[table["seed"] == seeds[0]].set_index("dataset")
    print(f"\n## Per dataset (seed {seeds[0]}), gap to the best peer in points\n")
    print("| dataset | best peer | " + " | ".join(RULES) + " |")
    print("|---|---|" + "---|" * len(RULES))
    for name, row in first.iterrows():
        cells = " | ".join(f"{100 * (row[r] - row['best_peer']):+.1f}" for r in RULES)
        print(f"| {name} | {row['best_peer']:.4f} | {cells} |")
    if evidence:
        print(
            "\n## Where every rule misses: what the hidden labels say (seed "
            f"{seeds[0]}; higher is better for every signal)\n"
        )
        frame = pd.DataFrame(evidence)
        print("| " + " | ".join(frame.columns) + " |")
        print("|" + "---|" * len(frame.columns))
        for values in frame.itertuples(index=False):
            print("| " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in values) + " |")


if __name__ == "__main__":
    main()
