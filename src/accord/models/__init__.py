"""Truth-inference models. Each returns a :class:`accord.Consensus` from ``fit``."""

from ._base import Aggregator
from .bayes import posterior
from .bayesian_ds import BayesianDawidSkene
from .dawid_skene import DawidSkene, OneCoinDawidSkene
from .majority import MajorityVote
from .wawa import Wawa, ZeroBasedSkill

__all__ = ["Aggregator", "BayesianDawidSkene", "DawidSkene", "MajorityVote", "OneCoinDawidSkene", "Wawa", "ZeroBasedSkill", "posterior"]
