"""Bounding-box consensus: IoU, matching, EM over clusters, fusion, the result, the synthetic benchmark."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from accord.errors import ConvergenceWarning, InvalidAnnotationsError, InvalidParameterError
from accord.tasks._box_em import build_responses, m_step
from accord.tasks._box_match import cluster_boxes, cluster_item
from accord.tasks.boxes import (
    BOX_PARAMS,
    BoxConsensus,
    Boxes,
    aggregate_boxes,
    box_table,
    candidate_pairs,
    greedy_match,
    iou_matrix,
    paired_iou,
    score_boxes,
)

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "boxes.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("accord_bench_boxes", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item", "annotator", "label", "x", "y", "width", "height"])


# ---------------------------------------------------------------------------------------------- IoU
def test_iou_of_two_boxes_by_hand() -> None:
    # A = [0,4]x[0,4], B = [2,6]x[2,6]: intersection 2*2 = 4, union 16 + 16 - 4 = 28
    assert iou_matrix([[0, 0, 4, 4]], [[2, 2, 4, 4]])[0, 0] == pytest.approx(4 / 28)
    assert paired_iou(np.array([[0, 0, 4, 4]]), np.array([[2, 2, 4, 4]]))[0] == pytest.approx(1 / 7)


def test_iou_matrix_cases() -> None:
    a = np.array([[0, 0, 4, 4], [10, 10, 2, 2]], dtype=float)
    b = np.array([[1, 1, 2, 2], [0, 0, 4, 4], [4, 0, 4, 4]], dtype=float)
    got = iou_matrix(a, b)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got[0], [4 / 16, 1.0, 0.0])  # contained, equal, touching edges
    np.testing.assert_allclose(got[1], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(iou_matrix(a), iou_matrix(a).T)


def test_iou_does_not_depend_on_units() -> None:
    rng = np.random.default_rng(0)
    px = np.column_stack([rng.uniform(0, 500, (20, 2)), rng.uniform(10, 100, (20, 2))])
    percent = px / np.array([640, 480, 640, 480]) * 100
    np.testing.assert_allclose(iou_matrix(px), iou_matrix(percent), atol=1e-12)


# ---------------------------------------------------------------------------------------------- matching
def test_matching_keeps_one_box_per_annotator_per_cluster() -> None:
    boxes = np.array([[0, 0, 10, 10], [0.5, 0, 10, 10], [0, 0.5, 10, 10]], dtype=float)
    assert cluster_item(boxes, np.array([0, 0, 1]), None, 0.5).tolist() in ([0, 1, 0], [0, 1, 1])
    assert len(set(cluster_item(boxes, np.array([0, 1, 2]), None, 0.5).tolist())) == 1


def test_matching_by_label() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    assert cluster_item(boxes, np.array([0, 1]), np.array([0, 1]), 0.5).tolist() == [0, 1]
    assert cluster_item(boxes, np.array([0, 1]), None, 0.5).tolist() == [0, 0]


def test_matching_threshold_is_on_average_iou() -> None:
    boxes = np.array([[0, 0, 4, 4], [2, 2, 4, 4]], dtype=float)  # IoU 1/7
    assert cluster_item(boxes, np.array([0, 1]), None, 0.15).tolist() == [0, 1]
    assert cluster_item(boxes, np.array([0, 1]), None, 0.14).tolist() == [0, 0]


def _naive_clusters(xywh: np.ndarray, annotator: np.ndarray, threshold: float) -> set[frozenset[int]]:
    """Reference: merge the admissible pair of clusters with the highest average IoU, one at a time."""
    iou = iou_matrix(xywh)
    clusters = [[k] for k in range(len(xywh))]
    while True:
        best, pair = -1.0, None
        for a in range(len(clusters)):
            for b in range(a + 1, len(clusters)):
                if set(annotator[clusters[a]]) & set(annotator[clusters[b]]):
                    continue
                link = np.mean([iou[i, j] for i in clusters[a] for j in clusters[b]])
                if link > best:
                    best, pair = link, (a, b)
        if pair is None or best < threshold:
            return {frozenset(c) for c in clusters}
        a, b = pair
        clusters[a] += clusters.pop(b)


def test_matching_equals_a_naive_reference() -> None:
    rng = np.random.default_rng(11)
    for _ in range(30):
        n_obj, n_ann = rng.integers(1, 5), rng.integers(2, 6)
        objects = np.column_stack([rng.uniform(0, 100, (n_obj, 2)), rng.uniform(10, 40, (n_obj, 2))])
        rows = [(a, objects[o] + rng.normal(0, 3, 4)) for a in range(n_ann) for o in range(n_obj)
                if rng.random() < 0.8]  # fmt: skip
        if not rows:
            continue
        annotator = np.array([a for a, _ in rows])
        xywh = np.abs(np.array([b for _, b in rows])) + np.array([0, 0, 1, 1])
        got = cluster_item(xywh, annotator, None, 0.5)
        assert {frozenset(np.flatnonzero(got == c).tolist()) for c in np.unique(got)} == _naive_clusters(
            xywh, annotator, 0.5
        )


def test_batched_matching_equals_item_by_item() -> None:
    rng = np.random.default_rng(7)
    n = 400
    item = rng.integers(0, 60, n)
    annotator = rng.integers(0, 5, n)
    label = rng.integers(0, 2, n)
    xywh = np.column_stack([rng.uniform(0, 50, (n, 2)), rng.uniform(5, 30, (n, 2))])
    for by_label in (False, True):
        got = cluster_boxes(item, annotator, label, xywh, by_label=by_label, max_batch_cells=500)
        for g in np.unique(item):
            idx = np.flatnonzero(item == g)
            order = idx[np.lexsort((xywh[idx, 3], xywh[idx, 2], xywh[idx, 1], xywh[idx, 0]))]
            one = cluster_item(xywh[order], annotator[order], label[order] if by_label else None, 0.5)
            _, expected = np.unique(one, return_inverse=True)
            _, actual = np.unique(got[order], return_inverse=True)
            assert actual.tolist() == expected.tolist()
            for c in np.unique(got[order]):  # one box per annotator per cluster
                members = annotator[order][got[order] == c]
                assert len(members) == len(set(members))
        assert np.unique(got).tolist() == list(range(got.max() + 1))


def test_responses_add_a_no_box_row_for_every_annotator_of_the_item() -> None:
    # item 0: annotators 0, 1, 2 annotated it; cluster 0 = boxes of 0 and 1, cluster 1 = a box of 2;
    # item 1: annotators 0 and 2; cluster 2 = a box of 0 (label 1)
    rows = build_responses(
        cluster=np.array([0, 0, 1, 2]), annotator=np.array([0, 1, 2, 0]), label=np.array([0, 0, 0, 1]),
        cluster_item=np.array([0, 0, 1]), seen_item=np.array([0, 0, 0, 1, 1]),
        seen_annotator=np.array([0, 1, 2, 0, 2]), n_annotators=3, n_classes=2,
    )  # fmt: skip
    got = sorted(zip(rows.cluster.tolist(), rows.annotator.tolist(), rows.response.tolist(), strict=True))
    assert got == [(0, 0, 1), (0, 1, 1), (0, 2, 0), (1, 0, 0), (1, 1, 0), (1, 2, 1), (2, 0, 2), (2, 2, 0)]


def test_posterior_is_bayes_rule_under_the_fitted_parameters() -> None:
    result = aggregate_boxes(_three_agree())
    fit, rows = result.fit, result._responses
    theta, prior = m_step(rows, fit.posterior, 0.5, 1.0, 1.0)
    for c in range(rows.n_clusters):
        mine = rows.cluster == c
        joint = prior * np.prod(theta[rows.annotator[mine], :, rows.response[mine]], axis=0)
        np.testing.assert_allclose(fit.posterior[c], joint / joint.sum(), atol=1e-4)


# ---------------------------------------------------------------------------------------------- aggregate
def _three_agree() -> pd.DataFrame:
    rows = []
    for i in range(6):
        item = f"img{i}"
        rows += [(item, "ann", "car", 10, 10, 100, 50), (item, "bob", "car", 12, 11, 98, 52),
                 (item, "cy", "car", 11, 9, 101, 50), (item, "cy", "car", 300 + i, 300, 20, 20)]  # fmt: skip
    return _frame(rows)


def test_aggregate_finds_the_agreed_box_and_drops_the_false_positive() -> None:
    result = aggregate_boxes(_three_agree())
    out = result.to_frame()
    assert list(out.columns) == ["item", "label", "x", "y", "width", "height", "confidence", "n_annotators"]
    assert len(out) == 6 and set(out["n_annotators"]) == {3}
    assert (out["confidence"] > 0.9).all()
    assert out["x"].between(10, 12).all() and out["width"].between(98, 101).all()
    quality = result.annotator_quality
    assert quality.loc["cy", "precision"] < 0.6 < quality.loc["ann", "precision"]
    assert quality.loc["cy", "false_positives_per_item"] > 0.8
    assert result.clusters["kept"].sum() == 6


def test_fused_box_is_the_weighted_mean_of_equally_good_annotators() -> None:
    rows = [(f"i{k}", a, "car", x + k, 0, 10, 10) for k in range(8) for a, x in (("u", 0.0), ("v", 1.0))]
    result = aggregate_boxes(_frame(rows))
    out = result.to_frame()
    np.testing.assert_allclose(out["x"].to_numpy() - np.arange(8), 0.5, atol=1e-6)
    np.testing.assert_allclose(out["width"], 10.0)


def test_annotated_items_without_boxes_lower_recall() -> None:
    rows = [(f"i{k}", a, "car", 0, 0, 10, 10) for k in range(6) for a in ("u", "v", "w")]
    rows = [r for r in rows if not (r[1] == "w" and r[0] in ("i0", "i1", "i2"))]
    seen = pd.DataFrame({"item": [f"i{k}" for k in range(6)], "annotator": "w"})
    with_seen = aggregate_boxes(Boxes.from_frame(_frame(rows), seen=seen)).annotator_quality
    without = aggregate_boxes(_frame(rows)).annotator_quality
    assert with_seen.loc["w", "n_items"] == 6 and without.loc["w", "n_items"] == 3
    assert with_seen.loc["w", "recall"] < 0.6 < without.loc["w", "recall"]
    assert with_seen.loc["u", "recall"] > 0.9


def test_label_confusion_is_learned() -> None:
    rows = [(f"i{k}", a, "car", 0, 0, 10, 10) for k in range(10) for a in ("u", "v")]
    rows += [(f"i{k}", "w", "truck", 0, 0, 10, 10) for k in range(10)]
    result = aggregate_boxes(_frame(rows))
    assert set(result.to_frame()["label"]) == {"car"}
    conf = result.label_confusion("w")
    np.testing.assert_allclose(conf.sum(axis=1), 1.0)
    assert conf.loc["car", "truck"] > 0.7
    assert result.annotator_quality.loc["w", "label_accuracy"] < 0.2
    assert result.annotator_quality.loc["u", "label_accuracy"] > 0.8
    by_label = aggregate_boxes(_frame(rows), by_label=True)
    assert by_label.annotator_quality.loc["w", "precision"] < 0.5  # now the truck boxes are false positives


def test_renaming_and_shuffling_change_nothing() -> None:
    bench = _bench()
    boxes, seen, _ = bench.simulate(40, seed=3)
    base = aggregate_boxes(Boxes.from_frame(boxes, seen=seen)).to_frame()
    names = {"ann1": "zz", "ann2": "aa", "ann3": "mm", "ann4": "bb", "careless": "c0"}
    shuffled = boxes.sample(frac=1.0, random_state=1).replace({"annotator": names})
    seen2 = seen.replace({"annotator": names}).sample(frac=1.0, random_state=2)
    other = aggregate_boxes(Boxes.from_frame(shuffled, seen=seen2)).to_frame()
    pd.testing.assert_frame_equal(base, other, check_exact=False, rtol=1e-9)


def test_synthetic_consensus_beats_every_annotator() -> None:
    bench = _bench()
    table, quality, _ = bench.run(n_items=80, seed=0)
    single = table.drop(index=["consensus", "majority clusters, mean box"])
    assert table.loc["consensus", "f1"] > single["f1"].max() + 0.02
    assert table.loc["consensus", "mean_iou"] > 0.85
    assert quality["recall"].idxmin() == "careless" and quality["localisation_sd"].idxmax() == "careless"
    assert (
        quality.loc["careless", "false_positives_per_item"]
        > 2 * quality.drop(index="careless")["false_positives_per_item"].max()
    )
    assert quality.loc["ann1", "recall"] == pytest.approx(0.92, abs=0.06)


def test_outputs(tmp_path: Path) -> None:
    result = aggregate_boxes(_three_agree())
    assert isinstance(result, BoxConsensus) and "6 consensus boxes" in repr(result)
    result.to_csv(tmp_path / "boxes.csv", annotators_path=tmp_path / "annotators.csv")
    header = (tmp_path / "boxes.csv").read_text().splitlines()[0]
    assert header == "item,label,x,y,width,height,confidence,n_annotators"
    annotators = pd.read_csv(tmp_path / "annotators.csv")
    assert list(annotators.columns) == ["annotator", "n_items", "n_boxes", "recall", "precision",
                                        "false_positives_per_item", "mean_iou", "label_accuracy",
                                        "localisation_sd"]  # fmt: skip
    quality = result.box_quality
    assert len(quality) == 24 and quality["iou"].between(0, 1).all()
    assert result.history["iteration"].iloc[-1] == result.fit.n_iter


def test_box_params_are_the_keyword_arguments() -> None:
    import inspect

    names = [p for p in inspect.signature(aggregate_boxes).parameters if p != "boxes"]
    assert tuple(names) == BOX_PARAMS
    assert set(aggregate_boxes(_three_agree()).params) == set(BOX_PARAMS)


def test_deterministic() -> None:
    a = aggregate_boxes(_three_agree()).to_frame()
    pd.testing.assert_frame_equal(a, aggregate_boxes(_three_agree()).to_frame())


def test_convergence_warning() -> None:
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        aggregate_boxes(_three_agree(), max_iter=1)


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda df: df.drop(columns="width"), "no width column"),
        (lambda df: df.assign(width=df["width"].where(df.index != 2, -1)), r"positive.*row\(s\) 2"),
        (
            lambda df: df.assign(x=df["x"].astype(object).where(df.index != 1, "left")),
            r"x is missing.*row\(s\) 1",
        ),
        (lambda df: df.assign(label=df["label"].where(df.index != 3, None)), r"missing label in row\(s\) 3"),
    ],
)
def test_bad_boxes_are_refused_with_the_rows(
    change: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    with pytest.raises(InvalidAnnotationsError, match=message):
        Boxes.from_frame(change(_three_agree()))


def test_declared_classes() -> None:
    with pytest.raises(InvalidAnnotationsError, match="'car'.*declared classes"):
        Boxes.from_frame(_three_agree(), classes=["truck"])
    assert list(Boxes.from_frame(_three_agree(), classes=["truck", "car"]).classes) == ["truck", "car"]


@pytest.mark.parametrize(
    "kwargs", [{"iou_threshold": 0.0}, {"iou_threshold": 1.5}, {"min_confidence": 2.0}, {"alpha": 0.0}]
)
def test_bad_parameters(kwargs: dict) -> None:
    with pytest.raises(InvalidParameterError):
        aggregate_boxes(_three_agree(), **kwargs)


def test_no_boxes_and_unknown_annotator() -> None:
    empty = Boxes.from_frame(_three_agree().iloc[:0], seen=pd.DataFrame({"item": ["a"], "annotator": ["u"]}))
    with pytest.raises(InvalidAnnotationsError, match="no boxes"):
        aggregate_boxes(empty)
    with pytest.raises(InvalidParameterError, match="unknown annotator"):
        aggregate_boxes(_three_agree()).label_confusion("nobody")


# ---------------------------------------------------------------------------------------------- scoring
def _gold(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item", "label", "x", "y", "width", "height"])


def test_score_boxes_by_hand() -> None:
    gold = _gold([("a", "cat", 0, 0, 4, 4), ("a", "dog", 10, 0, 4, 4), ("b", "cat", 0, 0, 2, 2)])
    # pred 1: IoU 12/20 = 0.6 with the cat; pred 2 on the dog's place but labelled cat; pred 3 far away
    pred = _gold([("a", "cat", 1, 0, 4, 4), ("a", "cat", 10, 0, 4, 4), ("b", "cat", 50, 50, 2, 2)])
    s = score_boxes(pred, gold)
    assert (s.n_matched, s.n_predicted, s.n_gold) == (1, 3, 3)
    assert s.precision == pytest.approx(1 / 3) and s.recall == pytest.approx(1 / 3)
    assert s.f1 == pytest.approx(1 / 3) and s.mean_iou == pytest.approx(0.6)
    geometry = score_boxes(pred, gold, by_label=False)
    assert geometry.n_matched == 2 and geometry.mean_iou == pytest.approx((0.6 + 1.0) / 2)
    assert score_boxes(pred, gold, iou=0.7).n_matched == 0
    assert np.isnan(score_boxes(pred, gold, iou=0.7).mean_iou) and score_boxes(pred, gold, iou=0.7).f1 == 0.0
    assert score_boxes(gold, gold) == (1.0, 1.0, 1.0, 1.0, 3, 3, 3)


def test_score_boxes_is_one_to_one_and_greedy_by_iou() -> None:
    gold = _gold([("a", "cat", 0, 0, 10, 10)])
    pred = _gold([("a", "cat", 1, 0, 10, 10), ("a", "cat", 0, 0, 10, 10), ("a", "cat", 0, 1, 10, 10)])
    s = score_boxes(pred, gold)
    assert s.n_matched == 1 and s.mean_iou == 1.0 and s.precision == pytest.approx(1 / 3)
    # two gold boxes, two predictions: the best pair first, then what is left
    gold2 = _gold([("a", "cat", 0, 0, 10, 10), ("a", "cat", 2, 0, 10, 10)])
    pred2 = _gold([("a", "cat", 1, 0, 10, 10), ("a", "cat", 2, 0, 10, 10)])
    s2 = score_boxes(pred2, gold2)
    assert s2.n_matched == 2 and s2.mean_iou == pytest.approx((1.0 + 9 / 11) / 2)


def test_score_boxes_items_without_gold_and_id_types() -> None:
    gold = _gold([(1, "cat", 0, 0, 4, 4)])
    pred = _gold([("1", "cat", 0, 0, 4, 4), ("2", "cat", 0, 0, 4, 4)])
    assert score_boxes(pred, gold).precision == 1.0  # item 2 has no gold: not scored
    assert score_boxes(pred, gold, gold_items_only=False).precision == 0.5
    empty = score_boxes(pred.iloc[:0], gold)
    assert empty[:3] == (0.0, 0.0, 0.0) and empty[4:] == (0, 0, 1) and np.isnan(empty.mean_iou)


def _reference_score(pred: pd.DataFrame, gold: pd.DataFrame, threshold: float) -> tuple[int, float]:
    """Item by item, pair by pair: the plain greedy loop."""
    matched: list[float] = []
    for item in gold["item"].unique():
        p, g = pred[pred["item"] == item], gold[gold["item"] == item]
        cols = ["x", "y", "width", "height"]
        overlap = iou_matrix(p[cols].to_numpy(float), g[cols].to_numpy(float))
        p_labels, g_labels = p["label"].tolist(), g["label"].tolist()
        pairs = []
        for i in range(len(p)):
            for j in range(len(g)):
                if p_labels[i] == g_labels[j] and overlap[i, j] >= threshold:
                    pairs.append((-float(overlap[i, j]), i, j))
        used_p, used_g = set(), set()
        for v, i, j in sorted(pairs):
            if i not in used_p and j not in used_g:
                used_p.add(i)
                used_g.add(j)
                matched.append(-v)
    return len(matched), float(np.mean(matched)) if matched else float("nan")


def _random_boxes(rng: np.random.Generator, n: int) -> pd.DataFrame:
    items, labels = rng.integers(0, 6, n), rng.choice(["a", "b"], n)
    frame = _gold([(f"i{k}", lab, 0, 0, 1, 1) for k, lab in zip(items, labels, strict=True)])
    frame[["x", "y"]] = rng.uniform(0, 30, (n, 2))
    frame[["width", "height"]] = rng.uniform(5, 15, (n, 2))
    return frame


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_score_boxes_equals_a_plain_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_gold, n_pred = 60, 80
    gold = _random_boxes(rng, n_gold)
    jitter = gold.sample(n=50, random_state=seed).reset_index(drop=True)
    jitter[["x", "y"]] += rng.normal(0, 2, (50, 2))
    extra = _random_boxes(rng, n_pred - 50)
    pred = pd.concat([jitter, extra], ignore_index=True)
    for threshold in (0.3, 0.5):
        m, mean_iou = _reference_score(pred, gold, threshold)
        s = score_boxes(pred, gold, iou=threshold)
        assert s.n_matched == m and s.mean_iou == pytest.approx(mean_iou)
        shuffled = score_boxes(pred.sample(frac=1.0, random_state=3), gold.sample(frac=1.0, random_state=4),
                               iou=threshold)  # fmt: skip
        assert shuffled.n_matched == m and shuffled.mean_iou == pytest.approx(mean_iou)


def test_greedy_match_equals_the_sequential_greedy() -> None:
    rng = np.random.default_rng(0)
    left, right = rng.integers(0, 30, 400), rng.integers(0, 25, 400)
    keep = ~pd.DataFrame({"l": left, "r": right}).duplicated().to_numpy()
    left, right = left[keep], right[keep]
    score = rng.random(len(left))
    chosen = greedy_match(left, right, score)
    expected = np.zeros(len(left), dtype=bool)
    used_l, used_r = set(), set()
    for k in np.argsort(-score, kind="stable"):
        if left[k] not in used_l and right[k] not in used_r:
            expected[k] = True
            used_l.add(left[k])
            used_r.add(right[k])
    np.testing.assert_array_equal(chosen, expected)
    assert greedy_match(np.array([], int), np.array([], int), np.array([])).tolist() == []


def test_candidate_pairs_are_all_pairs_with_equal_keys() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 5, 30), rng.integers(0, 5, 20)
    i, j = candidate_pairs(a, b)
    got = sorted(zip(i.tolist(), j.tolist(), strict=True))
    assert got == [(p, q) for p in range(30) for q in range(20) if a[p] == b[q]]


def test_score_boxes_takes_a_consensus() -> None:
    result = aggregate_boxes(_three_agree())
    truth = result.to_frame()[["item", "label", "x", "y", "width", "height"]]
    assert score_boxes(result, truth) == score_boxes(result.to_frame(), truth)
    assert score_boxes(result, truth).f1 == 1.0


def test_score_boxes_errors() -> None:
    gold = _gold([("a", "cat", 0, 0, 4, 4)])
    with pytest.raises(InvalidParameterError, match="iou"):
        score_boxes(gold, gold, iou=0.0)
    with pytest.raises(InvalidAnnotationsError, match="no true boxes"):
        score_boxes(gold, gold.iloc[:0])
    with pytest.raises(InvalidAnnotationsError, match="the true boxes: no height column"):
        score_boxes(gold, gold.drop(columns="height"))
    with pytest.raises(InvalidAnnotationsError, match="width and height must be positive"):
        box_table(gold.assign(width=0))
