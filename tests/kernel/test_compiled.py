"""The compiled (numba) kernel against the NumPy path: equal to rounding, same labels, same iterations.

Skipped where numba is not installed (the ``fast`` extra); the switch and the lazy import are tested
everywhere.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from accord import Annotations, BayesianDawidSkene, DawidSkene, OneCoinDawidSkene
from accord._kernel import compiled, fused
from accord._kernel.driver import max_abs_change
from accord._kernel.em import AnnotationMatrix, DSKernel, ds_statistics, e_step_labels, initial_posterior
from accord.datasets import load_dataset
from accord.errors import ConvergenceWarning
from accord.models.mace import MACE

from ..conftest import DATA

needs_numba = pytest.mark.skipif(not compiled._numba_usable(), reason="numba (the 'fast' extra) missing")

PUBLIC = ["dog", "rte", "temp", "wsd", "ducks", "zencrowd_in", "sp"]


def synthetic(k: int, seed: int = 0, n_items: int = 400, n_annotators: int = 15) -> Annotations:
    """Dawid-Skene data with missing labels: 1 to 6 annotations per item, annotators with very different
    numbers of labels, one class never used by some annotators."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    skill = rng.uniform(0.35, 0.95, n_annotators)
    busy = rng.dirichlet(np.ones(n_annotators) * 0.7)
    rows = []
    for i in range(n_items):
        who = rng.choice(n_annotators, size=int(rng.integers(1, 7)), replace=False, p=busy)
        for a in who:
            label = truth[i] if rng.random() < skill[a] else int(rng.integers(0, k))
            rows.append((f"i{i}", f"a{a}", f"c{label}"))
    return Annotations.from_frame(
        pd.DataFrame(rows, columns=["item", "annotator", "label"]), classes=[f"c{j}" for j in range(k)]
    )


@pytest.fixture(autouse=True)
def compile_small_data(monkeypatch):
    """The tests' small data take the compiled path too."""
    monkeypatch.setattr(compiled, "MIN_ANNOTATIONS", 0)


def fit_both(model_factory, ann: Annotations, monkeypatch, **fit_kwargs):
    """The same fit on the NumPy path and on the compiled one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        monkeypatch.setenv(compiled.ENV_SWITCH, "1")
        plain = model_factory().fit(ann, **fit_kwargs)
        monkeypatch.delenv(compiled.ENV_SWITCH)
        fast = model_factory().fit(ann, **fit_kwargs)
    return plain, fast


def assert_same_fit(plain, fast, tol: float = 1e-10) -> None:
    assert plain.n_iter_ == fast.n_iter_
    np.testing.assert_array_equal(plain.labels_.to_numpy(), fast.labels_.to_numpy())
    assert np.abs(plain.proba_.to_numpy() - fast.proba_.to_numpy()).max() <= tol
    np.testing.assert_allclose(plain.history_["objective"], fast.history_["objective"], rtol=1e-12)


def test_importing_accord_does_not_import_numba():
    code = "import sys, accord; from accord import DawidSkene; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(
    "value, on", [("1", False), ("yes", False), ("0", True), ("", True), ("false", True)]
)
def test_the_switch_turns_the_compiled_path_off(monkeypatch, value, on):
    monkeypatch.setenv(compiled.ENV_SWITCH, value)
    assert compiled.enabled() is (on and compiled._numba_usable())
    assert DSKernel(AnnotationMatrix(synthetic(3, n_items=20))).compiled is compiled.enabled()


def test_small_data_keep_the_numpy_path(monkeypatch):
    monkeypatch.setattr(compiled, "MIN_ANNOTATIONS", 10**6)
    ann = synthetic(3, n_items=20)
    assert not DSKernel(AnnotationMatrix(ann)).compiled
    monkeypatch.setenv(compiled.MIN_ENV, str(ann.n_annotations))
    assert DSKernel(AnnotationMatrix(ann)).compiled is compiled.enabled()


def test_block_bounds_cover_every_row_once():
    indptr = np.array([0, 3, 3, 10, 11, 20, 21, 21])
    for n_blocks in (1, 2, 3, 7):
        bounds = compiled.block_bounds(indptr, n_blocks)
        assert len(bounds) == n_blocks and bounds[0][0] == 0 and bounds[-1][1] == len(indptr) - 1
        assert all(a[1] == b[0] for a, b in zip(bounds[:-1], bounds[1:], strict=True))


@needs_numba
@pytest.mark.parametrize("name", PUBLIC)
@pytest.mark.parametrize("model", [DawidSkene, OneCoinDawidSkene])
def test_public_sets_equal_the_numpy_path(monkeypatch, name, model):
    path = DATA / name
    if not path.is_dir():
        pytest.skip(f"{path} missing")
    ann = load_dataset(path).annotations
    assert_same_fit(*fit_both(model, ann, monkeypatch))


@needs_numba
@pytest.mark.parametrize("k", [2, 3, 4, 5, 6, 7, 9])
def test_synthetic_sets_equal_the_numpy_path(monkeypatch, k):
    ann = synthetic(k, seed=k)
    for model in (DawidSkene, OneCoinDawidSkene, lambda: DawidSkene(tol=0.0, max_iter=40)):
        assert_same_fit(*fit_both(model, ann, monkeypatch))


@needs_numba
@pytest.mark.parametrize("k", [2, 4])
def test_other_users_of_the_kernel_equal_the_numpy_path(monkeypatch, k):
    """IBCC and MACE run the compiled E-step (not fused with their own statistics)."""
    ann = synthetic(k, seed=10 + k)
    for factory in (BayesianDawidSkene, lambda: MACE(random_state=0, n_restarts=2)):
        plain, fast = fit_both(factory, ann, monkeypatch)
        assert_same_fit(plain, fast, tol=1e-9)


@needs_numba
def test_gold_items_equal_the_numpy_path(monkeypatch):
    """With gold the driver clamps after the pass, so it makes the statistics and the changes itself."""
    ann = synthetic(3, seed=5)
    gold = pd.Series(["c0", "c1", "c2", "c0"], index=["i0", "i1", "i2", "i3"])
    assert_same_fit(*fit_both(DawidSkene, ann, monkeypatch, gold=gold))


@needs_numba
@pytest.mark.parametrize("k", [2, 3, 5, 8, 9])
@pytest.mark.parametrize("weighted", [False, True])
def test_fused_pass_equals_the_separate_passes(k, weighted):
    """Every width of the compiled pass (two classes, the 8-column kernels for 3 to 8, any K above),
    unweighted and weighted."""
    ann = synthetic(k, seed=20 + k)
    weights = np.random.default_rng(k).uniform(0.2, 2.0, ann.n_annotations) if weighted else None
    matrix = AnnotationMatrix(ann, weights)
    rng = np.random.default_rng(1)
    theta = rng.dirichlet(np.ones(k), size=(ann.n_annotators, k)) + np.eye(k)
    log_theta = np.log(theta / theta.sum(axis=2, keepdims=True))
    log_prior = np.log(rng.dirichlet(np.ones(k)))
    prev = initial_posterior(ann, "soft_mv", None, "lowest", rng)
    prev_labels = prev.argmax(axis=1)
    post, log_z, labels = e_step_labels(matrix, log_prior, log_theta)
    stats = ds_statistics(matrix, post)
    kernel = DSKernel(matrix, compiled=True)
    got_post, got_z, got_labels, got_stats, delta, changed = kernel.e_step_fused(
        log_prior, log_theta, prev, prev_labels
    )
    np.testing.assert_allclose(got_post, post, rtol=0, atol=1e-14)
    np.testing.assert_allclose(got_z, log_z, rtol=1e-14)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_stats is not None
    np.testing.assert_allclose(got_stats.counts, stats.counts, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(got_stats.class_mass, stats.class_mass, rtol=1e-13)
    assert delta == max_abs_change(post, prev) and changed == int((labels != prev_labels).sum())
    again = kernel.statistics(prev)
    np.testing.assert_allclose(again.counts, ds_statistics(matrix, prev).counts, rtol=1e-13, atol=1e-12)


@needs_numba
@pytest.mark.parametrize("k", [2, 3])
def test_results_do_not_depend_on_the_number_of_threads(monkeypatch, k):
    monkeypatch.setattr(fused, "BLOCK_ANNOTATIONS", 97)  # many blocks on small data
    monkeypatch.setattr(fused, "CHUNK_ANNOTATIONS", 31)
    ann = synthetic(k, seed=30 + k)
    m = AnnotationMatrix(ann).M
    make = lambda t: fused.FusedDS(  # noqa: E731
        m.indptr, m.indices, m.data, ann.n_annotators, k, np.asarray(m.sum(axis=0)).ravel(), threads=t
    )
    one, three = make(1), make(3)
    assert one.n_blocks > 3
    rng = np.random.default_rng(0)
    table = np.log(rng.dirichlet(np.ones(k), size=ann.n_annotators * k))
    prev = initial_posterior(ann, "soft_mv", None, "lowest", rng)
    a, b = (
        one.run(np.log(np.full(k, 1 / k)), table, prev, prev.argmax(axis=1)),
        three.run(np.log(np.full(k, 1 / k)), table, prev, prev.argmax(axis=1)),
    )
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


@needs_numba
def test_compiled_buffers_keep_the_previous_posterior():
    ann = synthetic(3)
    kernel = DSKernel(AnnotationMatrix(ann), compiled=True)
    rng = np.random.default_rng(2)
    log_theta = np.log(rng.dirichlet(np.ones(3), size=(ann.n_annotators, 3)))
    first = kernel.e_step(np.log(np.full(3, 1 / 3)), log_theta)[0]
    kept = first.copy()
    second = kernel.e_step(np.log(np.full(3, 1 / 3)), log_theta + 0.1)[0]
    assert second is not first
    np.testing.assert_array_equal(first, kept)


@needs_numba
def test_weighted_matrix_uses_the_weights():
    ann = synthetic(3, seed=8)
    weights = np.random.default_rng(3).uniform(0.2, 2.0, ann.n_annotations)
    matrix = AnnotationMatrix(ann, weights)
    post = initial_posterior(ann, "soft_mv", None, "lowest", np.random.default_rng(0))
    got = DSKernel(matrix, compiled=True).statistics(post)
    np.testing.assert_allclose(got.counts, ds_statistics(matrix, post).counts, rtol=1e-13, atol=1e-12)


@needs_numba
def test_no_convergence_warning_difference(monkeypatch):
    """A run stopped by max_iter warns on both paths."""
    ann = synthetic(4, seed=3)
    for switch in ("1", "0"):
        monkeypatch.setenv(compiled.ENV_SWITCH, switch)
        with pytest.warns(ConvergenceWarning):
            DawidSkene(max_iter=2, tol=1e-12).fit(ann)


def test_a_numba_that_fails_to_import_means_the_numpy_path(monkeypatch, tmp_path):
    broken = tmp_path / "numba"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('Numba needs NumPy 2.3 or less')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "numba", raising=False)
    monkeypatch.delenv(compiled.ENV_SWITCH, raising=False)
    compiled._numba_usable.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="numba is installed but cannot be imported .*NumPy 2.3"):
            assert compiled.enabled() is False
    finally:
        compiled._numba_usable.cache_clear()


@needs_numba
def test_an_unwritable_cache_compiles_in_memory(monkeypatch):
    import numba

    real = numba.njit

    def njit(**options):
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x.py'")
        return real(**options)

    monkeypatch.setattr(numba, "njit", njit)

    @compiled.jit()
    def twice(x: float) -> float:
        return 2.0 * x

    assert twice(1.5) == 3.0


def test_a_forked_child_forgets_the_parents_thread_pool(monkeypatch):
    monkeypatch.setattr(compiled, "_POOL", None)  # a pool of this test's own (the process's is restored)
    monkeypatch.setattr(compiled, "_POOL_SIZE", 0)
    for future in compiled._submit(2, lambda: None):
        future.result()
    pool = compiled._POOL
    assert pool is not None and compiled._POOL_SIZE == 2
    compiled._forget_pools_after_fork()
    assert compiled._POOL is None and compiled._POOL_SIZE == 0
    compiled.run_blocks(lambda b: None, 4, threads=2)
    fresh = compiled._POOL
    assert fresh is not None and fresh is not pool
    pool.shutdown(wait=True)
    fresh.shutdown(wait=True)


def test_a_pool_grown_by_another_thread_between_submits(monkeypatch):
    """A call that grows the pool shuts the old one down; a call submitting its workers meanwhile must not
    submit to the shut pool. The pool grows while the caller is in its second submit, which waits for the
    growth (or 1 s, as it does once submits and growth exclude each other) before it submits."""
    grown, second = threading.Event(), threading.Event()
    caller = threading.current_thread()
    nested: list[BaseException] = []

    class SlowPool(ThreadPoolExecutor):
        submits = 0

        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            if threading.current_thread() is caller and self._max_workers == 2:
                SlowPool.submits += 1
                if SlowPool.submits == 2:  # now kernel(0), on the first worker, grows the pool
                    second.set()
                    grown.wait(1.0)
            return super().submit(fn, *args, **kwargs)

        def shutdown(self, wait=True, *, cancel_futures=False):  # type: ignore[no-untyped-def]
            super().shutdown(wait=wait, cancel_futures=cancel_futures)
            grown.set()

    def grow() -> None:
        try:
            compiled.run_blocks(lambda b: None, 8, threads=8)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            nested.append(exc)

    growers: list[threading.Thread] = []

    def kernel(b: int) -> None:
        if b == 0 and second.wait(10.0):
            growers.append(threading.Thread(target=grow))
            growers[0].start()

    monkeypatch.setattr(compiled, "ThreadPoolExecutor", SlowPool)
    monkeypatch.setattr(compiled, "_POOL", None)
    monkeypatch.setattr(compiled, "_POOL_SIZE", 0)
    compiled.run_blocks(kernel, 4, threads=2)  # before the fix: "cannot schedule new futures after shutdown"
    growers[0].join(10.0)
    assert grown.is_set() and not nested and compiled._POOL_SIZE == 8
    pool = compiled._POOL
    assert pool is not None
    pool.shutdown(wait=True)


def _live_kernel_threads() -> int:
    return sum(t.name.startswith("accord-kernel") for t in threading.enumerate())


def test_one_pool_serves_every_thread_count():
    """Sizes that vary grow one pool (never one pool per size, whose threads would all stay idle); a call
    with fewer threads runs that many workers on it; every block runs once."""
    compiled._forget_pools_after_fork()
    for size in (2, 3, 4, 3, 2):
        seen: list[tuple[int, int]] = []
        compiled.run_blocks(lambda b: seen.append((b, threading.get_ident())), 9, threads=size)  # noqa: B023
        assert sorted(b for b, _ in seen) == list(range(9))
        assert len({ident for _, ident in seen}) <= size
    assert compiled._POOL_SIZE == 4
    deadline = time.monotonic() + 10
    while _live_kernel_threads() > 4 and time.monotonic() < deadline:  # the replaced pools' threads end
        time.sleep(0.05)
    assert _live_kernel_threads() <= 4


@pytest.mark.parametrize(
    "name, value",
    [
        (compiled.MIN_ENV, "ten million"),
        (compiled.MIN_ENV, "-5"),
        (compiled.MIN_ENV, "1.5"),
        (compiled.THREADS_ENV, "two"),
        (compiled.THREADS_ENV, "0"),
        (compiled.THREADS_ENV, "inf"),
    ],
)
def test_a_bad_environment_value_warns_with_the_fix(monkeypatch, name, value):
    compiled.env_count.cache_clear()
    monkeypatch.setenv(name, value)
    with pytest.warns(
        RuntimeWarning, match=re.escape(f"{name}={value!r} is not a whole number") + ".*or unset it"
    ):
        assert compiled.n_threads() >= 1
        compiled.worth_it(10)
    monkeypatch.setattr(compiled, "MIN_ANNOTATIONS", 10**9)
    assert not compiled.worth_it(10**6)  # the default stands


@pytest.mark.parametrize("value, number", [("1e7", 10**7), ("1_000", 1000), (" 20 ", 20), ("0", 0)])
def test_the_minimum_takes_whole_numbers_in_any_spelling(monkeypatch, value, number):
    compiled.env_count.cache_clear()
    monkeypatch.setenv(compiled.MIN_ENV, value)
    monkeypatch.setenv(compiled.THREADS_ENV, "3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compiled.env_count(compiled.MIN_ENV, value, 0, "") == number
        assert compiled.n_threads() == 3
        assert compiled.worth_it(number) is compiled.enabled()
        assert not compiled.worth_it(number - 1)


@needs_numba
@pytest.mark.parametrize("k", [2, 3, 5, 9])
def test_a_table_with_nan_gives_the_numpy_paths_labels(k):
    """A NaN log-score makes the running maximum NaN on the NumPy path (np.maximum); the compiled argmax
    follows it, so both paths give the same labels and the same NaN posteriors."""
    ann = synthetic(k, seed=40 + k)
    matrix = AnnotationMatrix(ann)
    rng = np.random.default_rng(4)
    table = np.log(rng.dirichlet(np.ones(k), size=ann.n_annotators * k))
    table[rng.choice(len(table), size=len(table) // 4, replace=False), rng.integers(0, k)] = np.nan
    table[:, k - 1] += 0.3  # the last class often wins where it is not NaN
    log_prior = np.log(np.full(k, 1 / k))
    plain = DSKernel(matrix, compiled=False).e_step_table(log_prior, table)
    fast = DSKernel(matrix, compiled=True).e_step_table(log_prior, table)
    np.testing.assert_array_equal(fast[2], plain[2])
    np.testing.assert_array_equal(np.isnan(fast[0]), np.isnan(plain[0]))
    assert np.isnan(plain[0]).any() and not np.isnan(plain[0]).all()
    np.testing.assert_allclose(fast[0], plain[0], rtol=0, atol=1e-14)  # NaN where both are


@needs_numba
@pytest.mark.parametrize("k", [3, 5])
def test_class_mass_is_one_running_sum_per_block(monkeypatch, k):
    """At 3 to 8 classes each block's class mass is the posterior added item after item across its chunks,
    in the fused pass and in the statistics pass: the order of the compiled pass before the 8-wide kernels,
    whose first version summed each chunk from zero and so changed the posteriors in the last bits."""
    monkeypatch.setattr(fused, "BLOCK_ANNOTATIONS", 997)
    monkeypatch.setattr(fused, "CHUNK_ANNOTATIONS", 37)  # many chunks per block
    ann = synthetic(k, seed=40 + k, n_items=2000)
    m = AnnotationMatrix(ann).M
    fd = fused.FusedDS(m.indptr, m.indices, m.data, ann.n_annotators, k, np.asarray(m.sum(axis=0)).ravel())
    assert fd.n_blocks > 1 and all(len(c) > 3 for c in fd.chunks)
    rng = np.random.default_rng(k)
    table = np.log(rng.dirichlet(np.ones(k), size=ann.n_annotators * k))
    post = fd.run(np.log(np.full(k, 1 / k)), table)[0].copy()

    def expected() -> np.ndarray:
        return np.array([np.cumsum(post[c[0][0] : c[-1][1]], axis=0)[-1] for c in fd.chunks])

    np.testing.assert_array_equal(fd._mass[:, :k], expected())
    fd.statistics(post)
    np.testing.assert_array_equal(fd._mass[:, :k], expected())
