r"""Active learning with re-labelling: which items should get one more label next (ActiveLab).

Every item, annotated or not, gets a score in [0, 1]; **lower means more informative**: label the lowest
first. An annotated item's score is its consensus quality shrunk toward chance (``1/K``) by how little
evidence backs it; an unannotated item's score is the model's confidence shrunk the same way. The two are on
one scale, so one ranking decides between re-labelling and labelling new items (Goh and Mueller 2023).

With a classifier's out-of-sample ``pred_probs`` this is ActiveLab. Without one, the model term is dropped
(``w_M = 0``): annotated items are ranked by the annotator-weighted CROWDLAB posterior alone and unannotated
items all score ``1/K``, so they come first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._utils import check_positive_int, check_random_state
from ..annotations import Annotations
from ..errors import InvalidAnnotationsError, InvalidParameterError
from ..models._base import as_annotations
from ..models.crowdlab import (
    check_pred_probs,
    check_unlabeled_pred_probs,
    cleanlab_majority_vote,
    crowdlab_stats,
    refine_labels,
    resolve_temperature,
    temperature_scale,
)

__all__ = ["ActiveLabScores", "active_learning_scores", "next_batch"]


@dataclass
class ActiveLabScores:
    """ActiveLab scores of annotated and unannotated items (lower = label next).

    Attributes
    ----------
    labeled : DataFrame
        Per annotated item: ``score``, ``n_annotations``, consensus ``label``, ``consensus_quality``.
    unlabeled : DataFrame
        Per unannotated item: ``score`` and the model's top class as ``label`` (None without a model).
    temperature, model_weight, mean_annotator_weight : float
        The calibration temperature and the weights used (``model_weight`` is 0 without a model).
    """

    labeled: pd.DataFrame
    unlabeled: pd.DataFrame
    temperature: float
    model_weight: float
    mean_annotator_weight: float

    def ranking(self, random_state: int | np.random.Generator | None = None) -> pd.DataFrame:
        """All items, most informative first: by score, then fewest annotations, then a random draw."""
        parts = [
            f for f in (self.labeled.assign(status="relabel"), self.unlabeled.assign(status="new")) if len(f)
        ]
        frame = pd.concat(parts) if parts else self.labeled.assign(status="relabel")
        rng = check_random_state(random_state)
        order = np.lexsort(
            (
                rng.random(len(frame)),
                frame["n_annotations"].to_numpy(),
                np.round(frame["score"].to_numpy(dtype=np.float64), 12),
            )
        )
        out = frame.iloc[order]
        out.index.name = "item"
        return out.reset_index()[["item", "score", "status", "n_annotations", "label", "consensus_quality"]]

    def next_batch(
        self, n: int, *, exclude: Any = None, random_state: int | np.random.Generator | None = None
    ) -> pd.DataFrame:
        """The ``n`` most informative items (never one of ``exclude``), one row each, best first."""
        n = check_positive_int("n", n)
        ranked = self.ranking(random_state)
        if exclude is not None:
            drop = pd.Index([str(e) for e in exclude])
            ranked = ranked[~pd.Index([str(i) for i in ranked["item"]]).isin(drop)]
        return ranked.head(n).reset_index(drop=True)


def _labeled_scores(
    ann: Annotations, p: np.ndarray | None, rng: np.random.Generator, calibrate: bool | float
) -> tuple[pd.DataFrame, float, float, float, np.ndarray | None]:
    counts = ann.vote_counts()
    sizes = counts.sum(axis=1)
    k = ann.n_classes
    classes = np.asarray(ann.classes, dtype=object)
    temperature = 1.0
    if (sizes <= 1).all():
        labels = cleanlab_majority_vote(ann, p, rng, counts)
        cq = np.ones(len(labels)) if p is None else p[np.arange(len(labels)), labels]
        w_model, w_ann = (0.0 if p is None else 1.0), np.ones(ann.n_annotators)
    else:
        if p is not None:
            temperature = resolve_temperature(calibrate, ann, p)
            p = temperature_scale(p, temperature)
        mv = cleanlab_majority_vote(ann, p, rng, counts)
        stats = crowdlab_stats(ann, p, mv, counts)
        stats = crowdlab_stats(ann, p, refine_labels(stats.post, mv), counts)
        labels, cq, w_model, w_ann = (
            stats.labels,
            stats.consensus_quality,
            stats.model_weight,
            stats.annotator_weights,
        )
    w_bar = float(w_ann.mean())
    w_items = np.bincount(ann.item, weights=w_ann[ann.annotator], minlength=ann.n_items) + w_model
    score = (w_items * cq + w_bar / k) / (w_items + w_bar)
    frame = pd.DataFrame(
        {
            "score": score,
            "n_annotations": sizes.astype(np.int64),
            "label": classes[labels],
            "consensus_quality": cq,
        },
        index=ann.items,
    )
    return frame, temperature, w_model, w_bar, p


def _unlabeled_scores(
    pred_probs: pd.DataFrame | None,
    items: Any,
    classes: pd.Index,
    temperature: float,
    w_model: float,
    w_bar: float,
) -> pd.DataFrame:
    k = len(classes)
    frames = []
    if pred_probs is not None:
        p = temperature_scale(check_unlabeled_pred_probs(pred_probs, classes), temperature)
        score = (w_model * p.max(axis=1) + w_bar / k) / (w_model + w_bar)
        frames.append(
            pd.DataFrame(
                {"score": score, "label": np.asarray(classes, dtype=object)[p.argmax(axis=1)]},
                index=pred_probs.index,
            )
        )
    if items is not None:
        ids = pd.Index(list(items))
        if pred_probs is not None:
            ids = ids[~ids.isin(pred_probs.index)]
        frames.append(pd.DataFrame({"score": np.full(len(ids), 1.0 / k), "label": None}, index=ids))
    if not frames:
        return pd.DataFrame(columns=["score", "n_annotations", "label", "consensus_quality"])
    frame = pd.concat(frames)
    frame["n_annotations"] = 0
    frame["consensus_quality"] = np.nan
    return frame[["score", "n_annotations", "label", "consensus_quality"]]


def active_learning_scores(
    annotations: Annotations | pd.DataFrame | None = None,
    pred_probs: Any = None,
    *,
    pred_probs_unlabeled: pd.DataFrame | None = None,
    unlabeled_items: Any = None,
    calibrate: bool | float = True,
    random_state: int | np.random.Generator | None = None,
) -> ActiveLabScores:
    r"""ActiveLab scores for annotated items (re-labelling) and unannotated items (new labels); lower = label
    next.

    Parameters
    ----------
    annotations : Annotations or DataFrame, optional
        The labels so far. Without it, only unannotated items are scored (``w_M = 1``, ``w̄ = 1``, ``T = 1``).
    pred_probs : DataFrame (by item id) or array in ``annotations.items`` order, optional
        A classifier's **out-of-sample** predicted probabilities for the annotated items. Optional: without it
        the model term is left out.
    pred_probs_unlabeled : DataFrame indexed by item id, optional
        The classifier's predicted probabilities for items that have no annotation yet.
    unlabeled_items : sequence of item ids, optional
        Unannotated items without predictions; they score ``1/K`` (no information at all).
    calibrate : bool or float, default True
        Temperature-scale the model to the annotators' vote shares when some item has two or more labels (a
        number: use that temperature). The temperature found can differ from cleanlab's, whose search
        misplaces the vote shares of items that lack some class (cleanlab 2.9 finds 7.25 on the data of its
        multi-annotator tutorial, we find 2.0); with the same temperature the scores are cleanlab's to 1e-15.
    random_state : int, Generator or None
        For the majority vote's last-resort tie-break.

    Returns
    -------
    ActiveLabScores

    Notes
    -----
    With CROWDLAB's consensus quality ``cq_i``, annotator weights ``w_a`` (mean ``w̄``) and model weight
    ``w_M``:

    .. math::

        s_i = \frac{(\sum_{a \in A(i)} w_a + w_M)\, cq_i + \bar w / K}{\sum_{a \in A(i)} w_a + w_M + \bar w},
        \qquad
        s_j^{new} = \frac{w_M \max_k p_{jk} + \bar w / K}{w_M + \bar w}

    If every item has exactly one label, ``T = 1``, ``w_M = w_a = 1`` and ``cq_i = p[i, label_i]`` (1 without
    a model, so that unannotated items come first).

    References
    ----------
    H. W. Goh and J. Mueller (2023). ActiveLab: Active Learning with Re-Labeling by Multiple Annotators.
    arXiv:2301.11856
    """
    rng = check_random_state(random_state)
    if annotations is None:
        if pred_probs is not None:
            raise InvalidParameterError(
                "pred_probs needs the annotations it belongs to; pass annotations=..."
            )
        if pred_probs_unlabeled is None and unlabeled_items is None:
            raise InvalidParameterError(
                "nothing to score: pass annotations, pred_probs_unlabeled or unlabeled_items"
            )
        classes = _classes_of(pred_probs_unlabeled)
        labeled = pd.DataFrame(columns=["score", "n_annotations", "label", "consensus_quality"])
        temperature, w_model, w_bar = 1.0, 1.0, 1.0
    else:
        ann = as_annotations(annotations)
        classes = ann.classes
        p = None if pred_probs is None else check_pred_probs(pred_probs, ann)
        labeled, temperature, w_model, w_bar, _ = _labeled_scores(ann, p, rng, calibrate)
        if pred_probs_unlabeled is not None:
            _check_disjoint(pred_probs_unlabeled.index, ann)
    if pred_probs_unlabeled is not None and w_model == 0.0:
        raise InvalidParameterError(
            "pred_probs_unlabeled needs pred_probs for the annotated items too, to weigh "
            "the model against the annotators"
        )
    unlabeled = _unlabeled_scores(pred_probs_unlabeled, unlabeled_items, classes, temperature, w_model, w_bar)
    if annotations is not None and unlabeled_items is not None:
        _check_disjoint(unlabeled.index, as_annotations(annotations))
    return ActiveLabScores(labeled, unlabeled, temperature, w_model, w_bar)


def _classes_of(pred_probs_unlabeled: pd.DataFrame | None) -> pd.Index:
    if pred_probs_unlabeled is None:
        raise InvalidParameterError(
            "without annotations, pass pred_probs_unlabeled (its columns give the classes)"
        )
    return pd.Index(pred_probs_unlabeled.columns, name="class")


def _check_disjoint(ids: pd.Index, ann: Annotations) -> None:
    both = ids[pd.Index([str(i) for i in ids]).isin([str(i) for i in ann.items])]
    if len(both):
        raise InvalidAnnotationsError(
            f"{len(both)} 'unlabeled' item(s) already have annotations, e.g. "
            f"{list(both[:5])}; give only items without any label"
        )


def next_batch(
    n: int,
    annotations: Annotations | pd.DataFrame | None = None,
    pred_probs: Any = None,
    *,
    pred_probs_unlabeled: pd.DataFrame | None = None,
    unlabeled_items: Any = None,
    exclude: Any = None,
    calibrate: bool | float = True,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """The ``n`` items to label next, most informative first (see :func:`active_learning_scores`).

    Returns a DataFrame with ``item``, ``score``, ``status`` (``"relabel"`` or ``"new"``), ``n_annotations``,
    the current ``label`` and ``consensus_quality``. Ties go to the item with fewer annotations, then at
    random. ``exclude`` lists items that must not be chosen (e.g. no annotator is left for them).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 2, 2, 3], "annotator": list("ababa"), "label": list("xxxyy")})
    >>> next_batch(1, df)["item"].tolist()
    [2]
    """
    scores = active_learning_scores(
        annotations,
        pred_probs,
        pred_probs_unlabeled=pred_probs_unlabeled,
        unlabeled_items=unlabeled_items,
        calibrate=calibrate,
        random_state=random_state,
    )
    return scores.next_batch(n, exclude=exclude, random_state=random_state)
