"""Importers: wrong types and depths are AccordErrors naming the record; every skip is counted with its
reason; Label Studio CSV/TSV exports; SageMaker items named by their source reference."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from accord import AccordError, DataQualityWarning, io
from accord.cli import main


def choice(label: Any, name: str = "sentiment") -> dict[str, Any]:
    return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": label}}


def task(tid: int, *annotations: dict[str, Any]) -> dict[str, Any]:
    return {"id": tid, "data": {"text": f"t{tid}"}, "annotations": list(annotations)}


def read_quietly(path: Path, **options: Any) -> io.Imported:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return io.read(path, **options)


def dump(tmp_path: Path, data: Any, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_label_studio_counts_every_empty_or_null_choice(tmp_path):
    data = [
        task(
            1,
            {"completed_by": 1, "result": [choice(["NA"])]},
            {"completed_by": 2, "result": [choice([])]},
            {"completed_by": 3, "result": [choice(None)]},
            {"completed_by": 4, "result": [choice([""])]},
            {"completed_by": 5, "result": [choice([None])]},
            {"completed_by": 6, "result": []},
        ),
        task(2, {"completed_by": 1, "result": [choice(["None"])]}),
    ]
    with pytest.warns(DataQualityWarning, match="skipped 5 Label Studio record"):
        result = io.read(dump(tmp_path, data), format="label_studio")
    assert sum(result.skipped.values()) == 5
    assert result.skipped["annotation with an empty or null list of choices"] == 2
    assert result.skipped["annotation whose choice is empty or null"] == 2
    assert result.skipped["annotation without a choice"] == 1
    assert sorted(result.annotations.classes) == ["NA", "None"]  # kept as written
    assert any("empty or null list of choices" in line for line in result.annotations.report)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([{"id": 7, "annotations": 5}], r"task id 7: 'annotations' is the number 5"),
        ([task(7, {"completed_by": 1, "result": 5})], r"task id 7, annotation 1: 'result' is the number 5"),
        ([task(7, {"completed_by": 1, "result": ["x"]})], r"task id 7, annotation 1, result 1: the text 'x'"),
        ([task(7, {"completed_by": 1, "result": [choice("x")]})], r"task id 7, .*'choices' is the text 'x'"),
        (
            [task(7, {"completed_by": 1, "result": [choice([{"a": 1}])]})],
            r"task id 7, .*a choice is an object",
        ),
        (
            [task(7, {"completed_by": [1], "result": [choice(["x"])]})],
            r"task id 7, .*'completed_by' is a list",
        ),
        ([task(7, 5)], r"task id 7, annotation 1: the number 5, not an annotation object"),
        ([task(7, {"result": [choice(["x"])]}), [1]], r"record 2 \(counting from 1\) is a list"),
        (5, r"got the number 5"),
    ],
)
def test_label_studio_wrong_types_name_the_record(tmp_path, data, message):
    with pytest.raises(AccordError, match=message):
        read_quietly(dump(tmp_path, data), format="label_studio")


def test_deeply_nested_json_is_an_accord_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000)
    with pytest.raises(AccordError, match="nested too deeply"):
        io.read(path, format="label_studio")
    path = tmp_path / "deep.jsonl"
    path.write_text('{"_input_hash": 1}\n' + "[" * 100_000 + "\n")
    with pytest.raises(AccordError, match="line 2: the JSON is nested too deeply"):
        io.read(path, format="prodigy")


LS_CSV = (
    "annotation_id,annotator,created_at,id,lead_time,sentiment,text,updated_at\n"
    "11,7,2024-01-01,101,3.2,Positive,good,2024-01-01\n"
    "12,9,2024-01-01,101,2.0,Negative,good,2024-01-01\n"
    '13,bo@example.com,2024-01-01,101,1.0,"{""choices"": [""Positive"", ""Neutral""]}",good,2024-01-01\n'
    "14,7,2024-01-01,102,1.5,NA,bad,2024-01-01\n"
    "15,9,2024-01-01,102,1.5,,bad,2024-01-01\n"
)


@pytest.mark.parametrize("sep", [",", "\t"])
def test_label_studio_csv_and_tsv_exports(tmp_path, sep):
    rows = [line.split(",") for line in LS_CSV.splitlines()]
    multi = '{"choices": ["Positive", "Neutral"]}'
    rows[3] = ["13", "bo@example.com", "2024-01-01", "101", "1.0", multi, "good", "2024-01-01"]
    text = LS_CSV if sep == "," else "\n".join("\t".join(r) for r in rows) + "\n"
    path = tmp_path / ("export.csv" if sep == "," else "export.tsv")
    path.write_text(text)
    assert io.detect_format(path) == "label_studio"
    result = read_quietly(path)
    frame = result.annotations.to_frame()
    assert frame.values.tolist() == [["101", "7", "Positive"], ["101", "9", "Negative"], ["102", "7", "NA"]]
    assert result.skipped == {
        "several choices in one annotation (multi-label is not supported)": 1,
        "annotation without a choice": 1,
    }
    report = " ".join(result.annotations.report)
    assert "no cancelled annotations and no tasks nobody annotated" in report
    assert "labels from the column 'sentiment'" in report


def test_a_csv_that_is_not_a_label_studio_export(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("item,worker,label\n1,a,x\n")
    with pytest.raises(AccordError, match="no 'annotator' column, so this is not a Label Studio CSV export"):
        io.read(path, format="label_studio")


def test_cli_reads_a_label_studio_csv_export_and_names_the_flag(tmp_path, capsys):
    path = tmp_path / "export.csv"
    path.write_text(LS_CSV.replace("sentiment,text", "sentiment,topic").replace(",good,", ",sports,"))
    code = main(["aggregate", str(path), "--from", "label_studio", "-m", "mv", "-o", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code in (0, 1)
    if code == 1:  # two candidate columns: the message speaks in flags
        assert "--label-col NAME" in err and "from_name" not in err
    code = main(["aggregate", str(path), "--from", "label_studio", "--label-col", "sentiment", "-m", "mv",
                 "-o", str(tmp_path / "o.csv")])  # fmt: skip
    assert code == 0


def test_sagemaker_manifest_with_wrong_types_names_the_line(tmp_path):
    line = {
        "source-ref": "s3://bucket/1.jpg",
        "lab": {"annotationsFromAllWorkers": [{"workerId": "w1", "annotationData": "oops"}]},
        "lab-metadata": {},
    }
    path = tmp_path / "out.manifest"
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(AccordError, match=r"line 1 \(s3://bucket/1\.jpg\): worker answer 1 \('w1'\)"):
        io.read(path, format="sagemaker")
    line["lab"] = {"annotationsFromAllWorkers": 5}
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(AccordError, match="annotationsFromAllWorkers is int"):
        io.read(path, format="sagemaker")


def test_sagemaker_worker_responses_named_by_source_ref_from_consolidation_requests(tmp_path):
    job = tmp_path / "job"
    for index, labels in {"0": ["Dog", "Dog"], "1": ["Cat", "Dog"]}.items():
        folder = job / "annotations" / "worker-response" / "iteration-1" / index
        folder.mkdir(parents=True)
        answers = [
            {"workerId": f"w{k}", "answerContent": {"crowd-image-classifier": {"label": lab}}}
            for k, lab in enumerate(labels)
        ]
        (folder / "2024-01-01_00-00-00.json").write_text(json.dumps({"answers": answers}))
    requests = job / "annotations" / "consolidation-request" / "iteration-1"
    requests.mkdir(parents=True)
    (requests / "2024-01-01_00-00-00.json").write_text(
        json.dumps(
            [{"datasetObjectId": str(i), "dataObject": {"s3Uri": f"s3://b/{i}.jpg"}} for i in range(2)]
        )
    )
    result = read_quietly(job, format="sagemaker")
    assert result.annotations.items.tolist() == ["s3://b/0.jpg", "s3://b/1.jpg"]
    assert any("consolidation requests' source references" in line for line in result.annotations.report)
    (requests / "2024-01-01_00-00-00.json").unlink()
    result = read_quietly(job, format="sagemaker")
    assert result.annotations.items.tolist() == ["0", "1"]
    assert any("named by data-object index: no output manifest" in line for line in result.annotations.report)
