"""Ambiguous data, where the truth is a distribution: soft labels, class blending and the correction of the
bias that model proposals shown to annotators cause."""

from .bias import cleverlabel, correct_bias, estimate_offset
from .blending import blend, class_blending, estimate_transition
from .soft import dataset_statistics, kl_divergence, mean_kl_divergence, soft_consensus, soft_labels

__all__ = [
    "blend",
    "class_blending",
    "cleverlabel",
    "correct_bias",
    "dataset_statistics",
    "estimate_offset",
    "estimate_transition",
    "kl_divergence",
    "mean_kl_divergence",
    "soft_consensus",
    "soft_labels",
]
