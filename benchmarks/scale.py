"""Scale benchmark: synthetic Dawid-Skene annotations as Parquet on disk, fitted end to end.

For each size (``--sizes 1e6 1e7``; 1e8 takes minutes and ~10 GB) it

1. generates the annotations in chunks (1000 annotators, 5 labels per item, K classes, annotator accuracy
   0.55-0.95, errors spread over the other classes) into one Parquet file and a directory of parts;
2. runs ``accord aggregate FILE --method ds -o out.parquet`` (the in-memory engine) under ``/usr/bin/time``
   for the end-to-end time and peak memory, and the same stages one by one in a child process (read,
   build ``Annotations``, fit, write) for the time per stage;
3. runs the Dask engine on the directory of parts with a ``LocalCluster`` of ``--workers`` processes
   (``--memory-limit`` each), one Parquet file per partition out, and reports its stages and each worker's
   peak memory;
4. at 10^6, crowd-kit's ``DawidSkene`` with its default settings beside accord's (time and accuracy).

Usage::

    .venv/bin/python benchmarks/scale.py --sizes 1e6 1e7 [--classes 2] [--dir /tmp/accord_scale]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
N_ANNOTATORS = 1000
PER_ITEM = 5
STEPS = np.array([s for s in range(1, N_ANNOTATORS) if np.gcd(s, N_ANNOTATORS) == 1])
CHUNK = 5_000_000  # annotations generated (and written) at a time


def generate(n: int, k: int, folder: Path, seed: int = 0) -> tuple[Path, Path, Path]:
    """Write ``n`` annotations as one Parquet file, a directory of parts, and the true labels."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    single, parts, truth_path = folder / "annotations.parquet", folder / "parts", folder / "truth.npy"
    if single.exists() and parts.exists() and truth_path.exists():
        return single, parts, truth_path
    parts.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    n_items = n // PER_ITEM
    accuracy = rng.uniform(0.55, 0.95, N_ANNOTATORS)
    truth = rng.integers(0, k, n_items)
    np.save(truth_path, truth)
    schema = pa.schema([("item", pa.int64()), ("annotator", pa.int64()), ("label", pa.int64())])
    with pq.ParquetWriter(single, schema) as writer:
        per_chunk = CHUNK // PER_ITEM
        for part, start in enumerate(range(0, n_items, per_chunk)):
            items = np.arange(start, min(start + per_chunk, n_items))
            # 5 distinct annotators per item: offset + j * step (mod 1000) with the step prime to 1000
            base = rng.integers(0, N_ANNOTATORS, len(items))[:, None]
            step = rng.choice(STEPS, len(items))[:, None]
            who = ((base + np.arange(PER_ITEM) * step) % N_ANNOTATORS).ravel()
            item = np.repeat(items, PER_ITEM)
            right = rng.random(len(item)) < accuracy[who]
            wrong = (truth[item] + rng.integers(1, k, len(item))) % k
            label = np.where(right, truth[item], wrong)
            table = pa.table({"item": item, "annotator": who.astype(np.int64), "label": label}, schema=schema)
            writer.write_table(table)
            pq.write_table(table, parts / f"part-{part:04d}.parquet")
    return single, parts, truth_path


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak resident GB (``/usr/bin/time -v``) and standard output of a command."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return wall, (int(peak.group(1)) / 2**20 if peak else float("nan")), proc.stdout


STAGES = """
import json, sys, time
import numpy as np, pandas as pd
from accord import DawidSkene
from accord.annotations import Annotations
from accord.io import read_table
clock = [time.perf_counter()]
frame = read_table(sys.argv[1]); clock.append(time.perf_counter())
ann = Annotations.from_frame(frame); clock.append(time.perf_counter())
model = DawidSkene().fit(ann); clock.append(time.perf_counter())
model.consensus_.to_frame().to_parquet(sys.argv[2], index=False); clock.append(time.perf_counter())
truth = np.load(sys.argv[3])
labels = model.labels_
acc = float((labels.to_numpy().astype(np.int64) == truth[labels.index.to_numpy().astype(np.int64)]).mean())
names = ("read", "build", "fit", "write")
print(json.dumps({**dict(zip(names, np.diff(clock).tolist())), "n_iter": model.n_iter_, "accuracy": acc}))
"""

DASK = """
import json, resource, sys, time
import numpy as np, pandas as pd
from distributed import Client, LocalCluster
from accord import DawidSkene
from accord.engines import dask as engine
if __name__ == "__main__":
    workers, limit = int(sys.argv[4]), sys.argv[5]
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=limit,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        start = time.perf_counter()
        result = engine.fit(DawidSkene(), sys.argv[1], client=client, output=sys.argv[2])
        total = time.perf_counter() - start
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
    out = pd.concat([pd.read_parquet(p, columns=["item", "label"]) for p in result.paths])
    truth = np.load(sys.argv[3])
    items = out["item"].to_numpy().astype(np.int64)
    acc = float((out["label"].to_numpy().astype(np.int64) == truth[items]).mean())
    print(json.dumps({**result.timings, "total": total, "n_iter": result.n_iter, "accuracy": acc,
                      "partitions": result.n_partitions, "worker_peak_gb": sorted(peaks.values())}))
"""


def in_memory(single: Path, truth: Path, work: Path) -> dict[str, Any]:
    wall, peak, _ = timed(
        [PYTHON, "-m", "accord", "aggregate", str(single), "-o", str(work / "cli.parquet"), "-q"]
    )
    _, stage_peak, out = timed([PYTHON, "-c", STAGES, str(single), str(work / "stages.parquet"), str(truth)])
    return {"cli_total": wall, "cli_peak_gb": peak, **json.loads(out.strip().splitlines()[-1])}


def on_dask(parts: Path, truth: Path, work: Path, workers: int, limit: str) -> dict[str, Any]:
    shutil.rmtree(work / "dask_out", ignore_errors=True)  # this script's own output of an earlier run
    wall, peak, out = timed(
        [PYTHON, "-c", DASK, str(parts), str(work / "dask_out"), str(truth), str(workers), limit]
    )
    return {"wall": wall, **json.loads(out.strip().splitlines()[-1])}


def _accuracy(labels: Any, truth: np.ndarray) -> float:
    """Share of items (ids 0..n-1) whose label is the true class."""
    items = labels.index.to_numpy().astype(np.int64)
    return float((labels.to_numpy().astype(np.int64) == truth[items]).mean())


def crowdkit_side_by_side(single: Path, truth_path: Path) -> dict[str, Any]:
    import pandas as pd
    from crowdkit.aggregation import DawidSkene as CKDawidSkene

    from accord import DawidSkene

    frame = pd.read_parquet(single)
    truth = np.load(truth_path)
    ck_frame = frame.rename(columns={"item": "task", "annotator": "worker"})
    start = time.perf_counter()
    ck = CKDawidSkene().fit_predict(ck_frame)
    ck_time = time.perf_counter() - start
    start = time.perf_counter()
    ours = DawidSkene().fit(frame)
    our_time = time.perf_counter() - start
    return {
        "crowdkit_s": ck_time,
        "crowdkit_acc": _accuracy(ck, truth),
        "accord_s": our_time,
        "accord_acc": _accuracy(ours.labels_, truth),
        "accord_n_iter": ours.n_iter_,
    }


def posterior_gap(folder: Path) -> float:
    """Largest difference between the in-memory and the Dask posteriors (same data, same model)."""
    import pandas as pd

    memory = pd.read_parquet(folder / "stages.parquet").set_index("item")
    dask = pd.concat([pd.read_parquet(p) for p in sorted((folder / "dask_out").glob("*.parquet"))])
    dask = dask.set_index("item").loc[memory.index]
    cols = [c for c in memory.columns if c.startswith("proba_")]
    return float(np.abs(memory[cols].to_numpy() - dask[cols].to_numpy()).max())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e6, 1e7])
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "accord_scale")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--skip", nargs="*", default=[], choices=["memory", "dask", "crowdkit"])
    args = parser.parse_args()
    for size in args.sizes:
        n = int(size)
        folder = args.dir / f"n{n}_k{args.classes}"
        start = time.perf_counter()
        single, parts, truth = generate(n, args.classes, folder)
        print(
            f"\n== {n:,} annotations, K={args.classes} "
            f"(data in {folder}, {time.perf_counter() - start:.1f} s)"
        )
        if "memory" not in args.skip:
            r = in_memory(single, truth, folder)
            print(
                f"in-memory CLI end to end {r['cli_total']:.1f} s, peak {r['cli_peak_gb']:.2f} GB | stages: "
                f"read {r['read']:.1f} s, build {r['build']:.1f} s, fit {r['fit']:.1f} s ({r['n_iter']} it), "
                f"write {r['write']:.1f} s | accuracy {r['accuracy']:.4f}"
            )
        if "dask" not in args.skip:
            r = on_dask(parts, truth, folder, args.workers, args.memory_limit)
            peaks = ", ".join(f"{p:.2f}" for p in r["worker_peak_gb"])
            print(
                f"dask {args.workers} workers ({r['partitions']} partitions) end to end {r['wall']:.1f} s | "
                f"stages: "
                f"shuffle+encode {r['encode']:.1f} s, fit {r['fit']:.1f} s ({r['n_iter']} it), write "
                f"{r['output']:.1f} s | worker peaks {peaks} GB | accuracy {r['accuracy']:.4f}"
            )
        if not {"memory", "dask"} & set(args.skip):
            print(f"max |posterior(in-memory) - posterior(dask)| = {posterior_gap(folder):.2g}")
        if n <= 1_000_000 and "crowdkit" not in args.skip:
            r = crowdkit_side_by_side(single, truth)
            print(
                f"defaults at 10^6: crowd-kit DS {r['crowdkit_s']:.1f} s "
                f"(accuracy {r['crowdkit_acc']:.4f}) | accord DS {r['accord_s']:.1f} s, "
                f"{r['accord_n_iter']} it (accuracy {r['accord_acc']:.4f}) | "
                f"ratio {r['crowdkit_s'] / r['accord_s']:.1f}x"
            )


if __name__ == "__main__":
    main()
