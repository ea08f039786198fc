"""Chance-corrected agreement between annotators: Fleiss' kappa and Krippendorff's alpha (nominal).

Both statistics are computed from the items x classes vote table ``n[i, k]`` (how many annotators gave item
``i`` the label ``k``), so they cost one ``np.bincount`` over the annotations plus O(items x classes). Missing
annotations are simply absent; items with fewer than two annotations carry no information about agreement and
are left out of both statistics (and counted in :func:`agreement_summary`).

>>> import numpy as np
>>> counts = np.array([[3, 0], [0, 3], [2, 1]])     # three items, three annotators each, two classes
>>> round(fleiss_kappa(counts), 4)
0.55
>>> round(krippendorff_alpha(counts), 4)
0.6
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataQualityWarning, InvalidAnnotationsError

if TYPE_CHECKING:
    from ..annotations import Annotations

__all__ = ["agreement_summary", "fleiss_kappa", "krippendorff_alpha", "observed_agreement", "vote_table"]


def vote_table(data: Annotations | np.ndarray) -> np.ndarray:
    """The items x classes count table of ``data`` (an ``Annotations`` or an array of non-negative counts)."""
    if hasattr(data, "vote_counts"):
        return np.asarray(data.vote_counts(), dtype=np.float64)
    counts = np.asarray(data, dtype=np.float64)
    if counts.ndim != 2:
        raise InvalidAnnotationsError(
            f"expected Annotations or an items x classes count table, got an array of shape {counts.shape}"
        )
    if counts.size and (not np.isfinite(counts).all() or (counts < 0).any()):
        raise InvalidAnnotationsError("the count table must hold finite, non-negative counts")
    return counts


def _paired(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows with at least two annotations, and their sizes."""
    sizes = counts.sum(axis=1)
    keep = sizes >= 2
    return counts[keep], sizes[keep]


def _undefined(name: str, why: str) -> float:
    warnings.warn(f"{name} is undefined: {why}; returning NaN", DataQualityWarning, stacklevel=3)
    return float("nan")


def observed_agreement(data: Annotations | np.ndarray) -> float:
    """Mean over items of the share of agreeing annotator pairs.

    ``P_i = sum_k n_ik (n_ik - 1) / (n_i (n_i - 1))``.

    Items with fewer than two annotations are left out. NaN (with a warning) when no item has two annotations.
    """
    counts, sizes = _paired(vote_table(data))
    if len(sizes) == 0:
        return _undefined("observed agreement", "no item has two or more annotations")
    return float(np.mean(_pair_agreement(counts, sizes)))


def _pair_agreement(counts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    return (counts * (counts - 1)).sum(axis=1) / (sizes * (sizes - 1))


def fleiss_kappa(data: Annotations | np.ndarray) -> float:
    r"""Fleiss' kappa, generalised to a varying number of annotators per item.

    Parameters
    ----------
    data : Annotations or ndarray of shape (n_items, n_classes)
        The annotations, or their vote table ``n[i, k]``.

    Returns
    -------
    float
        ``(P_bar - P_e) / (1 - P_e)``; NaN with a :class:`DataQualityWarning` when it is undefined (no item
        with two annotations, or every annotation has the same class so that ``P_e = 1``).

    Notes
    -----
    Over the items with ``n_i >= 2`` annotations:

    .. math::

        P_i = \frac{\sum_k n_{ik}(n_{ik} - 1)}{n_i (n_i - 1)},\quad
        \bar P = \frac{1}{I'} \sum_i P_i,\quad
        p_k = \frac{\sum_i n_{ik}}{\sum_i n_i},\quad
        P_e = \sum_k p_k^2,\quad
        \kappa = \frac{\bar P - \bar P_e}{1 - P_e}.

    With the same number of annotators on every item this is exactly Fleiss (1971). With unequal numbers it
    is the usual generalisation: each item's pairwise agreement is computed with its own ``n_i`` and items
    are averaged with equal weight, while the class proportions ``p_k`` pool all annotations (so items with
    more annotations weigh more in ``P_e``). Items with a single annotation are ignored.

    References
    ----------
    J. L. Fleiss (1971). Measuring nominal scale agreement among many raters. Psychological Bulletin
    76(5):378-382. doi:10.1037/h0031619
    """
    counts, sizes = _paired(vote_table(data))
    if len(sizes) == 0:
        return _undefined("Fleiss' kappa", "no item has two or more annotations")
    p_bar = float(np.mean(_pair_agreement(counts, sizes)))
    p = counts.sum(axis=0) / sizes.sum()
    p_e = float(np.sum(p * p))
    if p_e >= 1.0 - 1e-12:
        return _undefined("Fleiss' kappa", "every annotation has the same class")
    return (p_bar - p_e) / (1.0 - p_e)


def coincidences(data: Annotations | np.ndarray) -> np.ndarray:
    """Krippendorff's coincidence matrix ``o[c, k] = sum_i (n_ic n_ik - [c = k] n_ic) / (n_i - 1)``.

    Only items with at least two annotations contribute (the "pairable" values).
    """
    counts, sizes = _paired(vote_table(data))
    scaled = counts / (sizes - 1.0)[:, None]
    o = scaled.T @ counts
    o[np.diag_indices_from(o)] -= scaled.sum(axis=0)
    return o


def krippendorff_alpha(data: Annotations | np.ndarray) -> float:
    r"""Krippendorff's alpha for nominal labels, with missing annotations.

    Parameters
    ----------
    data : Annotations or ndarray of shape (n_items, n_classes)
        The annotations, or their vote table ``n[i, k]``.

    Returns
    -------
    float
        ``1 - D_o / D_e``; NaN with a :class:`DataQualityWarning` when it is undefined (fewer than two
        pairable values, or every pairable value has the same class).

    Notes
    -----
    With the coincidence matrix ``o`` (:func:`coincidences`), ``n_c = sum_k o[c, k]`` and ``n = sum_c n_c``
    (the number of pairable values, i.e. annotations on items with at least two annotations):

    .. math::

        \alpha = 1 - (n - 1) \frac{\sum_{c \ne k} o_{ck}}{\sum_{c \ne k} n_c n_k}.

    Items with a single annotation are not pairable and are ignored, as Krippendorff prescribes.

    References
    ----------
    K. Krippendorff (2011). Computing Krippendorff's alpha-reliability. University of Pennsylvania, Annenberg
    School for Communication, Departmental Papers 43. K. Krippendorff (2004). Content Analysis: An
    Introduction to Its Methodology, 2nd ed., ch. 11. Sage.
    """
    o = coincidences(data)
    n_c = o.sum(axis=1)
    n = float(n_c.sum())
    if n < 2:
        return _undefined("Krippendorff's alpha", "fewer than two pairable annotations")
    disagree_obs = float(o.sum() - np.trace(o))
    disagree_exp = float(n_c.sum() ** 2 - np.sum(n_c * n_c))
    if disagree_exp <= 0:
        return _undefined("Krippendorff's alpha", "every pairable annotation has the same class")
    return 1.0 - (n - 1.0) * disagree_obs / disagree_exp


def agreement_summary(data: Annotations | np.ndarray) -> dict[str, Any]:
    """Fleiss' kappa, Krippendorff's alpha and observed agreement, with how many items they used.

    Undefined statistics are ``None`` here (and a note says why) rather than NaN, so the dict can go to JSON.
    """
    counts = vote_table(data)
    sizes = counts.sum(axis=1)
    used = int(np.sum(sizes >= 2))
    out: dict[str, Any] = {"n_items": len(sizes), "n_items_used": used, "notes": []}
    for name, func in (
        ("fleiss_kappa", fleiss_kappa),
        ("krippendorff_alpha", krippendorff_alpha),
        ("observed_agreement", observed_agreement),
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataQualityWarning)
            value = func(counts)
        out[name] = None if not np.isfinite(value) else float(value)
        out["notes"] += [str(w.message) for w in caught]
    return out
