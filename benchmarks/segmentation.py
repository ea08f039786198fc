"""Segmentation consensus: speed of STAPLE and per-pixel majority vote, and their Dice on synthetic masks.

Usage:

    python benchmarks/segmentation.py                 # timing (512 x 512 x 10) and the accuracy table
    python benchmarks/segmentation.py --repeats 3 --seeds 1   # a quicker run

Timing. One 512 x 512 image with 10 annotators (4 careful, 6 careless: 2% and 25% of pixels flipped, plus
boundary shifts) and a stack of 10 such images. Timed separately: reading the single image's masks from a
folder of PNGs (with Pillow), building the ``MaskSet`` from arrays (validation), ``fit`` (vote layout,
patterns, EM) and the result tables (``to_frame``, ``annotator_quality``).
Best and median of ``--repeats`` runs (the best is the figure to quote on a shared machine).

Accuracy. Synthetic images (128 x 128, 12 per scene) holding one to three random ellipses as the truth;
each annotator's mask is the truth moved at its boundary (eroded or dilated by a few pixels, by annotator),
with structures missed or added for some, and a share of pixels flipped at random. Scenes:

- ``mixed``: 2 careful annotators (1% flipped) and 3 careless (30% flipped);
- ``boundary``: 5 annotators who all flip 2% of pixels, 2 draw 1 px tight, 3 draw 3 px wide;
- ``one_good``: 1 careful annotator (1%) and 4 mediocre ones (15%);
- ``structures``: no random flips; 2 careful annotators (1 px boundary shift at most) and 3 careless ones
  who miss each structure with probability 0.4, add a spurious blob now and then (Poisson, mean 1) and shift
  boundaries by 1-2 px;
- ``multiclass``: three labels (background and two structures), 2 careful and 3 careless annotators, a
  careless pixel takes a uniformly random label.

Printed: mean Dice against the truth (mean over foreground labels for ``multiclass``), over the images and
``--seeds`` seeds, for majority vote and for STAPLE: the default (prior re-estimated, parameters per
annotator over all images), the classical fixed prior (``prior="item"``: the share of the image's mask pixels
given each label) and per-image parameters (``pooling="item"``). Dice over several labels is the mean over
the labels present in either mask, so a label the consensus invents on an image that has none scores 0.
``(n)`` after a score: n of the fits stopped at ``max_iter`` (a ``ConvergenceWarning``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from accord.errors import ConvergenceWarning
from accord.io.masks import MaskSet, has_pillow, read_masks, write_mask
from accord.tasks.segmentation import STAPLE, PixelMajorityVote, aggregate_masks

Masks = dict[str, dict[str, np.ndarray]]
Gold = dict[str, np.ndarray]


def ellipses(rng: np.random.Generator, size: int, n_labels: int = 2) -> np.ndarray:
    """A label map with one to three random ellipses, labels 1..n_labels-1."""
    yy, xx = np.mgrid[:size, :size]
    truth = np.zeros((size, size), dtype=np.int64)
    for _ in range(int(rng.integers(1, 4))):
        cy, cx = rng.uniform(0.2 * size, 0.8 * size, 2)
        ry, rx = rng.uniform(0.06 * size, 0.2 * size, 2)
        inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        truth[inside] = rng.integers(1, n_labels)
    return truth


def shift_boundary(truth: np.ndarray, pixels: int) -> np.ndarray:
    """Each label's region dilated (``pixels > 0``) or eroded (``< 0``) by ``|pixels|``."""
    if pixels == 0:
        return truth.copy()
    out = np.zeros_like(truth) if pixels < 0 else truth.copy()
    for label in range(1, int(truth.max()) + 1):
        region = truth == label
        moved = (
            ndimage.binary_dilation(region, iterations=pixels)
            if pixels > 0
            else (ndimage.binary_erosion(region, iterations=-pixels))
        )
        out[moved & ((out == 0) | (pixels < 0))] = label
    return out


def rater(
    rng: np.random.Generator, truth: np.ndarray, flip: float, shift: int, n_labels: int, miss: float = 0.0
) -> np.ndarray:
    """The truth with boundaries shifted by ``shift`` px, each structure missed with probability ``miss``
    (and a Poisson(1) number of spurious blobs added when ``miss > 0``), then a share ``flip`` of pixels
    changed at random."""
    mask = shift_boundary(truth, shift)
    if miss > 0:
        mask = miss_and_add(rng, mask, miss)
    noisy = rng.random(truth.shape) < flip
    if n_labels == 2:
        mask[noisy] = 1 - mask[noisy]
    else:
        mask[noisy] = rng.integers(0, n_labels, int(noisy.sum()))
    return mask


def miss_and_add(rng: np.random.Generator, mask: np.ndarray, miss: float) -> np.ndarray:
    out = mask.copy()
    regions, n = ndimage.label(mask > 0)
    dropped = np.nonzero(rng.random(n) < miss)[0] + 1
    out[np.isin(regions, dropped)] = 0
    yy, xx = np.mgrid[: mask.shape[0], : mask.shape[1]]
    for _ in range(int(rng.poisson(1.0))):
        cy, cx = rng.uniform(0.1, 0.9, 2) * mask.shape
        r = rng.uniform(0.03, 0.1) * mask.shape[0]
        out[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = 1
    return out


# scene -> ([(flip, boundary shift, miss) per annotator], number of labels)
SCENES: dict[str, tuple[list[tuple[float, int, float]], int]] = {
    "mixed": ([(0.01, 0, 0), (0.01, 1, 0), (0.30, 0, 0), (0.30, -1, 0), (0.30, 1, 0)], 2),
    "boundary": ([(0.02, -1, 0), (0.02, -1, 0), (0.02, 3, 0), (0.02, 3, 0), (0.02, 3, 0)], 2),
    "one_good": ([(0.01, 0, 0), (0.15, 0, 0), (0.15, 1, 0), (0.15, -1, 0), (0.15, 2, 0)], 2),
    "structures": ([(0, 0, 0), (0, 1, 0), (0, 2, 0.4), (0, -1, 0.4), (0, 1, 0.4)], 2),
    "multiclass": ([(0.01, 0, 0), (0.01, 1, 0), (0.40, 0, 0), (0.40, -1, 0), (0.40, 1, 0)], 3),
}


def scene(name: str, seed: int, n_images: int = 12, size: int = 128) -> tuple[Masks, Gold]:
    raters, n_labels = SCENES[name]
    rng = np.random.default_rng(seed)
    masks: Masks = {}
    gold: Gold = {}
    for t in range(n_images):
        truth = ellipses(rng, size, n_labels)
        gold[f"img{t}"] = truth
        masks[f"img{t}"] = {
            f"a{j}": rater(rng, truth, f, s, n_labels, miss) for j, (f, s, miss) in enumerate(raters)
        }
    return masks, gold


METHODS: dict[str, dict[str, Any]] = {
    "majority vote": {"method": "mv"},
    "STAPLE": {"method": "staple"},
    'STAPLE prior="item"': {"method": "staple", "prior": "item"},
    'STAPLE pooling="item"': {"method": "staple", "pooling": "item"},
}


def accuracy_table(seeds: int) -> list[str]:
    """Mean Dice per scene and method; ``(n)`` marks the fits (of ``seeds``) that stopped at ``max_iter``."""
    lines = ["| scene | " + " | ".join(METHODS) + " |", "|---" * (len(METHODS) + 1) + "|"]
    for name in SCENES:
        scores: dict[str, list[float]] = {m: [] for m in METHODS}
        capped = dict.fromkeys(METHODS, 0)
        for seed in range(seeds):
            masks, gold = scene(name, seed)
            for label, params in METHODS.items():
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ConvergenceWarning)
                    result = aggregate_masks(masks, gold=gold, **params)
                capped[label] += any(issubclass(w.category, ConvergenceWarning) for w in caught)
                scores[label].append(float(result.to_frame()["dice"].mean()))
        best = max(np.mean(v) for v in scores.values())
        cells = []
        for label, values in scores.items():
            cell = f"**{np.mean(values):.4f}**" if np.mean(values) == best else f"{np.mean(values):.4f}"
            cells.append(cell + (f" ({capped[label]})" if capped[label] else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def timed(fn: Callable[[], Any], repeats: int) -> tuple[str, Any]:
    """``"best / median"`` seconds of ``repeats`` calls, and the last result."""
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return f"{min(times):.3f} / {np.median(times):.3f}", out


def timing_table(repeats: int) -> list[str]:
    rng = np.random.default_rng(0)
    lines = [
        "| data | step | seconds (best / median) | EM iterations | distinct patterns |",
        "|---|---|---|---|---|",
    ]
    for n_images in (1, 10):
        arrays: Masks = {}
        for t in range(n_images):
            truth = ellipses(rng, 512)
            raters = [(0.02, 0), (0.02, 1), (0.02, -1), (0.02, 0)] + [(0.25, s) for s in (0, 1, -1, 2, -2, 0)]
            arrays[f"img{t}"] = {f"a{j}": rater(rng, truth, f, s, 2) for j, (f, s) in enumerate(raters)}
        label = f"{n_images} x 512 x 512 x 10"
        if n_images == 1 and has_pillow():
            with tempfile.TemporaryDirectory() as tmp:
                for item, per_item in arrays.items():
                    (Path(tmp) / item).mkdir()
                    for annotator, mask in per_item.items():
                        write_mask(Path(tmp) / item / f"{annotator}.png", mask)
                t_png, _ = timed(partial(read_masks, tmp), repeats)
            lines.append(f"| {label} | read_masks (folder of PNGs) | {t_png} | | |")
        t_read, masks = timed(partial(MaskSet.from_arrays, arrays), repeats)
        t_fit, model = timed(partial(STAPLE().fit, masks), repeats)
        t_mv, _ = timed(partial(PixelMajorityVote().fit, masks), repeats)
        t_tab, _ = timed(partial(_tables, model.consensus_), repeats)
        n_pat = len(model.consensus_.patterns.weight)
        lines += [
            f"| {label} | MaskSet.from_arrays | {t_read} | | |",
            f"| {label} | STAPLE fit | {t_fit} | {model.n_iter_} | {n_pat} |",
            f"| {label} | majority vote fit | {t_mv} | | |",
            f"| {label} | tables (to_frame, annotator_quality) | {t_tab} | | |",
        ]
    return lines


def _tables(result: Any) -> None:
    """Build the tables on a fresh result (they are cached properties)."""
    fresh = type(result)(
        result.method,
        result.items,
        result.annotators,
        result.shapes,
        result.layout,
        result.patterns,
        result.proba_array,
        result.label_codes,
    )
    fresh.to_frame()
    fresh.annotator_quality  # noqa: B018 -- computing it is the point


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timing runs per step (median)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per accuracy scene")
    args = parser.parse_args()
    print("\n".join(timing_table(args.repeats)))
    print()
    print("\n".join(accuracy_table(args.seeds)))


if __name__ == "__main__":
    main()
