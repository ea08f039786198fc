"""Models by short name, for the CLI, benchmarks and ``method=`` arguments."""

from __future__ import annotations

from typing import Any

from .errors import InvalidParameterError
from .models import DawidSkene, MajorityVote, OneCoinDawidSkene, Wawa, ZeroBasedSkill
from .models._base import Aggregator
from .models.bayesian_ds import BayesianDawidSkene
from .models.kos import KOS
from .models.mmsr import MMSR
from .models.auto import Auto
from .models.crowdlab import CrowdLab
from .models.model_assisted_ds import ModelAssistedDawidSkene
from .models.glad import GLAD
from .models.mace import MACE
from .models.mmce import MMCE

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
    "auto": Auto,
}


def make_model(method: str, **params: Any) -> Aggregator:
    """A model from its short name (``accord.METHODS`` lists them), with the given hyper-parameters."""
    try:
        cls = METHODS[method]
    except KeyError:
        raise InvalidParameterError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}") from None
    return cls(**params)
