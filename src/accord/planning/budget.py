"""Planning an annotation campaign: how many annotations per item and how many hours.

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

References
----------
L. Schmarje et al. Annotating Ambiguous Images: General Annotation Strategy for High-Quality Data with
Real-World Biomedical Validation. TMLR 2024, appendix B. https://openreview.net/forum?id=gii9qgtvsL
(arXiv:2306.12189)

R. L. Ott. An Introduction to Statistical Methods and Data Analysis, 4th ed. Duxbury, 1993.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .._kernel.intervals import Z95, check_fraction, proportion_interval
from ..errors import InvalidParameterError

__all__ = [
    "Z95",
    "Workload",
    "annotations_for_width",
    "interval_width",
    "proportion_interval",
    "unanimous_lower_bound",
    "workload",
]


# -------------------------------------------------------------------------------------------------- intervals
def interval_width(n_annotations: int, p: float = 0.5, *, z: float = Z95) -> float:
    """Width ``W = 2 z sqrt(p (1 - p) / A)`` of the Wald interval after ``A`` annotations (0.62 at A = 10)."""
    if not isinstance(n_annotations, (int, np.integer)) or n_annotations < 1:
        raise InvalidParameterError(
            f"the number of annotations must be an integer >= 1, got {n_annotations!r}"
        )
    p = check_fraction("p", p)
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
    p = check_fraction("p", p)
    exact = 4 * z * z * p * (1 - p) / (w * w)
    return max(1, math.ceil(exact - 1e-9))


def unanimous_lower_bound(n_annotations: int, *, base: float = 0.25) -> float:
    """Lower end ``base^(1/A)`` of the 95% interval the paper quotes for a unanimous item (0.87 for A = 10).

    The paper (after Lyman 1993) uses ``base = 0.25``; an exact one-sided Clopper-Pearson bound would use
    ``base = 0.05``.
    """
    if not isinstance(n_annotations, (int, np.integer)) or n_annotations < 1:
        raise InvalidParameterError(
            f"the number of annotations must be an integer >= 1, got {n_annotations!r}"
        )
    base = check_fraction("base", base, open_low=True, open_high=True)
    return float(base ** (1.0 / n_annotations))


# --------------------------------------------------------------------------------------------------- workload
@dataclass(frozen=True)
class Workload:
    """Expected annotations and hours of a campaign (Schmarje et al. 2024, appendix B.2)."""

    n_items: int
    annotations: float
    hours: float
    hours_per_annotator: float
    annotations_per_item: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def workload(
    n_items: int,
    *,
    p_consensus: float,
    a_cons: int = 10,
    a_total: int = 50,
    per_hour: float = 2500.0,
    n_annotators: int = 1,
    n_conditions: int = 1,
) -> Workload:
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
    for name, value in (
        ("n_items", n_items),
        ("a_cons", a_cons),
        ("a_total", a_total),
        ("n_annotators", n_annotators),
        ("n_conditions", n_conditions),
    ):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidParameterError(f"{name} must be an integer >= 1, got {value!r}")
    if a_cons > a_total:
        raise InvalidParameterError(f"a_cons ({a_cons}) cannot exceed a_total ({a_total})")
    p_c = check_fraction("p_consensus", p_consensus)
    if not (isinstance(per_hour, (int, float)) and np.isfinite(per_hour) and per_hour > 0):
        raise InvalidParameterError(f"per_hour must be a number > 0, got {per_hour!r}")
    per_item = (p_c * a_cons + (1 - p_c) * a_total) * n_conditions
    total = n_items * per_item
    hours = total / per_hour
    return Workload(int(n_items), float(total), float(hours), float(hours / n_annotators), float(per_item))
