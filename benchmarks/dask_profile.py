"""Where the Dask engine's time goes, stage by stage: read, shuffle by item, encode, EM, tables, write.

It fits ``DawidSkene()`` with ``accord.engines.dask.fit`` on a directory of Parquet parts (the data of
``benchmarks/scale.py``, generated here if missing) on the engine's own local cluster (``--workers``
processes of ``--memory-limit``), in a child process per source tree, and prints

- the engine's phases in wall seconds (``DaskFit.timings``: what the client waited for);
- the workers' compute seconds per stage, from Dask's task stream (every task's key prefix mapped to a
  stage: reading the files, the shuffle's transfer / barrier / unpack tasks, encoding, the E-steps and their
  reduction, the per-annotator sums and the gold matches, writing), summed over the workers, and the
  largest task prefixes;
- the iterations, the workers' peak resident memory, whether a worker was restarted, and the largest
  posterior difference between the trees (and against the in-memory fit with ``--check``).

With ``--old REV`` the source tree of git revision ``REV`` (its ``src`` extracted into a temporary folder)
runs first, so both trees are measured in the same run; figures are then also given as ratios old / new.

Usage::

    .venv/bin/python benchmarks/dask_profile.py --size 1e7 --old 6ba3fe1 --check --shuffle default tasks
    flock /tmp/accord-heavy.lock .venv/bin/python benchmarks/dask_profile.py --size 1e8 --memory-limit 4GB
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# The stage of a task, from its key prefix (``dask.utils.key_split``, which drops a leading underscore): the
# first entry whose word appears in the prefix wins; anything else is "other".
STAGE_WORDS = [
    ("write", ("write",)),
    ("tables", ("tally", "merge_tallies", "sizes", "frame", "gold_match", "with_known")),
    ("em", ("begin", "advance", "merge", "em_")),
    ("encode", ("encode", "vocabulary", "globalize", "class_votes", "sum_arrays")),
    ("shuffle", ("shuffle", "p2p", "split", "rearrange", "partition", "hash", "bucket")),
    ("read", ("read", "parquet", "ones", "cumsum", "origin", "getitem", "concat")),
]
STAGE_ORDER = ("read", "shuffle", "encode", "em", "tables", "write", "other")

CHILD = r"""
import collections, json, resource, sys, time, warnings
from dask.utils import key_split
from distributed import get_task_stream
from accord import DawidSkene
from accord.engines import dask as engine

def peak_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

if __name__ == "__main__":
    source, output, workers, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    method = None if sys.argv[5] == "default" else sys.argv[5]
    client, cluster = engine.local_client(n_workers=workers, memory_limit=limit)
    with cluster, client:
        client.run(lambda: __import__("accord.engines.dask"))  # imports are not the engine's stages
        before = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
        start = time.perf_counter()
        with get_task_stream(client) as stream, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = engine.fit(DawidSkene(), source, client=client, output=output, shuffle_method=method)
        total = time.perf_counter() - start
        after = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
        peaks = sorted(client.run(peak_gb).values())
    tasks, moved, spilled = collections.defaultdict(float), 0.0, 0.0
    for task in stream.data:
        for s in task["startstops"]:
            if s["action"] == "compute":
                tasks[key_split(task["key"])] += s["stop"] - s["start"]
            elif s["action"] == "transfer":
                moved += s["stop"] - s["start"]
            elif s["action"].startswith("disk"):
                spilled += s["stop"] - s["start"]
    print(json.dumps({"timings": result.timings, "total": total, "n_iter": result.n_iter,
                      "partitions": result.n_partitions, "tasks": tasks, "transfer_s": moved,
                      "spill_s": spilled, "worker_peak_gb": peaks, "restarted": before != after}))
"""


def stage_of(prefix: str) -> str:
    """The stage a task key prefix belongs to (see :data:`STAGE_WORDS`)."""
    for stage, words in STAGE_WORDS:
        if any(w in prefix for w in words):
            return stage
    return "other"


def old_tree(rev: str, folder: Path) -> Path:
    """The ``src`` folder of git revision ``rev``, extracted into ``folder``."""
    data = subprocess.run(["git", "-C", str(REPO), "archive", rev, "src"], capture_output=True, check=True)
    with tarfile.open(fileobj=BytesIO(data.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "src"


def run_tree(src: Path, parts: Path, output: Path, workers: int, limit: str, shuffle: str) -> dict[str, Any]:
    """One fit in a child process with ``src`` first on the path (``shuffle``: the engine's
    ``shuffle_method``, or "default"); its figures."""
    shutil.rmtree(output, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [PYTHON, "-c", CHILD, str(parts), str(output), str(workers), limit, shuffle]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"the fit with {src} failed:\n{proc.stderr[-4000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    stages = dict.fromkeys(STAGE_ORDER, 0.0)
    for prefix, seconds in out["tasks"].items():
        stages[stage_of(prefix)] += seconds
    return {
        **out,
        "stages": stages,
        "process_wall": wall,
        "load": Path("/proc/loadavg").read_text().split()[0],
    }


def posterior_gap(a: Path, b: Path) -> float:
    """Largest posterior difference between two folders of per-partition outputs (items matched by id)."""
    import numpy as np
    import pandas as pd

    first, second = (pd.concat([pd.read_parquet(p) for p in sorted(f.glob("*.parquet"))]) for f in (a, b))
    first, second = (f.set_index(f["item"].astype(str)) for f in (first, second))
    second = second.loc[first.index]
    cols = [c for c in first.columns if c.startswith("proba_")]
    return float(np.abs(first[cols].to_numpy() - second[cols].to_numpy()).max())


def in_memory_gap(single: Path, folder: Path) -> float:
    """Largest posterior difference between the in-memory fit of ``single`` and the Dask outputs."""
    import numpy as np
    import pandas as pd

    from accord import DawidSkene
    from accord.io import read_annotations

    proba = DawidSkene().fit(read_annotations(single)).consensus_.proba
    dask = pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))]).set_index("item")
    dask = dask.loc[proba.index.astype(str)] if dask.index.dtype == object else dask.loc[proba.index]
    got = dask[[f"proba_{c}" for c in proba.columns]].to_numpy()
    return float(np.abs(got - proba.to_numpy()).max())


def print_run(name: str, r: dict[str, Any], base: dict[str, Any] | None) -> None:
    phases = ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items())
    print(
        f"\n{name}: fit() {r['total']:.1f} s wall ({r['n_iter']} iterations, {r['partitions']} partitions) | "
        f"phases (wall s): {phases} | worker peaks {', '.join(f'{p:.2f}' for p in r['worker_peak_gb'])} GB"
        f"{', a worker was RESTARTED' if r['restarted'] else ''} | load {r['load']}"
    )
    total = sum(r["stages"].values())
    print("| stage | compute s (all workers) | share |" + (" old / new |" if base else ""))
    print("|---|---|---|" + ("---|" if base else ""))
    for stage in STAGE_ORDER:
        v = r["stages"][stage]
        ratio = f" {base['stages'][stage] / v:.2f}x |" if base and v > 0 else (" |" if base else "")
        print(f"| {stage} | {v:.2f} | {v / max(total, 1e-12):.0%} |" + ratio)
    print(
        f"transfers between workers (outside the shuffle's own): {r.get('transfer_s', 0.0):.2f} s; spilling "
        f"to and from disk (a worker past its memory target): {r.get('spill_s', 0.0):.2f} s"
    )
    t, workers, n_iter = r["timings"], max(len(r["worker_peak_gb"]), 1), max(r["n_iter"], 1)
    if "fit.begin" in t:  # the EM wall split: its first step, then per iteration against the compute in it
        steps = sum(v for k, v in r["tasks"].items() if k in ("advance", "merge")) / n_iter / workers
        print(
            f"EM: first step {t['fit.begin']:.2f} s wall ({r['tasks'].get('begin', 0.0) / workers:.2f} s "
            f"compute per worker); per iteration {t['fit.per_iteration']:.3f} s wall against {steps:.3f} s "
            "of E-step and merge compute per worker"
        )
    top = sorted(r["tasks"].items(), key=lambda kv: -kv[1])[:12]
    print("largest task prefixes: " + ", ".join(f"{k} {v:.2f} s ({stage_of(k)})" for k, v in top))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=float, default=1e7, help="annotations (default 1e7)")
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "accord_scale")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--old", default="none", help="git revision to measure first, or 'none'")
    parser.add_argument("--check", action="store_true", help="also compare with the in-memory fit")
    parser.add_argument("--src", type=Path, default=REPO / "src", help="the source tree measured as 'new'")
    parser.add_argument(
        "--shuffle",
        nargs="+",
        default=["default"],
        choices=["default", "p2p", "tasks"],
        help="the shuffle methods to run the new tree with (the old tree runs the first)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scale import generate  # the scale benchmark's data, shared with it

    n = int(args.size)
    folder = args.dir / f"n{n}_k{args.classes}"
    paths = generate(n, args.classes, folder, csv=False)
    print(
        f"{n:,} annotations, K={args.classes}, {args.workers} workers x {args.memory_limit}: {paths['parts']}"
    )
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"old": old_tree(args.old, Path(tmp) / "old")} if args.old != "none" else {}
        jobs = [(name, src, args.shuffle[0]) for name, src in trees.items() if name == "old"]
        jobs += [("new" if i == 0 else f"new-{m}", args.src, m) for i, m in enumerate(args.shuffle)]
        for name, src, method in jobs:
            out = folder / f"profile_{name}"
            runs[name] = run_tree(src, paths["parts"], out, args.workers, args.memory_limit, method)
            label = f"{name} ({args.old if name == 'old' else 'working tree'}, shuffle {method})"
            print_run(label, runs[name], runs.get("old"))
    if "old" in runs:
        old, new = runs["old"], runs["new"]
        gap = posterior_gap(folder / "profile_old", folder / "profile_new")
        print(f"\nfit() old / new: {old['total'] / new['total']:.2f}x; max |posterior old - new| = {gap:.2g}")
    if args.check:
        print(
            f"max |posterior in-memory - new| = {in_memory_gap(paths['parquet'], folder / 'profile_new'):.2g}"
        )


if __name__ == "__main__":
    main()
