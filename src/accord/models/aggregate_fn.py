"""``accord.aggregate``: consensus labels in one call, with the model chosen for the data (method "auto")."""

from __future__ import annotations

import inspect
from typing import Any

import pandas as pd

from ..annotations import Annotations
from ..consensus import Consensus
from ..errors import InvalidParameterError
from .registry import METHODS, make_model

__all__ = ["aggregate"]


def aggregate(
    data: Annotations | pd.DataFrame,
    method: str = "auto",
    *,
    gold: Any = None,
    pred_probs: Any = None,
    random_state: int | None = 0,
    **params: Any,
) -> Consensus:
    """Consensus label, confidence and annotator quality from annotations, in one call.

    Parameters
    ----------
    data : Annotations or DataFrame
        One row per annotation: item, annotator, label (``task``/``worker`` column names work too).
    method : str, default "auto"
        A name from ``accord.METHODS``. ``"auto"`` compares the models on held-out annotations and keeps what
        predicts them best; on data too small to learn annotator skills it gives a majority vote weighted by
        skills shrunk toward a common prior, and with one label per item that label (``reason`` in
        ``consensus.params`` says which and why).
    gold : Series (item -> label), dict or DataFrame, optional
        Labels known to be true; they are kept in the result, and ``method="auto"`` lets 20 or more of them
        judge the models.
    pred_probs : DataFrame, optional
        A classifier's out-of-sample predicted probabilities, for the methods that use them.
    random_state : int or None, default 0
        Seed of the methods that draw random numbers: the same data give the same result.
    **params
        Hyper-parameters of the method (e.g. ``alpha=1.0`` for ``"ds"``, ``candidates="mv,ds"`` for
        ``"auto"``).

    Returns
    -------
    Consensus
        ``labels``, ``proba``, ``item_quality``, ``annotator_quality``, ``confusion_matrix(annotator)``, ...

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc"), "label": list("xxyyyy")})
    >>> result = aggregate(df)
    >>> result.labels.tolist()
    ['x', 'y']
    >>> result.params["chosen"]
    'vote'
    """
    cls = METHODS.get(method)
    if cls is not None and "random_state" in inspect.signature(cls).parameters:
        params.setdefault("random_state", random_state)
    model = make_model(method, **params)
    inputs: dict[str, Any] = {"gold": gold}
    if pred_probs is not None:
        if "pred_probs" not in getattr(type(model), "accepts", ()):
            users = ", ".join(
                sorted(n for n, c in METHODS.items() if "pred_probs" in getattr(c, "accepts", ()))
            )
            raise InvalidParameterError(
                f"method {method!r} does not use pred_probs; methods that do: {users}"
            )
        inputs["pred_probs"] = pred_probs
    return model.fit(data, **inputs).consensus_
