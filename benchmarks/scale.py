"""Scale benchmark: synthetic Dawid-Skene annotations on disk, fitted end to end through the CLI.

For each size (``--sizes 1e6 1e7 1e8``) it

1. generates the annotations in chunks (1000 annotators, 5 labels per item, K classes, annotator accuracy
   0.55-0.95, errors spread over the other classes) into one Parquet file, a directory of Parquet parts
   and, up to ``--csv-up-to`` annotations, one CSV file;
2. in memory: ``accord aggregate FILE --method ds -o out.{csv,parquet}`` under ``/usr/bin/time`` (end to end
   and peak memory) for CSV -> CSV and Parquet -> Parquet, and the same stages one by one in a child process
   (the imports the CLI makes, read + build ``Annotations``, fit, tables, write, and the rest of the end to
   end time: interpreter start and exit), each with its ratio to the fit; from 10^7 annotations the reader
   loads the compiled kernels on a second thread once the annotations are built, so the fit's own time no
   longer holds that load (about 0.7 s in a fresh process) unless the fit catches up with the thread;
3. on Dask: ``accord.engines.dask.fit`` on the directory of parts with the local cluster the CLI starts
   (``--workers`` processes of ``--memory-limit`` each; Dask stops a worker that passes 95% of it), one
   Parquet file per partition out; each worker's peak resident memory and whether any worker was restarted;
4. at 10^6, the largest posterior difference between the two engines, and crowd-kit's ``DawidSkene`` with
   its default settings beside accord's (time and accuracy).

Every line carries the machine's load average (``/proc/loadavg``), since this machine is shared.

Usage::

    .venv/bin/python benchmarks/scale.py --sizes 1e6 1e7 [--classes 2] [--dir /tmp/accord_scale]
    .venv/bin/python benchmarks/scale.py --sizes 1e8 --skip csv crowdkit      # ~1 GB of Parquet per copy
    .venv/bin/python benchmarks/scale.py --sizes 1e7 --skip parquet dask crowdkit --float-digits 6
    .venv/bin/python benchmarks/scale.py --sizes 1e7 --skip parquet dask crowdkit --old 80b339e --repeat 3

``--old REV`` runs every in-memory line for the source of commit ``REV`` too (``git archive REV src``,
first on ``PYTHONPATH``), interleaved with today's (old, new, old, new, ... ``--repeat`` times), and prints
each stage's ratio old / new over the fastest run of each (this machine is shared: the fastest is the least
disturbed).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
N_ANNOTATORS = 1000
PER_ITEM = 5
STEPS = np.array([s for s in range(1, N_ANNOTATORS) if np.gcd(s, N_ANNOTATORS) == 1])
CHUNK = 5_000_000  # annotations generated (and written as one Parquet part) at a time


def load() -> str:
    """The 1-minute load average, to print beside a timing."""
    return Path("/proc/loadavg").read_text().split()[0]


def generate(n: int, k: int, folder: Path, csv: bool, seed: int = 0) -> dict[str, Path]:
    """Write ``n`` annotations as one Parquet file, a directory of parts, the true labels and (``csv``) one
    CSV file; files already there are reused."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "parquet": folder / "annotations.parquet",
        "parts": folder / "parts",
        "truth": folder / "truth.npy",
        "csv": folder / "annotations.csv",
    }
    if not (paths["parquet"].exists() and paths["parts"].exists() and paths["truth"].exists()):
        paths["parts"].mkdir(exist_ok=True)
        rng = np.random.default_rng(seed)
        n_items = n // PER_ITEM
        accuracy = rng.uniform(0.55, 0.95, N_ANNOTATORS)
        truth = rng.integers(0, k, n_items)
        np.save(paths["truth"], truth)
        schema = pa.schema([("item", pa.int64()), ("annotator", pa.int64()), ("label", pa.int64())])
        with pq.ParquetWriter(paths["parquet"], schema) as writer:
            per_chunk = CHUNK // PER_ITEM
            for part, start in enumerate(range(0, n_items, per_chunk)):
                items = np.arange(start, min(start + per_chunk, n_items))
                # 5 distinct annotators per item: offset + j * step (mod 1000), the step prime to 1000
                base = rng.integers(0, N_ANNOTATORS, len(items))[:, None]
                step = rng.choice(STEPS, len(items))[:, None]
                who = ((base + np.arange(PER_ITEM) * step) % N_ANNOTATORS).ravel()
                item = np.repeat(items, PER_ITEM)
                right = rng.random(len(item)) < accuracy[who]
                wrong = (truth[item] + rng.integers(1, k, len(item))) % k
                label = np.where(right, truth[item], wrong)
                table = pa.table(
                    {"item": item, "annotator": who.astype(np.int64), "label": label}, schema=schema
                )
                writer.write_table(table)
                pq.write_table(table, paths["parts"] / f"part-{part:04d}.parquet")
    if csv and not paths["csv"].exists():
        pacsv.write_csv(pq.read_table(paths["parquet"]), paths["csv"])
    return paths


CPU_SECONDS: dict[str, float] = {}  # command -> user + system CPU seconds of its last run


SOURCE: dict[str, str] = {}  # PYTHONPATH of the accord under test ({} = this checkout's)


def old_source(rev: str, folder: Path) -> Path:
    """The ``src`` folder of commit ``rev`` (``git archive``), extracted under ``folder`` once."""
    out = folder / f"src_{rev}"
    if not (out / "src" / "accord").exists():
        archive = subprocess.run(
            ["git", "archive", "--format=tar", rev, "src"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        out.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(out, filter="data")
    return out / "src"


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak resident GB (``/usr/bin/time -v``) and standard output of a command; its CPU
    seconds (user + system, all its processes) go to :data:`CPU_SECONDS` (robust on a loaded machine)."""
    env = {**os.environ, **SOURCE}
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    cpu = [float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([0-9.]+)", proc.stderr)]
    CPU_SECONDS[" ".join(cmd)] = sum(cpu)
    return wall, (int(peak.group(1)) / 2**20 if peak else float("nan")), proc.stdout


# The command's own steps, one at a time: read + build (read_annotations, what the CLI calls), the fit, the
# per-item table, and writing it with the CLI's writer.
STAGES = """
import json, sys, time
clock, cpu = [time.perf_counter()], [time.process_time()]
def tick():
    clock.append(time.perf_counter()); cpu.append(time.process_time())
import numpy as np
from accord import DawidSkene
from accord.cli._common import write_table
from accord.io import read_annotations
tick()
ann = read_annotations(sys.argv[1]); tick()
model = DawidSkene().fit(ann); tick()
table = model.consensus_.to_frame(); tick()
write_table(table, sys.argv[2], float_digits=None if sys.argv[4] == "-" else int(sys.argv[4])); tick()
truth = np.load(sys.argv[3])
labels = model.labels_
acc = float((labels.to_numpy().astype(np.int64) == truth[labels.index.to_numpy().astype(np.int64)]).mean())
names = ("imports", "read_build", "fit", "tables", "write")
cpus = {n + "_cpu": v for n, v in zip(names, np.diff(cpu).tolist())}
walls = dict(zip(names, np.diff(clock).tolist()))
print(json.dumps({**walls, **cpus, "n_iter": model.n_iter_, "accuracy": acc}))
"""

DASK = """
import json, resource, sys, time
import numpy as np, pandas as pd
from accord import DawidSkene
from accord.engines import dask as engine

def peak_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

if __name__ == "__main__":
    workers, limit, npartitions = int(sys.argv[4]), sys.argv[5], int(sys.argv[6]) or None
    client, cluster = engine.local_client(n_workers=workers, memory_limit=limit)  # the CLI's own cluster
    with cluster, client:
        before = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
        start = time.perf_counter()
        result = engine.fit(DawidSkene(), sys.argv[1], client=client, output=sys.argv[2],
                            npartitions=npartitions)
        total = time.perf_counter() - start
        after = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
        peaks = client.run(peak_gb)
        client_peak = peak_gb()  # before this script reads the outputs back to score them
    out = pd.concat([pd.read_parquet(p, columns=["item", "label"]) for p in result.paths])
    truth = np.load(sys.argv[3])
    items = out["item"].to_numpy().astype(np.int64)
    acc = float((out["label"].to_numpy().astype(np.int64) == truth[items]).mean())
    print(json.dumps({**result.timings, "total": total, "n_iter": result.n_iter, "accuracy": acc,
                      "partitions": result.n_partitions, "worker_peak_gb": sorted(peaks.values()),
                      "restarted": before != after, "n_out": len(out), "client_peak_gb": client_peak}))
"""


def in_memory(
    source: Path, suffix: str, truth: Path, work: Path, stages: bool, digits: int | None = None
) -> dict[str, Any]:
    """The CLI end to end on ``source`` (``-o out<suffix>``, ``--float-digits`` when ``digits`` is given),
    and its stages one by one in a child."""
    out = work / f"cli{suffix}"
    cmd = [PYTHON, "-m", "accord", "aggregate", str(source), "-m", "ds", "-o", str(out), "-q"]
    if digits is not None:
        cmd += ["--float-digits", str(digits)]
    wall, peak, _ = timed(cmd)
    result: dict[str, Any] = {"cli_total": wall, "cli_cpu": CPU_SECONDS[" ".join(cmd)], "cli_peak_gb": peak}
    result["load"] = load()
    if stages:
        _, stage_peak, printed = timed(
            [
                PYTHON,
                "-c",
                STAGES,
                str(source),
                str(work / f"stages{suffix}"),
                str(truth),
                "-" if digits is None else str(digits),
            ]
        )
        result.update(json.loads(printed.strip().splitlines()[-1]), stages_peak_gb=stage_peak)
    return result


def print_memory(label: str, r: dict[str, Any]) -> None:
    line = (
        f"in-memory {label}: CLI end to end {r['cli_total']:.1f} s ({r['cli_cpu']:.1f} CPU s), peak "
        f"{r['cli_peak_gb']:.2f} GB"
    )
    if "fit" in r:
        fit = r["fit"]
        stages = {k: r[k] for k in STAGE_NAMES}
        ratios = ", ".join(
            f"{k} {v:.2f} s / {r[k + '_cpu']:.2f} CPU s ({v / fit:.2f}x fit)" for k, v in stages.items()
        )
        rest = r["cli_total"] - sum(stages.values())  # interpreter start and exit, the CLI's own work
        ratios += f", rest {rest:.2f} s ({rest / fit:.2f}x fit)"
        worst = max((v for k, v in stages.items() if k != "fit"), default=0.0)
        line += (
            f" | stages: {ratios}; {r['n_iter']} it | end to end {r['cli_total'] / fit:.2f}x the fit "
            f"({r['cli_cpu'] / r['fit_cpu']:.2f}x in CPU s), largest other stage {worst / fit:.2f}x | "
            f"accuracy {r['accuracy']:.4f}"
        )
    print(line + f" | load {r['load']}", flush=True)


STAGE_NAMES = ("imports", "read_build", "fit", "tables", "write")


def fastest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the shortest end to end time."""
    return min(runs, key=lambda r: r["cli_total"])


def compare(label: str, run: Any, old: Path | None, repeat: int) -> None:
    """``run()`` ``repeat`` times (with ``old``: the old source first each time, then this checkout's) and
    the fastest of each printed, then the old / new ratio of each stage and of the end to end time."""
    mine: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    for _ in range(repeat):
        if old is not None:
            SOURCE["PYTHONPATH"] = str(old)
            theirs.append(run())
            SOURCE.clear()
        mine.append(run())
    if old is None:
        print_memory(label, fastest(mine))
        return
    before, after = fastest(theirs), fastest(mine)
    print_memory(f"{label} [{old.parent.name[4:]}]", before)
    print_memory(f"{label} [this checkout]", after)
    keys = ["cli_total", *(k for k in STAGE_NAMES if k in after and k in before)]
    ratios = ", ".join(f"{k} {before[k]:.2f} -> {after[k]:.2f} s ({before[k] / after[k]:.2f}x)" for k in keys)
    print(f"  old / new, fastest of {repeat}: {ratios}", flush=True)


def on_dask(
    parts: Path, truth: Path, work: Path, workers: int, limit: str, npartitions: int
) -> dict[str, Any]:
    shutil.rmtree(work / "dask_out", ignore_errors=True)  # this script's own output of an earlier run
    args = [str(parts), str(work / "dask_out"), str(truth), str(workers), limit, str(npartitions)]
    cmd = [PYTHON, "-c", DASK, *args]
    wall, _, out = timed(cmd)
    cpu = CPU_SECONDS[" ".join(cmd)]  # the client and its worker processes
    return {"wall": wall, "cpu": cpu, "load": load(), **json.loads(out.strip().splitlines()[-1])}


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
        "accord_n_iter": getattr(ours, "n_iter_", None),
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
    parser.add_argument("--npartitions", type=int, default=0, help="Dask partitions (default: the engine's)")
    parser.add_argument("--csv-up-to", type=float, default=1e7, help="largest size also run CSV -> CSV")
    parser.add_argument("--no-stages", action="store_true", help="skip the stage-by-stage child run")
    parser.add_argument("--skip", nargs="*", default=[], choices=["csv", "parquet", "dask", "crowdkit"])
    parser.add_argument(
        "--float-digits",
        type=int,
        nargs="*",
        default=[],
        help="CSV -> CSV again with --float-digits N for each N given (e.g. --float-digits 6)",
    )
    parser.add_argument(
        "--old", default=None, metavar="REV", help="also run the in-memory lines with commit REV's src"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each in-memory line (fastest kept)")
    args = parser.parse_args()
    for size in args.sizes:
        n = int(size)
        folder = args.dir / f"n{n}_k{args.classes}"
        csv = n <= args.csv_up_to and "csv" not in args.skip
        start = time.perf_counter()
        paths = generate(n, args.classes, folder, csv)
        took = time.perf_counter() - start
        print(f"\n== {n:,} annotations, K={args.classes} (data in {folder}, {took:.1f} s)")
        old = None if args.old is None else old_source(args.old, args.dir)
        stages = not args.no_stages
        if csv:
            compare(
                "CSV -> CSV",
                partial(in_memory, paths["csv"], ".csv", paths["truth"], folder, stages),
                old,
                args.repeat,
            )
            for digits in args.float_digits:
                compare(
                    f"CSV -> CSV --float-digits {digits}",
                    partial(in_memory, paths["csv"], ".csv", paths["truth"], folder, stages, digits),
                    old,
                    args.repeat,
                )
        if "parquet" not in args.skip:
            compare(
                "Parquet -> Parquet",
                partial(in_memory, paths["parquet"], ".parquet", paths["truth"], folder, stages),
                old,
                args.repeat,
            )
        if "dask" not in args.skip:
            r = on_dask(
                paths["parts"], paths["truth"], folder, args.workers, args.memory_limit, args.npartitions
            )
            peaks = ", ".join(f"{p:.2f}" for p in r["worker_peak_gb"])
            restarted = "a worker was RESTARTED" if r["restarted"] else "no worker restarted"
            print(
                f"dask {args.workers} workers x {args.memory_limit} ({r['partitions']} partitions): end to "
                f"end {r['wall']:.1f} s ({r['cpu']:.1f} CPU s) | shuffle+encode {r['encode']:.1f} s, fit "
                f"{r['fit']:.1f} s ({r['n_iter']} it), outputs {r['output']:.1f} s | worker peaks {peaks} "
                f"GB, client {r['client_peak_gb']:.2f} GB, {restarted} | {r['n_out']:,} items written, "
                f"accuracy {r['accuracy']:.4f} | load {r['load']}",
                flush=True,
            )
        if "dask" not in args.skip and "parquet" not in args.skip and not args.no_stages:
            print(f"max |posterior(in-memory) - posterior(dask)| = {posterior_gap(folder):.2g}")
        if n <= 1_000_000 and "crowdkit" not in args.skip:
            r = crowdkit_side_by_side(paths["parquet"], paths["truth"])
            print(
                f"defaults at 10^6: crowd-kit DS {r['crowdkit_s']:.1f} s "
                f"(accuracy {r['crowdkit_acc']:.4f}) | accord DS {r['accord_s']:.1f} s, "
                f"{r['accord_n_iter']} it (accuracy {r['accord_acc']:.4f}) | "
                f"ratio {r['crowdkit_s'] / r['accord_s']:.1f}x | load {load()}"
            )


if __name__ == "__main__":
    main()
