"""accord: consensus labels and annotator quality from many annotators.

>>> from accord import Annotations, DawidSkene
>>> ann = Annotations.read("annotations.csv")          # doctest: +SKIP
>>> consensus = DawidSkene().fit(ann).consensus_      # doctest: +SKIP
"""

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
from .models import DawidSkene, MajorityVote, OneCoinDawidSkene, Wawa, ZeroBasedSkill, posterior
from .registry import METHODS, make_model

__version__ = "0.1.0"

__all__ = [
    "AccordError",
    "Annotations",
    "Consensus",
    "ConvergenceWarning",
    "DataQualityWarning",
    "DawidSkene",
    "InvalidAnnotationsError",
    "InvalidParameterError",
    "METHODS",
    "MajorityVote",
    "NotFittedError",
    "OneCoinDawidSkene",
    "Wawa",
    "ZeroBasedSkill",
    "make_model",
    "posterior",
]
