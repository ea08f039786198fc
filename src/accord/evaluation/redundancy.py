"""Redundancy curves: a model's score against gold as the number of labels per item is capped."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._utils import check_positive_int, check_random_state
from ..annotations import Annotations
from ..errors import ConvergenceWarning, DataQualityWarning, InvalidParameterError
from ..models.registry import make_model
from .metrics import accuracy

__all__ = ["redundancy_curve"]


def _model_factory(model: Any) -> Callable[[], Any]:
    """A zero-argument callable returning a fresh, unfitted model, from a method name, a model or a
    callable."""
    if isinstance(model, str):
        make_model(model)  # fail early on an unknown name
        return lambda: make_model(model)
    if hasattr(model, "fit") and hasattr(model, "get_params"):
        return lambda: type(model)(**model.get_params())
    if callable(model):
        return model
    raise InvalidParameterError(
        f"model must be a method name, a model or a callable returning one; got {type(model).__name__}"
    )


def _feature_inputs(model: Any, features: Any) -> dict[str, Any]:
    """``{"features": features}`` for a model that accepts item features, else nothing."""
    if features is None or "features" not in (getattr(model, "accepts", ()) or ()):
        return {}
    return {"features": features}


def _check_levels(levels: Sequence[int | str | None]) -> list[int | None]:
    out: list[int | None] = []
    for level in levels:
        if level is None or (isinstance(level, str) and level.lower() == "all"):
            out.append(None)
        elif isinstance(level, (int, np.integer)) and level >= 1:
            out.append(int(level))
        else:
            raise InvalidParameterError(f"redundancy levels must be integers >= 1 or 'all', got {level!r}")
    return out


def redundancy_curve(
    model: Any,
    annotations: Annotations,
    gold: pd.Series,
    levels: Sequence[int | str | None] = (1, 2, 3, 5, 10, "all"),
    repeats: int = 10,
    random_state: int | np.random.Generator | None = None,
    metric: Callable[[pd.Series, pd.Series], float] | None = None,
    *,
    features: Any = None,
) -> pd.DataFrame:
    """Accuracy (or ``metric``) of one model as the number of labels per item is capped (its redundancy).

    For every level ``r``, ``repeats`` times: keep at most ``r`` labels per item, chosen uniformly at random
    (:meth:`Annotations.subsample`), fit a fresh model, score its labels on the gold items. ``"all"`` (or
    None) uses every label and is fitted once. Convergence and data-quality warnings of the individual fits
    are not shown (fits on one or two labels per item routinely raise them).

    Parameters
    ----------
    model : str, model or callable
        A method name (``accord.METHODS``), a model whose parameters are copied for every fit, or a callable
        returning a fresh model.
    annotations : Annotations
    gold : Series
        Gold label by item id.
    levels : sequence of int or "all"
    repeats : int, default 10
    random_state : int, Generator or None
        Draws the subsamples (the models keep their own ``random_state``).
    metric : callable (labels, gold) -> float, default :func:`accuracy`
    features : DataFrame indexed by item id, optional, keyword-only
        Item features, passed to every fit of a model that accepts them
        (e.g. :class:`~accord.models.lia.LIA`); ignored by the others.

    Returns
    -------
    DataFrame
        One row per level: ``redundancy`` (the cap, or "all"), ``labels_per_item`` (mean over items that have
        labels), ``mean``, ``sem`` (standard error of the mean over repeats; 0 with one repeat), ``repeats``.

    Notes
    -----
    This is the accuracy-against-redundancy table of the crowdsourcing literature (for example Table 2 of
    Platanios et al. 2020). It answers "how good is this model with ``r`` labels per item"; the report's
    :func:`accord.report.error_by_labels_per_item` answers another question (the error of several methods on
    the same subsamples, ``k = 1`` being one label per item).

    References
    ----------
    E. A. Platanios, M. Al-Shedivat, E. Xing and T. Mitchell (2020). Learning from Imperfect Annotations.
    arXiv:2004.03473. https://arxiv.org/abs/2004.03473
    """
    factory = _model_factory(model)
    repeats = check_positive_int("repeats", repeats)
    rng = check_random_state(random_state)
    score = accuracy if metric is None else metric
    rows = []
    for level in _check_levels(levels):
        n_runs = 1 if level is None else repeats
        values, sizes = [], []
        for _ in range(n_runs):
            sub = annotations if level is None else annotations.subsample(level, rng)
            item_sizes = sub.item_sizes()
            sizes.append(float(item_sizes[item_sizes > 0].mean()))
            with warnings.catch_warnings():  # subsampled fits often stop early or look odd; that is the point
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.simplefilter("ignore", DataQualityWarning)
                fresh = factory()
                extra = _feature_inputs(fresh, features)
                values.append(score(fresh.fit(sub, **extra).labels_, gold))
        arr = np.asarray(values)
        sem = float(arr.std(ddof=1) / np.sqrt(len(arr))) if len(arr) > 1 else 0.0
        rows.append(
            {
                "redundancy": "all" if level is None else level,
                "labels_per_item": float(np.mean(sizes)),
                "mean": float(arr.mean()),
                "sem": sem,
                "repeats": n_runs,
            }
        )
    return pd.DataFrame(rows, columns=["redundancy", "labels_per_item", "mean", "sem", "repeats"])
