"""The pieces the SageMaker and Label Studio readers share (io/_sagemaker.py, io/_label_studio.py)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from accord.errors import InvalidAnnotationsError
from accord.io import _sagemaker as gt
from accord.io._base import Collector
from accord.io._label_studio import export_layout, pick_control, task_list, task_where, user_id


def test_pick_control_strict_and_lenient() -> None:
    names = Counter({"animal": 2})
    assert pick_control(names, None, "f.json", "choice") == "animal"
    assert pick_control(set(), None, "f.json", "choice") is None
    with pytest.raises(InvalidAnnotationsError, match=r"no choice control named 'x'; the export has none"):
        pick_control(set(), "x", "f.json", "choice")
    assert pick_control(set(), "x", "f.json", "rectangle", strict=False) == "x"  # no control at all: taken
    with pytest.raises(
        InvalidAnnotationsError, match=r"no rectangle control named 'x'; the export has \['a'\]"
    ):
        pick_control({"a"}, "x", "f.json", "rectangle", strict=False)
    with pytest.raises(InvalidAnnotationsError, match=r"several choice controls \['a', 'b'\]; name the one"):
        pick_control({"b", "a"}, None, "f.json", "choice")


def test_label_studio_layout_users_and_places() -> None:
    task = {"id": 7, "annotations": []}
    assert task_list(task) == [task] and task_list([task]) == [task] and task_list(5) == 5
    assert export_layout([task], "f.json") == "tasks"
    assert export_layout([{"annotator": 1}], "f.json") == "min"
    with pytest.raises(InvalidAnnotationsError, match="neither 'annotations' .* nor 'annotator'"):
        export_layout([{"id": 1}], "f.json")
    assert user_id({"email": "a@x", "id": 3}) == "a@x" and user_id({"id": 3}) == "3" and user_id(4.0) == "4"
    assert task_where(task, 0, 1) == "task id 7, annotation 2"
    assert task_where({"id": [1]}, 4) == "task 5 (counting from 1)"


def test_sagemaker_answers_and_files(tmp_path: Path) -> None:
    assert gt.answer_content('{"a": 1}') == ({"a": 1}, None)
    assert gt.answer_content("{oops") == (None, "answer content that is not JSON")
    assert gt.answer_content(3) == (None, "answer without content")
    response = tmp_path / "job" / "annotations" / "worker-response" / "iteration-1" / "0" / "t.json"
    response.parent.mkdir(parents=True)
    response.write_text(json.dumps({"answers": [{"workerId": "w"}, 5]}))
    out = Collector("SageMaker Ground Truth", "x")
    assert list(gt.response_answers(response, out)) == [{"workerId": "w"}]
    assert out.skipped == {"answer that is not a JSON object": 1}
    assert gt.response_files(tmp_path / "job") == ([response], None)
    (response.parent / "none").mkdir()
    with pytest.raises(InvalidAnnotationsError, match="no worker-response JSON files"):
        gt.response_files(tmp_path / "job" / "annotations" / "worker-response" / "iteration-1" / "0" / "none")
    assert gt.indexed_source("1", ["a", "b"]) == "b"
    assert gt.indexed_source("2", ["a", "b"]) is None and gt.indexed_source("x", ["a"]) is None
    assert gt.indexed_source("0", None) is None


def test_sagemaker_manifest_lines(tmp_path: Path) -> None:
    path = tmp_path / "out.manifest"
    lines = [
        {"source-ref": "s3://a", "job": 1, "job-metadata": {}, "other": 2, "other-metadata": {}},
        {"source": "b"},
        {"job": 1, "job-metadata": {}},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    out = Collector("SageMaker Ground Truth", str(path))
    got = [(n, item, attrs) for n, _, item, attrs in gt.manifest_lines(path, out, None)]
    assert got == [(1, "s3://a", ["job", "other"]), (3, "line3", ["job"])]
    assert out.skipped == {"manifest line without a label attribute": 1}
    assert [attrs for *_, attrs in gt.manifest_lines(path, out, "other")] == [["other"]]
    empty = tmp_path / "empty.manifest"
    empty.write_text("\n")
    with pytest.raises(InvalidAnnotationsError, match="is empty"):
        list(gt.manifest_lines(empty, out, None))
    gt.manifest_notes(out, 2, 0)
    assert out.notes == ["2 consolidated label(s): each label attribute (labeling job) is one annotator"]
