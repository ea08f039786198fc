"""accord.compat.crowdkit beside crowd-kit itself: label agreement, largest posterior difference and fit time.

Usage (needs crowd-kit; the datasets are ../shared/data's public sets):

    python benchmarks/compat_crowdkit.py                       # small sets, every class
    python benchmarks/compat_crowdkit.py --datasets wsd,temp --classes DawidSkene,GLAD

Each class of ``accord.compat.crowdkit`` and the crowd-kit class of the same name are fitted on the same
DataFrame (``task``, ``worker``, ``label``) with their default parameters. Printed: a Markdown table with the
share of tasks given the same label, the largest difference of ``probas_`` (where both have it), and the
seconds of each ``fit``. crowd-kit 1.4's ``predict`` fails under scikit-learn >= 1.6, so its Wawa,
ZeroBasedSkill and MMSR labels are rebuilt from their fitted ``skills_`` with its ``MajorityVote``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from accord.compat import crowdkit as ours

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SMALL = "wsd,temp,bluebirds,rte,dog"
CLASSES = "MajorityVote,Wawa,ZeroBasedSkill,DawidSkene,OneCoinDawidSkene,GLAD,MACE,MMSR,KOS"
VOTED = {"Wawa", "ZeroBasedSkill", "MMSR"}


def load(name: str) -> pd.DataFrame:
    frame = pd.read_csv(DATA / name / "annotations.csv")
    return frame.rename(columns={"item": "task", "annotator": "worker"})


def timed(fn, *args):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(*args)
    return out, time.perf_counter() - start


def theirs_labels(ck, name: str, model, df: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame | None]:
    if name in VOTED:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vote = ck.MajorityVote().fit(df, skills=model.skills_)
        return vote.labels_, None if name == "MMSR" else vote.probas_
    return model.labels_, getattr(model, "probas_", None)


def compare(ck, dataset: str, name: str, df: pd.DataFrame) -> dict[str, object] | None:
    if name == "KOS" and df["label"].nunique() != 2:
        return None
    mine, t_ours = timed(getattr(ours, name)().fit, df)
    fitted, t_theirs = timed(getattr(ck, name)().fit, df)
    labels, probas = theirs_labels(ck, name, fitted, df)
    agree = float((mine.labels_.astype(str) == labels.reindex(mine.labels_.index).astype(str)).mean())
    diff = float("nan")
    if probas is not None and name != "MMSR":
        aligned = probas.reindex(index=mine.probas_.index, columns=mine.probas_.columns).to_numpy(dtype=float)
        diff = float(np.nanmax(np.abs(mine.probas_.to_numpy() - aligned)))
    return {
        "dataset": dataset,
        "class": name,
        "agreement": agree,
        "max dp": diff,
        "accord s": t_ours,
        "crowd-kit s": t_theirs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=SMALL)
    parser.add_argument("--classes", default=CLASSES)
    args = parser.parse_args()
    import crowdkit.aggregation as ck

    rows = []
    for dataset in args.datasets.split(","):
        df = load(dataset)
        for name in args.classes.split(","):
            row = compare(ck, dataset, name, df)
            if row is not None:
                rows.append(row)
                print(f"{dataset:12s} {name:18s} agreement {row['agreement']:.4f}", flush=True)
    print()
    print(markdown(rows))


def markdown(rows: list[dict[str, object]]) -> str:
    """A Markdown table (numbers to 4 significant digits)."""
    if not rows:
        return ""
    header = list(rows[0])
    cells = [[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()] for row in rows]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in cells])


if __name__ == "__main__":
    main()
