r"""CROWDLAB: consensus labels and quality scores from annotators plus a classifier's predicted probabilities.

A trained classifier's **out-of-sample** predicted class probabilities (``pred_probs``, items x classes) are
one more witness of each item's class, and a strong one for items that only one or two annotators saw.
CROWDLAB (Goh, Tkachenko and Mueller 2022) is a weighted ensemble of that witness and the annotators' labels
whose weights come from agreement statistics; it is not a generative model and it is not iterated.

This module holds the array math (module-level functions on the code arrays, vectorised with ``np.bincount``),
the :class:`CrowdLab` model, and the validation of ``pred_probs`` used everywhere in accord (files are read
by :func:`accord.io.read_pred_probs`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from .._kernel.pred_probs import check_pred_probs, check_unlabeled_pred_probs, show_values
from .._kernel.votes import cleanlab_majority_vote, keep_best
from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import DataQualityWarning, InvalidAnnotationsError, InvalidParameterError
from ._base import Aggregator, as_annotations, check_no_positional

__all__ = [
    "PredProbsMixin",
    "CrowdLab",
    "CrowdLabStats",
    "best_temperature",
    "check_pred_probs",
    "check_unlabeled_pred_probs",
    "cleanlab_majority_vote",
    "crowdlab_stats",
    "temperature_scale",
]

EPS_CLIP = 1e-6  # floor of every weight (cleanlab's CLIPPING_LOWER_BOUND)
SMALL_CONST = 1e-30  # floor of a probability before taking its log (temperature search)
COARSE_TEMPERATURES = (0.1, 0.2, 0.5, 0.8, 1.0, 2.0, 3.0, 5.0, 8.0)


# ====================================================================== temperature calibration
def temperature_scale(pred_probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log p / T)``: ``T > 1`` softens, ``T < 1`` sharpens; zeros stay zero."""
    with np.errstate(divide="ignore"):
        log_p = np.log(pred_probs) / float(temperature)
    log_p -= log_p.max(axis=1, keepdims=True)
    e = np.exp(log_p)
    return e / e.sum(axis=1, keepdims=True)


def _soft_cross_entropy(soft: np.ndarray, pred_probs: np.ndarray) -> float:
    k = pred_probs.shape[1]
    return float(np.mean(-np.sum(soft * np.log(np.clip(pred_probs, SMALL_CONST, None)), axis=1) / np.log(k)))


def best_temperature(annotations: Annotations, pred_probs: np.ndarray) -> float:
    """The temperature that best matches ``pred_probs`` to the annotators' vote shares (soft cross-entropy).

    A coarse grid ``(0.1, 0.2, 0.5, 0.8, 1, 2, 3, 5, 8)``, then a finer grid around its best value: 4 points
    from the grid value below up to (excluding) it and 5 from it up to the value above. Items without
    annotations are left out.
    """
    counts = annotations.vote_counts()
    n = counts.sum(axis=1)
    keep = n > 0
    soft = counts[keep] / n[keep, None]
    p = pred_probs[keep]

    def loss(t: float) -> float:
        return _soft_cross_entropy(soft, temperature_scale(p, t))

    grid = COARSE_TEMPERATURES
    best = int(np.argmin([loss(t) for t in grid]))
    fine: list[float] = []
    if best > 0:
        fine += list(np.linspace(grid[best - 1], grid[best], 4, endpoint=False))
    if best < len(grid) - 1:
        fine += list(np.linspace(grid[best], grid[best + 1], 5))
    fine = fine or [grid[best]]
    return float(fine[int(np.argmin([loss(t) for t in fine]))])


def resolve_temperature(calibrate: Any, annotations: Annotations, pred_probs: np.ndarray) -> float:
    """``calibrate``: True -> :func:`best_temperature`; False/None -> 1; a number > 0 -> that temperature."""
    if calibrate is True:
        return best_temperature(annotations, pred_probs)
    if calibrate is False or calibrate is None:
        return 1.0
    try:
        t = float(calibrate)
    except (TypeError, ValueError):
        t = -1.0
    if not np.isfinite(t) or t <= 0:
        raise InvalidParameterError(f"calibrate must be True, False or a temperature > 0, got {calibrate!r}")
    return t


# ====================================================================== the weighted ensemble
@dataclass
class CrowdLabStats:
    """Everything one CROWDLAB pass computes for a given consensus ``labels`` (all arrays in code order)."""

    labels: np.ndarray  # (I,) consensus class codes
    post: np.ndarray  # (I, K) ensemble posterior
    agreement: np.ndarray  # (I,) share of the item's annotators who chose labels[i]
    consensus_quality: np.ndarray  # (I,) post[i, labels[i]]
    model_weight: float  # w_M (0 when no model)
    annotator_weights: np.ndarray  # (A,) w_a
    consensus_likelihood: float  # P_agree
    baseline_error: float  # eps_base


def _agreement(counts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    n = counts.sum(axis=1)
    chosen = counts[np.arange(len(labels)), labels]
    return np.divide(chosen, n, out=np.zeros_like(n), where=n > 0)


def agreement_with_others(annotations: Annotations, counts: np.ndarray) -> np.ndarray:
    """``r_a``: how often annotator ``a`` agrees with the *other* annotators of the same items.

    ``r_a = sum_n (c[i_n, l_n] - 1) / sum_n (N_{i_n} - 1)`` over ``a``'s annotations (items with one
    annotation weigh 0); an annotator who shares no item with anyone gets the mean of the others.
    """
    ann = annotations
    n = counts.sum(axis=1)
    same = counts[ann.item, ann.label] - 1.0
    others = n[ann.item] - 1.0
    num = np.bincount(ann.annotator, weights=same, minlength=ann.n_annotators)
    den = np.bincount(ann.annotator, weights=others, minlength=ann.n_annotators)
    r = np.divide(num, den, out=np.full(ann.n_annotators, np.nan), where=den > 0)
    if np.isnan(r).all():
        raise InvalidAnnotationsError(
            "no two annotators labelled the same item, so their agreement (and "
            "CROWDLAB's weights) cannot be estimated; collect overlapping labels"
        )
    r[np.isnan(r)] = np.nanmean(r)
    return r


def _baseline_error(labels: np.ndarray, multi: np.ndarray, k: int) -> float:
    """Error of always predicting the most common consensus class on the multi-annotated items (floored)."""
    sub = labels[multi]
    mode = np.bincount(sub, minlength=k).argmax()
    return max(EPS_CLIP, float(np.mean(sub != mode)))


def crowdlab_stats(
    annotations: Annotations,
    pred_probs: np.ndarray | None,
    labels: np.ndarray,
    counts: np.ndarray | None = None,
    quality: str = "crowdlab",
) -> CrowdLabStats:
    """One CROWDLAB pass (Goh, Tkachenko and Mueller 2022, section 3) for the consensus ``labels``.

    With ``pred_probs=None`` the model term is dropped (``w_M = 0``): a model-free ensemble of one-coin
    annotator votes, used by the active-learning scores when no classifier is available.
    """
    counts = annotations.vote_counts() if counts is None else counts
    k = annotations.n_classes
    n = counts.sum(axis=1)
    multi = n >= 2
    if not multi.any():
        raise InvalidAnnotationsError(
            "CROWDLAB needs some items with two or more annotations to estimate how "
            "reliable the annotators are; every item here has at most one"
        )
    agree = _agreement(counts, labels)
    p_agree = float(agree[multi].mean())
    p_dis = (1.0 - p_agree) / (k - 1)
    eps_base = _baseline_error(labels, multi, k)
    w_ann = np.maximum(EPS_CLIP, 1.0 - (1.0 - agreement_with_others(annotations, counts)) / eps_base)
    if pred_probs is None:
        w_model = 0.0
    else:
        eps_model = float(np.mean(pred_probs[multi].argmax(axis=1) != labels[multi]))
        w_model = max(EPS_CLIP, 1.0 - eps_model / eps_base) * float(np.sqrt(n.mean()))
    if quality == "agreement":
        post = np.divide(counts, n[:, None], out=np.full_like(counts, 1.0 / k), where=n[:, None] > 0)
        cq = agree
    else:
        weighted = annotations.vote_counts(w_ann[annotations.annotator])
        w_items = weighted.sum(axis=1, keepdims=True)
        post = w_items * p_dis + (p_agree - p_dis) * weighted
        if pred_probs is not None:
            post += w_model * pred_probs
        total = w_items + w_model
        post = np.divide(post, total, out=np.full_like(post, 1.0 / k), where=total > 0)
        cq = post[np.arange(len(labels)), labels]
    return CrowdLabStats(labels, post, agree, cq, w_model, w_ann, p_agree, eps_base)


def refine_labels(post: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """``argmax`` of the posterior; where the top is tied, keep ``fallback`` (the majority vote)."""
    top = post.max(axis=1, keepdims=True)
    unique = (post == top).sum(axis=1) == 1
    return np.where(unique, post.argmax(axis=1), fallback)


# ====================================================================== per-annotator scores
def annotator_scores(
    annotations: Annotations, stats: CrowdLabStats, counts: np.ndarray, quality: str = "crowdlab"
) -> dict[str, np.ndarray]:
    """Quality score, label quality, weight and worst class of every annotator (Goh et al. 2022)."""
    ann = annotations
    a = ann.n_annotators
    q = stats.post[ann.item, ann.label]
    n_lab = np.bincount(ann.annotator, minlength=a).astype(np.float64)
    lq = np.divide(
        np.bincount(ann.annotator, weights=q, minlength=a), n_lab, out=np.full(a, np.nan), where=n_lab > 0
    )
    multi = (counts.sum(axis=1) >= 2)[ann.item]
    hit = (ann.label == stats.labels[ann.item]) & multi
    n_multi = np.bincount(ann.annotator, weights=multi.astype(float), minlength=a)
    agc = np.divide(
        np.bincount(ann.annotator, weights=hit.astype(float), minlength=a),
        n_multi,
        out=np.full(a, np.nan),
        where=n_multi > 0,
    )
    if quality == "agreement":
        score = agc.copy()
    else:
        sizes = counts.sum(axis=1)
        w = stats.model_weight / (stats.model_weight + stats.annotator_weights.sum() * sizes.mean() / a)
        score = np.where(np.isnan(agc), lq, w * lq + (1.0 - w) * agc)  # no shared item: label quality alone
    missing = np.isnan(score)
    if missing.any() and not missing.all():
        score[missing] = np.nanmean(score)
    return {
        "quality": score,
        "label_quality": lq,
        "weight": stats.annotator_weights,
        "worst_class": worst_class(ann, stats.labels, stats.consensus_quality),
    }


def worst_class(annotations: Annotations, labels: np.ndarray, consensus_quality: np.ndarray) -> np.ndarray:
    """The label each annotator gives that agrees least often with the consensus (cleanlab's ``worst_class``).

    Grouped by the label the annotator *gave*. Ties go to the label the annotator used most, then to the one
    whose items have the highest mean consensus quality, then to the lowest class code. An annotator with no
    label gets the first class.
    """
    ann = annotations
    k = ann.n_classes
    key = ann.annotator.astype(np.int64) * k + ann.label
    size = ann.n_annotators * k
    used = np.bincount(key, minlength=size).reshape(-1, k).astype(np.float64)
    hits = np.bincount(key, weights=(ann.label == labels[ann.item]).astype(float), minlength=size).reshape(
        -1, k
    )
    cq = np.bincount(key, weights=consensus_quality[ann.item], minlength=size).reshape(-1, k)
    acc = np.divide(hits, used, out=np.zeros_like(hits), where=used > 0)
    mean_cq = np.divide(cq, used, out=np.zeros_like(cq), where=used > 0)
    cand = used > 0
    cand = keep_best(cand, acc, largest=False)
    cand = keep_best(cand, used, largest=True)
    cand = keep_best(cand, mean_cq, largest=True)
    return np.asarray(ann.classes, dtype=object)[cand.argmax(axis=1)]


def _looks_in_sample(pred_probs: np.ndarray, labels: np.ndarray) -> bool:
    """A model that is right about the consensus everywhere *and* near-certain (mean top probability > 0.95)
    on more than 20 items has most likely seen those labels in training."""
    return (
        len(labels) > 20
        and bool(np.array_equal(pred_probs.argmax(axis=1), labels))
        and float(pred_probs.max(axis=1).mean()) > 0.95
    )


def _warn_odd(annotations: Annotations, stats: CrowdLabStats, pred_probs: np.ndarray | None) -> None:
    if stats.baseline_error <= EPS_CLIP:
        warnings.warn(
            "every multi-annotated item has the same consensus class, so CROWDLAB's weights "
            "(relative to always predicting that class) are degenerate; treat its scores with care",
            DataQualityWarning,
            stacklevel=4,
        )
    if pred_probs is not None and _looks_in_sample(pred_probs, stats.labels):
        warnings.warn(
            "the model agrees with the consensus on every item with near-certain probabilities, as "
            "in-sample predictions do; CROWDLAB needs out-of-sample pred_probs (e.g. sklearn's "
            "cross_val_predict)",
            DataQualityWarning,
            stacklevel=4,
        )
    present = np.unique(annotations.label)
    lost = np.setdiff1d(present, np.unique(stats.labels))
    if len(lost):
        warnings.warn(
            f"class(es) {show_values(annotations.classes[lost])} were given by annotators but are the "
            "consensus of no item",
            DataQualityWarning,
            stacklevel=4,
        )


# ====================================================================== the model
Method = Literal["best_quality", "majority_vote"]
Quality = Literal["crowdlab", "agreement"]


class PredProbsMixin:
    """``fit(annotations, *, pred_probs, gold=None)`` for models that read a classifier's predicted
    probabilities.

    ``pred_probs`` is validated against the annotations once (:func:`check_pred_probs`), held in
    ``self._pred_probs`` while the model's ``_fit`` runs, then released. ``missing_hint`` is the model's
    advice when ``pred_probs`` is not given. Both inputs are keyword-only: ``fit(annotations, gold)`` would
    otherwise read the gold labels as predicted probabilities.
    """

    requires: ClassVar[tuple[str, ...]] = ("pred_probs",)
    accepts: ClassVar[tuple[str, ...]] = ("pred_probs", "gold")
    accepts_pred_probs = True
    requires_pred_probs = True
    missing_hint = "pass a classifier's out-of-sample predicted probabilities (items x classes)"

    def fit(
        self, annotations: Annotations | pd.DataFrame, *args: Any, pred_probs: Any = None, gold: Any = None
    ) -> Any:
        """Fit from annotations and out-of-sample ``pred_probs`` (keyword-only: a DataFrame by item id, or an
        array in ``annotations.items`` order). ``gold`` items, if given, are set to their known class in the
        output."""
        check_no_positional(self, args)
        if pred_probs is None:
            raise InvalidParameterError(f"{type(self).__name__} needs pred_probs: {self.missing_hint}")
        ann = as_annotations(annotations)
        self._pred_probs = check_pred_probs(pred_probs, ann)
        try:
            return super().fit(ann, gold=gold)  # type: ignore[misc]
        finally:
            del self._pred_probs


class CrowdLab(PredProbsMixin, Aggregator):
    r"""CROWDLAB: consensus from the annotators' labels and a classifier's out-of-sample ``pred_probs``.

    Parameters
    ----------
    consensus : {"best_quality", "majority_vote"}, default "best_quality"
        ``"majority_vote"`` keeps the majority vote (ties broken by ``pred_probs``, then the rarest class,
        then the annotators' agreement, then at random); ``"best_quality"`` moves each item to the top class
        of the ensemble posterior and recomputes the weights once with that consensus.
    quality : {"crowdlab", "agreement"}, default "crowdlab"
        ``"agreement"`` scores items by the share of annotators who agree with the consensus and annotators by
        their agreement with it, ignoring the model.
    calibrate : bool or float, default False
        Temperature-scale ``pred_probs`` first to best match the annotators' vote shares (``temperature_``,
        see :func:`best_temperature`); a number is used as the temperature.
    random_state : int, Generator or None
        Used only for the last-resort random tie-break of the majority vote.

    Attributes
    ----------
    labels_, proba_, consensus_ : the usual results. ``consensus_.item_quality`` adds ``consensus_quality``;
        ``consensus_.annotator_quality`` has CROWDLAB's ``quality`` plus ``label_quality`` (mean posterior of
        the annotator's labels), ``weight`` (``w_a``) and cleanlab's ``worst_class``; ``accuracy`` is the
        agreement with the consensus; ``consensus_.annotation_quality`` adds ``label_quality`` (posterior of
        the label given).
    majority_vote_ : Series, the first-pass consensus.
    model_weight_ : float, ``w_M``.   annotator_weights_ : Series, ``w_a``.
    consensus_likelihood_ : float, ``P_agree``.   temperature_ : float (1.0 unless ``calibrate``).

    Notes
    -----
    With ``y`` the current consensus, ``M`` the items with ``N_i >= 2`` annotations, ``c[i,k]`` the votes and
    ``p`` the predicted probabilities:

    .. math::

        P = \operatorname{mean}_{i\in M} \frac{c_{i y_i}}{N_i},\quad
        \epsilon_0 = \operatorname{mean}_{i \in M} 1[y_i \ne \operatorname{mode}(y)],\quad
        r_a = \frac{\sum_{n \in a} (c_{i_n l_n} - 1)}{\sum_{n \in a} (N_{i_n} - 1)}

        w_a = \max(10^{-6}, 1 - (1 - r_a)/\epsilon_0),\quad
        w_M = \max(10^{-6}, 1 - \epsilon_M/\epsilon_0)\sqrt{\bar N},\quad
        \epsilon_M = \operatorname{mean}_{i\in M} 1[\arg\max_k p_{ik} \ne y_i]

        \hat p_{ik} = \frac{w_M p_{ik} + \sum_{n \in i} w_{a_n}\,(P \text{ if } l_n = k
        \text{ else } \tfrac{1-P}{K-1})}{w_M + \sum_{n \in i} w_{a_n}}

    Consensus quality is ``p̂[i, y_i]``, a label's quality ``p̂[i, l_n]``; an annotator's quality is
    ``W * mean(label quality) + (1 - W) * agreement with y on multi-annotated items`` with
    ``W = w_M / (w_M + sum_a w_a * mean(N) / A)`` (label quality alone for an annotator who shares no item).
    Everything is a handful of ``bincount`` calls: O(annotations + items x K).

    ``pred_probs`` must be **out-of-sample** (cross-validated): in-sample predictions make ``w_M`` huge and
    the method circular (a :class:`~accord.DataQualityWarning` flags a model that agrees with the consensus
    everywhere).

    References
    ----------
    H. W. Goh, U. Tkachenko and J. Mueller (2022). CROWDLAB: Supervised learning to infer consensus labels and
    quality scores for data with multiple annotators. NeurIPS 2022 Workshop on Human in the Loop Learning.
    arXiv:2210.06812

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 2, 2, 3], "annotator": list("ababa"), "label": list("xxyxy")})
    >>> p = pd.DataFrame({"x": [0.9, 0.3, 0.2], "y": [0.1, 0.7, 0.8]}, index=[1, 2, 3])
    >>> CrowdLab().fit(df, pred_probs=p).labels_.tolist()
    ['x', 'y', 'y']
    """

    name = "crowdlab"
    missing_hint = (
        "a classifier's out-of-sample predicted probabilities (items x classes); see "
        "accord.planning.loop.model_loop to make them"
    )

    def __init__(
        self,
        *,
        consensus: Method = "best_quality",
        quality: Quality = "crowdlab",
        calibrate: bool = False,
        random_state: int | np.random.Generator | None = None,
    ):
        self.consensus = consensus
        self.quality = quality
        self.calibrate = calibrate
        self.random_state = random_state

    def _check_params(self) -> None:
        if self.consensus not in ("best_quality", "majority_vote"):
            raise InvalidParameterError(
                f"consensus must be 'best_quality' or 'majority_vote', got {self.consensus!r}"
            )
        if self.quality not in ("crowdlab", "agreement"):
            raise InvalidParameterError(f"quality must be 'crowdlab' or 'agreement', got {self.quality!r}")

    def _fit(self, annotations, rng, gold):
        self._check_params()
        if annotations.n_classes < 2:
            raise InvalidParameterError(
                f"CrowdLab needs at least 2 classes; the data have "
                f"{list(annotations.classes)}. Pass classes=..."
            )
        p = self._pred_probs
        self.temperature_ = resolve_temperature(self.calibrate, annotations, p)
        if self.temperature_ != 1.0:
            p = temperature_scale(p, self.temperature_)
        counts = annotations.vote_counts()
        mv = cleanlab_majority_vote(annotations, p, rng, counts)
        stats = crowdlab_stats(annotations, p, mv, counts, self.quality)
        if self.consensus == "best_quality":
            stats = crowdlab_stats(annotations, p, refine_labels(stats.post, mv), counts, self.quality)
        _warn_odd(annotations, stats, p)
        self._store(annotations, stats, mv)
        scores = annotator_scores(annotations, stats, counts, self.quality)
        return Consensus(
            annotations,
            stats.post,
            "CrowdLab",
            labels=stats.labels,
            params=self.get_params(),
            item_scores={"consensus_quality": stats.consensus_quality},
            annotator_scores=scores,
            annotation_scores={"label_quality": stats.post[annotations.item, annotations.label]},
        )

    def _store(self, annotations: Annotations, stats: CrowdLabStats, mv: np.ndarray) -> None:
        classes = np.asarray(annotations.classes, dtype=object)
        self.majority_vote_ = pd.Series(classes[mv], index=annotations.items, name="label")
        self.model_weight_ = stats.model_weight
        self.annotator_weights_ = pd.Series(
            stats.annotator_weights, index=annotations.annotators, name="weight"
        )
        self.consensus_likelihood_ = stats.consensus_likelihood
