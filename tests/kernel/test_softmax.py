"""The column-wise softmax helpers: the running argmax against NumPy's argmax (ties, NaN, many classes)."""

from __future__ import annotations

import numpy as np
import pytest

from accord._kernel.softmax import log_normalize_argmax, running_argmax, small_codes
from accord._kernel.votes import argmax_lowest


@pytest.mark.parametrize("k", [2, 3, 5, 130])
def test_running_argmax_is_numpys_with_ties_to_the_lowest_column(k):
    rng = np.random.default_rng(k)
    x = rng.integers(0, 3, size=(5000, k)).astype(np.float64)  # many exact ties
    best = x[:, 0].copy()
    arg = running_argmax(x, best)
    assert arg.dtype == small_codes(k)
    np.testing.assert_array_equal(arg, x.argmax(axis=1))
    np.testing.assert_array_equal(best, x.max(axis=1))


def test_small_codes_hold_every_class_index():
    for k in (2, 127, 128, 32767, 32768):
        assert np.iinfo(small_codes(k)).max >= k - 1


def test_argmax_lowest_keeps_numpys_answer_for_nan_and_returns_intp():
    rng = np.random.default_rng(0)
    x = rng.random((4096, 4))
    x[7, 2] = np.nan
    x[9] = [0.5, 0.5, 0.1, 0.5]
    got = argmax_lowest(x)
    assert got.dtype == np.intp
    np.testing.assert_array_equal(got, x.argmax(axis=1))
    clean = np.nan_to_num(x)
    np.testing.assert_array_equal(argmax_lowest(clean), clean.argmax(axis=1))


def test_log_normalize_argmax_labels_are_the_argmax_of_the_scores():
    rng = np.random.default_rng(1)
    log_u = rng.normal(size=(3000, 6)) * 20
    log_u[:10, 3] = log_u[:10, 1]  # ties go to the lowest column
    post, log_z, arg = log_normalize_argmax(log_u)
    assert arg.dtype == np.intp
    np.testing.assert_array_equal(arg, log_u.argmax(axis=1))
    np.testing.assert_allclose(post.sum(axis=1), 1.0)
    np.testing.assert_allclose(
        log_z, np.log(np.exp(log_u - log_u.max(1, keepdims=True)).sum(1)) + log_u.max(1)
    )
