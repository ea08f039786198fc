"""The surface the task models and tables share (models/_base.Estimator and as_input, tasks/_tables): each
task keeps its own input's name in messages, its parameters in repr, and writes the same tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from accord.errors import InvalidAnnotationsError, NotFittedError
from accord.tasks.multilabel import MultiLabelAnnotations, MultiLabelDawidSkene, MultiLabelMajority
from accord.tasks.pairwise import BradleyTerry, Comparisons, NoisyBradleyTerry
from accord.tasks.ratings import BiasNoiseRating, MeanRating, Ratings

RATINGS = pd.DataFrame(
    {"item": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"], "value": [1.0, 3.0, 5.0, 4.0]}
)
SETS = pd.DataFrame({"item": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ['["x"]', '["x", "y"]', "[]"]})
DUELS = pd.DataFrame(
    {"annotator": ["a", "b", "a"], "left": [1, 2, 3], "right": [2, 3, 1], "winner": [1, 2, 3]}
)


@pytest.mark.parametrize(
    ("model", "attribute", "needs"),
    [
        (MeanRating(), "values_", "ratings"),
        (BiasNoiseRating(), "sd_", "ratings"),
        (BradleyTerry(), "scores_", "comparisons"),
        (NoisyBradleyTerry(), "ranking_", "comparisons"),
        (MultiLabelMajority(), "labels_", "annotations"),
        (MultiLabelDawidSkene(), "proba_", "annotations"),
    ],
)
def test_not_fitted_names_the_task_input(model: object, attribute: str, needs: str) -> None:
    name = type(model).__name__
    with pytest.raises(NotFittedError, match=rf"^{name} is not fitted yet: call fit\({needs}\) first$"):
        getattr(model, attribute)


def test_params_and_repr_list_the_settings_only() -> None:
    model = MeanRating(level=0.9).fit(RATINGS)
    assert model.get_params() == {"level": 0.9}
    assert repr(model) == "MeanRating(level=0.9)"
    assert repr(MultiLabelMajority(threshold=0.4)) == "MultiLabelMajority(threshold=0.4)"


@pytest.mark.parametrize(
    ("fit", "message"),
    [
        (
            MeanRating().fit,
            "expected Ratings or a pandas DataFrame with item, annotator, value columns; got int",
        ),
        (
            BradleyTerry().fit,
            "expected Comparisons or a pandas DataFrame with annotator, left, right, winner columns; got int",
        ),
        (MultiLabelMajority().fit, "expected MultiLabelAnnotations or a pandas DataFrame; got int"),
    ],
)
def test_wrong_input_type_names_what_was_expected(fit: object, message: str) -> None:
    with pytest.raises(InvalidAnnotationsError) as info:
        fit(5)  # type: ignore[operator]
    assert str(info.value) == message


def test_sizes_of_the_task_tables() -> None:
    ratings = Ratings.from_frame(RATINGS)
    sets = MultiLabelAnnotations.from_frame(SETS)
    duels = Comparisons.from_frame(DUELS)
    assert (ratings.n_items, ratings.n_annotators) == (2, 2)
    assert (sets.n_items, sets.n_annotators, sets.n_classes) == (2, 2, 2)
    assert (duels.n_items, duels.n_annotators) == (3, 2)


@pytest.mark.parametrize(
    ("model", "data"), [(MeanRating(), RATINGS), (BradleyTerry(), DUELS), (MultiLabelMajority(), SETS)]
)
def test_result_tables_and_csv(model: object, data: pd.DataFrame, tmp_path: Path) -> None:
    result = model.fit(data).consensus_  # type: ignore[attr-defined]
    annotators = result.annotators_frame()
    assert list(annotators.columns) == ["annotator", *result.annotator_quality.columns]
    assert annotators["annotator"].tolist() == list(result.annotator_quality.index)
    assert result.to_frame().columns[0] == "item"
    result.to_csv(tmp_path / "items.csv", annotators_path=tmp_path / "annotators.csv")
    assert len(pd.read_csv(tmp_path / "items.csv")) == len(result.to_frame())
    assert pd.read_csv(tmp_path / "annotators.csv")["annotator"].astype(str).tolist() == [
        str(a) for a in annotators["annotator"]
    ]
