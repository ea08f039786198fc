"""Speed of GLAD, MACE and MMCE on synthetic Dawid-Skene data, beside crowd-kit's GLAD and MACE.

Usage (crowd-kit lives in the peers' environment, which also has accord installed):

    /work/venv-peers/bin/python benchmarks/speed_models.py       # 10^4, 10^5 vs crowd-kit, then 10^6
    python benchmarks/speed_models.py --sizes 1e4 --big none --skip-peers   # a quick run

Data: ``n`` annotations, 1000 annotators (fewer when ``n`` is small), 5 labels per item, 20% spammers (answer
from a fixed random distribution whatever the truth), the others with random confusion matrices of accuracy
0.6-0.95; classes drawn from a Dirichlet(2) prior. Timed: ``fit`` on the same long DataFrame
(``task``/``worker``/``label`` for crowd-kit, ``item``/``annotator``/``label`` for accord, so ours includes
building the ``Annotations``). Printed: two Markdown tables, one against crowd-kit (seconds, ratio, accuracy
against the synthetic truth) and one with every accord model at the big size.

BLAS is limited to one thread (``--blas-threads``) before NumPy loads: on a shared machine OpenBLAS's threads
slowed crowd-kit's conjugate-gradient (``np.dot``) by an order of magnitude, which would flatter our ratio.
"""

from __future__ import annotations

import argparse
import os
import sys


def _early_blas_threads() -> None:
    """Honour ``--blas-threads`` before NumPy is imported (default 1)."""
    value = "1"
    for j, arg in enumerate(sys.argv):
        if arg == "--blas-threads" and j + 1 < len(sys.argv):
            value = sys.argv[j + 1]
        elif arg.startswith("--blas-threads="):
            value = arg.split("=", 1)[1]
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, value)


_early_blas_threads()

import time
import warnings

import numpy as np
import pandas as pd

from accord.errors import ConvergenceWarning
from accord.models.glad import GLAD
from accord.models.mace import MACE
from accord.models.mmce import MMCE

OURS = {"glad": GLAD, "mace": MACE, "mmce": MMCE}


def synthetic(
    n_annotations: int,
    k: int,
    *,
    n_annotators: int = 1000,
    per_item: int = 5,
    spam_share: float = 0.2,
    seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Dawid-Skene data: ``(frame with item/annotator/label, truth per item)``."""
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
    annotator = _distinct_annotators(rng, n_items, per_item, n_annotators)
    cdf = np.cumsum(theta[annotator, truth[item]], axis=1)
    label = (rng.random(len(item))[:, None] > cdf).sum(axis=1).clip(0, k - 1)
    frame = pd.DataFrame({"item": item, "annotator": annotator, "label": label})
    return frame, truth


def _distinct_annotators(
    rng: np.random.Generator, n_items: int, per_item: int, n_annotators: int
) -> np.ndarray:
    """``per_item`` distinct annotators per item, vectorised: a random start and distinct random offsets."""
    start = rng.integers(0, n_annotators, size=n_items)
    offsets = _distinct_offsets(rng, n_items, per_item, n_annotators)
    picks = np.concatenate([start[:, None], (start[:, None] + offsets) % n_annotators], axis=1)
    return picks.ravel()


def _distinct_offsets(rng: np.random.Generator, n_items: int, per_item: int, n_annotators: int) -> np.ndarray:
    """``per_item - 1`` distinct offsets in ``1..n_annotators-1`` per row (rows with repeats redrawn)."""
    out = rng.integers(1, n_annotators, size=(n_items, per_item - 1))
    while True:
        s = np.sort(out, axis=1)
        bad = (s[:, 1:] == s[:, :-1]).any(axis=1)
        if not bad.any():
            return out
        out[bad] = rng.integers(1, n_annotators, size=(int(bad.sum()), per_item - 1))


def time_ours(name: str, frame: pd.DataFrame, truth: np.ndarray) -> tuple[float, float, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model = OURS[name]().fit(frame)
        seconds = time.perf_counter() - start
    pred = model.labels_.reindex(np.arange(len(truth))).to_numpy()
    return seconds, float(np.mean(pred == truth)), model


def time_peer(name: str, frame: pd.DataFrame, truth: np.ndarray) -> tuple[float, float]:
    from crowdkit import aggregation as ck

    cls = {"glad": ck.GLAD, "mace": ck.MACE}[name]
    df = frame.rename(columns={"item": "task", "annotator": "worker"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        labels = cls().fit_predict(df)
        seconds = time.perf_counter() - start
    pred = labels.reindex(np.arange(len(truth))).to_numpy()
    return seconds, float(np.mean(pred == truth))


def peers_available() -> str | None:
    try:
        import crowdkit  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means "no peer column"
        return f"crowd-kit not importable ({type(exc).__name__}: {exc}); peer columns skipped"
    return None


def peer_table(sizes: list[int], k: int, skip_peers: bool) -> str:
    note = "--skip-peers given; peer columns skipped" if skip_peers else peers_available()
    lines = [
        "| annotations | K | model | accord s | crowd-kit s | ratio | accord acc. | crowd-kit acc. |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        frame, truth = synthetic(n, k)
        for name in ("glad", "mace"):
            ours_s, ours_acc, model = time_ours(name, frame, truth)
            if note is None:
                peer_s, peer_acc = time_peer(name, frame, truth)
                cells = f"{peer_s:.2f} | {peer_s / ours_s:.0f}x | {ours_acc:.4f} | {peer_acc:.4f}"
            else:
                cells = f" | | {ours_acc:.4f} | "
            lines.append(f"| {n:.0e} | {k} | {name} ({_iters(model)}) | {ours_s:.3f} | {cells} |")
            print(lines[-1], flush=True)
    if note:
        lines.append(f"\n({note})")
    return "\n".join(lines)


def _iters(model: object) -> str:
    it = getattr(model, "n_iter_", None)
    restarts = getattr(model, "n_restarts", None)
    return f"{restarts} x {it} it." if restarts else f"{it} it."


def big_table(n: int, k: int, models: list[str]) -> str:
    frame, truth = synthetic(n, k)
    lines = ["| model | annotations | K | seconds | iterations | accuracy |", "|---|---|---|---|---|---|"]
    for name in models:
        seconds, acc, model = time_ours(name, frame, truth)
        lines.append(f"| {name} | {n:.0e} | {k} | {seconds:.1f} | {_iters(model)} | {acc:.4f} |")
        print(lines[-1], flush=True)
    return "\n".join(lines)


def _sizes(text: str) -> list[int]:
    return [] if text.lower() == "none" else [int(float(s)) for s in text.split(",") if s]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1e4,1e5", help="sizes compared with crowd-kit ('none' to skip)")
    parser.add_argument("--k", type=int, default=2, help="classes in the crowd-kit comparison (default 2)")
    parser.add_argument("--big", default="1e6", help="size at which every model is timed ('none': skip)")
    parser.add_argument("--big-k", type=int, default=5)
    parser.add_argument("--models", default="glad,mace,mmce")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--blas-threads", default="1", help="BLAS threads, set before NumPy loads")
    args = parser.parse_args()
    out = []
    if _sizes(args.sizes):
        out.append(peer_table(_sizes(args.sizes), args.k, args.skip_peers))
    for n in _sizes(args.big):
        out.append(big_table(n, args.big_k, args.models.split(",")))
    print("\n\n".join(out))


if __name__ == "__main__":
    main()
