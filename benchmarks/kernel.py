"""The Dawid-Skene kernel in one run: nanoseconds per annotation-iteration, DawidSkene at default settings
against crowd-kit's at default settings, and the previous kernel beside the current one.

Usage:
    python benchmarks/kernel.py [--loop-size 1e7] [--fit-size 1e6] [--classes 2,5] [--iters 20]
                                [--old c1adc4f] [--no-crowdkit] [--repeat 2]

Data (as ``benchmarks/speed.py``): 1000 annotators with random full confusion matrices (20% of them
spammers), 5 labels per item, ``n_items = n_annotations / 5``, seed 0. Every measurement runs in a fresh
subprocess; the current and the old kernel are run in turn ``--repeat`` times and the best run of each is
kept (the machine is shared: alternating exposes both to the same load).

Three tables:

1. **Loop**: the EM loop alone (``run_em`` on ``FullSteps``, ``--iters`` iterations, ``tol = 0``, no
   history), at ``--loop-size`` annotations: seconds and ns per annotation-iteration, current vs old kernel
   (target <= 8 ns at K = 2).
2. **Default settings** at ``--fit-size``: ``DawidSkene().fit(annotations)`` (the whole fit: design matrix,
   start, loop, results; the ``Annotations`` are built before the clock starts) for the current and the old
   kernel, and crowd-kit's ``DawidSkene().fit_predict(frame)`` with its defaults (``n_iter=100, tol=1e-5``);
   time, iterations, accuracy against the simulated truth, and crowd-kit's time over ours (target >= 20x at
   the same accuracy).
3. **Other models** (``--models``, default ``ibcc,glad,mace,mmce``) at ``--models-size``, default settings,
   current vs old kernel: time, iterations and accuracy (once each: GLAD and MMCE take minutes at 10^6).

The old kernel is the source tree of git revision ``--old`` (default ``c1adc4f``, the last commit before the
reused-buffer kernel and the label-stability stopping rule), extracted with ``git archive`` into a temporary
folder and put first on ``PYTHONPATH`` of its subprocesses; ``--old none`` skips it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

WORKER = textwrap.dedent("""
    import json, sys, time, warnings
    import numpy as np
    import pandas as pd
    mode, n, k, iters = sys.argv[1], int(float(sys.argv[2])), int(sys.argv[3]), int(sys.argv[4])
    rng = np.random.default_rng(0)
    n_annotators, per_item = 1000, 5
    n_items = n // per_item
    truth = rng.integers(0, k, n_items)
    conf = rng.dirichlet(np.ones(k) * 0.5, size=(n_annotators, k)) * 0.4
    conf[:, np.arange(k), np.arange(k)] += 0.6
    spam = rng.random(n_annotators) < 0.2
    conf[spam] = rng.dirichlet(np.ones(k), size=spam.sum())[:, None, :]
    item = np.repeat(np.arange(n_items), per_item)
    annotator = rng.integers(0, n_annotators, n_items * per_item)
    u = rng.random(len(item))
    label = np.zeros(len(item), dtype=np.int64)
    for start in range(0, len(item), 2_000_000):  # bounded memory: the cumulative rows in blocks
        s = slice(start, start + 2_000_000)
        cum = conf[annotator[s], truth[item[s]]].cumsum(axis=1)
        label[s] = (u[s][:, None] > cum).sum(axis=1).clip(0, k - 1)
    warnings.simplefilter("ignore")
    out = {}
    if mode == "crowdkit":
        from crowdkit.aggregation import DawidSkene
        frame = pd.DataFrame({"task": item, "worker": annotator, "label": label})
        t0 = time.perf_counter()
        model = DawidSkene()
        labels = model.fit_predict(frame)
        out["seconds"] = time.perf_counter() - t0
        out["n_iter"] = len(getattr(model, "loss_history_", [])) or None
        out["accuracy"] = float(np.mean(labels.reindex(np.arange(n_items)).to_numpy() == truth))
    else:
        import accord
        from accord import Annotations, DawidSkene
        ann = Annotations.from_frame(
            pd.DataFrame({"item": item, "annotator": annotator, "label": label}), duplicates="keep_all"
        )
        if mode == "fit" or mode.startswith("model:"):
            from accord import make_model
            model = DawidSkene() if mode == "fit" else make_model(mode.split(":", 1)[1])
            t0 = time.perf_counter()
            model.fit(ann)
            out["seconds"] = time.perf_counter() - t0
            out["n_iter"] = model.n_iter_
            out["accuracy"] = float(np.mean(model.consensus_.label_codes == truth))
        else:  # the loop alone
            from accord._kernel.driver import run_em
            from accord._kernel.em import AnnotationMatrix, initial_posterior
            from accord.models.dawid_skene import FullSteps, Smoothing
            steps = FullSteps(AnnotationMatrix(ann), Smoothing(1.0 / k, 1.0, 0.0))
            post = initial_posterior(ann, "mv", None, "lowest", np.random.default_rng(0))
            t0 = time.perf_counter()
            run_em(steps, post, max_iter=iters, tol=0.0, warn=False, history_bytes=0)
            out["seconds"] = time.perf_counter() - t0
            out["ns"] = out["seconds"] / (n * iters) * 1e9
        out["accord"] = accord.__file__
    print(json.dumps(out))
""")


def old_tree(rev: str, folder: Path) -> Path:
    """The ``src`` folder of git revision ``rev``, extracted into ``folder``."""
    data = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "src"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "src"


def measure(mode: str, n: float, k: int, iters: int, src: Path | None, repeat: int) -> dict | None:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    best: dict | None = None
    for _ in range(repeat):
        run = subprocess.run(
            [sys.executable, "-c", WORKER, mode, str(n), str(k), str(iters)],
            capture_output=True,
            text=True,
            env=env,
        )
        if run.returncode != 0:
            return {"error": (run.stderr.strip().splitlines() or ["?"])[-1][:100]}
        got = json.loads(run.stdout.strip().splitlines()[-1])
        if best is None or got["seconds"] < best["seconds"]:
            best = got
    return best


def measure_pair(
    mode: str, n: float, k: int, iters: int, old: Path | None, repeat: int
) -> tuple[dict | None, dict | None]:
    """The current and the old kernel, alternated ``repeat`` times (so a change in the machine's load hits
    both), the best run of each."""
    best: list[dict | None] = [None, None]
    for _ in range(repeat):
        for i, src in enumerate((None, old)):
            if i == 1 and old is None:
                continue
            got = measure(mode, n, k, iters, src, 1)
            if got is None or "error" in got:
                best[i] = got
            elif best[i] is None or got["seconds"] < best[i]["seconds"]:  # type: ignore[index]
                best[i] = got
    return best[0], best[1]


def cell(d: dict | None, key: str, fmt: str) -> str:
    if d is None:
        return ""
    if "error" in d:
        return d["error"]
    value = d.get(key)
    return "" if value is None else fmt.format(value)


def ratio(a: dict | None, b: dict | None) -> str:
    """``a``'s time over ``b``'s (how many times faster ``b`` is)."""
    if not a or not b or "error" in a or "error" in b:
        return ""
    return f"{a['seconds'] / b['seconds']:.1f}x"


def crowdkit_available() -> bool:
    try:
        import crowdkit  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure means: not run
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loop-size", type=float, default=1e7)
    parser.add_argument("--fit-size", type=float, default=1e6)
    parser.add_argument("--classes", default="2,5")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--old", default="c1adc4f", help="git revision of the old kernel, or 'none'")
    parser.add_argument("--no-crowdkit", action="store_true")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--models", default="ibcc,glad,mace,mmce", help="comma list, or 'none'")
    parser.add_argument("--models-size", type=float, default=1e6)
    args = parser.parse_args()
    classes = [int(x) for x in args.classes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        old = None if args.old == "none" else old_tree(args.old, Path(tmp))
        peers = not args.no_crowdkit and crowdkit_available()
        print(
            f"Loop: {args.iters} EM iterations at {args.loop_size:.0e} annotations (best of {args.repeat})\n"
        )
        print("| K | current s | current ns/ann-it | old s | old ns/ann-it | old / current |")
        print("|---|---|---|---|---|---|")
        for k in classes:
            new, prev = measure_pair("loop", args.loop_size, k, args.iters, old, args.repeat)
            print(
                f"| {k} | {cell(new, 'seconds', '{:.2f}')} | {cell(new, 'ns', '{:.1f}')} | "
                f"{cell(prev, 'seconds', '{:.2f}')} | {cell(prev, 'ns', '{:.1f}')} | {ratio(prev, new)} |",
                flush=True,
            )
        print(f"\nDefault settings at {args.fit_size:.0e} annotations (whole fit; best of {args.repeat})\n")
        print(
            "| K | current s (iterations) | accuracy | old s (iterations) | accuracy | crowd-kit s | "
            "accuracy | old / current | crowd-kit / current |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for k in classes:
            new, prev = measure_pair("fit", args.fit_size, k, 0, old, args.repeat)
            peer = measure("crowdkit", args.fit_size, k, 0, None, 1) if peers else None
            print(
                f"| {k} | {cell(new, 'seconds', '{:.2f}')} ({cell(new, 'n_iter', '{}')}) | "
                f"{cell(new, 'accuracy', '{:.4f}')} | {cell(prev, 'seconds', '{:.2f}')} "
                f"({cell(prev, 'n_iter', '{}')}) | {cell(prev, 'accuracy', '{:.4f}')} | "
                f"{cell(peer, 'seconds', '{:.2f}')} | {cell(peer, 'accuracy', '{:.4f}')} | "
                f"{ratio(prev, new)} | {ratio(peer, new)} |",
                flush=True,
            )
        if not peers:
            print("\n(crowd-kit not run: not importable here or --no-crowdkit)")
        models = [] if args.models == "none" else args.models.split(",")
        if models:
            print(
                f"\nOther models at {args.models_size:.0e} annotations, default settings (whole fit; once)\n"
            )
            print(
                "| model | K | current s (iterations) | accuracy | old s (iterations) | accuracy | "
                "old / current |"
            )
            print("|---|---|---|---|---|---|---|")
        for name in models:
            for k in classes:
                new, prev = measure_pair(f"model:{name}", args.models_size, k, 0, old, 1)
                print(
                    f"| {name} | {k} | {cell(new, 'seconds', '{:.2f}')} ({cell(new, 'n_iter', '{}')}) | "
                    f"{cell(new, 'accuracy', '{:.4f}')} | {cell(prev, 'seconds', '{:.2f}')} "
                    f"({cell(prev, 'n_iter', '{}')}) | {cell(prev, 'accuracy', '{:.4f}')} | "
                    f"{ratio(prev, new)} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
