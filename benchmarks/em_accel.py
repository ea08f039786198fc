"""The Dawid-Skene family's stopping rule and SQUAREM acceleration on every public classification set: E-steps
and accuracy per variant, and how far each variant's answer is from the converged fixed point.

Usage:
    python benchmarks/em_accel.py [--data ../shared/data] [--models ds,onecoin]

Variants (each a full fit at otherwise default settings; an E-step is one pass over the annotations):

- ``before``: the previous default, plain EM stopped by the posterior rule alone (no label changed and
  ``max |post_t - post_{t-1}| < tol = 1e-3``);
- ``rtol``: plain EM, that rule OR the relative objective rule ``L_t - L_{t-1} <= tol^2 |L_t|``;
- ``squarem``: the same two rules with SQUAREM cycles (the current default).

``vs fp`` is the number of labels that differ from a tight plain fit (``tol = 1e-10``, 2000 E-steps at most):
how far a variant stopped from where EM converges. Prints a Markdown table per model (E-steps, accuracy,
labels off the fixed point), the totals / means, and every set on which a variant's accuracy is below
``before``.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import ROOT, accuracy, classification_datasets, to_markdown  # a sibling module

from accord.datasets import load_dataset
from accord.errors import ConvergenceWarning, DataQualityWarning
from accord.models.registry import METHODS

VARIANTS = {
    "before": {"accelerate": False, "rtol": False},
    "rtol": {"accelerate": False, "rtol": True},
    "squarem": {"accelerate": True, "rtol": True},
}


def fit(name: str, ann: Any, accelerate: bool, rtol: bool, **params: Any) -> Any:
    model = METHODS[name](accelerate=accelerate, **params)
    if not rtol:  # the previous default: the posterior rule alone
        options = model.em_options()
        model.em_options = lambda: {**options, "objective_rtol": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, DataQualityWarning))
        model.fit(ann)
    return model


def measure(name: str, folder: Path) -> dict[str, float]:
    data = load_dataset(folder)
    ann = data.annotations
    fixed = fit(name, ann, False, False, tol=1e-10, max_iter=2000).consensus_.label_codes
    row: dict[str, float] = {}
    for variant, options in VARIANTS.items():
        model = fit(name, ann, **options)
        codes = model.consensus_.label_codes
        row[f"{variant} E"] = model.n_iter_
        row[f"{variant} acc"] = accuracy(model.labels_, data.gold)
        row[f"{variant} vs fp"] = int(np.count_nonzero(codes != fixed))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--models", default="ds,onecoin")
    args = parser.parse_args()
    for name in args.models.split(","):
        table = pd.DataFrame({f.name: measure(name, f) for f in classification_datasets(args.data)}).T
        total = table.mean()
        for column in table.columns:
            if not column.endswith(" acc"):
                total[column] = table[column].sum()
        table.loc["total / mean"] = total
        print(f"\n## {name}\n")
        print(to_markdown(table, whole=lambda column: not column.endswith(" acc")))
        body = table.drop(index="total / mean")
        for variant in list(VARIANTS)[1:]:
            diff = body[f"{variant} acc"] - body["before acc"]
            moved = diff[np.abs(diff) > 1e-12]
            lower = moved[moved < 0]
            print(
                f"\n{variant}: {len(moved)} sets change accuracy",
                {k: round(float(v), 4) for k, v in moved.items()},
                f"; lower on {len(lower)}",
            )


if __name__ == "__main__":
    main()
