"""Class blending: pull each item's soft label toward the typical distribution of its main class.

Notes
-----
Class blending (CB) is the first half of CleverLabel (Schmarje et al. 2023) and is recommended by Schmarje et
al. (2024) even without proposals. ``c`` is a fixed ``K x K`` row-stochastic *class transition matrix*: row
``k`` is the typical annotation distribution of an item whose main class is ``k`` (a car is confused with a
truck more often than with a dog). With ``k*_i = argmax_k p[i,k]`` the blended label is

``blend[i,:] = mu * p[i,:] + (1 - mu) * c[k*_i, :]``

(the authors' code: ``Emprime/dcic``, ``src/algorithms/vps.py``; their default ``mu = 0.75``). Variants:

- ``"blend"``: the formula with the given ``mu`` (default 0.75);
- ``"balanced"``: ``mu = 0.5``, equal weight to the item's own annotations and to the class row. Schmarje et
  al. (2024) name a "balanced" blending without defining it; this is our reading;
- ``"only"``: ``mu = 0``, the item's distribution is replaced by its main class's row ("only blends");
- ``"shrink"`` [ours]: ``mu_i = n_i / (n_i + s)`` with ``n_i`` the item's number of annotations. This is the
  posterior mean under a Dirichlet prior of strength ``s`` centred on ``c[k*_i]``: blending fades as
  annotations accumulate, as the paper observes it should (no benefit above about 50 annotations).

A tie for the main class averages the tied classes' rows (deterministic and symmetric). An item with no
annotation uses ``empty_anchor`` when given (the authors use the proposal shown) and is otherwise tied on
every class.

``c`` is estimated by :func:`estimate_transition`:

- ``"mean"``: ``c[k,:]`` = mean of ``p[i,:]`` over items whose main class is ``k``;
- ``"loo"`` [ours]: ``c[k,l]`` = share of annotations with label ``l`` among the annotations whose item's
  *other* annotations have main class ``k``. With few annotations per item the "mean" rule is biased toward
  the diagonal (an item's main class is chosen by the same votes that are averaged); leaving the annotation
  out removes that bias;
- ``"gold"``: ``c[k,:]`` = mean of ``p[i,:]`` over items whose gold class is ``k``.

References
----------
L. Schmarje, V. Grossmann, T. Michels, J. Nazarenus, M. Santarossa, C. Zelenka, R. Koch. Label Smarter, Not
Harder: CleverLabel for Faster Annotation of Ambiguous Image Classification with Higher Quality.
arXiv:2305.12811, 2023. https://arxiv.org/abs/2305.12811

L. Schmarje, V. Grossmann, C. Zelenka, J. Brünger, R. Koch. Annotating Ambiguous Images: General Annotation
Strategy for High-Quality Data with Real-World Biomedical Validation. TMLR 2024, Table 1.
https://openreview.net/forum?id=gii9qgtvsL (arXiv:2306.12189)
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import DataQualityWarning, InvalidAnnotationsError, InvalidParameterError
from ._inputs import as_distribution, consensus_of
from .soft import soft_labels

__all__ = ["VARIANTS", "blend", "class_blending", "estimate_transition"]

VARIANTS = ("blend", "balanced", "only", "shrink")
_TIE_ATOL = 1e-12


def _tie_membership(scores: np.ndarray) -> np.ndarray:
    """Rows of ``scores`` -> indicator of the top class(es), split evenly among ties; all-zero rows stay 0."""
    top = scores.max(axis=1, keepdims=True)
    tied = np.isclose(scores, top, rtol=0, atol=_TIE_ATOL) & (scores.sum(axis=1, keepdims=True) > 0)
    n = tied.sum(axis=1, keepdims=True)
    return np.divide(tied, n, out=np.zeros(scores.shape), where=n > 0)


# ------------------------------------------------------------------------------------------------- estimation
def estimate_transition(data: Any, *, method: str = "mean", gold: Any = None) -> pd.DataFrame:
    """The class transition matrix ``c`` (rows: main class, columns: label), estimated from the data.

    Parameters
    ----------
    data : Annotations, long DataFrame, Consensus, DataFrame or array of per-item distributions
        ``method="loo"`` needs annotations.
    method : {"mean", "loo", "gold"}
        See the module notes.
    gold : Series (item -> label), optional
        Required by ``method="gold"``.

    Returns
    -------
    DataFrame, K x K, rows sum to 1. A class that is never the main class gets the identity row (with a
    DataQualityWarning).
    """
    if method not in ("mean", "loo", "gold"):
        raise InvalidParameterError(f"method must be 'mean', 'loo' or 'gold', got {method!r}")
    ann = _annotations_of(data)
    if method == "loo":
        if ann is None:
            raise InvalidParameterError("method='loo' needs the annotations, not only their distributions")
        mass, classes = _loo_mass(ann.vote_counts()), ann.classes
    else:
        proba, items, classes = _distribution_of(data, ann)
        member = (
            _tie_membership(proba)
            if method == "mean"
            else _gold_membership(gold, ann, items, classes, proba.shape)
        )
        if ann is not None:  # an item left without annotations (e.g. after a filter) says nothing about c
            member[ann.item_sizes() == 0] = 0.0
        mass = member.T @ proba
    return _normalise_rows(mass, classes)


def _annotations_of(data: Any) -> Annotations | None:
    if isinstance(data, Annotations):
        return data
    if isinstance(data, pd.DataFrame) and {"annotator", "worker"} & {str(c).lower() for c in data.columns}:
        from ..models._base import as_annotations

        return as_annotations(data)
    return None


def _distribution_of(data: Any, ann: Annotations | None) -> tuple[np.ndarray, pd.Index | None, Any]:
    if ann is not None:
        soft = soft_labels(ann)
        return soft.proba_array, ann.items, ann.classes
    return as_distribution(data, "data")


def _gold_membership(
    gold: Any, ann: Annotations | None, items: pd.Index | None, classes: Any, shape: tuple[int, int]
) -> np.ndarray:
    if gold is None:
        raise InvalidParameterError("method='gold' needs gold=Series(item -> label)")
    if ann is not None:
        rows, labels = ann.encode_gold(gold)
    else:
        if items is None or classes is None:
            raise InvalidParameterError("method='gold' needs labelled distributions (DataFrame or Consensus)")
        series = gold if isinstance(gold, pd.Series) else pd.Series(gold)
        rows = items.get_indexer(series.index)
        labels = pd.Index(classes).get_indexer(series.to_numpy())
        ok = (rows >= 0) & (labels >= 0)
        rows, labels = rows[ok], labels[ok]
    if len(rows) == 0:
        raise InvalidAnnotationsError("no gold item matches an item of the data")
    member = np.zeros(shape)
    member[rows, labels] = 1.0
    return member


def _loo_mass(counts: np.ndarray) -> np.ndarray:
    """``mass[k, l]`` = sum over annotations with label ``l`` of the main-class membership of the rest of its
    item's annotations (ties split). Items with one annotation contribute nothing."""
    k = counts.shape[1]
    mass = np.zeros((k, k))
    eye = np.eye(k)
    for label in range(k):  # K is small; the work inside is vectorised over items
        has = counts[:, label] > 0
        rest = counts[has] - eye[label]
        member = _tie_membership(rest)
        mass[:, label] = counts[has, label] @ member
    return mass


def _normalise_rows(mass: np.ndarray, classes: Any) -> pd.DataFrame:
    k = mass.shape[0]
    totals = mass.sum(axis=1, keepdims=True)
    empty = totals.ravel() <= 0
    names = list(classes) if classes is not None else list(range(k))
    if empty.any():
        unused = [names[i] for i in np.flatnonzero(empty)][:5]
        warnings.warn(
            f"class(es) {unused} are never the main class of an item; their transition row is set "
            "to the identity",
            DataQualityWarning,
            stacklevel=3,
        )
    c = np.divide(mass, totals, out=np.eye(k), where=~empty[:, None])
    return pd.DataFrame(c, index=pd.Index(names, name="main"), columns=pd.Index(names, name="label"))


# --------------------------------------------------------------------------------------------------- blending
def blend(
    p: Any,
    transition: Any = None,
    *,
    variant: str = "blend",
    mu: float = 0.75,
    strength: float = 2.0,
    n_annotations: Any = None,
    empty_anchor: Any = None,
) -> Any:
    """Blend per-item distributions with the rows of a class transition matrix.

    Parameters
    ----------
    p : Consensus, DataFrame or array (items x classes)
        The soft labels. The result has the same type (a Consensus comes back as a Consensus with method
        ``"<method>+blend"``).
    transition : DataFrame or array (K x K), optional
        ``c``; default: :func:`estimate_transition` of ``p`` (``method="mean"``).
    variant : {"blend", "balanced", "only", "shrink"}
        See the module notes.
    mu : float in [0, 1], default 0.75
        Weight of the item's own distribution for ``variant="blend"``.
    strength : float > 0, default 2
        Prior strength ``s`` for ``variant="shrink"`` (in annotations).
    n_annotations : array, optional
        Annotations per item, for ``variant="shrink"`` and to find empty items; read from a Consensus.
    empty_anchor : array of class codes, optional
        Main class to use for items with no annotation (e.g. the proposal shown); ``-1`` = none.

    Examples
    --------
    >>> c = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> blend(np.array([[1.0, 0.0]]), c, mu=0.5).tolist()
    [[0.95, 0.05]]
    """
    proba, items, classes = as_distribution(p, "p")
    consensus = consensus_of(p)
    c = _check_transition(
        transition if transition is not None else estimate_transition(p), classes, proba.shape[1]
    )
    n = _annotation_counts(consensus, n_annotations, len(proba))
    weight = _mu(variant, mu, strength, n, len(proba))
    member = _anchor_membership(proba, n, empty_anchor)
    out = weight[:, None] * proba + (1 - weight[:, None]) * (member @ c)
    if consensus is not None:
        params = {**consensus.params, "blend_variant": variant, "blend_mu": mu, "blend_strength": strength}
        return Consensus(
            consensus.annotations,
            out,
            f"{consensus.method}+blend",
            item_scores=dict(consensus.item_scores),
            params=params,
        )
    if isinstance(p, pd.DataFrame):
        return pd.DataFrame(out, index=items, columns=classes)
    return out


def _check_transition(transition: Any, classes: Any, k: int) -> np.ndarray:
    if isinstance(transition, pd.DataFrame) and classes is not None:
        try:
            transition = transition.loc[list(classes), list(classes)]
        except KeyError:
            raise InvalidParameterError(
                f"the transition matrix's rows/columns {list(transition.index)} do "
                f"not match the classes {list(classes)}"
            ) from None
    c = np.asarray(transition, dtype=np.float64)
    if c.shape != (k, k):
        raise InvalidParameterError(
            f"the transition matrix must be {k} x {k} (classes x classes), got {c.shape}"
        )
    if not np.isfinite(c).all() or (c < 0).any() or (np.abs(c.sum(axis=1) - 1) > 1e-6).any():
        raise InvalidParameterError("the transition matrix must be non-negative with rows that sum to 1")
    return c


def _annotation_counts(consensus: Consensus | None, n_annotations: Any, n_items: int) -> np.ndarray | None:
    if n_annotations is not None:
        n = np.asarray(n_annotations, dtype=np.float64).ravel()
        if n.shape != (n_items,) or (n < 0).any():
            raise InvalidParameterError(
                f"n_annotations must give a count >= 0 for each of the {n_items} items"
            )
        return n
    if consensus is not None:
        return consensus.annotations.item_sizes().astype(np.float64)
    return None


def _mu(variant: str, mu: float, strength: float, n: np.ndarray | None, n_items: int) -> np.ndarray:
    if variant not in VARIANTS:
        raise InvalidParameterError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if variant == "shrink":
        if not (np.isfinite(strength) and strength > 0):
            raise InvalidParameterError(f"strength must be a number > 0, got {strength!r}")
        if n is None:
            raise InvalidParameterError(
                "variant='shrink' needs the number of annotations per item: pass a "
                "Consensus or n_annotations="
            )
        return n / (n + strength)
    value = {"blend": mu, "balanced": 0.5, "only": 0.0}[variant]
    if not (isinstance(value, (int, float)) and 0 <= value <= 1):
        raise InvalidParameterError(f"mu must be a number in [0, 1], got {mu!r}")
    return np.full(n_items, float(value))


def _anchor_membership(proba: np.ndarray, n: np.ndarray | None, empty_anchor: Any) -> np.ndarray:
    member = _tie_membership(proba)
    if empty_anchor is None or n is None:
        return member
    anchor = np.asarray(empty_anchor, dtype=np.int64).ravel()
    if anchor.shape != (len(proba),) or (anchor >= proba.shape[1]).any():
        raise InvalidParameterError("empty_anchor must give a class code (or -1) for every item")
    use = (n == 0) & (anchor >= 0)
    member[use] = 0.0
    member[np.flatnonzero(use), anchor[use]] = 1.0
    return member


def class_blending(
    annotations: Annotations | pd.DataFrame,
    *,
    variant: str = "blend",
    mu: float = 0.75,
    strength: float = 2.0,
    transition: Any = None,
    method: str = "mean",
) -> Consensus:
    """Soft labels from votes, blended with ``c`` estimated from the same annotations (or given).

    A shortcut for ``blend(soft_labels(annotations), estimate_transition(annotations, method=method), ...)``.
    """
    soft = soft_labels(annotations)
    c = transition if transition is not None else estimate_transition(soft.annotations, method=method)
    return blend(soft, c, variant=variant, mu=mu, strength=strength)
