"""Labelled fitted attributes: Confusions (and crowd-kit's errors_ layout), the history_ frame, and the
previous release's spellings, which still work with a DeprecationWarning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accord import DawidSkene
from accord._kernel.fitted import Confusions, errors_frame, history_frame


@pytest.fixture
def confusions() -> Confusions:
    values = np.array([[[0.9, 0.1], [0.3, 0.7]], [[0.6, 0.4], [0.2, 0.8]]])
    return Confusions(values, pd.Index(["ann", "bob"]), pd.Index(["cat", "dog"]))


def test_labelled_access(confusions):
    bob = confusions.loc["bob"]
    assert list(bob.index) == ["cat", "dog"] and bob.index.name == "true" and bob.columns.name == "given"
    assert bob.loc["dog", "cat"] == 0.2
    frame = confusions.to_frame()
    assert frame.shape == (4, 2) and list(frame.index.names) == ["annotator", "true"]
    errors = errors_frame(confusions)  # crowd-kit: rows (annotator, given label), columns the true class
    assert errors.loc[("bob", "cat"), "dog"] == 0.2
    np.testing.assert_allclose(errors.groupby(level="annotator").sum().to_numpy(), 1.0)


def test_array_like_without_warnings(confusions, recwarn):
    assert np.asarray(confusions).shape == (2, 2, 2) and confusions.shape == (2, 2, 2)
    np.testing.assert_allclose(np.log(confusions), np.log(confusions.values))
    np.testing.assert_allclose(confusions * 2, confusions.values * 2)
    assert len(recwarn) == 0
    with pytest.raises(ValueError, match="read-only"):
        confusions.values[0, 0, 0] = 1.0


def test_bare_array_spellings_are_deprecated(confusions):
    with pytest.warns(DeprecationWarning, match="positional indexing"):
        assert confusions[1, 1, 0] == 0.2
    with pytest.warns(DeprecationWarning, match="confusions_.sum"):
        np.testing.assert_allclose(confusions.sum(axis=2), 1.0)


def test_history_frame_and_the_old_list_of_dicts():
    frame = pd.DataFrame({"iteration": [1, 2], "objective": [-3.0, -2.5]})
    history = history_frame(frame, [{"labels": np.array([0, 1])}, {"labels": np.array([1, 1])}])
    assert isinstance(history, pd.DataFrame) and history["objective"].tolist() == [-3.0, -2.5]
    with pytest.warns(DeprecationWarning, match="history_"):
        step = history[1]
    assert step["iteration"] == 2 and step["objective"] == -2.5 and step["labels"].tolist() == [1, 1]
    with pytest.warns(DeprecationWarning):
        assert history[-1]["objective"] == -2.5


def test_dawid_skene_fitted_attributes():
    df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc"), "label": list("xxyyyy")})
    model = DawidSkene(max_iter=500).fit(df)
    assert isinstance(model.confusions_, Confusions) and list(model.confusions_.annotators) == ["a", "b", "c"]
    assert model.errors_.index.names == ["annotator", "label"]
    assert len(model.snapshots_) == model.n_iter_ == len(model.history_)
    assert model.snapshots_[0]["labels"].tolist() == [0, 1]  # the majority vote enters iteration 1
