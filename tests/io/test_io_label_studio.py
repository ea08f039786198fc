"""Label Studio importer: JSON export and JSON_MIN fixtures, skips, gold, and malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accord import io
from accord.errors import DataQualityWarning, InvalidAnnotationsError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def triples(ann):
    return sorted(ann.to_frame().itertuples(index=False, name=None))


EXPECTED = [
    ("101", "7", "Positive"),
    ("101", "9", "Negative"),
    ("101", "bo@example.com", "Positive"),
    ("102", "7", "Negative"),
    ("103", "7", "Neutral"),
    ("103", "bo@example.com", "Positive"),
]


def test_json_export():
    with pytest.warns(DataQualityWarning, match="skipped 4 Label Studio record"):
        result = io.read(FIXTURES / "label_studio_export.json", format="label_studio")
    assert triples(result.annotations) == EXPECTED
    assert list(result.annotations.classes) == ["Negative", "Neutral", "Positive"]
    # The cancelled, the two-choice, the empty and the ground-truth annotation are accounted for.
    assert result.skipped == {
        "cancelled or skipped annotation": 1,
        "several choices in one annotation (multi-label is not supported)": 1,
        "annotation without a choice": 1,
        "ground-truth annotation (taken as gold, not as a vote)": 1,
    }
    assert result.gold.to_dict() == {"102": "Negative"}
    report = "\n".join(result.annotations.report)
    assert "ignored 1 model prediction" in report and "choice control 'sentiment'" in report


def test_json_min_gives_the_same_annotations():
    with pytest.warns(DataQualityWarning):
        ann, gold = io.read(FIXTURES / "label_studio_min.json")  # format detected
    assert triples(ann) == EXPECTED
    assert gold.empty
    assert any("column 'sentiment' (guessed" in line for line in ann.report)


def test_from_function_and_parsed_input():
    data = json.loads((FIXTURES / "label_studio_export.json").read_text())
    with pytest.warns(DataQualityWarning):
        ann = io.from_label_studio(data, ground_truth="vote")
    assert ("102", "11", "Negative") in triples(ann)  # the ground-truth annotation counted as a vote


def test_completed_by_dict_without_email_uses_id():
    task = {
        "id": 1,
        "annotations": [
            {
                "completed_by": {"id": 42},
                "result": [{"from_name": "c", "type": "choices", "value": {"choices": ["a"]}}],
            },
            {
                "completed_by": 43,
                "result": [{"from_name": "c", "type": "choices", "value": {"choices": ["b"]}}],
            },
        ],
    }
    assert triples(io.from_label_studio([task])) == [("1", "42", "a"), ("1", "43", "b")]


def test_several_choice_controls_need_from_name():
    task = {
        "id": 1,
        "annotations": [
            {
                "completed_by": 1,
                "result": [
                    {"from_name": "mood", "type": "choices", "value": {"choices": ["happy"]}},
                    {"from_name": "topic", "type": "choices", "value": {"choices": ["food"]}},
                ],
            }
        ],
    }
    with pytest.raises(InvalidAnnotationsError, match=r"several choice controls \['mood', 'topic'\]"):
        io.from_label_studio([task])
    assert triples(io.from_label_studio([task], from_name="topic")) == [("1", "1", "food")]
    with pytest.raises(InvalidAnnotationsError, match="no choice control named 'colour'"):
        io.from_label_studio([task], from_name="colour")


def test_malformed_file_is_a_clear_error():
    with pytest.raises(InvalidAnnotationsError, match=r"not valid JSON .* line 5, column 1"):
        io.read(FIXTURES / "label_studio_bad.json", format="label_studio")


def test_not_a_label_studio_export():
    with pytest.raises(InvalidAnnotationsError, match="neither 'annotations'"):
        io.from_label_studio([{"foo": 1}])
    with pytest.raises(InvalidAnnotationsError, match="expected a JSON list of tasks"):
        io.from_label_studio({"foo": 1})


def test_everything_skipped_is_an_error():
    task = {"id": 1, "annotations": [{"completed_by": 1, "was_cancelled": True, "result": []}]}
    with pytest.raises(InvalidAnnotationsError, match="no usable Label Studio annotation .*1 cancelled"):
        io.from_label_studio([task])
