"""accord: consensus labels and annotator quality from many annotators.

>>> from accord import Annotations, DawidSkene
>>> ann = Annotations.read("annotations.csv")          # doctest: +SKIP
>>> consensus = DawidSkene().fit(ann).consensus_      # doctest: +SKIP

The public API is re-exported here; each folder is one area of the product: ``annotations`` (input),
``models`` (truth inference), ``consensus`` (result), ``quality`` (agreement, qualification against gold),
``ambiguity`` (soft labels, class blending, proposal bias), ``planning`` (budget, adaptive stopping, what to
label next, a classifier in the loop), ``evaluation`` (metrics, redundancy curves, bench), ``io`` (readers and
importers), ``report`` (HTML and JSON report), ``cli``; ``_kernel`` holds the shared math below them.

Names are imported on first use (PEP 562), so ``import accord`` and the command line start quickly.
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._version import __version__ as __version__

if TYPE_CHECKING:
    from . import io
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

_EXPORTS = {
    "cleverlabel": ".ambiguity.bias",
    "correct_bias": ".ambiguity.bias",
    "estimate_offset": ".ambiguity.bias",
    "blend": ".ambiguity.blending",
    "class_blending": ".ambiguity.blending",
    "estimate_transition": ".ambiguity.blending",
    "dataset_statistics": ".ambiguity.soft",
    "kl_divergence": ".ambiguity.soft",
    "mean_kl_divergence": ".ambiguity.soft",
    "soft_labels": ".ambiguity.soft",
    "Annotations": ".annotations",
    "Consensus": ".consensus",
    "AccordError": ".errors",
    "ConvergenceWarning": ".errors",
    "DataQualityWarning": ".errors",
    "InvalidAnnotationsError": ".errors",
    "InvalidParameterError": ".errors",
    "NotFittedError": ".errors",
    "run_bench": ".evaluation.bench",
    "accuracy": ".evaluation.metrics",
    "expected_calibration_error": ".evaluation.metrics",
    "log_loss": ".evaluation.metrics",
    "macro_f1": ".evaluation.metrics",
    "redundancy_curve": ".evaluation.redundancy",
    "io": ".io",
    "read_annotations": ".io",
    "read_pred_probs": ".io",
    "Auto": ".models",
    "BayesianDawidSkene": ".models",
    "CrowdLab": ".models",
    "DawidSkene": ".models",
    "GLAD": ".models",
    "KOS": ".models",
    "MACE": ".models",
    "MMCE": ".models",
    "MMSR": ".models",
    "MajorityVote": ".models",
    "ModelAssistedDawidSkene": ".models",
    "OneCoinDawidSkene": ".models",
    "Wawa": ".models",
    "ZeroBasedSkill": ".models",
    "check_pred_probs": ".models",
    "posterior": ".models",
    "aggregate": ".models.aggregate_fn",
    "ShrunkVote": ".models.auto",
    "BWA": ".models.bwa",
    "EBCC": ".models.ebcc",
    "LabelModel": ".models.label_model",
    "LIA": ".models.lia",
    "METHODS": ".models.registry",
    "make_model": ".models.registry",
    "active_learning_scores": ".planning.active",
    "next_batch": ".planning.active",
    "adaptive_sample": ".planning.adaptive",
    "simulate_adaptive": ".planning.adaptive",
    "annotations_for_width": ".planning.budget",
    "interval_width": ".planning.budget",
    "workload": ".planning.budget",
    "model_loop": ".planning.loop",
    "ProposalDecision": ".planning.speedup",
    "proposal_decision": ".planning.speedup",
    "speedup": ".planning.speedup",
    "agreement_summary": ".quality.agreement",
    "fleiss_kappa": ".quality.agreement",
    "krippendorff_alpha": ".quality.agreement",
    "keep_annotators": ".quality.qualification",
    "passing_annotators": ".quality.qualification",
    "qualify": ".quality.qualification",
    "build_report": ".report",
    "render_html": ".report",
    "write_report": ".report",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

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
