"""Soft labels: a class distribution per item instead of one hard label, and how to compare two of them.

For ambiguous data the truth of an item is a distribution, the share of annotators who would pick each class
(Schmarje et al., "Annotating Ambiguous Images"). This module builds that distribution from annotations
(:func:`soft_labels`), compares an estimate with a reference (:func:`kl_divergence`,
:func:`mean_kl_divergence`) and describes a dataset the way the paper's Figure 4 does
(:func:`dataset_statistics`). Class blending lives in :mod:`accord.ambiguity.blending`, proposal-bias
correction in :mod:`accord.ambiguity.bias`.

Notes
-----
Soft vote: ``c[i,k] = sum_{n: item[n]=i, label[n]=k} w[a_n]`` and

``soft[i,k] = (c[i,k] + beta) / (sum_k' c[i,k'] + K * beta)``

with annotator weights ``w`` (1 by default) and additive smoothing ``beta`` (0 by default). A model's
posterior (e.g. Dawid-Skene's) is a different object: belief about one hidden true class, which tends to 0/1
as the number of annotations grows even for a truly ambiguous item. :func:`soft_labels` accepts it, but says
so in ``params["source"]``.

KL divergence follows the authors' benchmark code (``Emprime/dcic``): both distributions are clipped to
``[eps, 1 - eps]`` (``eps = 1e-5``) and *not* renormalised, then ``KL(p || q) = sum_k p_k log(p_k / q_k)``.
The clipping keeps the divergence finite when the estimate puts zero mass on a class the reference uses.

References
----------
L. Schmarje, V. Grossmann, C. Zelenka, J. Brünger, R. Koch. Annotating Ambiguous Images: General Annotation
Strategy for High-Quality Data with Real-World Biomedical Validation. TMLR 2024.
https://openreview.net/forum?id=gii9qgtvsL (arXiv:2306.12189)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import InvalidAnnotationsError, InvalidParameterError
from ._inputs import as_distribution, check_smoothing, consensus_of

if TYPE_CHECKING:
    from ..models._base import Aggregator

__all__ = [
    "KL_EPS",
    "SOFT_SOURCES",
    "DatasetStatistics",
    "dataset_statistics",
    "kl_divergence",
    "mean_kl_divergence",
    "soft_consensus",
    "soft_labels",
]

KL_EPS = 1e-5


# ------------------------------------------------------------------------------------------------ soft labels
def soft_labels(
    data: Annotations | pd.DataFrame | Consensus | Aggregator,
    *,
    weights: Any = None,
    smoothing: float = 0.0,
) -> Consensus:
    """Per-item class distributions, as a :class:`~accord.Consensus` with method ``"soft"``.

    Parameters
    ----------
    data : Annotations, long DataFrame, Consensus or fitted model
        Annotations give vote fractions. A Consensus (or a fitted model) gives its posterior; this is belief
        about a single true class, not the ambiguity distribution, and ``params["source"]`` says so.
    weights : None, array, Series, Consensus or fitted model
        Annotator weights for the vote: an array aligned with ``annotations.annotators``, a Series indexed by
        annotator id, or a Consensus / fitted model whose ``annotator_quality["quality"]`` is used. Weights
        must be >= 0. An item whose annotators all weigh 0 falls back to the unweighted vote.
    smoothing : float, default 0
        Additive (Dirichlet) pseudo-count ``beta`` per class: ``(c + beta) / (n + K * beta)``.

    Returns
    -------
    Consensus
        ``proba`` is the soft label; ``labels`` its arg-max (ties: lowest class code). For a vote,
        ``item_quality`` gains ``ci_low``/``ci_high``, the Wilson 95% interval of the top class's share.

    Examples
    --------
    >>> df = pd.DataFrame({"item": [1, 1, 1, 1], "annotator": list("abcd"), "label": list("xxxy")})
    >>> soft_labels(df).proba.round(2).to_dict("records")
    [{'x': 0.75, 'y': 0.25}]
    """
    beta = check_smoothing(smoothing)
    consensus = consensus_of(data)
    if consensus is not None:
        if weights is not None:
            raise InvalidParameterError(
                "weights apply to a vote; a model's posterior is already weighted. "
                "Pass the annotations with weights=model instead"
            )
        proba = _smooth(consensus.proba_array, beta, np.ones(len(consensus.proba_array)))
        params = {
            "source": f"posterior of {consensus.method} (belief in one true class, not ambiguity)",
            "smoothing": beta,
        }
        return Consensus(consensus.annotations, proba, "soft", params=params)
    from ..models._base import as_annotations

    ann = as_annotations(data)
    counts = _weighted_counts(ann, weights)
    proba = _smooth(counts, beta, counts.sum(axis=1))
    source = "vote fractions" if weights is None else "weighted vote fractions"
    return Consensus(
        ann,
        proba,
        "soft",
        item_scores=_top_share_interval(ann, proba),
        params={"source": source, "smoothing": beta},
    )


SOFT_SOURCES = ("votes", "weighted", "posterior")


def soft_consensus(
    annotations: Annotations, source: str = "votes", model: Any = None, smoothing: float = 0.0
) -> Consensus:
    """Soft labels by name (what ``accord aggregate --soft SOURCE`` uses).

    ``"votes"``: vote fractions; ``"weighted"``: votes weighted by ``model``'s annotator quality;
    ``"posterior"``: ``model``'s posterior. ``model`` is a fitted model or its Consensus.
    """
    if source not in SOFT_SOURCES:
        raise InvalidParameterError(f"the soft-label source must be one of {SOFT_SOURCES}, got {source!r}")
    if source != "votes" and consensus_of(model) is None:
        raise InvalidParameterError(f"soft labels from {source!r} need a fitted model")
    if source == "votes":
        return soft_labels(annotations, smoothing=smoothing)
    if source == "weighted":
        return soft_labels(annotations, weights=model, smoothing=smoothing)
    return soft_labels(model, smoothing=smoothing)


def _smooth(counts: np.ndarray, beta: float, totals: np.ndarray) -> np.ndarray:
    k = counts.shape[1]
    num = counts + beta
    den = (totals + k * beta)[:, None]
    return np.divide(num, den, out=np.full_like(num, 1.0 / k), where=den > 0)


def _weighted_counts(ann: Annotations, weights: Any) -> np.ndarray:
    from .._kernel.votes import weighted_votes

    if weights is None:
        return ann.vote_counts()
    return weighted_votes(ann, annotator_weights(ann, weights))


def annotator_weights(ann: Annotations, weights: Any) -> np.ndarray:
    """Weights aligned with ``ann.annotators``, from an array, a Series by annotator id or a Consensus."""
    consensus = consensus_of(weights)
    if consensus is not None:
        weights = consensus.annotator_quality["quality"]
    if isinstance(weights, pd.Series):
        pos = weights.index.get_indexer(ann.annotators)
        if (pos < 0).any():
            missing = ann.annotators[pos < 0][:5].tolist()
            raise InvalidParameterError(
                f"weights has no value for annotator(s) {missing}; give every annotator a weight"
            )
        w = weights.to_numpy(dtype=np.float64)[pos]
    else:
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.shape != (ann.n_annotators,):
            raise InvalidParameterError(
                f"weights must have one value per annotator ({ann.n_annotators}), "
                f"got {w.shape[0]}; or pass a Series indexed by annotator id"
            )
    if not np.isfinite(w).all() or (w < 0).any():
        raise InvalidParameterError(
            "annotator weights must be finite and >= 0 (a negative weight would make vote fractions negative)"
        )
    return w


def _top_share_interval(ann: Annotations, proba: np.ndarray) -> dict[str, np.ndarray]:
    from .._kernel.intervals import proportion_interval

    n = ann.item_sizes().astype(np.float64)
    top = proba.max(axis=1)
    low, high = proportion_interval(top * n, n, method="wilson")
    return {"ci_low": low, "ci_high": high}


# ---------------------------------------------------------------------------------------------- KL divergence
def kl_divergence(p: Any, q: Any, *, eps: float = KL_EPS) -> pd.Series | np.ndarray:
    """``KL(p || q)`` per item, after clipping both to ``[eps, 1 - eps]`` (the authors' benchmark rule).

    Parameters
    ----------
    p : Consensus, DataFrame or array (items x classes)
        The reference distribution (e.g. the soft label from all annotations).
    q : Consensus, DataFrame or array
        The estimate. With labelled inputs, ``q`` is aligned to ``p``'s items and classes (every item of ``p``
        must be in ``q``); with arrays the shapes must match.
    eps : float, default 1e-5
        Clipping constant. The rows are not renormalised after clipping, as in the authors' code.

    Returns
    -------
    Series indexed by item (labelled inputs) or ndarray.

    Examples
    --------
    >>> kl_divergence(np.array([[0.5, 0.5]]), np.array([[0.5, 0.5]])).tolist()
    [0.0]
    """
    pa, p_items, p_classes = as_distribution(p, "p")
    qa, q_items, q_classes = as_distribution(q, "q")
    qa = _align(qa, q_items, q_classes, p_items, p_classes, pa.shape)
    if not (0 < eps < 0.5):
        raise InvalidParameterError(f"eps must be in (0, 0.5), got {eps!r}")
    pc = np.clip(pa, eps, 1 - eps)
    qc = np.clip(qa, eps, 1 - eps)
    kl = np.sum(pc * np.log(pc / qc), axis=1)
    return pd.Series(kl, index=p_items, name="kl") if p_items is not None else kl


def _align(
    qa: np.ndarray,
    q_items: pd.Index | None,
    q_classes: pd.Index | None,
    p_items: pd.Index | None,
    p_classes: pd.Index | None,
    shape: tuple[int, ...],
) -> np.ndarray:
    if p_classes is not None and q_classes is not None:
        cols = q_classes.get_indexer(p_classes)
        if (cols < 0).any() or len(q_classes) != len(p_classes):
            raise InvalidAnnotationsError(
                f"p and q have different classes: {list(p_classes)} vs {list(q_classes)}"
            )
        qa = qa[:, cols]
    if p_items is not None and q_items is not None:
        rows = q_items.get_indexer(p_items)
        if (rows < 0).any():
            raise InvalidAnnotationsError(f"q has no row for item(s) {p_items[rows < 0][:5].tolist()} of p")
        qa = qa[rows]
    if qa.shape != shape:
        raise InvalidAnnotationsError(f"p and q must have the same shape, got {shape} and {qa.shape}")
    return qa


def mean_kl_divergence(p: Any, q: Any, *, eps: float = KL_EPS) -> float:
    """Mean over items of :func:`kl_divergence` (the figure the paper's Table 1 reports)."""
    return float(np.mean(np.asarray(kl_divergence(p, q, eps=eps))))


# --------------------------------------------------------------------------------------------------- Figure 4
@dataclass(frozen=True)
class DatasetStatistics:
    """The dataset description of the paper's Figure 4 (without the proposal offset and speed-up).

    Attributes
    ----------
    n_items, n_classes : int
        Items, and declared classes (``# Classes``).
    consensus_share : float
        ``p_c`` hat: share of items whose top class holds at least ``threshold`` of the item's distribution
        (for annotations: of its votes). An item with one annotation counts as agreeing.
    threshold : float
        The agreement threshold (0.95 in the paper).
    largest_class, largest_class_share : object, float
        The class that is the arg-max of most items, and the share of items it is the arg-max of (a tie
        between classes splits the item evenly).
    classes_used : int
        Classes that carry any mass.
    """

    n_items: int
    n_classes: int
    consensus_share: float
    threshold: float
    largest_class: Any
    largest_class_share: float
    classes_used: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def dataset_statistics(data: Any, *, threshold: float = 0.95) -> DatasetStatistics:
    """Share of items with >= ``threshold`` agreement, largest class share and number of classes (Figure 4).

    ``data`` is Annotations (or a long DataFrame), whose vote fractions are used, or a Consensus, DataFrame or
    array of per-item distributions.
    """
    if not (0 < threshold <= 1):
        raise InvalidParameterError(f"threshold must be in (0, 1], got {threshold!r}")
    if isinstance(data, Annotations) or (isinstance(data, pd.DataFrame) and _looks_long(data)):
        soft = soft_labels(data)
        proba, classes = soft.proba_array, soft.classes
    else:
        proba, _, classes = as_distribution(data, "data")
    top = proba.max(axis=1, keepdims=True)
    tied = np.isclose(proba, top, rtol=0, atol=1e-12)
    share = (tied / tied.sum(axis=1, keepdims=True)).sum(axis=0) / len(proba)
    largest = int(share.argmax())
    names = list(classes) if classes is not None else list(range(proba.shape[1]))
    return DatasetStatistics(
        n_items=len(proba),
        n_classes=proba.shape[1],
        consensus_share=float(np.mean(top.ravel() >= threshold - 1e-12)),
        threshold=float(threshold),
        largest_class=names[largest],
        largest_class_share=float(share[largest]),
        classes_used=int((proba.sum(axis=0) > 0).sum()),
    )


def _looks_long(frame: pd.DataFrame) -> bool:
    lower = {str(c).lower() for c in frame.columns}
    return bool(lower & {"annotator", "worker"}) and bool(lower & {"item", "task"})
