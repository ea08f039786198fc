r"""Annotating with or without proposals: the speed-up ``S`` and the decision it supports.

A *proposal* is a class suggested to the annotator (by a model) while they annotate. Proposals make annotation
faster but pull the annotations toward the proposed class. The annotation strategy of Schmarje et al. (2024)
decides in two steps:

1. Is a proposal bias acceptable? Then annotate with proposals.
2. Otherwise the speed-up ``S`` decides: with proposals only if ``S`` exceeds a threshold (about 3), because
   undoing the bias needs more annotations, and only a large speed-up pays for them.

Notes
-----
The speed-up is the ratio of the time one annotation takes without proposals to the time it takes with them,
or equivalently the ratio of the annotation rates:

.. math:: S = \frac{t_\text{without}}{t_\text{with}} = \frac{r_\text{with}}{r_\text{without}}

Measured in annotations without proposals, ``n`` annotations with proposals cost ``n / S``: at ``S = 3`` five
annotations with proposals cost about as much as 1.7 without, so they are cheaper than three without.

References
----------
L. Schmarje, V. Grossmann, C. Zelenka, J. Brünger, R. Koch. Annotating Ambiguous Images: General Annotation
Strategy for High-Quality Data with Real-World Biomedical Validation. TMLR, 2024.
https://openreview.net/forum?id=gii9qgtvsL (arXiv:2306.12189).

>>> speedup(time_without=6.0, time_with=1.5)
4.0
>>> proposal_decision(4.0).use_proposals, proposal_decision(1.2).use_proposals
(True, False)
>>> proposal_decision(1.2, bias_acceptable=True).use_proposals
True
>>> cost_with_proposals(5, speedup=3.0)
1.6666666666666667
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._hints import option
from ..errors import InvalidParameterError

__all__ = ["DEFAULT_THRESHOLD", "ProposalDecision", "cost_with_proposals", "proposal_decision", "speedup"]

DEFAULT_THRESHOLD = 3.0


def _positive(name: str, value: float | None) -> float | None:
    name = option(name, "--" + name.replace("_", "-"))
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number > 0, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise InvalidParameterError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def speedup(
    *,
    time_without: float | None = None,
    time_with: float | None = None,
    rate_without: float | None = None,
    rate_with: float | None = None,
) -> float:
    """The speed-up ``S`` of annotating with proposals: ``time_without / time_with`` (seconds per annotation,
    or any time unit), or ``rate_with / rate_without`` (annotations per hour). Give one pair."""
    times = (_positive("time_without", time_without), _positive("time_with", time_with))
    rates = (_positive("rate_without", rate_without), _positive("rate_with", rate_with))
    have_times, have_rates = all(t is not None for t in times), all(r is not None for r in rates)
    if (
        have_times == have_rates
        or any(t is not None for t in times) != have_times
        or (any(r is not None for r in rates) != have_rates)
    ):
        raise InvalidParameterError(
            "give either time_without and time_with (time per annotation) or rate_without and rate_with "
            "(annotations per hour)"
        )
    if have_times:
        return float(times[0] / times[1])  # type: ignore[operator]
    return float(rates[1] / rates[0])  # type: ignore[operator]


def cost_with_proposals(n_annotations: float, speedup: float) -> float:
    """The cost of ``n_annotations`` annotations with proposals, in annotations without: ``n / S``."""
    n = _positive("n_annotations", n_annotations)
    s = _positive("speedup", speedup)
    return float(n / s)  # type: ignore[operator]


@dataclass(frozen=True)
class ProposalDecision:
    """Whether to annotate with proposals, and why."""

    use_proposals: bool
    speedup: float | None
    threshold: float
    bias_acceptable: bool
    reason: str


def proposal_decision(
    speedup: float | None = None, *, bias_acceptable: bool = False, threshold: float = DEFAULT_THRESHOLD
) -> ProposalDecision:
    """The strategy's decision: proposals if their bias is acceptable, else only if ``speedup > threshold``.

    Parameters
    ----------
    speedup : float, optional
        ``S`` (see :func:`speedup`); needed only when the bias is not acceptable.
    bias_acceptable : bool, default False
        Whether annotations pulled toward the proposed class are acceptable (e.g. they are reviewed anyway).
    threshold : float, default 3.0
        The speed-up above which the extra annotations needed to undo the bias are worth it.
    """
    t = _positive("threshold", threshold)
    assert t is not None
    s = _positive("speedup", speedup)
    if bias_acceptable:
        why = "a proposal bias is acceptable, so annotate with proposals"
        if s is not None:
            why += f" (they make annotation {s:.3g}x faster)"
        return ProposalDecision(True, s, t, True, why)
    if s is None:
        raise InvalidParameterError(
            "without an acceptable bias the speed-up decides: give speedup (S = time without / time with)"
        )
    if s > t:
        why = (
            f"S = {s:.3g} > {t:g}: annotate with proposals and undo their bias afterwards (more annotations "
            "cost less than the time saved)"
        )
        return ProposalDecision(True, s, t, False, why)
    why = (
        f"S = {s:.3g} <= {t:g}: annotate without proposals (undoing their bias would cost more than it saves)"
    )
    return ProposalDecision(False, s, t, False, why)
