"""accord.aggregate: the one-call entry point (method "auto" by default)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accord.errors import InvalidParameterError
from accord.models.aggregate_fn import aggregate


def _frame(n_items=40, seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, size=n_items)
    rows = [
        (f"i{i}", f"a{a}", int(truth[i] if rng.random() < 0.8 else 1 - truth[i]))
        for i in range(n_items)
        for a in range(3)
    ]
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def test_default_is_auto_and_deterministic():
    frame = _frame()
    first = aggregate(frame)
    assert first.method.startswith("Auto(") and first.params["reason"]
    again = aggregate(frame.sample(frac=1.0, random_state=1))
    pd.testing.assert_series_equal(first.labels, again.labels.loc[first.labels.index])


def test_other_methods_parameters_and_gold():
    frame = _frame()
    ds = aggregate(frame, "ds", alpha=1.0)
    assert ds.method == "DawidSkene" and ds.params["alpha"] == 1.0
    gold = {"i0": 1 - int(aggregate(frame, "mv").labels["i0"])}
    assert aggregate(frame, gold=gold).labels["i0"] == gold["i0"]


def test_errors_name_the_problem():
    with pytest.raises(InvalidParameterError, match="unknown method"):
        aggregate(_frame(), "nope")
    with pytest.raises(InvalidParameterError, match="does not use pred_probs"):
        aggregate(_frame(), "mv", pred_probs=pd.DataFrame())
