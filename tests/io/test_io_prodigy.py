"""Prodigy importer: choice and binary JSONL exports, skips, malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord import io
from accord.errors import DataQualityWarning, InvalidAnnotationsError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def triples(ann):
    return sorted(ann.to_frame().itertuples(index=False, name=None))


def test_choice_tasks():
    with pytest.warns(DataQualityWarning, match="1 answer 'ignore'; 1 several options selected"):
        result = io.read(FIXTURES / "prodigy_choice.jsonl")
    assert result.format == "Prodigy"
    assert triples(result.annotations) == [
        ("1001", "sentiment-alice", "POS"),
        ("1001", "sentiment-bob", "POS"),
        ("1002", "sentiment-alice", "NEG"),
        ("1003", "sentiment-bob", "NEU"),
    ]


def test_binary_tasks_with_several_labels():
    with pytest.warns(DataQualityWarning, match="answer 'ignore'"):
        ann = io.from_prodigy(FIXTURES / "prodigy_binary.jsonl")
    assert triples(ann) == [
        ("11::COMPLAINT", "cx-ann", "accept"),
        ("11::COMPLAINT", "cx-ben", "accept"),
        ("12::COMPLAINT", "cx-ann", "reject"),
        ("12::PRAISE", "cx-ann", "accept"),
    ]


def test_item_key_and_text_fallback():
    records = [
        {"text": "a", "label": "X", "answer": "accept", "_annotator_id": "s1"},
        {"text": "a", "label": "X", "answer": "reject", "_annotator_id": "s2"},
    ]
    assert triples(io.from_prodigy(records)) == [("a", "s1", "accept"), ("a", "s2", "reject")]


def test_malformed_and_unusable_inputs():
    with pytest.raises(InvalidAnnotationsError, match=r"prodigy_bad.jsonl, line 2: not valid JSON"):
        io.read(FIXTURES / "prodigy_bad.jsonl", format="prodigy")
    with pytest.raises(InvalidAnnotationsError, match="no record says who annotated"):
        io.from_prodigy([{"text": "a", "label": "X", "answer": "accept"}])
    with pytest.raises(InvalidAnnotationsError, match="no record has an 'answer'"):
        io.from_prodigy([{"text": "a"}])
