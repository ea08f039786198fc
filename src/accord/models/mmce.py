"""MMCE: regularised minimax conditional entropy (Zhou et al.), categorical variant, as the VLDB'17 benchmark
runs it: soft majority-vote start, uniform class prior, block M-steps on the annotator and the item
parameters, stop when no posterior moves by more than ``tol``.

Layout: the parameters are kept label-major and member-last, ``sig_t[l, k, a] = sigma[a, k, l]`` and
``tau_t[l, k, i] = tau[i, k, l]``, so that the log-partition ``logsumexp_l`` over the ``K x K x
n_annotations`` score tensor is an element-wise reduction over ``K`` contiguous slabs, a member's scores are
spread over its annotations by ``np.repeat`` and summed back by ``np.add.reduceat`` (annotations sorted by
member). Each block (annotators, then items) is optimised jointly over all its members by L-BFGS on rescaled
variables (one diagonal scale per (class, member), from a bound on the curvature), with the other block's
scores gathered once per M-step. Cost per evaluation: O(n_annotations x K^2); memory: a few ``K^2 x
n_annotations`` tensors, kept in float32 when they are large (``precision="auto"``). The item block is a sum
of per-item terms, so on large data its L-BFGS runs on chunks of items in turn (``ITEM_CHUNK_VARS``), which
bounds the optimiser's history. Each chunk's run stops on its own gradient, so above that size which items
share a chunk (consecutive item codes, i.e. their order of first appearance) moves the answer at the
optimiser's tolerance (posteriors by about 1e-4 when rows are shuffled), not only at rounding; below it, as on
every public benchmark set, the fit does not depend on row order beyond rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._kernel.driver import EMResult, EStep, history_budget, run_em
from .._kernel.em import AnnotationMatrix, clamp
from .._kernel.lbfgs import minimize_lbfgs, vdot
from .._kernel.softmax import log_normalize
from .._kernel.votes import vote_shares
from .._utils import check_nonneg_float, check_positive_int
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import InvalidParameterError
from ._base import IterativeAggregator

__all__ = ["MMCE", "default_lambdas"]

# precision="auto" switches the per-annotation tensors to float32 above this many cells (n_annotations x K^2).
FLOAT32_ABOVE = 4_000_000
# The item block is separable over items: above this many variables (n_items x K^2) its L-BFGS runs on
# consecutive chunks of items of at most this size, one after another, so that the optimiser's history
# (20 vectors of the block's size) stays within 1.3 GiB instead of growing with the data (8 GiB at 10^7
# annotations and five classes). Below it, one L-BFGS over all items as before.
ITEM_CHUNK_VARS = 1 << 23


def observed_classes(ann: Annotations) -> np.ndarray:
    """Mask of the classes that at least one annotation names."""
    return np.bincount(ann.label, minlength=ann.n_classes) > 0


def uniform_log_prior(ann: Annotations) -> np.ndarray:
    """The benchmark's fixed prior, uniform over the classes that occur (it only sees those); a declared class
    nobody chose gets prior 0, since its emission parameters would otherwise stay uniform and win split
    items."""
    seen = observed_classes(ann)
    return np.where(seen, -np.log(max(int(seen.sum()), 1)), -np.inf)


def default_lambdas(ann: Annotations) -> tuple[float, float]:
    """The benchmark's penalties: ``lambda_w = K^2 / 4`` and ``lambda_t = lambda_w * mean items per annotator
    / mean annotators per item`` (= ``lambda_w * n_items / n_annotators`` when every item and annotator is
    used), with ``K`` the number of classes that occur."""
    lam_w = 0.25 * max(int(observed_classes(ann).sum()), 2) ** 2
    per_annotator = ann.annotator_sizes()
    per_item = ann.item_sizes()
    ratio = per_annotator[per_annotator > 0].mean() / per_item[per_item > 0].mean()
    return lam_w, lam_w * float(ratio)


def log_partition(scores: np.ndarray, work: BlockWork | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``logsumexp`` over the first axis of a ``K x K x n`` tensor, in place: on return ``scores`` holds
    ``exp(scores - max)`` and the function returns ``(log Z, Z)`` with ``Z`` the sum over the first axis
    (in ``work``'s buffers when given: ``log Z`` in ``work.top``, ``Z`` in ``work.total``)."""
    if work is None:
        m = scores.max(axis=0)
        scores -= m
        np.exp(scores, out=scores)
        z = scores.sum(axis=0)
        return np.log(z) + m, z
    m = np.max(scores, axis=0, out=work.top)
    scores -= m
    np.exp(scores, out=scores)
    z = np.sum(scores, axis=0, out=work.total)
    log_z = np.log(z, out=work.tmp)
    log_z += m
    np.copyto(work.top, log_z)
    return work.top, z


def wsum(a: np.ndarray, b: np.ndarray) -> float:
    """``sum(a * b)`` accumulated in float64 whatever the dtype of the operands."""
    return float(np.multiply(a, b).sum(dtype=np.float64))


@dataclass
class Block:
    """One block of the M-step (annotators or items) with the other block's scores fixed.

    Annotations are sorted by member: ``sizes`` is the number of annotations of each member, ``starts`` the
    first annotation of each member that has any (``members``). ``fixed`` holds the other block's scores per
    annotation (``K x K x n``, label-major), ``weights[k, n] = mu[i_n, k]``, ``counts[l, k, m] = sum_{n in m,
    l_n = l} mu[i_n, k]`` the linear term, ``lam`` the L2 penalty and ``scale`` the diagonal change of
    variables per (class, member). The big tensors are in ``fixed.dtype`` (float32 for large data); sums
    are float64.
    """

    sizes: np.ndarray
    starts: np.ndarray
    members: np.ndarray
    fixed: np.ndarray
    weights: np.ndarray
    counts: np.ndarray
    lam: float
    scale: np.ndarray

    work: BlockWork | None = None
    segments: list[Segment] | None = None

    def objective(self, u: np.ndarray) -> tuple[float, np.ndarray]:
        """Minus the block's part of ``F`` and its gradient, in the rescaled variables ``u``.

        Every per-annotation tensor lives in the block's :class:`BlockWork`, made on the first evaluation
        and reused by the others, and so does every parameter-sized array but the returned gradient (the
        same operations as fresh arrays, so the same values)."""
        w = self.work if self.work is not None else self._make_work()
        p = w.params if w.params is not None and w.params.theta.shape == self.counts.shape else None
        if p is None:
            p = w.params = ParamWork.of(self.counts.shape, self.fixed.dtype)
        theta = np.multiply(u.reshape(self.counts.shape), self.scale, out=p.theta)
        cast = theta
        if p.cast is not None:  # the tensors' float type (float32 for large data)
            np.copyto(p.cast, theta)
            cast = p.cast
        if self.segments is not None:
            return self._streamed(u, theta, cast, p)
        scores = np.take(cast, w.member, axis=2, out=w.scores, mode="clip")
        scores += self.fixed
        log_z, z = log_partition(scores, w)
        np.multiply(self.weights, log_z, out=w.tmp)
        weighted = float(w.tmp.sum(dtype=np.float64))
        value = (
            float(np.multiply(self.counts, theta, out=p.tmp).sum(dtype=np.float64))
            - weighted
            - 0.5 * self.lam * float(np.multiply(theta, theta, out=p.tmp).sum(dtype=np.float64))
        )
        np.divide(self.weights, z, out=w.tmp)
        scores *= w.tmp[None]
        expected = p.expected
        if len(self.members) == expected.shape[2] and scores.dtype == expected.dtype:
            np.add.reduceat(scores, self.starts, axis=2, out=expected)
        else:
            expected.fill(0.0)
            if len(self.starts):
                expected[:, :, self.members] = np.add.reduceat(scores, self.starts, axis=2)
        grad = np.subtract(self.counts, expected, out=p.grad)
        grad -= np.multiply(theta, self.lam, out=p.tmp)
        grad *= self.scale
        return -value, np.negative(grad).ravel()

    def _streamed(
        self, u: np.ndarray, theta: np.ndarray, cast: np.ndarray, p: ParamWork
    ) -> tuple[float, np.ndarray]:
        """:meth:`objective` over the block's segments of annotations in turn, each in buffers of its own
        size: every member's expected counts are the same sums as in one pass (a member lies in one
        segment), the value adds the segments' sums (rounding aside, the same)."""
        assert self.work is not None and self.segments is not None
        weighted, expected = 0.0, p.expected
        expected.fill(0.0)
        for seg in self.segments:
            w, lo, hi = seg.work, seg.lo, seg.hi
            scores = np.take(cast, w.member, axis=2, out=w.scores, mode="clip")
            scores += self.fixed[:, :, lo:hi]
            log_z, z = log_partition(scores, w)
            weights = self.weights[:, lo:hi]
            np.multiply(weights, log_z, out=w.tmp)
            weighted += float(w.tmp.sum(dtype=np.float64))
            np.divide(weights, z, out=w.tmp)
            scores *= w.tmp[None]
            if len(seg.starts):
                expected[:, :, seg.members] = np.add.reduceat(scores, seg.starts, axis=2)
        value = (
            float(np.multiply(self.counts, theta, out=p.tmp).sum(dtype=np.float64))
            - weighted
            - 0.5 * self.lam * float(np.multiply(theta, theta, out=p.tmp).sum(dtype=np.float64))
        )
        grad = np.subtract(self.counts, expected, out=p.grad)
        grad -= np.multiply(theta, self.lam, out=p.tmp)
        grad *= self.scale
        return -value, np.negative(grad).ravel()

    def chunk(self, part: ItemChunk) -> Block:
        """The block restricted to one chunk of its members (an item block's consecutive items), whose
        annotations are consecutive too: views of this block's arrays, and the chunk's buffers."""
        items, lo, hi = part.items, part.lo, part.hi
        return Block(
            part.sizes,
            part.starts,
            part.members,
            self.fixed[:, :, lo:hi],
            self.weights[:, lo:hi],
            self.counts[:, :, items],
            self.lam,
            self.scale[:, :, items],
            part.work,
        )

    def _make_work(self) -> BlockWork:
        k, _, n = self.fixed.shape
        member = np.repeat(np.arange(len(self.sizes)), self.sizes)
        top, total, tmp = (np.empty((k, n), self.fixed.dtype) for _ in range(3))
        self.work = BlockWork(member, np.empty_like(self.fixed), top, total, tmp)
        return self.work


@dataclass
class BlockWork:
    """The buffers of one block's evaluations: each annotation's member, the ``K x K x n`` scores, three
    ``K x n`` arrays (the log-partition's max and sum, and a product) and the parameter-sized arrays."""

    member: np.ndarray
    scores: np.ndarray
    top: np.ndarray
    total: np.ndarray
    tmp: np.ndarray
    params: ParamWork | None = None


@dataclass(frozen=True)
class ParamWork:
    """Arrays of a block's parameter shape (``K x K x members``): the parameters, their copy in the tensors'
    float type (float32 data only), a product, the expected counts and the gradient."""

    theta: np.ndarray
    cast: np.ndarray | None
    tmp: np.ndarray
    expected: np.ndarray
    grad: np.ndarray

    @classmethod
    def of(cls, shape: tuple[int, ...], dtype: np.dtype) -> ParamWork:
        cast = None if dtype == np.float64 else np.empty(shape, dtype)
        return cls(np.empty(shape), cast, np.empty(shape), np.empty(shape), np.empty(shape))

    def prefix(self, shape: tuple[int, ...]) -> ParamWork:
        """The same buffers seen as contiguous arrays of a shape with at most as many elements (the first
        ones), for a smaller chunk of the block."""
        size = int(np.prod(shape))

        def view(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a.reshape(-1)[:size].reshape(shape)

        theta, tmp, expected, grad = (view(a) for a in (self.theta, self.tmp, self.expected, self.grad))
        assert theta is not None and tmp is not None and expected is not None and grad is not None
        return ParamWork(theta, view(self.cast), tmp, expected, grad)


@dataclass(frozen=True)
class MmceData:
    """Annotation arrays, the two sort orders and the vote table, built once per fit."""

    item: np.ndarray
    annot: np.ndarray
    label: np.ndarray
    votes: np.ndarray
    matrix: AnnotationMatrix
    by_annotator: np.ndarray
    by_item: np.ndarray
    n_items: int
    n_annotators: int
    n_classes: int
    dtype: type

    @classmethod
    def of(cls, ann: Annotations, dtype: type = np.float64) -> MmceData:
        annot = ann.annotator.astype(np.int64)
        item = ann.item.astype(np.int64)
        return cls(
            item,
            annot,
            ann.label.astype(np.int64),
            ann.vote_counts(),
            AnnotationMatrix(ann),
            np.argsort(annot, kind="stable"),
            np.argsort(item, kind="stable"),
            ann.n_items,
            ann.n_annotators,
            ann.n_classes,
            dtype,
        )


def _segments(sorted_ids: np.ndarray, n_members: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-member run lengths of a sorted id array, and the start and id of every non-empty run."""
    sizes = np.bincount(sorted_ids, minlength=n_members)
    members = np.flatnonzero(sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])[members] if n_members else sizes
    return sizes, starts, members


def make_block(
    data: MmceData,
    post: np.ndarray,
    own_ids: np.ndarray,
    order: np.ndarray,
    other: np.ndarray,
    other_ids: np.ndarray,
    counts: np.ndarray,
    lam: float,
    n_members: int,
    prepared: PreparedBlock | None = None,
) -> Block:
    """Prepare one block: sort the annotations by member, gather the other block's scores and the weights
    (into ``prepared``'s buffers, with its sort done once per fit, when given)."""
    if prepared is None:
        sizes, starts, members = _segments(own_ids[order], n_members)
        fixed = np.take(other.astype(data.dtype), other_ids[order], axis=2)
        weights: np.ndarray = np.ascontiguousarray(post[data.item[order]].T, dtype=data.dtype)
        work = None
    else:
        lay = prepared.layout
        sizes, starts, members = lay.sizes, lay.starts, lay.members
        fixed = np.take(other.astype(data.dtype), lay.other_sorted, axis=2, out=prepared.fixed, mode="clip")
        by_class: np.ndarray = np.ascontiguousarray(post.T, dtype=data.dtype)
        weights = np.take(by_class, lay.item_sorted, axis=1, out=prepared.weights, mode="clip")
        work = prepared.work
    mass = np.zeros((data.n_classes, n_members))
    if len(starts):
        mass[:, members] = np.add.reduceat(weights, starts, axis=1)
    scale = 1.0 / np.sqrt(0.5 * mass + lam)
    segments = None if prepared is None else prepared.segments
    return Block(sizes, starts, members, fixed, weights, counts, lam, scale[None], work, segments)


@dataclass(frozen=True)
class BlockLayout:
    """One block's sort of the annotations, computed once per fit: the run lengths, starts and ids of its
    members (:func:`_segments`), each sorted annotation's member, the other block's id and the item."""

    sizes: np.ndarray
    starts: np.ndarray
    members: np.ndarray
    member: np.ndarray
    other_sorted: np.ndarray
    item_sorted: np.ndarray

    @classmethod
    def of(
        cls, data: MmceData, own_ids: np.ndarray, order: np.ndarray, other_ids: np.ndarray, n_members: int
    ) -> BlockLayout:
        sizes, starts, members = _segments(own_ids[order], n_members)
        member = np.repeat(np.arange(len(sizes)), sizes)
        other = other_ids[order]
        # the item of each sorted annotation is its member (items block) or the other id (annotators block):
        # the same array, not a copy
        item = member if own_ids is data.item else other if other_ids is data.item else data.item[order]
        return cls(sizes, starts, members, member, other, item)


@dataclass(frozen=True)
class PreparedBlock:
    """A block's layout with the buffers it fills: the other block's scores, the weights and the
    evaluation buffers (the big ones shared by both blocks and the E-step, which run one after another)."""

    layout: BlockLayout
    fixed: np.ndarray
    weights: np.ndarray
    work: BlockWork
    segments: list[Segment] | None = None


@dataclass(frozen=True)
class ItemChunk:
    """A chunk of the item block: its items ``items``, their annotations ``lo:hi`` (items order), the run
    lengths, starts and ids of its items inside the chunk, and its evaluation buffers (the first elements of
    the fit's, seen as the chunk's shapes; parameter buffers shared by all chunks)."""

    items: slice
    lo: int
    hi: int
    sizes: np.ndarray
    starts: np.ndarray
    members: np.ndarray
    work: BlockWork


def chunk_bounds(n_items: int, k: int, chunk_vars: int | None = None) -> list[slice]:
    """Consecutive chunks of items of equal size with at most ``chunk_vars`` parameters each (``K^2`` per
    item; default :data:`ITEM_CHUNK_VARS`); one chunk when they all fit."""
    limit = max(ITEM_CHUNK_VARS if chunk_vars is None else chunk_vars, 1)
    n_chunks = max(1, -(-(n_items * k * k) // limit))
    step = max(1, -(-n_items // n_chunks))
    return [slice(first, min(first + step, n_items)) for first in range(0, n_items, step)]


def _view(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The first elements of ``a`` as a contiguous array of ``shape``."""
    return a.reshape(-1)[: int(np.prod(shape))].reshape(shape)


def _views(work: BlockWork, member: np.ndarray, params: ParamWork | None = None) -> BlockWork:
    """A :class:`BlockWork` for ``len(member)`` annotations made of the first elements of ``work``'s."""
    k, n = work.scores.shape[0], len(member)
    top, total, tmp = (_view(a, (k, n)) for a in (work.top, work.total, work.tmp))
    return BlockWork(member, _view(work.scores, (k, k, n)), top, total, tmp, params)


def item_chunks(layout: BlockLayout, work: BlockWork, chunk_vars: int | None = None) -> list[ItemChunk]:
    """The item block (``layout``) cut by :func:`chunk_bounds`, each chunk with its run lengths and its
    evaluation buffers (views of ``work``'s, which must hold the largest chunk's annotations)."""
    k, n_items = work.scores.shape[0], len(layout.sizes)
    bounds = chunk_bounds(n_items, k, chunk_vars)
    offsets = np.concatenate([[0], np.cumsum(layout.sizes)])
    step = bounds[0].stop - bounds[0].start if bounds else 0
    params = ParamWork.of((k, k, step), work.scores.dtype)
    chunks = []
    for items in bounds:
        lo, hi = int(offsets[items.start]), int(offsets[items.stop])
        sizes = layout.sizes[items]
        members = np.flatnonzero(sizes)
        starts = (offsets[items] - lo)[members]
        m = items.stop - items.start
        chunk_work = _views(work, layout.member[lo:hi] - items.start, params.prefix((k, k, m)))
        chunks.append(ItemChunk(items, lo, hi, sizes, starts, members, chunk_work))
    return chunks


@dataclass(frozen=True)
class Segment:
    """Consecutive annotations ``lo:hi`` (sorted by member) holding whole members: the starts of those
    members inside it, their ids and its evaluation buffers (views of the fit's)."""

    lo: int
    hi: int
    starts: np.ndarray
    members: np.ndarray
    work: BlockWork


def segment_bounds(sizes: np.ndarray, target: int) -> list[tuple[int, int]]:
    """Cut annotations sorted by member (``sizes`` per member) into runs of whole members of about
    ``target`` annotations (a member with more is a run of its own)."""
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    cuts = [0]
    for pos in range(1, len(sizes)):  # over members (annotators: few), not annotations
        if offsets[pos] - offsets[cuts[-1]] + sizes[pos] > target and offsets[pos] > offsets[cuts[-1]]:
            cuts.append(pos)
    cuts.append(len(sizes))
    pairs = zip(cuts[:-1], cuts[1:], strict=True)
    return [(int(offsets[a]), int(offsets[b])) for a, b in pairs if offsets[b] > offsets[a]]


def block_segments(layout: BlockLayout, work: BlockWork, bounds: list[tuple[int, int]]) -> list[Segment]:
    """The segments of a block at the given annotation bounds (whole members each)."""
    offsets = np.concatenate([[0], np.cumsum(layout.sizes)])
    segments = []
    for lo, hi in bounds:
        members = np.flatnonzero((offsets[:-1] >= lo) & (offsets[:-1] < hi) & (layout.sizes > 0))
        starts = offsets[members] - lo
        segments.append(Segment(lo, hi, starts, members, _views(work, layout.member[lo:hi])))
    return segments


class MmceWork:
    """Everything MMCE's iterations reuse: both blocks' layouts, two ``K x K x n`` tensors (the other block's
    scores and the scores being evaluated), four ``K x n`` arrays, and the E-step's gather positions. Made
    once per fit, so an iteration allocates nothing of the size of the annotations (at 10^6 annotations
    and five classes the fresh tensors were a fifth of the time in page faults).

    When the item block is cut into chunks (more than :data:`ITEM_CHUNK_VARS` item parameters) the fit is
    *streamed*: the item chunks, the annotator block's segments of annotators and the E-step's chunks of
    items are evaluated one after another in buffers of the largest one's size; only the other block's
    scores and the weights stay of the size of the annotations."""

    def __init__(self, data: MmceData) -> None:
        k, n = data.n_classes, len(data.item)
        layouts = {
            name: BlockLayout.of(data, own, order, other, size)
            for name, own, order, other, size in (
                ("annotators", data.annot, data.by_annotator, data.item, data.n_annotators),
                ("items", data.item, data.by_item, data.annot, data.n_items),
            )
        }
        offsets = np.concatenate([[0], np.cumsum(layouts["items"].sizes)])
        bounds = chunk_bounds(data.n_items, k)
        self.streamed = len(bounds) > 1
        largest = max((int(offsets[b.stop] - offsets[b.start]) for b in bounds), default=0)
        segments = segment_bounds(layouts["annotators"].sizes, max(largest, 1)) if self.streamed else []
        cap = max([largest] + [hi - lo for lo, hi in segments]) if self.streamed else n
        fixed: np.ndarray = np.empty((k, k, n), data.dtype)
        weights: np.ndarray = np.empty((k, n), data.dtype)
        scores: np.ndarray = np.empty((k, k, cap), data.dtype)
        small: list[np.ndarray] = [np.empty((k, cap), data.dtype) for _ in range(3)]
        top, total, tmp = small
        prepared = {
            name: PreparedBlock(lay, fixed, weights, BlockWork(lay.member, scores, top, total, tmp))
            for name, lay in layouts.items()
        }
        if self.streamed:
            ann = prepared["annotators"]
            prepared["annotators"] = PreparedBlock(
                ann.layout, fixed, weights, ann.work, block_segments(ann.layout, ann.work, segments)
            )
        self.annotators, self.items = prepared["annotators"], prepared["items"]
        # the E-step's observed scores[label_n, k, n] (items order) sit at label_n * K * n + n, + k * n
        labels, none = data.label[data.by_item], np.empty(0, dtype=np.int64)
        self.labels = labels if self.streamed else none  # the chunks' E-step computes its positions
        self.observed_at = none if self.streamed else labels * (k * n) + np.arange(n)
        self.index = np.empty(cap, dtype=np.int64)
        self.observed: np.ndarray = np.empty((k, cap), data.dtype)
        self._chunks: list[ItemChunk] | None = None

    @property
    def item_chunks(self) -> list[ItemChunk]:
        """The item block's chunks (:func:`item_chunks`), made on first use."""
        if self._chunks is None:
            self._chunks = item_chunks(self.items.layout, self.items.work)
        return self._chunks


def annotator_counts(data: MmceData, post: np.ndarray) -> np.ndarray:
    """``C[l, k, a] = sum_{n: a_n = a, l_n = l} mu[i_n, k]`` (label-major Dawid-Skene expected counts)."""
    return np.ascontiguousarray(data.matrix.expected_counts(post).transpose(2, 1, 0))


def item_counts(data: MmceData, post: np.ndarray) -> np.ndarray:
    """``C[l, k, i] = mu[i, k] * votes[i, l]`` (label-major)."""
    return data.votes.T[:, None, :] * post.T[None, :, :]


def m_step(
    data: MmceData,
    post: np.ndarray,
    sig_t: np.ndarray,
    tau_t: np.ndarray,
    lam_w: float,
    lam_t: float,
    max_iter: int,
    gtol: float,
    work: MmceWork | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Annotator block then item block, each by L-BFGS from the current values (never decreases ``F``)."""
    noise = 1e-6 if data.dtype == np.float32 else 0.0
    blk = make_block(
        data,
        post,
        data.annot,
        data.by_annotator,
        tau_t,
        data.item,
        annotator_counts(data, post),
        lam_w,
        data.n_annotators,
        None if work is None else work.annotators,
    )
    sig_t = minimize_lbfgs(
        blk.objective, (sig_t / blk.scale).ravel(), max_iter=max_iter, gtol=gtol, rel_noise=noise
    ).x.reshape(sig_t.shape)
    sig_t *= blk.scale
    blk = make_block(
        data,
        post,
        data.item,
        data.by_item,
        sig_t,
        data.annot,
        item_counts(data, post),
        lam_t,
        data.n_items,
        None if work is None else work.items,
    )
    chunks = work.item_chunks if work is not None and work.streamed else None
    if chunks is None or len(chunks) == 1:
        tau_t = minimize_lbfgs(
            blk.objective, (tau_t / blk.scale).ravel(), max_iter=max_iter, gtol=gtol, rel_noise=noise
        ).x.reshape(tau_t.shape)
        return sig_t, tau_t * blk.scale
    return sig_t, minimize_by_chunks(blk, tau_t, chunks, max_iter, gtol, noise)


def minimize_by_chunks(
    blk: Block, tau_t: np.ndarray, chunks: list[ItemChunk], max_iter: int, gtol: float, noise: float
) -> np.ndarray:
    """The item block's L-BFGS run on each chunk of items in turn (the block's objective is a sum of
    per-item terms, so every chunk's decrease is the block's); returns the new ``tau_t``."""
    out = np.empty_like(tau_t)
    for part in chunks:
        sub = blk.chunk(part)
        x0 = (tau_t[:, :, part.items] / sub.scale).ravel()
        res = minimize_lbfgs(sub.objective, x0, max_iter=max_iter, gtol=gtol, rel_noise=noise)
        out[:, :, part.items] = res.x.reshape(sub.counts.shape) * sub.scale
    return out


def e_step(
    data: MmceData,
    sig_t: np.ndarray,
    tau_t: np.ndarray,
    log_prior: np.ndarray,
    work: MmceWork | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``log mu[i, k] = log prior[k] + sum_{n in i} (sigma[a,k,l] + tau[i,k,l] - log Z[n, k])``,
    normalised (in ``work``'s buffers, by the same operations, when given)."""
    if work is None:
        order = data.by_item
        sizes, starts, members = _segments(data.item[order], data.n_items)
        scores: np.ndarray = np.repeat(tau_t.astype(data.dtype), sizes, axis=2)
        scores += np.take(sig_t.astype(data.dtype), data.annot[order], axis=2)
        observed = scores[data.label[order], :, np.arange(len(order))].T  # K x n
        log_z, _ = log_partition(scores)
        terms = (observed - log_z).astype(np.float64)
    elif work.streamed:
        return e_step_by_chunks(data, sig_t, tau_t, log_prior, work)
    else:
        blk = work.items
        lay = blk.layout
        starts, members = lay.starts, lay.members
        scores = np.take(tau_t.astype(data.dtype), lay.member, axis=2, out=blk.work.scores, mode="clip")
        scores += np.take(sig_t.astype(data.dtype), lay.other_sorted, axis=2, out=blk.fixed, mode="clip")
        n = scores.shape[2]
        flat = scores.reshape(-1)
        for k in range(data.n_classes):
            np.add(work.observed_at, k * n, out=work.index)
            np.take(flat, work.index, out=work.observed[k], mode="clip")
        log_z, _ = log_partition(scores, blk.work)
        terms = np.subtract(work.observed, log_z, out=work.observed)
    log_u = np.zeros((data.n_classes, data.n_items))
    if len(starts):
        log_u[:, members] = np.add.reduceat(terms, starts, axis=1, dtype=np.float64)
    return log_normalize(log_u.T + log_prior)


def e_step_by_chunks(
    data: MmceData, sig_t: np.ndarray, tau_t: np.ndarray, log_prior: np.ndarray, work: MmceWork
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`e_step` over the item block's chunks in turn, in their buffers: every item's sum is the same
    sum of the same terms as in one pass (an item lies in one chunk), so the result is the same."""
    k, lay = data.n_classes, work.items.layout
    tau_c: np.ndarray = tau_t.astype(data.dtype)
    sig_c: np.ndarray = sig_t.astype(data.dtype)
    log_u = np.zeros((k, data.n_items))
    for part in work.item_chunks:
        w, lo, hi, n = part.work, part.lo, part.hi, part.hi - part.lo
        scores = np.take(tau_c, lay.member[lo:hi], axis=2, out=w.scores, mode="clip")
        other = np.take(sig_c, lay.other_sorted[lo:hi], axis=2, out=_view(work.items.fixed, (k, k, n)))
        scores += other
        flat, index, observed = scores.reshape(-1), work.index[:n], _view(work.observed, (k, n))
        at = np.multiply(work.labels[lo:hi], k * n, out=index)
        at += np.arange(n)
        for c in range(k):
            np.take(flat, at + c * n, out=observed[c], mode="clip")
        log_z, _ = log_partition(scores, w)
        terms = np.subtract(observed, log_z, out=observed)
        if len(part.starts):
            log_u[:, part.members + part.items.start] = np.add.reduceat(
                terms, part.starts, axis=1, dtype=np.float64
            )
    return log_normalize(log_u.T + log_prior)


def confusions_at_average_item(sig_t: np.ndarray) -> np.ndarray:
    """``softmax_l(sigma[a, k, :])``: each annotator's confusion matrix at an item with ``tau = 0``."""
    sigma = sig_t.transpose(2, 1, 0)
    e = np.exp(sigma - sigma.max(axis=2, keepdims=True))
    return e / e.sum(axis=2, keepdims=True)


MmceParams = tuple[np.ndarray, np.ndarray]  # (sig_t, tau_t), label-major


class MmceSteps:
    """MMCE's pieces for the EM driver. The statistics are the posterior itself: the item parameters ``tau``
    make the M-step depend on every item's posterior, not only on sums over annotations."""

    def __init__(
        self, data: MmceData, lambdas: tuple[float, float], log_prior: np.ndarray, max_iter: int, gtol: float
    ) -> None:
        self.data, self.lambdas, self.log_prior = data, lambdas, log_prior
        self.max_iter, self.gtol = max_iter, gtol
        self._work: MmceWork | None = None

    @property
    def work(self) -> MmceWork:
        """The fit's buffers (:class:`MmceWork`), made on first use."""
        if self._work is None:
            self._work = MmceWork(self.data)
        return self._work

    def statistics(self, post: np.ndarray) -> np.ndarray:
        return post

    def m_step(self, stats: np.ndarray, params: MmceParams | None) -> MmceParams:
        k, d = self.data.n_classes, self.data
        sig, tau = (
            params if params is not None else (np.zeros((k, k, d.n_annotators)), np.zeros((k, k, d.n_items)))
        )
        return m_step(d, stats, sig, tau, *self.lambdas, self.max_iter, self.gtol, self.work)

    def e_step(self, params: MmceParams) -> EStep:
        return EStep(*e_step(self.data, *params, self.log_prior, self.work))

    def objective(self, params: MmceParams, e: EStep) -> float:
        """The penalised log-likelihood ``sum_i log Z_i - lambda_w/2 ||sigma||^2 - lambda_t/2 ||tau||^2``."""
        sig, tau = params
        lam_w, lam_t = self.lambdas
        return float(e.log_z.sum()) - 0.5 * (
            lam_w * vdot(sig.ravel(), sig.ravel()) + lam_t * vdot(tau.ravel(), tau.ravel())
        )


class MMCE(IterativeAggregator):
    r"""Regularised minimax conditional entropy (categorical), as the VLDB'17 benchmark runs it.

    Parameters
    ----------
    lambda_annotator : float, optional
        L2 penalty on the annotator parameters ``sigma``; default ``K^2 / 4`` (the benchmark's).
    lambda_item : float, optional
        L2 penalty on the item parameters ``tau``; default ``lambda_annotator * mean items per annotator /
        mean annotators per item`` (the benchmark's).
    max_iter : int, default 50
    tol : float, default 5e-3
        Stop once an iteration changed no label and moved no posterior by ``tol`` or more (the benchmark's
        value; its test had no label condition).
        The class prior is fixed and uniform over the classes that occur (the benchmark only sees those).
    m_step_max_iter : int, default 25
        L-BFGS iterations per block and M-step.
    m_step_tol : float, default 1e-3
        Gradient tolerance of the M-step blocks.
    precision : {"auto", "float64", "float32"}, default "auto"
        Float type of the per-annotation ``K x K`` score tensors (parameters and every sum stay float64).
        ``"auto"``: float32 when there are more than 4 million cells (n_annotations x K^2), which halves
        memory and time; posteriors then differ from float64 by about 1e-6.
    keep_history : bool or "auto", default "auto"
        As :class:`DawidSkene`.
    random_state : int, Generator or None
        Unused (the fit is deterministic); accepted for a uniform interface.

    Attributes
    ----------
    labels_, proba_, consensus_
    sigma_ : ndarray (n_annotators, K, K)
        Annotator parameters ``sigma[a, k, l]``; ``confusions_`` is ``softmax_l(sigma)``, the confusion matrix
        at an item with ``tau = 0``.
    tau_ : ndarray (n_items, K, K)
        Item parameters (how confusable each item is). Rows are defined up to a constant; the penalty picks
        the one with the smallest norm.
    lambdas_ : (lambda_annotator, lambda_item) used.
    n_iter_, converged_, log_likelihood_, objective_ (penalised log-likelihood), history_.

    Notes
    -----
    The maximum-entropy label distribution under per-annotator and per-item moment constraints is

    .. math::

        P(l_n = l \mid t_{i_n} = k) = \frac{\exp(\sigma_{a_n k l} + \tau_{i_n k l})}
                                         {\sum_{l'} \exp(\sigma_{a_n k l'} + \tau_{i_n k l'})},

    and relaxing the constraints with quadratic slack turns the minimax problem into maximising, alternately
    over the posterior ``mu`` and the parameters,

    .. math::

        F = \sum_n \sum_k \mu_{i_n k}\,\bigl(\sigma_{a_n k l_n} + \tau_{i_n k l_n} - \log Z_{n k}\bigr)
            - \tfrac{\lambda_w}{2}\sum_a \lVert\sigma_a\rVert^2 - \tfrac{\lambda_t}{2}\sum_i
            \lVert\tau_i\rVert^2,

    i.e. MAP-EM for the model above with a uniform class prior. Gradients:
    ``dF/dsigma[a,k,l] = sum_{n in a} mu[i_n,k] (1[l_n = l] - p[n,k,l]) - lambda_w sigma[a,k,l]`` and the same
    for ``tau`` over the annotations of an item. Start: ``mu`` = vote shares, ``sigma = tau = 0``. Each
    iteration: L-BFGS on all ``sigma`` (``tau`` fixed), then on all ``tau``, then the E-step
    ``log mu[i,k] = -log K + sum_{n in i} log P(l_n | k)``. ``history_["objective"]`` is the penalised
    marginal log-likelihood, which the iterations never decrease.

    References
    ----------
    D. Zhou, J. C. Platt, S. Basu and Y. Mao (2012). Learning from the wisdom of crowds by minimax entropy.
    NIPS 25.
    D. Zhou, Q. Liu, J. C. Platt, C. Meek and N. B. Shah (2015). Regularized minimax conditional entropy for
    crowdsourcing. arXiv:1503.07240.
    Y. Zheng, G. Li, Y. Li, C. Shan and R. Cheng (2017). Truth inference in crowdsourcing: is the problem
    solved? PVLDB 10(5):541-552.

    Examples
    --------
    >>> import pandas as pd
    >>> from accord.models.mmce import MMCE
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc"), "label": list("xxyyyy")})
    >>> MMCE().fit_predict(df).tolist()
    ['x', 'y']
    """

    name = "mmce"
    model_name = "MMCE"

    def __init__(
        self,
        *,
        lambda_annotator: float | None = None,
        lambda_item: float | None = None,
        max_iter: int = 50,
        tol: float = 5e-3,
        m_step_max_iter: int = 25,
        m_step_tol: float = 1e-3,
        precision: str = "auto",
        keep_history: bool | str = "auto",
        random_state: int | np.random.Generator | None = None,
    ):
        self.lambda_annotator = lambda_annotator
        self.lambda_item = lambda_item
        self.max_iter = max_iter
        self.tol = tol
        self.m_step_max_iter = m_step_max_iter
        self.m_step_tol = m_step_tol
        self.precision = precision
        self.keep_history = keep_history
        self.random_state = random_state

    def _lambdas(self, ann: Annotations) -> tuple[float, float]:
        lam_w, lam_t = default_lambdas(ann)
        if self.lambda_annotator is not None:
            lam_w = check_nonneg_float("lambda_annotator", self.lambda_annotator)
            if self.lambda_item is None:
                lam_t = lam_w * lam_t / default_lambdas(ann)[0]
        if self.lambda_item is not None:
            lam_t = check_nonneg_float("lambda_item", self.lambda_item)
        if lam_w <= 0 or lam_t <= 0:
            raise InvalidParameterError(
                "lambda_annotator and lambda_item must be > 0: without a penalty an "
                "annotator who always agrees sends sigma to infinity"
            )
        return lam_w, lam_t

    def _dtype(self, ann: Annotations) -> type:
        if self.precision not in ("auto", "float64", "float32"):
            raise InvalidParameterError(
                f"precision must be 'auto', 'float64' or 'float32', got {self.precision!r}"
            )
        if self.precision == "auto":
            return np.float32 if ann.n_annotations * ann.n_classes**2 > FLOAT32_ABOVE else np.float64
        return np.float32 if self.precision == "float32" else np.float64

    def _fit(
        self, annotations: Annotations, rng: np.random.Generator, gold: tuple[np.ndarray, np.ndarray] | None
    ) -> Consensus:
        if annotations.n_classes < 2:
            raise InvalidParameterError(
                f"MMCE needs at least 2 classes; the data have "
                f"{annotations.n_classes} ({list(annotations.classes)}). Pass "
                "classes=... when building the Annotations"
            )
        check_positive_int("m_step_max_iter", self.m_step_max_iter)
        gtol = check_nonneg_float("m_step_tol", self.m_step_tol)
        lam_w, lam_t = self._lambdas(annotations)
        data = MmceData.of(annotations, self._dtype(annotations))
        log_prior = uniform_log_prior(annotations)
        steps = MmceSteps(data, (lam_w, lam_t), log_prior, self.m_step_max_iter, gtol)
        post = clamp(vote_shares(annotations.vote_counts()), *(gold if gold is not None else (None, None)))
        result = run_em(
            steps,
            post,
            min_iter=1,
            max_iter=self.max_iter,
            tol=self.tol,
            gold=gold,
            history_bytes=history_budget(self.keep_history),
            snapshot=lambda p: {"confusions": confusions_at_average_item(p[0])},
            model=self.model_name,
        )
        return self._finish(annotations, result, (lam_w, lam_t), np.exp(log_prior))

    def _finish(
        self, ann: Annotations, result: EMResult[MmceParams], lambdas: tuple[float, float], prior: np.ndarray
    ) -> Consensus:
        sig_t, tau_t = result.params
        self.sigma_ = sig_t.transpose(2, 1, 0).copy()
        self.tau_ = tau_t.transpose(2, 1, 0).copy()
        confusions = confusions_at_average_item(sig_t)
        self._store_confusions(confusions, ann)
        self.lambdas_ = lambdas
        self._store_run(result)
        return Consensus(
            ann,
            result.post,
            self.model_name,
            confusions=confusions,
            priors=prior,
            history=self.history_,
            params=self.get_params(),
        )
