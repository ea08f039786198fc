"""The Dawid-Skene kernel in one run: nanoseconds per annotation-iteration on the NumPy path and on the
compiled (numba) path, DawidSkene at default settings against crowd-kit's at default settings, the
one-time cost of the compiled kernel, and optionally an older source tree beside the current one.

Usage:
    python benchmarks/kernel.py [--loop-size 1e7] [--fit-size 1e6] [--classes 2,5] [--iters 20]
                                [--repeat 3] [--no-crowdkit] [--old REV] [--models ibcc,mace]

Data (as ``benchmarks/speed.py``): 1000 annotators with random full confusion matrices (20% of them
spammers), 5 labels per item, ``n_items = n_annotations / 5``, seed 0. One subprocess per table row builds
the data once and alternates the variants ``--repeat`` times, keeping the best run of each (the machine is
shared: alternating exposes every variant to the same load).

Tables:

1. **Loop**: the EM loop alone (``run_em`` on ``FullSteps``, ``--iters`` iterations, ``tol = 0``, no
   history) at ``--loop-size`` annotations: ns per annotation-iteration on the NumPy path, the compiled path
   on one thread and on all threads (``ACCORD_NUM_THREADS``); target <= 8 ns at K = 2.
2. **Default settings** at ``--fit-size``: ``DawidSkene().fit(annotations)`` (the whole fit: design matrix,
   start, loop, results; the ``Annotations`` are built before the clock starts) on both paths, the same
   with ``accelerate=True`` (SQUAREM), and crowd-kit's ``DawidSkene().fit_predict(frame)`` with its defaults
   (``n_iter=100, tol=1e-5``): time, E-steps (passes over the annotations; with SQUAREM also how many were
   EM steps), accuracy against the simulated truth, crowd-kit's time over ours (target >= 20x at the same
   accuracy). The compiled kernel is loaded before the clock starts (a process pays that once; table 3).
3. **One-time cost** of the compiled path in a fresh process: importing numba and compiling the kernels
   with an empty cache (what the first run after installing pays), and loading them from the cache (what
   every later process pays, once).
4. With ``--models``: other models on the kernel at ``--fit-size``, both paths, default settings.
5. With ``--old REV``: the loop and the default fit of git revision ``REV`` (its ``src`` extracted with
   ``git archive`` and put first on ``PYTHONPATH``), run in turn with the current tree.
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

DATA = textwrap.dedent("""
    import numpy as np
    def synthetic(n, k):
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
        return item, annotator, label, truth
""")

WORKER = DATA + textwrap.dedent("""
    import json, os, sys, time, warnings
    import pandas as pd
    mode, n, k = sys.argv[1], int(float(sys.argv[2])), int(sys.argv[3])
    iters, repeat = int(sys.argv[4]), int(sys.argv[5])
    item, annotator, label, truth = synthetic(n, k)
    warnings.simplefilter("ignore")
    out = {}
    if mode == "crowdkit":
        from crowdkit.aggregation import DawidSkene
        frame = pd.DataFrame({"task": item, "worker": annotator, "label": label})
        t0 = time.perf_counter()
        model = DawidSkene()
        labels = model.fit_predict(frame)
        seconds = time.perf_counter() - t0
        accuracy = float(np.mean(labels.reindex(np.arange(len(truth))).to_numpy() == truth))
        n_iter = len(getattr(model, "loss_history_", []))
        out["crowdkit"] = {"seconds": seconds, "n_iter": n_iter, "accuracy": accuracy}
        print(json.dumps(out))
        sys.exit(0)
    import accord
    from accord import Annotations, make_model
    try:
        from accord._kernel import compiled
    except ImportError:  # an old tree
        compiled = None
    ann = Annotations.from_frame(
        pd.DataFrame({"item": item, "annotator": annotator, "label": label}), duplicates="keep_all"
    )
    variants = {"numpy": {"ACCORD_NO_COMPILE": "1"}}
    if compiled is not None and compiled.enabled():
        from accord._kernel.em import AnnotationMatrix, DSKernel
        frame = pd.DataFrame({"item": item[:500], "annotator": annotator[:500], "label": label[:500]})
        small = Annotations.from_frame(frame, duplicates="keep_all", classes=list(range(k)))
        t0 = time.perf_counter()  # load (or compile) the kernels once, before any clock
        kernel = DSKernel(AnnotationMatrix(small), compiled=True)
        a, m = small.n_annotators, small.n_items
        prev = np.full((m, k), 1.0 / k)
        kernel.e_step_fused(np.zeros(k), np.zeros((a, k, k)), prev, np.zeros(m, dtype=np.intp))
        kernel.statistics(prev)
        out["load_s"] = time.perf_counter() - t0
        compiled.MIN_ANNOTATIONS = 0
        variants["compiled"] = {"ACCORD_NO_COMPILE": "0"}
        if mode == "loop":
            variants["compiled 1 thread"] = {"ACCORD_NO_COMPILE": "0", "ACCORD_NUM_THREADS": "1"}
            out["threads"] = compiled.n_threads()
    def run_once(mode):
        if mode == "loop":
            from accord._kernel.driver import run_em
            from accord._kernel.em import AnnotationMatrix, initial_posterior
            from accord.models.dawid_skene import FullSteps, Smoothing
            steps = FullSteps(AnnotationMatrix(ann), Smoothing(1.0 / k, 1.0, 0.0))
            post = initial_posterior(ann, "mv", None, "lowest", np.random.default_rng(0))
            steps.statistics(post)  # the kernel and its buffers, outside the clock
            t0 = time.perf_counter()
            run_em(steps, post, max_iter=iters, tol=0.0, warn=False, history_bytes=0)
            s = time.perf_counter() - t0
            return {"seconds": s, "ns": s / (n * iters) * 1e9}
        if mode.startswith("model:"):
            model = make_model(mode.split(":", 1)[1])
        else:
            model = make_model("ds", **({"accelerate": True} if mode == "fit-accel" else {}))
        t0 = time.perf_counter()
        model.fit(ann)
        seconds = time.perf_counter() - t0
        accuracy = float(np.mean(model.consensus_.label_codes == truth))
        n_iter = int(getattr(model, "n_iter_", 0))  # E-steps
        history = getattr(model, "history_", None)
        em = n_iter
        if history is not None and "step" in history.columns:  # SQUAREM: the E-steps that were EM steps
            em = int((history["step"] == 1.0).sum())
        return {"seconds": seconds, "n_iter": n_iter, "em_steps": em, "accuracy": accuracy,
                "proba": model.proba_.to_numpy()}
    kept = {}
    for _ in range(repeat):
        for name, env in variants.items():
            os.environ.pop("ACCORD_NUM_THREADS", None)
            os.environ.update(env)
            got = run_once(mode)
            if name not in kept or got["seconds"] < kept[name]["seconds"]:
                kept[name] = got
    if "proba" in kept.get("compiled", {}):
        out["max_diff"] = float(np.abs(kept["compiled"]["proba"] - kept["numpy"]["proba"]).max())
        same = kept["compiled"]["proba"].argmax(1) == kept["numpy"]["proba"].argmax(1)
        out["same_labels"] = bool(same.all())
    for name, got in kept.items():
        got.pop("proba", None)
        out[name] = got
    out["accord"] = accord.__file__
    print(json.dumps(out))
""")

ONCE = textwrap.dedent("""
    import json, time
    t0 = time.perf_counter()
    import numba  # noqa: F401
    t1 = time.perf_counter()
    import numpy as np
    from accord._kernel import fused
    from accord._kernel.em import AnnotationMatrix, DSKernel
    from accord import Annotations
    import pandas as pd
    out = {"import_s": t1 - t0}
    for k in (2, 5):
        rng = np.random.default_rng(0)
        frame = pd.DataFrame(
            {"item": rng.integers(0, 50, 300), "annotator": rng.integers(0, 9, 300),
             "label": np.arange(300) % k}
        )
        ann = Annotations.from_frame(frame, duplicates="keep_all")
        t = time.perf_counter()
        kernel = DSKernel(AnnotationMatrix(ann), compiled=True)
        a, m = ann.n_annotators, ann.n_items
        prev = np.full((m, k), 1.0 / k)
        kernel.e_step_fused(np.zeros(k), np.zeros((a, k, k)), prev, np.zeros(m, dtype=np.intp))
        kernel.statistics(prev)
        out[f"k{k}_s"] = time.perf_counter() - t
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


def worker(code: str, args: list[str], src: Path | None = None, env: dict[str, str] | None = None) -> dict:
    full = dict(os.environ, **(env or {}))
    if src is not None:
        full["PYTHONPATH"] = os.pathsep.join([str(src), full.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=full)
    if run.returncode != 0:
        return {"error": (run.stderr.strip().splitlines() or ["?"])[-1][:120]}
    return json.loads(run.stdout.strip().splitlines()[-1])


def cell(d: dict | None, key: str, fmt: str) -> str:
    if not d or "error" in d:
        return (d or {}).get("error", "")
    value = d.get(key)
    return "" if value is None else fmt.format(value)


def ratio(a: dict | None, b: dict | None) -> str:
    """``a``'s time over ``b``'s (how many times faster ``b`` is)."""
    if not a or not b or "error" in a or "error" in b or "seconds" not in a or "seconds" not in b:
        return ""
    return f"{a['seconds'] / b['seconds']:.1f}x"


def crowdkit_available() -> bool:
    try:
        import crowdkit  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure means: not run
        return False
    return True


def loop_table(args: argparse.Namespace, classes: list[int], old: Path | None) -> None:
    print(f"Loop: {args.iters} EM iterations at {args.loop_size:.0e} annotations (best of {args.repeat})\n")
    print("| K | NumPy ns/ann-it | compiled, 1 thread | compiled, all threads | NumPy / compiled | target |")
    print("|---|---|---|---|---|---|")
    for k in classes:
        got = worker(WORKER, ["loop", str(args.loop_size), str(k), str(args.iters), str(args.repeat)])
        if "error" in got:
            print(f"| {k} | {got['error']} |||||")
            continue
        best = got.get("compiled")
        threads = f" ({got.get('threads')})" if "threads" in got else ""
        print(
            f"| {k} | {cell(got.get('numpy'), 'ns', '{:.1f}')} | "
            f"{cell(got.get('compiled 1 thread'), 'ns', '{:.1f}')}"
            f" | {cell(best, 'ns', '{:.1f}')}{threads} | {ratio(got.get('numpy'), best)} | "
            f"{'<= 8 ns' if k == 2 else ''} |",
            flush=True,
        )
        if old is not None:
            prev = worker(WORKER, ["loop", str(args.loop_size), str(k), str(args.iters), "1"], old)
            print(f"| {k} (old tree) | {cell(prev.get('numpy', prev), 'ns', '{:.1f}')} | | | | |", flush=True)


def steps_cell(d: dict | None) -> str:
    """``seconds (E-steps / EM steps)``, or ``seconds (E-steps)`` when every E-step was an EM step."""
    if not d or "error" in d:
        return (d or {}).get("error", "")
    e, em = d.get("n_iter"), d.get("em_steps", d.get("n_iter"))
    return f"{d['seconds']:.3f} ({e}" + (f" / {em})" if em != e else ")")


def fit_table(args: argparse.Namespace, classes: list[int], old: Path | None) -> None:
    peers = not args.no_crowdkit and crowdkit_available()
    print(f"\nDefault settings at {args.fit_size:.0e} annotations (whole fit; best of {args.repeat})\n")
    print(
        "Seconds (E-steps; with SQUAREM E-steps / EM steps). An E-step is one pass over the annotations: "
        "crowd-kit's iterations, our n_iter_. `accelerate` is DawidSkene(accelerate=True).\n"
    )
    print(
        "| K | variant | NumPy s (E-steps) | compiled s (E-steps) | accuracy | max proba diff | crowd-kit s "
        "(iterations) | accuracy | crowd-kit / NumPy | crowd-kit / compiled | target |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for k in classes:
        peer = (
            worker(WORKER, ["crowdkit", str(args.fit_size), str(k), "0", "1"]).get("crowdkit")
            if peers
            else None
        )
        rows = [("default", "fit", None, args.repeat), ("accelerate", "fit-accel", None, args.repeat)]
        if old is not None:
            rows.append(("old tree", "fit", old, 1))
        for label, mode, src, repeat in rows:
            target = ">= 20x, same accuracy" if label == "default" else ""
            got = worker(WORKER, [mode, str(args.fit_size), str(k), "0", str(repeat)], src)
            if "error" in got:
                print(f"| {k} | {label} | {got['error']} |||||||||")
                continue
            plain, fast = got.get("numpy"), got.get("compiled")
            print(
                f"| {k} | {label} | {steps_cell(plain)} | {steps_cell(fast)} | "
                f"{cell(fast or plain, 'accuracy', '{:.4f}')} | {cell(got, 'max_diff', '{:.1e}')} | "
                f"{cell(peer, 'seconds', '{:.2f}')} ({cell(peer, 'n_iter', '{}')}) | "
                f"{cell(peer, 'accuracy', '{:.4f}')} | "
                f"{ratio(peer, plain)} | {ratio(peer, fast)} | {target} |",
                flush=True,
            )
    if not peers:
        print("\n(crowd-kit not run: not importable here or --no-crowdkit)")


def once_table() -> None:
    print("\nOne-time cost of the compiled path in a fresh process (seconds)\n")
    print("| cache | import numba | K = 2 kernels | K = 5 kernels |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as cache:
        for label in ("empty (compile)", "warm (load)"):
            got = worker(ONCE, [], env={"NUMBA_CACHE_DIR": cache, "ACCORD_NO_COMPILE": "0"})
            print(
                f"| {label} | {cell(got, 'import_s', '{:.2f}')} | {cell(got, 'k2_s', '{:.2f}')} | "
                f"{cell(got, 'k5_s', '{:.2f}')} |",
                flush=True,
            )


def models_table(args: argparse.Namespace, classes: list[int]) -> None:
    print(f"\nOther models at {args.fit_size:.0e} annotations, default settings (whole fit; best of 1)\n")
    print("| model | K | NumPy s (iterations) | compiled s (iterations) | accuracy | max proba diff |")
    print("|---|---|---|---|---|---|")
    for name in args.models.split(","):
        for k in classes:
            got = worker(WORKER, [f"model:{name}", str(args.fit_size), str(k), "0", "1"])
            plain, fast = got.get("numpy"), got.get("compiled")
            print(
                f"| {name} | {k} | {cell(plain, 'seconds', '{:.2f}')} ({cell(plain, 'n_iter', '{}')}) | "
                f"{cell(fast, 'seconds', '{:.2f}')} ({cell(fast, 'n_iter', '{}')}) | "
                f"{cell(fast or plain, 'accuracy', '{:.4f}')} | {cell(got, 'max_diff', '{:.1e}')} |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loop-size", type=float, default=1e7)
    parser.add_argument("--fit-size", type=float, default=1e6)
    parser.add_argument("--classes", default="2,5")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-crowdkit", action="store_true")
    parser.add_argument("--old", default="none", help="git revision of an older tree, or 'none'")
    parser.add_argument("--models", default="none", help="comma list (e.g. ibcc,mace), or 'none'")
    parser.add_argument("--skip", nargs="*", default=[], choices=["loop", "fit", "once"])
    args = parser.parse_args()
    classes = [int(x) for x in args.classes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        old = None if args.old == "none" else old_tree(args.old, Path(tmp))
        if "loop" not in args.skip:
            loop_table(args, classes, old)
        if "fit" not in args.skip:
            fit_table(args, classes, old)
        if "once" not in args.skip:
            once_table()
        if args.models != "none":
            models_table(args, classes)


if __name__ == "__main__":
    main()
