r"""Proposal-bias correction: undo the pull of a model proposal on annotators' choices.

When an annotator is shown a proposed class (a network's prediction), they pick it more often than they would
have otherwise (the default effect). CleverLabel (Schmarje et al. 2023) simulates that acceptance and inverts
it. The annotations say which proposal was shown in two optional per-annotation columns
(``Annotations.extra``): ``proposal`` (the class proposed; missing = no proposal) and, optionally,
``proposal_shown`` (a boolean).

Model
-----
Item ``i`` has an unbiased class distribution ``P_i`` (what annotators would answer without a proposal). An
annotation made without a proposal is a draw from ``P_i``. An annotation made with proposal ``rho`` accepts
the proposal outright with probability ``delta`` (the dataset *offset*), and otherwise is a draw from ``P_i``:

.. math::  P_{obs}(l \mid \rho) = \delta \, 1[l = \rho] + (1 - \delta) \, P_i(l)

``delta = 0``: proposals have no influence; ``delta = 1``: they are always accepted. Schmarje et al. (2024)
measured ``delta ~ 0.11`` on their vertebra data (0.10 to 0.58 on other datasets). This acceptance model
stands in for CleverLabel's simulation; it is exactly what the authors' code (``Emprime/dcic``,
``bias_correction``) inverts.

Estimating delta
----------------
For an annotation ``n`` made with proposal ``rho_n`` on an item that also has annotations without a proposal,
``E[1[l_n = rho_n]] = delta + (1 - delta) P_i(rho_n)``. With ``Phat_i`` the vote fractions of the item's
annotations without proposal (independent of ``l_n``), ``r_n = 1[l_n = rho_n] - Phat_i(rho_n)`` and
``d_n = 1 - Phat_i(rho_n)`` satisfy ``E[r_n] = delta E[d_n]``, so the pooled moment estimator

.. math::  \hat\delta = \sum_n r_n \Big/ \sum_n d_n, \qquad
           \mathrm{se}(\hat\delta) = \sqrt{\textstyle\sum_n (r_n - \hat\delta d_n)^2} \Big/ \sum_n d_n

is consistent; it is the per-item ratio ``(P_with(rho) - P_without(rho)) / (1 - P_without(rho))``,
averaged with weights ``n_with_i (1 - P_without_i(rho))`` so that items where it is unstable
(``P_without(rho)`` near 1) count little. ``by="annotator"`` gives one estimate per annotator.

Correcting
----------
Given ``delta``, the corrected ``P_i`` maximises the likelihood of all the item's annotations. With counts
``a_k`` without proposal, ``b_k`` with proposal ``rho``, ``R = sum_{k != rho} (a_k + b_k)``, ``N = sum_k (a_k
+ b_k)``, the share ``x = P_i(rho)`` maximises ``a_rho log x + b_rho log(delta + (1 - delta) x) + R log(1 -
x)``: the non-negative root of

.. math::  (1 - \delta) N x^2 - [a_\rho (1 - 2\delta) + b_\rho (1 - \delta) - R \delta] x - a_\rho \delta = 0

and ``P_i(k) = (1 - x) (a_k + b_k) / R`` for ``k != rho``. Without annotations free of proposals (``a = 0``)
this is ``x = max(0, (b_rho / N - delta) / (1 - delta))``, the authors' inversion (their code divides by
``0.99 - delta``; see :func:`cleverlabel_correction`). Items shown several different proposals are solved by
EM: an annotation agreeing with its proposal was accepted with responsibility ``delta / (delta + (1 - delta)
P_i(rho_n))``, and ``P_i`` is the vote of the rest, weighted by one minus that.

Pitfalls: with few annotations, ``P_obs(rho) < delta`` sets ``P(rho)`` to 0 (blending afterwards restores some
mass; CleverLabel = this correction followed by :func:`accord.ambiguity.blending.blend`). The model assumes
acceptance does not depend on the item; estimate ``delta`` per annotator when they differ.

References
----------
L. Schmarje, V. Grossmann, T. Michels, J. Nazarenus, M. Santarossa, C. Zelenka, R. Koch. Label Smarter, Not
Harder: CleverLabel for Faster Annotation of Ambiguous Image Classification with Higher Quality.
arXiv:2305.12811, 2023. https://arxiv.org/abs/2305.12811

L. Schmarje, V. Grossmann, C. Zelenka, J. Brünger, R. Koch. Annotating Ambiguous Images: General Annotation
Strategy for High-Quality Data with Real-World Biomedical Validation. TMLR 2024, Figure 4 and
appendix D.1.
https://openreview.net/forum?id=gii9qgtvsL (arXiv:2306.12189)
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._utils import check_random_state
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import DataQualityWarning, InvalidAnnotationsError, InvalidParameterError
from ._inputs import check_rows, check_smoothing
from .blending import blend, estimate_transition

__all__ = [
    "PROPOSAL",
    "SHOWN",
    "OffsetEstimate",
    "cleverlabel",
    "cleverlabel_correction",
    "correct_bias",
    "estimate_offset",
    "proposal_codes",
    "simulate_proposal_annotations",
]

PROPOSAL = "proposal"
SHOWN = "proposal_shown"
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


# ------------------------------------------------------------------------------------------ reading proposals
def proposal_codes(
    annotations: Annotations, *, proposal: str = PROPOSAL, shown: str | None = None
) -> np.ndarray:
    """Class code of the proposal shown with each annotation, ``-1`` where none was shown.

    ``proposal`` names the extra column with the proposed class (missing = no proposal); ``shown`` optionally
    names a boolean column (true/false, 1/0, yes/no); by default ``"proposal_shown"`` is used when present.
    Build the annotations with ``Annotations.from_frame(df, extra=["proposal", "proposal_shown"])``.
    """
    extra = annotations.extra
    if extra is None or proposal not in extra.columns:
        have = [] if extra is None else list(extra.columns)
        raise InvalidAnnotationsError(
            f"the annotations have no {proposal!r} column (extra columns: {have}). Build them with "
            f"Annotations.from_frame(df, extra=[{proposal!r}, ...]) or pass proposal='your column'"
        )
    values = extra[proposal]
    missing = values.isna().to_numpy() | values.astype(str).str.strip().eq("").to_numpy()
    flags = _shown_flags(extra, shown, ~missing)
    codes = np.full(annotations.n_annotations, -1, dtype=np.int64)
    use = flags & ~missing
    if (flags & missing).any():
        rows = np.flatnonzero(flags & missing)[:5].tolist()
        raise InvalidAnnotationsError(
            f"a proposal was shown but the {proposal!r} column is empty on "
            f"annotation row(s) {rows}; fill in the class that was proposed"
        )
    if use.any():
        codes[use] = annotations.encode_labels(values.to_numpy()[use])
    return codes


def _shown_flags(extra: pd.DataFrame, shown: str | None, default: np.ndarray) -> np.ndarray:
    name = shown if shown is not None else (SHOWN if SHOWN in extra.columns else None)
    if name is None:
        return default
    if name not in extra.columns:
        raise InvalidAnnotationsError(
            f"the annotations have no {name!r} column (extra columns: {list(extra.columns)})"
        )
    col = extra[name]
    if col.dtype == bool:
        return col.to_numpy()
    text = col.astype(str).str.strip().str.lower().replace({"nan": "", "none": ""})
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        raise InvalidAnnotationsError(
            f"column {name!r} must be true/false (or 1/0, yes/no); got {text[bad].unique()[:5].tolist()}"
        )
    return text.isin(_TRUE).to_numpy()


# ------------------------------------------------------------------------------------------- the offset delta
@dataclass(frozen=True)
class OffsetEstimate:
    """Estimated dataset offset ``delta``: the estimate (clipped to [0, 1)), its standard error, and how many
    annotations with a proposal and items with both kinds of annotation it rests on."""

    delta: float
    se: float
    n_annotations: int
    n_items: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _offset_terms(annotations: Annotations, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(r_n, d_n, mask)`` for the annotations with a proposal on items that have annotations without one."""
    plain = annotations.take(rho < 0)
    counts = plain.vote_counts()
    n0 = counts.sum(axis=1)
    mask = (rho >= 0) & (n0[annotations.item] > 0)
    items = annotations.item[mask]
    p_hat = counts[items, rho[mask]] / n0[items]
    agree = (annotations.label[mask] == rho[mask]).astype(np.float64)
    return agree - p_hat, 1.0 - p_hat, mask


def estimate_offset(
    annotations: Annotations, *, proposal: str = PROPOSAL, shown: str | None = None, by: str | None = None
) -> OffsetEstimate | pd.DataFrame:
    """Estimate the offset ``delta`` from items annotated both with and without proposals (module notes).

    Parameters
    ----------
    annotations : Annotations with a proposal column
    proposal, shown : str
        Column names, see :func:`proposal_codes`.
    by : {None, "annotator"}
        ``"annotator"`` returns a DataFrame with ``delta``, ``se`` and ``n_annotations`` per annotator (NaN
        where an annotator has no usable annotation with a proposal).
    """
    rho = proposal_codes(annotations, proposal=proposal, shown=shown)
    r, d, mask = _offset_terms(annotations, rho)
    if not mask.any():
        with_p = int(np.unique(annotations.item[rho >= 0]).size)
        without = int(np.unique(annotations.item[rho < 0]).size)
        raise InvalidAnnotationsError(
            f"estimating delta needs items annotated both with and without a proposal; {with_p} item(s) have "
            f"annotations with a proposal and {without} without, but none has both. Annotate some items both "
            "ways (Schmarje et al. 2024 used 20), or pass a known delta"
        )
    if by == "annotator":
        return _offset_by_annotator(annotations, r, d, mask)
    if by is not None:
        raise InvalidParameterError(f"by must be None or 'annotator', got {by!r}")
    return _offset_estimate(r, d, int(mask.sum()), int(np.unique(annotations.item[mask]).size))


def _offset_estimate(r: np.ndarray, d: np.ndarray, n: int, n_items: int) -> OffsetEstimate:
    den = d.sum()
    if den <= 0:
        raise InvalidAnnotationsError(
            "delta cannot be estimated: on every item with both kinds of "
            "annotation, all annotators without a proposal chose the proposal"
        )
    raw = r.sum() / den
    se = float(np.sqrt(np.sum((r - raw * d) ** 2)) / den)
    if raw < 0 or raw >= 1:
        warnings.warn(
            f"the raw offset estimate {raw:.3f} is outside [0, 1) (annotators chose the proposal "
            f"{'less' if raw < 0 else 'more'} often than the model allows); it is clipped",
            DataQualityWarning,
            stacklevel=3,
        )
    return OffsetEstimate(float(np.clip(raw, 0.0, 1.0 - 1e-9)), se, n, n_items)


def _offset_by_annotator(
    annotations: Annotations, r: np.ndarray, d: np.ndarray, mask: np.ndarray
) -> pd.DataFrame:
    who = annotations.annotator[mask]
    a = annotations.n_annotators
    sr, sd = np.bincount(who, r, a), np.bincount(who, d, a)
    n = np.bincount(who, minlength=a)
    delta = np.divide(sr, sd, out=np.full(a, np.nan), where=sd > 0)
    resid = r - np.nan_to_num(delta)[who] * d
    se = np.divide(np.sqrt(np.bincount(who, resid**2, a)), sd, out=np.full(a, np.nan), where=sd > 0)
    return pd.DataFrame({"delta": delta, "se": se, "n_annotations": n}, index=annotations.annotators)


# ------------------------------------------------------------------------------------------------- correction
def correct_bias(
    annotations: Annotations,
    delta: float | OffsetEstimate | None = None,
    *,
    proposal: str = PROPOSAL,
    shown: str | None = None,
    smoothing: float = 0.0,
    max_iter: int = 1000,
    tol: float = 1e-10,
) -> Consensus:
    """Per-item distributions with the proposal bias removed (maximum likelihood under the module's model).

    Parameters
    ----------
    annotations : Annotations with a proposal column
    delta : float in [0, 1), OffsetEstimate or None
        The offset; ``None`` estimates it with :func:`estimate_offset`.
    proposal, shown : str
        Column names, see :func:`proposal_codes`.
    smoothing : float >= 0, default 0
        ``beta`` pseudo-annotations per class added to the annotations without proposal (the maximum a
        posteriori estimate under a Dirichlet(1 + beta) prior). It keeps a class that the inversion would set
        to 0 slightly alive, which matters for KL divergence; compare with ``soft_labels(...,
        smoothing=beta)``.
    max_iter, tol : EM settings for items shown several different proposals.

    Returns
    -------
    Consensus with method ``"bias_corrected"``; ``params["delta"]`` holds the offset used and ``item_quality``
    gains ``proposal`` (the class proposed most often, None if none) and ``n_with_proposal``.
    """
    rho = proposal_codes(annotations, proposal=proposal, shown=shown)
    if delta is None:
        delta = estimate_offset(annotations, proposal=proposal, shown=shown)
    d = float(delta.delta if isinstance(delta, OffsetEstimate) else delta)
    if not (np.isfinite(d) and 0 <= d < 1):
        raise InvalidParameterError(
            f"delta must be in [0, 1) (1 would mean proposals are always accepted "
            f"and carry no information), got {delta!r}"
        )
    beta = check_smoothing(smoothing)
    main, n_with, mixed = _item_proposals(annotations, rho)
    proba = _closed_form(annotations, rho, main, d, beta)
    if mixed.any():
        proba = _em_mixed(annotations, rho, proba, mixed, d, beta, max_iter, tol)
    shown_class = np.asarray(annotations.classes, dtype=object)[np.maximum(main, 0)]
    shown_class[main < 0] = None
    return Consensus(
        annotations,
        proba,
        "bias_corrected",
        item_scores={"proposal": shown_class, "n_with_proposal": n_with},
        params={"delta": d, "smoothing": beta, "proposal_column": proposal},
    )


def _item_proposals(annotations: Annotations, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Most frequent proposal per item (-1 if none), annotations with a proposal, items with several."""
    k = annotations.n_classes
    has = rho >= 0
    table = np.bincount(
        annotations.item[has].astype(np.int64) * k + rho[has], minlength=annotations.n_items * k
    ).reshape(-1, k)
    n_with = table.sum(axis=1)
    main = np.where(n_with > 0, table.argmax(axis=1), -1)
    return main, n_with, (table > 0).sum(axis=1) > 1


def _closed_form(
    annotations: Annotations, rho: np.ndarray, main: np.ndarray, delta: float, beta: float
) -> np.ndarray:
    """Exact maximum-likelihood (MAP with ``beta``) ``P_i`` for items with at most one proposal class."""
    k = annotations.n_classes
    plain = annotations.take(rho < 0).vote_counts() + beta
    total = annotations.vote_counts() + beta
    rows = np.arange(annotations.n_items)
    anchor = np.maximum(main, 0)
    a_r = plain[rows, anchor]
    b_r = np.where(main >= 0, total[rows, anchor] - a_r, 0.0)
    n = total.sum(axis=1)
    rest = n - total[rows, anchor]
    quad = (1 - delta) * n
    lin = a_r * (1 - 2 * delta) + b_r * (1 - delta) - rest * delta
    const = a_r * delta
    safe = np.where(quad > 0, quad, 1.0)
    x = np.where(quad > 0, (lin + np.sqrt(lin * lin + 4 * quad * const)) / (2 * safe), 0.0)
    x = np.clip(x, 0.0, 1.0)
    others = total.copy()
    others[rows, anchor] = 0.0
    scale = np.divide(1 - x, rest, out=np.zeros_like(x), where=rest > 0)
    proba = others * scale[:, None]
    proba[rows, anchor] = x
    empty = n == 0
    proba[empty] = 1.0 / k
    return proba


def _em_mixed(
    annotations: Annotations,
    rho: np.ndarray,
    proba: np.ndarray,
    mixed: np.ndarray,
    delta: float,
    beta: float,
    max_iter: int,
    tol: float,
) -> np.ndarray:
    """EM for items shown several different proposals, started from the closed form."""
    k = annotations.n_classes
    sel = mixed[annotations.item]
    item, label, prop = annotations.item[sel].astype(np.int64), annotations.label[sel], rho[sel]
    candidate = (prop >= 0) & (label == prop)
    key = item * k + label
    proba = proba.copy()
    for _ in range(max_iter):
        p_rho = proba[item, label]
        accepted = np.where(candidate, delta / np.maximum(delta + (1 - delta) * p_rho, 1e-300), 0.0)
        flat = np.bincount(key, weights=1.0 - accepted, minlength=annotations.n_items * k)
        counts = flat.reshape(-1, k) + beta
        totals = counts.sum(axis=1, keepdims=True)
        new = np.divide(counts, totals, out=proba.copy(), where=totals > 0)
        change = np.abs(new[mixed] - proba[mixed]).max()
        proba[mixed] = new[mixed]
        if change < tol:
            break
    return proba


def cleverlabel_correction(
    counts: Any, proposal: Any, delta: float, *, denominator: float = 1.0
) -> np.ndarray:
    """The authors' closed-form inversion for items annotated only with a proposal (``Emprime/dcic``).

    ``P(rho) = clip((n_rho / N - delta) / (denominator - delta), 0, 1)`` and the other classes share
    ``1 - P(rho)`` in proportion to their counts (``max(1, N - n_rho)`` in the denominator). The authors use
    ``denominator = 0.99``; with 1 (the default) this equals :func:`correct_bias` on such items.
    """
    c = np.asarray(counts, dtype=np.float64)
    rho = np.asarray(proposal, dtype=np.int64).ravel()
    if c.ndim != 2 or rho.shape != (len(c),) or (rho < 0).any() or (rho >= c.shape[1]).any():
        raise InvalidParameterError("counts must be items x classes and proposal one class code per item")
    if not (0 <= delta < denominator):
        raise InvalidParameterError(
            f"need 0 <= delta < denominator, got delta={delta}, denominator={denominator}"
        )
    rows = np.arange(len(c))
    n = c.sum(axis=1)
    p_rho = np.clip(
        (np.divide(c[rows, rho], n, out=np.zeros_like(n), where=n > 0) - delta) / (denominator - delta),
        0.0,
        1.0,
    )
    out = c / np.maximum(1.0, n - c[rows, rho])[:, None] * (1 - p_rho)[:, None]
    out[rows, rho] = p_rho
    return out


def cleverlabel(
    annotations: Annotations,
    delta: float | OffsetEstimate | None = None,
    *,
    transition: Any = None,
    variant: str = "blend",
    mu: float = 0.75,
    strength: float = 2.0,
    proposal: str = PROPOSAL,
    shown: str | None = None,
) -> Consensus:
    """CleverLabel: :func:`correct_bias`, then class blending (:func:`accord.ambiguity.blending.blend`), in
    that order.

    ``transition`` defaults to ``c`` estimated leave-one-out from the annotations made *without* a proposal
    when there are any (as Schmarje et al. 2024 advise: estimate ``c`` from unbiased data), else from the
    corrected distributions. An item left without annotations is tied on every class and gets the mean row of
    ``c``.
    """

    corrected = correct_bias(annotations, delta, proposal=proposal, shown=shown)
    if transition is None:
        rho = proposal_codes(annotations, proposal=proposal, shown=shown)
        plain = annotations.take(rho < 0)
        unbiased = plain.n_annotations > 0 and (plain.item_sizes() > 1).any()
        transition = (
            estimate_transition(plain, method="loo")
            if unbiased
            else estimate_transition(corrected, method="mean")
        )
    return blend(corrected, transition, variant=variant, mu=mu, strength=strength)


# ------------------------------------------------------------------------------------------------- simulation
def simulate_proposal_annotations(
    true_proba: Any,
    *,
    n_without: int,
    n_with: int,
    delta: float,
    proposal: Any = None,
    classes: Any = None,
    random_state: int | np.random.Generator | None = None,
) -> Annotations:
    """Draw annotations from known distributions under the acceptance model (for tests and planning).

    Each item gets ``n_without`` annotations drawn from its distribution and ``n_with`` made with its
    proposal: accepted with probability ``delta``, otherwise drawn from the distribution. ``proposal`` gives
    one class code per item; by default it is drawn from the item's own distribution (a calibrated proposal
    network). Annotation ``j`` of every item is made by annotator ``"a{j}"``. The result carries the extra
    columns ``proposal`` and ``proposal_shown``.
    """
    p = np.asarray(true_proba, dtype=np.float64)
    check_rows(p, "true_proba")
    if not (0 <= delta <= 1):
        raise InvalidParameterError(f"delta must be in [0, 1], got {delta!r}")
    rng = check_random_state(random_state)
    n_items, k = p.shape
    rho = _draw(p, rng) if proposal is None else np.asarray(proposal, dtype=np.int64).ravel()
    m = n_without + n_with
    item = np.repeat(np.arange(n_items), m)
    slot = np.tile(np.arange(m), n_items)
    with_prop = slot >= n_without
    label = _draw(p[item], rng)
    accept = with_prop & (rng.random(len(item)) < delta)
    label[accept] = rho[item[accept]]
    names = pd.Index(list(classes) if classes is not None else list(range(k)))
    shown_class = pd.Series(names[rho[item]]).where(with_prop)
    frame = pd.DataFrame(
        {
            "item": item,
            "annotator": [f"a{j}" for j in slot],
            "label": names[label],
            PROPOSAL: shown_class,
            SHOWN: with_prop,
        }
    )
    return Annotations.from_frame(frame, classes=list(names), extra=[PROPOSAL, SHOWN])


def _draw(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One class code per row of ``p``, by inverse CDF."""
    cum = np.cumsum(p, axis=1)
    u = rng.random(len(p)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), p.shape[1] - 1)
