"""The NumPy L-BFGS of the M-steps: minima found, steps always decreasing, bad trial points rejected."""

from __future__ import annotations

import numpy as np
import pytest

from accord._kernel.lbfgs import minimize_lbfgs, vdot


def quadratic(d):
    return lambda x: (0.5 * float(np.sum(d * x * x)) - float(x.sum()), d * x - 1.0)


def rosenbrock(x):
    f = 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
    g = np.array([-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]), 200 * (x[1] - x[0] ** 2)])
    return float(f), g


def test_ill_conditioned_quadratic():
    d = np.geomspace(1, 1e3, 50)
    res = minimize_lbfgs(quadratic(d), np.zeros(50), max_iter=500, gtol=1e-9, ftol=0.0)
    assert res.converged and res.n_iter < 300  # scipy L-BFGS-B: 270 iterations here
    np.testing.assert_allclose(res.x, 1 / d, rtol=1e-6)


def test_rosenbrock_and_monotone_values():
    values = []

    def tracked(x):
        f, g = rosenbrock(x)
        values.append(f)
        return f, g

    res = minimize_lbfgs(tracked, np.array([-1.2, 1.0]), max_iter=200, gtol=1e-8, ftol=0.0)
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-5)
    assert res.fun <= min(values) + 1e-15 and res.n_eval == len(values)


def test_non_finite_trial_points_are_rejected():
    def fun(x):  # x - log x: minimum at 1, undefined (NaN) for x <= 0, where the second step lands
        return float(x[0] - np.log(x[0])), np.array([1.0 - 1.0 / x[0]])

    res = minimize_lbfgs(fun, np.array([5.0]), max_iter=100, gtol=1e-8)
    assert res.converged and res.x[0] == pytest.approx(1.0, abs=1e-6)


def test_noise_floor_stops_the_line_search():
    rng = np.random.default_rng(0)
    calls = []

    def noisy(x):
        calls.append(1)
        f, g = quadratic(np.ones(3))(x)
        return f * (1 + 1e-7 * rng.standard_normal()), g

    res = minimize_lbfgs(noisy, np.zeros(3) + 0.999, max_iter=50, gtol=0.0, ftol=0.0, rel_noise=1e-6)
    assert res.converged and len(calls) < 20


def test_vdot():
    a, b = np.arange(5.0), np.arange(5.0, 10.0)
    assert vdot(a, b) == pytest.approx(float(np.dot(a, b)))


def test_bad_start_is_an_error():
    with pytest.raises(FloatingPointError):
        minimize_lbfgs(lambda x: (float("nan"), x), np.zeros(2))
