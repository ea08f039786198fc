"""Adaptive stopping: annotate each item a few times, and continue only where the annotators disagree.

Notes
-----
**Adaptive stopping** (A.4). Annotate each item ``A_cons`` times; stop if those annotations agree, else
continue to ``A^cons``. :func:`simulate_adaptive` replays this on real data by drawing each item's annotations
in a random order.

References
----------
L. Schmarje et al. Annotating Ambiguous Images: General Annotation Strategy for High-Quality Data with
Real-World Biomedical Validation. TMLR 2024, appendix A.4. https://openreview.net/forum?id=gii9qgtvsL
(arXiv:2306.12189)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._kernel.intervals import check_fraction
from .._utils import check_random_state
from ..ambiguity.soft import mean_kl_divergence, soft_labels
from ..annotations import Annotations
from ..errors import InvalidParameterError
from ..evaluation.metrics import accuracy

__all__ = ["AdaptiveSample", "adaptive_sample", "simulate_adaptive"]


@dataclass(frozen=True)
class AdaptiveSample:
    """The annotations an adaptive campaign would have collected.

    Attributes
    ----------
    annotations : Annotations
        The collected subset (same item, annotator and class indexes as the input).
    fixed : Annotations
        What always collecting ``a_total`` per item would have given (the same random order, so
        ``annotations`` is a subset of it).
    stopped_early : ndarray of bool, shape (n_items,)
        Items whose first ``a_cons`` annotations agreed.
    """

    annotations: Annotations
    fixed: Annotations
    stopped_early: np.ndarray


def _within_item_rank(ann: Annotations, rng: np.random.Generator) -> np.ndarray:
    """A random rank 0, 1, ... of every annotation among its item's annotations."""
    order = rng.permutation(ann.n_annotations)
    order = order[np.argsort(ann.item[order], kind="stable")]
    sizes = ann.item_sizes()
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.empty(ann.n_annotations, dtype=np.int64)
    rank[order] = np.arange(ann.n_annotations) - starts[ann.item[order]]
    return rank


def adaptive_sample(
    annotations: Annotations,
    *,
    a_cons: int,
    a_total: int | None = None,
    agreement: float = 1.0,
    random_state: int | np.random.Generator | None = None,
) -> AdaptiveSample:
    """Replay the stopping rule: keep ``a_cons`` annotations of an item if they agree, else ``a_total``.

    The item's annotations are taken in a random order. "Agree" means the most common label holds at least
    ``agreement`` of the first ``a_cons`` (1.0 = unanimous; the paper's ``p_c`` uses 0.95 of all annotations).
    ``a_total=None`` means every annotation the item has. Items with fewer annotations keep them all.
    """
    if not isinstance(a_cons, (int, np.integer)) or a_cons < 1:
        raise InvalidParameterError(f"a_cons must be an integer >= 1, got {a_cons!r}")
    if a_total is not None and (not isinstance(a_total, (int, np.integer)) or a_total < a_cons):
        raise InvalidParameterError(f"a_total must be an integer >= a_cons ({a_cons}), got {a_total!r}")
    agreement = check_fraction("agreement", agreement, open_low=True)
    rank = _within_item_rank(annotations, check_random_state(random_state))
    first = annotations.take(rank < a_cons).vote_counts()
    n_first = first.sum(axis=1)
    stopped = first.max(axis=1) >= agreement * n_first - 1e-9
    limit_total = np.iinfo(np.int64).max if a_total is None else a_total
    limit = np.where(stopped, a_cons, limit_total)
    keep = rank < limit[annotations.item]
    fixed = rank < limit_total
    return AdaptiveSample(annotations.take(keep), annotations.take(fixed), stopped)


def simulate_adaptive(
    annotations: Annotations,
    *,
    a_cons: int,
    a_total: int | None = None,
    agreement: float = 1.0,
    gold: pd.Series | None = None,
    n_repeats: int = 1,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Adaptive stopping against always collecting ``a_total``: annotations saved, accuracy and KL lost.

    For each repeat (a new random order), reports the annotations collected adaptively and with the fixed
    rule, the share saved, the share of items stopped early, the mean KL divergence of each rule's soft labels
    to the soft labels from *all* annotations, and, when ``gold`` is given, the majority-vote accuracy of each
    rule.

    Returns
    -------
    DataFrame, one row per repeat.
    """
    if not isinstance(n_repeats, (int, np.integer)) or n_repeats < 1:
        raise InvalidParameterError(f"n_repeats must be an integer >= 1, got {n_repeats!r}")
    rng = check_random_state(random_state)
    reference = soft_labels(annotations)
    rows = []
    for repeat in range(n_repeats):
        sample = adaptive_sample(
            annotations, a_cons=a_cons, a_total=a_total, agreement=agreement, random_state=rng
        )
        adaptive, fixed = soft_labels(sample.annotations), soft_labels(sample.fixed)
        row: dict[str, Any] = {
            "repeat": repeat,
            "annotations_adaptive": sample.annotations.n_annotations,
            "annotations_fixed": sample.fixed.n_annotations,
            "saved_share": 1 - sample.annotations.n_annotations / sample.fixed.n_annotations,
            "stopped_share": float(sample.stopped_early.mean()),
            "kl_adaptive": mean_kl_divergence(reference, adaptive),
            "kl_fixed": mean_kl_divergence(reference, fixed),
        }
        if gold is not None:
            row["accuracy_adaptive"] = accuracy(adaptive.labels, gold)
            row["accuracy_fixed"] = accuracy(fixed.labels, gold)
        rows.append(row)
    return pd.DataFrame(rows)
