"""MTurk batch-results importer: crowd-HTML answers, radio groups, rejected work, gold, malformed input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from accord import io
from accord.errors import DataQualityWarning, InvalidAnnotationsError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def triples(ann):
    return sorted(ann.to_frame().itertuples(index=False, name=None))


def test_batch_results():
    with pytest.warns(DataQualityWarning, match="1 rejected assignment; 1 no label"):
        result = io.read(FIXTURES / "mturk_batch_results.csv", gold="gold")
    assert triples(result.annotations) == [
        ("3H1", "W1", "Positive"),
        ("3H1", "W2", "Positive"),
        ("3H1", "W3", "Negative"),
        ("3H2", "W1", "Negative"),
        ("3H2", "W3", "Negative"),
        ("3H3", "W1", "Neutral"),
    ]
    assert result.skipped == {"rejected assignment": 1, "no label": 1}
    assert result.gold.to_dict() == {"3H1": "Positive", "3H3": "Neutral"}


def test_keep_rejected_and_item_from_input_column():
    with pytest.warns(DataQualityWarning):
        ann = io.from_mturk(FIXTURES / "mturk_batch_results.csv", keep_rejected=True, item="text")
    assert ("Cold food, long wait.", "W2", "Positive") in triples(ann)
    assert ann.n_annotations == 7


def test_radio_group_is_one_answer():
    with pytest.raises(
        InvalidAnnotationsError, match=r"several answers \['Answer.animal', 'Answer.comments'\]"
    ):
        io.from_mturk(FIXTURES / "mturk_radio.csv")
    with pytest.warns(DataQualityWarning, match="several options ticked"):
        ann = io.from_mturk(FIXTURES / "mturk_radio.csv", label="animal")
    # W2 ticked both dog and other on H2: skipped.
    assert triples(ann) == [
        ("H1", "W1", "cat"),
        ("H1", "W2", "cat"),
        ("H2", "W1", "dog"),
        ("H3", "W1", "other"),
    ]


def test_same_input_in_two_hits_is_one_item():
    # H3 shows H1's image again, to W1: by image, W1 labelled it twice.
    with pytest.raises(InvalidAnnotationsError, match="occur more than once"):
        io.from_mturk(FIXTURES / "mturk_radio.csv", label="animal", item="image_url")
    with pytest.warns(DataQualityWarning):
        ann = io.from_mturk(
            FIXTURES / "mturk_radio.csv", label="animal", item="image_url", duplicates="keep_last"
        )
    assert triples(ann) == [
        ("https://x/1.jpg", "W1", "other"),
        ("https://x/1.jpg", "W2", "cat"),
        ("https://x/2.jpg", "W1", "dog"),
    ]


def test_dataframe_input():
    frame = pd.read_csv(FIXTURES / "mturk_batch_results.csv", dtype=str)
    with pytest.warns(DataQualityWarning):
        ann = io.from_mturk(frame)
    assert ann.n_annotations == 6


def test_malformed_file_is_a_clear_error():
    with pytest.raises(InvalidAnnotationsError, match="no column 'WorkerId' — not a MTurk export"):
        io.read(FIXTURES / "mturk_bad.csv", format="mturk")
    with pytest.raises(InvalidAnnotationsError, match="no answer 'colour'"):
        io.from_mturk(FIXTURES / "mturk_batch_results.csv", label="colour")
