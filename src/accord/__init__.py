"""accord: consensus labels and annotator quality from many annotators.

>>> from accord import Annotations, DawidSkene
>>> ann = Annotations.read("annotations.csv")          # doctest: +SKIP
>>> consensus = DawidSkene().fit(ann).consensus_      # doctest: +SKIP

The public API is re-exported here; the modules hold one idea each: ``annotations`` (input), ``models``
(truth inference), ``consensus`` (result), ``soft`` / ``blending`` / ``bias`` (ambiguous data), ``qualification``,
``planning``, ``active`` (what to label next), ``loop`` (a classifier in the loop), ``evaluate``, ``agreement``,
``io`` (importers), ``report`` (HTML report).
"""

from . import io
from .active import active_learning_scores, next_batch
from .agreement import agreement_summary, fleiss_kappa, krippendorff_alpha
from .annotations import Annotations
from .bias import cleverlabel, correct_bias, estimate_offset
from .blending import blend, class_blending, estimate_transition
from .bench import run_bench
from .consensus import Consensus
from .errors import (
    AccordError,
    ConvergenceWarning,
    DataQualityWarning,
    InvalidAnnotationsError,
    InvalidParameterError,
    NotFittedError,
)
from .evaluate import accuracy, expected_calibration_error, log_loss, macro_f1, redundancy_curve
from .loop import model_loop
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
    read_pred_probs,
)
from .planning import adaptive_sample, annotations_for_width, interval_width, simulate_adaptive, workload
from .qualification import keep_annotators, passing_annotators, qualify
from .registry import METHODS, make_model
from .report import build_report, render_html, write_report
from .soft import dataset_statistics, kl_divergence, mean_kl_divergence, soft_labels

__version__ = "0.1.0"

__all__ = [
    "GLAD",
    "KOS",
    "MACE",
    "METHODS",
    "MMCE",
    "MMSR",
    "AccordError",
    "Annotations",
    "Auto",
    "BayesianDawidSkene",
    "Consensus",
    "ConvergenceWarning",
    "CrowdLab",
    "DataQualityWarning",
    "DawidSkene",
    "InvalidAnnotationsError",
    "InvalidParameterError",
    "MajorityVote",
    "ModelAssistedDawidSkene",
    "NotFittedError",
    "OneCoinDawidSkene",
    "Wawa",
    "ZeroBasedSkill",
    "accuracy",
    "active_learning_scores",
    "adaptive_sample",
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
    "qualify",
    "read_pred_probs",
    "redundancy_curve",
    "render_html",
    "run_bench",
    "simulate_adaptive",
    "soft_labels",
    "workload",
    "write_report",
]
