r"""cleanlab's multi-annotator functions (``cleanlab.multiannotator``), computed by accord's CROWDLAB.

The functions here take cleanlab's arguments and return its output keys and column names, so that

.. code-block:: python

    from cleanlab.multiannotator import get_label_quality_multiannotator   # before
    from accord.compat.cleanlab import get_label_quality_multiannotator    # after

is the only change a program needs. The input is cleanlab's wide matrix ``labels_multiannotator`` (a
DataFrame or array, items x annotators, class codes ``0..K-1`` and ``NaN`` where an annotator did not label an
item; a DataFrame's columns are the annotator ids) and a classifier's out-of-sample ``pred_probs`` (N x K).

- :func:`get_label_quality_multiannotator`: consensus labels and their quality (``label_quality``), the
  quality of every given label (``detailed_label_quality``) and of every annotator (``annotator_stats``);
- :func:`get_label_quality_multiannotator_ensemble`: the same with several classifiers (``pred_probs`` of
  shape models x items x K);
- :func:`get_majority_vote_label`: majority vote with cleanlab's tie rules;
- :func:`get_active_learning_scores`: ActiveLab scores of labelled and unlabelled items (lower = label next).

The scores are those of :class:`accord.CrowdLab` and :func:`accord.active_learning_scores` (see them for the
mathematics and references) and equal cleanlab 2.9's to 1e-12. In two places cleanlab 2.9 counts an item's
votes by *compressing* them (the counts of the classes present, in class order, then zeros: ``value_counts``
on float labels), which misplaces the votes of an item that lacks some class:

- the temperature search (``calibrate_probs=True``, and :func:`get_active_learning_scores`) is reproduced as
  cleanlab runs it, so the temperatures and scores are cleanlab's: 7.25 on cleanlab's tutorial data, where
  correctly placed votes give 2.0 (the temperature :class:`accord.CrowdLab` with ``calibrate=True`` and
  :func:`accord.active_learning_scores` find);
- ``quality_method="agreement"`` uses the correctly placed vote shares, so its per-label qualities and its
  ``"best_quality"`` consensus can differ from cleanlab's, which gives, e.g., the consensus 0 to an item whose
  two annotators both said 2.

The last-resort random tie-break of the majority vote draws from ``random_state`` (an extra, optional keyword;
cleanlab draws from NumPy's global generator). ``verbose=False`` silences accord's
:class:`~accord.DataQualityWarning` as cleanlab's ``verbose=False`` silences its printed notes.

Examples
--------
>>> import numpy as np
>>> from accord.compat.cleanlab import get_label_quality_multiannotator
>>> labels = np.array([[0, 0, np.nan], [1, 1, 0], [0, np.nan, 0], [1, 0, 1]])
>>> pred_probs = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.4, 0.6]])
>>> out = get_label_quality_multiannotator(labels, pred_probs, verbose=False)
>>> out["label_quality"]["consensus_label"].tolist()
[0, 1, 0, 1]
>>> list(out["annotator_stats"].columns)
['annotator_quality', 'agreement_with_consensus', 'worst_class', 'num_examples_labeled']
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from accord import (
    Annotations,
    CrowdLab,
    DataQualityWarning,
    InvalidAnnotationsError,
    InvalidParameterError,
    active_learning_scores,
)
from accord.models.crowdlab import cleanlab_majority_vote, crowdlab_stats, refine_labels, worst_class

__all__ = [
    "find_best_temp_scaler",
    "get_active_learning_scores",
    "get_label_quality_multiannotator",
    "get_label_quality_multiannotator_ensemble",
    "get_majority_vote_label",
    "temp_scale_pred_probs",
]

CONSENSUS_METHODS = ("majority_vote", "best_quality")
QUALITY_METHODS = ("crowdlab", "agreement")
SCORE_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
CLIPPING_LOWER_BOUND = 1e-6  # cleanlab's floor of self-confidence and of scores
THRESHOLD_LOWER_BOUND = 2e-6  # cleanlab's floor of a class's confident threshold
ABSENT_THRESHOLD = 2.0  # cleanlab's threshold of a class no label names
SMALL_CONST = 1e-30
COARSE_TEMPERATURES = (0.1, 0.2, 0.5, 0.8, 1.0, 2.0, 3.0, 5.0, 8.0)


# ====================================================================== inputs
@dataclass
class _Wide:
    """The wide matrix as floats, its item index and annotator ids (None for an array), its annotations."""

    values: np.ndarray
    index: pd.Index | None
    annotator_ids: pd.Index | None
    annotations: Annotations

    @property
    def ids(self) -> pd.Index:
        return self.annotator_ids if self.annotator_ids is not None else pd.RangeIndex(self.values.shape[1])


def _as_float_matrix(labels_multiannotator: Any) -> tuple[np.ndarray, pd.Index | None, pd.Index | None]:
    if isinstance(labels_multiannotator, pd.DataFrame):
        frame = labels_multiannotator
        try:
            values = frame.astype(object).where(frame.notna(), np.nan).to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidAnnotationsError(
                "labels_multiannotator must hold class codes 0..K-1 (numbers) or NaN; convert text labels "
                "first, e.g. with accord.Annotations.from_wide(frame)"
            ) from None
        return values, frame.index, frame.columns
    if isinstance(labels_multiannotator, np.ndarray):
        try:
            return labels_multiannotator.astype(np.float64), None, None
        except (TypeError, ValueError):
            raise InvalidAnnotationsError(
                "labels_multiannotator must hold class codes 0..K-1 or NaN"
            ) from None
    raise InvalidAnnotationsError(
        f"labels_multiannotator must be a NumPy array or a pandas DataFrame (items x annotators); got "
        f"{type(labels_multiannotator).__name__}"
    )


def _wide(labels_multiannotator: Any, n_classes: int | None, *, single_label_ok: bool = False) -> _Wide:
    """Validate cleanlab's wide matrix and encode it as ``Annotations`` (items and annotators by position)."""
    values, index, ids = _as_float_matrix(labels_multiannotator)
    if values.ndim != 2:
        raise InvalidAnnotationsError(
            f"labels_multiannotator must be 2-D (items x annotators), got shape {values.shape}"
        )
    present = ~np.isnan(values)
    name = (lambda j: ids[j]) if ids is not None else (lambda j: j)
    empty_cols = np.flatnonzero(~present.any(axis=0))
    if len(empty_cols):
        raise InvalidAnnotationsError(
            f"annotator(s) {[name(j) for j in empty_cols[:5]]} labelled no item; every "
            "column of labels_multiannotator needs at least one label: drop them"
        )
    empty_rows = np.flatnonzero(~present.any(axis=1))
    if len(empty_rows):
        raise InvalidAnnotationsError(
            f"item(s) at row(s) {empty_rows[:5].tolist()} have no label; every row "
            "needs at least one: drop them"
        )
    if not single_label_ok:
        if values.shape[1] <= 1:
            raise InvalidAnnotationsError(
                "labels_multiannotator has one annotator; multi-annotator quality needs "
                "two or more (use accord.CrowdLab or a single-label method instead)"
            )
        if (present.sum(axis=1) == 1).all():
            raise InvalidAnnotationsError(
                "every item has exactly one label, so the annotators cannot be compared; "
                "collect overlapping labels"
            )
    given = values[present]
    k = int(np.max(given)) + 1 if n_classes is None else n_classes
    bad = (given != np.round(given)) | (given < 0) | (given >= k)
    if bad.any():
        raise InvalidAnnotationsError(
            f"labels must be class codes 0..{k - 1} (K = {k}, the columns of pred_probs) or NaN; found "
            f"{sorted(set(given[bad].tolist()))[:5]}. Map labels to codes first (e.g. with "
            "accord.Annotations.from_wide)"
        )
    rows, cols = np.nonzero(present)
    ann = Annotations(
        rows,
        cols,
        values[rows, cols].astype(np.int64),
        pd.RangeIndex(values.shape[0], name="item"),
        pd.RangeIndex(values.shape[1], name="annotator"),
        pd.Index(range(k), name="class"),
    )
    return _Wide(values, index, ids, ann)


def _probs(pred_probs: Any, n_items: int, name: str = "pred_probs", ndim: int = 2) -> np.ndarray:
    if not isinstance(pred_probs, np.ndarray):
        raise InvalidParameterError(f"{name} must be a NumPy array, got {type(pred_probs).__name__}")
    p = np.asarray(pred_probs, dtype=np.float64)
    if p.ndim != ndim:
        hint = " (several models: use get_label_quality_multiannotator_ensemble)" if p.ndim == 3 else ""
        raise InvalidParameterError(f"{name} must be a {ndim}-D array, got shape {p.shape}{hint}")
    if p.shape[-2] != n_items and n_items >= 0:
        raise InvalidAnnotationsError(
            f"{name} has {p.shape[-2]} rows but labels_multiannotator has {n_items} "
            "items; give one row per item, in the same order"
        )
    if not np.isfinite(p).all() or (p < 0).any():
        raise InvalidAnnotationsError(f"{name} must hold probabilities (finite, >= 0)")
    if p.shape[-1] < 2:
        raise InvalidAnnotationsError(f"{name} must have a column per class, at least 2; got {p.shape[-1]}")
    return p


def _methods(consensus_method: str | list[str]) -> list[str]:
    methods = [consensus_method] if isinstance(consensus_method, str) else list(consensus_method)
    bad = [m for m in methods if m not in CONSENSUS_METHODS]
    if bad or not methods:
        raise InvalidParameterError(
            f"consensus_method must be one of {CONSENSUS_METHODS} or a list of them; got {consensus_method!r}"
        )
    return methods


def _score_options(kwargs: dict[str, Any] | None) -> tuple[str, bool]:
    options = dict(kwargs or {})
    method = options.pop("method", "self_confidence")
    adjust = bool(options.pop("adjust_pred_probs", False))
    if options:
        raise InvalidParameterError(
            f"label_quality_score_kwargs takes 'method' and 'adjust_pred_probs'; got {sorted(options)}"
        )
    if method not in SCORE_METHODS:
        raise InvalidParameterError(
            f"label_quality_score_kwargs['method'] must be one of {SCORE_METHODS}, got {method!r}"
        )
    if adjust and method == "confidence_weighted_entropy":
        raise InvalidParameterError(
            "adjust_pred_probs is not supported with method='confidence_weighted_entropy'"
        )
    return method, adjust


# ====================================================================== label quality scores (cleanlab.rank)
def label_quality_scores(
    labels: np.ndarray,
    probs: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    method: str = "self_confidence",
    adjust_pred_probs: bool = False,
) -> np.ndarray:
    r"""cleanlab's ``get_label_quality_scores`` for many rows at once, optionally in separate groups.

    Parameters
    ----------
    labels : ndarray of int, shape (n,)
    probs : ndarray, shape (n, K)
        The probabilities of the item each row scores.
    groups : ndarray of int, shape (n,), optional
        Rows of one group are scored as one call of cleanlab's function (the confident thresholds of
        ``adjust_pred_probs`` are per group); default one group.
    method : {"self_confidence", "normalized_margin", "confidence_weighted_entropy"}
    adjust_pred_probs : bool
        Subtract each class's confident threshold ``t_k`` (the mean ``p[n, k]`` of the rows labelled ``k``;
        2 for a class no row names; floored at 2e-6), add ``max_k t_k`` and renormalise, before scoring.

    Notes
    -----
    With ``s = p[n, label]``: self-confidence ``s``; normalized margin ``(s - max_{k!=label} p[n,k] + 1)/2``;
    confidence-weighted entropy ``log(x + 1) / max(x, 1e-6)`` with ``x = H(p_n) / max(s, 1e-6)``, ``H`` the
    entropy in base ``K``.
    """
    n, k = probs.shape
    rows = np.arange(n)
    if adjust_pred_probs:
        probs = _adjusted(labels, probs, np.zeros(n, np.int64) if groups is None else groups)
    self_conf = probs[rows, labels]
    if method == "self_confidence":
        return self_conf
    if method == "normalized_margin":
        others = probs.copy()
        others[rows, labels] = -np.inf
        return (self_conf - others.max(axis=1) + 1.0) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.sum(np.where(probs > 0, probs * np.log(np.where(probs > 0, probs, 1.0)), 0.0), axis=1)
    score = entropy / np.log(k) / np.clip(self_conf, CLIPPING_LOWER_BOUND, None)
    return np.log(score + 1.0) / np.clip(score, CLIPPING_LOWER_BOUND, None)


def _adjusted(labels: np.ndarray, probs: np.ndarray, groups: np.ndarray) -> np.ndarray:
    k = probs.shape[1]
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    key = groups.astype(np.int64) * k + labels
    total = np.bincount(key, weights=probs[np.arange(len(labels)), labels], minlength=n_groups * k)
    count = np.bincount(key, minlength=n_groups * k)
    thresholds = np.divide(total, count, out=np.full(n_groups * k, ABSENT_THRESHOLD), where=count > 0)
    thresholds = np.clip(thresholds, THRESHOLD_LOWER_BOUND, None).reshape(n_groups, k)[groups]
    adjusted = probs - thresholds + thresholds.max(axis=1, keepdims=True)
    return adjusted / adjusted.sum(axis=1, keepdims=True)


# ====================================================================== temperature (cleanlab's search)
def _compressed_vote_shares(ann: Annotations) -> np.ndarray:
    """Each item's vote shares as cleanlab 2.9's search counts them: the shares of the classes present, in
    class order, then zeros (so an item lacking some class has its shares moved to the first columns)."""
    counts = ann.vote_counts()
    order = np.argsort(counts == 0, axis=1, kind="stable")
    compressed = np.take_along_axis(counts, order, axis=1)
    return compressed / compressed.sum(axis=1, keepdims=True)


def _softmax_of_log(pred_probs: np.ndarray, temperature: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        logits = np.log(pred_probs) / max(float(temperature), 1e-10)
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def find_best_temp_scaler(
    labels_multiannotator: Any,
    pred_probs: np.ndarray,
    coarse_search_range: tuple[float, ...] = COARSE_TEMPERATURES,
    fine_search_size: int = 4,
) -> float:
    """The temperature cleanlab 2.9 chooses for ``pred_probs``: the lowest mean soft cross-entropy (base K)
    between the scaled probabilities and the annotators' vote shares, counted as cleanlab counts them, on a
    coarse grid and then a finer one around its best point (``fine_search_size`` points below, +1 above)."""
    p = _probs(pred_probs, -1)
    wide = _wide(labels_multiannotator, p.shape[1], single_label_ok=True)
    shares = _compressed_vote_shares(wide.annotations)
    k = p.shape[1]

    def loss(t: float) -> float:
        scaled = np.clip(_softmax_of_log(p, t), SMALL_CONST, None)
        return float(np.mean(-np.sum(shares * np.log(scaled), axis=1) / np.log(k)))

    grid = list(coarse_search_range)
    best = int(np.argmin([loss(t) for t in grid]))
    fine: list[float] = []
    if best > 0:
        fine += list(np.linspace(grid[best - 1], grid[best], fine_search_size, endpoint=False))
    if best < len(grid) - 1:
        fine += list(np.linspace(grid[best], grid[best + 1], fine_search_size + 1))
    fine = fine or [grid[best]]
    return float(fine[int(np.argmin([loss(t) for t in fine]))])


def temp_scale_pred_probs(pred_probs: np.ndarray, temp: float) -> np.ndarray:
    """cleanlab's temperature scaling: ``softmax(log p / temp)`` after flooring ``p`` at 1e-30."""
    p = np.clip(np.asarray(pred_probs, dtype=np.float64), SMALL_CONST, None)
    return _softmax_of_log(p / p.sum(axis=1, keepdims=True), temp)


# ====================================================================== consensus fits
@dataclass
class _Fit:
    """One consensus: codes, posterior, and CROWDLAB's weights (None for the agreement method)."""

    labels: np.ndarray
    post: np.ndarray
    model_weight: Any
    annotator_weight: np.ndarray | None


def _seed(random_state: int | np.random.Generator | None) -> int:
    return int(np.random.default_rng(random_state).integers(2**62))


def _crowdlab_fit(
    ann: Annotations, pred_probs: np.ndarray, method: str, quality_method: str, seed: int, verbose: bool
) -> _Fit:
    model = CrowdLab(consensus=method, quality=quality_method, random_state=seed)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        if not verbose:
            warnings.simplefilter("ignore", DataQualityWarning)
        model.fit(ann, pred_probs=pred_probs)
    consensus = model.consensus_
    if quality_method != "crowdlab":
        return _Fit(consensus.label_codes, consensus.proba_array, None, None)
    weights = model.annotator_weights_.reindex(ann.annotators).to_numpy(dtype=np.float64)
    return _Fit(consensus.label_codes, consensus.proba_array, float(model.model_weight_), weights)


def _ensemble_fit(ann: Annotations, pred_probs: np.ndarray, labels: np.ndarray) -> _Fit:
    """CROWDLAB with several models: each model ``m`` gets its own weight ``w_m`` (its error on the items with
    2+ labels against the baseline); the posterior averages all models and annotators with their weights."""
    counts = ann.vote_counts()
    stats = crowdlab_stats(ann, None, labels, counts)
    n = counts.sum(axis=1)
    multi = n >= 2
    errors = (pred_probs[:, multi].argmax(axis=2) != labels[multi]).mean(axis=1)
    w_models = np.maximum(CLIPPING_LOWER_BOUND, 1.0 - errors / stats.baseline_error) * np.sqrt(n.mean())
    w_items = np.bincount(ann.item, weights=stats.annotator_weights[ann.annotator], minlength=ann.n_items)
    numerator = w_items[:, None] * stats.post + np.einsum("m,mik->ik", w_models, pred_probs)
    post = numerator / (w_items + w_models.sum())[:, None]
    return _Fit(labels, post, w_models, stats.annotator_weights)


# ====================================================================== outputs
def _agreement(ann: Annotations, labels: np.ndarray) -> np.ndarray:
    counts = ann.vote_counts()
    return counts[np.arange(len(labels)), labels] / counts.sum(axis=1)


def _consensus_quality(wide: _Wide, fit: _Fit, quality_method: str, score: tuple[str, bool]) -> np.ndarray:
    if quality_method == "agreement":
        return _agreement(wide.annotations, fit.labels)
    return label_quality_scores(fit.labels, fit.post, method=score[0], adjust_pred_probs=score[1])


def _detailed(wide: _Wide, fit: _Fit, score: tuple[str, bool]) -> np.ndarray:
    """Items x annotators: the quality of each given label (NaN where none), scored per annotator column."""
    ann = wide.annotations
    out = np.full(wide.values.shape, np.nan)
    out[ann.item, ann.annotator] = label_quality_scores(
        ann.label.astype(np.int64),
        fit.post[ann.item],
        ann.annotator.astype(np.int64),
        method=score[0],
        adjust_pred_probs=score[1],
    )
    return out


def _per_annotator_mean(ann: Annotations, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``values`` (one per annotation) over each annotator's annotations where ``mask`` (else NaN)."""
    total = np.bincount(ann.annotator, weights=np.where(mask, values, 0.0), minlength=ann.n_annotators)
    count = np.bincount(ann.annotator, weights=mask.astype(np.float64), minlength=ann.n_annotators)
    return np.divide(total, count, out=np.full(ann.n_annotators, np.nan), where=count > 0)


def _annotator_stats(
    wide: _Wide,
    fit: _Fit,
    model_weight: float | None,
    quality_method: str,
    consensus_quality: np.ndarray,
    detailed: np.ndarray | None,
) -> pd.DataFrame:
    ann = wide.annotations
    n = ann.vote_counts().sum(axis=1)
    hit = (ann.label == fit.labels[ann.item]).astype(np.float64)
    everywhere = np.ones(ann.n_annotations, dtype=bool)
    multi_agreement = _per_annotator_mean(ann, hit, n[ann.item] != 1)
    if quality_method == "agreement":
        quality = multi_agreement
    else:
        if detailed is not None:
            label_quality = np.nanmean(detailed, axis=0)
        else:  # cleanlab scores each annotator's labels by self-confidence here, whatever the score options
            label_quality = _per_annotator_mean(ann, fit.post[ann.item, ann.label], everywhere)
        assert fit.annotator_weight is not None and model_weight is not None
        spread = float(np.sum(fit.annotator_weight)) * float(np.mean(n)) / ann.n_annotators
        w = model_weight / (model_weight + spread)
        quality = w * label_quality + (1.0 - w) * multi_agreement
    frame = pd.DataFrame(
        {
            "annotator_quality": quality,
            "agreement_with_consensus": _per_annotator_mean(ann, hit, everywhere),
            "worst_class": worst_class(ann, fit.labels, consensus_quality).astype(np.int64),
            "num_examples_labeled": ann.annotator_sizes().astype(np.int64),
        },
        index=wide.annotator_ids,
    )
    return frame.sort_values(by=["annotator_quality", "agreement_with_consensus"])


def _assemble(
    wide: _Wide,
    fits: list[tuple[str, _Fit]],
    quality_method: str,
    score: tuple[str, bool],
    *,
    return_detailed_quality: bool,
    return_annotator_stats: bool,
    return_weights: bool,
    stats_model_weight: Any = None,
) -> dict[str, Any]:
    """cleanlab's output dict from the consensus fits (the first is the main one)."""
    n = wide.annotations.vote_counts().sum(axis=1).astype(np.int64)
    label_quality = pd.DataFrame({"num_annotations": n}, index=wide.index)
    main_name, main = fits[0]
    cq = _consensus_quality(wide, main, quality_method, score)
    label_quality["consensus_label"] = main.labels.astype(np.int64)
    label_quality["consensus_quality_score"] = cq
    label_quality["annotator_agreement"] = _agreement(wide.annotations, main.labels)
    label_quality = label_quality[
        ["consensus_label", "consensus_quality_score", "annotator_agreement", "num_annotations"]
    ]
    for name, fit in fits[1:]:
        label_quality[f"consensus_label_{name}"] = fit.labels.astype(np.int64)
        label_quality[f"consensus_quality_score_{name}"] = _consensus_quality(
            wide, fit, quality_method, score
        )
        label_quality[f"annotator_agreement_{name}"] = _agreement(wide.annotations, fit.labels)
    out: dict[str, Any] = {"label_quality": label_quality}
    detailed = (
        _detailed(wide, main, score) if return_detailed_quality or quality_method == "crowdlab" else None
    )
    if return_detailed_quality:
        assert detailed is not None
        out["detailed_label_quality"] = pd.DataFrame(detailed, index=wide.index, columns=wide.ids).add_prefix(
            "quality_annotator_"
        )
    if return_annotator_stats:
        weight = main.model_weight if stats_model_weight is None else stats_model_weight
        out["annotator_stats"] = _annotator_stats(
            wide, main, weight, quality_method, cq, detailed if return_detailed_quality else None
        )
    if return_weights:
        last = fits[-1][1]  # cleanlab returns the weights of the last method it computed
        out["model_weight"] = last.model_weight
        out["annotator_weight"] = last.annotator_weight
    return out


# ====================================================================== public functions
def get_label_quality_multiannotator(
    labels_multiannotator: pd.DataFrame | np.ndarray,
    pred_probs: np.ndarray,
    *,
    consensus_method: str | list[str] = "best_quality",
    quality_method: str = "crowdlab",
    calibrate_probs: bool = False,
    return_detailed_quality: bool = True,
    return_annotator_stats: bool = True,
    return_weights: bool = False,
    verbose: bool = True,
    label_quality_score_kwargs: dict[str, Any] | None = None,
    random_state: int | np.random.Generator | None = None,
) -> dict[str, Any]:
    r"""Consensus labels, consensus quality, and the quality of each label and annotator (as cleanlab).

    Parameters
    ----------
    labels_multiannotator : DataFrame or ndarray, shape (N, M)
        Class codes ``0..K-1``, ``NaN`` where annotator ``m`` did not label item ``n``; a DataFrame's columns
        are the annotator ids and its index the item ids.
    pred_probs : ndarray, shape (N, K)
        A classifier's out-of-sample predicted probabilities.
    consensus_method : {"best_quality", "majority_vote"} or list of them
        ``"majority_vote"``: the most chosen class (ties by ``pred_probs``, the rarer class, the better
        annotators, then at random); ``"best_quality"``: the top class of CROWDLAB's posterior. Further
        methods of a list add columns ``consensus_label_<method>``, ``consensus_quality_score_<method>`` and
        ``annotator_agreement_<method>``.
    quality_method : {"crowdlab", "agreement"}
        Quality as CROWDLAB's posterior of the label, or as the share of annotators who agree.
    calibrate_probs : bool
        Temperature-scale ``pred_probs`` first (cleanlab's search, see :func:`find_best_temp_scaler`).
    return_detailed_quality, return_annotator_stats, return_weights : bool
        Add ``detailed_label_quality``, ``annotator_stats``, and ``model_weight`` / ``annotator_weight``
        (``quality_method="crowdlab"`` only).
    verbose : bool
        ``False`` silences accord's data-quality warnings.
    label_quality_score_kwargs : dict, optional
        ``method`` (``"self_confidence"``, ``"normalized_margin"``, ``"confidence_weighted_entropy"``) and
        ``adjust_pred_probs``, as cleanlab's ``get_label_quality_scores``.
    random_state : int, Generator or None
        For the majority vote's last-resort random tie-break.

    Returns
    -------
    dict
        ``label_quality``: DataFrame (one row per item) with ``consensus_label``, ``consensus_quality_score``,
        ``annotator_agreement``, ``num_annotations``; ``detailed_label_quality``: DataFrame items x
        annotators, columns ``quality_annotator_<id>``; ``annotator_stats``: DataFrame (one row per annotator,
        lowest quality first) with ``annotator_quality``, ``agreement_with_consensus``, ``worst_class``,
        ``num_examples_labeled``; ``model_weight`` (float) and ``annotator_weight`` (ndarray (M,)).

    Notes
    -----
    The posterior is CROWDLAB's (:class:`accord.CrowdLab`). An annotator's quality is
    ``W * mean(label quality) + (1 - W) * agreement with the consensus on items with 2+ labels``,
    ``W = w_M / (w_M + sum_a w_a * mean(N) / M)``; it is NaN for an annotator who labelled only single-label
    items (cleanlab's rule; :class:`accord.CrowdLab` uses the label quality alone there).

    References
    ----------
    H. W. Goh, U. Tkachenko and J. Mueller (2022). CROWDLAB: Supervised learning to infer consensus labels and
    quality scores for data with multiple annotators. NeurIPS 2022 Workshop on Human in the Loop Learning.
    arXiv:2210.06812
    """
    p = _probs(pred_probs, -1)
    wide = _wide(labels_multiannotator, p.shape[1])
    _probs(p, wide.values.shape[0])
    methods = _methods(consensus_method)
    if quality_method not in QUALITY_METHODS:
        raise InvalidParameterError(
            f"quality_method must be one of {QUALITY_METHODS}, got {quality_method!r}"
        )
    if return_weights and quality_method != "crowdlab":
        raise InvalidParameterError(
            "model and annotator weights exist for quality_method='crowdlab' only; set "
            "return_weights=False or quality_method='crowdlab'"
        )
    score = _score_options(label_quality_score_kwargs)
    if calibrate_probs:
        p = temp_scale_pred_probs(p, find_best_temp_scaler(wide.values, p))
    seed = _seed(random_state)
    fits = [(m, _crowdlab_fit(wide.annotations, p, m, quality_method, seed, verbose)) for m in methods]
    return _assemble(
        wide,
        fits,
        quality_method,
        score,
        return_detailed_quality=return_detailed_quality,
        return_annotator_stats=return_annotator_stats,
        return_weights=return_weights,
    )


def get_label_quality_multiannotator_ensemble(
    labels_multiannotator: pd.DataFrame | np.ndarray,
    pred_probs: np.ndarray,
    *,
    calibrate_probs: bool = False,
    return_detailed_quality: bool = True,
    return_annotator_stats: bool = True,
    return_weights: bool = False,
    verbose: bool = True,
    label_quality_score_kwargs: dict[str, Any] | None = None,
    random_state: int | np.random.Generator | None = None,
) -> dict[str, Any]:
    r"""As :func:`get_label_quality_multiannotator` with several classifiers (cleanlab's function).

    Parameters
    ----------
    pred_probs : ndarray, shape (P, N, K)
        The out-of-sample predicted probabilities of ``P`` models.
    Others as :func:`get_label_quality_multiannotator` (the consensus is ``"best_quality"``, the quality
    ``"crowdlab"``).

    Returns
    -------
    dict
        As :func:`get_label_quality_multiannotator`; ``model_weight`` is an array of ``P`` weights.

    Notes
    -----
    The majority vote breaks ties by the models' mean ``pred_probs``. With ``w_m = max(1e-6, 1 - e_m / e_0)
    sqrt(mean N)`` (``e_m`` model ``m``'s error against the consensus on items with 2+ labels, ``e_0`` that of
    the most common class) and annotator weights ``w_a``,

    .. math::

        \hat p_{ik} = \frac{\sum_m w_m p^{(m)}_{ik} + \sum_{n \in i} w_{a_n}
        (P \text{ if } l_n = k \text{ else } \tfrac{1 - P}{K - 1})}{\sum_m w_m + \sum_{n \in i} w_{a_n}};

    the consensus is its top class (ties: the majority vote) and the weights are recomputed for it once.
    Annotator quality uses the mean ``w_m``.
    """
    if not isinstance(pred_probs, np.ndarray) or pred_probs.ndim != 3:
        raise InvalidParameterError(
            "pred_probs must be a 3-D array (models x items x classes); with one model "
            "use get_label_quality_multiannotator"
        )
    p = _probs(pred_probs, -1, ndim=3)
    wide = _wide(labels_multiannotator, p.shape[2])
    _probs(p, wide.values.shape[0], ndim=3)
    score = _score_options(label_quality_score_kwargs)
    if calibrate_probs:
        p = np.stack([temp_scale_pred_probs(m, find_best_temp_scaler(wide.values, m)) for m in p])
    ann = wide.annotations
    with warnings.catch_warnings():
        if not verbose:
            warnings.simplefilter("ignore", DataQualityWarning)
        mv = cleanlab_majority_vote(ann, p.mean(axis=0), np.random.default_rng(random_state))
        first = _ensemble_fit(ann, p, mv)
        fit = _ensemble_fit(ann, p, refine_labels(first.post, mv))
    return _assemble(
        wide,
        [("best_quality", fit)],
        "crowdlab",
        score,
        return_detailed_quality=return_detailed_quality,
        return_annotator_stats=return_annotator_stats,
        return_weights=return_weights,
        stats_model_weight=float(np.mean(fit.model_weight)),
    )


def get_majority_vote_label(
    labels_multiannotator: pd.DataFrame | np.ndarray,
    pred_probs: np.ndarray | None = None,
    verbose: bool = True,
    random_state: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Majority vote with cleanlab's tie rules (cleanlab's function).

    Among the classes tied for the most votes keep those with the highest ``pred_probs`` (if given), then the
    rarest over all votes, then those chosen by the annotators who agree most with the untied majority vote,
    then draw one from ``random_state``. ``K`` is ``pred_probs``'s number of columns, else the top code + 1.

    Returns
    -------
    ndarray of int, shape (N,)
    """
    p = None if pred_probs is None else _probs(pred_probs, -1)
    wide = _wide(labels_multiannotator, None if p is None else p.shape[1], single_label_ok=True)
    if p is not None:
        _probs(p, wide.values.shape[0])
    return cleanlab_majority_vote(wide.annotations, p, np.random.default_rng(random_state)).astype(np.int64)


def get_active_learning_scores(
    labels_multiannotator: pd.DataFrame | np.ndarray | None = None,
    pred_probs: np.ndarray | None = None,
    pred_probs_unlabeled: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""ActiveLab scores of labelled and unlabelled items, lower = label next (cleanlab's function).

    Parameters
    ----------
    labels_multiannotator : DataFrame or ndarray (N, M), optional
        The labels so far (as :func:`get_label_quality_multiannotator`); items may have a single label.
    pred_probs : ndarray (N, K), optional
        Out-of-sample predicted probabilities of the labelled items.
    pred_probs_unlabeled : ndarray (U, K), optional
        Predicted probabilities of items without labels.

    Returns
    -------
    (ndarray (N,), ndarray (U,))
        The scores of the labelled and of the unlabelled items (empty arrays for what was not given).

    Notes
    -----
    :func:`accord.active_learning_scores` at cleanlab's temperature (:func:`find_best_temp_scaler`; 1 when
    every item has one label).

    References
    ----------
    H. W. Goh and J. Mueller (2023). ActiveLab: Active Learning with Re-Labeling by Multiple Annotators.
    arXiv:2301.11856
    """
    if pred_probs is None and pred_probs_unlabeled is None:
        raise InvalidParameterError(
            "pred_probs and pred_probs_unlabeled cannot both be None; give at least one"
        )
    if pred_probs is not None and labels_multiannotator is None:
        raise InvalidParameterError("pred_probs needs the labels it belongs to: pass labels_multiannotator")
    unlabeled = (
        None if pred_probs_unlabeled is None else _probs(pred_probs_unlabeled, -1, "pred_probs_unlabeled")
    )
    if pred_probs is None:
        assert unlabeled is not None
        frame = pd.DataFrame(unlabeled, columns=pd.RangeIndex(unlabeled.shape[1]))
        return np.array([]), active_learning_scores(pred_probs_unlabeled=frame).unlabeled["score"].to_numpy()
    p = _probs(pred_probs, -1)
    wide = _wide(labels_multiannotator, p.shape[1], single_label_ok=True)
    _probs(p, wide.values.shape[0])
    if unlabeled is not None and unlabeled.shape[1] != p.shape[1]:
        raise InvalidParameterError(
            "pred_probs and pred_probs_unlabeled must have the same number of classes"
        )
    ann = wide.annotations
    single = bool((ann.item_sizes() == 1).all())
    temperature = 1.0 if single else find_best_temp_scaler(wide.values, p)
    n = ann.n_items
    frame = (
        None
        if unlabeled is None
        else pd.DataFrame(unlabeled, index=pd.RangeIndex(n, n + len(unlabeled)), columns=ann.classes)
    )
    scores = active_learning_scores(ann, p, pred_probs_unlabeled=frame, calibrate=temperature)
    labeled = scores.labeled["score"].reindex(ann.items).to_numpy(dtype=np.float64)
    if frame is None:
        return labeled, np.array([])
    return labeled, scores.unlabeled["score"].reindex(frame.index).to_numpy(dtype=np.float64)
