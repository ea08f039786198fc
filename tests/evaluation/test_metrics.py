"""Metrics against gold: accuracy, macro-F1, log loss, calibration error; redundancy curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accord import Annotations, DawidSkene, MajorityVote
from accord.errors import InvalidAnnotationsError, InvalidParameterError
from accord.evaluation import (
    accuracy,
    expected_calibration_error,
    log_loss,
    macro_f1,
    redundancy_curve,
)
from accord.evaluation.metrics import macro_f1_codes

PROBA = pd.DataFrame({"x": [0.9, 0.2, 0.6, 0.5], "y": [0.1, 0.8, 0.4, 0.5]}, index=["a", "b", "c", "d"])
GOLD = pd.Series({"a": "x", "b": "x", "c": "x", "d": "y", "unknown": "y"})


def test_accuracy_and_macro_f1_hand_computed():
    labels = pd.Series({"a": "x", "b": "y", "c": "x", "d": "x"})
    assert accuracy(labels, GOLD) == 0.5
    # class x: tp 2, fp 1, fn 1 -> F1 2*2/(4+1+1) = 2/3; class y: tp 0 -> 0
    assert macro_f1(labels, GOLD) == pytest.approx((2 / 3 + 0) / 2)


def _macro_f1_loop(pred, true):
    scores = []
    for c in np.unique(true):
        tp = np.sum((pred == c) & (true == c))
        fp = np.sum((pred == c) & (true != c))
        fn = np.sum((pred != c) & (true == c))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def test_macro_f1_codes_equals_the_per_class_loop():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, k = int(rng.integers(1, 30)), int(rng.integers(1, 6))
        true, pred = rng.integers(0, k, n), rng.integers(0, k + 1, n)  # pred may name a class gold lacks
        if rng.random() < 0.3:
            true, pred = true.astype(str), pred.astype(str)
        assert macro_f1_codes(pred, true) == _macro_f1_loop(pred, true)
    assert macro_f1_codes(np.array([1, 1]), np.array([0, 0])) == 0.0


def test_log_loss_hand_computed():
    expected = -(np.log(0.9) + np.log(0.2) + np.log(0.6) + np.log(0.5)) / 4
    assert log_loss(PROBA, GOLD) == pytest.approx(expected)
    # a hard miss is floored, not infinite
    hard = pd.DataFrame({"x": [1.0], "y": [0.0]}, index=["a"])
    assert log_loss(hard, pd.Series({"a": "y"})) == pytest.approx(-np.log(1e-15))
    # uniform posterior over K classes scores log K
    uniform = pd.DataFrame(np.full((3, 4), 0.25), columns=list("pqrs"))
    assert log_loss(uniform, pd.Series({0: "p", 1: "q", 2: "s"})) == pytest.approx(np.log(4))


def test_expected_calibration_error_hand_computed():
    # confidences 0.9 (right), 0.8 (wrong), 0.6 (right), 0.5 (top = x by the lowest-class rule; gold y: wrong)
    # bins of width 0.1: {0.9}: |1-0.9| ; {0.8}: |0-0.8| ; {0.6}: |1-0.6| ; {0.5}: |0-0.5|
    expected = (0.1 + 0.8 + 0.4 + 0.5) / 4
    assert expected_calibration_error(PROBA, GOLD) == pytest.approx(expected)
    # one bin: |accuracy - mean confidence|
    assert expected_calibration_error(PROBA, GOLD, n_bins=1) == pytest.approx(abs(0.5 - 0.7))
    perfect = pd.DataFrame({"x": [1.0, 0.0], "y": [0.0, 1.0]}, index=[1, 2])
    assert expected_calibration_error(perfect, pd.Series({1: "x", 2: "y"})) == 0.0


def test_gold_matching_by_text_and_errors():
    proba = pd.DataFrame({1: [0.7, 0.3], 2: [0.3, 0.7]}, index=[10, 20])  # integer items and classes
    gold = pd.Series(["1", "2"], index=["10", "20"])  # as read from a CSV
    assert log_loss(proba, gold) == pytest.approx(-np.log(0.7))
    with pytest.raises(InvalidAnnotationsError, match="not classes"):
        log_loss(PROBA, pd.Series({"a": "z"}))
    with pytest.raises(InvalidAnnotationsError, match="no gold item"):
        expected_calibration_error(PROBA, pd.Series({"zz": "x"}))
    with pytest.raises(InvalidParameterError, match="n_bins"):
        expected_calibration_error(PROBA, GOLD, n_bins=0)


def _one_coin(seed=0, n_items=120, per_item=7):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, size=n_items)
    rows = []
    for i in range(n_items):
        for a in rng.choice(10, size=per_item, replace=False):
            rows.append((i, a, int(truth[i] if rng.random() < 0.7 else 1 - truth[i])))
    ann = Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))
    return ann, pd.Series(truth, index=range(n_items))


def test_redundancy_curve_shape_and_values():
    ann, gold = _one_coin()
    curve = redundancy_curve("mv", ann, gold, levels=[1, 3, 7, "all"], repeats=4, random_state=0)
    assert list(curve.columns) == ["redundancy", "labels_per_item", "mean", "sem", "repeats"]
    assert curve["redundancy"].tolist() == [1, 3, 7, "all"]
    assert curve["labels_per_item"].tolist() == [1.0, 3.0, 7.0, 7.0]
    assert curve["repeats"].tolist() == [4, 4, 4, 1]
    # capping at the full redundancy or not capping at all gives the same fit
    full = accuracy(MajorityVote().fit(ann).labels_, gold)
    assert curve["mean"].iloc[2] == pytest.approx(full) and curve["mean"].iloc[3] == pytest.approx(full)
    assert curve["sem"].iloc[2] == 0.0 and curve["sem"].iloc[3] == 0.0
    # more labels per item, more accurate (70% annotators)
    assert curve["mean"].iloc[0] < curve["mean"].iloc[1] < curve["mean"].iloc[2]
    # mean and standard error are those of the individual repeats
    rng = np.random.default_rng(0)
    values = [accuracy(MajorityVote().fit(ann.subsample(1, rng)).labels_, gold) for _ in range(4)]
    assert curve["mean"].iloc[0] == pytest.approx(np.mean(values))
    assert curve["sem"].iloc[0] == pytest.approx(np.std(values, ddof=1) / 2)


def test_redundancy_curve_accepts_models_and_factories():
    ann, gold = _one_coin(seed=1, n_items=60)
    by_name = redundancy_curve("ds", ann, gold, levels=[2], repeats=2, random_state=3)
    by_model = redundancy_curve(DawidSkene(), ann, gold, levels=[2], repeats=2, random_state=3)
    by_factory = redundancy_curve(lambda: DawidSkene(), ann, gold, levels=[2], repeats=2, random_state=3)
    assert by_name["mean"].iloc[0] == by_model["mean"].iloc[0] == by_factory["mean"].iloc[0]
    with pytest.raises(InvalidParameterError, match="redundancy levels"):
        redundancy_curve("mv", ann, gold, levels=[0])
    with pytest.raises(InvalidParameterError, match="model"):
        redundancy_curve(3.5, ann, gold)
