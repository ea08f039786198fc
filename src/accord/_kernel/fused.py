"""The compiled, fused E-step and statistics pass of the Dawid-Skene family (numba; see
:mod:`accord._kernel.compiled`).

One pass over the annotations in the design matrix's CSR order (grouped by item) does, for every item
``i``:

1. ``u[k] = sum_{n in i} w_n T[c_n, k]`` with ``T[(a, l), k] = log theta[a, k, l]`` (the log-confusion
   rows, in the layout of the matrix's columns ``c_n = a_n K + l_n``), then ``u += log prior``;
2. the posterior ``p = softmax(u)`` (log-sum-exp; with two classes the logistic form), its log evidence
   ``log Z_i`` and its argmax (ties to the lowest class), written into the output buffers;
3. the expected counts ``C[c_n, k] += w_n p[k]`` of the item's annotations (with two classes only the
   column ``k = 1``: ``C[(a, l), 0] = N[a, l] - C[(a, l), 1]``), and the class mass ``sum_i p[k]``;
4. against the posterior and labels entering the iteration: the largest change of a probability and the
   number of changed labels (the EM driver's stopping rule).

No array of size annotations x K is ever made. The items are cut into a fixed number of contiguous blocks
(a function of the data only); each block has its own count buffer, the blocks run on up to
:func:`~accord._kernel.compiled.n_threads` threads, and the buffers are added in block order: the result
is the same for any number of threads. The log-scores are summed in the NumPy path's order, so the labels
are its labels; the rest differs from it by rounding only (the blocks' partial sums; with two classes one
exponential per item, ``e = exp(-|d|)``: the likely class gets ``1 / (1 + e)`` as on the NumPy path, the
other ``e / (1 + e)`` instead of ``1 / (1 + e^|d|)``, and ``log Z_i = u0 + log prior_0 + max(d, 0) +
log1p(e)`` instead of ``... - log max(p0, p1)``).
"""

from __future__ import annotations

import numpy as np

from .compiled import block_bounds, jit, run_blocks

__all__ = ["FusedDS"]

# A block holds about this many annotations (fewer blocks on small data: no threads below it) ...
BLOCK_ANNOTATIONS = 1 << 17
# ... there are at most this many blocks ...
MAX_BLOCKS = 16
# ... and their count buffers take at most this many bytes together.
BLOCK_BYTES = 64 * 2**20
# A block is worked through in chunks of about this many annotations (they stay in the core's cache).
CHUNK_ANNOTATIONS = 1 << 16


@jit()
def _gather2(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    unit: bool,
    table: np.ndarray,
    lp0: float,
    dprior: float,
    i0: int,
    i1: int,
    labels: np.ndarray,
    e_out: np.ndarray,
    base_out: np.ndarray,
) -> None:  # pragma: no cover - compiled (the tests compare it with the NumPy path)
    """Two classes, items ``i0 .. i1 - 1``: log-scores ``u``, ``d = (u1 - u0) + dprior``, the label
    ``d > 0``; ``e_out = -|d|`` for the exponential that follows and ``base_out = u0 + lp0 + max(d, 0)``,
    the log evidence but for ``log(1 + e^-|d|)``."""
    for i in range(i0, i1):
        u0 = 0.0
        u1 = 0.0
        if unit:
            for n in range(indptr[i], indptr[i + 1]):
                c = indices[n]
                u0 += table[c, 0]
                u1 += table[c, 1]
        else:
            for n in range(indptr[i], indptr[i + 1]):
                c = indices[n]
                w = data[n]
                u0 += w * table[c, 0]
                u1 += w * table[c, 1]
        d = (u1 - u0) + dprior
        labels[i] = 1 if d > 0.0 else 0
        e_out[i - i0] = -abs(d)
        base_out[i - i0] = (u0 + lp0) + max(d, 0.0)


@jit()
def _gather_k(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    unit: bool,
    table: np.ndarray,
    log_prior: np.ndarray,
    i0: int,
    i1: int,
    post: np.ndarray,
    labels: np.ndarray,
    m_out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Any number of classes, items ``i0 .. i1 - 1``: ``u = log prior + log-scores``, its maximum ``m``
    and argmax (ties to the lowest class); ``post[i] = u - m`` for the exponential that follows."""
    k = table.shape[1]
    u = np.empty(k)
    for i in range(i0, i1):
        for j in range(k):
            u[j] = 0.0
        for n in range(indptr[i], indptr[i + 1]):
            c = indices[n]
            if unit:
                for j in range(k):
                    u[j] += table[c, j]
            else:
                w = data[n]
                for j in range(k):
                    u[j] += w * table[c, j]
        for j in range(k):
            u[j] += log_prior[j]
        m = u[0]
        arg = 0
        for j in range(1, k):
            if u[j] > m:
                arg = j
                m = u[j]
            elif u[j] != u[j]:  # NaN: the maximum is NaN from here on, as np.maximum's on the NumPy path
                m = u[j]
        labels[i] = arg
        m_out[i - i0] = m
        for j in range(k):
            post[i, j] = u[j] - m


@jit()
def _gather8(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    unit: bool,
    table: np.ndarray,
    log_prior: np.ndarray,
    i0: int,
    i1: int,
    work: np.ndarray,
    labels: np.ndarray,
    m_out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """:func:`_gather_k` for 3 to 8 classes, the table padded with zero columns and the log prior with
    ``-inf`` up to 8: eight scalar accumulators (the compiler keeps them in registers; a loop over a small
    array goes through memory), and an argmax over all eight without a test of ``K`` (a padded class scores
    ``-inf`` and never wins), which the compiler makes branch-free. The NaN rule of the running maximum
    (one more, data-dependent branch per class) is taken only for an item whose log-scores sum to NaN."""
    k = work.shape[1]
    lp0, lp1, lp2, lp3 = log_prior[0], log_prior[1], log_prior[2], log_prior[3]
    lp4, lp5, lp6, lp7 = log_prior[4], log_prior[5], log_prior[6], log_prior[7]
    for i in range(i0, i1):
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
        if unit:
            for n in range(indptr[i], indptr[i + 1]):
                c = indices[n]
                a0 += table[c, 0]
                a1 += table[c, 1]
                a2 += table[c, 2]
                a3 += table[c, 3]
                a4 += table[c, 4]
                a5 += table[c, 5]
                a6 += table[c, 6]
                a7 += table[c, 7]
        else:
            for n in range(indptr[i], indptr[i + 1]):
                c = indices[n]
                w = data[n]
                a0 += w * table[c, 0]
                a1 += w * table[c, 1]
                a2 += w * table[c, 2]
                a3 += w * table[c, 3]
                a4 += w * table[c, 4]
                a5 += w * table[c, 5]
                a6 += w * table[c, 6]
                a7 += w * table[c, 7]
        a0 += lp0
        a1 += lp1
        a2 += lp2
        a3 += lp3
        a4 += lp4
        a5 += lp5
        a6 += lp6
        a7 += lp7
        m = a0
        arg = 0
        if a1 > m:
            m, arg = a1, 1
        if a2 > m:
            m, arg = a2, 2
        if a3 > m:
            m, arg = a3, 3
        if a4 > m:
            m, arg = a4, 4
        if a5 > m:
            m, arg = a5, 5
        if a6 > m:
            m, arg = a6, 6
        if a7 > m:
            m, arg = a7, 7
        total = ((((((a0 + a1) + a2) + a3) + a4) + a5) + a6) + a7
        if total != total:  # a NaN: the NumPy path's running maximum is NaN from the first NaN column on
            m = a0
            arg = 0
            u = (a0, a1, a2, a3, a4, a5, a6, a7)
            for j in range(1, k):
                if u[j] > m:
                    arg = j
                    m = u[j]
                elif u[j] != u[j]:
                    m = u[j]
        labels[i] = arg
        m_out[i - i0] = m
        work[i - i0, 0] = a0 - m
        work[i - i0, 1] = a1 - m
        work[i - i0, 2] = a2 - m
        if k > 3:
            work[i - i0, 3] = a3 - m
        if k > 4:
            work[i - i0, 4] = a4 - m
        if k > 5:
            work[i - i0, 5] = a5 - m
        if k > 6:
            work[i - i0, 6] = a6 - m
        if k > 7:
            work[i - i0, 7] = a7 - m


@jit()
def _scatter2(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    unit: bool,
    i0: int,
    i1: int,
    e: np.ndarray,
    base: np.ndarray,
    post: np.ndarray,
    labels: np.ndarray,
    log_z: np.ndarray,
    prev: np.ndarray,
    prev_labels: np.ndarray,
    track: bool,
    stats: bool,
    c1: np.ndarray,
    mass: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Two classes, items ``i0 .. i1 - 1``, after the exponential (``e = e^-|d|``) and ``log_z = log(1 +
    e)``: the likely class gets ``1 / (1 + e)`` (the NumPy path's logistic form), the other ``e / (1 + e)``;
    ``log_z += base``; the change summary ``out = (largest change, changed labels)`` against ``prev``; the
    class mass and the counts of class 1, ``c1[c_n] += w_n p1``."""
    delta = out[0]
    changed = 0
    m0 = 0.0
    m1 = 0.0
    for i in range(i0, i1):
        x = e[i - i0]
        q = 1.0 / (x + 1.0)
        r = x * q
        one = labels[i] == 1
        p0 = r if one else q
        p1 = q if one else r
        post[i, 0] = p0
        post[i, 1] = p1
        log_z[i] += base[i - i0]
        if track:
            delta = max(delta, abs(p0 - prev[i, 0]), abs(p1 - prev[i, 1]))
            if labels[i] != prev_labels[i]:
                changed += 1
        if stats:
            m0 += p0
            m1 += p1
            if unit:
                for n in range(indptr[i], indptr[i + 1]):
                    c1[indices[n]] += p1
            else:
                for n in range(indptr[i], indptr[i + 1]):
                    c1[indices[n]] += data[n] * p1
    mass[0] += m0
    mass[1] += m1
    out[0] = delta
    out[1] += changed


@jit()
def _scatter_k(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    unit: bool,
    i0: int,
    i1: int,
    post: np.ndarray,
    labels: np.ndarray,
    norm_out: np.ndarray,
    prev: np.ndarray,
    prev_labels: np.ndarray,
    track: bool,
    stats: bool,
    counts: np.ndarray,
    mass: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Three or more classes, items ``i0 .. i1 - 1``, after the exponential (``post[i] = e^(u - m)``):
    ``p = e / sum e``, ``norm_out = sum e``; the change summary against ``prev``; the class mass and the
    counts ``counts[c_n, k] += w_n p[k]``."""
    k = post.shape[1]
    p = np.empty(k)
    delta = out[0]
    changed = 0
    for i in range(i0, i1):
        total = 0.0
        for j in range(k):
            total += post[i, j]
        for j in range(k):
            p[j] = post[i, j] / total
            post[i, j] = p[j]
        norm_out[i - i0] = total
        if track:
            for j in range(k):
                delta = max(delta, abs(p[j] - prev[i, j]))
            if labels[i] != prev_labels[i]:
                changed += 1
        if stats:
            for j in range(k):
                mass[j] += p[j]
            if unit:
                for n in range(indptr[i], indptr[i + 1]):
                    row = counts[indices[n]]
                    for j in range(k):
                        row[j] += p[j]
            else:
                for n in range(indptr[i], indptr[i + 1]):
                    row = counts[indices[n]]
                    w = data[n]
                    for j in range(k):
                        row[j] += w * p[j]
    out[0] = delta
    out[1] += changed


@jit()
def _scatter8(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    unit: bool,
    i0: int,
    i1: int,
    work: np.ndarray,
    post: np.ndarray,
    labels: np.ndarray,
    norm_out: np.ndarray,
    prev: np.ndarray,
    prev_labels: np.ndarray,
    track: bool,
    stats: bool,
    counts: np.ndarray,
    mass: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """:func:`_scatter_k` for 3 to 8 classes with a count buffer of 8 columns (a row is one 64-byte cache
    line): the item's probabilities in eight scalars (zero past ``K``), the largest change as a tree of
    maxima, and ``K`` additions per annotation (the tests of ``K`` are the same for every annotation, so
    they cost next to nothing; adding the padding columns as well costs more)."""
    k = post.shape[1]
    delta = out[0]
    changed = 0
    m0, m1, m2, m3, m4, m5, m6, m7 = mass[0], mass[1], mass[2], mass[3], mass[4], mass[5], mass[6], mass[7]
    for i in range(i0, i1):
        e0 = work[i - i0, 0]
        e1 = work[i - i0, 1]
        e2 = work[i - i0, 2]
        e3 = work[i - i0, 3] if k > 3 else 0.0
        e4 = work[i - i0, 4] if k > 4 else 0.0
        e5 = work[i - i0, 5] if k > 5 else 0.0
        e6 = work[i - i0, 6] if k > 6 else 0.0
        e7 = work[i - i0, 7] if k > 7 else 0.0
        total = ((((((e0 + e1) + e2) + e3) + e4) + e5) + e6) + e7
        p0 = e0 / total
        p1 = e1 / total
        p2 = e2 / total
        p3 = e3 / total
        p4 = e4 / total
        p5 = e5 / total
        p6 = e6 / total
        p7 = e7 / total
        post[i, 0] = p0
        post[i, 1] = p1
        post[i, 2] = p2
        if k > 3:
            post[i, 3] = p3
        if k > 4:
            post[i, 4] = p4
        if k > 5:
            post[i, 5] = p5
        if k > 6:
            post[i, 6] = p6
        if k > 7:
            post[i, 7] = p7
        norm_out[i - i0] = total
        if track:
            d0 = abs(p0 - prev[i, 0])
            d1 = abs(p1 - prev[i, 1])
            d2 = abs(p2 - prev[i, 2])
            d3 = abs(p3 - prev[i, 3]) if k > 3 else 0.0
            d4 = abs(p4 - prev[i, 4]) if k > 4 else 0.0
            d5 = abs(p5 - prev[i, 5]) if k > 5 else 0.0
            d6 = abs(p6 - prev[i, 6]) if k > 6 else 0.0
            d7 = abs(p7 - prev[i, 7]) if k > 7 else 0.0
            delta = max(delta, max(max(max(d0, d1), max(d2, d3)), max(max(d4, d5), max(d6, d7))))
            if labels[i] != prev_labels[i]:
                changed += 1
        if stats:
            m0 += p0
            m1 += p1
            m2 += p2
            m3 += p3
            m4 += p4
            m5 += p5
            m6 += p6
            m7 += p7
            if unit:
                for n in range(indptr[i], indptr[i + 1]):
                    c = indices[n]
                    counts[c, 0] += p0
                    counts[c, 1] += p1
                    counts[c, 2] += p2
                    if k > 3:
                        counts[c, 3] += p3
                    if k > 4:
                        counts[c, 4] += p4
                    if k > 5:
                        counts[c, 5] += p5
                    if k > 6:
                        counts[c, 6] += p6
                    if k > 7:
                        counts[c, 7] += p7
            else:
                for n in range(indptr[i], indptr[i + 1]):
                    c = indices[n]
                    w = data[n]
                    counts[c, 0] += w * p0
                    counts[c, 1] += w * p1
                    counts[c, 2] += w * p2
                    if k > 3:
                        counts[c, 3] += w * p3
                    if k > 4:
                        counts[c, 4] += w * p4
                    if k > 5:
                        counts[c, 5] += w * p5
                    if k > 6:
                        counts[c, 6] += w * p6
                    if k > 7:
                        counts[c, 7] += w * p7
    mass[0] = m0
    mass[1] = m1
    mass[2] = m2
    mass[3] = m3
    mass[4] = m4
    mass[5] = m5
    mass[6] = m6
    mass[7] = m7
    out[0] = delta
    out[1] += changed


@jit()
def _counts2(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    unit: bool,
    post: np.ndarray,
    i0: int,
    i1: int,
    c1: np.ndarray,
    mass: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Statistics of a given two-class posterior, items ``i0 .. i1 - 1``: ``c1[c_n] += w_n post[i, 1]``
    and the class mass."""
    m0 = 0.0
    m1 = 0.0
    for i in range(i0, i1):
        p1 = post[i, 1]
        m0 += post[i, 0]
        m1 += p1
        if unit:
            for n in range(indptr[i], indptr[i + 1]):
                c1[indices[n]] += p1
        else:
            for n in range(indptr[i], indptr[i + 1]):
                c1[indices[n]] += data[n] * p1
    mass[0] += m0
    mass[1] += m1


@jit()
def _counts_k(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    unit: bool,
    post: np.ndarray,
    i0: int,
    i1: int,
    counts: np.ndarray,
    mass: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Statistics of a given posterior, items ``i0 .. i1 - 1``: ``counts[c_n, k] += w_n post[i, k]`` and
    the class mass."""
    k = post.shape[1]
    p = np.empty(k)
    for i in range(i0, i1):
        for j in range(k):
            p[j] = post[i, j]
            mass[j] += p[j]
        if unit:
            for n in range(indptr[i], indptr[i + 1]):
                row = counts[indices[n]]
                for j in range(k):
                    row[j] += p[j]
        else:
            for n in range(indptr[i], indptr[i + 1]):
                row = counts[indices[n]]
                w = data[n]
                for j in range(k):
                    row[j] += w * p[j]


@jit()
def _counts8(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    unit: bool,
    post: np.ndarray,
    i0: int,
    i1: int,
    counts: np.ndarray,
    mass: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """:func:`_counts_k` for 3 to 8 classes with a count buffer (and class mass) of 8 columns."""
    k = post.shape[1]
    m0, m1, m2, m3, m4, m5, m6, m7 = mass[0], mass[1], mass[2], mass[3], mass[4], mass[5], mass[6], mass[7]
    for i in range(i0, i1):
        p0 = post[i, 0]
        p1 = post[i, 1]
        p2 = post[i, 2]
        p3 = post[i, 3] if k > 3 else 0.0
        p4 = post[i, 4] if k > 4 else 0.0
        p5 = post[i, 5] if k > 5 else 0.0
        p6 = post[i, 6] if k > 6 else 0.0
        p7 = post[i, 7] if k > 7 else 0.0
        m0 += p0
        m1 += p1
        m2 += p2
        m3 += p3
        m4 += p4
        m5 += p5
        m6 += p6
        m7 += p7
        if unit:
            for n in range(indptr[i], indptr[i + 1]):
                c = indices[n]
                counts[c, 0] += p0
                counts[c, 1] += p1
                counts[c, 2] += p2
                if k > 3:
                    counts[c, 3] += p3
                if k > 4:
                    counts[c, 4] += p4
                if k > 5:
                    counts[c, 5] += p5
                if k > 6:
                    counts[c, 6] += p6
                if k > 7:
                    counts[c, 7] += p7
        else:
            for n in range(indptr[i], indptr[i + 1]):
                c = indices[n]
                w = data[n]
                counts[c, 0] += w * p0
                counts[c, 1] += w * p1
                counts[c, 2] += w * p2
                if k > 3:
                    counts[c, 3] += w * p3
                if k > 4:
                    counts[c, 4] += w * p4
                if k > 5:
                    counts[c, 5] += w * p5
                if k > 6:
                    counts[c, 6] += w * p6
                if k > 7:
                    counts[c, 7] += w * p7
    mass[0] = m0
    mass[1] = m1
    mass[2] = m2
    mass[3] = m3
    mass[4] = m4
    mass[5] = m5
    mass[6] = m6
    mass[7] = m7


def n_blocks_for(nnz: int, buffer_bytes: int) -> int:
    """The fixed number of item blocks for ``nnz`` annotations and one block's count buffer size."""
    by_size = max(1, -(-nnz // BLOCK_ANNOTATIONS))
    by_memory = max(1, BLOCK_BYTES // max(buffer_bytes, 1))
    return int(min(by_size, MAX_BLOCKS, by_memory))


def _chunks(indptr: np.ndarray, i0: int, i1: int) -> list[tuple[int, int]]:
    """Cut items ``i0 .. i1 - 1`` into runs of about :data:`CHUNK_ANNOTATIONS` annotations."""
    nnz = int(indptr[i1] - indptr[i0])
    n = max(1, -(-nnz // CHUNK_ANNOTATIONS))
    return [(i0 + a, i0 + b) for a, b in block_bounds(indptr[i0 : i1 + 1] - indptr[i0], n) if b > a]


class FusedDS:
    """The compiled E-step / statistics of one design matrix, with buffers that live as long as the fit.

    Parameters
    ----------
    indptr, indices, data : ndarray
        The CSR arrays of the ``items x (annotators * K)`` design matrix (sorted, no duplicates).
    n_annotators, n_classes : int
    column_mass : ndarray
        ``N[(a, l)]``, the weighted annotations per matrix column (two classes: ``C0 = N - C1``).
    threads : int, optional
        Threads of the block pass (default :func:`~accord._kernel.compiled.n_threads`); the results do not
        depend on it.

    Each block of items is worked through in chunks of about :data:`CHUNK_ANNOTATIONS` annotations that stay
    in the core's cache between the compiled gather (log-scores, argmax), NumPy's vectorised ``exp`` /
    ``log`` (the ones the NumPy path calls) and the compiled scatter (normalisation, changes, counts). The
    posterior comes back in one of two column-major buffers, used in turn (as the NumPy kernel's), so the
    posterior entering an iteration stays intact while the next one is written.
    """

    def __init__(
        self,
        indptr: np.ndarray,
        indices: np.ndarray,
        data: np.ndarray,
        n_annotators: int,
        n_classes: int,
        column_mass: np.ndarray,
        threads: int | None = None,
    ) -> None:
        self.indptr, self.indices, self.data = indptr, indices, np.asarray(data, dtype=np.float64)
        self.unit = bool(len(self.data) == 0 or (self.data == 1.0).all())
        n, k = len(indptr) - 1, n_classes
        self.n_items, self.n_classes, self.n_annotators = n, k, n_annotators
        self.column_mass = column_mass
        self.threads = threads
        # columns of the count buffer: with two classes C1 only; with 3 to 8 a padded 64-byte row
        self.wide = 2 < k <= 8
        width = 1 if k == 2 else 8 if self.wide else k
        self.n_blocks = n_blocks_for(int(indptr[-1]), n_annotators * k * width * 8)
        self.chunks = [_chunks(indptr, a, b) for a, b in block_bounds(indptr, self.n_blocks)]
        longest = max((b - a for run in self.chunks for a, b in run), default=0)
        self._scratch = np.empty((self.n_blocks, 3, longest))  # per block: d / m, u0, norm
        # 3 to 8 classes: per block, a chunk's shifted log-scores item by item (in cache from the gather
        # through the exp to the scatter, which writes the column-major posterior)
        self._work = np.empty((self.n_blocks, longest if self.wide else 0, k))
        self._posts = (np.empty((n, k), order="F"), np.empty((n, k), order="F"))
        self._turn = 0
        self.log_z = np.empty(n)
        self.labels = np.empty(n, dtype=np.intp)
        self._blocks = np.zeros((self.n_blocks, n_annotators * k, width))
        self._mass = np.zeros((self.n_blocks, 8 if self.wide else k))
        # the log table padded with zero columns up to 8 and the log prior with -inf, for _gather8
        self._table = np.zeros((n_annotators * k, 8)) if self.wide else None
        self._prior = np.full(8, -np.inf)
        self._out = np.zeros((self.n_blocks, 2))
        self._none = np.zeros((1, k), order="F")
        self._none_labels = np.zeros(1, dtype=np.intp)

    def _next_post(self) -> np.ndarray:
        self._turn ^= 1
        return self._posts[self._turn]

    def run(
        self,
        log_prior: np.ndarray,
        table: np.ndarray,
        prev: np.ndarray | None = None,
        prev_labels: np.ndarray | None = None,
        stats: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, float, int]:
        """One fused pass from the log table ``T`` (``(annotators * K) x K``) and the log prior.

        Returns ``(post, log_z, labels, counts, class_mass, delta, n_changed)``: the buffers of the
        posterior, log evidence and argmax; ``counts[a, k, l]`` and the class mass of the new posterior
        (None without ``stats``); the largest change of a probability against ``prev`` and the number of
        labels different from ``prev_labels`` (0 and 0 without them).
        """
        k = self.n_classes
        if self._table is not None:
            self._table[:, :k] = table
            self._prior[:k] = log_prior
            table, log_prior = self._table, self._prior
        else:
            table = np.ascontiguousarray(table, dtype=np.float64)
            log_prior = np.ascontiguousarray(log_prior, dtype=np.float64)
        track = prev is not None and prev_labels is not None
        old = np.asfortranarray(prev, dtype=np.float64) if track else self._none
        old_labels = np.asarray(prev_labels, dtype=np.intp) if track else self._none_labels
        post = self._next_post()
        self._blocks.fill(0.0)
        self._mass.fill(0.0)
        self._out.fill(0.0)
        block = self._block2 if self.n_classes == 2 else self._block_k
        run_blocks(lambda b: block(b, log_prior, table, post, old, old_labels, track, stats), self.n_blocks,
                   self.threads)  # fmt: skip
        delta = float(self._out[:, 0].max()) if track else 0.0
        if track and np.isnan(self.log_z).any():
            # the passes' running max drops a NaN change; a NaN posterior has a NaN log evidence: report NaN,
            # as the NumPy path's max_abs_change does
            delta = float("nan")
        changed = int(self._out[:, 1].sum()) if track else 0
        if not stats:
            return post, self.log_z, self.labels, None, None, delta, changed
        counts, class_mass = self._reduce()
        return post, self.log_z, self.labels, counts, class_mass, delta, changed

    def _block2(
        self,
        b: int,
        log_prior: np.ndarray,
        table: np.ndarray,
        post: np.ndarray,
        old: np.ndarray,
        old_labels: np.ndarray,
        track: bool,
        stats: bool,
    ) -> None:
        """Block ``b`` with two classes: the logistic form of the NumPy kernel, chunk by chunk."""
        gather, scatter = _gather2.dispatcher(), _scatter2.dispatcher()
        ip, ix, dx, unit = self.indptr, self.indices, self.data, self.unit
        lp0, dprior = float(log_prior[0]), float(log_prior[1] - log_prior[0])
        counts, mass, out = self._blocks[b], self._mass[b], self._out[b]
        for i0, i1 in self.chunks[b]:
            e, base, _ = (row[: i1 - i0] for row in self._scratch[b])
            lz = self.log_z[i0:i1]
            gather(ip, ix, dx, unit, table, lp0, dprior, i0, i1, self.labels, e, base)
            np.exp(e, out=e)  # NumPy's vectorised exp and log1p (one of each per item)
            np.log1p(e, out=lz)
            scatter(ip, ix, dx, unit, i0, i1, e, base, post, self.labels, self.log_z, old, old_labels, track,
                    stats, counts[:, 0], mass, out)  # fmt: skip

    def _block_k(
        self,
        b: int,
        log_prior: np.ndarray,
        table: np.ndarray,
        post: np.ndarray,
        old: np.ndarray,
        old_labels: np.ndarray,
        track: bool,
        stats: bool,
    ) -> None:
        """Block ``b`` with three or more classes: log-sum-exp as the NumPy kernel's, chunk by chunk."""
        gather = (_gather8 if self.n_classes <= 8 else _gather_k).dispatcher()
        scatter = (_scatter8 if self.wide else _scatter_k).dispatcher()
        ip, ix, dx, unit = self.indptr, self.indices, self.data, self.unit
        counts, mass, out = self._blocks[b], self._mass[b], self._out[b]
        for i0, i1 in self.chunks[b]:
            m, _, norm = (row[: i1 - i0] for row in self._scratch[b])
            if self.wide:  # the shifted log-scores in the block's item-major scratch, one exp call
                work = self._work[b, : i1 - i0]
                gather(ip, ix, dx, unit, table, log_prior, i0, i1, work, self.labels, m)
                np.exp(work, out=work)
                scatter(ip, ix, dx, unit, i0, i1, work, post, self.labels, norm, old, old_labels, track,
                        stats, counts, mass, out)  # fmt: skip
            else:
                gather(ip, ix, dx, unit, table, log_prior, i0, i1, post, self.labels, m)
                for j in range(self.n_classes):
                    np.exp(post[i0:i1, j], out=post[i0:i1, j])
                scatter(ip, ix, dx, unit, i0, i1, post, self.labels, norm, old, old_labels, track, stats,
                        counts, mass, out)  # fmt: skip
            lz = self.log_z[i0:i1]
            np.log(norm, out=lz)
            np.add(lz, m, out=lz)

    def statistics(self, post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``counts[a, k, l]`` and the class mass of a given posterior (items x K)."""
        x = np.asfortranarray(post, dtype=np.float64)
        self._blocks.fill(0.0)
        self._mass.fill(0.0)
        two = self.n_classes == 2
        fn = (_counts2 if two else _counts8 if self.wide else _counts_k).dispatcher()
        blocks, mass = self._blocks, self._mass

        def kernel(b: int) -> None:
            counts = blocks[b, :, 0] if two else blocks[b]
            for i0, i1 in self.chunks[b]:
                fn(self.indptr, self.indices, self.data, self.unit, x, i0, i1, counts, mass[b])

        run_blocks(kernel, self.n_blocks, self.threads)
        return self._reduce()

    def _reduce(self) -> tuple[np.ndarray, np.ndarray]:
        """Add the blocks' buffers in block order; the counts in the ``(a, k, l)`` layout."""
        a, k = self.n_annotators, self.n_classes
        flat = self._blocks[0, :, :k].copy()
        mass = self._mass[0, :k].copy()
        for b in range(1, self.n_blocks):
            flat += self._blocks[b, :, :k]
            mass += self._mass[b, :k]
        if k == 2:
            c1 = flat[:, 0].reshape(a, k)
            counts = np.empty((a, k, k))
            counts[:, 1, :] = c1
            np.subtract(self.column_mass.reshape(a, k), c1, out=counts[:, 0, :])
            return counts, mass
        return flat.reshape(a, k, k).transpose(0, 2, 1), mass
