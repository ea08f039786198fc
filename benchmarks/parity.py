"""Parity of every model across a refactoring: dump posteriors (and confusions, skills, objectives) of every
model on every public classification set, then compare another checkout's with them.

Usage:
    PYTHONPATH=<old checkout>/src python benchmarks/parity.py dump /tmp/parity_before
    python benchmarks/parity.py compare /tmp/parity_before [ds,glad,...] [--compiled]

``--compiled`` runs the compiled kernel (numba) on every set, however small (by default sets under
``accord._kernel.compiled.MIN_ANNOTATIONS`` annotations take the NumPy path); so the NumPy path against the
compiled one is ``ACCORD_NO_COMPILE=1 python benchmarks/parity.py dump /tmp/numpy`` then
``python benchmarks/parity.py compare /tmp/numpy --compiled``.

``compare`` prints, per dataset and model, the largest and the mean absolute difference of the posteriors,
how many labels changed, the accuracy on the gold items and the expected calibration error (10 equal-width
bins of the top-class confidence) before and after, and the iterations before and after; then per model the
largest differences, the summed iterations and the mean accuracy and ECE. It writes ``compare.csv`` beside
the dump. Models whose default changed on purpose are compared with their previous default given explicitly
(``OLD_DEFAULTS``); ``--new-defaults`` compares the current defaults instead (what a user gets).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import accord
from accord import make_model

try:  # an older tree (PYTHONPATH=<old checkout>/src) has no compiled kernel
    from accord._kernel import compiled
except ImportError:
    compiled = None

from _common import classification_datasets  # a sibling module

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MODELS = [
    "mv",
    "wawa",
    "zbs",
    "ds",
    "onecoin",
    "ibcc",
    "kos",
    "mmsr",
    "glad",
    "mace",
    "mmce",
    "ds_model",
    "crowdlab",
    "ebcc",
    "bwa",
]


def datasets() -> list[Path]:
    return classification_datasets(DATA)


def load(folder: Path):
    from accord.datasets import load_dataset

    return load_dataset(folder)


def pred_probs(folder: Path, ann):
    path = folder / "pred_probs.csv"
    if not path.exists():
        return None
    frame = pd.read_csv(path)
    frame = frame.set_index(frame.columns[0])
    frame.index = frame.index.astype(str) if ann.items.dtype == object else frame.index
    frame.columns = [str(c) for c in frame.columns]
    return frame


OLD_DEFAULTS = {"ds": {"alpha": 0.5}}  # defaults that changed on purpose: compare with the old ones given


def gold_codes(data, ann) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the gold items among the items, and their gold class codes (-1: a class no one gave)."""
    gold = data.gold
    pos = ann.items.get_indexer(gold.index)
    keep = pos >= 0
    codes = pd.Index(ann.classes.astype(str)).get_indexer(gold.to_numpy()[keep].astype(str))
    return pos[keep], codes


def accuracy_on_gold(labels: np.ndarray, where: np.ndarray, codes: np.ndarray) -> float:
    return float(np.mean(labels[where] == codes)) if len(where) else float("nan")


def ece(proba: np.ndarray, where: np.ndarray, codes: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top-class confidence on the gold items (equal-width bins)."""
    if not len(where):
        return float("nan")
    p = proba[where]
    conf = p.max(axis=1)
    right = (p.argmax(axis=1) == codes).astype(float)
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            total += sel.sum() * abs(right[sel].mean() - conf[sel].mean())
    return float(total / len(conf))


def fit(name: str, ann, pp, old: bool = False):
    params = dict(OLD_DEFAULTS.get(name, {})) if old else {}
    if name not in ("glad", "mmce"):
        params["random_state"] = 0
    model = make_model(name, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name in ("ds_model", "crowdlab"):
            model.fit(ann, pred_probs=pp)
        else:
            model.fit(ann)
    return model


def arrays(model) -> dict[str, np.ndarray]:
    c = model.consensus_
    out = {"proba": np.asarray(c.proba_array, dtype=float), "labels": np.asarray(c.label_codes)}
    conf = getattr(model, "confusions_", None)
    if conf is not None:
        out["confusions"] = np.asarray(getattr(conf, "values", conf), dtype=float).reshape(-1)
    for attr in ("skills_", "abilities_", "competence_"):
        v = getattr(model, attr, None)
        if v is not None:
            out[attr] = np.asarray(v, dtype=float)
    hist = c.history
    if hist is not None and len(hist) and "objective" in hist:
        out["objective"] = hist["objective"].to_numpy(dtype=float)
    out["n_iter"] = np.asarray([getattr(model, "n_iter_", -1)])
    return out


def main() -> None:
    args = [a for a in sys.argv[1:] if a not in ("--new-defaults", "--compiled")]
    new_defaults = "--new-defaults" in sys.argv
    if "--compiled" in sys.argv:
        if compiled is None or not compiled.enabled():
            sys.exit("--compiled: numba is not installed here, or ACCORD_NO_COMPILE is set")
        compiled.MIN_ANNOTATIONS = 0
    if compiled is None or not compiled.enabled():
        print("compiled kernel: off")
    else:
        print(f"compiled kernel: on for sets of >= {compiled.MIN_ANNOTATIONS} annotations")
    mode, folder = args[0], Path(args[1])
    only = args[2].split(",") if len(args) > 2 else MODELS
    folder.mkdir(parents=True, exist_ok=True)
    print("accord from", accord.__file__)
    rows = []
    for ds in datasets():
        data = load(ds)
        ann = data.annotations
        pp = pred_probs(ds, ann)
        for name in only:
            if name == "kos" and ann.n_classes != 2:
                continue
            if name in ("ds_model", "crowdlab") and pp is None:
                continue
            t = time.perf_counter()
            try:
                got = arrays(fit(name, ann, pp, old=mode == "compare" and not new_defaults))
            except Exception as exc:  # noqa: BLE001 - a failure is reported, the others still run
                print(f"{ds.name:22s} {name:9s} FAILED {type(exc).__name__}: {exc}")
                continue
            dt = time.perf_counter() - t
            path = folder / f"{ds.name}__{name}.npz"
            if mode == "dump":
                np.savez(path, **got)
                print(f"{ds.name:22s} {name:9s} {dt:7.2f}s n_iter={int(got['n_iter'][0])}", flush=True)
            else:
                ref = dict(np.load(path))
                diff = {}
                for key in ("proba", "confusions", "skills_", "abilities_", "competence_", "objective"):
                    if key in ref and key in got and ref[key].shape == got[key].shape:
                        diff[key] = float(np.max(np.abs(ref[key] - got[key]))) if ref[key].size else 0.0
                    elif key in ref or key in got:
                        diff[key] = float("nan")
                changed = int((ref["labels"] != got["labels"]).sum())
                where, codes = gold_codes(data, ann)
                same = ref["proba"].shape == got["proba"].shape
                row = {
                    "dataset": ds.name,
                    "model": name,
                    "time": dt,
                    "changed": changed,
                    "n_iter_before": int(ref["n_iter"][0]),
                    "n_iter_after": int(got["n_iter"][0]),
                    **diff,
                    "proba_mean": float(np.abs(ref["proba"] - got["proba"]).mean()) if same else float("nan"),
                    "acc_before": accuracy_on_gold(ref["labels"], where, codes),
                    "acc_after": accuracy_on_gold(got["labels"], where, codes),
                    "ece_before": ece(ref["proba"], where, codes),
                    "ece_after": ece(got["proba"], where, codes),
                }
                rows.append(row)
                print(
                    f"{ds.name:22s} {name:9s} {dt:6.2f}s proba max {diff.get('proba', float('nan')):.2e} "
                    f"mean {row['proba_mean']:.1e} labels changed {changed} acc {row['acc_before']:.4f} -> "
                    f"{row['acc_after']:.4f} ece {row['ece_before']:.4f} -> {row['ece_after']:.4f} "
                    f"iterations {row['n_iter_before']} -> {row['n_iter_after']}",
                    flush=True,
                )
    if rows:
        table = pd.DataFrame(rows)
        table.to_csv(folder / "compare.csv", index=False)
        summary = table.groupby("model").agg(
            proba=("proba", "max"),
            proba_mean=("proba_mean", "mean"),
            changed=("changed", "sum"),
            n_iter_before=("n_iter_before", "sum"),
            n_iter_after=("n_iter_after", "sum"),
            acc_before=("acc_before", "mean"),
            acc_after=("acc_after", "mean"),
            ece_before=("ece_before", "mean"),
            ece_after=("ece_after", "mean"),
        )
        summary["worst_acc_change"] = (table["acc_after"] - table["acc_before"]).groupby(table["model"]).min()
        print(summary.to_string())


if __name__ == "__main__":
    main()
