"""Truth-inference models. Each returns a :class:`accord.Consensus` from ``fit``."""

from ._base import Aggregator
from .bayes import posterior
from .bayesian_ds import BayesianDawidSkene
from .kos import KOS
from .mmsr import MMSR
from .auto import Auto
from .crowdlab import CrowdLab, check_pred_probs, read_pred_probs
from .dawid_skene import DawidSkene, OneCoinDawidSkene
from .majority import MajorityVote
from .model_assisted_ds import ModelAssistedDawidSkene
from .wawa import Wawa, ZeroBasedSkill
from .glad import GLAD
from .mace import MACE
from .mmce import MMCE

__all__ = ["Aggregator", "Auto", "BayesianDawidSkene", "KOS", "MMSR", "DawidSkene", "MajorityVote", "OneCoinDawidSkene", "Wawa", "ZeroBasedSkill", "posterior"]
__all__ += ["CrowdLab", "ModelAssistedDawidSkene", "check_pred_probs", "read_pred_probs"]
__all__ += ["GLAD", "MACE", "MMCE"]
