"""Small helpers shared across modules: random state and parameter checks."""

from __future__ import annotations

import numbers

import numpy as np

from .errors import InvalidParameterError

RandomState = "int | np.random.Generator | None"


def check_random_state(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """Turn ``random_state`` into a ``np.random.Generator`` once, at fit time.

    ``None`` gives a fixed seed (0), so that results are deterministic unless the user asks otherwise.
    """
    if random_state is None:
        return np.random.default_rng(0)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral):
        return np.random.default_rng(int(random_state))
    raise InvalidParameterError(
        f"random_state must be an int, a numpy Generator or None, got {type(random_state).__name__}"
    )


def check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    if not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_nonneg_float(name: str, value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number >= 0, got {value!r}") from None
    if not np.isfinite(v) or v < 0:
        raise InvalidParameterError(f"{name} must be a finite number >= 0, got {value!r}")
    return v
