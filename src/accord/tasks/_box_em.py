"""EM over box clusters: is each cluster a true object, of which class, and how good is each annotator.

Each cluster ``c`` (a group of matched boxes on one item) has a latent state ``t_c`` in ``{0, 1..K}``: ``0``
= no object (the boxes in it are false positives), ``k`` = a true object of class ``k``. Every annotator who
annotated the item gives one response about the cluster: ``0`` = no box in it (a miss, or a correct
rejection), ``1 + l`` = a box labelled ``l``. With ``theta[a, t, r] = P(response r | state t)`` this is the
Dawid-Skene model on the states ``{none} + classes``:

.. math::

    P(\\text{responses of } c \\mid t_c = t) = \\prod_a \\theta_{a, t, r_{a,c}}, \\qquad
    \\theta_{a, k, 0} = 1 - \\text{recall}_a, \\quad
    \\theta_{a, k, 1 + l} = \\text{recall}_a \\, \\pi_a(l \\mid k), \\quad
    \\theta_{a, 0, 1 + l} = \\text{false-positive emission}_a(l).

E-step: ``log post[c, t] = log prior[t] + sum_rows log theta[a, t, r]`` (one sparse product over the response
rows); M-step: ``theta[a, t, r] ∝ alpha + diag_alpha [r = t] + sum of post[c, t] over the rows (c, a, r)``.
Localisation is fitted afterwards on the clusters weighted by their probability of being an object
(:func:`fit_localisation`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import logsumexp

from ..errors import ConvergenceWarning
from ._box_geometry import from_corners

__all__ = ["EMFit", "Responses", "build_responses", "fit_em", "fit_localisation", "fuse"]


@dataclass(frozen=True)
class Responses:
    """One row per (cluster, annotator who annotated the cluster's item); ``response``: 0 = no box, else
    1 + label."""

    cluster: np.ndarray
    annotator: np.ndarray
    response: np.ndarray
    n_clusters: int
    n_annotators: int
    n_states: int


@dataclass(frozen=True)
class EMFit:
    posterior: np.ndarray  # (n_clusters, K + 1); column 0 = no object
    theta: np.ndarray  # (n_annotators, K + 1, K + 1)
    prior: np.ndarray  # (K + 1,)
    n_iter: int
    converged: bool
    history: pd.DataFrame


def build_responses(
    cluster: np.ndarray,
    annotator: np.ndarray,
    label: np.ndarray,
    cluster_item: np.ndarray,
    seen_item: np.ndarray,
    seen_annotator: np.ndarray,
    n_annotators: int,
    n_classes: int,
) -> Responses:
    """The box rows (response ``1 + label``) plus a ``0`` row for every annotator who annotated a cluster's
    item without a box in that cluster. ``(seen_item, seen_annotator)`` must include every box's pair."""
    order = np.argsort(seen_item, kind="stable")
    s_item, s_ann = seen_item[order], seen_annotator[order]
    start = np.searchsorted(s_item, cluster_item, side="left")
    counts = np.searchsorted(s_item, cluster_item, side="right") - start
    rep_cluster = np.repeat(np.arange(len(cluster_item)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    rep_ann = s_ann[np.repeat(start, counts) + offsets]
    miss = ~np.isin(rep_cluster * n_annotators + rep_ann, cluster * n_annotators + annotator)
    return Responses(
        cluster=np.concatenate([cluster, rep_cluster[miss]]).astype(np.int64),
        annotator=np.concatenate([annotator, rep_ann[miss]]).astype(np.int64),
        response=np.concatenate([label + 1, np.zeros(int(miss.sum()), dtype=np.int64)]).astype(np.int64),
        n_clusters=len(cluster_item),
        n_annotators=n_annotators,
        n_states=n_classes + 1,
    )


def initial_posterior(rows: Responses) -> np.ndarray:
    """Soft vote: the share of a cluster's responses that are "no box" (state 0) or each label."""
    t = rows.n_states
    votes = np.bincount(rows.cluster * t + rows.response, minlength=rows.n_clusters * t)
    votes = votes.reshape(rows.n_clusters, t).astype(np.float64)
    return votes / votes.sum(axis=1, keepdims=True)


def m_step(
    rows: Responses, posterior: np.ndarray, alpha: float, diag_alpha: float, prior_alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """``theta[a, t, r] ∝ alpha + diag_alpha [r = t] + sum_rows post[c, t]``;
    ``prior[t] ∝ prior_alpha + sum_c post[c, t]``."""
    t = rows.n_states
    states = np.arange(t)
    index = (rows.annotator[:, None] * t + states[None, :]) * t + rows.response[:, None]
    counts = np.bincount(
        index.ravel(), weights=posterior[rows.cluster].ravel(), minlength=rows.n_annotators * t * t
    )
    theta = counts.reshape(rows.n_annotators, t, t) + alpha + diag_alpha * np.eye(t)[None, :, :]
    theta /= theta.sum(axis=2, keepdims=True)
    prior = posterior.sum(axis=0) + prior_alpha
    return theta, prior / prior.sum()


def e_step(
    rows: Responses, incidence: sp.csr_matrix, theta: np.ndarray, prior: np.ndarray
) -> tuple[np.ndarray, float]:
    """Posterior over states per cluster and the log-likelihood of all responses."""
    log_theta = np.log(theta)[rows.annotator, :, rows.response]  # (n_rows, K + 1)
    log_post = np.log(prior)[None, :] + incidence @ log_theta
    norm = logsumexp(log_post, axis=1, keepdims=True)
    return np.exp(log_post - norm), float(norm.sum())


def fit_em(
    rows: Responses,
    *,
    alpha: float = 0.5,
    diag_alpha: float = 1.0,
    prior_alpha: float = 1.0,
    max_iter: int = 500,
    tol: float = 1e-5,
) -> EMFit:
    """EM from the soft vote until the largest change of a posterior is below ``tol``.

    ``diag_alpha`` pseudo-counts on the diagonal (no object -> no box, class k -> label k) say that
    annotators are better than chance and keep the two kinds of state from collapsing into one."""
    n_rows = len(rows.cluster)
    incidence = sp.csr_matrix(
        (np.ones(n_rows), (rows.cluster, np.arange(n_rows))), shape=(rows.n_clusters, n_rows)
    )
    posterior = initial_posterior(rows)
    records, converged, n_iter = [], False, 0
    for n_iter in range(1, max_iter + 1):
        theta, prior = m_step(rows, posterior, alpha, diag_alpha, prior_alpha)
        new, loglik = e_step(rows, incidence, theta, prior)
        delta = float(np.abs(new - posterior).max()) if posterior.size else 0.0
        posterior = new
        records.append({"iteration": n_iter, "log_likelihood": loglik, "max_delta": delta})
        if delta < tol:
            converged = True
            break
    if not converged:
        warnings.warn(
            f"box EM stopped at max_iter={max_iter} before the posteriors settled (last change {delta:.2g}); "
            "raise max_iter",
            ConvergenceWarning,
            stacklevel=3,
        )
    theta, prior = m_step(rows, posterior, alpha, diag_alpha, prior_alpha)
    return EMFit(posterior, theta, prior, n_iter, converged, pd.DataFrame.from_records(records))


def fuse(cluster: np.ndarray, corners: np.ndarray, weight: np.ndarray, n_clusters: int) -> np.ndarray:
    """Weighted mean of each cluster's corners, returned as ``(x, y, width, height)``."""
    total = np.bincount(cluster, weights=weight, minlength=n_clusters)
    sums = np.stack(
        [np.bincount(cluster, weights=weight * corners[:, k], minlength=n_clusters) for k in range(4)], axis=1
    )
    return from_corners(sums / total[:, None])


def _leave_one_out_residuals(
    cluster: np.ndarray, corners: np.ndarray, weight: np.ndarray, n_clusters: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean squared corner offset of each box from its cluster's fused box without it, in units of that box's
    width and height; and whether the box has a partner to compare with."""
    total = np.bincount(cluster, weights=weight, minlength=n_clusters)
    sums = np.stack(
        [np.bincount(cluster, weights=weight * corners[:, k], minlength=n_clusters) for k in range(4)], axis=1
    )
    rest = total[cluster] - weight
    valid = rest > 1e-12 * total[cluster]
    others = (sums[cluster] - weight[:, None] * corners) / np.where(valid, rest, 1.0)[:, None]
    scale = np.abs(np.stack([others[:, 2] - others[:, 0], others[:, 3] - others[:, 1]], axis=1))
    scale = np.maximum(np.tile(scale, 2), 1e-12)
    offsets = (corners - others) / scale[:, [0, 1, 0, 1]]
    return np.where(valid, np.mean(offsets**2, axis=1), 0.0), valid


def fit_localisation(
    cluster: np.ndarray,
    annotator: np.ndarray,
    corners: np.ndarray,
    object_proba: np.ndarray,
    quality: np.ndarray,
    n_annotators: int,
    *,
    n_iter: int = 10,
    prior_weight: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-annotator localisation variance and the fusion weight of every box.

    ``sigma2[a]`` is the mean squared corner offset of ``a``'s boxes from the fused box of the other members
    of their cluster (relative to the box size), weighted by the cluster's probability of being an object and
    shrunk towards the pooled value by ``prior_weight`` pseudo-boxes. A box's fusion weight is
    ``quality[a] / sigma2[a]``. Both are iterated ``n_iter`` times, since the fused boxes depend on them.
    """
    n_clusters = len(object_proba)
    sigma2 = np.ones(n_annotators)
    for _ in range(n_iter):
        weight = quality[annotator] / sigma2[annotator]
        sq, valid = _leave_one_out_residuals(cluster, corners, weight, n_clusters)
        w = object_proba[cluster] * valid
        pooled = float((w * sq).sum() / w.sum()) if w.sum() > 0 else 1.0
        pooled = max(pooled, 1e-8)
        num = np.bincount(annotator, weights=w * sq, minlength=n_annotators) + prior_weight * pooled
        den = np.bincount(annotator, weights=w, minlength=n_annotators) + prior_weight
        sigma2 = np.maximum(num / den, 1e-10)
    return sigma2, quality[annotator] / sigma2[annotator]
