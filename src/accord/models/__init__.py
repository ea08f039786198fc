"""Truth-inference models. Each returns a :class:`accord.Consensus` from ``fit``; ``accord.METHODS`` lists
them by short name."""

from ._base import Aggregator
from .auto import Auto
from .bayes import posterior
from .bayesian_ds import BayesianDawidSkene
from .crowdlab import CrowdLab, check_pred_probs
from .dawid_skene import DawidSkene, OneCoinDawidSkene
from .glad import GLAD
from .kos import KOS
from .mace import MACE
from .majority import MajorityVote
from .mmce import MMCE
from .mmsr import MMSR
from .model_assisted_ds import ModelAssistedDawidSkene
from .wawa import Wawa, ZeroBasedSkill

__all__ = [
    "GLAD",
    "KOS",
    "MACE",
    "MMCE",
    "MMSR",
    "Aggregator",
    "Auto",
    "BayesianDawidSkene",
    "CrowdLab",
    "DawidSkene",
    "MajorityVote",
    "ModelAssistedDawidSkene",
    "OneCoinDawidSkene",
    "Wawa",
    "ZeroBasedSkill",
    "check_pred_probs",
    "posterior",
]
