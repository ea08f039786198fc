"""The Dawid-Skene kernel with reused buffers, and the driver's stopping rule.

The kernel must give the values of the plain functions (``e_step_labels`` and ``ds_statistics``): equal to
the bit with three or more classes, to rounding with two (the logistic form); its alternating posterior
buffers must never corrupt a posterior somebody still holds.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from accord import Annotations, BayesianDawidSkene, DawidSkene, OneCoinDawidSkene
from accord._kernel.driver import has_converged, max_abs_change, run_em, run_em_restarts
from accord._kernel.em import AnnotationMatrix, DSKernel, ds_statistics, e_step_labels, initial_posterior
from accord.errors import ConvergenceWarning
from accord.models.dawid_skene import FullSteps, Smoothing


def annotations(k: int, seed: int = 0, n_items: int = 200, weights: bool = False) -> Annotations:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    rows = []
    for i in range(n_items):
        for a in rng.choice(12, size=4, replace=False):
            skill = 0.5 + 0.04 * a
            label = truth[i] if rng.random() < skill else rng.integers(0, k)
            rows.append((i, f"a{a}", int(label)))
    return Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))


def random_params(ann: Annotations, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = ann.n_classes
    theta = rng.dirichlet(np.ones(k), size=(ann.n_annotators, k))
    theta[:, np.arange(k), np.arange(k)] += 1.0
    theta /= theta.sum(axis=2, keepdims=True)
    return np.log(rng.dirichlet(np.ones(k))), np.log(theta)


@pytest.mark.parametrize("k", [3, 5])
def test_kernel_equals_the_plain_functions_to_the_bit_with_more_than_two_classes(k):
    ann = annotations(k)
    matrix = AnnotationMatrix(ann)
    kernel = DSKernel(matrix, compiled=False)
    log_prior, log_theta = random_params(ann)
    post, log_z, labels = e_step_labels(matrix, log_prior, log_theta)
    got = kernel.e_step(log_prior, log_theta)
    np.testing.assert_array_equal(got[0], post)
    np.testing.assert_array_equal(got[1], log_z)
    np.testing.assert_array_equal(got[2], labels)
    stats, mine = ds_statistics(matrix, post), kernel.statistics(got[0])
    np.testing.assert_array_equal(mine.counts, stats.counts)
    np.testing.assert_array_equal(mine.class_mass, stats.class_mass)


def test_two_class_fast_path_matches_the_softmax():
    ann = annotations(2)
    matrix = AnnotationMatrix(ann)
    kernel = DSKernel(matrix, compiled=False)
    log_prior, log_theta = random_params(ann)
    post, log_z, labels = e_step_labels(matrix, log_prior, log_theta)
    got = kernel.e_step(log_prior, log_theta)
    np.testing.assert_allclose(got[0], post, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got[1], log_z, rtol=1e-13)
    np.testing.assert_array_equal(got[2], labels)
    stats, mine = ds_statistics(matrix, post), kernel.statistics(got[0])
    np.testing.assert_allclose(mine.counts, stats.counts, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mine.class_mass, stats.class_mass, rtol=1e-13)


def test_two_class_fast_path_survives_huge_evidence():
    """A difference of log-scores beyond exp's range gives probabilities 0 and 1, a finite log evidence and
    no warning."""
    ann = annotations(2, n_items=3)
    kernel = DSKernel(AnnotationMatrix(ann), compiled=False)
    sure = np.array([[1 - 1e-300, 1e-300], [1e-300, 1 - 1e-300]])
    log_theta = np.log(np.tile(sure, (ann.n_annotators, 1, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        post, log_z, labels = kernel.e_step(np.log([0.5, 0.5]), log_theta * 3)
    assert np.isfinite(log_z).all() and np.isfinite(post).all()
    assert ((post >= 0) & (post <= 1)).all()
    np.testing.assert_allclose(post.sum(axis=1), 1.0)
    np.testing.assert_array_equal(labels, post.argmax(axis=1))


def test_weighted_matrix_two_class_counts_use_the_weights():
    ann = annotations(2, n_items=50)
    weights = np.random.default_rng(3).uniform(0.2, 2.0, ann.n_annotations)
    matrix = AnnotationMatrix(ann, weights)
    post = initial_posterior(ann, "soft_mv", None, "lowest", np.random.default_rng(0))
    np.testing.assert_allclose(
        DSKernel(matrix, compiled=False).statistics(post).counts,
        ds_statistics(matrix, post).counts,
        atol=1e-12,
    )


def test_alternating_buffers_keep_the_previous_posterior():
    ann = annotations(3)
    kernel = DSKernel(AnnotationMatrix(ann), compiled=False)
    log_prior, log_theta = random_params(ann)
    first = kernel.e_step(log_prior, log_theta)[0]
    kept = first.copy()
    second = kernel.e_step(log_prior, log_theta + 0.1)[0]
    assert second is not first
    np.testing.assert_array_equal(first, kept)  # the one entering the iteration is intact


def test_runs_on_the_same_steps_own_their_results():
    """Two runs (or restarts) on one steps object: each result keeps its own posterior and snapshots."""
    ann = annotations(2)
    steps = FullSteps(AnnotationMatrix(ann), Smoothing(0.5, 1.0, 0.0))
    post = initial_posterior(ann, "mv", None, "lowest", np.random.default_rng(0))
    flipped = post[:, ::-1].copy()
    a = run_em(steps, post.copy(), max_iter=30, tol=1e-3)
    saved = a.post.copy()
    snap = [s["posteriors"].copy() for s in a.snapshots]
    run_em(steps, flipped.copy(), max_iter=30, tol=1e-3)
    np.testing.assert_array_equal(a.post, saved)
    for s, before in zip(a.snapshots, snap, strict=True):
        np.testing.assert_array_equal(s["posteriors"], before)
    assert all(
        s["posteriors"] is not t["posteriors"] for s, t in zip(a.snapshots[:-1], a.snapshots[1:], strict=True)
    )
    best = run_em_restarts(steps, [flipped.copy(), post.copy()], max_iter=30, tol=1e-3)
    np.testing.assert_array_equal(best.post, saved)


def test_has_converged_needs_stable_labels_and_a_small_change():
    assert has_converged(1e-4, 0, 1e-3)
    assert not has_converged(1e-4, 1, 1e-3)  # an item crossed: not yet
    assert not has_converged(2e-3, 0, 1e-3)
    assert not has_converged(0.0, 0, 0.0)  # tol = 0: a fixed schedule


def test_max_abs_change_is_the_largest_difference():
    rng = np.random.default_rng(0)
    a, b = rng.random((50, 3)), rng.random((50, 3))
    assert max_abs_change(a, b) == np.abs(a - b).max()
    assert max_abs_change(np.asfortranarray(a), b, np.empty(50)) == np.abs(a - b).max()
    assert max_abs_change(np.empty((0, 3)), np.empty((0, 3))) == 0.0


@pytest.mark.parametrize("tol", [0.3, 0.01])
def test_the_driver_stops_at_the_first_stable_small_iteration(tol):
    """The run stops at the first iteration that moved no posterior by tol and changed no label (not at the
    first that moved little while a label flipped), or that raised the objective by at most tol^2 of its
    size, whichever comes first."""
    ann = annotations(2, seed=2)
    model = DawidSkene(tol=tol, max_iter=50).fit(ann)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        h = DawidSkene(tol=0.0, max_iter=50).fit(ann).history_  # the same trajectory, to the end
    calm = (h["max_delta"] < tol).to_numpy() & (h["n_changed"] == 0).to_numpy()
    value = h["objective"].to_numpy()
    flat = np.diff(value, prepend=-np.inf) <= tol**2 * np.abs(value)
    assert model.n_iter_ == int(np.flatnonzero(calm | flat)[0]) + 1
    assert model.converged_


@pytest.mark.parametrize("model_cls", [DawidSkene, OneCoinDawidSkene, BayesianDawidSkene])
def test_default_stop_keeps_the_converged_labels(model_cls):
    ann = annotations(3, seed=4, n_items=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        default = model_cls().fit(ann)
        tight = model_cls(tol=1e-10, max_iter=2000).fit(ann)
    assert default.n_iter_ <= tight.n_iter_
    np.testing.assert_array_equal(default.labels_.to_numpy(), tight.labels_.to_numpy())
    assert np.abs(default.proba_.to_numpy() - tight.proba_.to_numpy()).max() < 0.02
