"""Numeric ratings: Pearson and Spearman correlation with gold for mean, median and the bias/noise model.

Runs on the eight rating datasets of ``../shared/data`` (wordsim and affect_*), prints one table per metric
(datasets x methods, with the mean over datasets), and a sensitivity table of the bias/noise model's two prior
settings (mean Pearson over the eight sets), so that the defaults can be judged against the alternatives.

    python benchmarks/ratings.py [DATA_DIR]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from accord.tasks.ratings import BiasNoiseRating, MeanRating, MedianRating, Ratings

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SETS = ["wordsim"] + [
    f"affect_{e}" for e in ("anger", "disgust", "fear", "joy", "sadness", "surprise", "valence")
]
METHODS: dict[str, Callable[[], Any]] = {
    "mean": MeanRating,
    "median": MedianRating,
    "bias_noise": BiasNoiseRating,
    "no_difficulty": lambda: BiasNoiseRating(item_prior_strength=None),
    "noise_only": lambda: BiasNoiseRating(fit_bias=False),
}


def load(folder: Path) -> tuple[Ratings, pd.Series]:
    ratings = Ratings.from_frame(pd.read_csv(folder / "annotations.csv", dtype=str), value="label")
    gold = pd.read_csv(folder / "gold.csv", dtype={"item": str}).set_index("item")["label"].astype(float)
    return ratings, gold


def correlations(values: pd.Series, gold: pd.Series) -> tuple[float, float]:
    common = values.index.intersection(gold.index)
    x, y = values.loc[common].to_numpy(), gold.loc[common].to_numpy()
    return float(stats.pearsonr(x, y)[0]), float(stats.spearmanr(x, y)[0])


def method_tables(data: dict[str, tuple[Ratings, pd.Series]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    pearson: dict[str, dict[str, float]] = {}
    spearman: dict[str, dict[str, float]] = {}
    for name, (ratings, gold) in data.items():
        pearson[name], spearman[name] = {}, {}
        for method, make in METHODS.items():
            values = make().fit(ratings).values_
            pearson[name][method], spearman[name][method] = correlations(values, gold)
    return _with_mean(pd.DataFrame(pearson).T), _with_mean(pd.DataFrame(spearman).T)


def sensitivity(data: dict[str, tuple[Ratings, pd.Series]], item_prior: float | None) -> pd.DataFrame:
    """Mean Pearson over the datasets for a grid of (prior_strength, bias_prior_sd)."""
    strengths, bias_sds = (5.0, 10.0, 20.0, 40.0), (0.1, 0.3, 1.0)
    table = pd.DataFrame(
        index=pd.Index(strengths, name="prior_strength"),
        columns=pd.Index(bias_sds, name="bias_prior_sd"),
        dtype=float,
    )
    for s in strengths:
        for b in bias_sds:
            model = BiasNoiseRating(prior_strength=s, bias_prior_sd=b, item_prior_strength=item_prior)
            table.loc[s, b] = np.mean([correlations(model.fit(r).values_, g)[0] for r, g in data.values()])
    return table


def item_sensitivity(data: dict[str, tuple[Ratings, pd.Series]]) -> pd.Series:
    """Mean Pearson over the datasets by item_prior_strength (other settings at their defaults)."""
    out = {}
    for nu in (1.0, 2.0, 5.0, 10.0, 20.0):
        model = BiasNoiseRating(item_prior_strength=nu)
        out[nu] = np.mean([correlations(model.fit(r).values_, g)[0] for r, g in data.values()])
    return pd.Series(out, name="mean Pearson").rename_axis("item_prior_strength")


def _with_mean(table: pd.DataFrame) -> pd.DataFrame:
    table.loc["mean"] = table.mean()
    return table


def main(argv: list[str]) -> None:
    root = Path(argv[1]) if len(argv) > 1 else DATA
    start = time.perf_counter()
    data = {name: load(root / name) for name in SETS}
    pearson, spearman = method_tables(data)
    print("Pearson correlation with gold\n" + pearson.round(4).to_string() + "\n")
    print("Spearman correlation with gold\n" + spearman.round(4).to_string() + "\n")
    gain = pearson.loc["mean", "bias_noise"] - pearson.loc["mean", "mean"]
    wins = int((pearson.drop(index="mean")["bias_noise"] > pearson.drop(index="mean")["mean"]).sum())
    print(f"bias_noise - mean, mean Pearson: {gain:+.4f} (better on {wins} of {len(SETS)} sets)\n")
    for label, item_prior in (("with item difficulty (default 2.0)", 2.0), ("without item difficulty", None)):
        table = sensitivity(data, item_prior).round(4).to_string()
        print(f"bias_noise {label}: mean Pearson over the sets by prior setting\n{table}\n")
    print(item_sensitivity(data).round(4).to_string())
    print(f"\n({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main(sys.argv)
