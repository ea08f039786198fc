"""Task types beyond single class labels: each a validated input, models, and a result with ``to_frame()``.

- ``ratings``: numeric ratings (mean, median, annotator bias and noise);
- ``multilabel``: a set of classes per annotation (per-class consensus with shared annotator quality);
- ``pairwise``: pairwise comparisons (Bradley-Terry and a noisy variant), item scores and a ranking.
"""

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

# Other task modules (boxes, segmentation) add their imports and names here.

__all__ = [
    "MULTILABEL_METHODS",
    "PAIRWISE_METHODS",
    "RATING_METHODS",
    "BiasNoiseRating",
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
    "RatingConsensus",
    "Ratings",
    "aggregate_multilabel_frame",
    "aggregate_pairwise_frame",
    "aggregate_ratings_frame",
]
