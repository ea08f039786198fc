r"""The Dask engine: majority vote and the Dawid-Skene family on annotations partitioned by item.

The annotations are shuffled once so that every item's annotations sit in one partition (the partition is a
hash of the item id's text). Each partition is validated and encoded by :meth:`Annotations.from_frame` on
its worker; a first pass collects the annotator ids and the labels seen, which are merged and sorted (the
classes the way ``Annotations`` sorts them) and sent back, so that every partition codes annotators and
classes the same way. Then EM runs with the model's own pieces (``statistics``, ``m_step``, ``e_step``,
``objective`` of :mod:`accord._kernel.driver`):

- each partition keeps its posterior and the model's steps (the kernel and its buffers) in its worker's
  memory for the whole fit, and runs the E-step on its own items: the fused pass when the steps offer it
  (compiled with numba when the whole fit has 10^7 annotations or more: E-step, sufficient statistics,
  largest posterior change and changed labels in one pass over the annotations), else the NumPy E-step
  followed by the statistics;
- the sufficient statistics (expected confusion counts, annotators x K x K, and the class mass, K) of a
  worker's partitions are added up on that worker, with the largest posterior change, the summed log
  evidence and the number of changed labels, and the workers' sums on one of them;
- the client runs the M-step once on the sums and broadcasts the parameters (annotators x K x K + K floats)
  to every worker for the next E-step.

The loop is the in-memory driver's own (:func:`accord._kernel.driver.em_step`, with the model's stopping
rules from ``em_options()`` and SQUAREM when the model asks for it), so both give the same posteriors (up
to the order of floating-point sums, far below ``1e-9``) after the same number of iterations.

Examples
--------
>>> import pandas as pd
>>> from accord import DawidSkene
>>> from accord.engines.dask import supported
>>> supported(DawidSkene())
True
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from .._csv import write_parquet
from .._kernel.compiled import worth_it as compiled_worth_it
from .._kernel.driver import (
    HISTORY_COLUMNS,
    EMPoint,
    EMSteps,
    EStep,
    Squarem,
    check_em_params,
    em_step,
    gold_log_joint,
    has_converged,
    largest_change,
    max_abs_change,
    merge_statistics,
    objective_gain_small,
)
from .._kernel.em import AnnotationMatrix, one_hot
from .._kernel.fitted import Confusions
from .._kernel.votes import argmax_lowest, break_ties, vote_shares
from .._utils import check_nonneg_float
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import AccordError, ConvergenceWarning, InvalidAnnotationsError, InvalidParameterError
from ..io.tables import read_gold
from ..models import BayesianDawidSkene, DawidSkene, MajorityVote, OneCoinDawidSkene
from . import _dask_tables as tables
from ._dask_input import (
    MAX_COUNTED_FILES,
    ORIGIN_COLUMN,
    Local,
    by_item,
    dask_source,
    encode_partition,
    item_text,
    narrow_types,
    row_bytes,
    shuffle_method,
)

__all__ = ["WORKER_ENV", "DaskFit", "fit", "local_client", "supported"]

FAN_IN = 4  # partitions' summaries added by one task of the reduction tree
BROADCAST_BYTES = 2**20  # larger parameters are scattered to every worker once per iteration
_ALIASES = {
    "item": ("item", "task", "item_id", "task_id", "example", "example_id"),
    "annotator": ("annotator", "worker", "annotator_id", "worker_id", "rater", "labeler"),
    "label": ("label", "answer", "class", "response"),
}


# ----------------------------------------------------------------------------------------------- plans
class _Size:
    """What the M-step of a model reads of the design matrix: the number of items of the whole dataset."""

    def __init__(self, n_items: int, n_annotators: int, n_classes: int) -> None:
        self.n_items = n_items
        self.n_annotators = n_annotators
        self.n_classes = n_classes


class _Plan:
    """One model's EM on the engine: its steps on a partition (or on the whole data, for the M-step), its
    starting posterior and how its parameters become a prior and confusion matrices."""

    def __init__(self, model: Any, n_classes: int) -> None:
        self.model = model
        self.n_classes = n_classes
        self.name = str(getattr(model, "model_name", type(model).__name__))

    def steps(self, matrix: AnnotationMatrix, compiled: bool | None = None) -> EMSteps[Any, Any]:
        """The steps on ``matrix``; ``compiled``: True forces the compiled kernel, None: its size decides."""
        raise NotImplementedError

    def start(self, counts: np.ndarray, prevalence: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def prior_and_confusions(self, params: Any) -> tuple[np.ndarray, np.ndarray]:
        return params[0], params[1]

    def uses_prevalence(self) -> bool:
        return getattr(self.model, "tie_break", "lowest") == "prior"


class _DawidSkenePlan(_Plan):
    """Dawid-Skene and one-coin: the model's own ``FullSteps`` / ``OneCoinSteps`` and smoothing."""

    def steps(self, matrix: AnnotationMatrix, compiled: bool | None = None) -> EMSteps[Any, Any]:
        return cast(EMSteps[Any, Any], self.model.em_steps(matrix, compiled))

    def start(self, counts: np.ndarray, prevalence: np.ndarray) -> np.ndarray:
        return _vote_start(self.model.init, counts, self.model.tie_break, prevalence, self.n_classes)


class _BayesPlan(_Plan):
    """Bayesian Dawid-Skene: the model's ``em_steps`` (variational steps with its Dirichlet priors)."""

    def __init__(self, model: Any, n_classes: int) -> None:
        super().__init__(model, n_classes)
        self.nu0 = model.priors(n_classes)[1]

    def steps(self, matrix: AnnotationMatrix, compiled: bool | None = None) -> EMSteps[Any, Any]:
        return cast(EMSteps[Any, Any], self.model.em_steps(matrix, compiled))

    def start(self, counts: np.ndarray, prevalence: np.ndarray) -> np.ndarray:
        if self.model.init == "soft_mv":
            post = counts + self.nu0[None, :]
            return np.asarray(post / post.sum(axis=1, keepdims=True))
        return _vote_start(self.model.init, counts, self.model.tie_break, prevalence, self.n_classes)

    def prior_and_confusions(self, params: Any) -> tuple[np.ndarray, np.ndarray]:
        return params.priors, params.confusions


def _top_class(counts: np.ndarray, rule: str, prevalence: np.ndarray) -> np.ndarray:
    """:func:`break_ties` on one partition's vote table with the whole dataset's class prevalence.

    ``"prior"`` ranks tied classes by their votes over the whole dataset; one extra row holding the votes of
    the other partitions makes the column sums of the table that global count, and its own label is dropped.
    """
    if rule != "prior":
        return break_ties(counts, rule)
    rest = (prevalence - counts.sum(axis=0))[None, :]
    return break_ties(np.vstack([counts, rest]), rule)[:-1]


def _vote_start(init: str, counts: np.ndarray, rule: str, prevalence: np.ndarray, k: int) -> np.ndarray:
    """The Dawid-Skene family's starting posterior: one-hot majority vote or vote shares."""
    if init == "mv":
        return one_hot(_top_class(counts, rule, prevalence), k)
    if init == "soft_mv":
        return vote_shares(counts)
    raise InvalidParameterError(f"init must be 'mv' or 'soft_mv', got {init!r}")


_PLANS: dict[type, type[_Plan]] = {
    DawidSkene: _DawidSkenePlan,
    OneCoinDawidSkene: _DawidSkenePlan,
    BayesianDawidSkene: _BayesPlan,
}


def supported(model: Any) -> bool:
    """Whether the Dask engine can fit ``model``: majority vote, Dawid-Skene, one-coin or Bayesian DS."""
    return type(model) in _PLANS or type(model) is MajorityVote


def _check_model(model: Any) -> None:
    if not supported(model):
        names = ", ".join(c.__name__ for c in (MajorityVote, *_PLANS))
        raise InvalidParameterError(
            f"the Dask engine fits {names}; got {type(model).__name__}. Use the in-memory engine for it"
        )
    if getattr(model, "tie_break", "lowest") == "random":
        raise InvalidParameterError(
            "tie_break='random' draws in the order of the whole dataset, which the Dask engine never holds; "
            "use tie_break='lowest' or 'prior'"
        )
    if getattr(model, "initial_confusions", None) is not None:
        raise InvalidParameterError("the Dask engine does not take initial_confusions; leave it out")


# -------------------------------------------------------------------------------------- worker functions
@dataclass
class _Part:
    """One partition on its worker: annotations coded with the global annotator and class indexes, and its
    design matrix."""

    annotations: Annotations
    matrix: AnnotationMatrix
    item_text: bool = False
    known: tuple[np.ndarray, np.ndarray] | None = None  # (item codes, class codes) of labels known true

    def items(self) -> pd.Index:
        """The item ids as the outputs write them."""
        items = self.annotations.items
        return item_text(items) if self.item_text else items

    def for_output(self) -> Annotations:
        """The annotations with the item ids the outputs write."""
        if not self.item_text:
            return self.annotations
        a = self.annotations
        return Annotations(
            a.item, a.annotator, a.label, self.items(), a.annotators, a.classes, report=a.report
        )


@dataclass
class _Summary:
    """What a partition sends back each iteration; :func:`_merge` adds two of them."""

    stats: Any
    log_z: float = 0.0
    delta: float = 0.0
    n_changed: int = 0
    n_items: int = 0
    prevalence: np.ndarray | None = None


@dataclass
class _State:
    """A partition's posterior and labels, kept in its worker's memory between iterations, with the model's
    steps on the partition (their kernel and its buffers live for the whole fit, as in memory)."""

    post: np.ndarray
    labels: np.ndarray
    summary: _Summary = field(default_factory=lambda: _Summary(None))
    steps: _Steps | None = None


@dataclass
class _Steps:
    """The model's steps on one partition, shared by its states, and the posterior their E-step wrote last
    (it lives in the steps' buffers, which the next E-step writes again)."""

    steps: Any
    last: np.ndarray | None = None


def _encode_and_warm(
    frame: pd.DataFrame,
    options: dict[str, Any],
    text: bool,
    files: list[str],
    warm: tuple[int | None, int] | None,
) -> Local | None:
    """:func:`encode_partition`; then, for a fit on the Dawid-Skene kernel (``warm``: the whole fit's
    number of rows when known, and the number of partitions), the worker starts loading the compiled
    kernels for the partition's classes on a background thread
    (:func:`accord._kernel.warm.warm_compiled_kernels`: once per worker process, and only when a fit of that
    many annotations runs compiled; unknown, it is this partition's rows times the partitions), so that they
    load while the shuffle and the encoding still run and the first E-step finds them ready. The classes are
    this partition's (the whole fit's when ``classes=`` names them): a first partition that lacks a class may
    warm the other kernel (two classes against three or more), which costs only the time the warm-up saves."""
    local = encode_partition(frame, options, text, files)
    if warm is not None and local is not None:
        from .._kernel.warm import warm_compiled_kernels

        rows, n_parts = warm
        warm_compiled_kernels(rows if rows is not None else len(frame) * n_parts, local.annotations.n_classes)
    return local


def _vocabulary(local: Local | None) -> tuple[list[Any], list[Any], list[str]]:
    if local is None:
        return [], [], []
    ann = local.annotations
    return list(ann.annotators), list(ann.classes), list(ann.report)


def _globalize(local: Local, annotators: pd.Index, classes: pd.Index) -> _Part:
    """Recode a partition's annotators and labels with the global indexes; item codes stay local."""
    ann = local.annotations
    # int32 codes, as Annotations.from_frame makes them (get_indexer gives int64: 8 more bytes per
    # annotation, 0.4 GB per worker at 10^8 annotations on two workers)
    a = annotators.get_indexer(ann.annotators).astype(np.int32)[ann.annotator]
    c = classes.get_indexer(ann.classes).astype(np.int32)[ann.label]
    coded = Annotations(ann.item, a, c, ann.items, annotators, classes, report=ann.report)
    return _Part(coded, AnnotationMatrix(coded), local.item_text)


def _class_votes(part: _Part) -> np.ndarray:
    return np.asarray(part.annotations.vote_counts().sum(axis=0))


def _with_known(part: _Part, known: tuple[pd.Index, np.ndarray, np.ndarray]) -> _Part:
    """The partition with the codes of its items whose labels are known (matched by id text)."""
    pos = tables.gold_positions(part.items(), known)
    items = np.flatnonzero(pos >= 0)
    codes = known[1][pos[items]]
    return _Part(part.annotations, part.matrix, part.item_text, (items, codes) if len(items) else None)


def _clamp(part: _Part, post: np.ndarray) -> np.ndarray:
    """The posterior with the known items set to their known class (in place), as the in-memory driver
    does after every E-step."""
    if part.known is not None:
        post[part.known[0]] = 0.0
        post[part.known[0], part.known[1]] = 1.0
    return post


def _begin(part: _Part, plan: _Plan, prevalence: np.ndarray, n_annotations: int) -> _State:
    post = _clamp(part, plan.start(part.annotations.vote_counts(), prevalence))
    # the whole fit may be large enough for the compiled kernel when the partition alone is not (asked on the
    # worker, where it runs: numba there, ACCORD_NO_COMPILE / ACCORD_COMPILE_MIN there)
    steps = plan.steps(part.matrix, True if compiled_worth_it(n_annotations) else None)
    stats = steps.statistics(post)
    labels = np.asarray(argmax_lowest(post), dtype=np.intp)
    return _State(post, labels, _Summary(stats, n_items=part.annotations.n_items), _Steps(steps))


def _advance(part: _Part, state: _State, params: Any) -> _State:
    """One E-step on the partition with the broadcast parameters, with the statistics of its new posterior
    and its changes against the posterior and labels entering the iteration: from the same pass when the
    steps offer a fused E-step that gives them (and no known item is clamped after it), else computed
    after it (as :func:`accord._kernel.driver.run_em` does)."""
    assert state.steps is not None
    holder, steps, prev = state.steps, state.steps.steps, state.post
    if holder.last is not None and prev is not holder.last:
        # a run that continues from an earlier point (after a rejected SQUAREM extrapolation): its
        # posterior leaves the steps' buffers before they are written again
        prev = prev.copy(order="K")
    fused = getattr(steps, "fused_e_step", None)
    e = fused(params, prev, state.labels) if fused is not None else steps.e_step(params)
    holder.last = e.post
    # the known items' log joint at their class, from the posterior before the clamp (as run_em counts it)
    log_z = (
        e.log_z if getattr(steps, "gold_log_joint", False) else gold_log_joint(e.log_z, e.post, part.known)
    )
    post = _clamp(part, e.post)
    labels = e.labels if e.labels is not None and part.known is None else post.argmax(axis=1)
    if e.stats is not None and e.delta is not None and e.n_changed is not None and part.known is None:
        stats, delta, n_changed = e.stats, float(e.delta), int(e.n_changed)
    else:
        stats = steps.statistics(post)
        delta = max_abs_change(post, prev)
        n_changed = int(np.count_nonzero(labels != state.labels))
    # the steps write their posterior and label buffers again: the labels are copied (the posterior is
    # the other of the kernel's two buffers, so the one entering the next iteration stays intact)
    summary = _Summary(stats, float(log_z.sum()), delta, n_changed, len(post))
    return _State(post, np.array(labels, dtype=np.intp), summary, holder)


def _merge(*parts: _Summary | _State) -> _Summary:
    """Add partitions' summaries (or the summaries held by their states, on the worker that holds them)."""
    sums = [p.summary if isinstance(p, _State) else p for p in parts]
    return _Summary(
        merge_statistics(p.stats for p in sums),
        float(sum(p.log_z for p in sums)),
        largest_change(p.delta for p in sums),
        int(sum(p.n_changed for p in sums)),
        int(sum(p.n_items for p in sums)),
    )


class _Placed:
    """The partitions (futures of :class:`_Part`) and the worker that holds each: a step of EM runs every
    partition's task on its worker and adds the summaries of a worker's partitions there, so that only
    summaries (annotators x K x K numbers each) ever move between workers, never a state (posterior and
    kernel), and an iteration is one task per partition, one per worker and one more."""

    def __init__(self, parts: list[Any], places: list[str]) -> None:
        self.parts = parts
        self.groups: dict[str, list[int]] = {}
        for i, w in enumerate(places):
            self.groups.setdefault(w, []).append(i)

    def run(
        self, client: Any, fn: Callable[..., Any], *per_part: list[Any], **shared: Any
    ) -> tuple[list[Any], Any]:
        """``fn(part, *per_part[i], **shared)`` for every partition; the futures of the results (states) and
        their summed summary."""
        out: list[Any] = [None] * len(self.parts)
        sums = []
        for w, idx in self.groups.items():
            where = {"workers": [w], "allow_other_workers": True, "pure": False}
            args = [[self.parts[i] for i in idx], *[[values[i] for i in idx] for values in per_part]]
            states = client.map(fn, *args, **shared, **where)
            sums.append(client.submit(_merge, *states, **where))
            for i, f in zip(idx, states, strict=True):
                out[i] = f
        return out, _reduce(client, sums, _merge)


def _consensus(part: _Part, state: _State | None, params: Any, plan: _Plan | None) -> Consensus:
    ann = part.for_output()
    if plan is None or state is None:  # majority vote: the known labels set in its output, as in memory
        labels = np.array(params, dtype=np.int64)
        if part.known is not None:
            labels[part.known[0]] = part.known[1]
        return Consensus(ann, _clamp(part, vote_shares(ann.vote_counts())), "MajorityVote", labels=labels)
    prior, theta = plan.prior_and_confusions(params)
    return Consensus(ann, state.post, plan.name, confusions=theta, priors=prior)


def _gold_match(part: _Part, gold: Any) -> tables.GoldMatch:
    return tables.gold_match(part.items(), gold)


def _tally(part: _Part, state: _State | None, params: Any, plan: _Plan | None, gold: Any) -> tables.Tally:
    """The partition's per-annotator sums and gold matches (see :mod:`accord.engines._dask_tables`)."""
    ann = part.annotations
    items = part.items() if gold is not None else None
    if plan is None or state is None:  # majority vote: params are the partition's labels
        shares, voted = vote_shares(ann.vote_counts()), np.asarray(params, dtype=np.int64)
        if part.known is None:
            return tables.tally(ann, items, shares, voted, True, gold)
        labels = voted.copy()
        labels[part.known[0]] = part.known[1]
        proba = _clamp(part, shares.copy())
        return tables.tally(ann, items, proba, labels, True, gold, vote_labels=voted, prior_proba=shares)
    return tables.tally(ann, items, state.post, argmax_lowest(state.post), False, gold)


def _mv_labels(part: _Part, rule: str, prevalence: np.ndarray) -> np.ndarray:
    return _top_class(part.annotations.vote_counts(), rule, prevalence)


def _frame(part: _Part, state: _State | None, params: Any, plan: _Plan | None) -> pd.DataFrame:
    return _consensus(part, state, params, plan).to_frame()


def _write(part: _Part, state: _State | None, params: Any, plan: _Plan | None, path: str) -> str:
    write_parquet(_consensus(part, state, params, plan).to_frame(), path)
    return path


# ---------------------------------------------------------------------------------------------- result
@dataclass
class DaskFit:
    """The outcome of :func:`fit`.

    Attributes
    ----------
    method : str
        The model's name.
    annotators, classes : pandas.Index
        The annotator ids (sorted) and the classes, as every partition coded them.
    priors : pandas.Series
        Class priors.
    confusions : Confusions or None
        ``P(given label | true class)`` per annotator (majority vote: its labels counted against the vote).
    n_iter, converged, objective
        As the in-memory models' ``n_iter_``, ``converged_`` and ``objective_``.
    history : pandas.DataFrame
        One row per iteration: iteration, objective, log_likelihood, max_delta, n_changed.
    items : pandas.DataFrame or None
        The per-item table (``Consensus.to_frame()``'s columns), when collected.
    paths : list of str
        The Parquet files written, one per partition, when ``output`` was given.
    n_items, n_annotations, n_partitions : int
    report : list of str
        What the builders dropped or changed, per partition.
    timings : dict of str to float
        Wall seconds the client waited: ``encode`` (reading, the shuffle by item, validating and encoding
        the partitions, the global indexes), ``fit`` (EM) and ``output`` (writing, collecting, the
        per-annotator sums and the gold matches); in detail ``encode.shuffle`` (until every partition is
        read, shuffled and encoded), ``encode.index`` (the global indexes, recoding, class votes),
        ``fit.begin`` (the kernels built on the workers and the starting statistics),
        ``fit.per_iteration`` (the rest of ``fit`` per EM iteration), ``output.write`` (the part files) and
        ``output.tables`` (the rest).
    annotator_quality : pandas.DataFrame or None
        One row per annotator, the columns of :meth:`Consensus.annotators_frame`.
    n_gold, gold_items, gold_correct : int
        With ``gold``: the number of gold labels, of gold items that have annotations, and of those whose
        consensus label is the gold label (``gold_accuracy`` is the ratio of the last two).
    """

    method: str
    annotators: pd.Index
    classes: pd.Index
    priors: pd.Series
    confusions: Confusions | None
    n_iter: int
    converged: bool
    objective: float
    history: pd.DataFrame
    items: pd.DataFrame | None
    paths: list[str]
    n_items: int
    n_annotations: int
    n_partitions: int
    report: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    annotator_quality: pd.DataFrame | None = None
    n_gold: int = 0
    gold_items: int = 0
    gold_correct: int = 0

    @property
    def gold_accuracy(self) -> float | None:
        """Share of the gold items (with annotations) whose consensus label is the gold label."""
        return self.gold_correct / self.gold_items if self.gold_items else None


# ------------------------------------------------------------------------------------------------- fit
@dataclass
class _Job:
    """What :func:`fit` was asked to do."""

    model: Any
    source: Any
    item: str | None = None
    annotator: str | None = None
    label: str | None = None
    classes: Sequence[Any] | None = None
    duplicates: str = "error"
    missing: str = "error"
    npartitions: int | None = None
    output: str | Path | None = None
    collect: bool | None = None
    shuffle_method: str | None = None
    gold: pd.Series | str | Path | None = None
    known: pd.Series | str | Path | None = None


def fit(
    model: Any,
    source: Any,
    *,
    client: Any = None,
    item: str | None = None,
    annotator: str | None = None,
    label: str | None = None,
    classes: Sequence[Any] | None = None,
    duplicates: str = "error",
    missing: str = "error",
    npartitions: int | None = None,
    output: str | Path | None = None,
    collect: bool | None = None,
    shuffle_method: str | None = None,
    gold: pd.Series | str | Path | None = None,
    known: pd.Series | str | Path | None = None,
) -> DaskFit:
    """Fit ``model`` on annotations that may not fit in one machine's memory, with Dask.

    Parameters
    ----------
    model : MajorityVote, DawidSkene, OneCoinDawidSkene or BayesianDawidSkene
        An unfitted model; its parameters (smoothing, priors, ``max_iter``, ``tol`` ...) are used as given.
    source : dask.dataframe.DataFrame, pandas.DataFrame, or str / Path
        The long table (item, annotator, label), or a Parquet dataset (a directory, a file or a glob) that is
        read lazily, file by file, on the workers; an error about a row names its file and its row there.
    client : distributed.Client, optional
        Default: the current client, or else a local cluster started for this call (and closed after it).
    item, annotator, label : str, optional
        Column names (default: the names ``Annotations.from_frame`` recognises).
    classes, duplicates, missing
        As :meth:`Annotations.from_frame` (duplicates are found within each item's partition, which holds all
        of the item's annotations).
    npartitions : int, optional
        Number of item partitions (default: the input's, and at least two per worker). Each worker holds
        about 30 bytes per annotation of its partitions during EM, and one partition's rows at a time while
        encoding, so the input's partitions (Dask reads at most ~256 MB of a file into one) set the peak.
    output : str or Path, optional
        A directory: every partition's per-item table is written there as ``part-NNNNN.parquet``.
    collect : bool, optional
        Gather the per-item table into ``DaskFit.items`` (default: when no ``output`` is given).
    shuffle_method : {"p2p", "tasks"}, optional
        How Dask shuffles the rows by item. By default ``"tasks"`` (in memory, faster) when the number of
        rows is known (a pandas frame, or up to 200 Parquet files, from their metadata) and four copies of
        them fit in a quarter of the workers' memory limits; else Dask's choice, ``"p2p"`` on a cluster,
        which writes to disk and keeps memory bounded.
    gold : pandas.Series or str or Path, optional
        Gold labels (item -> label, or a file that :func:`accord.io.read_gold` reads) to score the consensus
        against: ``DaskFit.gold_accuracy``. They are sent to every worker once and matched by id text.
    known : pandas.Series or str or Path, optional
        Labels known to be true (item -> label, or such a file), as ``model.fit(annotations, gold=known)``
        takes them in memory: each known item's posterior is set to its known class at the start and after
        every E-step, so that they inform the annotators' confusions, and the output carries them. Sent to
        every worker once and matched by id text, like ``gold``.

    Returns
    -------
    DaskFit

    Notes
    -----
    Data moved per EM iteration: the parameters to every partition (``annotators x K x K + K`` floats), and
    one summary back from each (the same size plus four numbers), added in a tree. The annotations and
    posteriors never leave their workers after the one shuffle by item; the per-annotator table and the
    gold counts are sums of the same kind, added once after the fit.
    """
    _check_model(model)
    _check_output(output)
    job = _Job(
        model,
        source,
        item,
        annotator,
        label,
        classes,
        duplicates,
        missing,
        npartitions,
        output,
        collect,
        shuffle_method,
        gold,
        known,
    )
    own = client is None and _current_client() is None
    client, cluster = local_client() if own else (client or _current_client(), None)
    try:
        return _fit(job, client)
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()


def _check_output(output: str | Path | None) -> None:
    """Refuse an output directory that already holds part files (they would mix with this run's)."""
    if output is None:
        return
    stale = sorted(Path(output).glob("part-*.parquet"))
    if stale:
        raise InvalidParameterError(
            f"the output directory {output} already holds {len(stale)} part-*.parquet files (e.g. "
            f"{stale[0].name}), which would mix with this run's: choose an empty directory or delete them"
        )


def _current_client() -> Any:
    try:
        from distributed import default_client
    except ImportError:
        raise AccordError("the Dask engine needs distributed: pip install 'accord[dask]'") from None
    try:
        return default_client()
    except ValueError:
        return None


# Environment of the workers of a cluster the engine starts: Arrow's memory pool is the system allocator,
# which returns what the shuffle frees (the default pool kept ~0.5 GB per worker after a 10^7-row shuffle).
# Each worker runs one task at a time, so the compiled kernel runs on one thread in it (ACCORD_NUM_THREADS).
WORKER_ENV = {"ARROW_DEFAULT_MEMORY_POOL": "system", "ACCORD_NUM_THREADS": "1"}


def local_client(**options: Any) -> tuple[Any, Any]:
    """A client of a local cluster of worker processes (one thread each, :data:`WORKER_ENV`), and the
    cluster; ``options`` go to ``distributed.LocalCluster`` (``n_workers``, ``memory_limit`` ...)."""
    from distributed import Client, LocalCluster

    settings: dict[str, Any] = {"processes": True, "threads_per_worker": 1, "dashboard_address": ":0"}
    settings.update(options)
    settings["env"] = {**WORKER_ENV, **settings.get("env", {})}
    cluster = LocalCluster(**settings)
    return Client(cluster), cluster


def _fit(job: _Job, client: Any) -> DaskFit:
    clock = [time.perf_counter()]
    gold, gold_where = _gold_series(job.gold)
    known, known_where = _gold_series(job.known)
    enc = _encode(job, client)
    gold_info = _check_gold(client, enc, gold, gold_where)
    model, parts, k = job.model, enc.parts, len(enc.classes)
    if known is not None:
        shared_known = _check_gold(client, enc, known, known_where.replace("gold", "known labels"))[0]
        parts = list(client.map(_with_known, parts, known=shared_known, pure=False))
    clock.append(time.perf_counter())
    plan: _Plan | None = None
    if type(model) is MajorityVote:
        rule = model.tie_break
        per_part = list(client.map(_mv_labels, parts, rule=rule, prevalence=enc.prevalence, pure=False))
        states: list[Any] = [None] * len(parts)
        run = _Run(0, True, float("nan"), pd.DataFrame(columns=list(HISTORY_COLUMNS)), None)
    else:
        if k < 2:
            raise InvalidParameterError(
                f"{type(model).__name__} needs at least 2 classes; the data have {k} ({list(enc.classes)}). "
                "Pass classes=..."
            )
        plan = _PLANS[type(model)](model, k)
        run = _em(client, model, plan, _Placed(parts, enc.places), enc.prevalence, len(enc.annotators))
        states = run.states
        per_part = [run.params] * len(parts)
    clock.append(time.perf_counter())
    paths = _outputs(client, parts, states, per_part, plan, job.output) if job.output is not None else []
    written = time.perf_counter()
    items = None
    if job.collect or (job.collect is None and job.output is None):
        futures = [
            client.submit(_frame, p, s, q, plan, pure=False)
            for p, s, q in zip(parts, states, per_part, strict=True)
        ]
        items = pd.concat(client.gather(futures), ignore_index=True)
    total = _reduce(
        client,
        [
            client.submit(_tally, p, s, q, plan, gold_info[0], pure=False)
            for p, s, q in zip(parts, states, per_part, strict=True)
        ],
        tables.merge_tallies,
    )
    sizes = client.gather(client.map(_sizes, parts, pure=False))
    clock.append(time.perf_counter())
    if plan is None:
        prior = total.proba / max(total.n_items, 1)  # the mean vote share, as the in-memory vote reports
        theta = tables.vote_confusions(cast(np.ndarray, total.votes))
        scores: dict[str, np.ndarray] = {}
    else:
        prior, theta = plan.prior_and_confusions(run.params)
        scores = _annotator_scores(model, theta)
    timings = dict(zip(("encode", "fit", "output"), np.diff(clock).tolist(), strict=True))
    timings.update(
        {
            "encode.shuffle": enc.shuffled - clock[0],
            "encode.index": clock[1] - enc.shuffled,
            "fit.begin": run.begin,
            "fit.per_iteration": (timings["fit"] - run.begin) / max(run.n_iter, 1),
            "output.write": written - clock[2],
            "output.tables": clock[3] - written,
        }
    )
    return DaskFit(
        plan.name if plan is not None else "MajorityVote",
        enc.annotators,
        enc.classes,
        pd.Series(prior, index=enc.classes, name="prior"),
        Confusions(theta, enc.annotators, enc.classes),
        run.n_iter,
        run.converged,
        run.objective,
        run.history,
        items,
        paths,
        int(sum(s[0] for s in sizes)),
        int(sum(s[1] for s in sizes)),
        len(parts),
        enc.report,
        timings,
        tables.annotator_frame(total, enc.annotators, enc.classes, theta, prior, scores),
        gold_info[1],
        total.gold,
        total.correct,
    )


def _annotator_scores(model: Any, theta: np.ndarray) -> dict[str, np.ndarray]:
    """The model's own per-annotator columns (one-coin's skill), as its in-memory consensus has them."""
    scores = getattr(model, "annotator_scores", None)
    return dict(scores(theta)) if callable(scores) else {}


@dataclass
class _Encoded:
    """The partitions on the workers (futures of :class:`_Part`) and what the client knows of them."""

    parts: list[Any]
    annotators: pd.Index
    classes: pd.Index
    prevalence: np.ndarray
    report: list[str]
    places: list[str] = field(default_factory=list)  # the worker of each partition
    shuffled: float = 0.0  # perf_counter when every partition was read, shuffled and encoded


def _encode(job: _Job, client: Any) -> _Encoded:
    """Read, shuffle by item and encode every partition on the workers; only each partition's vocabulary
    (annotator ids, classes, notes) comes to the client."""
    from dask import delayed

    src = dask_source(job.source)
    columns = [c for c in src.frame.columns if c != ORIGIN_COLUMN]
    cols = {
        r: _column(columns, r, g)
        for r, g in (("item", job.item), ("annotator", job.annotator), ("label", job.label))
    }
    n = int(job.npartitions or max(src.frame.npartitions, 2 * len(client.nthreads())))
    # only the three columns (and the rows' origin) are shuffled, integer ids in the smallest type that
    # holds them (from the Parquet statistics of up to MAX_COUNTED_FILES files)
    roles = [cols["item"], cols["annotator"], cols["label"]]
    moved = [c for c in src.frame.columns if c in roles or c == ORIGIN_COLUMN]
    frame = src.frame[moved] if len(moved) < len(src.frame.columns) else src.frame
    if src.files and len(src.files) <= MAX_COUNTED_FILES:
        narrow = {c: t for c, t in narrow_types(src.files, roles).items() if c in src.integer}
        if narrow:
            frame = frame.astype(narrow)
    method = job.shuffle_method or shuffle_method(src.n_rows, row_bytes(frame), _memory_limits(client))
    frame = by_item(frame, cols["item"], n, method, src.text, cols["item"] in src.integer)
    options = {
        "item": cols["item"],
        "annotator": cols["annotator"],
        "label": cols["label"],
        "classes": job.classes,
        "duplicates": job.duplicates,
        "missing": job.missing,
    }
    # each partition's rows become its encoded annotations in the task that receives them from the shuffle
    # (fused with it, on the worker the shuffle sends them to): the rows are freed as soon as they are
    # encoded, and a worker never holds the rows of all its partitions at once
    meta = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    files = delayed(src.files, pure=True)
    warm = None if type(job.model) is MajorityVote else (src.n_rows, n)
    encoded = frame.map_partitions(
        _encode_and_warm,
        options,
        src.text,
        files,
        warm,
        meta=meta,
        enforce_metadata=False,
        align_dataframes=False,
    )
    local = client.compute(encoded.to_delayed())
    vocab = client.gather(client.map(_vocabulary, local, pure=False))
    shuffled = time.perf_counter()
    keep = [f for f, v in zip(local, vocab, strict=True) if v[0]]
    if not keep:
        raise InvalidAnnotationsError("the annotations are empty: the table has no rows")
    annotators, class_index = _global_indexes(vocab, job.classes)
    places = _placement(client, keep)
    parts = [
        client.submit(_globalize, f, annotators, class_index, workers=[w], pure=False)
        for f, w in zip(keep, places, strict=True)
    ]
    del local, keep, encoded
    report = [line for v in vocab for line in v[2]]
    prevalence = _reduce(client, client.map(_class_votes, parts, pure=False), _sum_arrays)
    return _Encoded(parts, annotators, class_index, prevalence, report, places, shuffled)


def _memory_limits(client: Any) -> list[int]:
    """Every worker's memory limit in bytes (0 for a worker without one)."""
    try:
        info = client.scheduler_info(n_workers=-1)  # newer distributed lists 5 workers unless asked
    except TypeError:  # older distributed: every worker, and no such argument
        info = client.scheduler_info()
    workers = info.get("workers", {})
    return [int(w.get("memory_limit") or 0) for w in workers.values()]


def _placement(client: Any, futures: list[Any]) -> list[str]:
    """A worker for each partition so that every worker holds the same number (within one), keeping a
    partition where it is when its worker has room: the partitions then stay there for the whole fit."""
    workers = sorted(client.nthreads())
    room = {w: -(-len(futures) // len(workers)) for w in workers}
    held = client.who_has(futures)
    places: list[str | None] = []
    for f in futures:
        here = next((w for w in held.get(f.key, ()) if room.get(w, 0) > 0), None)
        if here is not None:
            room[here] -= 1
        places.append(here)
    for i, w in enumerate(places):
        if w is None:
            w = max(workers, key=lambda v: (room[v], v))
            room[w] -= 1
            places[i] = w
    return [cast(str, w) for w in places]


def _gold_series(gold: pd.Series | str | Path | None) -> tuple[pd.Series | None, str]:
    """The gold labels as a Series, and how messages name them."""
    if gold is None:
        return None, ""
    if isinstance(gold, (str, Path)):
        return read_gold(gold), f"the gold file {gold}"
    if isinstance(gold, dict):
        gold = pd.Series(gold)
    if not isinstance(gold, pd.Series):
        raise InvalidParameterError(
            f"gold must be a Series item -> label or a file; got {type(gold).__name__}"
        )
    if gold.index.has_duplicates:
        raise InvalidAnnotationsError(
            f"gold has repeated items: {list(gold.index[gold.index.duplicated()])[:5]}"
        )
    return gold, "gold"


def _check_gold(client: Any, enc: _Encoded, gold: pd.Series | None, where: str) -> tuple[Any, int]:
    """The gold labels on every worker (a future) and their number; errors when no gold item has an
    annotation or a gold label is not a class, before any fitting."""
    if gold is None:
        return None, 0
    coded = tables.gold_codes(gold, enc.classes)
    shared = client.scatter(coded, broadcast=True)
    matches = client.gather(client.map(_gold_match, enc.parts, gold=shared, pure=False))
    tables.check_gold(matches, len(gold), where, enc.classes)
    return shared, len(gold)


def _sizes(part: _Part) -> tuple[int, int]:
    return part.annotations.n_items, part.annotations.n_annotations


def _sum_arrays(*arrays: np.ndarray) -> np.ndarray:
    return np.asarray(sum(arrays[1:], arrays[0]))


def _column(columns: list[Any], role: str, given: str | None) -> Any:
    if given is not None:
        if given not in columns:
            raise InvalidAnnotationsError(
                f"the {role} column {given!r} is not in the table; its columns are {columns[:20]}"
            )
        return given
    lower = {str(c).strip().lower(): c for c in columns}
    for alias in _ALIASES[role]:
        if alias in lower:
            return lower[alias]
    raise InvalidAnnotationsError(
        f"no {role} column: expected one named {_ALIASES[role][0]!r} or {_ALIASES[role][1]!r}, but the "
        f"columns are {columns[:20]}; name it with {role}=..."
    )


def _global_indexes(
    vocab: list[tuple[list[Any], list[Any], list[str]]], classes: Sequence[Any] | None
) -> tuple[pd.Index, pd.Index]:
    """Annotator ids (sorted; mixed types by type name, then text) and the classes, sorted as
    ``Annotations.from_frame`` sorts them: it builds the class index of a one-row-per-label table."""
    names = pd.unique(pd.Series([a for v in vocab for a in v[0]], dtype=object))
    try:
        ordered = sorted(names)
    except TypeError:
        ordered = sorted(names, key=lambda v: (type(v).__name__, str(v)))
    seen = list(pd.unique(pd.Series([c for v in vocab for c in v[1]], dtype=object)))
    probe = pd.DataFrame({"item": range(len(seen)), "annotator": 0, "label": pd.Series(seen, dtype=object)})
    class_index = Annotations.from_frame(probe, classes=classes).classes
    return pd.Index(ordered, name="annotator", dtype=object), class_index


def _nbytes(params: Any) -> int:
    arrays = params if isinstance(params, tuple) else tuple(vars(params).values())
    return sum(int(getattr(a, "nbytes", 0)) for a in arrays)


def _reduce(client: Any, futures: list[Any], merge: Callable[..., Any], fan_in: int = FAN_IN) -> Any:
    """Add per-partition results as a tree of ``merge`` tasks on the workers; the root comes back."""
    level = list(futures)
    if len(level) == 1:  # one partition: its summary still comes from a task, never its whole state
        level = [client.submit(merge, level[0], pure=False)]
    while len(level) > 1:
        level = [
            client.submit(merge, *level[i : i + fan_in], pure=False)
            if len(level[i : i + fan_in]) > 1
            else level[i]
            for i in range(0, len(level), fan_in)
        ]
    return level[0].result()


@dataclass
class _Run:
    n_iter: int
    converged: bool
    objective: float
    history: pd.DataFrame
    params: Any
    states: list[Any] = field(default_factory=list)
    begin: float = 0.0  # wall seconds of the first step: the kernels built, the starting statistics


def _whole_steps(plan: _Plan, n_items: int, n_annotators: int) -> EMSteps[Any, Any]:
    """The model's steps for the M-step and the objective on the client, which read only the sizes of the
    whole data: built on an empty design matrix (no buffers per item), then given the whole data's sizes."""
    k = plan.n_classes
    empty = np.zeros(0, dtype=np.int64)
    none = Annotations(empty, empty, empty, pd.Index([]), pd.RangeIndex(n_annotators), pd.RangeIndex(k))
    steps = plan.steps(AnnotationMatrix(none))
    cast(Any, steps).matrix = _Size(n_items, n_annotators, k)
    return steps


def _stopping(model: Any, tol: float) -> dict[str, Any]:
    """The model's driver options beyond ``max_iter`` / ``tol`` / ``min_iter``, as its in-memory fit passes
    them to :func:`~accord._kernel.driver.run_em`: ``em_options()`` (the relative objective rule, SQUAREM)
    and Bayesian DS's ``objective_tol`` (a gain per annotation; off for a fixed schedule)."""
    options = dict(model.em_options()) if callable(getattr(model, "em_options", None)) else {}
    objective_tol = getattr(model, "objective_tol", None)
    if objective_tol is not None and tol > 0:
        options.setdefault("objective_tol", check_nonneg_float("objective_tol", objective_tol))
    return options


class _Loop:
    """The pieces of :func:`~accord._kernel.driver.em_step` over partitions: a point's ``state`` is
    ``(futures of the partitions' _State, their summed _Summary)``."""

    def __init__(self, client: Any, plan: _Plan, parts: _Placed, whole: EMSteps[Any, Any]) -> None:
        self.client, self.plan, self.parts, self.whole = client, plan, parts, whole
        self.count = 0

    def em_map(self, point: EMPoint[Any]) -> Any:
        return self.whole.m_step(point.state[1].stats, point.params)

    def evaluate(self, params: Any, point: EMPoint[Any]) -> EMPoint[Any]:
        client = self.client
        shared = client.scatter(params, broadcast=True) if _nbytes(params) > BROADCAST_BYTES else params
        states, summary = self.parts.run(client, _advance, point.state[0], params=shared)
        evidence = EStep(np.empty((0, self.plan.n_classes)), np.array([summary.log_z]))
        value = float(self.whole.objective(params, evidence))
        self.count += 1
        return EMPoint(params, value, summary.delta, summary.n_changed, (states, summary), self.count)


def _em(
    client: Any, model: Any, plan: _Plan, parts: _Placed, prevalence: np.ndarray, n_annotators: int
) -> _Run:
    """The driver's loop (:func:`accord._kernel.driver.run_em` with its stopping rules and, when the model
    asks for it, SQUAREM: :func:`~accord._kernel.driver.em_step`) over partitions."""
    min_iter, max_iter, tol = check_em_params(model.min_iter, model.max_iter, model.tol)
    options = _stopping(model, tol)
    n_annotations = int(prevalence.sum())
    started = time.perf_counter()
    states, summary = parts.run(client, _begin, plan=plan, prevalence=prevalence, n_annotations=n_annotations)
    begin = time.perf_counter() - started
    whole = _whole_steps(plan, summary.n_items, n_annotators)
    loop = _Loop(client, plan, parts, whole)
    scale = float(max(n_annotations, 1))  # objective_tol is a gain per annotation

    def stop(point: EMPoint[Any], previous: EMPoint[Any]) -> bool:
        small = objective_gain_small(
            point.value, previous.value, options.get("objective_tol"), scale, options.get("objective_rtol")
        )
        return point.iteration >= min_iter and (has_converged(point.delta, point.n_changed, tol) or small)

    squarem = Squarem(whole) if options.get("accelerate") and Squarem.supports(whole) else None
    base: EMPoint[Any] = EMPoint(None, -np.inf, float("nan"), 0, (states, summary))
    rows: list[tuple[Any, ...]] = []
    extras: list[dict[str, Any]] = []
    last_em: tuple[Any, ...] = (0, 0.0, 0.0, float("nan"), 0)  # the last EM step's row (the warning's)
    converged = False
    while loop.count < max_iter and not converged:
        base, points, converged = em_step(
            base, loop.em_map, loop.evaluate, stop, max_iter - loop.count, squarem
        )
        for point in points:  # the in-memory history: a rejected extrapolation repeats the row before it
            row = (point.iteration, point.value, point.state[1].log_z, point.delta, point.n_changed)
            if not point.accepted:
                row = (point.iteration, rows[-1][1], rows[-1][2], 0.0, 0)
            rows.append(row)
            if point.step == 1.0 and point.accepted:
                last_em = row
            extras.append({"step": point.step, "accepted": point.accepted} if squarem is not None else {})
    if not converged:
        warnings.warn(
            f"{plan.name} stopped at max_iter={max_iter} before converging (in the last EM step the "
            f"largest posterior change was {last_em[3]:.2g} against tol={tol:g}, and {last_em[4]} labels "
            "changed); raise max_iter or tol",
            ConvergenceWarning,
            stacklevel=3,
        )
    history = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    if any(extras):
        history = pd.concat([history, pd.DataFrame(extras)], axis=1)
    return _Run(loop.count, converged, base.value, history, base.params, list(base.state[0]), begin)


def _outputs(
    client: Any,
    parts: list[Any],
    states: list[Any],
    per_part: list[Any],
    plan: _Plan | None,
    output: str | Path,
) -> list[str]:
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    futures = [
        client.submit(_write, p, s, q, plan, str(folder / f"part-{i:05d}.parquet"), pure=False)
        for i, (p, s, q) in enumerate(zip(parts, states, per_part, strict=True))
    ]
    return list(client.gather(futures))
