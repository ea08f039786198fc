"""Speed of accord's DawidSkene against crowd-kit's on synthetic Dawid-Skene data (same data, same
iterations).

Usage:
    python benchmarks/speed.py [--sizes 1e5,1e6,1e7] [--classes 2,5] [--iters 50] [--peer-max 1e6]
    [--no-peers]

Data: 1000 annotators with random full confusion matrices (20% of them spammers), 5 labels per item, so
n_items = n_annotations / 5. Each measurement runs in a fresh subprocess, which reports the fit time and the
process's peak resident memory (data included). Both libraries run exactly ``--iters`` EM iterations (accord:
min_iter = max_iter = iters; crowd-kit: n_iter = iters, tol = -1). Run it with the peer venv's python so
crowd-kit is importable; without crowd-kit the peer column is left blank.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap

WORKER = textwrap.dedent("""
    import json, resource, sys, time, warnings
    import numpy as np
    import pandas as pd
    lib, n, k, iters = sys.argv[1], int(float(sys.argv[2])), int(sys.argv[3]), int(sys.argv[4])
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
    cum = conf[annotator, truth[item]].cumsum(axis=1)
    label = (rng.random(len(item))[:, None] > cum).sum(axis=1).clip(0, k - 1)
    warnings.simplefilter("ignore")
    if lib == "accord":
        from accord import Annotations, DawidSkene
        frame = pd.DataFrame({"item": item, "annotator": annotator, "label": label})
        t0 = time.perf_counter()
        ann = Annotations.from_frame(frame, duplicates="keep_all")
        t1 = time.perf_counter()
        model = DawidSkene(min_iter=iters, max_iter=iters, keep_history=False).fit(ann)
        t2 = time.perf_counter()
        acc = float(np.mean(model.consensus_.label_codes == truth))
        build = t1 - t0
    else:
        from crowdkit.aggregation import DawidSkene
        frame = pd.DataFrame({"task": item, "worker": annotator, "label": label})
        t1 = time.perf_counter()
        labels = DawidSkene(n_iter=iters, tol=-1.0).fit_predict(frame)
        t2 = time.perf_counter()
        acc = float(np.mean(labels.reindex(np.arange(n_items)).to_numpy() == truth))
        build = 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(json.dumps({"fit": t2 - t1, "build": build, "peak_gb": peak, "accuracy": acc}))
""")


def measure(lib: str, n: float, k: int, iters: int, timeout: float) -> dict | None:
    try:
        out = subprocess.run(
            [sys.executable, "-c", WORKER, lib, str(n), str(k), str(iters)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timeout {timeout:.0f}s"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": last[:80]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def crowdkit_available() -> bool:
    try:
        import crowdkit  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1e5,1e6,1e7")
    parser.add_argument("--classes", default="2,5")
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--peer-max", type=float, default=1e6, help="largest size crowd-kit is run at")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    peers = not args.no_peers and crowdkit_available()
    if not peers:
        print("(crowd-kit not run: not importable here or --no-peers)")
    print(f"DawidSkene, {args.iters} EM iterations, 1000 annotators, 5 labels per item\n")
    print(
        "| annotations | K | accord fit (s) | accord build (s) | accord peak GB | crowd-kit fit (s) | "
        "crowd-kit peak GB | speed-up | accuracy accord / crowd-kit |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for k in [int(x) for x in args.classes.split(",")]:
        for n in [float(x) for x in args.sizes.split(",")]:
            ours = measure("accord", n, k, args.iters, args.timeout)
            peer = (
                measure("crowdkit", n, k, args.iters, args.timeout) if peers and n <= args.peer_max else None
            )
            print(row(n, k, ours, peer), flush=True)


def row(n: float, k: int, ours: dict | None, peer: dict | None) -> str:
    def cell(d, key, fmt="{:.2f}"):
        if d is None:
            return ""
        return d.get("error", "") if "error" in d else fmt.format(d[key])

    ratio = ""
    if ours and peer and "error" not in ours and "error" not in peer:
        ratio = f"{peer['fit'] / ours['fit']:.1f}x"
    accs = " / ".join(cell(d, "accuracy", "{:.4f}") for d in (ours, peer) if d)
    return (
        f"| {n:.0e} | {k} | {cell(ours, 'fit')} | {cell(ours, 'build')} | {cell(ours, 'peak_gb')} | "
        f"{cell(peer, 'fit')} | {cell(peer, 'peak_gb')} | {ratio} | {accs} |"
    )


if __name__ == "__main__":
    main()
