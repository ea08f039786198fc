"""Post-fit tables and their writing: the old path (pandas, per-class gathers, object arrays) against today's.

For each size (``--sizes 1e7 1e8`` annotations; 5 per item, so 2*10^6 and 2*10^7 items; 1000 annotators;
K classes) a child process builds synthetic annotations and a sharp posterior (one Dawid-Skene E-step with
annotator accuracies 0.55-0.95, so many probabilities are tiny), then times, each in its own child:

- ``tables``: ``Consensus.to_frame()`` + ``annotators_frame()`` (old: the previous implementation, kept
  below verbatim in spirit: object label/strength arrays, one posterior gather per class, frame copies);
- ``csv``: both tables written as CSV (old: ``neutralise_formulas`` + ``DataFrame.to_csv``; new:
  :func:`accord._csv.write_csv`); the two files are compared byte for byte when both ran, and pyarrow's own
  ``pyarrow.csv.write_csv`` (Arrow's spelling of numbers, every string quoted) is timed as the floor;
- ``parquet``: both tables written as Parquet (old: ``DataFrame.to_parquet``; new: ``write_parquet``);
- ``digitsN`` (``--float-digits N``, default 6): both tables as CSV with ``float_digits=N`` (floats with N
  digits after the point, pandas' ``float_format="%.Nf"``) against today's default CSV (the shortest
  round-trip text of each float), in the same run; the file is compared with pandas' ``to_csv(...,
  float_format="%.Nf")`` up to ``--old-csv-max`` annotations.

Peak memory is the child's peak resident set above what it held once the data were built (Linux
``/proc/self/clear_refs``). The old CSV writer is slow (~10^-6 s per cell); by default it runs at the
smallest size only (``--old-csv-max``).

Usage::

    .venv/bin/python benchmarks/write_speed.py --sizes 1e7 1e8 [--classes 2] [--string-ids] [--float-digits 6]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
N_ANNOTATORS = 1000
PER_ITEM = 5


# ====================================================================== data
def make_consensus(n: int, k: int, string_ids: bool, seed: int = 0) -> Any:
    """A ``Consensus`` on ``n`` synthetic annotations with a Dawid-Skene-like posterior and confusions."""
    from accord import Annotations, Consensus

    rng = np.random.default_rng(seed)
    n_items = n // PER_ITEM
    accuracy = rng.uniform(0.55, 0.95, N_ANNOTATORS)
    truth = rng.integers(0, k, n_items).astype(np.int32)
    item = np.repeat(np.arange(n_items, dtype=np.int32), PER_ITEM)
    annotator = rng.integers(0, N_ANNOTATORS, n).astype(np.int32)
    right = rng.random(n) < accuracy[annotator]
    label = np.where(right, truth[item], (truth[item] + rng.integers(1, max(k, 2), n)) % k).astype(np.int32)
    del right
    logit = np.log(accuracy / ((1 - accuracy) / max(k - 1, 1)))
    score = np.bincount(item.astype(np.int64) * k + label, weights=logit[annotator], minlength=n_items * k)
    score = score.reshape(n_items, k)
    score -= score.max(axis=1, keepdims=True)
    proba = np.exp(score)
    proba /= proba.sum(axis=1, keepdims=True)
    del score
    items = pd.Index([f"item-{i}" for i in range(n_items)]) if string_ids else pd.RangeIndex(n_items)
    ann = Annotations(
        item, annotator, label, pd.Index(items), pd.RangeIndex(N_ANNOTATORS), pd.Index(range(k))
    )
    conf = np.full((N_ANNOTATORS, k, k), 0.0)
    conf[:] = ((1 - accuracy) / max(k - 1, 1))[:, None, None]
    idx = np.arange(k)
    conf[:, idx, idx] = accuracy[:, None]
    return Consensus(ann, proba, "ds", confusions=conf)


# ====================================================================== the old path
def old_to_frame(c: Any) -> pd.DataFrame:
    """``Consensus.to_frame()`` as it was: object arrays per row, a frame copy, ``reset_index``."""
    counts = c.annotations.vote_counts()
    n = counts.sum(axis=1)
    rows = np.arange(len(n))
    chosen = counts[rows, c.label_codes]
    p = c.proba_array
    frame = pd.DataFrame(
        {
            "label": np.asarray(c.classes, dtype=object)[c.label_codes],
            "confidence": p[rows, c.label_codes],
            "agreement": np.divide(chosen, n, out=np.zeros_like(n), where=n > 0),
            "n_annotations": n.astype(np.int64),
            "entropy": -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=1),
            "strength": old_strength(counts, c.label_codes),
        },
        index=c.annotations.items,
    )
    frame = frame.copy()
    for j, name in enumerate(c.classes):
        frame[f"proba_{name}"] = p[:, j]
    frame.index.name = "item"
    return frame.reset_index()


def old_strength(counts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The previous ``consensus_strength``: string arrays per row."""
    top = counts.max(axis=1)
    n = counts.sum(axis=1)
    chosen = counts[np.arange(len(n)), labels]
    n_top = (counts == top[:, None]).sum(axis=1)
    strong = (chosen == n) & (n >= 2)
    weak = (chosen < top) | (n_top > 1)
    out = np.where(strong, "Strong", np.where(weak, "Weak", "Moderate")).astype(object)
    out[n == 0] = "None"
    return out


def old_annotators_frame(c: Any) -> pd.DataFrame:
    """``Consensus.annotators_frame()`` as it was: the posterior gathered once per class."""
    ann = c.annotations
    n_labels = ann.annotator_sizes()
    agree = (ann.label == c.label_codes[ann.item]).astype(np.float64)
    hits = np.bincount(ann.annotator, weights=agree, minlength=ann.n_annotators)
    agreement = np.divide(hits, n_labels, out=np.zeros_like(hits), where=n_labels > 0)
    diag = np.diagonal(c.confusions, axis1=1, axis2=2)
    expected = diag @ c.priors_array
    mass = np.stack(
        [
            np.bincount(ann.annotator, weights=c.proba_array[ann.item, j], minlength=ann.n_annotators)
            for j in range(ann.n_classes)
        ],
        axis=1,
    )
    masked = np.where(mass >= 0.5, diag, np.inf)
    none_seen = ~np.isfinite(masked).any(axis=1)
    masked[none_seen] = diag[none_seen]
    frame = pd.DataFrame(
        {
            "n_labels": n_labels.astype(np.int64),
            "quality": expected,
            "agreement_with_consensus": agreement,
            "expected_accuracy": expected,
            "worst_class": np.asarray(c.classes, dtype=object)[masked.argmin(axis=1)],
        },
        index=ann.annotators,
    )
    frame.index.name = "annotator"
    return frame.reset_index()


def old_neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """The previous ``neutralise_formulas``: a Python check per cell of every text column."""
    from accord._csv import FORMULA_START

    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if not (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)):
            continue
        text = col.astype(object)
        is_str = text.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        if not is_str.any():
            continue
        starts = np.zeros(len(text), dtype=bool)
        starts[is_str] = [v.startswith(FORMULA_START) for v in text[is_str]]
        if not starts.any():
            continue
        numeric = pd.to_numeric(text[starts], errors="coerce").notna().to_numpy()
        risky = np.flatnonzero(starts)[~numeric]
        if len(risky):
            text = text.copy()
            text.iloc[risky] = ["'" + v for v in text.iloc[risky]]
            out[name] = text
    return out


# ====================================================================== one stage in a child
def _peak_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _peak_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def _rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def child(path: str, stage: str, n: int, k: int, string_ids: bool, folder: Path) -> dict[str, Any]:
    from accord._csv import write_csv, write_parquet

    c = make_consensus(n, k, string_ids)
    base = _rss_gb()
    _peak_reset()
    out: dict[str, Any] = {}
    t = time.perf_counter()
    if path == "old" and not stage.startswith("digits"):  # digitsN: today's tables, two writers
        items, annotators = old_to_frame(c), old_annotators_frame(c)
    else:
        items, annotators = c.to_frame(), c.annotators_frame()
    out["tables"] = time.perf_counter() - t
    if stage.startswith("digits"):
        digits = int(stage[len("digits") :]) if path == "new" else None
        target = folder / f"{path}_items_{stage}.csv"
        t = time.perf_counter()
        write_csv(items, target, float_digits=digits)
        write_csv(annotators, folder / f"{path}_annotators_{stage}.csv", float_digits=digits)
        out["write"] = time.perf_counter() - t
        out["peak_gb"] = max(_peak_gb() - base, 0.0)
        out["mb"] = target.stat().st_size / 2**20
        if digits is not None and n <= int(os.environ.get("ACCORD_BENCH_CHECK_MAX", "0")):
            reference = old_neutralise(items).to_csv(index=False, float_format=f"%.{digits}f").encode()
            out["pandas_equal"] = reference == target.read_bytes()
    elif stage in ("csv", "parquet"):
        target = folder / f"{path}_items.{stage}"
        t = time.perf_counter()
        if stage == "csv" and path == "old":
            old_neutralise(items).to_csv(target, index=False)
            old_neutralise(annotators).to_csv(folder / f"{path}_annotators.csv", index=False)
        elif stage == "csv":
            write_csv(items, target)
            write_csv(annotators, folder / f"{path}_annotators.csv")
        elif path == "old":
            items.to_parquet(target, index=False)
            annotators.to_parquet(folder / f"{path}_annotators.parquet", index=False)
        else:
            write_parquet(items, target)
            write_parquet(annotators, folder / f"{path}_annotators.parquet")
        out["write"] = time.perf_counter() - t
        out["peak_gb"] = max(_peak_gb() - base, 0.0)
        if stage == "csv" and path == "new":  # the floor: pyarrow's own writer (Arrow's text, not pandas')
            import pyarrow as pa
            import pyarrow.csv as pa_csv

            t = time.perf_counter()
            pa_csv.write_csv(pa.Table.from_pandas(items, preserve_index=False), folder / "arrow_items.csv")
            pa_csv.write_csv(pa.Table.from_pandas(annotators, preserve_index=False), folder / "arrow_ann.csv")
            out["arrow"] = time.perf_counter() - t
        if stage == "csv":
            both = target.read_bytes() + (folder / f"{path}_annotators.csv").read_bytes()
            out["sha"] = hashlib.sha256(both).hexdigest()[:16]
        out["mb"] = target.stat().st_size / 2**20
    else:
        out["peak_gb"] = max(_peak_gb() - base, 0.0)
    return out


def run_child(path: str, stage: str, n: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        path,
        stage,
        str(n),
        str(args.classes),
        "1" if args.string_ids else "0",
        str(folder),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"child {path} {stage} {n} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e7, 1e8])
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--string-ids", action="store_true", help="item ids 'item-<i>' instead of integers")
    parser.add_argument("--old-csv-max", type=float, default=1e7, help="largest size the old CSV runs at")
    parser.add_argument("--float-digits", type=int, default=6, help="digits of the digitsN stage")
    parser.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, stage, n, k, string_ids, folder = args.child
        print(json.dumps(child(path, stage, int(n), int(k), string_ids == "1", Path(folder))))
        return
    print(
        f"K={args.classes}, {'string' if args.string_ids else 'integer'} item ids, {N_ANNOTATORS} annotators"
    )
    print(
        f"{'annotations':>12} {'items':>10} {'stage':>8} {'old s':>8} {'new s':>8} {'ratio':>7} "
        f"{'old GB':>7} {'new GB':>7}  note"
    )
    for size in args.sizes:
        n = int(size)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            os.environ["ACCORD_BENCH_CHECK_MAX"] = str(int(args.old_csv_max))
            for stage in ("tables", "csv", "parquet", f"digits{args.float_digits}"):
                run_old = not (stage == "csv" and n > args.old_csv_max)
                old = run_child("old", stage, n, args, folder) if run_old else None
                new = run_child("new", stage, n, args, folder)
                key = "tables" if stage == "tables" else "write"
                note = ""
                if stage == "csv":
                    note = f"{new['mb']:.0f} MB; pyarrow.csv.write_csv {new['arrow']:.2f} s"
                    if old is not None:
                        note += ", bytes equal" if old["sha"] == new["sha"] else ", BYTES DIFFER"
                elif stage == "parquet":
                    note = f"{new['mb']:.0f} MB (tables + write: {new['tables'] + new['write']:.2f} s)"
                elif stage.startswith("digits") and old is not None:
                    note = f"old = today's default CSV ({old['mb']:.0f} MB), new {new['mb']:.0f} MB"
                    if "pandas_equal" in new:
                        note += ", equal to pandas' float_format" if new["pandas_equal"] else ", DIFFERS"
                old_s = f"{old[key]:8.2f}" if old else f"{'-':>8}"
                ratio = f"{old[key] / new[key]:6.1f}x" if old else f"{'-':>7}"
                old_gb = f"{old['peak_gb']:7.2f}" if old else f"{'-':>7}"
                print(
                    f"{n:>12,} {n // PER_ITEM:>10,} {stage:>8} {old_s} {new[key]:8.2f} {ratio} "
                    f"{old_gb} {new['peak_gb']:7.2f}  {note}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
