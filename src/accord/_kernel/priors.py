"""The class prior of the models that optimise it directly (GLAD, MACE): fixed, uniform or learned."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidParameterError
from .em import class_priors

if TYPE_CHECKING:
    from ..annotations import Annotations

__all__ = ["class_prior_setting", "learned_log_prior"]


def class_prior_setting(value: Any, ann: Annotations) -> tuple[np.ndarray, bool]:
    """``(log prior, learn?)`` from a ``class_prior`` option: "uniform", "learn" or K probabilities."""
    k = ann.n_classes
    if isinstance(value, str):
        if value not in ("uniform", "learn"):
            raise InvalidParameterError(
                f"class_prior must be 'uniform', 'learn' or {k} probabilities, got {value!r}"
            )
        return np.full(k, -np.log(k)), value == "learn"
    p = np.asarray(value, dtype=np.float64)
    if p.shape != (k,) or not np.all(p > 0) or not np.isclose(p.sum(), 1.0):
        raise InvalidParameterError(
            f"class_prior must be {k} positive probabilities summing to 1 (one per "
            f"class, in the order {list(ann.classes)}); got {value!r}"
        )
    return np.log(p), False


def learned_log_prior(post: np.ndarray) -> np.ndarray:
    """M-step of the class prior: the log of the mean posterior (floored so that no class gets log 0)."""
    return np.log(np.clip(class_priors(post), 1e-300, None))
