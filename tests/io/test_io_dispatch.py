"""``accord.io.read``: format detection, aliases, and ``--from`` on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord import io
from accord.cli import main
from accord.errors import InvalidAnnotationsError, InvalidParameterError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("label_studio_export.json", "label_studio"),
        ("label_studio_min.json", "label_studio"),
        ("sagemaker_job", "sagemaker"),
        ("sagemaker_custom.manifest", "sagemaker"),
        ("sagemaker_job/annotations/worker-response/iteration-1/0/2024-03-01_10-00-00.json", "sagemaker"),
        ("mturk_batch_results.csv", "mturk"),
        ("mturk_radio.csv", "mturk"),
        ("toloka_assignments.tsv", "toloka"),
        ("prodigy_choice.jsonl", "prodigy"),
        ("prodigy_binary.jsonl", "prodigy"),
    ],
)
def test_detect_format(name, fmt):
    assert io.detect_format(FIXTURES / name) == fmt


def test_aliases_and_unknown_format():
    assert io.canonical_format("Label-Studio") == "label_studio"
    assert io.canonical_format("AMT") == "mturk"
    with pytest.raises(InvalidParameterError, match="unknown export format 'labelbox'"):
        io.read(FIXTURES / "mturk_radio.csv", format="labelbox")


def test_undetectable_file(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidAnnotationsError, match="cannot tell which tool exported"):
        io.read(path)


def test_cli_aggregate_from_export(tmp_path, capsys):
    out = tmp_path / "c.csv"
    code = main(
        [
            "aggregate",
            str(FIXTURES / "mturk_batch_results.csv"),
            "--from",
            "mturk",
            "--label-col",
            "sentiment.label",
            "-m",
            "mv",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "note: MTurk: skipped 1 record(s): rejected assignment" in captured.err
    assert out.read_text().splitlines()[0].startswith("item,")
    code = main(
        ["aggregate", str(FIXTURES / "toloka_assignments.tsv"), "--from", "auto", "-m", "mv", "-o", str(out)]
    )
    assert code == 0
    assert "accuracy on the export's 1 gold items: 1.0000" in capsys.readouterr().out


def test_cli_from_errors_are_one_line(tmp_path, capsys):
    code = main(
        ["aggregate", str(FIXTURES / "toloka_bad.tsv"), "--from", "toloka", "-o", str(tmp_path / "o.csv")]
    )
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no column 'ASSIGNMENT:worker_id'" in err[0]
