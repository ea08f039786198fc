"""Models by short name, for the CLI, benchmarks and ``method=`` arguments.

Each name maps to ``"module:Class"`` and the module is imported the first time the name is looked up, so the
command line and ``import accord`` do not pay for models they never use (scipy's optimisers, JAX).
``Auto`` chooses among the models listed here and reads this registry; it is listed by name, so the registry
never imports the model that reads it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

from ..errors import InvalidParameterError
from ._base import Aggregator

__all__ = ["METHODS", "make_model", "register"]

_BUILT_IN = {
    "mv": "majority:MajorityVote",
    "wawa": "wawa:Wawa",
    "zbs": "wawa:ZeroBasedSkill",
    "ds": "dawid_skene:DawidSkene",
    "onecoin": "dawid_skene:OneCoinDawidSkene",
    "crowdlab": "crowdlab:CrowdLab",
    "ds_model": "model_assisted_ds:ModelAssistedDawidSkene",
    "ibcc": "bayesian_ds:BayesianDawidSkene",
    "kos": "kos:KOS",
    "mmsr": "mmsr:MMSR",
    "glad": "glad:GLAD",
    "mace": "mace:MACE",
    "mmce": "mmce:MMCE",
    "ebcc": "ebcc:EBCC",
    "bwa": "bwa:BWA",
    "label_model": "label_model:LabelModel",
    "vote": "auto:ShrunkVote",
    "auto": "auto:Auto",
    "lia": "lia:LIA",
}


class _Registry(MutableMapping[str, type[Aggregator]]):
    """A name -> model-class mapping whose built-in entries are imported on first look-up."""

    def __init__(self, built_in: dict[str, str]) -> None:
        self._entries: dict[str, str | type[Aggregator]] = dict(built_in)

    def __getitem__(self, name: str) -> type[Aggregator]:
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(f"{__package__}.{module}"), attr)
            self._entries[name] = entry
        return entry

    def __setitem__(self, name: str, cls: type[Aggregator]) -> None:
        self._entries[name] = cls

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names_the(self, name: str, cls: type) -> bool:
        """Whether ``name`` is free or already stands for ``cls`` (resolved or not)."""
        entry = self._entries.get(name, cls)
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            return f"{__package__}.{module}" == cls.__module__ and attr == cls.__qualname__
        return entry is cls

    def __repr__(self) -> str:
        return f"METHODS({', '.join(self._entries)})"


METHODS: MutableMapping[str, type[Aggregator]] = _Registry(_BUILT_IN)


def register(name: str, cls: type[Aggregator]) -> None:
    """Make ``cls`` available as ``make_model(name)`` (and ``accord aggregate --method name``)."""
    assert isinstance(METHODS, _Registry)
    if not METHODS.names_the(name, cls):
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
