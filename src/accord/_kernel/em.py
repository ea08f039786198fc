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

from ..errors import InvalidParameterError
from .softmax import column_sums, log_normalize, log_normalize_argmax
from .votes import break_ties, vote_shares

if TYPE_CHECKING:
    from ..annotations import Annotations

LOG_EPS = 1e-12

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
        cols = annotations.annotator.astype(np.int64) * k + annotations.label
        data = (
            np.ones(annotations.n_annotations) if weights is None else np.asarray(weights, dtype=np.float64)
        )
        shape = (self.n_items, self.n_annotators * k)
        self.M = sp.csr_matrix((data, (annotations.item, cols)), shape=shape)
        self.M.sum_duplicates()

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
) -> np.ndarray:
    """Starting posterior: one-hot majority vote (ties by ``tie_break``; it breaks the label-switching
    symmetry, as in Dawid and Skene 1979) or vote shares."""
    counts = annotations.vote_counts()
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
