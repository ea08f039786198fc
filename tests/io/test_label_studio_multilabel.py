"""Label Studio multiple-choice exports (JSON, JSON_MIN, CSV) read as label sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from accord.errors import DataQualityWarning, InvalidAnnotationsError
from accord.io.label_studio_multilabel import read
from accord.tasks import MultiLabelAnnotations, MultiLabelMajority

# the sets every export below encodes: (task, annotator) -> chosen classes
SETS = {
    ("1", "7"): ("cat", "dog"),
    ("1", "8"): ("cat",),
    ("1", "9"): ("cat", "dog"),
    ("2", "7"): (),
    ("2", "8"): ("bird",),
    ("2", "9"): ("bird",),
}


def _choices(values: list[str], name: str = "tags") -> dict[str, Any]:
    return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": values}}


def json_export() -> list[dict[str, Any]]:
    return [
        {"id": 1, "data": {"text": "a cat and a dog"}, "annotations": [
            {"id": 10, "completed_by": 7, "result": [_choices(["cat", "dog"])]},
            {"id": 11, "completed_by": {"id": 8}, "result": [_choices(["cat"])]},
            {"id": 12, "completed_by": 9, "result": [_choices(["dog", "cat"])]},
            {"id": 13, "completed_by": 5, "was_cancelled": True, "result": []},
        ], "predictions": [{"result": [_choices(["dog"])]}]},
        {"id": 2, "data": {"text": "a bird"}, "annotations": [
            {"id": 20, "completed_by": 7, "result": []},
            {"id": 21, "completed_by": 8, "result": [_choices(["bird"])]},
            {"id": 22, "completed_by": 9, "result": [_choices(["bird"]), _choices(["x"], "other")]},
        ]},
    ]  # fmt: skip


def json_min_export() -> list[dict[str, Any]]:
    """JSON_MIN: one choice is the label itself, several are {"choices": [...]}; nothing chosen: no key."""
    text = {1: "a cat and a dog", 2: "a bird"}
    cells: list[tuple[int, int, int, Any]] = [
        (1, 7, 10, {"choices": ["cat", "dog"]}),
        (1, 8, 11, "cat"),
        (1, 9, 12, {"choices": ["dog", "cat"]}),
        (2, 7, 20, None),
        (2, 8, 21, "bird"),
        (2, 9, 22, "bird"),
    ]
    records = []
    for task, annotator, annotation, tags in cells:
        rec = {"id": task, "text": text[task], "annotator": annotator, "annotation_id": annotation}
        if tags is not None:
            rec["tags"] = tags
        records.append(rec)
    return records


def csv_export(path: Path) -> Path:
    rows = []
    for rec in json_min_export():
        tags = rec.get("tags")
        cell = json.dumps(tags) if isinstance(tags, dict) else (tags or "")
        rows.append({"text": rec["text"], "id": rec["id"], "tags": cell, "annotator": rec["annotator"],
                     "annotation_id": rec["annotation_id"], "lead_time": 3.5})  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _sets(annotations: MultiLabelAnnotations) -> dict[tuple[str, str], tuple[str, ...]]:
    frame = annotations.to_frame()
    return {(str(r.item), str(r.annotator)): tuple(r.labels) for r in frame.itertuples()}


def test_json_export() -> None:
    with pytest.warns(DataQualityWarning, match="1 cancelled or skipped annotation"):
        got = read(json_export(), from_name="tags")
    assert _sets(got) == SETS
    assert list(got.classes) == ["bird", "cat", "dog"]
    assert any("ignored 1 model prediction" in line for line in got.report)
    with pytest.raises(InvalidAnnotationsError, match="several choice controls"):
        read(json_export())


def test_json_min_and_csv(tmp_path: Path) -> None:
    path = tmp_path / "min.json"
    path.write_text(json.dumps(json_min_export()), encoding="utf-8")
    assert _sets(read(path)) == SETS
    assert any("column 'tags' (guessed" in line for line in read(path).report)
    csv = csv_export(tmp_path / "export.csv")
    assert _sets(read(csv)) == SETS
    assert _sets(read(csv, from_name="tags")) == SETS
    tsv = tmp_path / "export.tsv"
    pd.read_csv(csv).to_csv(tsv, sep="\t", index=False)
    assert _sets(read(tsv)) == SETS


def test_the_sets_feed_the_models() -> None:
    with pytest.warns(DataQualityWarning):
        data = read(json_export(), from_name="tags", classes=["cat", "dog", "bird", "fish"])
    labels = MultiLabelMajority().fit(data).labels_
    assert labels.to_dict() == {"1": ("cat", "dog"), "2": ("bird",)}
    assert list(data.classes) == ["cat", "dog", "bird", "fish"]


def test_ground_truth_and_repeats_and_annotator_dicts() -> None:
    tasks = [{"id": "t", "annotations": [
        {"completed_by": {"email": "a@x"}, "result": [_choices(["p"])]},
        {"completed_by": {"email": "a@x"}, "result": [_choices(["q"])]},
        {"completed_by": 3, "ground_truth": True, "result": [_choices(["q"])]},
        {"completed_by": None, "result": [_choices(["q"])]},
    ]}]  # fmt: skip
    with pytest.warns(DataQualityWarning, match="ground-truth annotation.*annotation without an annotator"):
        got = read(tasks)
    assert _sets(got) == {("t", "a@x"): ("p", "q")}
    assert any("annotated more than once" in line for line in got.report)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"foo": 1}, "not a Label Studio export"),
        ([{"id": 1, "annotations": [{"completed_by": 1, "result": 5}]}], "'result' is not a list"),
        ([{"id": 1, "annotator": 1, "tags": {"choices": [{"x": 1}]}}], "a choice is a JSON object"),
        ([{"id": 1, "annotations": [{"completed_by": 1, "was_cancelled": True}]}], "no usable"),
    ],
)
def test_bad_exports(data: Any, message: str) -> None:
    with pytest.raises(InvalidAnnotationsError, match=message):
        read(data)


def test_bad_exports_without_warning(tmp_path: Path) -> None:
    with pytest.raises(InvalidAnnotationsError, match="no choice control named 'nope'"):
        read(json_export(), from_name="nope")
    plain = tmp_path / "plain.csv"
    plain.write_text("item,label\n1,a\n", encoding="utf-8")
    with pytest.raises(InvalidAnnotationsError, match="no 'annotator' column"):
        read(plain)
    records = [{"id": 1, "annotator": 1, "a": "x", "b": "y"}, {"id": 1, "annotator": 2, "a": "z", "b": "w"}]
    with pytest.raises(InvalidAnnotationsError, match="cannot tell which column"):
        read(records)
