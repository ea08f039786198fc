"""Annotator and dataset quality: agreement statistics (Fleiss' kappa, Krippendorff's alpha) and qualification
of annotators against gold labels."""

from .agreement import agreement_summary, fleiss_kappa, krippendorff_alpha, observed_agreement
from .qualification import keep_annotators, passing_annotators, qualify

__all__ = [
    "agreement_summary",
    "fleiss_kappa",
    "keep_annotators",
    "krippendorff_alpha",
    "observed_agreement",
    "passing_annotators",
    "qualify",
]
