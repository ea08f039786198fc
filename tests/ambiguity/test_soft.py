"""Soft labels, KL divergence and the Figure-4 dataset statistics: hand-computed cases, errors, CLI."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from accord import Annotations, Consensus, DawidSkene, InvalidAnnotationsError, InvalidParameterError
from accord.ambiguity.soft import (
    dataset_statistics,
    kl_divergence,
    mean_kl_divergence,
    soft_consensus,
    soft_labels,
)
from accord.cli import main
from accord.datasets import load_dataset


def small() -> Annotations:
    rows = [
        ("i1", "a", "x"),
        ("i1", "b", "x"),
        ("i1", "c", "y"),
        ("i1", "d", "x"),
        ("i2", "a", "y"),
        ("i2", "b", "z"),
        ("i3", "c", "z"),
    ]
    return Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))


# ------------------------------------------------------------------------------------------------ soft labels
def test_vote_fractions_by_hand():
    soft = soft_labels(small())
    assert isinstance(soft, Consensus) and soft.method == "soft"
    expected = pd.DataFrame(
        [[0.75, 0.25, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]],
        index=pd.Index(["i1", "i2", "i3"], name="item"),
        columns=["x", "y", "z"],
    )
    np.testing.assert_allclose(soft.proba.to_numpy(), expected.to_numpy())
    assert soft.labels.tolist() == ["x", "y", "z"]  # i2 is a tie: lowest class code
    assert soft.params["source"] == "vote fractions"


def test_smoothing_by_hand():
    soft = soft_labels(small(), smoothing=0.5)
    # i1: (3 + .5, 1 + .5, 0 + .5) / (4 + 1.5)
    np.testing.assert_allclose(soft.proba_array[0], [3.5 / 5.5, 1.5 / 5.5, 0.5 / 5.5])
    np.testing.assert_allclose(soft.proba_array.sum(axis=1), 1.0)


def test_weighted_votes_by_hand_array_and_series():
    ann = small()
    w = np.array([1.0, 1.0, 3.0, 1.0])  # annotators a, b, c, d in order of appearance
    soft = soft_labels(ann, weights=w)
    np.testing.assert_allclose(soft.proba_array[0], [3 / 6, 3 / 6, 0.0])
    series = pd.Series({"d": 1.0, "c": 3.0, "b": 1.0, "a": 1.0})
    np.testing.assert_allclose(soft_labels(ann, weights=series).proba_array, soft.proba_array)
    assert soft.params["source"] == "weighted vote fractions"


def test_weights_all_zero_fall_back_to_plain_vote():
    soft = soft_labels(small(), weights=np.zeros(4))
    np.testing.assert_allclose(soft.proba_array, soft_labels(small()).proba_array)


def test_weights_from_a_model_and_posterior_source():
    ann = small()
    model = DawidSkene(max_iter=5, tol=1e-3)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(ann)
    quality = model.consensus_.annotator_quality["quality"].to_numpy()
    np.testing.assert_allclose(
        soft_labels(ann, weights=model).proba_array, soft_labels(ann, weights=quality).proba_array
    )
    post = soft_labels(model)
    np.testing.assert_allclose(post.proba_array, model.consensus_.proba_array)
    assert "posterior of" in post.params["source"]
    assert soft_consensus(ann, "posterior", model).method == "soft"


def test_wilson_interval_columns():
    iq = soft_labels(small()).item_quality
    # i1: 3 of 4 say x -> Wilson 95% interval (0.301, 0.954)
    assert iq.loc["i1", "ci_low"] == pytest.approx(0.3006, abs=1e-3)
    assert iq.loc["i1", "ci_high"] == pytest.approx(0.9544, abs=1e-3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"weights": np.array([1.0, -1.0, 1.0, 1.0])}, ">= 0"),
        ({"weights": np.ones(3)}, "one value per annotator"),
        ({"weights": pd.Series({"a": 1.0})}, "no value for annotator"),
        ({"smoothing": -1}, "smoothing"),
        ({"smoothing": "lots"}, "smoothing"),
    ],
)
def test_soft_label_errors(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        soft_labels(small(), **kwargs)


def test_soft_consensus_errors():
    with pytest.raises(InvalidParameterError, match="one of"):
        soft_consensus(small(), "magic")
    with pytest.raises(InvalidParameterError, match="fitted model"):
        soft_consensus(small(), "weighted", None)


# --------------------------------------------------------------------------------------------------------- KL
def test_kl_by_hand():
    p = np.array([[0.5, 0.5], [0.2, 0.8]])
    q = np.array([[0.25, 0.75], [0.2, 0.8]])
    kl = kl_divergence(p, q)
    assert kl[0] == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(0.5 / 0.75))
    assert kl[1] == pytest.approx(0.0, abs=1e-15)
    assert mean_kl_divergence(p, q) == pytest.approx(kl.mean())


def test_kl_clipping_keeps_it_finite():
    eps = 1e-5
    kl = kl_divergence(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))[0]
    a, b = 1 - eps, eps
    assert kl == pytest.approx(a * math.log(a / b) + b * math.log(b / a))
    assert kl_divergence(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), eps=1e-3)[0] < kl


def test_kl_aligns_labelled_inputs():
    p = pd.DataFrame([[0.5, 0.5], [0.9, 0.1]], index=["u", "v"], columns=["x", "y"])
    q = pd.DataFrame([[0.2, 0.8], [0.75, 0.25], [1.0, 0.0]], index=["v", "u", "w"], columns=["y", "x"])
    kl = kl_divergence(p, q)
    assert list(kl.index) == ["u", "v"]
    assert kl["u"] == pytest.approx(0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75))
    assert kl["v"] == pytest.approx(0.9 * math.log(0.9 / 0.8) + 0.1 * math.log(0.1 / 0.2))


def test_kl_of_consensus_objects_is_zero_with_itself():
    soft = soft_labels(small())
    assert mean_kl_divergence(soft, soft) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "q, match",
    [
        (np.array([[2.0, 1.0]]), "sum to 1"),
        (np.array([[np.nan, 1.0]]), "NaN"),
        (np.array([[1.5, -0.5]]), "negative"),
        (np.array([0.5, 0.5]), "2-D"),
        (np.array([[0.5, 0.5], [0.5, 0.5]]), "same shape"),
        ("not a table", "Consensus"),
    ],
)
def test_kl_errors(q, match):
    with pytest.raises(InvalidAnnotationsError, match=match):
        kl_divergence(np.array([[0.5, 0.5]]), q)


def test_kl_errors_on_labels():
    p = pd.DataFrame([[0.5, 0.5]], index=["u"], columns=["x", "y"])
    with pytest.raises(InvalidAnnotationsError, match="different classes"):
        kl_divergence(p, pd.DataFrame([[0.5, 0.5]], index=["u"], columns=["x", "z"]))
    with pytest.raises(InvalidAnnotationsError, match="no row for item"):
        kl_divergence(p, pd.DataFrame([[0.5, 0.5]], index=["v"], columns=["x", "y"]))
    with pytest.raises(InvalidParameterError, match="eps"):
        kl_divergence(p, p, eps=0.7)


# --------------------------------------------------------------------------------------------------- Figure 4
def test_dataset_statistics_by_hand():
    rows = [
        (f"i{i}", f"a{j}", lab)
        for i, labs in enumerate(
            ["xxxxxxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxxxxxy", "xxxxxxxxxxxxxxxxxyyy", "yyyy", "xy"]
        )
        for j, lab in enumerate(labs)
    ]
    ann = Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))
    stats = dataset_statistics(ann)
    # agreement: 1.0, 0.95, 0.85, 1.0, 0.5 -> 3 of 5 at >= 95 %
    assert stats.consensus_share == pytest.approx(3 / 5)
    assert stats.n_classes == 2 and stats.classes_used == 2
    # main class: x, x, x, y, tie (half each) -> x holds 3.5 / 5
    assert stats.largest_class == "x" and stats.largest_class_share == pytest.approx(0.7)
    assert dataset_statistics(ann, threshold=0.85).consensus_share == pytest.approx(4 / 5)
    assert dataset_statistics(soft_labels(ann)).as_dict() == stats.as_dict()
    with pytest.raises(InvalidParameterError):
        dataset_statistics(ann, threshold=0)


def test_dataset_statistics_on_real_data(data_dir):
    stats = dataset_statistics(load_dataset(data_dir / "dog").annotations)
    assert stats.n_items == 807 and stats.n_classes == 4
    assert 0 < stats.consensus_share < 0.5  # dog breeds are ambiguous: few near-unanimous items
    assert 0.25 <= stats.largest_class_share < 0.5


# -------------------------------------------------------------------------------------------------------- CLI
def test_cli_aggregate_soft(tmp_path, capsys):
    src = tmp_path / "ann.csv"
    small().to_frame().to_csv(src, index=False)
    out = tmp_path / "soft.csv"
    assert main(["aggregate", str(src), "--method", "mv", "--soft", "-o", str(out), "-q"]) == 0
    frame = pd.read_csv(out).set_index("item")
    np.testing.assert_allclose(
        frame[["proba_x", "proba_y", "proba_z"]].to_numpy(), soft_labels(small()).proba_array
    )
    assert {"ci_low", "ci_high"} <= set(frame.columns)
    args = ["aggregate", str(src), "--method", "mv", "--soft", "--smoothing", "1", "-o", str(out), "-q"]
    assert main(args) == 0
    assert pd.read_csv(out).set_index("item").loc["i3", "proba_z"] == pytest.approx(2 / 4)
    assert main(["aggregate", str(src), "--soft", "--soft-from", "weighted", "-o", str(out)]) == 0
    assert "soft:" in capsys.readouterr().out
