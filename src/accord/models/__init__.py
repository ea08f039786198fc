"""Truth-inference models. Each returns a :class:`accord.Consensus` from ``fit``; ``accord.METHODS`` lists
them by short name.

Each model's module is imported the first time its name is used.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
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

_EXPORTS = {
    "Aggregator": "._base",
    "Auto": ".auto",
    "posterior": ".bayes",
    "BayesianDawidSkene": ".bayesian_ds",
    "CrowdLab": ".crowdlab",
    "check_pred_probs": ".crowdlab",
    "DawidSkene": ".dawid_skene",
    "OneCoinDawidSkene": ".dawid_skene",
    "GLAD": ".glad",
    "KOS": ".kos",
    "MACE": ".mace",
    "MajorityVote": ".majority",
    "MMCE": ".mmce",
    "MMSR": ".mmsr",
    "ModelAssistedDawidSkene": ".model_assisted_ds",
    "Wawa": ".wawa",
    "ZeroBasedSkill": ".wawa",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

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
