"""The one EM driver every iterative model runs on.

A model hands the driver an :class:`EMSteps` object with four small pieces, and the driver owns everything
else: the loop, clamping gold items, the convergence test, the per-iteration history (within a byte budget),
the ``ConvergenceWarning`` and optional restarts that keep the best objective (as scikit-learn's mixtures do).

One iteration, from the posterior ``q`` entering it::

    stats  = steps.statistics(q)            # sufficient statistics: sums over annotations (count tensors)
    params = steps.m_step(stats, params)    # parameters from the summed statistics (+ priors / smoothing)
    e      = steps.e_step(params)           # new posterior and per-item log evidence
    q'     = clamp(e.post, gold)

The M-step sees only the statistics, never the posterior: a distributed engine computes ``statistics`` on each
partition of items, adds the partial results (``merge``), runs ``m_step`` once and broadcasts the parameters.

``tol`` means one thing for every model: the run stops once the answer has stopped changing, i.e. an
iteration (at least the ``min_iter``-th) changed no label (argmax of a posterior, ties to the lowest class)
and moved no posterior probability by ``tol`` or more (:func:`has_converged`); ``tol = 0`` is a fixed
schedule of ``max_iter`` iterations. The label condition lets a model take a loose ``tol`` (Dawid-Skene's
default is ``1e-3``) without stopping while items still cross from one class to another. A model may add a
second rule, a small gain of the objective (``objective_tol``, crowd-kit's). The parameters returned are the
ones that produced the returned posterior.

The steps may write their posteriors into buffers they reuse (the Dawid-Skene kernel alternates two): the
driver copies what it keeps beyond one iteration (snapshots) and the arrays it returns.

Steps may also offer ``fused_e_step(params, post, labels)``: the E-step that, in the same pass over the
annotations, returns the statistics of its posterior and the changes against ``post`` / ``labels`` (the
posterior and labels entering the iteration) in :class:`EStep`'s ``stats``, ``delta``, ``n_changed``. The
driver then skips its own ``statistics`` call and comparison; it still makes both itself when gold items
are clamped (the clamp changes the posterior after the pass) or when a field is None.

Who runs on it, and what its statistics are (summed over annotations unless said):

- Dawid-Skene, one-coin, Bayesian DS, model-assisted DS: ``counts[a, k, l]`` and ``sum_i post[i, k]``;
- MACE: ``sum_{n in (a, l)} post[i_n, l]`` and the class mass (its M-step also reads the previous
  parameters, which the driver hands it);
- GLAD: the posterior of each annotation's label (per annotation: its item parameters need them) and the
  class mass; MMCE: the posterior itself (item parameters);
- ZeroBasedSkill: each annotator's agreement count with the weighted vote; M-MSR and KOS: none (their
  M-step reads a fixed agreement graph), their E-step turns parameters into a posterior.

A model that starts from parameters (random restarts, a prior mean) passes them as ``params``; restarts
are :func:`run_em_restarts` over ``(posterior, parameters)`` starts.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import pandas as pd

from .._utils import check_nonneg_float, check_positive_int
from ..errors import ConvergenceWarning, InvalidParameterError
from .votes import argmax_lowest

__all__ = [
    "HISTORY_BYTES",
    "HISTORY_COLUMNS",
    "EMResult",
    "EMSteps",
    "EStep",
    "check_em_params",
    "clamp",
    "has_converged",
    "history_budget",
    "max_abs_change",
    "merge_statistics",
    "run_em",
    "run_em_restarts",
]

# Per-iteration snapshots (labels, posteriors, confusions) are kept while their total stays under this many
# bytes. Each one is fresh memory: at 10^6 annotations (2 * 10^5 items) the 64 MiB of the previous release
# cost about a tenth of a default Dawid-Skene fit; small data keep every iteration either way.
HISTORY_BYTES = 16 * 2**20

# The columns every model's ``history_`` has, in this order; a model may add its own after them.
HISTORY_COLUMNS = ("iteration", "objective", "log_likelihood", "max_delta", "n_changed")

P = TypeVar("P")
S = TypeVar("S")


@dataclass
class EStep:
    """What an E-step returns: the posterior (items x K), each item's log evidence, optionally its argmax.

    A fused E-step (``fused_e_step`` of the steps, see :func:`run_em`) also returns the sufficient
    statistics of its posterior (``stats``, what ``statistics(post)`` would give) and, against the
    posterior and labels entering the iteration, the largest change of a probability (``delta``) and the
    number of changed labels (``n_changed``).
    """

    post: np.ndarray
    log_z: np.ndarray
    labels: np.ndarray | None = None
    extra: dict[str, float] = field(default_factory=dict)
    stats: Any = None
    delta: float | None = None
    n_changed: int | None = None


class EMSteps(Protocol[P, S]):
    """The pieces of one model's EM. ``statistics`` must be additive over disjoint sets of items."""

    def statistics(self, post: np.ndarray) -> S:
        """Sufficient statistics of the posterior (e.g. ``counts[a, k, l]`` and ``sum_i post[i, k]``)."""
        ...

    def m_step(self, stats: S, params: P | None) -> P:
        """Parameters from summed statistics; ``params`` is the previous value (a warm start) or None."""
        ...

    def e_step(self, params: P) -> EStep:
        """Posterior and log evidence of every item under ``params``."""
        ...

    def objective(self, params: P, e: EStep) -> float:
        """The quantity EM increases: log-likelihood plus log-prior (or the evidence lower bound)."""
        ...


@dataclass
class EMResult(Generic[P]):
    """The outcome of :func:`run_em`: final posterior and parameters, iteration count and history."""

    post: np.ndarray
    params: P
    log_z: np.ndarray
    n_iter: int
    converged: bool
    objective: float
    history: pd.DataFrame
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    restarts: list[float] = field(default_factory=list)


def history_budget(keep_history: bool | str) -> int:
    """Byte budget of the per-iteration snapshots from a model's ``keep_history``: all (True), none (False)
    or :data:`HISTORY_BYTES` ("auto")."""
    if keep_history is True:
        return 2**62
    if keep_history is False:
        return 0
    if keep_history == "auto":
        return HISTORY_BYTES
    raise InvalidParameterError(f"keep_history must be True, False or 'auto', got {keep_history!r}")


def check_em_params(min_iter: int, max_iter: int, tol: float) -> tuple[int, int, float]:
    """Validate the driver's three parameters (the messages name them as the user spells them)."""
    min_iter = check_positive_int("min_iter", min_iter)
    max_iter = check_positive_int("max_iter", max_iter)
    if min_iter > max_iter:
        raise InvalidParameterError(f"min_iter ({min_iter}) must not exceed max_iter ({max_iter})")
    return min_iter, max_iter, check_nonneg_float("tol", tol)


def clamp(post: np.ndarray, gold: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Set the posterior of gold items to one-hot at their known class (in place) and return it."""
    if gold is not None and len(gold[0]):
        post[gold[0]] = 0.0
        post[gold[0], gold[1]] = 1.0
    return post


class _Snapshots:
    """Per-iteration snapshots kept while they fit in ``budget`` bytes; past that only the scalar history."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.items: list[dict[str, Any]] = []
        self.full = budget <= 0

    def add(self, snapshot: dict[str, Any]) -> None:
        if self.full:
            return
        size = sum(v.nbytes for v in snapshot.values() if isinstance(v, np.ndarray))
        if self.used + size > self.budget:
            self.full = True
            return
        self.used += size
        self.items.append(snapshot)


def run_em(
    steps: EMSteps[P, S],
    post: np.ndarray,
    *,
    max_iter: int,
    tol: float,
    min_iter: int = 1,
    gold: tuple[np.ndarray, np.ndarray] | None = None,
    history_bytes: int = HISTORY_BYTES,
    snapshot: Callable[[P], dict[str, Any]] | None = None,
    model: str = "EM",
    warn: bool = True,
    callback: Callable[[int, float], None] | None = None,
    params: P | None = None,
    objective_tol: float | None = None,
    objective_scale: float = 1.0,
    start_objective: float = -np.inf,
) -> EMResult[P]:
    """Run EM from the posterior ``post`` (clamped to ``gold`` here) until ``tol`` or ``max_iter``.

    Parameters
    ----------
    steps : EMSteps
        The model's statistics, M-step, E-step and objective.
    post : ndarray (items x K)
        The starting posterior (e.g. majority vote, which breaks the label-switching symmetry).
    max_iter, tol, min_iter
        Stop after ``max_iter`` iterations, or once an iteration after the ``min_iter``-th changed no label
        and ``max |q' - q| < tol``.
    gold : (item codes, class codes), optional
        Items whose posterior is clamped to their known class after every E-step.
    history_bytes : int
        Byte budget of the per-iteration snapshots (0 keeps none); the scalar history is always kept.
    snapshot : callable, optional
        ``params -> dict`` of extra arrays to keep per iteration (e.g. the confusion matrices).
    model : str
        The model's name, for the warning.
    warn : bool
        Emit a :class:`~accord.errors.ConvergenceWarning` when ``max_iter`` stops the run.
    callback : callable, optional
        Called as ``callback(iteration, max_delta)`` after each iteration (progress display).
    params : optional
        The parameters that produced ``post`` (a warm start handed to the first M-step), if any.
    objective_tol, objective_scale, start_objective
        A second stopping rule (Dawid & Skene's alternative, crowd-kit's): stop once an iteration raises the
        objective by less than ``objective_tol * objective_scale`` (e.g. ``objective_scale`` = the number of
        annotations for a gain per annotation); ``start_objective`` is the objective at ``post``. Off by
        default.

    ``tol = 0`` never stops early: the run is a fixed schedule of ``max_iter`` iterations (pass ``warn=False``
    when that is what the model means).
    """
    min_iter, max_iter, tol = check_em_params(min_iter, max_iter, tol)
    post = clamp(post, gold)
    labels = np.asarray(argmax_lowest(post), dtype=np.intp)
    rows: list[tuple[Any, ...]] = []
    extra_rows: list[dict[str, float]] = []
    kept = _Snapshots(history_bytes)
    converged, it, value, previous = False, 0, -np.inf, float(start_objective)
    e = EStep(post, np.zeros(len(post)))
    scratch: np.ndarray | None = None
    fused = getattr(steps, "fused_e_step", None)
    clamped = gold is not None and len(gold[0]) > 0
    stats: Any = None
    for it in range(1, max_iter + 1):
        params = steps.m_step(steps.statistics(post) if stats is None else stats, params)
        e = fused(params, post, labels) if fused is not None else steps.e_step(params)
        new_post = clamp(e.post, gold)
        new_labels = e.labels if e.labels is not None and gold is None else new_post.argmax(axis=1)
        if e.delta is not None and e.n_changed is not None and not clamped:
            delta, n_changed = float(e.delta), int(e.n_changed)
        else:
            scratch = np.empty(len(post)) if scratch is None else scratch
            delta = max_abs_change(new_post, post, scratch)
            n_changed = int(np.count_nonzero(new_labels != labels))
        stats = None if clamped else e.stats  # the statistics of the posterior entering the next iteration
        value = float(steps.objective(params, e))
        rows.append((it, value, float(e.log_z.sum()), delta, n_changed))
        extra_rows.append(e.extra)
        if not kept.full:  # the steps may reuse their buffers: a kept posterior is a copy
            extra = snapshot(params) if snapshot else {}
            kept.add({"iteration": it, "labels": labels.copy(), "posteriors": post.copy(order="K"), **extra})
        post = new_post
        np.copyto(labels, new_labels)  # the E-step's labels may be a buffer it writes again
        if callback is not None:
            callback(it, delta)
        gain_small = objective_tol is not None and (value - previous) < objective_tol * objective_scale
        previous = value
        if it >= min_iter and (has_converged(delta, n_changed, tol) or gain_small):
            converged = True
            break
    if not converged and warn:
        last = rows[-1] if rows else (0, 0.0, 0.0, float("nan"), 0)
        warnings.warn(
            f"{model} stopped at max_iter={max_iter} before converging (in the last iteration the largest "
            f"posterior change was {last[3]:.2g} against tol={tol:g}, and {last[4]} labels changed); raise "
            "max_iter or tol",
            ConvergenceWarning,
            stacklevel=3,
        )
    history = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    if any(extra_rows):
        history = pd.concat([history, pd.DataFrame(extra_rows)], axis=1)
    assert params is not None  # max_iter >= 1
    # the steps may write these buffers again (another run, a restart): the result owns copies
    return EMResult(post.copy(), params, e.log_z.copy(), it, converged, value, history, kept.items)


def has_converged(delta: float, n_changed: int, tol: float) -> bool:
    """The driver's stopping rule: the answer has stopped changing, i.e. no label changed in the iteration
    and no posterior probability moved by ``tol`` or more (``delta`` is the largest change). ``tol = 0``
    never stops (a fixed schedule). A distributed loop calls this with its summed counts to stop where the
    in-memory fit does."""
    return n_changed == 0 and delta < tol


def max_abs_change(new: np.ndarray, old: np.ndarray, scratch: np.ndarray | None = None) -> float:
    """``max |new - old|`` over two posteriors (items x K), a column at a time through ``scratch`` (one
    item-long buffer) instead of two full-size temporaries."""
    if new.size == 0:
        return 0.0
    buf = scratch if scratch is not None and len(scratch) == len(new) else np.empty(len(new))
    out = 0.0
    for j in range(new.shape[1]):
        np.subtract(new[:, j], old[:, j], out=buf)
        np.abs(buf, out=buf)
        out = max(out, float(buf.max()))
    return out


def run_em_restarts(
    steps: EMSteps[P, S],
    starts: Iterable[Any] | Sequence[Any],
    *,
    key: Callable[[EMResult[P]], float] | None = None,
    **kwargs: Any,
) -> EMResult[P]:
    """Run :func:`run_em` from each start and keep the run with the highest ``key`` (default: the objective).

    A start is a posterior, or a ``(posterior, parameters)`` pair when the model starts from parameters (e.g.
    random ones). The first start wins ties, so a list that begins with the majority-vote start never does
    worse than it. ``restarts`` of the result lists every run's ``key``. A ``ConvergenceWarning`` is emitted
    only when the kept run did not converge.
    """
    warn = kwargs.pop("warn", True)
    score = key if key is not None else (lambda r: r.objective)
    best: EMResult[P] | None = None
    scores: list[float] = []
    for start in starts:
        post, params = start if isinstance(start, tuple) else (start, None)
        result = run_em(steps, post, warn=False, params=params, **kwargs)
        scores.append(float(score(result)))
        if best is None or scores[-1] > max(scores[:-1]):
            best = result
    if best is None:
        raise InvalidParameterError("run_em_restarts needs at least one start")
    best.restarts = scores
    if warn and not best.converged:
        warnings.warn(
            f"{kwargs.get('model', 'EM')} stopped at max_iter={kwargs.get('max_iter')} before converging; "
            "raise max_iter or tol",
            ConvergenceWarning,
            stacklevel=2,
        )
    return best


def merge_statistics(parts: Iterable[Any]) -> Any:
    """Add per-partition statistics: arrays, or tuples / dicts of arrays, element-wise."""
    it = iter(parts)
    total = next(it)
    for part in it:
        total = _add(total, part)
    return total


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, tuple):
        return tuple(_add(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return {k: _add(a[k], b[k]) for k in a}
    return a + b
