"""The model loop (needs scikit-learn): seed 001's pred_probs and accuracy from the features alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accord import Annotations, InvalidAnnotationsError, InvalidParameterError
from accord.datasets import load_dataset

pytest.importorskip("sklearn")

from sklearn.linear_model import LogisticRegression

from accord.planning.loop import cross_val_pred_probs, model_loop, split_features


@pytest.fixture(scope="module")
def tutorial(data_dir):
    folder = data_dir / "cleanlab_tutorial"
    data = load_dataset(folder)
    features = pd.read_csv(folder / "features.csv", dtype={"item": str}).set_index("item")
    published = pd.read_csv(folder / "pred_probs.csv", dtype={"item": str}).set_index("item")
    return data, features, published


@pytest.fixture(scope="module")
def one_round(tutorial):
    data, features, _ = tutorial
    return model_loop(data.annotations, features, LogisticRegression(), n_rounds=1, gold=data.gold)


def test_features_alone_reach_097(one_round):
    history = one_round.history
    assert history["round"].tolist() == [0, 1]
    assert history["accuracy"].iloc[0] == pytest.approx(0.8581081081081081)  # majority vote
    assert history["accuracy"].iloc[1] >= 0.97
    assert history["accuracy"].iloc[1] == pytest.approx(290 / 296)
    assert history["n_changed"].iloc[1] == 44
    assert one_round.consensus.method == "CrowdLab"


def test_reproduces_the_tutorials_cross_validated_pred_probs(tutorial, one_round):
    _, _, published = tutorial
    ours = one_round.pred_probs
    assert ours.to_numpy() == pytest.approx(published.loc[ours.index].to_numpy(), abs=1e-10)


def test_second_round_and_unlabeled_items(tutorial):
    data, features, _ = tutorial
    extra = pd.DataFrame({"x0": [3.0, 7.0], "x1": [2.0, 7.0]}, index=["new0", "new1"])
    result = model_loop(data.annotations, pd.concat([features, extra]), n_rounds=2, gold=data.gold)
    assert len(result.history) == 3
    assert result.history["accuracy"].iloc[2] >= 0.97
    assert result.history["n_changed"].iloc[2] <= 5
    assert list(result.pred_probs_unlabeled.index) == ["new0", "new1"]
    assert result.pred_probs_unlabeled.idxmax(axis=1).tolist() == ["0", "1"]  # the class means of seed 001


def test_array_features_and_ds_model(tutorial):
    data, features, _ = tutorial
    x = features.loc[data.annotations.items].to_numpy()
    result = model_loop(data.annotations, x, n_rounds=1, method="ds_model", gold=data.gold)
    assert result.consensus.method == "ModelAssistedDawidSkene"
    assert result.history["accuracy"].iloc[1] > 0.93


def test_cross_val_pred_probs_with_a_rare_class():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    labels = np.r_[np.zeros(20, dtype=int), np.ones(8, dtype=int), np.full(2, 2)]
    x[labels == 1] += 3
    p = cross_val_pred_probs(LogisticRegression(), x, labels, 4, n_folds=5)
    assert p.shape == (30, 4)
    assert p.sum(axis=1) == pytest.approx(np.ones(30))
    assert (p[:, 3] == 0).all()  # a class nobody chose gets no probability
    assert (p[labels == 0].argmax(axis=1) == 0).mean() > 0.8


def test_errors():
    ann = Annotations.from_frame(
        pd.DataFrame({"item": [1, 1, 2, 2], "annotator": list("abab"), "label": list("xyyy")})
    )
    with pytest.raises(InvalidAnnotationsError, match="no row for 1 annotated item"):
        split_features(pd.DataFrame({"f": [0.0]}, index=[1]), ann)
    with pytest.raises(InvalidAnnotationsError, match="3 rows but there are 2"):
        split_features(np.zeros((3, 2)), ann)
    with pytest.raises(InvalidParameterError, match="no predict_proba"):
        model_loop(ann, np.zeros((2, 1)), classifier=object())
