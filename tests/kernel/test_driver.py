"""The EM driver: one loop, one meaning of tol, the history frame, warnings, restarts, additive statistics."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from accord import Annotations
from accord._kernel.driver import (
    HISTORY_COLUMNS,
    check_em_params,
    merge_statistics,
    run_em,
    run_em_restarts,
)
from accord._kernel.em import AnnotationMatrix, ds_statistics, initial_posterior
from accord.errors import ConvergenceWarning, InvalidParameterError
from accord.models.dawid_skene import FullSteps, Smoothing


def annotations(seed: int = 0, n_items: int = 60) -> Annotations:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n_items)
    rows = []
    for i in range(n_items):
        for a, skill in enumerate((0.9, 0.7, 0.6, 0.5)):
            label = truth[i] if rng.random() < skill else rng.integers(0, 3)
            rows.append((i, f"a{a}", int(label)))
    return Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))


@pytest.fixture(scope="module")
def setup() -> tuple[Annotations, FullSteps, np.ndarray]:
    ann = annotations()
    steps = FullSteps(AnnotationMatrix(ann), Smoothing(1 / 3, 1.0, 0.0))
    post = initial_posterior(ann, "mv", None, "lowest", np.random.default_rng(0))
    return ann, steps, post


def test_history_frame_and_convergence(setup):
    _, steps, post = setup
    result = run_em(steps, post.copy(), max_iter=200, tol=1e-8)
    assert result.converged and 1 <= result.n_iter < 200
    assert list(result.history.columns) == list(HISTORY_COLUMNS)
    assert len(result.history) == result.n_iter
    assert result.history["max_delta"].iloc[-1] < 1e-8 <= result.history["max_delta"].iloc[-2]
    assert result.snapshots[0]["iteration"] == 1 and "confusions" not in result.snapshots[0]


def test_max_iter_warns_and_tol_zero_is_a_fixed_schedule(setup):
    _, steps, post = setup
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        run_em(steps, post.copy(), max_iter=2, tol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed = run_em(steps, post.copy(), max_iter=7, tol=0.0, warn=False)
    assert fixed.n_iter == 7 and not fixed.converged


def test_objective_tol_stops_on_a_small_gain(setup):
    _, steps, post = setup
    loose = run_em(steps, post.copy(), max_iter=200, tol=0.0, objective_tol=1e-3, objective_scale=1.0)
    gains = np.diff(loose.history["objective"].to_numpy())
    assert loose.converged and gains[-1] < 1e-3 and (gains[:-1] >= 1e-3).all()


def test_restarts_keep_the_best_start_and_hand_over_parameters(setup):
    ann, steps, post = setup
    flipped = post[:, ::-1].copy()  # the majority vote with the classes renamed: a worse start
    runs = [run_em(steps, start.copy(), max_iter=100, tol=1e-8) for start in (flipped, post)]
    best = run_em_restarts(steps, [flipped, post.copy()], max_iter=100, tol=1e-8)
    assert best.restarts == [r.objective for r in runs]
    assert best.objective == max(best.restarts)
    np.testing.assert_array_equal(best.post, runs[int(np.argmax(best.restarts))].post)
    params = steps.m_step(steps.statistics(post), None)
    started = run_em(steps, steps.e_step(params).post, max_iter=100, tol=1e-8, params=params)
    assert started.converged


def test_statistics_add_up_over_partitions_of_items(setup):
    ann, steps, post = setup
    whole = ds_statistics(steps.matrix, post)
    halves = []
    for part in (np.arange(ann.n_items) < 30, np.arange(ann.n_items) >= 30):
        masked = np.where(part[:, None], post, 0.0)  # the other partition's items contribute nothing
        halves.append(ds_statistics(steps.matrix, masked))
    total = merge_statistics(halves)
    np.testing.assert_allclose(total.counts, whole.counts)
    np.testing.assert_allclose(total.class_mass, whole.class_mass)


def test_gold_items_stay_clamped(setup):
    _, steps, post = setup
    gold = (np.array([0, 1]), np.array([2, 2]))
    result = run_em(steps, post.copy(), max_iter=300, tol=1e-6, gold=gold)
    np.testing.assert_array_equal(result.post[[0, 1], 2], 1.0)


def test_parameter_errors():
    with pytest.raises(InvalidParameterError, match="min_iter"):
        check_em_params(5, 2, 1e-5)
    with pytest.raises(InvalidParameterError, match="tol"):
        check_em_params(1, 2, -1.0)
