"""Lazy re-exports for package ``__init__`` modules (PEP 562 module ``__getattr__``).

``import accord`` used to import every subpackage, which cost most of the command line's start-up; now a
public name's module is imported the first time the name is used, and the value is cached on the package.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, namespace: dict[str, Any], exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose public ``name`` lives in ``exports[name]``.

    ``exports`` maps each name to the module (relative to ``package``, e.g. ``".models.lia"``) that defines
    it; a name mapped to its own module directly below ``package`` (``"io": ".io"``) exports the submodule.
    Any other submodule is imported when its name is first used (``accord.errors``, ``accord.models.lia``).
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:  # a subpackage or submodule, as ``import accord; accord.errors`` always gave
            if importlib.util.find_spec(f"{package}.{name}") is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            return importlib.import_module(f"{package}.{name}")
        loaded = importlib.import_module(module, package)
        value = loaded if module == f".{name}" else getattr(loaded, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
