"""Parity of every model across a refactoring: dump posteriors (and confusions, skills, objectives) of every
model on every public classification set, then compare another checkout's with them.

Usage:
    PYTHONPATH=<old checkout>/src python benchmarks/parity.py dump /tmp/parity_before
    python benchmarks/parity.py compare /tmp/parity_before [ds,glad,...]

``compare`` prints, per dataset and model, the largest absolute difference of the posteriors and how many
labels changed, then the largest per model; it writes ``compare.csv`` beside the dump. Models whose
default changed on purpose are compared with their previous default given explicitly (``OLD_DEFAULTS``).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import accord
from accord import make_model

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
]


def datasets() -> list[Path]:
    out = []
    for folder in sorted(p for p in DATA.iterdir() if p.is_dir()):
        meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").exists() else {}
        skip = folder.name == "wordsim" or folder.name.startswith("affect_")
        if (
            not skip
            and meta.get("task_type", "classification") == "classification"
            and (folder / "gold.csv").exists()
        ):
            out.append(folder)
    return out


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
    mode, folder = sys.argv[1], Path(sys.argv[2])
    only = sys.argv[3].split(",") if len(sys.argv) > 3 else MODELS
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
                got = arrays(fit(name, ann, pp, old=mode == "compare"))
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
                rows.append(
                    {
                        "dataset": ds.name,
                        "model": name,
                        "time": dt,
                        "changed": changed,
                        "n_iter_before": int(ref["n_iter"][0]),
                        "n_iter_after": int(got["n_iter"][0]),
                        **diff,
                    }
                )
                print(
                    f"{ds.name:22s} {name:9s} {dt:6.2f}s proba {diff.get('proba', float('nan')):.2e} "
                    f"labels changed {changed}",
                    flush=True,
                )
    if rows:
        table = pd.DataFrame(rows)
        table.to_csv(folder / "compare.csv", index=False)
        print(table.groupby("model")[["proba", "changed"]].max().to_string())


if __name__ == "__main__":
    main()
