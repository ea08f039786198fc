"""The compiled Dawid-Skene kernel alone, this tree against older versions of it, in one run.

Usage:
    python benchmarks/kernel_micro.py [--size 1e7] [--classes 2,5] [--threads 1,2] [--iters 12]
                                      [--repeat 3] [--old REV ...] [--files fused.py,compiled.py]

Each ``--old REV`` is the current tree with the kernel's files (``--files``, under ``src/accord/_kernel``)
taken from git revision ``REV``, so the comparison isolates the kernel from everything else that changed
(the driver, the models). Data: ``benchmarks/kernel.py``'s generator (1000 annotators, 5 labels per item,
seed 0). One subprocess per (tree, K, round) builds the data, loads the kernels and runs ``run_em`` on
``FullSteps`` (``tol = 0``, no history) for ``--iters`` iterations per thread count; the trees alternate
``--repeat`` rounds and each cell keeps the fastest iteration over all rounds (the machine is shared: the
fastest iteration is the one least disturbed by other work). Printed: ns per annotation-iteration, the
median iteration beside it, and each older tree's time over this tree's.
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
import textwrap
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kernel import DATA  # noqa: E402  (the generator behind the published loop figures)

WORKER = DATA + textwrap.dedent("""
    import json, os, sys, time, warnings
    import pandas as pd
    n, k, iters = int(float(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
    threads = [int(t) for t in sys.argv[4].split(",")]
    item, annotator, label, truth = synthetic(n, k)
    warnings.simplefilter("ignore")
    from accord import Annotations
    from accord._kernel import compiled
    from accord._kernel.driver import run_em
    from accord._kernel.em import AnnotationMatrix, initial_posterior
    from accord.models.dawid_skene import FullSteps, Smoothing
    ann = Annotations.from_frame(
        pd.DataFrame({"item": item, "annotator": annotator, "label": label}), duplicates="keep_all"
    )
    compiled.MIN_ANNOTATIONS = 0
    os.environ["ACCORD_COMPILE_MIN"] = "0"
    os.environ["ACCORD_NO_COMPILE"] = "0"
    if not compiled.enabled():
        print(json.dumps({"error": "numba not usable"}))
        sys.exit(0)
    start = initial_posterior(ann, "mv", None, "lowest", np.random.default_rng(0))
    out = {}
    for t in threads:
        os.environ["ACCORD_NUM_THREADS"] = str(t)
        steps = FullSteps(AnnotationMatrix(ann), Smoothing(1.0 / k, 1.0, 0.0))
        steps.statistics(start)  # the kernel, its buffers and the compiled code, outside the clock
        stamps = [time.perf_counter()]
        run_em(steps, start.copy(), max_iter=iters, tol=0.0, warn=False, history_bytes=0,
               callback=lambda it, delta: stamps.append(time.perf_counter()))
        out[str(t)] = np.diff(stamps)[1:].tolist()  # the first iteration also touches fresh buffers
    print(json.dumps(out))
""")


def kernel_tree(rev: str | None, files: list[str], folder: Path) -> Path:
    """A copy of this tree's ``src`` (other sessions may edit the working tree during the run) with ``files``
    of ``src/accord/_kernel`` taken from revision ``rev`` (none: as they are)."""
    src = folder / "src"
    shutil.copytree(REPO / "src", src, ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    if rev is None:
        return src
    paths = [f"src/accord/_kernel/{name}" for name in files]
    data = subprocess.run(["git", "-C", str(REPO), "archive", rev, *paths], capture_output=True, check=True)
    with tarfile.open(fileobj=BytesIO(data.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return src


def worker(src: Path, args: list[str]) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    run = subprocess.run([sys.executable, "-c", WORKER, *args], capture_output=True, text=True, env=env)
    if run.returncode != 0:
        return {"error": (run.stderr.strip().splitlines() or ["?"])[-1][:160]}
    return json.loads(run.stdout.strip().splitlines()[-1])


def row(k: int, trees: dict[str, Path], args: argparse.Namespace) -> str:
    """One table row: every tree at ``K = k``, the trees alternating ``args.repeat`` rounds."""
    n, threads = int(args.size), args.threads.split(",")
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeat):
        for name, src in trees.items():
            got = worker(src, [str(n), str(k), str(args.iters), args.threads])
            if "error" in got:
                raise SystemExit(f"{name}, K={k}: {got['error']}")
            for t in threads:
                times.setdefault((name, t), []).extend(got[t])
    ns = {key: (min(v) / n * 1e9, sorted(v)[len(v) // 2] / n * 1e9) for key, v in times.items()}
    cells = [f"{ns[(name, t)][0]:.2f} ({ns[(name, t)][1]:.2f})" for name in trees for t in threads]
    ratios = [f"{ns[(rev, t)][0] / ns[('this tree', t)][0]:.2f}x" for rev in args.old for t in threads]
    return f"| {k} | " + " | ".join(cells + ratios) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=float, default=1e7)
    parser.add_argument("--classes", default="2,5")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--iters", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--old", nargs="*", default=[], help="git revisions of the kernel's files")
    parser.add_argument("--files", default="fused.py,compiled.py")
    args = parser.parse_args()
    threads = args.threads.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this tree": kernel_tree(None, [], Path(tmp) / "this")}
        for rev in args.old:
            trees[rev] = kernel_tree(rev, args.files.split(","), Path(tmp) / rev)
        print(
            f"EM loop at {args.size:.0e} annotations, {args.iters} iterations, fastest (median) iteration "
            f"over {args.repeat} rounds, ns per annotation-iteration\n"
        )
        cols = [f"{name}, {t} thread{'s' if t != '1' else ''}" for name in trees for t in threads]
        cols += [f"{rev} / this, {t}" for rev in args.old for t in threads]
        print("| K | " + " | ".join(cols) + " |")
        print("|---" * (1 + len(cols)) + "|")
        for k in [int(x) for x in args.classes.split(",")]:
            print(row(k, trees, args), flush=True)


if __name__ == "__main__":
    main()
