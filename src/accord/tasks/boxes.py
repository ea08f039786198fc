"""Bounding boxes from several annotators: matched, scored and fused into consensus boxes.

>>> import pandas as pd
>>> df = pd.DataFrame({
...     "item": ["img1"] * 4, "annotator": ["ann", "bob", "cy", "cy"], "label": ["car"] * 4,
...     "x": [10, 12, 11, 300], "y": [10, 11, 9, 300],
...     "width": [100, 98, 101, 20], "height": [50, 52, 50, 20]})
>>> result = aggregate_boxes(Boxes.from_frame(df))
>>> result.to_frame()[["item", "label", "n_annotators"]]
   item label  n_annotators
0  img1   car             3

The flow is ``Boxes`` (validated input) -> :func:`~accord.tasks._box_match.cluster_boxes` (which boxes are
the same object) -> EM over the clusters (which clusters are objects, of which class, and each annotator's
recall, false positives and label confusion) -> localisation noise per annotator and quality-weighted fusion
-> :class:`BoxConsensus`.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..errors import InvalidAnnotationsError, InvalidParameterError
from ._box_data import COORDINATES, BoxCollector, Boxes
from ._box_em import EMFit, build_responses, fit_em, fit_localisation, fuse
from ._box_geometry import iou_matrix, paired_iou, to_corners
from ._box_match import cluster_boxes
from ._tables import TaskTables

__all__ = [
    "BOX_PARAMS",
    "COORDINATES",
    "BoxCollector",
    "BoxConsensus",
    "BoxScores",
    "Boxes",
    "aggregate_boxes",
    "box_table",
    "candidate_pairs",
    "greedy_match",
    "iou_matrix",
    "paired_iou",
    "score_boxes",
]

BOX_PARAMS = ("iou_threshold", "by_label", "min_confidence", "alpha", "diag_alpha", "max_iter", "tol")
NO_OBJECT = "(no object)"
NO_BOX = "(no box)"


class BoxConsensus(TaskTables):
    """Consensus boxes and the quality of each annotator, from :func:`aggregate_boxes`.

    Attributes
    ----------
    boxes : Boxes
        The input.
    cluster : ndarray of int, shape (n_boxes,)
        The cluster (candidate object) of every input box.
    fit : EMFit
        Posterior over ``(no object, class 1..K)`` per cluster, ``theta``, prior, iterations, history.
    sigma2 : ndarray, shape (n_annotators,)
        Localisation variance of each annotator (squared corner offset relative to the box size).
    fused : ndarray, shape (n_clusters, 4)
        Quality-weighted ``x, y, width, height`` of every cluster, in the input's units.
    min_confidence : float
        Clusters whose probability of being an object is below this are not consensus boxes.
    """

    def __init__(
        self,
        boxes: Boxes,
        cluster: np.ndarray,
        fit: EMFit,
        sigma2: np.ndarray,
        fused: np.ndarray,
        min_confidence: float,
        params: dict[str, Any],
    ) -> None:
        self.boxes = boxes
        self.cluster = cluster
        self.fit = fit
        self.sigma2 = sigma2
        self.fused = fused
        self.min_confidence = min_confidence
        self.params = params

    def __repr__(self) -> str:
        kept = int(self._kept.sum())
        n = self.boxes.n_boxes
        return f"BoxConsensus({kept} consensus boxes from {n} boxes, {len(self.fused)} clusters)"

    # ------------------------------------------------------------------ per cluster
    @cached_property
    def object_proba(self) -> np.ndarray:
        """P(cluster is a true object), per cluster."""
        return 1.0 - self.fit.posterior[:, 0]

    @cached_property
    def label_codes(self) -> np.ndarray:
        """Most probable class per cluster (ties to the first class)."""
        return np.argmax(self.fit.posterior[:, 1:], axis=1)

    @cached_property
    def _kept(self) -> np.ndarray:
        return self.object_proba >= self.min_confidence

    @cached_property
    def clusters(self) -> pd.DataFrame:
        """Every cluster: item, label, box, ``confidence`` (P(object of that label)), ``object_proba``,
        ``n_annotators``, and whether it is a consensus box (``kept``)."""
        b = self.boxes
        n_clusters = len(self.fused)
        item = np.zeros(n_clusters, dtype=np.int64)
        item[self.cluster] = b.item
        frame = pd.DataFrame(
            {
                "item": np.asarray(b.items, dtype=object)[item],
                "label": np.asarray(b.classes, dtype=object)[self.label_codes],
            }
        )
        for k, name in enumerate(COORDINATES):
            frame[name] = self.fused[:, k]
        frame["confidence"] = self.fit.posterior[np.arange(n_clusters), 1 + self.label_codes]
        frame["n_annotators"] = np.bincount(self.cluster, minlength=n_clusters).astype(np.int64)
        frame["object_proba"] = self.object_proba
        frame["kept"] = self._kept
        frame.index.name = "cluster"
        return frame

    def to_frame(self) -> pd.DataFrame:
        """One row per consensus box: ``item, label, x, y, width, height, confidence, n_annotators``, in the
        input's units, sorted by item and position."""
        columns = ["item", "label", *COORDINATES, "confidence", "n_annotators"]
        frame = self.clusters.loc[self._kept, columns]
        return frame.sort_values(["item", "y", "x"], kind="stable").reset_index(drop=True)

    # ------------------------------------------------------------------ per box
    @cached_property
    def box_quality(self) -> pd.DataFrame:
        """Every input box: its cluster, the cluster's ``object_proba``, its ``iou`` with the fused box and
        ``label_proba``, the posterior probability that its label is the object's class."""
        frame = self.boxes.to_frame()
        frame["cluster"] = self.cluster
        frame["object_proba"] = self.object_proba[self.cluster]
        frame["iou"] = paired_iou(self.boxes.xywh, self.fused[self.cluster])
        frame["label_proba"] = self.fit.posterior[self.cluster, 1 + self.boxes.label]
        return frame

    # ------------------------------------------------------------------ per annotator
    @cached_property
    def annotator_quality(self) -> pd.DataFrame:
        """One row per annotator.

        ``recall``: expected share of true objects on the annotator's items that they boxed;
        ``precision``: expected share of their boxes that are true objects; ``false_positives_per_item``;
        ``mean_iou`` of their boxes with the consensus box they belong to; ``label_accuracy``: expected share
        of their boxes on true objects with the right class; ``localisation_sd``: root of the localisation
        variance (corner offset as a fraction of the box size).
        """
        b, a = self.boxes, self.boxes.annotator
        n_a = b.n_annotators
        p_obj = self.object_proba[self.cluster]
        n_boxes = np.bincount(a, minlength=n_a).astype(np.float64)
        n_items = np.bincount(b.seen_annotator, minlength=n_a).astype(np.float64)
        rows = self._responses
        p_rows = self.object_proba[rows.cluster]
        hit = np.bincount(rows.annotator, weights=p_rows * (rows.response > 0), minlength=n_a)
        avail = np.bincount(rows.annotator, weights=p_rows, minlength=n_a)
        true_boxes = np.bincount(a, weights=p_obj, minlength=n_a)
        right = np.bincount(a, weights=self.box_quality["label_proba"].to_numpy(), minlength=n_a)
        kept = self._kept[self.cluster]
        iou_sum = np.bincount(a, weights=self.box_quality["iou"].to_numpy() * kept, minlength=n_a)
        n_kept = np.bincount(a, weights=kept.astype(np.float64), minlength=n_a)
        frame = pd.DataFrame(
            {
                "n_items": n_items.astype(np.int64),
                "n_boxes": n_boxes.astype(np.int64),
                "recall": _ratio(hit, avail),
                "precision": _ratio(true_boxes, n_boxes),
                "false_positives_per_item": _ratio(n_boxes - true_boxes, n_items),
                "mean_iou": _ratio(iou_sum, n_kept),
                "label_accuracy": _ratio(right, true_boxes),
                "localisation_sd": np.sqrt(self.sigma2),
            },
            index=b.annotators,
        )
        frame.index.name = "annotator"
        return frame

    @cached_property
    def _responses(self) -> Any:
        b = self.boxes
        return build_responses(
            self.cluster, b.annotator, b.label, self._cluster_item, b.seen_item, b.seen_annotator,
            b.n_annotators, b.n_classes,
        )  # fmt: skip

    @cached_property
    def _cluster_item(self) -> np.ndarray:
        item = np.zeros(len(self.fused), dtype=np.int64)
        item[self.cluster] = self.boxes.item
        return item

    def label_confusion(self, annotator: Any) -> pd.DataFrame:
        """``P(response | state)`` of one annotator: rows ``(no object)`` and each true class, columns
        ``(no box)`` and each label given; rows sum to 1."""
        pos = self.boxes.annotators.get_indexer([annotator])[0]
        if pos < 0:
            raise InvalidParameterError(f"unknown annotator {annotator!r}")
        names = list(self.boxes.classes)
        rows = pd.Index([NO_OBJECT, *names], name="true")
        cols = pd.Index([NO_BOX, *names], name="given")
        return pd.DataFrame(self.fit.theta[pos], index=rows, columns=cols)

    # ------------------------------------------------------------------ outputs
    @property
    def history(self) -> pd.DataFrame:
        return self.fit.history

    def annotators_frame(self) -> pd.DataFrame:
        return self.annotator_quality.reset_index()


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(len(num), np.nan), where=den > 0)


def _check_params(
    iou_threshold: float, min_confidence: float, alpha: float, diag_alpha: float, max_iter: int
) -> None:
    if not 0.0 < iou_threshold <= 1.0:
        raise InvalidParameterError(f"iou_threshold must be in (0, 1], got {iou_threshold!r}")
    if not 0.0 <= min_confidence <= 1.0:
        raise InvalidParameterError(f"min_confidence must be in [0, 1], got {min_confidence!r}")
    if not alpha > 0:
        raise InvalidParameterError(f"alpha must be positive, got {alpha!r}")
    if not diag_alpha >= 0:
        raise InvalidParameterError(f"diag_alpha must be >= 0, got {diag_alpha!r}")
    if int(max_iter) < 1:
        raise InvalidParameterError(f"max_iter must be at least 1, got {max_iter!r}")


def aggregate_boxes(
    boxes: Boxes | pd.DataFrame,
    *,
    iou_threshold: float = 0.5,
    by_label: bool = False,
    min_confidence: float = 0.5,
    alpha: float = 0.5,
    diag_alpha: float = 1.0,
    max_iter: int = 500,
    tol: float = 1e-5,
) -> BoxConsensus:
    """Consensus boxes and annotator quality from several annotators' bounding boxes.

    Parameters
    ----------
    boxes : Boxes or DataFrame
        A DataFrame goes through :meth:`Boxes.from_frame`.
    iou_threshold : float, default 0.5
        Two groups of boxes are the same object when their average pairwise IoU is at least this.
    by_label : bool, default False
        Only match boxes with the same label. By default boxes are matched on geometry alone, so that one
        annotator calling a car a truck is a label confusion, not a miss plus a false positive.
    min_confidence : float, default 0.5
        A cluster is a consensus box when its probability of being a true object is at least this.
    alpha : float, default 0.5
        Pseudo-count added to every cell of each annotator's response matrix.
    diag_alpha : float, default 1.0
        Extra pseudo-count on its diagonal (no object -> no box, class ``k`` -> label ``k``): annotators are
        better than chance. It keeps "object" and "no object" apart on small data.
    max_iter, tol
        EM stops when the largest change of a cluster's posterior is below ``tol``, or after ``max_iter``
        iterations (with a :class:`~accord.errors.ConvergenceWarning`).

    Returns
    -------
    BoxConsensus

    Notes
    -----
    1. *Matching.* Per item, boxes are merged by average-linkage agglomerative clustering on IoU with a
       cannot-link between boxes of the same annotator, so a cluster holds at most one box per annotator
       (the order-free analogue of the greedy matching of weighted boxes fusion and of SageMaker Ground
       Truth's bounding-box consolidation).
    2. *Detection and labels.* Each cluster ``c`` has a latent state ``t_c``: no object (0) or a true object
       of class ``k``. Every annotator who annotated the item responds "no box" (0) or "a box labelled
       ``l``" (``1 + l``), with ``P(r | t) = theta[a, t, r]``; so ``theta[a, k, 0] = 1 - recall_a``,
       ``theta[a, k, 1 + l] = recall_a * confusion_a[k, l]`` and ``theta[a, 0, 1 + l]`` is the rate of
       false positives. This is the Dawid-Skene model on the states ``{no object} + classes`` and is fitted
       by EM from the soft vote: ``log post[c, t] = log prior[t] + sum_a log theta[a, t, r_ac]`` and
       ``theta[a, t, r] ∝ alpha + diag_alpha [r = t] + sum_c post[c, t] [r_ac = r]``.
    3. *Localisation and fusion.* Annotator ``a``'s variance ``sigma2_a`` is the mean squared offset of the
       corners of its boxes from the fused box of the other members of the cluster, in units of the box
       size, weighted by P(object) and shrunk towards the pooled value. A cluster's box is the mean of its
       members' corners weighted by ``precision_a / sigma2_a`` (inverse localisation variance times the
       annotator's confidence), as weighted boxes fusion averages coordinates weighted by confidence.

    References
    ----------
    .. [1] Dawid, A. P. and Skene, A. M. (1979). Maximum likelihood estimation of observer error-rates using
       the EM algorithm. Journal of the Royal Statistical Society C, 28(1), 20-28. doi:10.2307/2346806
    .. [2] Solovyev, R., Wang, W. and Gabruseva, T. (2021). Weighted boxes fusion: Ensembling boxes from
       different object detection models. Image and Vision Computing, 107, 104117.
       doi:10.1016/j.imavis.2021.104117
    .. [3] Amazon SageMaker Ground Truth, "Annotation consolidation" (bounding box: the most similar boxes of
       different workers by Jaccard index, averaged).
       https://docs.aws.amazon.com/sagemaker/latest/dg/sms-annotation-consolidation.html
    """
    _check_params(iou_threshold, min_confidence, alpha, diag_alpha, max_iter)
    if isinstance(boxes, pd.DataFrame):
        boxes = Boxes.from_frame(boxes)
    if not isinstance(boxes, Boxes):
        raise InvalidAnnotationsError(f"expected Boxes or a DataFrame of boxes, got {type(boxes).__name__}")
    if boxes.n_boxes == 0:
        raise InvalidAnnotationsError("there are no boxes to aggregate" + _skipped_hint(boxes))
    cluster = cluster_boxes(
        boxes.item, boxes.annotator, boxes.label, boxes.xywh, iou_threshold=iou_threshold, by_label=by_label
    )
    n_clusters = int(cluster.max()) + 1
    cluster_item = np.zeros(n_clusters, dtype=np.int64)
    cluster_item[cluster] = boxes.item
    rows = build_responses(
        cluster, boxes.annotator, boxes.label, cluster_item, boxes.seen_item, boxes.seen_annotator,
        boxes.n_annotators, boxes.n_classes,
    )  # fmt: skip
    fit = fit_em(rows, alpha=alpha, diag_alpha=diag_alpha, max_iter=max_iter, tol=tol)
    object_proba = 1.0 - fit.posterior[:, 0]
    precision = _ratio(
        np.bincount(boxes.annotator, weights=object_proba[cluster], minlength=boxes.n_annotators),
        np.bincount(boxes.annotator, minlength=boxes.n_annotators).astype(np.float64),
    )
    precision = np.clip(np.nan_to_num(precision, nan=0.5), 1e-3, 1.0)
    corners = to_corners(boxes.xywh)
    sigma2, weight = fit_localisation(
        cluster, boxes.annotator, corners, object_proba, precision, boxes.n_annotators
    )
    fused = fuse(cluster, corners, weight, n_clusters)
    params = {"iou_threshold": iou_threshold, "by_label": by_label, "min_confidence": min_confidence,
              "alpha": alpha, "diag_alpha": diag_alpha, "max_iter": max_iter, "tol": tol}  # fmt: skip
    return BoxConsensus(boxes, cluster, fit, sigma2, fused, min_confidence, params)


def _skipped_hint(boxes: Boxes) -> str:
    if not boxes.skipped:
        return ""
    return " (the reader skipped " + "; ".join(f"{n} {r}" for r, n in boxes.skipped.items()) + ")"


# ---------------------------------------------------------------------------------------------- scoring
class BoxScores(NamedTuple):
    """Detection scores of a set of boxes against the true boxes, from :func:`score_boxes`."""

    precision: float
    recall: float
    f1: float
    mean_iou: float
    n_matched: int
    n_predicted: int
    n_gold: int

    def __str__(self) -> str:
        mean_iou = "n/a" if np.isnan(self.mean_iou) else f"{self.mean_iou:.4f}"
        return (
            f"precision {self.precision:.4f}, recall {self.recall:.4f}, F1 {self.f1:.4f}, mean IoU of the "
            f"{self.n_matched} matched boxes {mean_iou} ({self.n_predicted} boxes, {self.n_gold} true boxes)"
        )


def box_table(frame: pd.DataFrame, *, what: str = "boxes", **columns: Any) -> pd.DataFrame:
    """``item, label, x, y, width, height`` from a table of boxes without annotators (a consensus, true
    boxes), validated like :meth:`Boxes.from_frame` (columns found by role unless named in ``columns``).

    Examples
    --------
    >>> box_table(pd.DataFrame({"image": ["a"], "class": ["cat"], "left": [1], "top": [2], "w": [3],
    ...                         "h": [4]}))
      item label    x    y  width  height
    0    a   cat  1.0  2.0    3.0     4.0
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidAnnotationsError(f"expected a DataFrame of {what}, got {type(frame).__name__}")
    if "annotator" in columns:
        raise InvalidParameterError(f"{what} have no annotator column; drop annotator=")
    tag = "(no annotator)"
    try:
        boxes = Boxes.from_frame(frame.assign(**{tag: tag}), annotator=tag, **columns)
    except InvalidAnnotationsError as exc:
        raise InvalidAnnotationsError(f"{what}: {exc}") from None
    return boxes.to_frame()[["item", "label", *COORDINATES]]


def _scored_frame(value: Any, what: str) -> pd.DataFrame:
    if isinstance(value, BoxConsensus):
        return value.to_frame()[["item", "label", *COORDINATES]]
    if isinstance(value, Boxes):
        return value.to_frame()[["item", "label", *COORDINATES]]
    if isinstance(value, pd.DataFrame) and len(value) == 0:
        return pd.DataFrame(columns=["item", "label", *COORDINATES])
    return box_table(value, what=what)


def candidate_pairs(left_key: np.ndarray, right_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ``(i, j)`` with ``left_key[i] == right_key[j]``, as two index arrays (no Python loop).

    >>> candidate_pairs(np.array([0, 1, 0]), np.array([1, 0, 0]))
    (array([0, 0, 1, 2, 2]), array([1, 2, 0, 1, 2]))
    """
    order = np.argsort(right_key, kind="stable")
    sorted_key = np.asarray(right_key)[order]
    start = np.searchsorted(sorted_key, left_key, side="left")
    counts = np.searchsorted(sorted_key, left_key, side="right") - start
    left = np.repeat(np.arange(len(left_key)), counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return left, order[np.repeat(start, counts) + offsets]


def greedy_match(left: np.ndarray, right: np.ndarray, score: np.ndarray) -> np.ndarray:
    """One-to-one greedy matching of candidate pairs, best score first: a boolean mask of the chosen pairs.

    Equivalent to taking the pairs in decreasing ``score`` (ties: lower ``left``, then lower ``right``) and
    keeping a pair when neither end is taken yet, but done in rounds on whole arrays: every round keeps the
    pairs that are the best alive pair of both their ends (the greedy pass keeps those), then drops the pairs
    that touch a kept end.

    >>> greedy_match(np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([0.9, 0.8, 0.7])).tolist()
    [True, False, False]
    """
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    n = len(left)
    chosen = np.zeros(n, dtype=bool)
    if n == 0:
        return chosen
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((right, left, -np.asarray(score, dtype=np.float64)))] = np.arange(n)
    alive = np.ones(n, dtype=bool)
    n_left, n_right = int(left.max()) + 1, int(right.max()) + 1
    while alive.any():
        best_left = np.full(n_left, n, dtype=np.int64)
        best_right = np.full(n_right, n, dtype=np.int64)
        np.minimum.at(best_left, left[alive], rank[alive])
        np.minimum.at(best_right, right[alive], rank[alive])
        kept = alive & (rank == best_left[left]) & (rank == best_right[right])
        chosen |= kept
        used_left = np.zeros(n_left, dtype=bool)
        used_right = np.zeros(n_right, dtype=bool)
        used_left[left[kept]] = True
        used_right[right[kept]] = True
        alive &= ~used_left[left] & ~used_right[right]
    return chosen


def score_boxes(
    consensus_or_frame: BoxConsensus | Boxes | pd.DataFrame,
    gold_frame: pd.DataFrame,
    iou: float = 0.5,
    *,
    by_label: bool = True,
    gold_items_only: bool = True,
) -> BoxScores:
    """Precision, recall, F1 and mean IoU of boxes (a consensus) against the true boxes.

    Parameters
    ----------
    consensus_or_frame : BoxConsensus, Boxes or DataFrame
        The boxes to score: a :class:`BoxConsensus` (its consensus boxes), or a table ``item, label, x, y,
        width, height`` (e.g. one annotator's boxes).
    gold_frame : DataFrame
        The true boxes, ``item, label, x, y, width, height`` in the same units
        (:func:`accord.io.boxes.read_gold_boxes` reads them from a file).
    iou : float, default 0.5
        A box matches a true box when their IoU is at least this.
    by_label : bool, default True
        A match also needs the same label; ``False`` scores the geometry alone.
    gold_items_only : bool, default True
        Score only the items that have true boxes (gold for a sample of the items); ``False`` counts every
        box on other items as a false positive.

    Returns
    -------
    BoxScores
        ``precision, recall, f1, mean_iou, n_matched, n_predicted, n_gold`` (unpacks as a tuple; ``mean_iou``
        is NaN when nothing matched).

    Notes
    -----
    Per item, the boxes are matched one-to-one to the true boxes greedily, highest IoU first, among the
    pairs with IoU >= ``iou`` (and the same label): the matching of the PASCAL VOC and COCO detection
    benchmarks, ranked by IoU since the boxes carry no detection score. With ``m`` matches, ``n`` boxes and
    ``g`` true boxes, precision = ``m / n``, recall = ``m / g``, F1 = ``2 P R / (P + R)``, and the mean IoU
    is over the ``m`` matched pairs. Item ids and labels are compared as text, so ``1`` matches ``"1"``.
    All pairs of boxes of the same item are formed at once and matched in vectorised rounds
    (:func:`greedy_match`).

    References
    ----------
    .. [1] Everingham, M., Van Gool, L., Williams, C. K. I., Winn, J. and Zisserman, A. (2010). The PASCAL
       Visual Object Classes (VOC) Challenge. International Journal of Computer Vision, 88, 303-338.
       doi:10.1007/s11263-009-0275-4

    Examples
    --------
    >>> gold = pd.DataFrame({"item": ["a", "a"], "label": ["cat", "dog"], "x": [0, 10], "y": [0, 0],
    ...                      "width": [4, 4], "height": [4, 4]})
    >>> pred = pd.DataFrame({"item": ["a", "a"], "label": ["cat", "cat"], "x": [1, 10], "y": [0, 0],
    ...                      "width": [4, 4], "height": [4, 4]})
    >>> s = score_boxes(pred, gold)
    >>> round(s.precision, 3), round(s.recall, 3), round(s.mean_iou, 3)
    (0.5, 0.5, 0.6)
    """
    if not 0.0 < float(iou) <= 1.0:
        raise InvalidParameterError(f"iou must be in (0, 1], got {iou!r}")
    pred = _scored_frame(consensus_or_frame, "the boxes to score")
    gold = _scored_frame(gold_frame, "the true boxes")
    if len(gold) == 0:
        raise InvalidAnnotationsError("there are no true boxes to score against")
    items = pd.factorize(np.r_[pred["item"].astype(str).to_numpy(), gold["item"].astype(str).to_numpy()])[0]
    key_pred, key_gold = items[: len(pred)], items[len(pred) :]
    if gold_items_only:
        on_gold = np.isin(key_pred, key_gold)
        pred, key_pred = pred.loc[on_gold], key_pred[on_gold]
    if by_label:
        labels = pd.Index(np.r_[pred["label"].astype(str), gold["label"].astype(str)]).factorize()[0]
        n_labels = int(labels.max()) + 1 if len(labels) else 1
        key_pred = key_pred * n_labels + labels[: len(pred)]
        key_gold = key_gold * n_labels + labels[len(pred) :]
    p, g = candidate_pairs(key_pred, key_gold)
    overlap = paired_iou(
        pred[list(COORDINATES)].to_numpy(float)[p], gold[list(COORDINATES)].to_numpy(float)[g]
    )
    hit = (overlap >= iou) & (overlap > 0)
    chosen = greedy_match(p[hit], g[hit], overlap[hit])
    matched = overlap[hit][chosen]
    m, n, n_gold = len(matched), len(pred), len(gold)
    precision = m / n if n else 0.0
    recall = m / n_gold
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    mean_iou = float(matched.mean()) if m else float("nan")
    return BoxScores(precision, recall, f1, mean_iou, m, n, n_gold)
