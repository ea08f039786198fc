"""Models by short name, for the CLI, benchmarks and ``method=`` arguments.

``Auto`` chooses among the models listed here, so it registers itself (:func:`register`) when ``models.auto``
is imported rather than being imported here: the registry never imports the model that reads it.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidParameterError
from ._base import Aggregator
from .bayesian_ds import BayesianDawidSkene
from .bwa import BWA
from .crowdlab import CrowdLab
from .dawid_skene import DawidSkene, OneCoinDawidSkene
from .ebcc import EBCC
from .glad import GLAD
from .kos import KOS
from .label_model import LabelModel
from .mace import MACE
from .majority import MajorityVote
from .mmce import MMCE
from .mmsr import MMSR
from .model_assisted_ds import ModelAssistedDawidSkene
from .wawa import Wawa, ZeroBasedSkill

__all__ = ["METHODS", "make_model", "register"]

METHODS: dict[str, type[Aggregator]] = {
    "mv": MajorityVote,
    "wawa": Wawa,
    "zbs": ZeroBasedSkill,
    "ds": DawidSkene,
    "onecoin": OneCoinDawidSkene,
    "crowdlab": CrowdLab,
    "ds_model": ModelAssistedDawidSkene,
    "ibcc": BayesianDawidSkene,
    "kos": KOS,
    "mmsr": MMSR,
    "glad": GLAD,
    "mace": MACE,
    "mmce": MMCE,
    "ebcc": EBCC,
    "bwa": BWA,
    "label_model": LabelModel,
}


def register(name: str, cls: type[Aggregator]) -> None:
    """Make ``cls`` available as ``make_model(name)`` (and ``accord aggregate --method name``)."""
    if METHODS.get(name, cls) is not cls:
        raise InvalidParameterError(f"method name {name!r} is already taken by {METHODS[name].__name__}")
    METHODS[name] = cls


def make_model(method: str, **params: Any) -> Aggregator:
    """A model from its short name (``accord.METHODS`` lists them), with the given hyper-parameters."""
    try:
        cls = METHODS[method]
    except KeyError:
        raise InvalidParameterError(
            f"unknown method {method!r}; choose one of {', '.join(METHODS)}"
        ) from None
    return cls(**params)
