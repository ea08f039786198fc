"""Planning an annotation campaign: the budget (annotations per item, hours), adaptive stopping, what to label
next (ActiveLab) and a classifier in the loop."""

from .active import active_learning_scores, next_batch
from .adaptive import adaptive_sample, simulate_adaptive
from .budget import (
    annotations_for_width,
    interval_width,
    proportion_interval,
    unanimous_lower_bound,
    workload,
)
from .loop import model_loop

__all__ = [
    "active_learning_scores",
    "adaptive_sample",
    "annotations_for_width",
    "interval_width",
    "model_loop",
    "next_batch",
    "proportion_interval",
    "simulate_adaptive",
    "unanimous_lower_bound",
    "workload",
]
