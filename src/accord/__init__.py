"""accord: consensus labels and annotator quality from many annotators.

>>> from accord import Annotations, DawidSkene
>>> ann = Annotations.read("annotations.csv")          # doctest: +SKIP
>>> consensus = DawidSkene().fit(ann).consensus_      # doctest: +SKIP

The public API is re-exported here; each folder is one area of the product: ``annotations`` (input),
``models`` (truth inference), ``consensus`` (result), ``quality`` (agreement, qualification against gold),
``ambiguity`` (soft labels, class blending, proposal bias), ``planning`` (budget, adaptive stopping, what to
label next, a classifier in the loop), ``evaluation`` (metrics, redundancy curves, bench), ``io`` (readers and
importers), ``report`` (HTML and JSON report), ``cli``; ``_kernel`` holds the shared math below them.
"""

from . import io
from ._version import __version__ as __version__
from .ambiguity.bias import cleverlabel, correct_bias, estimate_offset
from .ambiguity.blending import blend, class_blending, estimate_transition
from .ambiguity.soft import dataset_statistics, kl_divergence, mean_kl_divergence, soft_labels
from .annotations import Annotations
from .consensus import Consensus
from .errors import (
    AccordError,
    ConvergenceWarning,
    DataQualityWarning,
    InvalidAnnotationsError,
    InvalidParameterError,
    NotFittedError,
)
from .evaluation.bench import run_bench
from .evaluation.metrics import accuracy, expected_calibration_error, log_loss, macro_f1
from .evaluation.redundancy import redundancy_curve
from .io import read_annotations, read_pred_probs
from .models import (
    GLAD,
    KOS,
    MACE,
    MMCE,
    MMSR,
    Auto,
    BayesianDawidSkene,
    CrowdLab,
    DawidSkene,
    MajorityVote,
    ModelAssistedDawidSkene,
    OneCoinDawidSkene,
    Wawa,
    ZeroBasedSkill,
    check_pred_probs,
    posterior,
)
from .models.aggregate_fn import aggregate
from .models.auto import ShrunkVote
from .models.bwa import BWA
from .models.ebcc import EBCC
from .models.label_model import LabelModel
from .models.lia import LIA
from .models.registry import METHODS, make_model
from .planning.active import active_learning_scores, next_batch
from .planning.adaptive import adaptive_sample, simulate_adaptive
from .planning.budget import annotations_for_width, interval_width, workload
from .planning.loop import model_loop
from .planning.speedup import ProposalDecision, proposal_decision, speedup
from .quality.agreement import agreement_summary, fleiss_kappa, krippendorff_alpha
from .quality.qualification import keep_annotators, passing_annotators, qualify
from .report import build_report, render_html, write_report

__all__ = [
    "AccordError",
    "Annotations",
    "Auto",
    "BWA",
    "BayesianDawidSkene",
    "Consensus",
    "ConvergenceWarning",
    "CrowdLab",
    "DataQualityWarning",
    "DawidSkene",
    "EBCC",
    "GLAD",
    "InvalidAnnotationsError",
    "InvalidParameterError",
    "KOS",
    "LIA",
    "LabelModel",
    "MACE",
    "METHODS",
    "MMCE",
    "MMSR",
    "MajorityVote",
    "ModelAssistedDawidSkene",
    "NotFittedError",
    "OneCoinDawidSkene",
    "ProposalDecision",
    "ShrunkVote",
    "Wawa",
    "ZeroBasedSkill",
    "accuracy",
    "active_learning_scores",
    "adaptive_sample",
    "aggregate",
    "agreement_summary",
    "annotations_for_width",
    "blend",
    "build_report",
    "check_pred_probs",
    "class_blending",
    "cleverlabel",
    "correct_bias",
    "dataset_statistics",
    "estimate_offset",
    "estimate_transition",
    "expected_calibration_error",
    "fleiss_kappa",
    "interval_width",
    "io",
    "keep_annotators",
    "kl_divergence",
    "krippendorff_alpha",
    "log_loss",
    "macro_f1",
    "make_model",
    "mean_kl_divergence",
    "model_loop",
    "next_batch",
    "passing_annotators",
    "posterior",
    "proposal_decision",
    "qualify",
    "read_annotations",
    "read_pred_probs",
    "redundancy_curve",
    "render_html",
    "run_bench",
    "simulate_adaptive",
    "soft_labels",
    "speedup",
    "workload",
    "write_report",
]
