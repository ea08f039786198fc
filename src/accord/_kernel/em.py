"""The shared, vectorised EM kernel of the Dawid-Skene family.

Every annotation ``n`` is one non-zero of a sparse ``items x (annotators * K)`` design matrix ``M`` at row
``item[n]`` and column ``annotator[n] * K + label[n]``. With it both EM steps are one sparse-dense product:

- E-step: ``log_u[i, k] = log prior[k] + sum_{n in i} log theta[a_n, k, l_n] = log prior[k] + (M @ L)[i, k]``
  where ``L[(a, l), k] = log theta[a, k, l]``;
- M-step: ``counts[a, k, l] = sum_{n: a_n = a, l_n = l} post[i_n, k] = (M.T @ post)[(a, l), k]``.

Cost per iteration is O(n_annotations x K) in compiled code; memory is the sparse matrix (and its transpose)
plus an items x K posterior. The same two products are what a distributed backend would run per partition of
items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import scipy.sparse as sp

try:  # the routines behind ``csr @ dense``; private, so reached with a fallback
    from scipy.sparse import _sparsetools
except ImportError:  # pragma: no cover - a SciPy without the module
    _sparsetools = None

from ..errors import InvalidParameterError
from .compiled import block_bounds, n_threads, run_blocks
from .compiled import enabled as compiled_enabled
from .compiled import worth_it as compiled_worth_it
from .driver import largest_change, max_abs_change
from .fused import FusedDS
from .softmax import column_sums, log_normalize, log_normalize_argmax, running_argmax, small_codes
from .votes import break_ties, vote_shares

if TYPE_CHECKING:
    from ..annotations import Annotations

LOG_EPS = 1e-12

# Items per thread below which the NumPy E-step runs on one thread: a block costs a few dozen ufunc calls
# and a hand-over to the pool (tens of microseconds), which pays once a block's columns are ~100 kB long.
BLOCK_ITEMS = 16_384

Init = Literal["mv", "soft_mv"]  # starting posterior of the Dawid-Skene family
DSParams = tuple[np.ndarray, np.ndarray]  # Dawid-Skene parameters: (class prior, confusions)


class AnnotationMatrix:
    """Sparse design matrix of the annotations, built once per fit.

    Parameters
    ----------
    annotations : Annotations
    weights : ndarray, optional
        A weight per annotation (default 1). Repeated (item, annotator, label) triples add up.
    """

    def __init__(self, annotations: Annotations, weights: np.ndarray | None = None) -> None:
        self.n_items = annotations.n_items
        self.n_annotators = annotations.n_annotators
        self.n_classes = k = annotations.n_classes
        data = np.ones(annotations.n_annotations) if weights is None else np.array(weights, dtype=np.float64)
        self.M = _design_matrix(annotations, data, self.n_annotators, k)
        self._column_mass: np.ndarray | None = None

    @property
    def column_mass(self) -> np.ndarray:
        """``N[(a, l)]``: the (weighted) number of annotations of annotator ``a`` with label ``l``, computed
        once per matrix."""
        if self._column_mass is None:
            self._column_mass = np.asarray(self.M.sum(axis=0)).ravel()
        return self._column_mass

    def log_scores(self, log_theta: np.ndarray) -> np.ndarray:
        """``sum_{n in i} log_theta[a_n, k, l_n]`` for every item ``i`` and class ``k`` (items x K)."""
        a, k = self.n_annotators, self.n_classes
        table = np.ascontiguousarray(log_theta.transpose(0, 2, 1)).reshape(a * k, k)
        return np.asarray(self.M @ table)

    def expected_counts(self, post: np.ndarray) -> np.ndarray:
        """``counts[a, k, l] = sum_{n: a_n = a, l_n = l} post[i_n, k]`` (annotators x K x K)."""
        a, k = self.n_annotators, self.n_classes
        flat = np.asarray(self.M.T @ post)  # (a, l) x k; the CSC view of M.T beats a materialised transpose
        return flat.reshape(a, k, k).transpose(0, 2, 1)


def _design_matrix(annotations: Annotations, data: np.ndarray, n_annotators: int, k: int) -> sp.csr_matrix:
    """The CSR matrix of :class:`AnnotationMatrix` (rows sorted, duplicates summed), as SciPy builds it from
    ``(data, (item, annotator * K + label))``.

    When the item codes never decrease (an export grouped by item), each row's annotations already form a
    contiguous run in row order, the order SciPy's conversion from coordinates leaves them in; the CSR
    arrays are then made directly (row pointers from the items' counts) and sorted and summed by the same
    routines: the same arrays, without the coordinates' copies and scatter (at 10^7 annotations about
    0.45 s of a 1.3 s fit on a 2-core machine)."""
    item, n_items = annotations.item, annotations.n_items
    shape = (n_items, n_annotators * k)
    nnz = len(item)
    grouped = nnz > 0 and bool((item[1:] >= item[:-1]).all()) and int(item[0]) >= 0
    if not grouped or int(item[-1]) >= n_items:
        cols = annotations.annotator.astype(np.int64) * k + annotations.label
        matrix = sp.csr_matrix((data, (item, cols)), shape=shape)  # rows in order, unsorted within
    else:
        index = np.int32 if max(nnz, *shape) <= np.iinfo(np.int32).max else np.int64
        indices = annotations.annotator.astype(index)
        indices *= k
        indices += annotations.label
        indptr = np.zeros(n_items + 1, dtype=index)
        np.cumsum(np.bincount(item, minlength=n_items), out=indptr[1:])
        matrix = sp.csr_matrix((data, indices, indptr), shape=shape, copy=False)
    _sort_rows(matrix)
    matrix.sum_duplicates()
    return matrix


def _block_count(n_items: int) -> int:
    """Item blocks of the NumPy paths: one per thread while each holds :data:`BLOCK_ITEMS` items (1: no
    blocks), and 1 when SciPy's product and sort routines are out of reach."""
    routines = ("csr_matvecs", "csr_sort_indices")
    if _sparsetools is None or not all(hasattr(_sparsetools, r) for r in routines):
        return 1
    return max(1, min(n_threads(), n_items // BLOCK_ITEMS))


def item_blocks(matrix: sp.csr_matrix) -> list[tuple[int, int]]:
    """Contiguous blocks of rows (items) of a design matrix of about equal non-zeros, one per thread of the
    NumPy paths (:func:`_block_count`; a single block when there are too few items)."""
    n_blocks = _block_count(matrix.shape[0])
    return block_bounds(matrix.indptr, n_blocks) if n_blocks > 1 else [(0, matrix.shape[0])]


def block_product(matrix: sp.csr_matrix, x: np.ndarray, out: np.ndarray, s: int, e: int) -> np.ndarray:
    """Rows ``s .. e - 1`` of ``matrix @ x`` (CSR ``matrix``, C-ordered ``x``) written into ``out[s:e]`` and
    returned, zeroed here first: the routine of :func:`sparse_product` on those rows only, so the rows are
    the same to the bit as the whole product's."""
    rows = out[s:e]
    if getattr(_sparsetools, "csr_matvecs", None) is None or x.dtype != np.float64:
        rows[...] = matrix[s:e] @ x  # a SciPy without the routine
        return rows
    rows.fill(0.0)
    n_cols = matrix.shape[1]
    _sparsetools.csr_matvecs(
        e - s,
        n_cols,
        x.shape[1],
        matrix.indptr[s : e + 1],
        matrix.indices,
        matrix.data,
        x.ravel(),
        rows.ravel(),
    )
    return rows


def _sort_rows(matrix: sp.csr_matrix) -> None:
    """``matrix.sort_indices()``, on blocks of rows in parallel threads when there are enough rows (SciPy's
    routine sorts each row on its own and releases the GIL, so the arrays are the same)."""
    n_blocks = _block_count(matrix.shape[0])
    if n_blocks < 2 or matrix.has_sorted_indices:
        matrix.sort_indices()
        return
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    blocks = block_bounds(indptr, n_blocks)

    def block(b: int) -> None:
        s, e = blocks[b]
        _sparsetools.csr_sort_indices(e - s, indptr[s : e + 1], indices, data)

    run_blocks(block, n_blocks)
    matrix.has_sorted_indices = True


def smoothed_confusions(counts: np.ndarray, alpha: float) -> np.ndarray:
    """Smoothed M-step: ``theta[a,k,l] = (counts[a,k,l] + alpha) / (sum_l counts[a,k,l] + alpha * K)``, the
    MAP estimate under a symmetric Dirichlet(alpha + 1) prior on each row.

    The denominator is the row sum of the annotator's own counts, so rows sum to 1 with missing annotations
    too. A row with no mass and ``alpha = 0`` becomes uniform rather than 0/0.
    """
    k = counts.shape[-1]
    num = counts + alpha
    den = num.sum(axis=-1, keepdims=True)
    return np.divide(num, den, out=np.full_like(num, 1.0 / k), where=den > 0)


def class_priors(post: np.ndarray, beta: float = 0.0) -> np.ndarray:
    """``prior[k] = (sum_i post[i,k] + beta) / (n_items + K * beta)``: mean posterior, optionally smoothed by
    a symmetric Dirichlet pseudo-count ``beta``."""
    k = post.shape[1]
    return (column_sums(post) + beta) / (post.shape[0] + k * beta)


def e_step(
    matrix: AnnotationMatrix, log_prior: np.ndarray, log_theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior and per-item log evidence: ``post = softmax(log_prior + M @ log_theta)``."""
    log_u = matrix.log_scores(log_theta)
    log_u += log_prior
    return log_normalize(log_u)


def e_step_labels(
    matrix: AnnotationMatrix, log_prior: np.ndarray, log_theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`e_step` that also returns ``argmax`` of the posterior (the EM driver's labels) in the same
    pass."""
    log_u = matrix.log_scores(log_theta)
    log_u += log_prior
    return log_normalize_argmax(log_u)


def clamp(post: np.ndarray, gold_items: np.ndarray | None, gold_labels: np.ndarray | None) -> np.ndarray:
    """Set the posterior of gold items to one-hot at their known class (in place)."""
    if gold_items is not None and len(gold_items):
        post[gold_items] = 0.0
        post[gold_items, gold_labels] = 1.0
    return post


def one_hot(codes: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(codes), k))
    out[np.arange(len(codes)), codes] = 1.0
    return out


def initial_posterior(
    annotations: Annotations,
    init: str,
    gold: tuple[np.ndarray, np.ndarray] | None,
    tie_break: str,
    rng: np.random.Generator,
    counts: np.ndarray | None = None,
) -> np.ndarray:
    """Starting posterior: one-hot majority vote (ties by ``tie_break``; it breaks the label-switching
    symmetry, as in Dawid and Skene 1979) or vote shares; ``counts`` is the vote table if the caller has
    it."""
    counts = annotations.vote_counts() if counts is None else counts
    if init == "mv":
        post = one_hot(break_ties(counts, tie_break, rng), annotations.n_classes)
    elif init == "soft_mv":
        post = vote_shares(counts)
    else:
        raise InvalidParameterError(f"init must be 'mv' or 'soft_mv', got {init!r}")
    return clamp(post, *(gold if gold is not None else (None, None)))


@dataclass(frozen=True)
class DSStats:
    """Sufficient statistics of the Dawid-Skene family: expected confusion counts ``counts[a, k, l]`` and the
    posterior mass of each class ``class_mass[k] = sum_i post[i, k]``. Both add up over disjoint items."""

    counts: np.ndarray
    class_mass: np.ndarray

    def __add__(self, other: DSStats) -> DSStats:
        return DSStats(self.counts + other.counts, self.class_mass + other.class_mass)


def ds_statistics(matrix: AnnotationMatrix, post: np.ndarray) -> DSStats:
    """``counts[a,k,l] = sum_{n: a_n=a, l_n=l} post[i_n,k]`` and ``class_mass[k] = sum_i post[i,k]``."""
    return DSStats(matrix.expected_counts(post), column_sums(post))


def sparse_product(kind: str, matrix: sp.spmatrix, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = matrix @ x`` for a CSR (``kind="csr"``) or CSC matrix and a C-ordered dense ``x``, written into
    the C-ordered ``out`` (zeroed here) by the routine ``matrix @ x`` itself runs, so the result is the same
    to the bit and no array is allocated. Falls back to ``matrix @ x`` when that routine is not reachable."""
    out.fill(0.0)
    routine = getattr(_sparsetools, f"{kind}_matvecs", None) if _sparsetools is not None else None
    if routine is None or x.dtype != np.float64 or matrix.dtype != np.float64:
        out[...] = matrix @ x
        return out
    n_row, n_col = matrix.shape
    routine(n_row, n_col, x.shape[1], matrix.indptr, matrix.indices, matrix.data, x.ravel(), out.ravel())
    return out


class DSKernel:
    """The E-step and the statistics of the Dawid-Skene family on one design matrix, with buffers that live
    as long as the fit instead of fresh arrays every iteration.

    With numba installed (the ``fast`` extra), ``ACCORD_NO_COMPILE`` unset and at least
    ``10^7`` annotations (:func:`~accord._kernel.compiled.worth_it`), both run in the compiled kernel of
    :mod:`accord._kernel.fused` (``compiled=True`` / ``False`` forces it on any data / the NumPy path); its
    :meth:`e_step_fused` is one pass that also returns the statistics of the new posterior and its changes
    against the previous one. The compiled results equal the NumPy path's to rounding.

    The posterior comes back in one of two buffers, used in turn, so the posterior entering an iteration is
    intact while the next one is written (the EM driver compares them); whoever keeps a posterior longer
    than one more E-step copies it. Everything else (the log-scores, the column work) is scratch.

    On the NumPy path with at least :data:`BLOCK_ITEMS` items per thread (:func:`~accord._kernel.compiled.
    n_threads`, ``ACCORD_NUM_THREADS``), the E-step runs on contiguous blocks of items in parallel: SciPy's
    sparse products and NumPy's ufuncs release the GIL, and every value of a block is computed by the same
    operations in the same order as on the whole array, so the results do not depend on the number of
    threads (equal to the bit). The statistics' product stays on one thread: split over blocks of items it
    would add each count's terms in another order, and split over the design matrix's columns it measured
    no faster (each thread still reads every item's posterior).

    With two classes the E-step is the logistic form ``p1 = 1 / (1 + exp(u0 - u1))`` and the expected
    counts need one sparse product instead of two (``counts[a, 0, l] = N[a, l] - counts[a, 1, l]``, ``N``
    the annotations of annotator ``a`` with label ``l``); with more classes every operation is the one
    :func:`e_step_labels` and :func:`ds_statistics` run, in the same order, so the results are equal to the
    bit.
    """

    def __init__(self, matrix: AnnotationMatrix, compiled: bool | None = None) -> None:
        self.matrix = matrix
        n, k = matrix.n_items, matrix.n_classes
        self.n_items, self.n_classes = n, k
        self._table = np.empty((matrix.n_annotators * k, k))
        if compiled is None:
            self.compiled = compiled_worth_it(int(matrix.M.nnz))
        else:
            self.compiled = bool(compiled) and compiled_enabled()
        self._fused: FusedDS | None = None
        self._blocks: list[tuple[int, int]] = []  # the NumPy path's item blocks (none: one thread)
        if self.compiled:
            m = matrix.M
            mass = matrix.column_mass if k == 2 else np.zeros(0)
            self._fused = FusedDS(m.indptr, m.indices, m.data, matrix.n_annotators, k, mass)
            return
        self._csc = matrix.M.T  # the CSC view the M-step reads, made once
        self.log_u = np.empty((n, k))
        # column-major posteriors: the softmax works on whole contiguous columns (a strided column pass
        # reads the whole array), and with two classes the M-step reads the column p1 alone
        self._posts = (np.empty((n, k), order="F"), np.empty((n, k), order="F"))
        self._cols = np.empty((n, k), order="F") if k > 2 else None
        # the row-major copy of a posterior the M-step product reads: the log-scores' buffer, free by then
        # (an E-step consumes its log-scores before it returns; one buffer fewer to fault in per fit)
        self._rows = self.log_u if k > 2 else None
        self._turn = 0
        self.log_z = np.empty(n)
        self._m = np.empty(n)
        self._tmp = np.empty(n)
        self._labels = np.empty(n, dtype=np.intp)
        self._gt = np.empty(n, dtype=bool)
        self._arg = np.empty(n, dtype=small_codes(k))
        self._step = np.empty(n, dtype=small_codes(k))
        self._flat = np.empty((matrix.n_annotators * k, k))
        if k == 2:
            self._p1 = np.empty((n, 1))
            self._c1 = np.empty((matrix.n_annotators * k, 1))
        self._threads = n_threads()
        blocks = item_blocks(matrix.M)
        self._blocks = blocks if len(blocks) > 1 else []
        self._block_out: list[tuple[float, int]] = [(0.0, 0)] * len(self._blocks)

    def _next_post(self) -> np.ndarray:
        self._turn ^= 1
        return self._posts[self._turn]

    def e_step(
        self, log_prior: np.ndarray, log_theta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``post = softmax(log_prior + M @ L)``, its per-item log evidence and argmax (ties to the lowest
        class); the three arrays are the kernel's buffers."""
        a, k = self.matrix.n_annotators, self.n_classes
        np.copyto(self._table.reshape(a, k, k), log_theta.transpose(0, 2, 1))
        return self.e_step_table(log_prior, self._table)

    def e_step_table(
        self, log_prior: np.ndarray, table: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`e_step` from the log table ``T[(a, l), k] = log P(l | k)`` of annotator ``a``, in the
        layout of the design matrix's columns (``(annotators * K) x K``, C-ordered)."""
        k = self.n_classes
        if self._fused is not None:
            return self._fused.run(log_prior, table, stats=False)[:3]
        if self._blocks:
            return self._blocked(log_prior, np.ascontiguousarray(table), None, None)[:3]
        log_u = sparse_product("csr", self.matrix.M, np.ascontiguousarray(table), self.log_u)
        if k == 2:
            return self._softmax2(log_u, log_prior)
        return self._softmax(log_u, log_prior)

    def _blocked(
        self,
        log_prior: np.ndarray,
        table: np.ndarray,
        prev: np.ndarray | None,
        prev_labels: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float | None, int | None]:
        """The NumPy E-step of :meth:`e_step_table` on the item blocks in parallel (each block's product
        and softmax are the whole array's operations on its rows), with, when ``prev`` / ``prev_labels``
        are given, the largest change of a probability and the number of changed labels (``(post, log_z,
        labels, delta, n_changed)``)."""
        post = self._next_post()
        softmax = self._softmax2 if self.n_classes == 2 else self._softmax

        def block(b: int) -> None:
            s, e = self._blocks[b]
            softmax(block_product(self.matrix.M, table, self.log_u, s, e), log_prior, s, e, post)
            if prev is None or prev_labels is None:
                return
            delta = max_abs_change(post[s:e], prev[s:e], self._m[s:e])
            self._block_out[b] = (delta, int(np.count_nonzero(self._labels[s:e] != prev_labels[s:e])))

        run_blocks(block, len(self._blocks), self._threads)
        if prev is None:
            return post, self.log_z, self._labels, None, None
        delta = largest_change(d for d, _ in self._block_out)
        return post, self.log_z, self._labels, delta, sum(c for _, c in self._block_out)

    def _softmax(
        self,
        log_u: np.ndarray,
        log_prior: np.ndarray,
        s: int = 0,
        e: int | None = None,
        post: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`~accord._kernel.softmax.log_normalize_argmax` of ``log_u + log_prior``, column by column,
        in the buffers: of every item, or (a block of :meth:`_blocked`) of items ``s .. e - 1`` into their
        rows of ``post`` and of the other buffers, with ``log_u`` their log-scores."""
        k = self.n_classes
        assert self._cols is not None
        rows = slice(s, e)
        cols = self._cols[rows]
        # the prior added on the way into the column-major copy (log_normalize_argmax's asfortranarray):
        # the same sums as ``log_u += log_prior``, one pass fewer
        np.add(log_u, log_prior, out=cols)
        full = self._next_post() if post is None else post
        m, total, out, log_z = self._m[rows], self._tmp[rows], full[rows], self.log_z[rows]
        arg = self._arg[rows]
        np.copyto(m, cols[:, 0])
        running_argmax(cols, m, arg, self._gt[rows], self._step[rows])
        np.copyto(self._labels[rows], arg)
        total.fill(0.0)
        for j in range(k):
            col = out[:, j]
            np.subtract(cols[:, j], m, out=col)
            np.exp(col, out=col)
            np.add(total, col, out=total)
        for j in range(k):
            np.divide(out[:, j], total, out=out[:, j])
        np.log(total, out=log_z)
        np.add(log_z, m, out=log_z)
        return full, self.log_z, self._labels

    def _softmax2(
        self,
        log_u: np.ndarray,
        log_prior: np.ndarray,
        s: int = 0,
        e: int | None = None,
        post: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Two classes, in the logistic form and with vectorised ufuncs only: ``d = u1 - u0``,
        ``p1 = 1 / (1 + exp(-d))``, ``p0 = 1 / (1 + exp(d))`` (an overflow gives the limit 0) and
        ``log Z = u0 + max(d, 0) - log max(p0, p1)`` (``max(p0, p1) >= 1/2``, so the log is well
        conditioned); of items ``s .. e - 1`` only as in :meth:`_softmax`."""
        rows = slice(s, e)
        full = self._next_post() if post is None else post
        d, tmp, arg, lz = self._tmp[rows], self._m[rows], self._labels[rows], self.log_z[rows]
        post = full[rows]
        np.subtract(log_u[:, 1], log_u[:, 0], out=d)
        np.add(d, log_prior[1] - log_prior[0], out=d)
        np.greater(d, 0.0, out=arg, casting="unsafe")
        p0, p1 = post[:, 0], post[:, 1]
        with np.errstate(over="ignore"):
            np.exp(d, out=p0)
            np.negative(d, out=p1)
            np.exp(p1, out=p1)
        for col in (p0, p1):
            np.add(col, 1.0, out=col)
            np.divide(1.0, col, out=col)
        np.maximum(p0, p1, out=tmp)
        np.log(tmp, out=tmp)
        np.maximum(d, 0.0, out=lz)
        np.subtract(lz, tmp, out=lz)
        np.add(lz, log_u[:, 0], out=lz)
        np.add(lz, log_prior[0], out=lz)
        return full, self.log_z, self._labels

    def e_step_fused(
        self, log_prior: np.ndarray, log_theta: np.ndarray, prev: np.ndarray, prev_labels: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, DSStats | None, float | None, int | None]:
        """:meth:`e_step` and, compiled, in the same pass: the statistics of the new posterior, the largest
        change of a probability against ``prev`` and the number of labels that differ from ``prev_labels``
        (``(post, log_z, labels, stats, delta, n_changed)``). On the NumPy path the statistics are None (a
        separate product), and so are the changes unless the E-step ran on item blocks."""
        a, k = self.matrix.n_annotators, self.n_classes
        if self._fused is None and not self._blocks:
            return (*self.e_step(log_prior, log_theta), None, None, None)
        np.copyto(self._table.reshape(a, k, k), log_theta.transpose(0, 2, 1))
        if self._fused is None:  # the blocked NumPy pass: the changes from the blocks, statistics apart
            post, log_z, labels, delta, changed = self._blocked(log_prior, self._table, prev, prev_labels)
            return post, log_z, labels, None, delta, changed
        post, log_z, labels, counts, mass, delta, changed = self._fused.run(
            log_prior, self._table, prev, prev_labels
        )
        assert counts is not None and mass is not None
        return post, log_z, labels, DSStats(counts, mass), delta, changed

    def statistics(self, post: np.ndarray) -> DSStats:
        """:func:`ds_statistics` without the per-call arrays (``counts[a, k, l]`` and the class mass)."""
        if self._fused is not None:
            return DSStats(*self._fused.statistics(post))
        a, k = self.matrix.n_annotators, self.n_classes
        if k == 2:
            p1 = post[:, 1:2]
            if not p1.flags.c_contiguous:
                p1 = self._p1
                np.copyto(p1[:, 0], post[:, 1])
            c1 = sparse_product("csc", self._csc, p1, self._c1)[:, 0].reshape(a, k)
            counts = np.empty((a, k, k))
            counts[:, 1, :] = c1
            np.subtract(self.matrix.column_mass.reshape(a, k), c1, out=counts[:, 0, :])
            return DSStats(counts, column_sums(post))
        x = post
        if not post.flags.c_contiguous:  # the product reads rows (ds_statistics copies the same way)
            x = (
                self._rows
                if self._rows is not None and self._rows.shape == post.shape
                else np.empty(post.shape)
            )
            self._copy_rows(x, post)
        flat = sparse_product("csc", self._csc, x, self._flat)
        return DSStats(flat.copy().reshape(a, k, k).transpose(0, 2, 1), column_sums(post))  # old layout

    def _copy_rows(self, out: np.ndarray, post: np.ndarray) -> None:
        """``out[...] = post`` (a row-major copy of a column-major posterior), on the item blocks in
        parallel when the kernel has them."""
        if not self._blocks:
            np.copyto(out, post)
            return

        def block(b: int) -> None:
            s, e = self._blocks[b]
            np.copyto(out[s:e], post[s:e])

        run_blocks(block, len(self._blocks), self._threads)
