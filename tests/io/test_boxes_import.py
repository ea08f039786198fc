"""Box importers: Label Studio JSON, JSON_MIN and CSV, SageMaker Ground Truth responses and manifests."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from accord.errors import DataQualityWarning, InvalidAnnotationsError, InvalidParameterError
from accord.io import boxes_label_studio, boxes_sagemaker
from accord.io.boxes import detect_box_format, read_boxes
from accord.tasks.boxes import aggregate_boxes, score_boxes

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "boxes.py"


def _rect(x: float, y: float, w: float, h: float, label: Any = "car", **extra: Any) -> dict[str, Any]:
    value = {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}
    value.update(extra)
    return {"type": "rectanglelabels", "from_name": "label", "to_name": "image", "original_width": 800,
            "original_height": 600, "value": value}  # fmt: skip


def _ls_tasks() -> list[dict[str, Any]]:
    return [
        {"id": 1, "data": {"image": "/data/a.jpg"}, "predictions": [{"result": [_rect(0, 0, 1, 1)]}],
         "annotations": [
             {"id": 11, "completed_by": 7,
              "result": [_rect(10, 10, 20, 30), _rect(50, 50, 10, 10, "person")]},
             {"id": 12, "completed_by": {"id": 8, "email": "bo@x.org"}, "result": [_rect(11, 10, 20, 29)]},
             {"id": 13, "completed_by": 9, "result": []},
             {"id": 14, "completed_by": 10, "was_cancelled": True, "result": [_rect(10, 10, 20, 30)]},
         ]},
        {"id": 2, "data": {"image": "/data/b.jpg"}, "annotations": [
            {"id": 21, "completed_by": 7, "result": [_rect(5, 5, 10, 10, rotation=30)]},
            {"id": 22, "completed_by": 9, "result": [_rect(5, 5, 10, 10, "truck")]},
        ]},
    ]  # fmt: skip


EXPECTED = pd.DataFrame(
    {
        "item": ["1", "1", "1", "2"],
        "annotator": ["7", "7", "bo@x.org", "9"],
        "label": ["car", "person", "car", "truck"],
        "x": [10.0, 50.0, 11.0, 5.0],
        "y": [10.0, 50.0, 10.0, 5.0],
        "width": [20.0, 10.0, 20.0, 10.0],
        "height": [30.0, 10.0, 29.0, 10.0],
    }
)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["item", "annotator", "x"]).reset_index(drop=True)


def _min_records() -> list[dict[str, Any]]:
    """The JSON_MIN export of the same project (cancelled annotations are not exported)."""
    records = []
    for task in _ls_tasks():
        for ann in task["annotations"]:
            if ann.get("was_cancelled"):
                continue
            rec = {"image": task["data"]["image"], "id": task["id"], "annotation_id": ann["id"]}
            by = ann["completed_by"]
            rec["annotator"] = by["email"] if isinstance(by, dict) else by
            if ann["result"]:
                rec["label"] = [
                    dict(r["value"], original_width=800, original_height=600) for r in ann["result"]
                ]
            records.append(rec)
    return records


def _check_ls(boxes: Any) -> None:
    pd.testing.assert_frame_equal(_sorted(boxes.to_frame()), EXPECTED)
    seen = boxes.seen_frame()
    assert set(map(tuple, seen[["item", "annotator"]].to_numpy())) == {
        ("1", "7"), ("1", "bo@x.org"), ("1", "9"), ("2", "7"), ("2", "9")
    }  # fmt: skip
    assert seen.set_index(["item", "annotator"]).loc[("1", "9"), "n_boxes"] == 0
    assert boxes.units == "percent"
    assert boxes.skipped["rotated box (rotation is not 0)"] == 1
    assert boxes.image_sizes.loc["1"].tolist() == [800.0, 600.0]


def test_label_studio_json(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(_ls_tasks()))
    with pytest.warns(DataQualityWarning, match="skipped 2 Label Studio record"):
        boxes = read_boxes(path)
    _check_ls(boxes)
    assert boxes.skipped["cancelled or skipped annotation"] == 1
    assert any("ignored 1 model prediction" in line for line in boxes.report)


def test_label_studio_json_min(tmp_path: Path) -> None:
    path = tmp_path / "export_min.json"
    path.write_text(json.dumps(_min_records()))
    with pytest.warns(DataQualityWarning, match="rotated"):
        boxes = read_boxes(path, format="label_studio")
    _check_ls(boxes)


def test_label_studio_csv(tmp_path: Path) -> None:
    rows = []
    for rec in _min_records():
        row = dict(rec)
        if "label" in row:
            row["label"] = json.dumps(row["label"])
        rows.append(row)
    path = tmp_path / "export.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    assert detect_box_format(path) == "label_studio"
    with pytest.warns(DataQualityWarning):
        boxes = read_boxes(path)
    _check_ls(boxes)


def test_label_studio_errors_name_the_record(tmp_path: Path) -> None:
    tasks = _ls_tasks()
    tasks[1]["annotations"][1]["result"][0]["value"]["x"] = "left edge"
    with pytest.raises(InvalidAnnotationsError, match="task 2, annotation 22"):
        boxes_label_studio.read(tasks)
    path = tmp_path / "bad.csv"
    path.write_text(
        'id,annotator,label\n1,7,"[{""x"": 1, ""y"": 1, ""width"": 2, ""height"": 2}]"\n2,8,"[{oops"\n'
    )
    with pytest.raises(InvalidAnnotationsError, match=r"line 3 \(task 2\).*not valid JSON"):
        boxes_label_studio.read(path)


def test_label_studio_several_controls() -> None:
    tasks = _ls_tasks()
    extra = _rect(1, 1, 5, 5)
    extra["from_name"] = "damage"
    tasks[0]["annotations"][0]["result"].append(extra)
    with pytest.raises(InvalidAnnotationsError, match=r"several rectangle controls \['damage', 'label'\]"):
        boxes_label_studio.read(tasks)
    with pytest.warns(DataQualityWarning):
        boxes = boxes_label_studio.read(tasks, from_name="damage")
    assert boxes.n_boxes == 1
    with pytest.raises(InvalidAnnotationsError, match="no rectangle control named 'dent'"):
        boxes_label_studio.read(tasks, from_name="dent")


def test_read_boxes_field_and_format(tmp_path: Path) -> None:
    tasks = _ls_tasks()
    extra = _rect(1, 1, 5, 5)
    extra["from_name"] = "damage"
    tasks[0]["annotations"][0]["result"].append(extra)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    with pytest.warns(DataQualityWarning):
        assert read_boxes(path, field="damage").n_boxes == 1
    with pytest.raises(InvalidParameterError, match="unknown box export format 'coco'"):
        read_boxes(path, format="coco")
    with pytest.raises(InvalidAnnotationsError, match="no such file"):
        read_boxes(tmp_path / "missing.json")


@pytest.mark.parametrize("kind", ["yolo_dir", "yolo_txt", "voc_xml", "voc_dir", "coco", "zip"])
def test_lossy_label_studio_exports_are_refused(tmp_path: Path, kind: str) -> None:
    if kind == "yolo_dir":
        (tmp_path / "labels").mkdir()
        (tmp_path / "classes.txt").write_text("car\n")
        path = tmp_path
    elif kind == "yolo_txt":
        path = tmp_path / "a.txt"
        path.write_text("0 0.5 0.5 0.2 0.1\n")
    elif kind == "voc_xml":
        path = tmp_path / "a.xml"
        path.write_text("<annotation><object><name>car</name></object></annotation>")
    elif kind == "voc_dir":
        (tmp_path / "Annotations").mkdir()
        path = tmp_path
    elif kind == "coco":
        path = tmp_path / "result.json"
        path.write_text(json.dumps({"images": [], "categories": [], "annotations": []}))
    else:
        path = tmp_path / "project.zip"
        path.write_bytes(b"PK")
    with pytest.raises(InvalidAnnotationsError, match="JSON, JSON_MIN or CSV") as info:
        read_boxes(path, format="label_studio")
    expected = {"coco": "drops the annotator", "zip": "zip"}.get(kind, "one annotation per task")
    assert expected in str(info.value)


def _response(*answers: tuple[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"answers": [
        {"workerId": w, "answerContent": {"boundingBox": {
            "boundingBoxes": b, "inputImageProperties": {"width": 800, "height": 533}}}}
        for w, b in answers
    ]}  # fmt: skip


def _sm_box(label: str, left: float, top: float, width: float, height: float) -> dict[str, Any]:
    return {"label": label, "left": left, "top": top, "width": width, "height": height}


def test_sagemaker_worker_responses_in_a_job_folder(tmp_path: Path) -> None:
    job = tmp_path / "job"
    for index, answers in enumerate([
        [("w1", [_sm_box("dog", 243, 117, 187, 401)]), ("w2", [_sm_box("dog", 240, 120, 190, 400)])],
        [("w1", []), ("w2", [_sm_box("cat", 10, 10, 50, 0)])],
    ]):  # fmt: skip
        folder = job / "annotations" / "worker-response" / "iteration-1" / str(index)
        folder.mkdir(parents=True)
        (folder / "2024-01-01T00:00:00.json").write_text(json.dumps(_response(*answers)))
    (job / "manifests" / "output").mkdir(parents=True)
    lines = [{"source-ref": "s3://b/img0.jpg"}, {"source-ref": "s3://b/img1.jpg"}]
    (job / "manifests" / "output" / "output.manifest").write_text("\n".join(map(json.dumps, lines)))
    assert detect_box_format(job) == "sagemaker"
    with pytest.warns(DataQualityWarning, match="zero or negative"):
        boxes = read_boxes(job)
    frame = boxes.to_frame()
    assert frame["item"].tolist() == ["s3://b/img0.jpg", "s3://b/img0.jpg"]
    assert frame[["x", "y", "width", "height"]].to_numpy().tolist() == [
        [243, 117, 187, 401],
        [240, 120, 190, 400],
    ]
    assert len(boxes.seen_frame()) == 4 and boxes.units == "px"
    one = boxes_sagemaker.read(job / "annotations/worker-response/iteration-1/0/2024-01-01T00:00:00.json")
    assert one.to_frame()["item"].tolist() == ["0", "0"]


def test_sagemaker_output_manifest(tmp_path: Path) -> None:
    consolidated = {
        "source-ref": "s3://b/img0.jpg",
        "bounding-box": {"image_size": [{"width": 500, "height": 400, "depth": 3}], "annotations": [
            {"class_id": 0, "left": 111, "top": 134, "width": 61, "height": 128},
            {"class_id": 5, "left": 161, "top": 250, "width": 30, "height": 30}]},
        "bounding-box-metadata": {"class-map": {"0": "dog", "5": "bone"},
                                  "type": "groundtruth/object-detection"},
        "adjusted-bounding-box": {"image_size": [{"width": 500, "height": 400}], "annotations": [
            {"class_id": 0, "left": 110, "top": 135, "width": 61, "height": 128}]},
        "adjusted-bounding-box-metadata": {"class-map": {"0": "dog"}, "type": "groundtruth/object-detection"},
    }  # fmt: skip
    content = json.dumps({"annotatedResult": {"boundingBoxes": [_sm_box("dog", 112, 130, 60, 130)]}})
    per_worker = {
        "source-ref": "s3://b/img1.jpg",
        "boxes": {"annotationsFromAllWorkers": [
            {"workerId": "w9", "annotationData": {"content": content}},
            {"workerId": "w8", "annotationData": {"content": "{not json"}}]},
        "boxes-metadata": {"type": "groundtruth/custom"},
    }  # fmt: skip
    path = tmp_path / "output.manifest"
    path.write_text(json.dumps(consolidated) + "\n\n" + json.dumps(per_worker) + "\n")
    with pytest.warns(DataQualityWarning, match="not JSON"):
        boxes = read_boxes(path)
    frame = _sorted(boxes.to_frame())
    assert frame["annotator"].tolist() == ["adjusted-bounding-box", "bounding-box", "bounding-box", "w9"]
    assert frame["label"].tolist() == ["dog", "dog", "bone", "dog"]
    assert boxes.image_sizes is not None
    assert boxes.image_sizes.loc["s3://b/img0.jpg"].tolist() == [500.0, 400.0]
    with pytest.warns(DataQualityWarning, match="1 manifest line without a label attribute"):
        only = boxes_sagemaker.read(path, label_attribute="bounding-box")
    assert set(only.to_frame()["annotator"]) == {"bounding-box"}


def test_sagemaker_errors_name_the_line(tmp_path: Path) -> None:
    bad = {"source-ref": "s3://b/x.jpg", "bb": {"annotations": [{"class_id": 0, "left": "?", "top": 1,
           "width": 2, "height": 2}]}, "bb-metadata": {}}  # fmt: skip
    path = tmp_path / "bad.manifest"
    path.write_text(json.dumps({"source-ref": "a"}) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(InvalidAnnotationsError, match="line 2, attribute bb"):
        boxes_sagemaker.read(path)
    path.write_text("{oops\n")
    with pytest.raises(InvalidAnnotationsError, match="line 1"):
        boxes_sagemaker.read(path)


def test_synthetic_label_studio_export_end_to_end(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("accord_bench_boxes_io", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    raw, seen, truth = bench.simulate(60, seed=5)
    path = tmp_path / "project.json"
    path.write_text(json.dumps(bench.to_label_studio(raw, seen)))
    boxes = read_boxes(path)
    assert boxes.n_boxes == len(raw) and len(boxes.seen_frame()) == len(seen)
    consensus = aggregate_boxes(boxes).to_frame()
    # back from Label Studio's task ids and percent units to the simulation's image names and pixels
    names = {str(t + 1): item for t, item in enumerate(sorted(seen["item"].unique()))}
    consensus["item"] = consensus["item"].map(names)
    scale = np.array([bench.WIDTH, bench.HEIGHT, bench.WIDTH, bench.HEIGHT]) / 100
    consensus[["x", "y", "width", "height"]] *= scale
    ours = score_boxes(consensus, truth)
    best = max(score_boxes(own, truth).f1 for _, own in raw.groupby("annotator"))
    assert ours.f1 > best + 0.02 and ours.mean_iou > 0.85


def test_plain_tables(tmp_path: Path) -> None:
    frame = EXPECTED.rename(columns={"item": "image", "x": "left", "y": "top"})
    path = tmp_path / "boxes.csv"
    frame.to_csv(path, index=False)
    assert detect_box_format(path) == "table"
    boxes = read_boxes(path)
    assert boxes.n_boxes == 4 and list(boxes.classes) == ["car", "person", "truck"]
    frame.to_csv(tmp_path / "boxes.tsv", sep="\t", index=False)
    assert read_boxes(tmp_path / "boxes.tsv", classes=["truck", "person", "car"]).n_boxes == 4
    frame.drop(columns="height").to_csv(path, index=False)
    with pytest.raises(InvalidAnnotationsError, match="no height column"):
        read_boxes(path)
