"""Toloka importer: assignment TSV with GOLDEN:* gold, statuses, blank lines, malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord import io
from accord.errors import DataQualityWarning, InvalidAnnotationsError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
IMG = "https://tlk.s3/{}.jpg"


def triples(ann):
    return sorted(ann.to_frame().itertuples(index=False, name=None))


def test_assignments_with_golden_and_statuses():
    with pytest.warns(DataQualityWarning, match="3 assignment with status REJECTED; 1 no label"):
        result = io.read(FIXTURES / "toloka_assignments.tsv")  # detected from the header
    assert result.format == "Toloka"
    assert triples(result.annotations) == sorted(
        [
            (IMG.format(1), "w1", "cat"),
            (IMG.format(2), "w1", "dog"),
            (IMG.format(3), "w1", "cat"),
            (IMG.format(1), "w2", "dog"),
            (IMG.format(2), "w2", "dog"),
            (IMG.format(3), "w2", "dog"),
            (IMG.format(2), "w4", "dog"),
        ]
    )
    assert result.gold.to_dict() == {IMG.format(1): "cat"}  # GOLDEN:result of the control task


def test_keep_rejected_status():
    with pytest.warns(DataQualityWarning):
        ann = io.from_toloka(
            FIXTURES / "toloka_assignments.tsv", statuses=["ACCEPTED", "SUBMITTED", "REJECTED"]
        )
    assert {a for _, a, _ in triples(ann)} == {"w1", "w2", "w3"}


def test_task_id_and_several_inputs(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text(
        "INPUT:left\tINPUT:right\tOUTPUT:result\tOUTPUT:comment\tASSIGNMENT:worker_id\n"
        "a.mp4\tb.mp4\tleft\t\tw1\n"
        "a.mp4\tb.mp4\tright\tmeh\tw2\n"
    )
    with pytest.raises(InvalidAnnotationsError, match="several outputs"):
        io.from_toloka(path)
    ann = io.from_toloka(path, label="result")
    assert triples(ann) == [("a.mp4 | b.mp4", "w1", "left"), ("a.mp4 | b.mp4", "w2", "right")]


def test_malformed_file_is_a_clear_error():
    with pytest.raises(
        InvalidAnnotationsError, match="no column 'ASSIGNMENT:worker_id' — not a Toloka export"
    ):
        io.read(FIXTURES / "toloka_bad.tsv")
