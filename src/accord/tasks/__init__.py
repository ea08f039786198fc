"""Task types beyond single class labels: each a validated input, models, and a result with ``to_frame()``.

==================  ==============================================  =========================================
task type           input                                           models (``--method`` on the command line)
==================  ==============================================  =========================================
``ratings``         one number per (item, annotator)                ``bias_noise`` (:class:`BiasNoiseRating`),
                                                                    ``mean``, ``median``
``multilabel``      a set of classes per (item, annotator)          ``ds`` (:class:`MultiLabelDawidSkene`,
                                                                    quality shared across classes), ``mv``
``pairwise``        annotator, left, right, winner                  ``bt`` (:class:`BradleyTerry`),
                                                                    ``noisy_bt`` (:class:`NoisyBradleyTerry`)
``boxes``           bounding boxes (Label Studio, SageMaker,        :func:`aggregate_boxes` (IoU matching,
                    a table)                                        Dawid-Skene over clusters, fusion)
``segmentation``    masks ``masks/<item>/<annotator>.png``          ``staple`` (:class:`STAPLE`),
                                                                    ``mv`` (:class:`PixelMajorityVote`)
==================  ==============================================  =========================================

Every result has the habits of :class:`~accord.Consensus`: a table per item (``to_frame()``), a table per
annotator (``annotators_frame()``) and the user's ids.

>>> import pandas as pd
>>> from accord.tasks import aggregate_ratings_frame
>>> df = pd.DataFrame({"item": [1, 1], "annotator": ["a", "b"], "value": [2.0, 4.0]})
>>> aggregate_ratings_frame(df, "mean").values.tolist()
[3.0]
"""

from .boxes import (
    BOX_PARAMS,
    BoxCollector,
    BoxConsensus,
    Boxes,
    aggregate_boxes,
    iou_matrix,
    paired_iou,
    score_boxes,
)
from .multilabel import (
    MULTILABEL_METHODS,
    MultiLabelAnnotations,
    MultiLabelConsensus,
    MultiLabelDawidSkene,
    MultiLabelMajority,
    aggregate_multilabel_frame,
)
from .pairwise import (
    PAIRWISE_METHODS,
    BradleyTerry,
    Comparisons,
    NoisyBradleyTerry,
    PairwiseConsensus,
    aggregate_pairwise_frame,
)
from .ratings import (
    RATING_METHODS,
    BiasNoiseRating,
    MeanRating,
    MedianRating,
    RatingConsensus,
    Ratings,
    aggregate_ratings_frame,
)
from .segmentation import METHODS as SEGMENTATION_METHODS
from .segmentation import STAPLE, PixelMajorityVote, SegmentationConsensus, aggregate_masks, load_masks

__all__ = [
    "BOX_PARAMS",
    "MULTILABEL_METHODS",
    "PAIRWISE_METHODS",
    "RATING_METHODS",
    "SEGMENTATION_METHODS",
    "STAPLE",
    "BiasNoiseRating",
    "BoxCollector",
    "BoxConsensus",
    "Boxes",
    "BradleyTerry",
    "Comparisons",
    "MeanRating",
    "MedianRating",
    "MultiLabelAnnotations",
    "MultiLabelConsensus",
    "MultiLabelDawidSkene",
    "MultiLabelMajority",
    "NoisyBradleyTerry",
    "PairwiseConsensus",
    "PixelMajorityVote",
    "RatingConsensus",
    "Ratings",
    "SegmentationConsensus",
    "aggregate_boxes",
    "aggregate_masks",
    "aggregate_multilabel_frame",
    "aggregate_pairwise_frame",
    "aggregate_ratings_frame",
    "iou_matrix",
    "load_masks",
    "paired_iou",
    "score_boxes",
]
