"""SageMaker Ground Truth importer: worker-response files, output manifests, malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord import io
from accord.errors import DataQualityWarning, InvalidAnnotationsError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
JOB = FIXTURES / "sagemaker_job"
W = "private.us-east-1."


def triples(ann):
    return sorted(ann.to_frame().itertuples(index=False, name=None))


RESPONSES = [
    ("s3://bucket/pets/img0.jpg", W + "aaaa1111", "Dog"),
    ("s3://bucket/pets/img0.jpg", W + "bbbb2222", "Dog"),
    ("s3://bucket/pets/img0.jpg", W + "cccc3333", "Cat"),
    ("s3://bucket/pets/img1.jpg", W + "aaaa1111", "Cat"),
    ("s3://bucket/pets/img1.jpg", W + "bbbb2222", "Cat"),
    ("s3://bucket/pets/img2.jpg", W + "aaaa1111", "Bird"),
    ("s3://bucket/pets/img2.jpg", W + "cccc3333", "Bird"),
]


@pytest.mark.parametrize("path", [JOB, JOB / "annotations" / "worker-response"])
def test_worker_responses_named_by_the_output_manifest(path):
    with pytest.warns(DataQualityWarning, match="1 answer without a 'label'"):
        result = io.read(path)  # a folder: detected as SageMaker
    assert result.format == "SageMaker Ground Truth"
    assert triples(result.annotations) == RESPONSES
    assert result.skipped == {"answer without a 'label'": 1}
    assert any("source-ref" in line for line in result.annotations.report)


def test_single_response_file_uses_the_object_index():
    ann = io.from_sagemaker(JOB / "annotations/worker-response/iteration-1/2/2024-03-01_10-00-00.json")
    assert triples(ann) == [("2", W + "aaaa1111", "Bird"), ("2", W + "cccc3333", "Bird")]


def test_output_manifest_with_consolidated_labels_only():
    ann = io.from_sagemaker(JOB / "manifests/output/output.manifest")
    assert triples(ann) == [
        ("s3://bucket/pets/img0.jpg", "pets", "Dog"),
        ("s3://bucket/pets/img1.jpg", "pets", "Cat"),
        ("s3://bucket/pets/img2.jpg", "pets", "Bird"),
    ]


def test_chained_jobs_are_annotators_and_multilabel_is_skipped():
    with pytest.warns(DataQualityWarning, match="not a single class"):
        ann = io.from_sagemaker(FIXTURES / "sagemaker_chained.manifest")
    assert triples(ann) == [
        ("s3://b/a.jpg", "sport", "football"),
        ("s3://b/a.jpg", "sport-check", "football"),
        ("s3://b/b.jpg", "sport", "tennis"),
        ("s3://b/b.jpg", "sport-check", "golf"),
    ]
    with pytest.warns(DataQualityWarning, match="1 manifest line without a label attribute"):
        only = io.from_sagemaker(FIXTURES / "sagemaker_chained.manifest", label_attribute="sport")
    assert list(only.annotators) == ["sport"]


def test_manifest_with_answers_from_all_workers():
    with pytest.warns(DataQualityWarning, match="not JSON"):
        ann = io.from_sagemaker(FIXTURES / "sagemaker_custom.manifest")
    assert triples(ann) == [
        ("The train is really late.", W + "w1", "annoyed"),
        ("The train is really late.", W + "w2", "annoyed"),
        ("What a lovely morning.", W + "w1", "happy"),
        ("What a lovely morning.", W + "w2", "calm"),
    ]


def test_answer_field_choice(tmp_path):
    folder = tmp_path / "job" / "annotations" / "worker-response" / "iteration-1" / "0"
    folder.mkdir(parents=True)
    (folder / "r.json").write_text(
        '{"answers": [{"workerId": "w", "answerContent": {"q1": {"label": "a"}, "q2": {"label": "b"}}}]}'
    )
    with pytest.raises(InvalidAnnotationsError, match=r"several labelled fields \['q1', 'q2'\]"):
        io.from_sagemaker(tmp_path / "job")
    assert triples(io.from_sagemaker(tmp_path / "job", field="q2")) == [("0", "w", "b")]


def test_malformed_inputs_are_clear_errors(tmp_path):
    with pytest.raises(InvalidAnnotationsError, match="not a Ground Truth worker response.*'answers'"):
        io.read(FIXTURES / "sagemaker_bad_response.json", format="sagemaker")
    with pytest.raises(InvalidAnnotationsError, match=r"sagemaker_bad.manifest, line 2: not valid JSON"):
        io.read(FIXTURES / "sagemaker_bad.manifest")
    with pytest.raises(InvalidAnnotationsError, match="no worker-response JSON files"):
        io.from_sagemaker(tmp_path)
