"""Speed of GLAD, MMCE, Bayesian DS, EBCC, BWA (and MACE) at scale, before vs after, beside crowd-kit.

Usage:

    python benchmarks/speed_models.py --sizes 1e6,1e7 --classes 2,5          # before (--before REV) vs now
    python benchmarks/speed_models.py --sizes 1e6 --models glad --peers       # + crowd-kit's GLAD at 10^6
    python benchmarks/speed_models.py --public                                # accuracy on the public sets

Data: ``n`` annotations, 1000 annotators (fewer when ``n`` is small), 5 distinct annotators per item, 20%
spammers (answer from a fixed random distribution whatever the truth), the others with random confusion
matrices of accuracy 0.6-0.95; classes drawn from a Dirichlet(2) prior.

Every measurement runs in a fresh subprocess (one at a time), which generates the data, builds the
``Annotations`` (not timed) and fits the model with its default settings; it reports the fit's wall time, its
user and system CPU seconds, the iterations, the time per iteration, the process's peak resident memory (data
included) and the accuracy against the synthetic truth. "before" is the source tree of ``--before`` (default
``80b339e``, the commit before the scale work on GLAD and BWA), extracted with ``git archive`` into a
temporary folder and put first on ``sys.path``; "after" is this checkout's ``src`` (or ``--after REV``,
extracted the same way).
crowd-kit (same data, its default settings) is run for the models it has (GLAD, MACE) with ``--peers``, at
sizes up to ``--peer-max``.

``--public`` fits the models on every public classification set (the parity benchmark's 26: gold present,
``wordsim`` and ``affect_*`` left out) before and after, and prints the accuracy on the gold items, the
labels that moved, the largest change of a posterior and the iterations per dataset, then the mean per
model.

The workers run the NumPy paths (``ACCORD_NO_COMPILE=1``, as the "before" tree has no compiled kernel;
``--compiled`` lets them use numba, whose cache is cold in an extracted tree: the first fit compiles).
BLAS is limited to one thread (``--blas-threads``) in the workers: on a shared machine OpenBLAS's threads
slowed crowd-kit's conjugate gradient by an order of magnitude, which would flatter our ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
MODELS = {
    "glad": "accord.models.glad:GLAD",
    "mmce": "accord.models.mmce:MMCE",
    "ibcc": "accord.models.bayesian_ds:BayesianDawidSkene",
    "ebcc": "accord.models.ebcc:EBCC",
    "bwa": "accord.models.bwa:BWA",
    "mace": "accord.models.mace:MACE",
    "ds": "accord.models.dawid_skene:DawidSkene",
}
PEERS = {"glad": "GLAD", "mace": "MACE", "ds": "DawidSkene"}
COMPILED = [False]  # --compiled: let the workers use numba kernels (off: the NumPy paths, as "before" has)

# The synthetic generator, shared by every worker (one copy, run as text in the subprocess).
GENERATOR = textwrap.dedent('''
    import numpy as np

    def synthetic(n_annotations, k, n_annotators=1000, per_item=5, spam_share=0.2, seed=0):
        """Dawid-Skene data: (item, annotator, label) arrays and the truth per item."""
        rng = np.random.default_rng(seed)
        n_items = max(n_annotations // per_item, 1)
        n_annotators = min(n_annotators, max(n_items // 2, per_item * 2))
        prior = rng.dirichlet(np.full(k, 2.0))
        truth = rng.choice(k, size=n_items, p=prior)
        acc = rng.uniform(0.6, 0.95, size=n_annotators)
        conf = rng.dirichlet(np.ones(k - 1), size=(n_annotators, k)) * (1 - acc)[:, None, None]
        theta = np.zeros((n_annotators, k, k))
        for c in range(k):  # K is small: a loop over classes, not over annotations
            others = [o for o in range(k) if o != c]
            theta[:, c, others] = conf[:, c, :]
            theta[:, c, c] = acc
        spammers = rng.random(n_annotators) < spam_share
        theta[spammers] = rng.dirichlet(np.ones(k), size=int(spammers.sum()))[:, None, :]
        item = np.repeat(np.arange(n_items), per_item)
        start = rng.integers(0, n_annotators, size=n_items)
        offsets = rng.integers(1, n_annotators, size=(n_items, per_item - 1))
        while True:  # distinct offsets per item (rows with repeats redrawn)
            s = np.sort(offsets, axis=1)
            bad = (s[:, 1:] == s[:, :-1]).any(axis=1)
            if not bad.any():
                break
            offsets[bad] = rng.integers(1, n_annotators, size=(int(bad.sum()), per_item - 1))
        picks = [start[:, None], (start[:, None] + offsets) % n_annotators]
        annotator = np.concatenate(picks, axis=1).ravel()
        label = np.empty(len(item), dtype=np.int64)
        u = rng.random(len(item))
        for lo in range(0, len(item), 1_000_000):  # the label draw in blocks (n x K floats otherwise)
            sl = slice(lo, lo + 1_000_000)
            cdf = np.cumsum(theta[annotator[sl], truth[item[sl]]], axis=1)
            label[sl] = (u[sl][:, None] > cdf).sum(axis=1).clip(0, k - 1)
        return item, annotator, label, truth
''')

WORKER = GENERATOR + textwrap.dedent("""
    import json, resource, sys, time, warnings, importlib
    spec = json.loads(sys.argv[1])
    if spec["src"]:
        sys.path.insert(0, spec["src"])
    import pandas as pd
    item, annotator, label, truth = synthetic(int(spec["n"]), int(spec["k"]))
    warnings.simplefilter("ignore")
    if spec["lib"] == "accord":
        import accord
        from accord import Annotations
        module, cls = spec["model"].split(":")
        model = getattr(importlib.import_module(module), cls)(**spec.get("params", {}))
        frame = pd.DataFrame({"item": item, "annotator": annotator, "label": label})
        ann = Annotations.from_frame(frame, duplicates="keep_all")
        del frame
        r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        model.fit(ann)
        t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        pred = np.asarray(model.consensus_.label_codes)
        n_iter = int(getattr(model, "n_iter_", 0))
        restarts = int(getattr(model, "n_restarts", 1) or 1)
        where = accord.__file__
    else:
        from crowdkit import aggregation as ck
        frame = pd.DataFrame({"task": item, "worker": annotator, "label": label})
        r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        labels = getattr(ck, spec["model"])().fit_predict(frame)
        t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        pred = labels.reindex(np.arange(len(truth))).to_numpy()
        n_iter, restarts, where = 0, 1, "crowd-kit"
    print(json.dumps({
        "fit": t1 - t0,
        "user": r1.ru_utime - r0.ru_utime,
        "sys": r1.ru_stime - r0.ru_stime,
        "n_iter": n_iter,
        "restarts": restarts,
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2,
        "accuracy": float(np.mean(pred == truth)),
        "from": where,
    }))
""")

PUBLIC = textwrap.dedent("""
    import json, sys, time, warnings, importlib
    from pathlib import Path
    spec = json.loads(sys.argv[1])
    if spec["src"]:
        sys.path.insert(0, spec["src"])
    import numpy as np
    import pandas as pd
    from accord.datasets import load_dataset
    warnings.simplefilter("ignore")
    rows = []
    for folder in spec["folders"]:
        data = load_dataset(Path(folder))
        ann = data.annotations
        gold = data.gold
        pos = ann.items.get_indexer(gold.index)
        keep = pos >= 0
        codes = pd.Index(ann.classes.astype(str)).get_indexer(gold.to_numpy()[keep].astype(str))
        for name in spec["models"]:
            module, cls = spec["paths"][name].split(":")
            params = {} if name in ("glad", "mmce", "bwa") else {"random_state": 0}
            model = getattr(importlib.import_module(module), cls)(**params)
            t = time.perf_counter()
            model.fit(ann)
            dt = time.perf_counter() - t
            labels = np.asarray(model.consensus_.label_codes)
            acc = float(np.mean(labels[pos[keep]] == codes)) if keep.any() else float("nan")
            rows.append({"dataset": Path(folder).name, "model": name, "accuracy": acc,
                         "n_iter": int(getattr(model, "n_iter_", 0)), "seconds": dt,
                         "labels": labels.tolist(), "proba": model.proba_.to_numpy().ravel().tolist()})
    print(json.dumps(rows))
""")


def extract(rev: str, into: str) -> str:
    """The ``src`` tree of ``rev`` in a temporary folder (``git archive``: the repository is only read)."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "src"], capture_output=True, check=True)
    Path(into).mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", into], input=archive.stdout, check=True)
    return str(Path(into) / "src")


def run_worker(script: str, spec: dict, timeout: float, blas: str) -> dict | list:
    env = dict(os.environ)
    if not COMPILED[0]:
        env["ACCORD_NO_COMPILE"] = "1"
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = blas
    env.pop("PYTHONPATH", None)
    try:
        out = subprocess.run(
            [sys.executable, "-c", script, json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timeout {timeout:.0f}s"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": last[:100]}
    result: dict | list = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _cell(d: dict | None, key: str, fmt: str) -> str:
    if d is None:
        return ""
    if "error" in d:
        return d["error"] if key == "fit" else ""
    return fmt.format(d[key])


def _per_iter(d: dict | None) -> str:
    if d is None or "error" in d or not d["n_iter"]:
        return ""
    return f"{d['fit'] / (d['n_iter'] * d['restarts']):.3f}"


def _ratio(a: dict | None, b: dict | None) -> str:
    if not a or not b or "error" in a or "error" in b:
        return ""
    return f"{a['fit'] / b['fit']:.2f}x"


def speed_table(args: argparse.Namespace, before_src: str | None, after_src: str) -> None:
    print(
        "| model | annotations | K | before s | after s | speed-up | iterations before/after "
        "| s per iteration before/after | sys CPU share before/after | peak GB before/after "
        "| accuracy before/after | crowd-kit s | crowd-kit / after | crowd-kit acc. |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in [float(x) for x in args.sizes.split(",")]:
        for k in [int(x) for x in args.classes.split(",")]:
            for name in args.models.split(","):
                spec = {"lib": "accord", "model": MODELS[name], "n": n, "k": k}
                before = (
                    run_worker(WORKER, {**spec, "src": before_src}, args.timeout, args.blas_threads)
                    if before_src
                    else None
                )
                after = run_worker(
                    WORKER, {**spec, "src": str(REPO / "src")}, args.timeout, args.blas_threads
                )
                peer = None
                if args.peers and name in PEERS and n <= args.peer_max:
                    peer = run_worker(
                        WORKER,
                        {"lib": "crowdkit", "model": PEERS[name], "n": n, "k": k, "src": ""},
                        args.timeout,
                        args.blas_threads,
                    )
                print(_speed_row(name, n, k, before, after, peer), flush=True)  # type: ignore[arg-type]


def _speed_row(name: str, n: float, k: int, before: dict | None, after: dict, peer: dict | None) -> str:
    def pair(key: str, fmt: str) -> str:
        return f"{_cell(before, key, fmt)} / {_cell(after, key, fmt)}"

    def share(d: dict | None) -> str:
        if d is None or "error" in d:
            return ""
        return f"{d['sys'] / max(d['user'] + d['sys'], 1e-9):.2f}"

    its = f"{_cell(before, 'n_iter', '{}')} / {_cell(after, 'n_iter', '{}')}"
    if after.get("restarts", 1) > 1:
        its += f" (x{after['restarts']} restarts)"
    return (
        f"| {name} | {n:.0e} | {k} | {_cell(before, 'fit', '{:.2f}')} | {_cell(after, 'fit', '{:.2f}')} | "
        f"{_ratio(before, after)} | {its} | {_per_iter(before)} / {_per_iter(after)} | "
        f"{share(before)} / {share(after)} | {pair('peak_gb', '{:.2f}')} | {pair('accuracy', '{:.4f}')} | "
        f"{_cell(peer, 'fit', '{:.2f}')} | {_ratio(peer, after)} | {_cell(peer, 'accuracy', '{:.4f}')} |"
    )


def public_folders() -> list[str]:
    """The public classification sets with gold (as the parity benchmark picks them)."""
    out = []
    for folder in sorted(p for p in DATA.iterdir() if p.is_dir()):
        meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").exists() else {}
        skip = folder.name == "wordsim" or folder.name.startswith("affect_")
        if not skip and meta.get("task_type", "classification") == "classification":
            if (folder / "gold.csv").exists():
                out.append(str(folder))
    return out


def public_table(args: argparse.Namespace, before_src: str | None, after_src: str) -> None:
    names = args.models.split(",")
    spec = {"folders": public_folders(), "models": names, "paths": MODELS}
    after = run_worker(PUBLIC, {**spec, "src": after_src}, args.timeout, args.blas_threads)
    before = (
        run_worker(PUBLIC, {**spec, "src": before_src}, args.timeout, args.blas_threads) if before_src else []
    )
    if isinstance(after, dict) or isinstance(before, dict):
        print("public run failed:", after if isinstance(after, dict) else before)
        return
    old = {(r["dataset"], r["model"]): r for r in before}
    print(f"{len(spec['folders'])} public sets\n")
    print(
        "| dataset | model | accuracy before | accuracy after | change (points) | labels changed "
        "| largest posterior change | iterations before/after | seconds before/after |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    summary: dict[str, list[tuple[float, float, int, int, float, float]]] = {}
    for r in after:
        b = old.get((r["dataset"], r["model"]), r)
        moved = sum(x != y for x, y in zip(b["labels"], r["labels"], strict=True))
        change = 100 * (r["accuracy"] - b["accuracy"])
        drift = max((abs(x - y) for x, y in zip(b["proba"], r["proba"], strict=True)), default=0.0)
        print(
            f"| {r['dataset']} | {r['model']} | {b['accuracy']:.4f} | {r['accuracy']:.4f} | {change:+.2f} | "
            f"{moved} | {drift:.1e} | {b['n_iter']} / {r['n_iter']} | "
            f"{b['seconds']:.2f} / {r['seconds']:.2f} |"
        )
        summary.setdefault(r["model"], []).append(
            (b["accuracy"], r["accuracy"], b["n_iter"], r["n_iter"], b["seconds"], r["seconds"])
        )
    print(
        "\n| model | mean accuracy before | after | worst change (points) | iterations before/after | "
        "seconds before/after |"
    )
    print("|---|---|---|---|---|---|")
    for name, rows in summary.items():
        b_acc = sum(x[0] for x in rows) / len(rows)
        a_acc = sum(x[1] for x in rows) / len(rows)
        worst = min(100 * (x[1] - x[0]) for x in rows)
        print(
            f"| {name} | {b_acc:.5f} | {a_acc:.5f} | {worst:+.2f} | {sum(x[2] for x in rows)} / "
            f"{sum(x[3] for x in rows)} | {sum(x[4] for x in rows):.1f} / {sum(x[5] for x in rows):.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1e6,1e7")
    parser.add_argument("--classes", default="2,5")
    parser.add_argument("--models", default="glad,mmce,ibcc,ebcc,bwa")
    parser.add_argument("--before", default="80b339e", help="git revision timed as 'before' ('none': skip)")
    parser.add_argument(
        "--after", default="worktree", help="git revision timed as 'after' (default: src here)"
    )
    parser.add_argument("--peers", action="store_true", help="also time crowd-kit's GLAD / MACE / DS")
    parser.add_argument("--peer-max", type=float, default=1e6, help="largest size crowd-kit is run at")
    parser.add_argument("--public", action="store_true", help="accuracy on the public sets instead of speed")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--blas-threads", default="1", help="BLAS threads in the workers")
    parser.add_argument(
        "--compiled", action="store_true", help="allow numba kernels (default: ACCORD_NO_COMPILE=1)"
    )
    args = parser.parse_args()
    COMPILED[0] = args.compiled
    with tempfile.TemporaryDirectory() as tmp:
        before_src = None if args.before.lower() == "none" else extract(args.before, tmp + "/before")
        after_src = str(REPO / "src") if args.after == "worktree" else extract(args.after, tmp + "/after")
        mode = "numba allowed" if args.compiled else "NumPy paths (ACCORD_NO_COMPILE=1)"
        print(f"before: {args.before}, after: {args.after}, {mode}\n")
        if args.public:
            public_table(args, before_src, after_src)
        else:
            speed_table(args, before_src, after_src)


if __name__ == "__main__":
    main()
