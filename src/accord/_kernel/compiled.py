"""Optional compiled kernels: numba, imported only when a compiled kernel first runs.

A hot loop written as a plain Python function and decorated with :func:`jit` is compiled by numba the
first time it is called (and cached on disk, so later processes load it instead of compiling); importing
the module that defines it imports nothing from numba. Whoever calls one checks :func:`enabled` (or
:func:`worth_it`, which also asks for enough data) first and keeps a NumPy path for when it is off:

- numba is not installed (it is the ``fast`` extra: ``pip install accord[fast]``) or cannot be imported (a
  numba built for another NumPy: a ``RuntimeWarning`` says so once), or
- the environment sets ``ACCORD_NO_COMPILE=1`` (any value but ``""``, ``0``, ``false``, ``no``).

``prange`` inside a decorated function is ``numba.prange`` once compiled (``range`` in plain Python). A
decorated function may call another decorated one: both are compiled. :func:`run_blocks` runs a kernel
compiled with ``nogil=True`` over a fixed list of blocks on a few threads; each block writes its own
outputs, so the result does not depend on the number of threads.

Examples
--------
>>> import numpy as np
>>> from accord._kernel.compiled import jit
>>> @jit()
... def total(x):
...     s = 0.0
...     for v in x:
...         s += v
...     return s
>>> float(total.py_func(np.arange(4.0)))  # the plain Python function, whatever enabled() says
6.0
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import threading
import types
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = [
    "ENV_SWITCH",
    "MIN_ANNOTATIONS",
    "MIN_ENV",
    "THREADS_ENV",
    "LazyJit",
    "block_bounds",
    "enabled",
    "env_count",
    "jit",
    "n_threads",
    "prange",
    "run_blocks",
    "worth_it",
]

ENV_SWITCH = "ACCORD_NO_COMPILE"  # set (to anything but "", 0, false, no) to run the NumPy paths
THREADS_ENV = "ACCORD_NUM_THREADS"  # threads of run_blocks (default: the CPUs this process may use)

prange = range  # numba.prange in compiled code


@functools.cache
def _numba_usable() -> bool:
    """numba is installed and imports (asked once per process, only when a compiled kernel would run)."""
    try:
        if importlib.util.find_spec("numba") is None:
            return False
        import numba  # noqa: F401
    except Exception as exc:  # e.g. "Numba needs NumPy 2.3 or less" after NumPy was upgraded
        message = f"numba is installed but cannot be imported ({exc}); accord runs its NumPy kernels instead"
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        return False
    return True


# Below this many annotations a model keeps the NumPy path (MIN_ENV overrides it): a fresh process takes
# 1-2.5 s to import numba and load the cached kernels, more than the compiled pass saves on a fit of
# 10^6 annotations (0.3-1 s in all); at 10^7 and beyond the fit is long enough to carry that cost.
MIN_ANNOTATIONS = 10_000_000
MIN_ENV = "ACCORD_COMPILE_MIN"


def worth_it(n_annotations: int) -> bool:
    """:func:`enabled`, and the data has at least :data:`MIN_ANNOTATIONS` annotations (or the number
    :data:`MIN_ENV` gives, e.g. ``ACCORD_COMPILE_MIN=0`` in a long-lived process that fits many models)."""
    least = env_count(MIN_ENV, os.environ.get(MIN_ENV, ""), 0, "a number of annotations such as 10000000")
    return n_annotations >= (MIN_ANNOTATIONS if least is None else least) and enabled()


@functools.cache
def env_count(name: str, value: str, least: int, example: str) -> int | None:
    """The whole number ``value`` of the environment variable ``name`` (digits, ``1_000``, or an integral
    float such as ``1e7``), None when it is unset or blank; anything else, or a number below ``least``, is
    ignored with one ``RuntimeWarning`` per value that names the variable, the value and the fix."""
    text = value.strip()
    if not text:
        return None
    try:
        number = float(text) if any(c in text for c in ".eE") else int(text)
        if math.isfinite(number) and number == int(number) and int(number) >= least:
            return int(number)
    except (ValueError, OverflowError):
        pass
    warnings.warn(
        f"{name}={value!r} is not a whole number >= {least}; accord ignores it and uses its default (set "
        f"{name} to {example}, or unset it)",
        RuntimeWarning,
        stacklevel=3,
    )
    return None


def enabled() -> bool:
    """Whether compiled kernels run here: numba is importable and :data:`ENV_SWITCH` is not set.

    Read from the environment at every call (a test or a user may flip the switch between fits); the first
    call that gets past the switch imports numba (a numba that fails to import means False).
    """
    flag = os.environ.get(ENV_SWITCH, "").strip().lower()
    if flag not in ("", "0", "false", "no"):
        return False
    return _numba_usable()


class LazyJit:
    """A Python function compiled by ``numba.njit(**options)`` on its first call.

    ``py_func`` is the plain function. ``dispatcher()`` returns numba's dispatcher (compiling nothing yet:
    numba compiles per argument types on the call).
    """

    def __init__(self, func: Callable[..., Any], options: dict[str, Any]) -> None:
        self.py_func = func
        self.options = options
        self._dispatcher: Any = None
        self._lock = threading.RLock()
        functools.update_wrapper(self, func)

    def dispatcher(self) -> Any:
        """numba's dispatcher of the function, made once (its globals see compiled callees and prange)."""
        if self._dispatcher is None:
            with self._lock:
                if self._dispatcher is None:
                    import numba

                    func = self.py_func
                    scope = dict(func.__globals__)
                    for name in func.__code__.co_names:  # only the globals the function names
                        value = scope.get(name)
                        if isinstance(value, LazyJit) and value is not self:
                            scope[name] = value.dispatcher()
                        elif value is prange:
                            scope[name] = numba.prange
                    clone = types.FunctionType(
                        func.__code__, scope, func.__name__, func.__defaults__, func.__closure__
                    )
                    clone.__qualname__ = func.__qualname__
                    clone.__module__ = func.__module__
                    try:
                        self._dispatcher = numba.njit(**self.options)(clone)
                    except RuntimeError as exc:  # no writable cache directory: compile in memory only
                        if not self.options.get("cache") or "cannot cache" not in str(exc):
                            raise
                        self._dispatcher = numba.njit(**{**self.options, "cache": False})(clone)
        return self._dispatcher

    def __call__(self, *args: Any) -> Any:
        return self.dispatcher()(*args)


def jit(
    *, cache: bool = True, nogil: bool = True, parallel: bool = False, fastmath: bool = False
) -> Callable[[Callable[..., Any]], LazyJit]:
    """Decorator: compile the function with numba on its first call (see the module's notes).

    ``cache`` keeps the machine code on disk next to the module (``__pycache__``), so only the first
    process ever pays the compilation; ``nogil`` lets :func:`run_blocks` run it on several threads.
    ``fastmath`` stays off by default: it reorders sums, and compiled paths must give the NumPy path's
    results to rounding. A hot loop is written out in full rather than through a helper compiled into it
    (numba's ``inline="always"``): that made the two-class count scatter 2.5x slower.
    """
    options: dict[str, Any] = {"cache": cache, "nogil": nogil, "parallel": parallel, "fastmath": fastmath}
    return lambda func: LazyJit(func, options)


def n_threads() -> int:
    """Threads :func:`run_blocks` uses: :data:`THREADS_ENV` if set, else the CPUs this process may use."""
    value = env_count(THREADS_ENV, os.environ.get(THREADS_ENV, ""), 1, "a number of threads such as 2")
    if value is not None:
        return value
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


# One pool for the process, made on first use and grown (replaced by a larger one) when a call asks for
# more threads than it has; a call with fewer runs that many workers on it. Its threads stay for the next
# fit, but never more than the largest number ever asked for.
_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()


def _forget_pools_after_fork() -> None:
    """A forked child has none of its parent's threads: drop the parent's pool (a submit would never run)."""
    global _POOL, _POOL_SIZE, _POOL_LOCK
    _POOL_LOCK = threading.Lock()
    _POOL, _POOL_SIZE = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_after_fork)


def _submit(size: int, work: Callable[[], None]) -> list[Future[None]]:
    """``work`` submitted ``size`` times to the process's pool, grown to at least ``size`` threads first.

    The submits happen under the lock that guards growing: another thread that grows the pool shuts the
    old one down, and a submit to a shut pool raises (its threads still finish the work already given)."""
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE < size:
            if _POOL is not None:  # its threads end once the work already given to them is done
                _POOL.shutdown(wait=False)
            _POOL, _POOL_SIZE = ThreadPoolExecutor(size, thread_name_prefix="accord-kernel"), size
        return [_POOL.submit(work) for _ in range(size)]


def run_blocks(kernel: Callable[[int], Any], n_blocks: int, threads: int | None = None) -> None:
    """``kernel(b)`` for every block ``b`` in ``range(n_blocks)``, on up to ``threads`` threads
    (:func:`n_threads` by default). The kernel must release the GIL (``nogil=True``) to run in parallel and
    must write only block ``b``'s outputs, so the results are those of the serial loop. NumPy calls in the
    kernel run under the caller's :func:`numpy.errstate`."""
    size = min(n_blocks, n_threads() if threads is None else max(1, threads))
    if size <= 1:
        for b in range(n_blocks):
            kernel(b)
        return
    blocks = iter(range(n_blocks))
    lock = threading.Lock()
    # NumPy's floating-point error handling is per thread: the workers take the caller's (np.errstate)
    settings: dict[str, Any] = dict(np.geterr())
    if np.geterrcall() is not None:  # the callback of errstate(..., call=f), which "call"/"log" use
        settings["call"] = np.geterrcall()

    def work() -> None:  # one of ``size`` workers: takes the next block until none is left
        with np.errstate(**settings):
            while True:
                with lock:
                    b = next(blocks, None)
                if b is None:
                    return
                kernel(b)

    for future in _submit(size, work):
        future.result()


def block_bounds(indptr: np.ndarray, n_blocks: int) -> list[tuple[int, int]]:
    """Split rows ``0 .. len(indptr) - 1`` into ``n_blocks`` contiguous runs of about equal non-zeros
    (``indptr`` of a CSR matrix): the fixed partition a blocked kernel works on."""
    n_rows = len(indptr) - 1
    total = int(indptr[-1])
    targets = np.arange(1, n_blocks) * (total / max(n_blocks, 1))
    cuts = np.searchsorted(np.asarray(indptr), targets, side="left").clip(0, n_rows)
    edges = [0, *sorted(int(c) for c in cuts), n_rows]
    return [(edges[b], edges[b + 1]) for b in range(n_blocks)]
