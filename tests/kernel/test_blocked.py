"""The NumPy Dawid-Skene kernel on blocks of items in parallel threads.

Each block's product and softmax are the whole array's operations on its rows, so the E-step, the changes
it reports to the driver and every fit on it must equal the one-thread kernel's to the bit, whatever the
number of threads and however the blocks fall (an empty block included).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import accord._kernel.em as em
from accord import MACE, Annotations, BayesianDawidSkene, DawidSkene, OneCoinDawidSkene
from accord._kernel.compiled import _numba_usable as compiled_usable
from accord._kernel.driver import max_abs_change
from accord._kernel.em import AnnotationMatrix, DSKernel


def annotations(k: int, n_items: int = 300, seed: int = 0, crowded: bool = False) -> Annotations:
    """Noisy labels of 15 annotators (3-5 per item); ``crowded`` gives item 0 most of the annotations, so
    that a split into blocks of equal annotations leaves a block with no item."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    rows = []
    for i in range(n_items):
        for a in rng.choice(15, size=rng.integers(3, 6), replace=False):
            label = truth[i] if rng.random() < 0.45 + 0.03 * a else rng.integers(0, k)
            rows.append((f"i{i}", f"w{a}", int(label)))
    if crowded:
        rows += [("i0", f"x{j}", int(rng.integers(0, k))) for j in range(10 * len(rows))]
    return Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of at least 8 items, so that test-sized data is split."""
    monkeypatch.setattr(em, "BLOCK_ITEMS", 8)
    return monkeypatch


def kernel(ann: Annotations, monkeypatch, threads: int) -> DSKernel:
    monkeypatch.setenv("ACCORD_NUM_THREADS", str(threads))
    return DSKernel(AnnotationMatrix(ann), compiled=False)


def params(ann: Annotations, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = ann.n_classes
    theta = rng.dirichlet(np.ones(k), size=(ann.n_annotators, k)) + 2 * np.eye(k)
    theta /= theta.sum(axis=2, keepdims=True)
    return np.log(rng.dirichlet(np.ones(k))), np.log(theta)


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("crowded", [False, True])
def test_blocked_e_step_equals_one_thread_to_the_bit(small_blocks, k, crowded):
    ann = annotations(k, crowded=crowded)
    one, many = kernel(ann, small_blocks, 1), kernel(ann, small_blocks, 3)
    assert not one._blocks and len(many._blocks) == 3
    if crowded:  # item 0 holds most annotations: a block of equal annotations is left with no item
        assert any(s == e for s, e in many._blocks)
    log_prior, log_theta = params(ann)
    for got, want in zip(many.e_step(log_prior, log_theta), one.e_step(log_prior, log_theta), strict=True):
        np.testing.assert_array_equal(got, want)
    post = one.e_step(log_prior, log_theta)[0].copy(order="F")  # column-major, as the kernel's own
    stats = one.statistics(post)
    blocked = many.statistics(post)
    np.testing.assert_array_equal(blocked.counts, stats.counts)
    np.testing.assert_array_equal(blocked.class_mass, stats.class_mass)


@pytest.mark.parametrize("k", [2, 4])
def test_blocked_fused_step_reports_the_drivers_changes(small_blocks, k):
    """The blocked pass's largest change and changed-label count are what the driver computes itself."""
    ann = annotations(k)
    many = kernel(ann, small_blocks, 2)
    log_prior, log_theta = params(ann)
    prev = many.e_step(log_prior, log_theta)[0].copy()
    prev_labels = prev.argmax(axis=1)
    prev_labels[::7] = (prev_labels[::7] + 1) % k  # some labels that the next step changes back
    post, _, labels, stats, delta, changed = many.e_step_fused(log_prior, log_theta * 1.3, prev, prev_labels)
    assert stats is None  # the statistics stay a separate (one-thread) product
    assert delta == max_abs_change(post, prev)
    assert changed == int(np.count_nonzero(labels != prev_labels)) > 0


@pytest.mark.parametrize("model", [DawidSkene, OneCoinDawidSkene, BayesianDawidSkene, MACE])
@pytest.mark.parametrize("k", [2, 3])
def test_fits_do_not_depend_on_the_number_of_threads(small_blocks, model, k):
    ann = annotations(k, n_items=400, seed=2)
    fits = []
    for threads in (1, 2, 5):
        small_blocks.setenv("ACCORD_NUM_THREADS", str(threads))
        fitted = model(random_state=0).fit(ann)
        fits.append((fitted.proba_.to_numpy(), fitted.n_iter_))
    for proba, n_iter in fits[1:]:
        np.testing.assert_array_equal(proba, fits[0][0])
        assert n_iter == fits[0][1]


def test_gold_fit_does_not_depend_on_the_number_of_threads(small_blocks):
    """Clamped gold items: the driver recomputes the changes itself (the kernel's are of the unclamped
    posterior), on blocks as on one thread."""
    ann = annotations(3, n_items=400, seed=4)
    gold = pd.Series([0, 1, 2, 1], index=["i0", "i5", "i9", "i77"])
    fits = []
    for threads in (1, 3):
        small_blocks.setenv("ACCORD_NUM_THREADS", str(threads))
        fits.append(DawidSkene().fit(ann, gold=gold).proba_.to_numpy())
    np.testing.assert_array_equal(fits[1], fits[0])


@pytest.mark.parametrize("grouped", [True, False])
@pytest.mark.parametrize("weighted", [True, False])
def test_design_matrix_is_scipys_from_coordinates(small_blocks, grouped, weighted):
    """Built directly from an export grouped by item, and sorted on blocks of rows in threads: the same
    arrays (and index types) as SciPy's build from coordinates, duplicates summed in the same order."""
    rng = np.random.default_rng(5)
    n, k = 4000, 3
    item = rng.integers(0, 200, n)
    item = np.sort(item) if grouped else item
    frame = pd.DataFrame({"item": item, "annotator": rng.integers(0, 6, n), "label": rng.integers(0, k, n)})
    ann = Annotations.from_frame(frame, duplicates="keep_all")
    assert grouped == bool((np.diff(ann.item) >= 0).all())
    weights = rng.uniform(0.1, 3.0, n) if weighted else None
    small_blocks.setenv("ACCORD_NUM_THREADS", "3")
    given = None if weights is None else weights.copy()
    got = AnnotationMatrix(ann, weights).M
    if weights is not None:  # the caller's weights are not sorted in place
        np.testing.assert_array_equal(weights, given)
    cols = ann.annotator.astype(np.int64) * k + ann.label
    data = np.ones(n) if weights is None else weights
    want = sp.csr_matrix((data, (ann.item, cols)), shape=(ann.n_items, ann.n_annotators * k))
    want.sum_duplicates()
    assert got.has_canonical_format
    assert (got.data >= 3).sum() > 100  # cells of three or more annotations: their order of summing matters
    for name in ("indptr", "indices", "data"):
        assert getattr(got, name).dtype == getattr(want, name).dtype
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))


def test_blocks_follow_the_callers_floating_point_settings(small_blocks):
    """NumPy's error handling is per thread: the blocks run under the caller's ``np.errstate``."""
    from accord._kernel.compiled import run_blocks

    def block(b: int) -> None:
        np.log(np.full(4, -1.0))  # invalid

    for threads in (1, 3):
        with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
            run_blocks(block, 3, threads)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("error")
            run_blocks(block, 3, threads)
        calls: list[str] = []
        with np.errstate(invalid="call", call=lambda kind, flag, seen=calls: seen.append(kind)):
            run_blocks(block, 3, threads)  # the workers find the caller's callback
        assert len(calls) == 3


def test_a_nan_posterior_reports_a_nan_change_on_blocks_and_on_one_thread(small_blocks):
    """A NaN anywhere makes the largest change NaN (never "converged"), however the items are split."""
    ann = annotations(3)
    log_prior, log_theta = params(ann)
    for threads in (1, 3):
        kernel_ = kernel(ann, small_blocks, threads)
        prev = kernel_.e_step(log_prior, log_theta)[0].copy(order="F")
        prev[5, 1] = np.nan
        post = kernel_.e_step(log_prior, log_theta * 1.1)[0]
        assert np.isnan(max_abs_change(post, prev))
        if threads > 1:
            delta = kernel_.e_step_fused(log_prior, log_theta, prev, prev.argmax(axis=1))[4]
            assert delta is not None and np.isnan(delta)


def test_largest_change_of_parts_is_nan_wherever_the_nan_is():
    from accord._kernel.driver import largest_change

    assert np.isnan(largest_change([0.1, np.nan])) and np.isnan(largest_change([np.nan, 0.1]))
    assert largest_change([0.1, 0.3, 0.2]) == 0.3 and largest_change([]) == 0.0


@pytest.mark.skipif(not compiled_usable(), reason="numba (the 'fast' extra) missing")
def test_the_compiled_pass_reports_a_nan_change_too():
    """The compiled pass's running max would drop a NaN change: a NaN posterior (NaN log evidence) makes it
    NaN there too."""
    ann = annotations(3)
    log_prior, log_theta = params(ann)
    fused = DSKernel(AnnotationMatrix(ann), compiled=True)
    prev = fused.e_step(log_prior, log_theta)[0].copy(order="F")
    broken = log_theta.copy()
    broken[0, 1, :] = np.nan  # annotator 0's row: its items' posteriors become NaN
    delta = fused.e_step_fused(log_prior, broken, prev, prev.argmax(axis=1))[4]
    assert delta is not None and np.isnan(delta)
