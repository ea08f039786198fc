"""GLAD: gradients against finite differences, E-step against a loop, EM invariants, crowd-kit's accuracy."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from accord import Annotations
from accord.datasets import load_dataset
from accord.errors import ConvergenceWarning, InvalidParameterError
from accord.evaluation import accuracy
from accord.models.glad import GLAD, GladData, GladWork, e_step, log_prior_density, neg_q

PRIOR = (1.0, 1.0, 1.0, 1.0)


def one_coin(n_items=60, accuracies=(0.95, 0.75, 0.7, 0.65, 0.6, 0.6), k=2, per_item=None, seed=0):
    """One-coin annotators (errors uniform over the other classes); every annotator labels every item."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, size=n_items)
    rows = []
    for i in range(n_items):
        n = len(accuracies)
        who = range(n) if per_item is None else rng.choice(n, per_item, replace=False)
        for a in who:
            wrong = rng.choice([c for c in range(k) if c != truth[i]])
            rows.append((i, f"a{a}", truth[i] if rng.random() < accuracies[a] else wrong))
    return pd.DataFrame(rows, columns=["item", "annotator", "label"]), truth


def fit(frame, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GLAD(**params).fit(frame)


@pytest.mark.parametrize("k", [2, 4])
def test_gradient_matches_finite_differences(k):
    frame, _ = one_coin(n_items=15, k=k, per_item=3, seed=1)
    data = GladData.of(Annotations.from_frame(frame))
    rng = np.random.default_rng(2)
    theta = rng.normal(0.5, 0.8, size=data.n_annotators + data.n_items)
    p_given = rng.random(len(data.item))
    _, grad = neg_q(theta, data, p_given, (0.7, 1.3, 0.4, 0.9))
    eps = 1e-6
    numeric = np.array(
        [
            (
                neg_q(theta + eps * e, data, p_given, (0.7, 1.3, 0.4, 0.9))[0]
                - neg_q(theta - eps * e, data, p_given, (0.7, 1.3, 0.4, 0.9))[0]
            )
            / (2 * eps)
            for e in np.eye(len(theta))
        ]
    )
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6)


def test_q_matches_its_definition():
    frame, _ = one_coin(n_items=10, k=3, per_item=3, seed=4)
    data = GladData.of(Annotations.from_frame(frame))
    rng = np.random.default_rng(5)
    alpha, b = rng.normal(1, 1, data.n_annotators), rng.normal(1, 1, data.n_items)
    p = rng.random(len(data.item))
    x = alpha[data.annot] * np.exp(b[data.item])
    log_sig, log_1m_sig = -np.log1p(np.exp(-x)), -np.log1p(np.exp(x))
    q = np.sum(p * log_sig + (1 - p) * (log_1m_sig - np.log(2)))
    q -= 0.5 * np.sum((alpha - 1) ** 2) + 0.5 * np.sum((b - 1) ** 2)
    assert -neg_q(np.concatenate([alpha, b]), data, p, PRIOR)[0] == pytest.approx(q, rel=1e-12)
    expected = -0.5 * (np.sum((alpha - 1) ** 2) + np.sum((b - 1) ** 2))
    expected -= 0.5 * np.log(2 * np.pi) * (len(alpha) + len(b))
    assert log_prior_density(alpha, b, PRIOR) == pytest.approx(expected, rel=1e-12)


def test_e_step_matches_loop():
    frame, _ = one_coin(n_items=12, k=3, per_item=4, seed=6)
    ann = Annotations.from_frame(frame)
    data = GladData.of(ann)
    rng = np.random.default_rng(7)
    alpha, b = rng.normal(1, 1, data.n_annotators), rng.normal(0, 1, data.n_items)
    log_pi = np.log([0.5, 0.3, 0.2])
    post, log_z = e_step(data, alpha, b, log_pi)
    slow = np.tile(np.exp(log_pi), (data.n_items, 1))
    for n in range(len(data.item)):
        s = 1 / (1 + np.exp(-alpha[data.annot[n]] * np.exp(b[data.item[n]])))
        lik = np.full(3, (1 - s) / 2)
        lik[data.label[n]] = s
        slow[data.item[n]] *= lik
    np.testing.assert_allclose(post, slow / slow.sum(axis=1, keepdims=True), rtol=1e-10)
    np.testing.assert_allclose(log_z, np.log(slow.sum(axis=1)), rtol=1e-10)


def test_shared_work_buffers_give_the_fresh_results():
    """The E-step and objective reuse the logits a previous call left in the work buffers only at the same
    point: a sequence of calls at new, repeated and earlier points equals fresh calls bit for bit."""
    frame, _ = one_coin(n_items=20, k=3, per_item=4, seed=8)
    data = GladData.of(Annotations.from_frame(frame))
    rng = np.random.default_rng(9)
    points = [rng.normal(1, 1, data.n_annotators + data.n_items) for _ in range(3)]
    p_given = rng.random(len(data.item))
    log_pi = np.log([0.5, 0.3, 0.2])
    work = GladWork(len(data.item))
    na = data.n_annotators
    for theta in [points[0], points[0], points[1], points[0], points[2], points[2]]:
        for call in ("e", "q", "e"):
            if call == "q":
                shared, fresh = neg_q(theta, data, p_given, PRIOR, work), neg_q(theta, data, p_given, PRIOR)
                assert shared[0] == fresh[0]
                np.testing.assert_array_equal(shared[1], fresh[1])
            else:
                post, log_z = e_step(data, theta[:na], theta[na:], log_pi, work)
                post0, log_z0 = e_step(data, theta[:na], theta[na:], log_pi, GladWork(len(data.item)))
                np.testing.assert_array_equal(post, post0)
                np.testing.assert_array_equal(log_z, log_z0)


def test_log_posterior_never_decreases_and_rows_sum_to_one():
    frame, _ = one_coin(n_items=80, k=3, per_item=4, seed=8)
    model = fit(frame, tol=0.0, objective_tol=None, max_iter=30)
    objective = model.history_["objective"].to_numpy()
    assert len(objective) == 30
    assert np.all(np.diff(objective) >= -1e-9 * np.abs(objective[:-1]))
    np.testing.assert_allclose(model.proba_.sum(axis=1), 1.0, atol=1e-12)


def test_perfect_annotator_recovered_k3():
    frame, truth = one_coin(n_items=100, k=3, accuracies=(1.0, 0.6, 0.55, 0.5, 0.5, 0.45), seed=9)
    model = fit(frame)
    assert model.abilities_.idxmax() == "a0"
    quality = model.consensus_.annotator_quality["quality"]
    assert quality.idxmax() == "a0" and list(model.abilities_.sort_values().index[-2:]) == ["a1", "a0"]
    # the N(1, 1) prior on abilities keeps a0 from a veto: it wins 91 of 100 items (majority vote: 75)
    assert np.mean(model.labels_.sort_index().to_numpy() == truth) == pytest.approx(0.91)


def test_outputs_and_determinism():
    frame, _ = one_coin(n_items=50, per_item=3, seed=10)
    a, b = fit(frame, random_state=1), fit(frame, random_state=1)
    pd.testing.assert_frame_equal(a.proba_, b.proba_)
    assert set(a.abilities_.index) == set(frame["annotator"])
    assert len(a.difficulties_) == 50 and (a.difficulties_ > 0).all()
    np.testing.assert_allclose(a.consensus_.item_quality["difficulty"], a.difficulties_.to_numpy())
    assert a.converged_ and a.n_iter_ == len(a.history_)
    assert a.priors_.tolist() == [0.5, 0.5]


def test_gold_items_are_clamped():
    frame, truth = one_coin(n_items=30, per_item=3, seed=11)
    gold = pd.Series({0: 1 - truth[0], 1: 1 - truth[1]})
    clamped = GLAD().fit(frame, gold=gold)
    assert clamped.labels_[0] == 1 - truth[0] and clamped.proba_.loc[1, 1 - truth[1]] == 1.0
    free = fit(frame)
    assert (free.labels_.drop([0, 1]) != clamped.labels_.drop([0, 1])).sum() <= 2


def test_learned_and_given_class_priors():
    frame, _ = one_coin(n_items=60, per_item=3, seed=12)
    learned = fit(frame, class_prior="learn")
    assert learned.priors_.sum() == pytest.approx(1.0) and learned.priors_.iloc[0] != 0.5
    given = fit(frame, class_prior=[0.9, 0.1])
    assert given.priors_.tolist() == pytest.approx([0.9, 0.1])


def test_convergence_warning_at_max_iter():
    frame, _ = one_coin(n_items=40, per_item=3, seed=13)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        GLAD(max_iter=1, tol=0.0).fit(frame)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"class_prior": "flat"}, "class_prior"),
        ({"class_prior": [0.5, 0.6]}, "class_prior"),
        ({"alpha_prior": (1.0, 0.0)}, "sd > 0"),
        ({"b_prior": "x"}, "b_prior"),
        ({"max_iter": 0}, "max_iter"),
    ],
)
def test_bad_parameters(params, match):
    frame, _ = one_coin(n_items=5, per_item=2)
    with pytest.raises(InvalidParameterError, match=match):
        GLAD(**params).fit(frame)


def test_single_class_is_an_error():
    frame = pd.DataFrame({"item": [1, 2], "annotator": ["a", "b"], "label": ["x", "x"]})
    with pytest.raises(InvalidParameterError, match="at least 2 classes"):
        GLAD().fit(frame)


# Accuracy on gold, measured with this implementation; crowd-kit 1.4.2's GLAD in ANCHORS.md alongside.
REAL = [
    ("zencrowd_us", 0.8750, 0.8750),
    ("sp", 0.9170, 0.9166),
    ("bluebirds", 0.7222, 0.7222),
    ("slr_older_adults", 0.9300, 0.9100),
]


@pytest.mark.parametrize("name, ours, crowdkit", REAL)
def test_accuracy_on_real_datasets(data_dir, name, ours, crowdkit):
    data = load_dataset(data_dir / name)
    acc = accuracy(fit(data.annotations).labels_, data.gold)
    assert acc == pytest.approx(ours, abs=0.0021)
    assert acc >= crowdkit - 0.005
