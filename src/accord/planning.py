"""Planning an annotation campaign: how many annotations per item, how many hours, and when to stop early.

Notes
-----
All formulas are from appendix B of Schmarje et al., "Annotating Ambiguous Images".

**Confidence of a soft-label entry** (B.3, eq. 1). For one class ``k`` of one item, each of ``A`` annotations
says ``k`` or not; with the true share ``p_k`` the Wald 95% interval is ``p_k +- Z * sqrt(p_k (1 - p_k) / A)``
with ``Z = 1.96``. Its width ``W`` gives the annotations needed (eq. 2):

``A = 4 Z^2 p_k (1 - p_k) / W^2``,

largest at ``p = 0.5``: ``W ~ 0.62`` for ``A = 10`` and ``W ~ 0.28`` for ``A = 50``. The Wald interval is poor
for small ``A`` and ``p`` near 0 or 1; for a unanimous item the paper quotes the rule ``((0.25)^(1/A), 1)``
from Lyman (1993): lower ends 0.63, 0.87 and 0.97 for ``A = 3, 10, 50``. :func:`proportion_interval` also
offers the Wilson interval, which behaves well at the edges [ours].

**Workload** (B.2). With ``N`` items, a share ``p_c`` of items reaching consensus early, ``A_cons``
annotations for those and ``A^cons`` for the others, and ``a/h`` annotations per hour:

``A_N = N (p_c A_cons + (1 - p_c) A^cons) / (a/h)`` hours,

times the number of conditions (e.g. 2 when every item is annotated with and without proposals), shared among
the annotators.

**Adaptive stopping** (A.4). Annotate each item ``A_cons`` times; stop if those annotations agree, else
continue to ``A^cons``. :func:`simulate_adaptive` replays this on real data by drawing each item's annotations
in a random order.

References
----------
L. Schmarje et al. Annotating Ambiguous Images: General Annotation Strategy for High-Quality Data with
Real-World Biomedical Validation. TMLR 2024. R. L. Ott (Lyman). An Introduction to Statistical Methods and
Data Analysis, 1993.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._utils import check_random_state
from .annotations import Annotations
from .errors import InvalidParameterError

__all__ = [
    "Z95",
    "AdaptiveSample",
    "Workload",
    "adaptive_sample",
    "annotations_for_width",
    "interval_width",
    "proportion_interval",
    "simulate_adaptive",
    "unanimous_lower_bound",
    "workload",
]

Z95 = 1.96


# -------------------------------------------------------------------------------------------------- intervals
def _check_fraction(name: str, value: float, *, open_low: bool = False, open_high: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number in [0, 1], got {value!r}") from None
    low_ok = v > 0 if open_low else v >= 0
    high_ok = v < 1 if open_high else v <= 1
    if not (np.isfinite(v) and low_ok and high_ok):
        lo, hi = "(" if open_low else "[", ")" if open_high else "]"
        raise InvalidParameterError(f"{name} must be in {lo}0, 1{hi}, got {value!r}")
    return v


def proportion_interval(successes: Any, n: Any, *, method: str = "wilson",
                        z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided interval for a share ``successes / n`` (elementwise; ``n = 0`` gives ``(0, 1)``).

    ``method="wald"``: ``p +- z sqrt(p (1 - p) / n)`` (eq. 1 of the paper), clipped to [0, 1].
    ``method="wilson"``: ``(p + z^2/2n +- z sqrt(p (1 - p)/n + z^2/4n^2)) / (1 + z^2/n)``.
    """
    s = np.asarray(successes, dtype=np.float64)
    n_arr = np.asarray(n, dtype=np.float64)
    if (n_arr < 0).any() or (s < 0).any() or (s > n_arr + 1e-9).any():
        raise InvalidParameterError("need 0 <= successes <= n")
    safe = np.where(n_arr > 0, n_arr, 1.0)
    p = np.where(n_arr > 0, s / safe, 0.5)
    if method == "wald":
        half = z * np.sqrt(p * (1 - p) / safe)
        low, high = p - half, p + half
    elif method == "wilson":
        denom = 1 + z * z / safe
        centre = (p + z * z / (2 * safe)) / denom
        half = z * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe)) / denom
        low, high = centre - half, centre + half
    else:
        raise InvalidParameterError(f"method must be 'wilson' or 'wald', got {method!r}")
    low = np.where(n_arr > 0, np.clip(low, 0, 1), 0.0)
    high = np.where(n_arr > 0, np.clip(high, 0, 1), 1.0)
    return low, high


def interval_width(n_annotations: int, p: float = 0.5, *, z: float = Z95) -> float:
    """Width ``W = 2 z sqrt(p (1 - p) / A)`` of the Wald interval after ``A`` annotations (0.62 at A = 10)."""
    if not isinstance(n_annotations, (int, np.integer)) or n_annotations < 1:
        raise InvalidParameterError(f"the number of annotations must be an integer >= 1, "
                                    f"got {n_annotations!r}")
    p = _check_fraction("p", p)
    return float(2 * z * math.sqrt(p * (1 - p) / n_annotations))


def annotations_for_width(width: float, p: float = 0.5, *, z: float = Z95) -> int:
    """Annotations per item so that the Wald 95% interval of a share ``p`` is at most ``width`` wide (eq. 2).

    ``A = ceil(4 z^2 p (1 - p) / W^2)``, at least 1. Use ``p = 0.5`` for the worst case.

    Examples
    --------
    >>> annotations_for_width(0.62, 0.5)
    10
    """
    try:
        w = float(width)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"width must be a number > 0, got {width!r}") from None
    if not (np.isfinite(w) and w > 0):
        raise InvalidParameterError(f"width must be a number > 0 (e.g. 0.62), got {width!r}")
    p = _check_fraction("p", p)
    exact = 4 * z * z * p * (1 - p) / (w * w)
    return max(1, math.ceil(exact - 1e-9))


def unanimous_lower_bound(n_annotations: int, *, base: float = 0.25) -> float:
    """Lower end ``base^(1/A)`` of the 95% interval the paper quotes for a unanimous item (0.87 for A = 10).

    The paper (after Lyman 1993) uses ``base = 0.25``; an exact one-sided Clopper-Pearson bound would use
    ``base = 0.05``.
    """
    if not isinstance(n_annotations, (int, np.integer)) or n_annotations < 1:
        raise InvalidParameterError(f"the number of annotations must be an integer >= 1, "
                                    f"got {n_annotations!r}")
    base = _check_fraction("base", base, open_low=True, open_high=True)
    return float(base ** (1.0 / n_annotations))


# --------------------------------------------------------------------------------------------------- workload
@dataclass(frozen=True)
class Workload:
    """Expected annotations and hours of a campaign (appendix B.2)."""

    n_items: int
    annotations: float
    hours: float
    hours_per_annotator: float
    annotations_per_item: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def workload(n_items: int, *, p_consensus: float, a_cons: int = 10, a_total: int = 50,
             per_hour: float = 2500.0, n_annotators: int = 1, n_conditions: int = 1) -> Workload:
    """Expected workload ``N (p_c A_cons + (1 - p_c) A^cons) * conditions`` annotations, and its hours.

    Parameters
    ----------
    n_items : int
        ``N``, the items to annotate.
    p_consensus : float
        ``p_c``, the share of items that reach consensus after ``a_cons`` annotations.
    a_cons, a_total : int
        ``A_cons`` and ``A^cons`` (10 and 50 in the paper).
    per_hour : float
        Annotations one annotator makes per hour (``a/h``).
    n_annotators : int
        Annotators sharing the work.
    n_conditions : int
        How many times every item is annotated under different conditions (2: with and without proposals).

    Examples
    --------
    >>> w = workload(3761, p_consensus=0.5, per_hour=2500, n_annotators=5, n_conditions=2)
    >>> round(w.annotations), round(w.hours_per_annotator, 1)
    (225660, 18.1)
    """
    for name, value in (("n_items", n_items), ("a_cons", a_cons), ("a_total", a_total),
                        ("n_annotators", n_annotators), ("n_conditions", n_conditions)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidParameterError(f"{name} must be an integer >= 1, got {value!r}")
    if a_cons > a_total:
        raise InvalidParameterError(f"a_cons ({a_cons}) cannot exceed a_total ({a_total})")
    p_c = _check_fraction("p_consensus", p_consensus)
    if not (isinstance(per_hour, (int, float)) and np.isfinite(per_hour) and per_hour > 0):
        raise InvalidParameterError(f"per_hour must be a number > 0, got {per_hour!r}")
    per_item = (p_c * a_cons + (1 - p_c) * a_total) * n_conditions
    total = n_items * per_item
    hours = total / per_hour
    return Workload(int(n_items), float(total), float(hours), float(hours / n_annotators), float(per_item))


# ------------------------------------------------------------------------------------------ adaptive stopping
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


def adaptive_sample(annotations: Annotations, *, a_cons: int, a_total: int | None = None,
                    agreement: float = 1.0, random_state: int | np.random.Generator | None = None
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
    agreement = _check_fraction("agreement", agreement, open_low=True)
    rank = _within_item_rank(annotations, check_random_state(random_state))
    first = annotations.take(rank < a_cons).vote_counts()
    n_first = first.sum(axis=1)
    stopped = first.max(axis=1) >= agreement * n_first - 1e-9
    limit_total = np.iinfo(np.int64).max if a_total is None else a_total
    limit = np.where(stopped, a_cons, limit_total)
    keep = rank < limit[annotations.item]
    fixed = rank < limit_total
    return AdaptiveSample(annotations.take(keep), annotations.take(fixed), stopped)


def simulate_adaptive(annotations: Annotations, *, a_cons: int, a_total: int | None = None,
                      agreement: float = 1.0, gold: pd.Series | None = None, n_repeats: int = 1,
                      random_state: int | np.random.Generator | None = None) -> pd.DataFrame:
    """Adaptive stopping against always collecting ``a_total``: annotations saved, accuracy and KL lost.

    For each repeat (a new random order), reports the annotations collected adaptively and with the fixed
    rule, the share saved, the share of items stopped early, the mean KL divergence of each rule's soft labels
    to the soft labels from *all* annotations, and, when ``gold`` is given, the majority-vote accuracy of each
    rule.

    Returns
    -------
    DataFrame, one row per repeat.
    """
    from .evaluate import accuracy
    from .soft import mean_kl_divergence, soft_labels

    if not isinstance(n_repeats, (int, np.integer)) or n_repeats < 1:
        raise InvalidParameterError(f"n_repeats must be an integer >= 1, got {n_repeats!r}")
    rng = check_random_state(random_state)
    reference = soft_labels(annotations)
    rows = []
    for repeat in range(n_repeats):
        sample = adaptive_sample(annotations, a_cons=a_cons, a_total=a_total, agreement=agreement,
                                 random_state=rng)
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
