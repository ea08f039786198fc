"""Snorkel's label model: the sparse loss and gradient against a dense per-entry loop, the optimisers, the
symmetry break, predictions against a per-annotation loop, parameters, invariances and the ducks anchor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accord import Annotations
from accord.datasets import load_dataset
from accord.errors import InvalidParameterError
from accord.models.label_model import LabelModel, Overlaps, initial_mu, mu_loss, permute_classes


def random_annotations(seed: int = 0, n_items: int = 40, n_annotators: int = 6, k: int = 3) -> Annotations:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    rows = []
    for i in range(n_items):
        for a in range(n_annotators):
            if rng.random() < 0.6:
                label = truth[i] if rng.random() < 0.55 + 0.07 * a else rng.integers(0, k)
                rows.append((f"i{i}", f"a{a}", f"c{label}"))
    return Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))


def reference_loss(ann: Annotations, mu: np.ndarray, p: np.ndarray, mu_init: np.ndarray, l2: float) -> float:
    """The loss entry by entry: the overlap matrix from a loop over items and pairs of their annotations."""
    k, d = ann.n_classes, ann.n_annotators * ann.n_classes
    overlap = np.zeros((d, d))
    by_item: dict[int, list[int]] = {}
    for i, a, lab in zip(ann.item, ann.annotator, ann.label, strict=True):
        by_item.setdefault(int(i), []).append(int(a) * k + int(lab))
    for cols in by_item.values():
        for r in cols:
            for c in cols:
                overlap[r, c] += 1.0 / ann.n_items
    total = 0.0
    for r in range(d):
        for c in range(d):
            if r // k != c // k:
                model = sum(mu[r, y] * p[y] * mu[c, y] for y in range(k))
                total += (overlap[r, c] - model) ** 2
        total += (sum(mu[r, y] * p[y] for y in range(k)) - overlap[r, r]) ** 2
    return total + l2 * l2 * float(((mu - mu_init) ** 2).sum())


def test_loss_matches_dense_loop_and_gradient_matches_differences():
    ann = random_annotations()
    rng = np.random.default_rng(1)
    d, k = ann.n_annotators * ann.n_classes, ann.n_classes
    mu, mu_init = rng.random((d, k)), rng.random((d, k))
    p = np.array([0.2, 0.3, 0.5])
    stats = Overlaps.of(ann)
    loss, grad = mu_loss(mu, stats, p, mu_init, 0.4)
    assert loss == pytest.approx(reference_loss(ann, mu, p, mu_init, 0.4), rel=1e-12, abs=1e-12)
    step = 1e-6
    numeric = np.zeros_like(mu)
    for idx in np.ndindex(*mu.shape):
        up, down = mu.copy(), mu.copy()
        up[idx] += step
        down[idx] -= step
        numeric[idx] = (mu_loss(up, stats, p, mu_init, 0.4)[0] - mu_loss(down, stats, p, mu_init, 0.4)[0]) / (
            2 * step
        )
    np.testing.assert_allclose(grad, numeric, atol=1e-6)


def test_predictions_match_per_annotation_loop():
    ann = random_annotations(seed=2)
    model = LabelModel(optimizer="lbfgs")
    model.fit(ann)
    mu = model.mu_.to_numpy()
    p = model.class_balance_.to_numpy()
    k = ann.n_classes
    log_u = np.tile(np.log(p), (ann.n_items, 1))
    for i, a, lab in zip(ann.item, ann.annotator, ann.label, strict=True):
        log_u[i] += np.log(mu[a * k + lab])
    proba = np.exp(log_u - log_u.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.proba_.to_numpy(), proba, atol=1e-10)
    eps = 0.01
    assert (mu >= eps - 1e-12).all() and (mu <= 1 - eps + 1e-12).all()


def test_sgd_is_snorkels_schedule():
    """Momentum SGD (0.9), clamped after each step, written out from the same start."""
    ann = random_annotations(seed=3)
    model = LabelModel(optimizer="sgd", n_epochs=25, random_state=4)
    model.fit(ann)
    stats = Overlaps.of(ann)
    k = ann.n_classes
    p = np.full(k, 1 / k)
    mu_init = initial_mu(stats, p, np.full(ann.n_annotators, 0.7))
    mu = np.clip(mu_init * np.random.default_rng(4).random(), 0.01, 0.99)
    velocity = np.zeros_like(mu)
    for _ in range(25):
        velocity = 0.9 * velocity + mu_loss(mu, stats, p, mu_init, 0.0)[1]
        mu = np.clip(mu - 0.01 * velocity, 0.01, 0.99)
    np.testing.assert_allclose(model.mu_.to_numpy(), permute_classes(mu, p, ann.n_annotators), atol=1e-12)
    assert model.n_iter_ == 25 and len(model.history_) == 25


def test_lbfgs_lowers_the_loss_below_sgd_and_converges():
    ann = random_annotations(seed=5)
    lbfgs, sgd = LabelModel(optimizer="lbfgs"), LabelModel(optimizer="sgd")
    lbfgs.fit(ann)
    sgd.fit(ann)
    assert lbfgs.converged_
    assert lbfgs.loss_ <= sgd.loss_ + 1e-12
    losses = lbfgs.history_["objective"].to_numpy()
    assert np.all(np.diff(losses) <= 1e-12)


def test_symmetry_break_prefers_accurate_annotators():
    rng = np.random.default_rng(0)
    a, k = 4, 3
    good = np.zeros((a, k, k))
    good[:, np.arange(k), np.arange(k)] = 0.8
    good += rng.random((a, k, k)) * 0.05
    mu = good.reshape(a * k, k)
    shuffled = mu[:, [2, 0, 1]]
    np.testing.assert_allclose(permute_classes(shuffled, np.full(k, 1 / k), a), mu)
    # with unequal class balance the columns are never swapped across classes
    np.testing.assert_allclose(permute_classes(shuffled, np.array([0.2, 0.3, 0.5]), a), shuffled)


def test_confusions_weights_and_gold_balance():
    ann = random_annotations(seed=6)
    model = LabelModel()
    model.fit(ann, gold=pd.Series({"i0": "c0", "i1": "c0", "i2": "c1"}))
    np.testing.assert_allclose(model.confusions_.values.sum(axis=2), 1.0)
    np.testing.assert_allclose(model.class_balance_.to_numpy(), [3 / 6, 2 / 6, 1 / 6])
    assert model.labels_["i2"] == "c1"
    assert ((model.weights_ > 0) & (model.weights_ <= 1)).all()


def test_row_order_and_annotator_names_do_not_matter():
    ann = random_annotations(seed=7)
    frame = ann.to_frame().sample(frac=1.0, random_state=3).reset_index(drop=True)
    frame["annotator"] = "q" + frame["annotator"].astype(str)
    a = LabelModel().fit(ann).proba_
    b = LabelModel().fit(Annotations.from_frame(frame)).proba_
    np.testing.assert_allclose(b.loc[a.index, a.columns].to_numpy(), a.to_numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"optimizer": "adam"}, "optimizer"),
        ({"class_balance": [1.0]}, "class_balance"),
        ({"class_balance": [0.5, 0.0, 0.5]}, "class_balance"),
        ({"prec_init": [0.7, 0.7]}, "prec_init"),
        ({"mu_eps": 0.6}, "mu_eps"),
        ({"l2": -1.0}, "l2"),
        ({"max_iter": 0}, "max_iter"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        LabelModel(**params).fit(random_annotations())


def test_ducks_beats_dawid_skene(data_dir):
    """Snorkel's own LabelModel (default parameters) reaches 0.742 on ducks, Dawid-Skene 0.600."""
    data = load_dataset(data_dir / "ducks")
    labels = LabelModel().fit(data.annotations).labels_
    gold = data.gold
    accuracy = float((labels.loc[gold.index].astype(str) == gold.astype(str)).mean())
    assert accuracy >= 0.74
