"""The EM driver: one loop, one meaning of tol, the history frame, warnings, restarts, additive statistics."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from accord import Annotations
from accord._kernel.driver import (
    HISTORY_COLUMNS,
    EMPoint,
    Squarem,
    check_em_params,
    em_step,
    gold_log_joint,
    has_converged,
    merge_statistics,
    objective_gain_small,
    relative_objective_tol,
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


# --- SQUAREM acceleration and the relative objective rule ---


def tight(steps, post, **kwargs):
    return run_em(steps, post.copy(), max_iter=3000, tol=1e-10, warn=False, **kwargs)


def test_accelerated_run_reaches_the_plain_fixed_point_in_fewer_e_steps(setup):
    _, steps, post = setup
    plain, fast = tight(steps, post), tight(steps, post, accelerate=True)
    assert plain.converged and fast.converged
    np.testing.assert_allclose(fast.post, plain.post, atol=1e-6)
    np.testing.assert_allclose(fast.params[1], plain.params[1], atol=1e-6)
    assert fast.n_iter == len(fast.history) and fast.n_iter < 0.75 * plain.n_iter
    assert {"step", "accepted"} <= set(fast.history.columns)
    assert (fast.history["step"] > 1).any()


def test_accelerated_objective_never_decreases_and_runs_are_deterministic(setup):
    _, steps, post = setup
    a, b = tight(steps, post, accelerate=True), tight(steps, post, accelerate=True)
    objective = a.history["objective"].to_numpy()
    assert (np.diff(objective) >= -1e-9 * np.abs(objective[1:])).all()
    np.testing.assert_array_equal(a.post, b.post)
    pd.testing.assert_frame_equal(a.history, b.history)


class BadJumps:
    """The steps with an extrapolation that always lands on uniform confusions (always rejected)."""

    def __init__(self, steps: FullSteps) -> None:
        self.steps = steps

    def __getattr__(self, name: str):
        return getattr(self.steps, name)

    def unpack(self, x, like):
        prior, theta = self.steps.unpack(x, like)
        return prior, np.full_like(theta, 1.0 / theta.shape[-1])


@pytest.mark.parametrize("gold", [None, (np.array([0, 1]), np.array([2, 2]))])
def test_a_rejected_extrapolation_falls_back_to_the_em_step(setup, gold):
    """Every extrapolation rejected: the accepted points are exactly plain EM's iterates (the fallback
    continues from the second EM step's posterior, although the steps' buffers were written since)."""
    _, steps, post = setup
    plain = run_em(steps, post.copy(), max_iter=200, tol=1e-8, gold=gold, warn=False)
    fast = run_em(
        BadJumps(steps), post.copy(), max_iter=400, tol=1e-8, gold=gold, warn=False, accelerate=True
    )
    accepted = fast.history[fast.history["step"] == 1.0]
    assert not fast.history["accepted"].all() and fast.history["accepted"].sum() == len(accepted)
    assert len(accepted) == plain.n_iter
    np.testing.assert_allclose(accepted["objective"].to_numpy(), plain.history["objective"].to_numpy())
    np.testing.assert_array_equal(fast.post, plain.post)
    rejected = fast.history[~fast.history["accepted"]]
    assert (rejected["max_delta"] == 0).all() and (rejected["n_changed"] == 0).all()


def test_accelerated_gold_items_stay_clamped(setup):
    _, steps, post = setup
    gold = (np.array([0, 1]), np.array([2, 2]))
    result = tight(steps, post, gold=gold, accelerate=True)
    np.testing.assert_array_equal(result.post[[0, 1], 2], 1.0)
    np.testing.assert_allclose(result.post, tight(steps, post, gold=gold).post, atol=1e-6)


def test_tol_zero_is_max_iter_e_steps_with_acceleration(setup):
    _, steps, post = setup
    fixed = run_em(steps, post.copy(), max_iter=11, tol=0.0, warn=False, accelerate=True)
    assert fixed.n_iter == len(fixed.history) == 11 and not fixed.converged
    assert fixed.history["iteration"].tolist() == list(range(1, 12))


def test_steps_without_pack_run_plain_em(setup):
    _, steps, post = setup

    class NoPack:
        def __getattr__(self, name: str):
            if name in ("pack", "unpack"):
                raise AttributeError(name)
            return getattr(steps, name)

    plain = run_em(steps, post.copy(), max_iter=50, tol=1e-8)
    other = run_em(NoPack(), post.copy(), max_iter=50, tol=1e-8, accelerate=True)
    np.testing.assert_array_equal(plain.post, other.post)
    assert list(other.history.columns) == list(HISTORY_COLUMNS)


def test_em_step_drives_a_loop_with_its_own_state(setup):
    """A distributed-style loop (immutable states, its own E-step and M-step calls) through em_step gives
    run_em's accelerated trajectory."""
    _, steps, post = setup
    reference = tight(steps, post, accelerate=True)

    def em_map(point):
        return steps.m_step(steps.statistics(point.state), point.params)

    def evaluate(params, point):
        e = steps.e_step(params)
        new = e.post.copy()  # this loop owns its states
        delta = float(np.abs(new - point.state).max())
        changed = int((new.argmax(1) != point.state.argmax(1)).sum())
        return EMPoint(params, steps.objective(params, e), delta, changed, new, point.iteration + 1)

    def stop(point, previous):
        return has_converged(point.delta, point.n_changed, 1e-10)

    base = EMPoint(None, -np.inf, np.nan, 0, post.copy())
    squarem, n, done, values = Squarem(steps), 0, False, []
    while n < 3000 and not done:
        base, points, done = em_step(base, em_map, evaluate, stop, 3000 - n, squarem)
        for p in points:  # evaluate numbered from its base; the loop renumbers
            n += 1
            values.append(p.value if p.accepted else values[-1])
    assert done and n == reference.n_iter
    np.testing.assert_allclose(values, reference.history["objective"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(base.state, reference.post, atol=1e-12)


def test_relative_objective_rule(setup):
    _, steps, post = setup
    assert relative_objective_tol(1e-3) == pytest.approx(1e-6)
    assert relative_objective_tol(1e-9) is None and relative_objective_tol(0.0) is None
    full = run_em(steps, post.copy(), max_iter=300, tol=0.0, warn=False)
    value = full.history["objective"].to_numpy()
    flat = np.flatnonzero(np.diff(value, prepend=-np.inf) <= 1e-5 * np.abs(value))
    stopped = run_em(steps, post.copy(), max_iter=300, tol=1e-12, objective_rtol=1e-5)
    assert stopped.converged and stopped.n_iter == int(flat[0]) + 1
    assert objective_gain_small(-100.0, -100.0005, objective_rtol=1e-5)
    assert not objective_gain_small(-100.0, -100.01, objective_rtol=1e-5)
    assert objective_gain_small(-100.0, -100.01, objective_tol=0.1)


def test_compiled_fused_pass_under_acceleration(setup):
    """The fused pass (statistics and changes from the E-step's own pass) gives the NumPy path's
    accelerated run."""
    pytest.importorskip("numba")
    from accord._kernel import compiled
    from accord._kernel.em import DSKernel

    if not compiled.enabled():
        pytest.skip("compiled kernels are off")
    ann, steps, post = setup
    fused = FullSteps(steps.matrix, steps.smoothing)
    fused._kernel = DSKernel(steps.matrix, compiled=True)
    a, b = tight(steps, post, accelerate=True), tight(fused, post, accelerate=True)
    assert a.converged and b.converged and abs(a.n_iter - b.n_iter) <= 3
    np.testing.assert_allclose(a.post, b.post, atol=1e-8)
    head = min(a.n_iter, b.n_iter) - 3  # the same steps until rounding decides at the fixed point
    np.testing.assert_allclose(a.history["step"][:head], b.history["step"][:head], rtol=1e-6)


class JointSteps:
    """The Dawid-Skene steps with an E-step that gives gold items their log joint itself (as EBCC's does)."""

    gold_log_joint = True

    def __init__(self, steps, gold):
        self.steps, self.gold = steps, gold

    def statistics(self, post):
        return self.steps.statistics(post)

    def m_step(self, stats, params):
        return self.steps.m_step(stats, params)

    def e_step(self, params):
        e = self.steps.e_step(params)
        e.log_z = gold_log_joint(e.log_z, e.post, self.gold)
        return e

    def objective(self, params, e):
        return self.steps.objective(params, e)


# gold items against the majority vote, so that clamping moves the fit
GOLD = (np.array([0, 1, 2, 3, 4, 5]), np.array([0, 1, 2, 0, 1, 2]))


@pytest.mark.parametrize("accelerate", [False, True])
def test_clamped_objective_is_the_one_clamped_em_increases(setup, accelerate):
    """With gold items the objective counts their log joint at the known class, so it never decreases
    (beyond rounding), also with SQUAREM; the plain sum of log Z_i over all items would dip."""
    _, steps, post = setup
    run = run_em(steps, post.copy(), max_iter=60, tol=0.0, gold=GOLD, warn=False, accelerate=accelerate)
    value = run.history["objective"].to_numpy()
    assert np.diff(value).min() >= -1e-9 * abs(value[-1])
    e = steps.e_step(run.params)
    joint = gold_log_joint(e.log_z, e.post, GOLD)
    assert run.objective == pytest.approx(steps.objective(run.params, type(e)(e.post, joint)), rel=1e-9)
    free = np.setdiff1d(np.arange(len(joint)), GOLD[0])
    np.testing.assert_array_equal(joint[free], e.log_z[free])
    assert (joint[GOLD[0]] < e.log_z[GOLD[0]]).all()


def test_steps_that_add_the_gold_joint_themselves_do_not_get_it_twice(setup):
    _, steps, post = setup
    plain = run_em(steps, post.copy(), max_iter=20, tol=0.0, gold=GOLD, warn=False)
    own = run_em(JointSteps(steps, GOLD), post.copy(), max_iter=20, tol=0.0, gold=GOLD, warn=False)
    np.testing.assert_allclose(own.history["objective"], plain.history["objective"], rtol=1e-12)
    np.testing.assert_allclose(own.log_z, plain.log_z, rtol=1e-12)


def test_gold_log_joint_is_finite_and_leaves_unclamped_runs_alone():
    log_z = np.array([-1.0, -2.0])
    assert gold_log_joint(log_z, np.array([[1.0, 0.0], [0.5, 0.5]]), None) is log_z
    out = gold_log_joint(log_z, np.array([[1.0, 0.0], [0.5, 0.5]]), (np.array([0]), np.array([1])))
    assert np.isfinite(out).all() and out[0] < -700 and out[1] == -2.0 and log_z[0] == -1.0


def test_a_decrease_is_never_convergence_beyond_rounding():
    for rule in ({"objective_rtol": 1e-5}, {"objective_tol": 0.1}):
        assert not objective_gain_small(-100.0, -99.9, **rule)
        assert objective_gain_small(-100.0, -100.0 + 1e-12, **rule)
    assert not objective_gain_small(-np.inf, -100.0, objective_tol=0.1)


def test_the_warning_reports_the_last_em_step_not_a_rejected_extrapolation(setup):
    """The budget ends on a rejected extrapolation (its row: change 0, 0 labels): the warning quotes the
    EM step the run fell back to."""
    _, steps, post = setup
    with pytest.warns(ConvergenceWarning) as caught:
        run = run_em(BadJumps(steps), post.copy(), max_iter=7, tol=1e-12, accelerate=True)
    last = run.history.iloc[-1]
    assert not last["accepted"] and last["max_delta"] == 0 and last["n_changed"] == 0
    em = run.history[run.history["step"] == 1.0].iloc[-1]
    assert em["max_delta"] > 0
    message = str(caught[0].message)
    assert f"change was {em['max_delta']:.2g} " in message and f"and {em['n_changed']} labels" in message


def test_a_rejected_extrapolation_leaves_no_snapshot(setup):
    _, steps, post = setup
    run = run_em(
        BadJumps(steps), post.copy(), max_iter=12, tol=0.0, warn=False, accelerate=True, history_bytes=2**30
    )
    history = run.history
    assert not history["accepted"].all()
    kept = [s["iteration"] for s in run.snapshots]
    assert kept == history.loc[history["accepted"].astype(bool), "iteration"].tolist()
