"""Planning: the paper's numbers (appendix B and D), intervals, adaptive stopping, errors and the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accord import Annotations, InvalidParameterError
from accord.cli import main
from accord.datasets import load_dataset
from accord.planning import (
    adaptive_sample,
    annotations_for_width,
    interval_width,
    proportion_interval,
    simulate_adaptive,
    unanimous_lower_bound,
    workload,
)


# ---------------------------------------------------------------------------------------- the paper's numbers
def test_wald_widths_of_appendix_b3():
    assert interval_width(10, 0.5) == pytest.approx(0.62, abs=0.005)
    assert interval_width(50, 0.5) == pytest.approx(0.28, abs=0.005)
    assert annotations_for_width(0.62, 0.5) == 10
    assert annotations_for_width(0.28, 0.5) == 49  # 4 * 1.96^2 * 0.25 / 0.28^2 = 49.0 exactly
    assert annotations_for_width(0.277, 0.5) == 51


@pytest.mark.parametrize("a", range(1, 101))
def test_width_and_annotations_are_inverse(a):
    assert annotations_for_width(interval_width(a, 0.5), 0.5) == a


def test_width_is_largest_at_one_half():
    assert annotations_for_width(0.2, 0.1) < annotations_for_width(0.2, 0.3) < annotations_for_width(0.2, 0.5)
    assert annotations_for_width(0.2, 0.0) == 1


def test_unanimous_bound_of_appendix_b3():
    assert [round(unanimous_lower_bound(a), 2) for a in (3, 10, 50)] == [0.63, 0.87, 0.97]
    assert unanimous_lower_bound(10, base=0.05) == pytest.approx(0.05**0.1)


def test_workload_of_appendix_d():
    # 3,761 vertebrae, A_cons = 10, A^cons = 50, p_c = 0.5, with and without proposals, 2,500 a/h,
    # 5 annotators
    w = workload(3761, p_consensus=0.5, a_cons=10, a_total=50, per_hour=2500, n_annotators=5, n_conditions=2)
    assert w.annotations == pytest.approx(225_660)
    assert w.annotations == pytest.approx(225_000, rel=0.01)
    assert 18 <= w.hours_per_annotator <= 20
    assert w.hours == pytest.approx(225_660 / 2500)
    assert w.annotations_per_item == 60


def test_workload_formula_of_appendix_b2():
    # N = 10,000, A_cons = 10, A^cons = 50: p_c = 1 -> 10 per item, p_c = 0 -> 50 per item
    assert workload(10_000, p_consensus=1.0, per_hour=1000).hours == pytest.approx(100.0)
    assert workload(10_000, p_consensus=0.0, per_hour=1000).hours == pytest.approx(500.0)


# -------------------------------------------------------------------------------------------------- intervals
def test_proportion_intervals_by_hand():
    low, high = proportion_interval(8, 10, method="wald")
    half = 1.96 * np.sqrt(0.8 * 0.2 / 10)
    assert (low, high) == pytest.approx((0.8 - half, 1.0))  # clipped at 1
    low, high = proportion_interval(8, 10, method="wilson")
    assert (low, high) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    low, high = proportion_interval(np.array([0, 5]), np.array([0, 5]))
    assert low[0] == 0 and high[0] == 1  # no annotation: no information
    assert high[1] == pytest.approx(1.0) and low[1] == pytest.approx(0.5655, abs=1e-4)


# ------------------------------------------------------------------------------------------ adaptive stopping
def adaptive_data() -> Annotations:
    rows = [("easy", f"a{j}", "x") for j in range(8)]
    rows += [("hard", f"a{j}", "x" if j % 2 else "y") for j in range(8)]
    rows += [("tiny", "a0", "y"), ("tiny", "a1", "y")]
    return Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))


def test_adaptive_sample_by_hand():
    ann = adaptive_data()
    sample = adaptive_sample(ann, a_cons=3, a_total=6, random_state=0)
    kept = sample.annotations.item_sizes()
    assert kept.tolist() == [3, 6, 2]  # easy stops at 3; hard goes on to 6; tiny has only 2
    assert sample.stopped_early.tolist() == [True, False, True]
    assert sample.fixed.item_sizes().tolist() == [6, 6, 2]
    assert adaptive_sample(ann, a_cons=3, random_state=0).annotations.item_sizes().tolist() == [3, 8, 2]


def test_adaptive_sample_is_a_subset_of_fixed_and_deterministic():
    ann = adaptive_data()
    a = adaptive_sample(ann, a_cons=2, a_total=5, random_state=3)
    b = adaptive_sample(ann, a_cons=2, a_total=5, random_state=3)
    pairs = set(zip(a.annotations.item.tolist(), a.annotations.annotator.tolist(), strict=False))
    fixed = set(zip(a.fixed.item.tolist(), a.fixed.annotator.tolist(), strict=False))
    assert pairs <= fixed
    assert np.array_equal(a.annotations.annotator, b.annotations.annotator)


def test_adaptive_agreement_threshold():
    rows = [("i", f"a{j}", "x" if j < 9 else "y") for j in range(10)]
    ann = Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))
    assert not adaptive_sample(ann, a_cons=10, agreement=1.0).stopped_early[0]
    assert adaptive_sample(ann, a_cons=10, agreement=0.9).stopped_early[0]


def test_simulate_adaptive_on_real_data(data_dir):
    data = load_dataset(data_dir / "sp_amt")  # 20 labels per item
    table = simulate_adaptive(
        data.annotations, a_cons=5, a_total=20, gold=data.gold, n_repeats=2, random_state=0
    )
    assert len(table) == 2
    assert (table["annotations_fixed"] == 10_000).all()
    assert (table["saved_share"] > 0.2).all()  # many sentiment items are unanimous after 5
    assert (table["kl_fixed"] < 1e-9).all()  # a_total = all annotations: the reference itself
    assert (table["accuracy_adaptive"] > 0.9).all()
    assert np.allclose(
        table["saved_share"], table["stopped_share"] * 15 / 20, atol=1e-12
    )  # each stop saves 15 of 20


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: annotations_for_width(0), "width"),
        (lambda: annotations_for_width(-0.5), "width"),
        (lambda: annotations_for_width("wide"), "width"),
        (lambda: annotations_for_width(0.3, p=1.2), "p must be"),
        (lambda: interval_width(0), "integer >= 1"),
        (lambda: unanimous_lower_bound(3, base=1.0), "base"),
        (lambda: workload(100, p_consensus=0.5, a_cons=60, a_total=50), "cannot exceed"),
        (lambda: workload(100, p_consensus=1.5), "p_consensus"),
        (lambda: workload(100, p_consensus=0.5, per_hour=0), "per_hour"),
        (lambda: workload(0, p_consensus=0.5), "n_items"),
        (lambda: adaptive_sample(adaptive_data(), a_cons=0), "a_cons"),
        (lambda: adaptive_sample(adaptive_data(), a_cons=5, a_total=3), "a_total"),
        (lambda: proportion_interval(5, 3), "successes"),
        (lambda: proportion_interval(1, 3, method="exact"), "wilson"),
    ],
)
def test_planning_errors(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call()


# -------------------------------------------------------------------------------------------------------- CLI
def test_cli_plan_width(capsys):
    assert main(["plan", "--width", "0.62", "--p", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "annotations per item: 10 " in out and "(0.87, 1)" in out


def test_cli_plan_workload_and_width(capsys):
    assert (
        main(
            [
                "plan",
                "--items",
                "3761",
                "--p-consensus",
                "0.5",
                "--a-cons",
                "10",
                "--a-total",
                "50",
                "--per-hour",
                "2500",
                "--annotators",
                "5",
                "--conditions",
                "2",
                "--annotations",
                "50",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "225,660 annotations" in out and "18.1 hours per annotator" in out
    assert "after 50 annotations at p = 0.5: 0.277" in out


def test_cli_plan_errors(capsys):
    assert main(["plan"]) == 2
    assert "say what to plan" in capsys.readouterr().err
    assert main(["plan", "--width", "0"]) == 2
    assert "--width 0: the interval width must be above 0" in capsys.readouterr().err
