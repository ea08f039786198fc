"""One reading policy for every table: ids and labels kept as written, only empty cells missing."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accord import Annotations, DataQualityWarning, InvalidAnnotationsError, io
from accord.io.tables import cell_text, format_of, read_annotations, read_gold, read_pred_probs, read_table

NA_LIKE = ["NA", "N/A", "#N/A", "null", "None", "nan", "NULL", "<NA>"]


def write(path: Path, frame: pd.DataFrame) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_na_like_strings_are_ids_and_labels_in_every_format(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    frame = pd.DataFrame(
        {"item": NA_LIKE, "annotator": list(reversed(NA_LIKE)), "label": NA_LIKE[2:] + NA_LIKE[:2]}
    )
    ann = read_annotations(write(tmp_path / f"a{suffix}", frame))
    assert ann.items.tolist() == NA_LIKE
    assert ann.annotators.tolist() == list(reversed(NA_LIKE))
    assert sorted(ann.classes) == sorted(NA_LIKE)
    assert ann.to_frame()["label"].tolist() == NA_LIKE[2:] + NA_LIKE[:2]


def test_only_an_empty_cell_is_missing_and_blank_labels_are_missing_labels(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("item,annotator,label\n1,a,x\n1,b,\n2,a,   \n2,b,None\n")
    with pytest.raises(InvalidAnnotationsError, match=r"lines 3, 4 of .*a\.csv \(line 1 is the header\)"):
        read_annotations(path)
    with pytest.warns(DataQualityWarning, match="dropped 2"):
        ann = read_annotations(path, missing="drop")
    assert ann.to_frame()["label"].tolist() == ["x", "None"]
    assert "lines 3, 4" in ann.report[0]


def test_missing_id_names_the_line(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("item,annotator,label\n1,a,x\n,b,y\n")
    with pytest.raises(InvalidAnnotationsError, match=r"item column 'item' is missing on line 3 of"):
        read_annotations(path)


def test_wide_matrix_with_gaps_keeps_integer_classes_and_na_items(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("item,a,b\nNA,1,\n2,0,1\n3,,1\n")
    ann = read_annotations(path, layout="wide")
    assert ann.items.tolist() == ["NA", "2", "3"] and ann.classes.tolist() == ["0", "1"]
    assert ann.n_annotations == 4


def test_from_wide_in_memory_float_gaps_become_integers():
    wide = pd.DataFrame({"a": [1.0, np.nan, 0.0], "b": [1, 0, 1]}, index=["i", "j", "k"])
    ann = Annotations.from_wide(wide)
    assert ann.classes.tolist() == [0, 1] and all(isinstance(c, int) for c in ann.classes)
    assert ann.n_annotations == 5


def test_from_wide_rejects_a_missing_annotator_id_and_blank_cells_are_gaps():
    with pytest.raises(InvalidAnnotationsError, match="missing annotator ids in the columns: position"):
        Annotations.from_wide(pd.DataFrame([[1, 2]], columns=["a", np.nan]))
    ann = Annotations.from_wide(pd.DataFrame({"a": ["x", " "], "b": ["y", "x"]}))
    assert ann.n_annotations == 3


def test_from_frame_keeps_dtypes_and_turns_integral_floats_into_ints():
    df = pd.DataFrame(
        {"item": [1, 2, 3, 1], "annotator": ["a", "a", "a", "b"], "label": [1.0, np.nan, 0.0, 1]}
    )
    with pytest.warns(DataQualityWarning):
        ann = Annotations.from_frame(df, missing="drop")
    assert ann.items.tolist() == [1, 3] and ann.items.dtype.kind == "i"
    assert ann.classes.tolist() == [0, 1] and all(isinstance(c, int) for c in ann.classes)
    ints = Annotations.from_frame(pd.DataFrame({"item": [1, 2], "annotator": ["a", "b"], "label": [3, 5]}))
    assert ints.classes.tolist() == [3, 5]


@pytest.mark.parametrize("bad", [{"x": 1}, [1, 2]])
def test_unhashable_labels_are_errors_naming_the_row(bad):
    df = pd.DataFrame({"item": [1, 2], "annotator": ["a", "b"], "label": [bad, "y"]})
    with pytest.raises(InvalidAnnotationsError, match="row 0 holds"):
        Annotations.from_frame(df)


def test_error_rows_are_plain_ints():
    df = pd.DataFrame({"item": [1, 2, 3], "annotator": ["a", "b", "c"], "label": ["x", None, "y"]})
    df.index = np.array([10, 20, 30], dtype=np.int64)
    with pytest.raises(InvalidAnnotationsError) as exc:
        Annotations.from_frame(df)
    assert "row 20" in str(exc.value) and "np.int64" not in str(exc.value)


def test_jsonl_errors_name_the_line(tmp_path):
    broken = tmp_path / "b.jsonl"
    broken.write_text('{"item": 1, "annotator": "a", "label": "x"}\n{"item": 2,\n{"item": 3}\n')
    with pytest.raises(InvalidAnnotationsError, match=r"b\.jsonl, line 2: not valid JSON"):
        read_table(broken)
    array = tmp_path / "a.jsonl"
    array.write_text('{"item": 1, "annotator": "a", "label": "x"}\n[1, 2]\n')
    with pytest.raises(InvalidAnnotationsError, match="line 2: expected a JSON object .* got an array"):
        read_table(array)
    deep = tmp_path / "d.jsonl"
    deep.write_text('{"item": 1}\n' + "[" * 100_000 + "\n")
    with pytest.raises(InvalidAnnotationsError, match="line 2: the JSON is nested too deeply"):
        read_table(deep)
    obj = tmp_path / "o.jsonl"
    obj.write_text(
        '{"item": 1, "annotator": "a", "label": "x"}\n{"item": 2, "annotator": "a", "label": {"a": 1}}\n'
    )
    with pytest.raises(InvalidAnnotationsError, match=r"line 2 of .*o\.jsonl holds dict values"):
        read_annotations(obj)


def test_a_json_export_read_as_a_table_hints_at_the_importers(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps([{"id": 1, "annotations": []}], indent=1))
    with pytest.raises(InvalidAnnotationsError, match=r"accord\.io\.read"):
        read_annotations(path)


def test_format_of():
    assert (
        format_of("a.CSV") == "csv" and format_of("a.tsv.gz") == "tsv" and format_of("x", "ndjson") == "jsonl"
    )
    with pytest.raises(InvalidAnnotationsError, match="unknown file format '.xlsx'"):
        format_of("a.xlsx")


def test_cell_text():
    assert [cell_text(v) for v in ["NA", 1.0, 2.5, True, None, np.nan, np.int64(7)]] == [
        "NA", "1", "2.5", "true", None, None, "7",
    ]  # fmt: skip


def test_read_gold_policy_and_errors(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("item,label\nNA,None\n2,x\n2,x\n")
    gold = read_gold(path)
    assert gold.to_dict() == {"NA": "None", "2": "x"}
    path.write_text("item,label\n1,x\n2,\n")
    with pytest.raises(InvalidAnnotationsError, match=r"no gold label on line 3 .*line 1 is the header"):
        read_gold(path)
    path.write_text("item,label\n1,x\n1,y\n")
    with pytest.raises(InvalidAnnotationsError, match="item '1' has different gold labels on lines 2, 3"):
        read_gold(path)
    path.write_text("id,answer_x\n1,x\n")
    with pytest.raises(InvalidAnnotationsError, match="needs a column 'item' and 'label'"):
        read_gold(path)


def test_gold_errors_are_called_gold():
    ann = Annotations.from_frame(pd.DataFrame({"item": [1, 2], "annotator": ["a", "a"], "label": ["x", "y"]}))
    with pytest.raises(InvalidAnnotationsError, match="gold label.*'z'.*not among the classes"):
        ann.encode_gold(pd.Series({1: "z"}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        with pytest.raises(InvalidAnnotationsError, match="no gold item has an annotation"):
            ann.encode_gold(pd.Series({9: "x"}))


def test_pred_probs_errors_name_column_and_line(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("item,x,y\n1,0.5,0.5\n2,NA,0.5\n")
    with pytest.raises(
        InvalidAnnotationsError, match=r"column 'x' must hold probabilities, but has 'NA' on line 3"
    ):
        read_pred_probs(path)
    path.write_text("item,x,y\n1,0.25,0.75\n")
    assert read_pred_probs(path).loc["1", "y"] == 0.75


def test_annotations_read_is_io_read_annotations(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("item,annotator,label\n007,a,x\n008,b,y\n")
    a, b = Annotations.read(path), io.read_annotations(path)
    assert a.items.tolist() == b.items.tolist() == ["007", "008"]
    assert Annotations.from_label_studio.__func__ is not None  # still a classmethod
