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
EM step (at least the ``min_iter``-th E-step) changed no label (argmax of a posterior, ties to the lowest
class) and moved no posterior probability by ``tol`` or more (:func:`has_converged`); ``tol = 0`` is a
fixed schedule of ``max_iter`` E-steps. The label condition lets a model take a loose ``tol`` (Dawid-Skene's
default is ``1e-3``) without stopping while items still cross from one class to another. A model may add a
second rule on the objective (:func:`objective_gain_small`): an absolute gain below ``objective_tol`` per
unit of ``objective_scale`` (crowd-kit's, per annotation), or a relative gain of at most
``objective_rtol * |objective|``; Dawid-Skene (and the models built on it) takes
``objective_rtol = tol ** 2`` (:func:`relative_objective_tol`), which stops large data where a handful of
items keep flipping. A gain counts only when it is not negative beyond rounding: EM never lowers its
objective, so a drop means a run away from its maximum, never one that converged. The parameters returned
are the ones that produced the returned posterior.

Gold items: clamped EM increases ``sum_free log Z_i + sum_gold log p(x_i, y_i = g_i)``, so the objective
the rules and SQUAREM's guard read counts each gold item's log joint at its known class,
``log Z_i + log q_i(g_i)`` with ``q`` the posterior before the clamp (:func:`gold_log_joint`, added to the
E-step's ``log_z`` by the driver unless the steps say they do it themselves, ``gold_log_joint = True``);
the returned ``log_z`` and the history's ``log_likelihood`` count it too.

Acceleration (``accelerate=True``, steps with ``pack`` / ``unpack``): SQUAREM cycles (:func:`em_step`,
:class:`Squarem`), two EM steps and one extrapolated step that is kept only when it raises the objective
above the second EM step's, so the run's objective (with gold, the clamped one above) never decreases.
``max_iter`` and ``n_iter`` count E-steps (an extrapolation is one), and the stopping rules are tested on
EM steps only (what ``tol`` means does not change); a ``ConvergenceWarning`` quotes the last EM step. A
distributed loop runs the same :func:`em_step` with its own ``em_map`` / ``evaluate``.

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
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import pandas as pd

from .._utils import check_nonneg_float, check_positive_int
from ..errors import ConvergenceWarning, InvalidParameterError
from .votes import argmax_lowest

__all__ = [
    "GOLD_PROB_FLOOR",
    "HISTORY_BYTES",
    "HISTORY_COLUMNS",
    "RTOL_FLOOR",
    "EMPoint",
    "EMResult",
    "EMSteps",
    "EStep",
    "Squarem",
    "check_em_params",
    "clamp",
    "em_step",
    "gold_log_joint",
    "has_converged",
    "history_budget",
    "max_abs_change",
    "merge_statistics",
    "objective_gain_small",
    "relative_objective_tol",
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


# The floor of a gold item's unclamped posterior at its known class in :func:`gold_log_joint` (its log is
# about -708: finite, so a gold label the model thinks impossible still gives a finite objective).
GOLD_PROB_FLOOR = float(np.finfo(np.float64).tiny)


def gold_log_joint(
    log_z: np.ndarray, post: np.ndarray, gold: tuple[np.ndarray, np.ndarray] | None
) -> np.ndarray:
    """Each item's log evidence as clamped EM's objective counts it: a gold item's is the log joint at
    its known class, ``log p(x_i, y_i = g_i) = log Z_i + log q_i(g_i)`` (``post`` the posterior *before*
    :func:`clamp` writes it; ``q_i(g_i)`` floored at :data:`GOLD_PROB_FLOOR`), every other item's
    ``log Z_i``. With variational E-steps (Bayesian DS, EBCC) the bound has the same form. Returns
    ``log_z`` itself when no item is clamped, else a new array (``log_z`` may be a buffer the steps write
    again).

    With items clamped, EM maximises ``sum_free log Z_i + sum_gold log p(x_i, y_i = g_i)``; the sum of
    ``log Z_i`` over all items is not monotone under it, so stopping rules and SQUAREM's guard read this.

    >>> import numpy as np
    >>> out = gold_log_joint(np.zeros(2), np.array([[0.5, 0.5], [0.9, 0.1]]), (np.array([1]), np.array([1])))
    >>> bool(np.isclose(out[1], np.log(0.1))), float(out[0])
    (True, 0.0)
    """
    if gold is None or not len(gold[0]):
        return log_z
    out = np.array(log_z, dtype=np.float64)
    out[gold[0]] += np.log(np.maximum(post[gold[0], gold[1]], GOLD_PROB_FLOOR))
    return out


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

    def drop(self, iteration: int) -> None:
        """Forget the snapshot of ``iteration`` if it is the last one kept (a rejected extrapolation's:
        confusions the run never used, and the posterior the next snapshot repeats)."""
        if self.items and self.items[-1]["iteration"] == iteration:
            last = self.items.pop()
            self.used -= sum(v.nbytes for v in last.values() if isinstance(v, np.ndarray))


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
    objective_rtol: float | None = None,
    accelerate: bool = False,
) -> EMResult[P]:
    """Run EM from the posterior ``post`` (clamped to ``gold`` here) until ``tol`` or ``max_iter``.

    Parameters
    ----------
    steps : EMSteps
        The model's statistics, M-step, E-step and objective.
    post : ndarray (items x K)
        The starting posterior (e.g. majority vote, which breaks the label-switching symmetry).
    max_iter, tol, min_iter
        Stop after ``max_iter`` E-steps, or once an EM step after the ``min_iter``-th E-step changed no label
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
        Called as ``callback(iteration, max_delta)`` after each E-step (progress display).
    params : optional
        The parameters that produced ``post`` (a warm start handed to the first M-step), if any.
    objective_tol, objective_scale, start_objective
        A second stopping rule (Dawid & Skene's alternative, crowd-kit's): stop once an EM step raises the
        objective by less than ``objective_tol * objective_scale`` (e.g. ``objective_scale`` = the number of
        annotations for a gain per annotation); ``start_objective`` is the objective at ``post``. Off by
        default.
    objective_rtol : float, optional
        A relative form of the same rule: stop once an EM step raises the objective by at most
        ``objective_rtol * |objective|`` (see :func:`relative_objective_tol`). Off by default. For both
        rules a decrease beyond rounding is not a small gain (:func:`objective_gain_small`); with ``gold``
        the objective counts the gold items' log joint at their class (:func:`gold_log_joint`).
    accelerate : bool
        Run SQUAREM cycles (:class:`Squarem`) when the steps can ``pack`` / ``unpack`` their parameters;
        ``max_iter`` still counts E-steps, the stopping rules are still tested on EM steps only, and the
        objective never decreases (a rejected extrapolation falls back to the EM step).

    ``tol = 0`` never stops early: the run is a fixed schedule of ``max_iter`` E-steps (pass ``warn=False``
    when that is what the model means); without acceleration those are ``max_iter`` EM iterations.
    """
    min_iter, max_iter, tol = check_em_params(min_iter, max_iter, tol)
    post = clamp(post, gold)
    run = _Run(steps, gold, history_bytes, snapshot, accelerate)
    base: EMPoint[P] = EMPoint(
        params,
        float(start_objective),
        float("nan"),
        0,
        _State(post, np.asarray(argmax_lowest(post), np.intp)),
    )
    squarem = Squarem(steps) if accelerate and Squarem.supports(steps) else None

    def stop(point: EMPoint[P], previous: EMPoint[P]) -> bool:
        gain_small = objective_gain_small(
            point.value, previous.value, objective_tol, objective_scale, objective_rtol
        )
        return point.iteration >= min_iter and (
            has_converged(point.delta, point.n_changed, tol) or gain_small
        )

    converged, points = False, 0
    while points < max_iter and not converged:
        base, evaluated, converged = em_step(base, run.em_map, run.evaluate, stop, max_iter - points, squarem)
        points += len(evaluated)
        for point in evaluated:
            run.record(point, squarem is not None)
            if callback is not None:
                callback(point.iteration, point.delta)
    if not converged and warn:
        last = run.last_em_row if run.last_em_row is not None else (0, 0.0, 0.0, float("nan"), 0)
        warnings.warn(
            f"{model} stopped at max_iter={max_iter} before converging (in the last EM step the largest "
            f"posterior change was {last[3]:.2g} against tol={tol:g}, and {last[4]} labels changed); raise "
            "max_iter or tol",
            ConvergenceWarning,
            stacklevel=3,
        )
    history = pd.DataFrame(run.rows, columns=list(HISTORY_COLUMNS))
    if any(run.extra_rows):
        history = pd.concat([history, pd.DataFrame(run.extra_rows)], axis=1)
    assert base.params is not None  # max_iter >= 1
    state = base.state
    # the steps may write these buffers again (another run, a restart): the result owns copies
    return EMResult(
        state.post.copy(),
        base.params,
        state.log_z.copy(),
        points,
        converged,
        base.value,
        history,
        run.kept.items,
    )


@dataclass
class EMPoint(Generic[P]):
    """One E-step of a run (or its start): the parameters, the objective at them, the change of the answer
    against the point it was reached from (largest posterior change, changed labels), and whatever the loop
    keeps to continue from here (``state``: in memory the posterior; a distributed engine its partitions).

    ``step`` is 1 for an EM step and the extrapolation's step length for a SQUAREM point; ``accepted`` is
    False for an extrapolation that lowered the objective (the run continues from the EM step before it).
    """

    params: Any
    value: float
    delta: float
    n_changed: int
    state: Any = None
    iteration: int = 0
    step: float = 1.0
    accepted: bool = True


def em_step(
    base: EMPoint[P],
    em_map: Callable[[EMPoint[P]], P],
    evaluate: Callable[[P, EMPoint[P]], EMPoint[P]],
    stop: Callable[[EMPoint[P], EMPoint[P]], bool],
    budget: int,
    squarem: Squarem | None = None,
) -> tuple[EMPoint[P], list[EMPoint[P]], bool]:
    """Advance a run from ``base`` by one EM step, or with ``squarem`` by one SQUAREM cycle (in memory and in
    a distributed loop alike).

    ``em_map(point)`` is the M-step from the statistics of ``point``'s posterior (``point.params`` the warm
    start); ``evaluate(params, point)`` runs one E-step under ``params`` from ``point`` and returns the new
    point (objective, changes against ``point``, state); ``stop(point, previous)`` is the stopping rule,
    tested on EM steps only; ``budget`` is the number of E-steps left (at least 1).

    A cycle (Varadhan and Roland 2008, step length S3): two EM steps ``x1 = F(x0)``, ``x2 = F(x1)``, then
    ``x' = x0 + 2 s r + s^2 v`` with ``r = x1 - x0``, ``v = x2 - 2 x1 + x0``, ``s = |r| / |v|`` within
    ``[1, step_max]`` (in the steps' packed space), evaluated by one more E-step and kept only when its
    objective is at least that of ``x2`` (the guard, up to ``GUARD_RTOL`` of it for rounding: the run's
    objective never decreases); ``s = 1`` is
    ``x2`` itself and costs no E-step.

    Returns the point to continue from, every point evaluated (in order) and whether the rule stopped the
    run (it then ends at the EM step that met it).
    """
    first = evaluate(em_map(base), base)
    if stop(first, base):
        return first, [first], True
    if squarem is None or budget < 2:
        return first, [first], False
    second = evaluate(em_map(first), first)
    if stop(second, first):
        return second, [first, second], True
    proposal = squarem.propose(base.params, first.params, second.params) if budget >= 3 else None
    if proposal is None:
        return second, [first, second], False
    params, step = proposal
    jump = evaluate(params, second)
    jump.step = step
    # not lower than the second EM step's, up to the objective's rounding (near convergence the two are
    # equal and rounding alone would decide; a loop that sums in another order then decides the same)
    floor = second.value - GUARD_RTOL * abs(second.value)
    jump.accepted = bool(np.isfinite(jump.value) and jump.value >= floor)
    squarem.update(step, jump.accepted)
    return (jump if jump.accepted else second), [first, second, jump], False


class Squarem:
    """SQUAREM's step-length bounds across cycles (Varadhan and Roland 2008, scheme S3) over parameters that
    the steps ``pack`` into one vector and ``unpack`` back (``steps.unpack(x, like)``: parameters shaped as
    ``like``); see :func:`em_step`.

    The space is the model's: it must keep any vector valid on the way back (Dawid-Skene packs log
    probabilities and renormalises each row with a softmax, so an extrapolation can never leave the
    simplex). The upper bound starts at 1 and is multiplied by 4 each time a cycle uses all of it, and
    divided by 4 (not below 1) when such a step is rejected, as in the authors' ``SQUAREM`` package.

    References
    ----------
    R. Varadhan and C. Roland (2008). Simple and globally convergent methods for accelerating the convergence
    of any EM algorithm. Scandinavian Journal of Statistics 35(2):335-353.
    doi:10.1111/j.1467-9469.2007.00585.x
    """

    GROWTH = 4.0

    def __init__(self, steps: Any) -> None:
        self.pack: Callable[[Any], np.ndarray] = steps.pack
        self.unpack: Callable[[np.ndarray, Any], Any] = steps.unpack
        self.step_max = 1.0

    @staticmethod
    def supports(steps: Any) -> bool:
        """Whether the steps can pack and unpack their parameters."""
        return callable(getattr(steps, "pack", None)) and callable(getattr(steps, "unpack", None))

    def propose(self, p0: Any, p1: Any, p2: Any) -> tuple[Any, float] | None:
        """The extrapolated parameters and the step length from three EM iterates, or None when the step
        length is 1 (the extrapolation is ``p2``) or ``p0`` is unknown (the start of a run)."""
        if p0 is None:
            return None
        x0, x1, x2 = self.pack(p0), self.pack(p1), self.pack(p2)
        r = x1 - x0
        v = x2 - x1 - r
        # squares summed without BLAS: a threaded dot of this size costs more than the whole cycle's
        # arithmetic on a busy machine
        rr, vv = float(np.square(r).sum()), float(np.square(v).sum())
        step = float(np.sqrt(rr / vv)) if vv > 0 and np.isfinite(rr / vv) else 1.0
        step = min(max(step, 1.0), self.step_max)
        if step == 1.0:
            self.update(step, True)
            return None
        return self.unpack(x0 + (2.0 * step) * r + (step * step) * v, p2), step

    def update(self, step: float, accepted: bool) -> None:
        """Adjust the bound after a cycle with step length ``step``."""
        if not accepted:
            if step == self.step_max:
                self.step_max = max(1.0, self.step_max / self.GROWTH)
            step = 1.0
        if step == self.step_max:
            self.step_max *= self.GROWTH


@dataclass
class _State:
    """What the in-memory loop keeps of a point: its (clamped) posterior, labels, log evidence, E-step
    extras and the statistics of its posterior when a fused pass gave them."""

    post: np.ndarray
    labels: np.ndarray
    log_z: np.ndarray = field(default_factory=lambda: np.zeros(0))
    log_likelihood: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)
    stats: Any = None


class _Run:
    """The in-memory loop's pieces for :func:`em_step`: the EM map, one evaluated E-step, the history.

    Buffers: the steps' E-step may return its posterior (and labels, log evidence) in buffers it writes
    again, valid through the next E-step (the Dawid-Skene kernel alternates two posteriors). Labels are
    copied into three driver buffers used in turn; with acceleration the log evidence too, and a point the
    run falls back to after a rejected extrapolation has its posterior copied before the next E-step.
    """

    def __init__(
        self,
        steps: Any,
        gold: tuple[np.ndarray, np.ndarray] | None,
        history_bytes: int,
        snapshot: Callable[[Any], dict[str, Any]] | None,
        accelerate: bool,
    ) -> None:
        self.steps = steps
        self.gold = gold
        self.clamped = gold is not None and len(gold[0]) > 0
        # steps whose E-step already gives gold items their log joint (``gold_log_joint = True``, EBCC's)
        self.joint_done = bool(getattr(steps, "gold_log_joint", False))
        self.fused = getattr(steps, "fused_e_step", None)
        self.snapshot = snapshot
        self.accelerate = accelerate
        self.kept = _Snapshots(history_bytes)
        self.rows: list[tuple[Any, ...]] = []
        self.extra_rows: list[dict[str, float]] = []
        # the row of the last EM step (what the stopping rule read; never a SQUAREM point's): the warning's
        self.last_em_row: tuple[Any, ...] | None = None
        self.count = 0
        self.last: EMPoint[Any] | None = None  # the point whose posterior the steps' buffers hold last
        self._labels: list[np.ndarray] = []
        self._log_z: list[np.ndarray] = []
        self._scratch: np.ndarray | None = None
        self._saved: np.ndarray | None = None

    def em_map(self, point: EMPoint[Any]) -> Any:
        state = point.state
        stats = self.steps.statistics(state.post) if state.stats is None else state.stats
        return self.steps.m_step(stats, point.params)

    def _own(self, pool: list[np.ndarray], values: np.ndarray) -> np.ndarray:
        """``values`` copied into the next of three buffers used in turn."""
        if not pool:
            pool.extend(np.empty_like(values) for _ in range(3))
        turn = self.count % 3
        if pool[turn].shape != values.shape or pool[turn].dtype != values.dtype:
            pool[turn] = np.empty_like(values)
        np.copyto(pool[turn], values)
        return pool[turn]

    def _restore(self, point: EMPoint[Any]) -> None:
        """The run continues from ``point`` after another E-step: its posterior leaves the steps' buffers."""
        state = point.state
        if self._saved is None or self._saved.shape != state.post.shape:
            self._saved = np.empty_like(state.post)
        np.copyto(self._saved, state.post)
        state.post = self._saved

    def evaluate(self, params: Any, point: EMPoint[Any]) -> EMPoint[Any]:
        if self.last is not None and point is not self.last and point.iteration > 0:
            self._restore(point)
        state = point.state
        post, labels = state.post, state.labels
        e = self.fused(params, post, labels) if self.fused is not None else self.steps.e_step(params)
        if self.clamped and not self.joint_done:  # before the clamp: the gold items' unclamped posterior
            e = replace(e, log_z=gold_log_joint(e.log_z, e.post, self.gold))
        new_post = clamp(e.post, self.gold)
        new_labels = e.labels if e.labels is not None and self.gold is None else new_post.argmax(axis=1)
        if e.delta is not None and e.n_changed is not None and not self.clamped:
            delta, n_changed = float(e.delta), int(e.n_changed)
        else:
            self._scratch = np.empty(len(post)) if self._scratch is None else self._scratch
            delta = max_abs_change(new_post, post, self._scratch)
            n_changed = int(np.count_nonzero(new_labels != labels))
        value = float(self.steps.objective(params, e))
        self.count += 1
        if not self.kept.full:  # the steps may reuse their buffers: a kept posterior is a copy
            extra = self.snapshot(params) if self.snapshot else {}
            self.kept.add(
                {
                    "iteration": self.count,
                    "labels": labels.copy(),
                    "posteriors": post.copy(order="K"),
                    **extra,
                }
            )
        log_z = self._own(self._log_z, e.log_z) if self.accelerate else e.log_z
        new = _State(
            new_post,
            self._own(self._labels, np.asarray(new_labels, dtype=np.intp)),
            log_z,
            float(e.log_z.sum()),
            e.extra,
            None if self.clamped else e.stats,  # the statistics of this posterior, for the next M-step
        )
        self.last = EMPoint(params, value, delta, n_changed, new, self.count)
        return self.last

    def record(self, point: EMPoint[Any], accelerated: bool) -> None:
        """The history row of an evaluated point (a rejected extrapolation: the run's answer stays where it
        was, so the row repeats the objective of the point it falls back to)."""
        state = point.state
        value, log_lik, delta, n_changed = point.value, state.log_likelihood, point.delta, point.n_changed
        if not point.accepted:
            value, log_lik = self.rows[-1][1], self.rows[-1][2]
            delta, n_changed = 0.0, 0
            self.kept.drop(point.iteration)
        self.rows.append((point.iteration, value, log_lik, delta, n_changed))
        if point.step == 1.0 and point.accepted:
            self.last_em_row = self.rows[-1]
        extra = dict(state.extra)
        if accelerated:
            extra.update(step=point.step, accepted=point.accepted)
        self.extra_rows.append(extra)


def has_converged(delta: float, n_changed: int, tol: float) -> bool:
    """The driver's stopping rule: the answer has stopped changing, i.e. no label changed in the iteration
    and no posterior probability moved by ``tol`` or more (``delta`` is the largest change). ``tol = 0``
    never stops (a fixed schedule). A distributed loop calls this with its summed counts to stop where the
    in-memory fit does."""
    return n_changed == 0 and delta < tol


# An extrapolation is kept when its objective is at least the second EM step's less this share of it.
GUARD_RTOL = 1e-12

# A decrease of the objective down to this share of it is rounding (a sum over every item, added in another
# order by a distributed loop), not a step away from the maximum: see :func:`objective_gain_small`.
GAIN_ROUNDING = 1e-11

# Below this relative gain the objective's own rounding (a sum over every item) decides the rule.
RTOL_FLOOR = 1e-13


def relative_objective_tol(tol: float) -> float | None:
    """The relative objective rule that goes with a posterior tolerance ``tol``: ``tol ** 2`` (near a
    maximum the gain of a step is quadratic in its size, so a step that moves the answer by about ``tol``
    raises the objective by about ``tol ** 2`` of its size); None (no such rule) when that is below the
    objective's rounding, i.e. for ``tol`` under about ``3e-7`` and for ``tol = 0``."""
    rtol = float(tol) ** 2
    return rtol if rtol >= RTOL_FLOOR else None


def objective_gain_small(
    value: float,
    previous: float,
    objective_tol: float | None = None,
    objective_scale: float = 1.0,
    objective_rtol: float | None = None,
) -> bool:
    """The objective rules of :func:`run_em`: an EM step from ``previous`` to ``value`` gained less than
    ``objective_tol * objective_scale``, or at most ``objective_rtol * |value|``.

    A decrease counts only within the objective's rounding (:data:`GAIN_ROUNDING` of ``|value|``): EM never
    lowers its objective, so a larger drop means the run is not at a maximum, never that it converged.

    >>> objective_gain_small(-100.0, -100.0 + 1e-12, objective_rtol=1e-6)  # a rounding-level dip
    True
    >>> objective_gain_small(-100.0, -99.0, objective_rtol=1e-6)  # a real decrease
    False
    """
    gain = value - previous
    if not np.isfinite(gain) or gain < -GAIN_ROUNDING * abs(value):
        return False
    if objective_tol is not None and gain < objective_tol * objective_scale:
        return True
    return objective_rtol is not None and gain <= objective_rtol * abs(value)


def max_abs_change(new: np.ndarray, old: np.ndarray, scratch: np.ndarray | None = None) -> float:
    """``max |new - old|`` over two posteriors (items x K), a column at a time through ``scratch`` (one
    item-long buffer) instead of two full-size temporaries; NaN when either holds a NaN (a broken fit never
    looks converged, and the answer does not depend on how the items are split into blocks)."""
    if new.size == 0:
        return 0.0
    buf = scratch if scratch is not None and len(scratch) == len(new) else np.empty(len(new))
    out = 0.0
    for j in range(new.shape[1]):
        np.subtract(new[:, j], old[:, j], out=buf)
        np.abs(buf, out=buf)
        largest = float(buf.max())
        if np.isnan(largest):
            return largest
        out = max(out, largest)
    return out


def largest_change(deltas: Iterable[float]) -> float:
    """The largest of several parts' largest changes (blocks of items, partitions): NaN when any is NaN, as
    :func:`max_abs_change` of the whole posterior would be (Python's ``max`` keeps or drops a NaN by its
    place)."""
    values = [float(d) for d in deltas]
    if any(np.isnan(d) for d in values):
        return float("nan")
    return max(values, default=0.0)


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
