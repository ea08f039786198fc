"""Load the compiled Dawid-Skene kernels on a background thread while a fit sets up.

A fresh process spends about 0.2 s importing numba and 0.5 s loading the cached machine code on its first
compiled pass. A fit of 10^7 annotations first builds its design matrix, vote table and starting posterior on
one core (about a second); a thread started just before (the command line starts it once the annotations are
read, for methods on the Dawid-Skene kernel) loads the kernels meanwhile on another core, so the first pass
finds them ready. The library never starts it by itself: a process that only reads a file does not import
numba.

The thread holds numba's import and compiler locks while it runs, and a child forked then would inherit them
held by a thread it does not have (its first compiled fit would wait forever); so a fork waits for the thread
first (bounded by :data:`JOIN_SECONDS`), and so does the interpreter's exit.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading

import numpy as np
import pandas as pd

__all__ = ["JOIN_SECONDS", "WARM_FLOOR", "warm_compiled_kernels"]

WARM_FLOOR = 100_000  # fewer annotations than this never start the warm-up (their fits rarely run compiled)
JOIN_SECONDS = 30.0  # the longest a fork or the interpreter's exit waits for the thread

_LOCK = threading.Lock()
_warm_up: list[threading.Thread] = []  # the one warm-up thread of this process, once started


def warm_compiled_kernels(n_annotations: int, n_classes: int) -> threading.Thread | None:
    """Load the compiled Dawid-Skene kernels for ``n_classes`` classes on a background thread, when a fit of
    ``n_annotations`` would run them (:func:`accord._kernel.compiled.worth_it`: numba installed,
    ``ACCORD_NO_COMPILE`` unset, 10^7 annotations or ``ACCORD_COMPILE_MIN``).

    The thread runs one E-step and one statistics pass on a two-item table of ``n_classes`` classes, with the
    argument types a fit passes, so nothing is loaded (or compiled) that such a fit would not load anyway.
    Started once per process (later calls return the same thread); anything it raises is dropped (the fit
    meets and reports it itself).

    Returns the thread, or None when nothing is started (fewer than :data:`WARM_FLOOR` annotations, fewer
    than two classes, or no numba to import).
    """
    with _LOCK:
        if _warm_up:
            return _warm_up[0]
        if n_annotations < WARM_FLOOR or n_classes < 2 or importlib.util.find_spec("numba") is None:
            return None
        thread = threading.Thread(
            target=_load_kernels, args=(n_annotations, n_classes), name="accord-warm-kernels", daemon=True
        )
        _warm_up.append(thread)
        thread.start()
    return thread


def _join() -> None:
    """Wait (at most :data:`JOIN_SECONDS`) for a running warm-up thread: before a fork and at exit."""
    if _warm_up and _warm_up[0].is_alive():
        _warm_up[0].join(JOIN_SECONDS)


def _load_kernels(n_annotations: int, k: int) -> None:
    """One compiled E-step and statistics pass on a two-item table of ``k`` classes (see
    :func:`warm_compiled_kernels`); nothing when a fit of ``n_annotations`` would stay on the NumPy path."""
    try:
        from ..annotations import Annotations
        from . import compiled
        from .em import AnnotationMatrix, DSKernel

        if not compiled.worth_it(n_annotations):
            return
        item, who = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
        pair = pd.RangeIndex(2)
        tiny = Annotations(item, who, item, pair, pair, pd.RangeIndex(k))
        kernel = DSKernel(AnnotationMatrix(tiny), compiled=True)
        post = np.full((2, k), 1.0 / k)
        kernel.statistics(post)
        log_theta = np.full((2, k, k), -np.log(k))
        kernel.e_step_fused(np.full(k, -np.log(k)), log_theta, post, np.zeros(2, dtype=np.intp))
    except Exception:  # a warm-up only: the fit meets (and reports) the same problem
        return


atexit.register(_join)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_join)
