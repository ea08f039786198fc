"""Bounding-box consensus on synthetic data with known truth: consensus vs every single annotator.

Each item (a 640 x 480 image) holds 1 + Poisson(2) objects of 3 classes. Every annotator annotates every item:
they box each object with probability ``recall``, jitter its corners by ``jitter`` times the object's size,
give the right class with probability ``label_accuracy``, and add Poisson(``false_positives``) boxes at
random. Four careful annotators and one careless one. A box is a hit when it has the right class and
IoU >= 0.5 with an unmatched true object (greedy by IoU: ``accord.tasks.boxes.score_boxes``);
F1 = 2PR / (P + R); mean IoU over the hits.

    python benchmarks/boxes.py [--items 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

from accord.tasks.boxes import Boxes, aggregate_boxes, score_boxes

WIDTH, HEIGHT = 640.0, 480.0
CLASSES = ("car", "person", "bike")
# name: (recall, jitter, false positives per item, label accuracy)
PROFILES: dict[str, tuple[float, float, float, float]] = {
    "ann1": (0.92, 0.03, 0.15, 0.97),
    "ann2": (0.85, 0.05, 0.30, 0.95),
    "ann3": (0.80, 0.04, 0.20, 0.92),
    "ann4": (0.75, 0.06, 0.40, 0.90),
    "careless": (0.60, 0.15, 1.00, 0.60),
}


def _random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    w = rng.uniform(30, 200, n)
    h = rng.uniform(30, 200, n)
    return np.column_stack([rng.uniform(0, WIDTH - w), rng.uniform(0, HEIGHT - h), w, h])


def simulate(
    n_items: int = 300, seed: int = 0, profiles: dict[str, tuple[float, float, float, float]] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(boxes, seen, truth)``: the annotators' boxes, every (item, annotator) pair, the true objects."""
    rng = np.random.default_rng(seed)
    profiles = PROFILES if profiles is None else profiles
    n_obj = 1 + rng.poisson(2.0, n_items)
    truth = pd.DataFrame(_random_boxes(rng, int(n_obj.sum())), columns=["x", "y", "width", "height"])
    truth.insert(0, "item", np.repeat([f"img{i:04d}" for i in range(n_items)], n_obj))
    truth.insert(1, "label", rng.choice(CLASSES, len(truth)))
    frames = []
    for name, (recall, jitter, fp, label_acc) in profiles.items():
        frames.append(_annotate(rng, truth, name, recall, jitter, fp, label_acc, n_items))
    boxes = pd.concat(frames, ignore_index=True)
    items = [f"img{i:04d}" for i in range(n_items)]
    seen = pd.DataFrame([(i, a) for i in items for a in profiles], columns=["item", "annotator"])
    return boxes, seen, truth


def _annotate(rng: np.random.Generator, truth: pd.DataFrame, name: str, recall: float, jitter: float,
              fp: float, label_acc: float, n_items: int) -> pd.DataFrame:  # fmt: skip
    found = truth[rng.random(len(truth)) < recall]
    xywh = found[["x", "y", "width", "height"]].to_numpy()
    scale = np.column_stack([xywh[:, 2], xywh[:, 3], xywh[:, 2], xywh[:, 3]])
    corners = (
        np.column_stack([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]]) + rng.normal(0, jitter, scale.shape) * scale
    )
    corners[:, 2:] = np.maximum(corners[:, 2:], corners[:, :2] + 2.0)
    labels = found["label"].to_numpy().copy()
    wrong = rng.random(len(labels)) >= label_acc
    labels[wrong] = [rng.choice([c for c in CLASSES if c != lab]) for lab in labels[wrong]]
    n_fp = rng.poisson(fp, n_items)
    fp_boxes = _random_boxes(rng, int(n_fp.sum()))
    out = pd.DataFrame(
        {
            "item": np.r_[found["item"].to_numpy(), np.repeat([f"img{i:04d}" for i in range(n_items)], n_fp)],
            "label": np.r_[labels, rng.choice(CLASSES, len(fp_boxes))],
            "x": np.r_[corners[:, 0], fp_boxes[:, 0]],
            "y": np.r_[corners[:, 1], fp_boxes[:, 1]],
            "width": np.r_[corners[:, 2] - corners[:, 0], fp_boxes[:, 2]],
            "height": np.r_[corners[:, 3] - corners[:, 1], fp_boxes[:, 3]],
        }
    )
    out.insert(1, "annotator", name)
    return out


def to_label_studio(boxes: pd.DataFrame, seen: pd.DataFrame) -> list[dict[str, Any]]:
    """The boxes as a Label Studio JSON export (percent units), one annotation per (item, annotator)."""
    tasks = []
    by_pair = dict(tuple(boxes.groupby(["item", "annotator"])))
    for t, (item, annotators) in enumerate(seen.groupby("item")["annotator"]):
        anns = []
        for k, annotator in enumerate(annotators):
            rows = by_pair.get((item, annotator), boxes.iloc[:0])
            result = [
                {
                    "id": f"r{t}-{k}-{n}", "type": "rectanglelabels",
                    "from_name": "label", "to_name": "image",
                    "original_width": WIDTH, "original_height": HEIGHT, "image_rotation": 0,
                    "value": {"x": 100 * r.x / WIDTH, "y": 100 * r.y / HEIGHT, "width": 100 * r.width / WIDTH,
                              "height": 100 * r.height / HEIGHT, "rotation": 0, "rectanglelabels": [r.label]},
                }
                for n, r in enumerate(rows.itertuples())
            ]  # fmt: skip
            anns.append(
                {"id": 1000 * t + k, "completed_by": annotator, "result": result, "was_cancelled": False}
            )
        tasks.append({"id": t + 1, "data": {"image": f"/data/{item}.jpg", "name": item}, "annotations": anns})
    return tasks


def majority_baseline(result: Any, n_annotators: int) -> pd.DataFrame:
    """The same clusters, kept when at least half the annotators boxed them; most frequent label, plain mean
    box: what the EM and the quality weights add."""
    per_box = result.box_quality
    grouped = per_box.groupby("cluster")
    out = grouped[["x", "y", "width", "height"]].mean()
    out["item"] = grouped["item"].first()
    out["label"] = grouped["label"].agg(lambda v: v.value_counts().index[0])
    return out[grouped.size() >= n_annotators / 2].reset_index(drop=True)


def run(n_items: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """``(scores, annotator table, seconds)``: a row per method (consensus, then each annotator)."""
    boxes, seen, truth = simulate(n_items, seed)
    start = time.perf_counter()
    result = aggregate_boxes(Boxes.from_frame(boxes, seen=seen))
    seconds = time.perf_counter() - start
    rows = {"consensus": score_boxes(result, truth)._asdict()}
    majority = majority_baseline(result, boxes["annotator"].nunique())
    rows["majority clusters, mean box"] = score_boxes(majority, truth)._asdict()
    for name, own in boxes.groupby("annotator"):
        rows[str(name)] = score_boxes(own, truth)._asdict()
    return pd.DataFrame(rows).T, result.annotator_quality, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    table, quality, seconds = run(args.items, args.seed)
    print(f"{args.items} items, seed {args.seed}, aggregate_boxes in {seconds:.2f} s\n")
    print("| method | precision | recall | F1 | mean IoU |\n|---|---|---|---|---|")
    for name, r in table.iterrows():
        print(f"| {name} | {r.precision:.3f} | {r.recall:.3f} | {r.f1:.3f} | {r.mean_iou:.3f} |")
    print("\nestimated annotator quality (true recall, jitter, false positives per item, label accuracy:",
          ", ".join(f"{k} {v}" for k, v in PROFILES.items()) + ")")  # fmt: skip
    print(quality.round(3).to_string())


if __name__ == "__main__":
    main()
