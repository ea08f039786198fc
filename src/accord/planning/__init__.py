"""Planning an annotation campaign: the budget (annotations per item, hours), whether model proposals pay off
(speed-up), adaptive stopping, what to label next (ActiveLab) and a classifier in the loop."""

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
from .speedup import ProposalDecision, cost_with_proposals, proposal_decision

# ``speedup`` (the function) stays in accord.planning.speedup: re-exported here it would hide that module

__all__ = [
    "ProposalDecision",
    "active_learning_scores",
    "adaptive_sample",
    "annotations_for_width",
    "cost_with_proposals",
    "interval_width",
    "model_loop",
    "next_batch",
    "proportion_interval",
    "proposal_decision",
    "simulate_adaptive",
    "unanimous_lower_bound",
    "workload",
]
