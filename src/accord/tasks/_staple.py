"""Array math of pixel-wise consensus: the vote layout, vote patterns, and STAPLE's EM steps.

Layout. The masks of all items are flattened and concatenated into ``votes``, shape
``(n_pixels, n_slots)``: row ``i`` is a pixel, column ``s`` the ``s``-th mask of the pixel's item (``n_slots``
= most masks on one item), and the value is the label given, or ``K`` (the number of classes) where the item
has fewer masks. ``group[t, s]`` names the performance parameters that mask ``s`` of item ``t`` uses: its
annotator (parameters shared over the dataset) or the mask itself (one set per item and annotator, the
original per-image STAPLE).

Patterns. Two pixels of the same item with the same votes have the same posterior whenever the prior is
constant over the item, so EM runs on the distinct rows of ``(item, votes)`` weighted by how many pixels share
them. On a typical image most pixels are unanimous and a 512 x 512 x 10 stack shrinks to a few thousand rows;
the EM is exact, just not repeated for identical pixels. With a per-pixel prior every pixel is its own
pattern.

Keys. ``keys[u, s] = group * (K + 1) + label`` indexes a flat table of ``(group, label given)`` rows, so

- E-step: ``log W[u, :] = log prior[u, :] + sum_s log_theta_flat[keys[u, s], :]``, one gather per slot, where
  ``log_theta_flat[g * (K + 1) + l, k] = log theta_g[k, l]`` and the row of the missing label is zero;
- M-step: ``counts[g * (K + 1) + l, k] = sum_{u, s: keys[u, s] = g * (K + 1) + l} n_u W[u, k]``, one weighted
  bincount per slot and class, then ``theta_g[k, l] = (counts + alpha) / sum_l (counts + alpha)``.

Both cost ``O(n_patterns * n_slots * K)`` per iteration with no Python loop over pixels or masks.

>>> import numpy as np
>>> stack = np.array([[[0, 1], [1, 1]], [[0, 1], [0, 1]]], dtype=np.uint8)  # 2 masks of one 2 x 2 image
>>> layout = build_layout((stack,), (np.array([0, 1]),), n_classes=2)
>>> patterns = build_patterns(layout)
>>> patterns.votes.tolist(), patterns.weight.tolist(), patterns.inverse.tolist()
([[0, 0], [1, 0], [1, 1]], [1.0, 1.0, 2.0], [0, 2, 1, 2])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "EMResult",
    "Layout",
    "Patterns",
    "build_layout",
    "build_patterns",
    "e_step",
    "m_step",
    "run_em",
    "vote_counts",
]

TINY = 1e-300


@dataclass(frozen=True)
class Layout:
    """All masks as one ``(n_pixels, n_slots)`` vote matrix (see the module docstring)."""

    votes: np.ndarray  # (N, S) label given, K = no mask in this slot
    pixel_item: np.ndarray  # (N,) item code of each pixel
    slot_annotator: np.ndarray  # (n_items, S) annotator code, -1 for an empty slot
    offsets: np.ndarray  # (n_items + 1,) first pixel of each item
    n_classes: int

    @property
    def n_slots(self) -> int:
        return int(self.votes.shape[1])


def build_layout(stacks: tuple[np.ndarray, ...], raters: tuple[np.ndarray, ...], n_classes: int) -> Layout:
    """Concatenate per-item stacks ``(n_raters, h, w)`` into the vote matrix."""
    sizes = np.array([s.shape[1] * s.shape[2] for s in stacks], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    n_slots = max(s.shape[0] for s in stacks)
    dtype = np.uint8 if n_classes < 255 else np.uint16
    votes = np.full((int(offsets[-1]), n_slots), n_classes, dtype=dtype, order="F")  # columns contiguous
    slot_annotator = np.full((len(stacks), n_slots), -1, dtype=np.int64)
    for t, (stack, codes) in enumerate(zip(stacks, raters, strict=True)):
        votes[offsets[t] : offsets[t + 1], : stack.shape[0]] = stack.reshape(stack.shape[0], -1).T
        slot_annotator[t, : len(codes)] = codes
    pixel_item = np.repeat(np.arange(len(stacks), dtype=np.int64), sizes)
    return Layout(votes, pixel_item, slot_annotator, offsets, n_classes)


@dataclass(frozen=True)
class Patterns:
    """Distinct ``(item, votes)`` rows ``u``: ``votes[u]``, ``item[u]``, ``weight[u]`` pixels; ``inverse``."""

    votes: np.ndarray  # (U, S)
    item: np.ndarray  # (U,)
    weight: np.ndarray  # (U,) float
    inverse: np.ndarray  # (N,) pattern of each pixel


def build_patterns(layout: Layout, compress: bool = True) -> Patterns:
    """Group identical pixels; ``compress=False`` keeps one pattern per pixel (for a per-pixel prior)."""
    votes, item = layout.votes, layout.pixel_item
    n = votes.shape[0]
    if not compress:
        return Patterns(votes, item, np.ones(n), np.arange(n, dtype=np.int64))
    coded = _row_codes(votes, item, layout.n_classes)
    if coded is None:
        rows = np.column_stack([item, votes.astype(np.int64)])
        _, first, inverse, counts = np.unique(
            rows, axis=0, return_index=True, return_inverse=True, return_counts=True
        )
    elif coded[1] <= 2 * n + 1_000_000:
        first, inverse, counts = _unique_dense(*coded)
    else:
        _, first, inverse, counts = np.unique(
            coded[0], return_index=True, return_inverse=True, return_counts=True
        )
    return Patterns(
        votes[first], item[first], counts.astype(np.float64), inverse.reshape(-1).astype(np.int64)
    )


def _row_codes(votes: np.ndarray, item: np.ndarray, n_classes: int) -> tuple[np.ndarray, int] | None:
    """One int64 per row, ``item * B**S + sum_s votes[:, s] * B**s`` with ``B = K + 1``, and the number of
    possible codes; None when they would overflow."""
    base, n_slots = n_classes + 1, votes.shape[1]
    n_items = int(item.max()) + 1 if item.size else 1
    if n_slots * np.log2(base) + np.log2(n_items) >= 62:
        return None
    code = item.astype(np.int64)
    for s in range(n_slots - 1, -1, -1):  # Horner's rule, in place
        code *= base
        code += votes[:, s]
    return code, n_items * base**n_slots


def _unique_dense(code: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(code, return_index, return_inverse, return_counts)`` by counting instead of sorting, for
    codes below ``space``; the index is one row of each code (not necessarily the first)."""
    counts = np.bincount(code, minlength=space)
    present = np.flatnonzero(counts)
    rank = np.zeros(space, dtype=np.int64)
    rank[present] = np.arange(len(present))
    inverse = rank[code]
    first = np.empty(len(present), dtype=np.int64)
    first[inverse] = np.arange(len(code))
    return first, inverse, counts[present]


def pattern_keys(patterns: Patterns, slot_group: np.ndarray, n_classes: int) -> np.ndarray:
    """``keys[u, s] = group(item[u], s) * (K + 1) + votes[u, s]`` (int64)."""
    groups = slot_group[patterns.item]
    return groups * (n_classes + 1) + patterns.votes.astype(np.int64)


def vote_counts(votes: np.ndarray, n_classes: int) -> np.ndarray:
    """``counts[u, k]`` = number of masks that give label ``k`` to row ``u`` (missing slots ignored)."""
    counts = np.zeros((votes.shape[0], n_classes + 1))
    rows = np.arange(votes.shape[0])
    for s in range(votes.shape[1]):
        counts[rows, votes[:, s]] += 1.0
    return counts[:, :n_classes]


def log_theta_table(theta: np.ndarray) -> np.ndarray:
    """Flat ``(G * (K + 1), K)`` table of ``log theta_g[k, l]`` (row ``g * (K + 1) + l``); missing rows 0."""
    n_groups, k, _ = theta.shape
    table = np.zeros((n_groups, k + 1, k))
    table[:, :k, :] = np.log(np.maximum(theta, TINY)).transpose(0, 2, 1)
    return table.reshape(n_groups * (k + 1), k)


def e_step(keys: np.ndarray, log_theta: np.ndarray, log_prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior ``W`` (rows sum to 1) and each row's log evidence ``log sum_k prior_k prod_s theta``."""
    log_w = log_prior.copy()
    for s in range(keys.shape[1]):
        log_w += log_theta[keys[:, s]]
    top = log_w.max(axis=1, keepdims=True)
    w = np.exp(log_w - top)
    total = w.sum(axis=1, keepdims=True)
    w /= total
    return w, (np.log(total) + top)[:, 0]


def m_step(keys: np.ndarray, w: np.ndarray, weight: np.ndarray, n_groups: int, alpha: float) -> np.ndarray:
    """``theta[g, k, l]`` = smoothed share of the rows of true class ``k`` that group ``g`` labels ``l``."""
    return smooth(expected_counts(keys, w, weight, n_groups), alpha)


def expected_counts(keys: np.ndarray, w: np.ndarray, weight: np.ndarray, n_groups: int) -> np.ndarray:
    """``counts[g, k, l] = sum over (row, slot) with key (g, l) of weight * W[row, k]``."""
    k = w.shape[1]
    size = n_groups * (k + 1)
    flat = np.zeros((size, k))
    weighted = w * weight[:, None]
    for s in range(keys.shape[1]):
        for c in range(k):
            flat[:, c] += np.bincount(keys[:, s], weights=weighted[:, c], minlength=size)
    return flat.reshape(n_groups, k + 1, k)[:, :k, :].transpose(0, 2, 1)


def smooth(counts: np.ndarray, alpha: float) -> np.ndarray:
    """Rows of ``counts + alpha`` normalised; a row with no mass at all becomes uniform."""
    padded = counts + alpha
    total = padded.sum(axis=2, keepdims=True)
    k = counts.shape[2]
    return np.divide(padded, total, out=np.full_like(padded, 1.0 / k), where=total > 0)


def item_log_prior(w: np.ndarray, weight: np.ndarray, item: np.ndarray, n_items: int) -> np.ndarray:
    """``log f[item[u], k]``, ``f[t, k]`` = mean posterior of class ``k`` over the pixels of item ``t``."""
    k = w.shape[1]
    mass = np.stack(
        [np.bincount(item, weights=weight * w[:, c], minlength=n_items) for c in range(k)], axis=1
    )
    f = mass / np.maximum(mass.sum(axis=1, keepdims=True), TINY)
    return np.log(np.maximum(f, TINY))[item]


@dataclass(frozen=True)
class EMResult:
    """Final posterior per row, parameters per group, and the run's bookkeeping."""

    w: np.ndarray
    theta: np.ndarray
    log_prior: np.ndarray
    n_iter: int
    converged: bool
    history: list[dict[str, float]]


def run_em(
    keys: np.ndarray,
    weight: np.ndarray,
    item: np.ndarray,
    log_prior: np.ndarray | None,
    w0: np.ndarray,
    theta0: np.ndarray,
    *,
    alpha: float,
    max_iter: int,
    tol: float,
) -> EMResult:
    """STAPLE's EM from ``theta0``: E-step, then M-step, until ``max |W_new - W| < tol`` or ``max_iter``.

    ``log_prior=None`` re-estimates the prior of every item from the posterior after each M-step (starting
    from ``w0``); otherwise the prior is held fixed. ``w0`` is the starting posterior the first change is
    measured against.
    """
    n_items = int(item.max()) + 1 if item.size else 1
    fit_prior = log_prior is None
    prior = item_log_prior(w0, weight, item, n_items) if log_prior is None else log_prior
    w, theta, history = w0, theta0, []
    n_groups = theta0.shape[0]
    for iteration in range(1, max_iter + 1):
        w_new, log_evidence = e_step(keys, log_theta_table(theta), prior)
        delta = float(np.abs(w_new - w).max()) if w.size else 0.0
        changed = float(weight[w_new.argmax(axis=1) != w.argmax(axis=1)].sum())
        w = w_new
        theta = m_step(keys, w, weight, n_groups, alpha)
        if fit_prior:
            prior = item_log_prior(w, weight, item, n_items)
        history.append(
            {
                "iteration": iteration,
                "log_likelihood": float(weight @ log_evidence),
                "max_delta": delta,
                "n_changed": int(round(changed)),
            }
        )
        if delta < tol:
            return EMResult(w, theta, prior, iteration, True, history)
    return EMResult(w, theta, prior, max_iter, False, history)
