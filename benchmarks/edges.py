"""What a user waits for before the fit: reading an annotation file and building ``Annotations``.

Generates ``--n`` annotations (1000 annotators, 5 distinct annotators per item, K=2; rows grouped by item) in
two variants -- integer ids and labels (``item=0..``, ``annotator=0..999``, ``label=0/1``) and string ids and
labels (``item123``, ``w45``, ``pos``/``neg``) -- as CSV and as Parquet under ``--dir``, then times, each in a
fresh process, ``--repeat`` times in turn (the fastest run of each is kept, since this machine is shared):

- **before**: ``read_annotations`` of the baseline commit (``--baseline``, extracted with ``git archive``),
  the path the CLI takes;
- **after**: today's ``read_annotations`` (pyarrow parses the item, annotator and label columns as text; a
  column of plainly written integers is encoded through its values, any other by one dictionary encoding of
  the whole column, the columns on threads; then ``Annotations.from_codes``);
- **pandas** (``--pandas``): today's pandas reader and ``from_frame`` (the path taken without pyarrow, or
  for what the pyarrow reader hands back).

It prints seconds (wall and CPU of the process), the peak resident memory, ratios against *before* measured
in the same run, and whether every path built the same Annotations (codes, ids, classes and their dtypes).

``--peak`` instead runs only the pyarrow path on integer-id Parquet under ``/usr/bin/time -v`` (e.g. ``--n
1e8 --peak`` for the memory budget of a 10^8 run).

Usage::

    .venv/bin/python benchmarks/edges.py [--n 1e7] [--dir /tmp/accord_edges] [--baseline cab89ff] [--repeat 3]
    .venv/bin/python benchmarks/edges.py --n 1e8 --peak
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N_ANNOTATORS = 1000
PER_ITEM = 5
CHUNK_ITEMS = 1_000_000  # items generated (and written) at a time
STEPS = np.array([s for s in range(1, N_ANNOTATORS) if np.gcd(s, N_ANNOTATORS) == 1])

CHILD = r"""
import hashlib, json, resource, sys, time
from pathlib import Path
from typing import Any
import numpy as np, pandas as pd
path, fmt, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
from accord.annotations import Annotations
import pyarrow.compute, pyarrow.csv, pyarrow.parquet  # imported before the clock starts, by every path
clock, cpu = [time.perf_counter()], [time.process_time()]
if mode == "pyarrow":  # what the CLI calls; pyarrow encodes the columns when the build asks for them
    from accord.io.tables import read_annotations
    clock.append(time.perf_counter()); cpu.append(time.process_time())
    ann = read_annotations(path)
else:
    from accord.io.tables import read_table
    frame = read_table(path)
    clock.append(time.perf_counter()); cpu.append(time.process_time())
    ann = Annotations.from_frame(frame)
clock.append(time.perf_counter()); cpu.append(time.process_time())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # read + build, before the checks below
digest = hashlib.sha1()
for codes in (ann.item, ann.annotator, ann.label):
    digest.update(np.ascontiguousarray(codes, dtype=np.int64).tobytes())
for index in (ann.items, ann.annotators, ann.classes):
    digest.update(f"{index.name}|{len(index)}".encode())
    hashed = pd.util.hash_pandas_object(pd.Series(index, dtype=object), index=False)
    digest.update(hashed.to_numpy().tobytes())
dtypes = [str(index.dtype) for index in (ann.items, ann.annotators, ann.classes)]
print(json.dumps({"read": clock[1] - clock[0], "build": clock[2] - clock[1], "peak_gb": peak,
                  "cpu_read": cpu[1] - cpu[0], "cpu_build": cpu[2] - cpu[1],
                  "digest": digest.hexdigest(), "dtypes": dtypes, "shape": repr(ann)}))
"""


def generate(n: int, folder: Path, variants: list[str], formats: list[str], seed: int = 0) -> dict:
    """Write the files (once: existing ones are reused); returns {(variant, format): path}."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = {(v, f): folder / f"{v}_{n}.{f}" for v in variants for f in formats}
    if all(p.exists() for p in paths.values()):
        return paths
    rng = np.random.default_rng(seed)
    n_items = n // PER_ITEM
    accuracy = rng.uniform(0.55, 0.95, N_ANNOTATORS)
    writers: dict = {}
    try:
        for start in range(0, n_items, CHUNK_ITEMS):
            items = np.arange(start, min(start + CHUNK_ITEMS, n_items))
            truth = rng.integers(0, 2, len(items))
            base = rng.integers(0, N_ANNOTATORS, len(items))[:, None]
            step = rng.choice(STEPS, len(items))[:, None]
            who = ((base + np.arange(PER_ITEM) * step) % N_ANNOTATORS).ravel()
            item = np.repeat(items, PER_ITEM)
            right = rng.random(len(item)) < accuracy[who]
            label = np.where(right, np.repeat(truth, PER_ITEM), 1 - np.repeat(truth, PER_ITEM))
            ints = pa.table({"item": item, "annotator": who.astype(np.int64), "label": label})
            for (variant, fmt), path in paths.items():
                table = ints if variant == "int" else _as_strings(ints, pa, pc)
                if (variant, fmt) not in writers:
                    writers[variant, fmt] = (
                        pq.ParquetWriter(_part(path), table.schema)
                        if fmt == "parquet"
                        else pacsv.CSVWriter(_part(path), table.schema, write_options=_csv_options(pacsv))
                    )
                writers[variant, fmt].write_table(table)
    finally:
        for writer in writers.values():
            writer.close()
    for path in paths.values():  # complete files only get their names
        _part(path).replace(path)
    return paths


def _part(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _as_strings(table: Any, pa: Any, pc: Any) -> Any:
    def prefixed(prefix: str, column: Any) -> Any:
        return pc.binary_join_element_wise(prefix, pc.cast(column, pa.string()), "")

    return pa.table(
        {
            "item": prefixed("item", table["item"]),
            "annotator": prefixed("w", table["annotator"]),
            "label": pc.if_else(pc.equal(table["label"], 1), "pos", "neg"),
        }
    )


def _csv_options(pacsv: Any) -> Any:
    return pacsv.WriteOptions(quoting_style="none")  # plain fields, as pandas and spreadsheets write them


def baseline(rev: str, folder: Path) -> Path:
    """The ``src`` tree of commit ``rev``, extracted under ``folder``."""
    target = folder / f"baseline_{rev}"
    if not (target / "src" / "accord").exists():
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as fh:
            subprocess.run(["git", "archive", rev, "src"], cwd=ROOT, stdout=fh, check=True)
            fh.seek(0)
            with tarfile.open(fileobj=fh) as tar:
                tar.extractall(target, filter="data")
    return target / "src"


def run_child(path: Path, fmt: str, mode: str, src: Path) -> dict:
    env = {"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), fmt, mode], capture_output=True, text=True, env=env, cwd="/"
    )
    if proc.returncode:
        raise RuntimeError(f"{mode} on {path} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peak(path: Path) -> None:
    """The pyarrow path on one file under /usr/bin/time -v: wall seconds and peak resident memory."""
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    cmd = ["/usr/bin/time", "-v", sys.executable, "-c", CHILD, str(path), "parquet", "pyarrow"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd="/")
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    whole = int(rss.group(1)) / 2**20 if rss else float("nan")
    print(f"{path.name}: {stats['shape']}")
    print(
        f"read {stats['read']:.1f} s, build {stats['build']:.1f} s (CPU {stats['cpu_read']:.1f} + "
        f"{stats['cpu_build']:.1f} s); peak resident memory of read + build {stats['peak_gb']:.2f} GB "
        f"(of the whole process, with this benchmark's own checks after the build: {whole:.2f} GB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=float, default=1e7, help="annotations (default 1e7)")
    parser.add_argument("--dir", default="/tmp/accord_edges", help="where the files go")
    parser.add_argument("--baseline", default="cab89ff", help="commit whose read_annotations is 'before'")
    parser.add_argument("--variants", default="int,str")
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each path, in turn; the fastest kept")
    parser.add_argument("--pandas", action="store_true", help="also today's pandas reader and from_frame")
    parser.add_argument(
        "--peak", action="store_true", help="only the pyarrow path on int Parquet, peak memory"
    )
    args = parser.parse_args()
    n, folder = int(args.n), Path(args.dir)
    if args.peak:
        paths = generate(n, folder, ["int"], ["parquet"])
        peak(paths["int", "parquet"])
        return
    paths = generate(n, folder, args.variants.split(","), args.formats.split(","))
    before_src = baseline(args.baseline, folder)
    print(
        f"{n:.0e} annotations, {N_ANNOTATORS} annotators, {PER_ITEM} per item, K=2; before = "
        f"{args.baseline}; fastest of {args.repeat} runs each, in turn; load {_load()}"
    )
    print("wall seconds, then CPU seconds of the process (every thread; robust to a loaded machine)")
    header = f"{'file':<14}{'path':<9}{'read':>7}{'build':>7}{'total':>7}{'cpu':>7}{'peak GB':>9}"
    print(
        header + f"{'read x':>8}{'build x':>8}{'total x':>8}{'cpu x':>7}  same as before / dtypes as pandas"
    )
    for (variant, fmt), path in paths.items():
        runs: dict[str, list[dict]] = {"before": [], "after": [], "pandas": []}
        for _ in range(max(1, args.repeat)):
            runs["before"].append(run_child(path, fmt, "pyarrow", before_src))
            runs["after"].append(run_child(path, fmt, "pyarrow", ROOT / "src"))
        if args.pandas:
            runs["pandas"].append(run_child(path, fmt, "pandas", ROOT / "src"))
        results = {mode: _fastest(r) for mode, r in runs.items() if r}
        base = results["before"]
        for mode, r in results.items():
            print(_row(variant + " " + fmt, mode, r, base, results.get("pandas", base)))


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def _fastest(runs: list[dict]) -> dict:
    """The run with the least wall time (CPU seconds and memory are of that run too)."""
    return min(runs, key=lambda r: r["read"] + r["build"])


def _row(name: str, mode: str, r: dict, base: dict, pandas: dict) -> str:
    total, cpu = r["read"] + r["build"], r["cpu_read"] + r["cpu_build"]
    text = (
        f"{name:<14}{mode:<9}{r['read']:>7.2f}{r['build']:>7.2f}{total:>7.2f}{cpu:>7.2f}{r['peak_gb']:>9.2f}"
    )
    if mode == "before":
        return text
    base_total, base_cpu = base["read"] + base["build"], base["cpu_read"] + base["cpu_build"]
    text += f"{base['read'] / r['read']:>8.1f}{base['build'] / r['build']:>8.1f}{base_total / total:>8.1f}"
    text += f"{base_cpu / cpu:>7.1f}  "
    return text + "/".join(
        "yes" if ok else "NO" for ok in (r["digest"] == base["digest"], r["dtypes"] == pandas["dtypes"])
    )


if __name__ == "__main__":
    main()
