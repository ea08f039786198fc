"""Fleiss' kappa and Krippendorff's alpha against hand-computed cases and published tables."""

from __future__ import annotations

import warnings
from itertools import permutations

import numpy as np
import pandas as pd
import pytest

from accord import Annotations
from accord.errors import DataQualityWarning, InvalidAnnotationsError
from accord.quality.agreement import (
    agreement_summary,
    coincidences,
    fleiss_kappa,
    krippendorff_alpha,
    observed_agreement,
)

# Fleiss (1971) as reproduced on Wikipedia: 10 subjects, 14 raters, 5 categories; kappa = 0.210.
FLEISS_TABLE = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example with missing values:
# 4 observers, 12 units; alpha = 0.743.
KRIPP_ROWS = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def kripp_annotations() -> Annotations:
    rows = [
        (f"u{u + 1}", who, v)
        for who, values in KRIPP_ROWS.items()
        for u, v in enumerate(values)
        if v is not None
    ]
    return Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))


def test_small_case_by_hand():
    # P_i = 1, 1, 1/3 -> P_bar = 7/9; p = (5/9, 4/9) -> P_e = 41/81; kappa = (7/9 - 41/81) / (40/81) = 0.55.
    counts = np.array([[3, 0], [0, 3], [2, 1]])
    assert fleiss_kappa(counts) == pytest.approx(0.55)
    assert observed_agreement(counts) == pytest.approx(7 / 9)
    # Coincidences: o = [[4, 1], [1, 3]], n_c = (5, 4), n = 9 -> alpha = 1 - 8 * 2 / (81 - 41) = 0.6.
    np.testing.assert_allclose(coincidences(counts), [[4, 1], [1, 3]])
    assert krippendorff_alpha(counts) == pytest.approx(0.6)


def test_fleiss_published_table():
    assert fleiss_kappa(FLEISS_TABLE) == pytest.approx(0.20993, abs=5e-5)
    assert observed_agreement(FLEISS_TABLE) == pytest.approx(0.37802, abs=5e-5)


def test_krippendorff_published_example_with_missing_data():
    ann = kripp_annotations()
    assert krippendorff_alpha(ann) == pytest.approx(0.743, abs=5e-4)
    o = coincidences(ann)
    assert o.sum() == 40  # 41 values, minus unit 12's lone value
    np.testing.assert_allclose(o.sum(axis=1), [9, 13, 10, 5, 3])  # the paper's n_c
    assert np.trace(o) == pytest.approx(32)


def test_unequal_raters_fleiss_by_hand():
    # Item sizes 2, 3, 4 (an item with one annotation is ignored).
    counts = np.array([[2, 0], [1, 2], [2, 2], [1, 0]])
    p_i = np.array([1.0, (0 + 2) / 6, (2 + 2) / 12])
    p = np.array([5, 4]) / 9
    expected = (p_i.mean() - np.sum(p**2)) / (1 - np.sum(p**2))
    assert fleiss_kappa(counts) == pytest.approx(expected)


def test_perfect_and_chance_agreement():
    perfect = np.array([[3, 0, 0], [0, 3, 0], [0, 0, 3]])
    assert fleiss_kappa(perfect) == pytest.approx(1.0)
    assert krippendorff_alpha(perfect) == pytest.approx(1.0)
    # Every item split evenly between the two classes: systematic disagreement, below zero.
    split = np.array([[1, 1]] * 6)
    assert fleiss_kappa(split) == pytest.approx(-1.0)
    assert krippendorff_alpha(split) < 0


def test_equal_raters_alpha_close_to_kappa_for_many_items():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 2000)
    labels = np.where(rng.random((2000, 5)) < 0.7, truth[:, None], rng.integers(0, 3, (2000, 5)))
    counts = np.stack([(labels == k).sum(axis=1) for k in range(3)], axis=1)
    kappa, alpha = fleiss_kappa(counts), krippendorff_alpha(counts)
    # alpha = kappa + (1 - kappa) / (n_total) for equal sizes; they agree to about 1e-4 here.
    assert alpha == pytest.approx(kappa, abs=1e-3)
    # Each label is right with probability 0.8 and otherwise uniform over the two others: pair agreement
    # 0.8^2 + 2 * 0.1^2 = 0.66 against 1/3 by chance, so kappa is about (0.66 - 1/3) / (2/3) = 0.49.
    assert kappa == pytest.approx(0.49, abs=0.02)


def test_invariant_to_class_and_item_permutation():
    ann = kripp_annotations()
    base = (fleiss_kappa(ann), krippendorff_alpha(ann))
    counts = ann.vote_counts()
    for perm in list(permutations(range(counts.shape[1])))[:6]:
        shuffled = counts[::-1][:, list(perm)]
        assert (fleiss_kappa(shuffled), krippendorff_alpha(shuffled)) == pytest.approx(base)


def test_annotations_and_counts_agree():
    ann = kripp_annotations()
    assert fleiss_kappa(ann) == pytest.approx(fleiss_kappa(ann.vote_counts()))


def test_undefined_cases_warn_and_return_nan():
    with pytest.warns(DataQualityWarning, match="same class"):
        assert np.isnan(fleiss_kappa(np.array([[2, 0], [3, 0]])))
    with pytest.warns(DataQualityWarning, match="pairable"):
        assert np.isnan(krippendorff_alpha(np.array([[1, 0], [0, 1]])))


def test_summary_reports_none_and_notes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = agreement_summary(np.array([[2, 0], [3, 0], [1, 0]]))
    assert summary["fleiss_kappa"] is None and summary["krippendorff_alpha"] is None
    assert summary["n_items_used"] == 2 and summary["observed_agreement"] == pytest.approx(1.0)
    assert any("same class" in note for note in summary["notes"])


def test_bad_input_is_a_clear_error():
    with pytest.raises(InvalidAnnotationsError, match="count table"):
        fleiss_kappa(np.array([1, 2, 3]))
    with pytest.raises(InvalidAnnotationsError, match="non-negative"):
        krippendorff_alpha(np.array([[1, -1]]))
