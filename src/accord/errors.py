"""Exceptions and warnings raised by accord.

Every user-facing problem is one of these classes, so that a caller (and the CLI) can catch ``AccordError``
and show a one-line message without a traceback.
"""

from __future__ import annotations

__all__ = [
    "AccordError",
    "InvalidAnnotationsError",
    "InvalidParameterError",
    "NotFittedError",
    "ConvergenceWarning",
    "DataQualityWarning",
]


class AccordError(Exception):
    """Base class of every error accord raises on purpose."""


class InvalidAnnotationsError(AccordError, ValueError):
    """The annotations (or gold labels, or predicted probabilities) given by the user cannot be used as they
    are.

    The message names the problem, where it is (column, row, item) and how to fix it.
    """


class InvalidParameterError(AccordError, ValueError):
    """A hyper-parameter or argument has a value the method cannot use."""


class NotFittedError(AccordError, AttributeError):
    """A fitted attribute was read before ``fit`` was called."""


class ConvergenceWarning(UserWarning):
    """An iterative method stopped at ``max_iter`` before its convergence test fired."""


class DataQualityWarning(UserWarning):
    """The data are legal but odd in a way that may hurt the result (e.g. a class nobody chose)."""
