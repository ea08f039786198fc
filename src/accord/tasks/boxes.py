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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidAnnotationsError, InvalidParameterError
from ._box_data import COORDINATES, BoxCollector, Boxes
from ._box_em import EMFit, build_responses, fit_em, fit_localisation, fuse
from ._box_geometry import iou_matrix, paired_iou, to_corners
from ._box_match import cluster_boxes

__all__ = [
    "BOX_FORMATS",
    "BOX_PARAMS",
    "BoxCollector",
    "BoxConsensus",
    "Boxes",
    "aggregate_boxes",
    "detect_box_format",
    "iou_matrix",
    "paired_iou",
    "read_boxes",
]

BOX_FORMATS = ("label_studio", "sagemaker", "table")
BOX_PARAMS = ("iou_threshold", "by_label", "min_confidence", "alpha", "diag_alpha", "max_iter", "tol")
NO_OBJECT = "(no object)"
NO_BOX = "(no box)"


class BoxConsensus:
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

    def to_csv(self, path: str | Path, annotators_path: str | Path | None = None) -> None:
        """Write the consensus boxes (and, if asked, the annotator table) as CSV."""
        self.to_frame().to_csv(path, index=False)
        if annotators_path is not None:
            self.annotators_frame().to_csv(annotators_path, index=False)


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


def detect_box_format(path: str | Path) -> str:
    """``"sagemaker"``, ``"label_studio"`` or ``"table"`` from a file's suffix and content (folders: SageMaker
    job output, unless they look like a YOLO or VOC export, which the Label Studio reader refuses)."""
    p = Path(path)
    if not p.exists():
        raise InvalidAnnotationsError(f"no such file or folder: {p}")
    if p.is_dir():
        looks_ls = any((p / name).exists() for name in ("classes.txt", "notes.json", "labels", "Annotations"))
        return "label_studio" if looks_ls else "sagemaker"
    suffix = p.suffix.lower()
    if suffix in (".manifest", ".jsonl", ".ndjson"):
        return "sagemaker"
    if suffix == ".parquet" or (suffix in (".csv", ".tsv") and _plain_table_header(p)):
        return "table"
    if suffix == ".json":
        head = p.read_text(encoding="utf-8-sig", errors="replace")[:200_000]
        if '"answers"' in head and '"answerContent"' in head:
            return "sagemaker"
        first = head.lstrip().split("\n", 1)[0]
        if first.startswith("{") and "-metadata" in first:
            return "sagemaker"
    return "label_studio"


def _plain_table_header(path: Path) -> bool:
    """Whether a CSV/TSV's header names box coordinates (a plain long table rather than Label Studio's CSV,
    whose boxes sit in one JSON column)."""
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    names = {c.strip().strip('"').lower() for c in header.replace("\t", ",").split(",")}
    return bool(names & {"x", "left", "xmin"}) and bool(names & {"width", "w"})


def _read_table(path: Path, **options: Any) -> Boxes:
    """A long table, one row per box (CSV, TSV or Parquet); ``options`` go to :meth:`Boxes.from_frame`."""
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    except ImportError:
        raise InvalidAnnotationsError(
            "reading Parquet needs pyarrow: pip install 'accord[parquet]'"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidAnnotationsError(f"could not read {path} as a table of boxes: {exc}") from None
    return Boxes.from_frame(frame, **options)


def read_boxes(path: str | Path, format: str | None = None, **options: Any) -> Boxes:
    """Read the bounding boxes of a labelling tool's export.

    Parameters
    ----------
    path : str or Path
        A Label Studio JSON / JSON_MIN / CSV export, SageMaker Ground Truth worker responses (a job folder,
        a ``worker-response`` folder, one response file) or an output manifest, or a plain table with one
        row per box (CSV, TSV, Parquet: ``item, annotator, label, x, y, width, height``).
    format : {"label_studio", "sagemaker", "table"}, optional
        ``None`` or ``"auto"``: guessed from the file (a CSV whose header names ``x`` and ``width`` is a
        plain table, other CSVs are Label Studio's).
    **options
        Passed to the reader (:func:`accord.io.boxes_label_studio.read`,
        :func:`accord.io.boxes_sagemaker.read`, :meth:`Boxes.from_frame` for tables): ``field=`` (the Label
        Studio control, alias ``from_name=``; the SageMaker ``answerContent`` key), ``label_attribute=``
        (SageMaker manifests), ``classes=``; column names (``item=``, ``x=``, ...) for tables.

    Returns
    -------
    Boxes
        With ``report`` (what was skipped and why, one line each) and ``skipped`` (reason -> count).
    """
    fmt = (
        detect_box_format(path) if format in (None, "auto") else str(format).strip().lower().replace("-", "_")
    )
    fmt = {"labelstudio": "label_studio", "ls": "label_studio", "ground_truth": "sagemaker"}.get(fmt, fmt)
    if fmt == "label_studio":
        from ..io.boxes_label_studio import read as read_label_studio

        if "field" in options:  # one CLI flag (--field) for both tools
            options["from_name"] = options.pop("field")

        return read_label_studio(path, **options)
    if fmt == "sagemaker":
        from ..io.boxes_sagemaker import read as read_sagemaker

        return read_sagemaker(path, **options)
    if fmt == "table":
        return _read_table(Path(path), **options)
    raise InvalidParameterError(
        f"unknown box export format {format!r}; choose one of {', '.join(BOX_FORMATS)}"
    )
