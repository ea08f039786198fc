import numpy as np
import pandas as pd
import pytest

from accord import Annotations, DataQualityWarning, InvalidAnnotationsError, InvalidParameterError


def frame(**cols):
    base = {
        "item": [1, 1, 2, 2, 3],
        "annotator": ["a", "b", "a", "c", "b"],
        "label": ["x", "y", "y", "y", "x"],
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_from_frame_encodes_codes_and_indexes():
    ann = Annotations.from_frame(frame())
    assert list(ann.items) == [1, 2, 3]
    assert list(ann.annotators) == ["a", "b", "c"]
    assert list(ann.classes) == ["x", "y"]
    assert ann.item.tolist() == [0, 0, 1, 1, 2]
    assert ann.label.tolist() == [0, 1, 1, 1, 0]
    assert ann.vote_counts().tolist() == [[1, 1], [0, 2], [1, 0]]
    assert not ann.item.flags.writeable


def test_crowdkit_column_names_and_custom_names():
    df = frame().rename(columns={"item": "task", "annotator": "worker"})
    assert Annotations.from_frame(df).n_items == 3
    df = frame().rename(columns={"label": "answer_given"})
    ann = Annotations.from_frame(df, label="answer_given")
    assert ann.n_annotations == 5


def test_declared_classes_fix_order_and_keep_unused_class():
    ann = Annotations.from_frame(frame(), classes=["y", "x", "z"])
    assert list(ann.classes) == ["y", "x", "z"]
    assert ann.label.tolist() == [1, 0, 0, 0, 1]
    assert ann.vote_counts().shape == (3, 3)


def test_numeric_strings_sort_numerically_and_match_int_classes():
    df = frame(label=["10", "2", "2", "10", "1"])
    assert list(Annotations.from_frame(df).classes) == ["1", "2", "10"]
    ann = Annotations.from_frame(df, classes=[1, 2, 10])
    assert ann.label.tolist() == [2, 1, 1, 2, 0]


def test_bool_and_int_labels():
    assert list(Annotations.from_frame(frame(label=[True, False, True, True, False])).classes) == [
        False,
        True,
    ]
    assert list(Annotations.from_frame(frame(label=[3, 1, 2, 2, 1])).classes) == [1, 2, 3]


def test_unknown_label_against_classes_names_label_and_row():
    with pytest.raises(InvalidAnnotationsError, match=r"'y'.*not among the declared classes.*row"):
        Annotations.from_frame(frame(), classes=["x", "z"])


def test_wrong_column_names_the_column_and_the_fix():
    with pytest.raises(InvalidAnnotationsError, match=r"no label column.*columns are.*label="):
        Annotations.from_frame(frame().rename(columns={"label": "foo"}))
    with pytest.raises(InvalidAnnotationsError, match=r"'nope' is not in the table"):
        Annotations.from_frame(frame(), item="nope")


def test_nan_label_is_an_error_naming_rows_or_dropped_with_a_note():
    df = frame(label=["x", None, "y", np.nan, "x"])
    with pytest.raises(InvalidAnnotationsError, match=r"missing .* rows 1, 3.*missing='drop'"):
        Annotations.from_frame(df)
    with pytest.warns(DataQualityWarning, match="dropped 2"):
        ann = Annotations.from_frame(df, missing="drop")
    assert ann.n_annotations == 3 and "dropped 2" in ann.report[0]


def test_missing_item_id_is_an_error():
    with pytest.raises(InvalidAnnotationsError, match=r"item column 'item' is missing on row 2"):
        Annotations.from_frame(frame(item=[1, 1, None, 2, 3]))


def test_empty_input_is_an_error():
    with pytest.raises(InvalidAnnotationsError, match="empty"):
        Annotations.from_frame(frame().iloc[:0])
    with pytest.raises(InvalidAnnotationsError, match="DataFrame"):
        Annotations.from_frame([1, 2, 3])


def test_duplicate_policies():
    df = pd.DataFrame({"item": [1, 1, 1], "annotator": ["a", "a", "b"], "label": ["x", "y", "y"]})
    with pytest.raises(InvalidAnnotationsError, match=r"\(1, 'a'\).*duplicates="):
        Annotations.from_frame(df)
    last = Annotations.from_frame(df, duplicates="keep_last")
    assert last.n_annotations == 2 and last.classes[last.label[0]] == "y"
    assert "keeping the last" in last.report[0]
    first = Annotations.from_frame(df, duplicates="keep_first")
    assert first.classes[first.label[0]] == "x"
    assert Annotations.from_frame(df, duplicates="keep_all").n_annotations == 3
    with pytest.raises(InvalidParameterError):
        Annotations.from_frame(df, duplicates="whatever")


def test_from_wide_with_missing_cells():
    wide = pd.DataFrame(
        {"a": ["x", None, "y"], "b": [np.nan, "y", pd.NA], "c": ["x", "y", None]}, index=["i1", "i2", "i3"]
    )
    ann = Annotations.from_wide(wide)
    assert ann.n_annotations == 5
    assert list(ann.items) == ["i1", "i2", "i3"]
    assert ann.vote_counts().tolist() == [[2, 0], [0, 2], [0, 1]]
    back = ann.to_wide()
    assert back.loc["i1", "a"] == "x" and pd.isna(back.loc["i1", "b"])


def test_from_wide_numpy_and_empty_item():
    arr = np.array([[0, np.nan], [np.nan, np.nan], [1, 1]])
    with pytest.raises(InvalidAnnotationsError, match=r"1 item\(s\) have no annotation: 1"):
        Annotations.from_wide(arr)
    with pytest.warns(DataQualityWarning):
        ann = Annotations.from_wide(arr, empty_items="drop")
    assert list(ann.items) == [0, 2] and ann.n_annotations == 3


def test_read_csv_tsv_jsonl_parquet(tmp_path):
    df = frame(item=["007", "007", "8", "8", "9"])
    df.to_csv(tmp_path / "a.csv", index=False)
    df.to_csv(tmp_path / "a.tsv", sep="\t", index=False)
    df.to_json(tmp_path / "a.jsonl", orient="records", lines=True)
    df.to_parquet(tmp_path / "a.parquet")
    for name in ("a.csv", "a.tsv", "a.jsonl", "a.parquet"):
        ann = Annotations.read(tmp_path / name)
        assert list(ann.items) == ["007", "8", "9"], name
        assert ann.n_annotations == 5
    with pytest.raises(InvalidAnnotationsError, match="unknown file format"):
        (tmp_path / "a.xyz").write_text("x")
        Annotations.read(tmp_path / "a.xyz")
    with pytest.raises(InvalidAnnotationsError, match="no such file"):
        Annotations.read(tmp_path / "missing.csv")


def test_subsample_caps_per_item_and_is_deterministic():
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "item": np.repeat(np.arange(50), 8),
            "annotator": np.tile(np.arange(8), 50),
            "label": rng.integers(0, 3, 400),
        }
    )
    ann = Annotations.from_frame(df)
    sub = ann.subsample(3, random_state=5)
    assert sub.item_sizes().max() == 3 and sub.item_sizes().min() == 3
    assert np.array_equal(sub.label, ann.subsample(3, random_state=5).label)
    assert sub.n_items == ann.n_items and list(sub.classes) == list(ann.classes)
    assert ann.subsample(100, random_state=0).n_annotations == 400


def test_to_frame_round_trip():
    df = frame()
    back = Annotations.from_frame(df).to_frame()
    pd.testing.assert_frame_equal(back, df[["item", "annotator", "label"]], check_dtype=False)


def test_encode_gold_warns_on_unknown_item_and_errors_on_unknown_label():
    ann = Annotations.from_frame(frame())
    with pytest.warns(DataQualityWarning, match="1 gold item"):
        items, labels = ann.encode_gold(pd.Series({1: "x", 99: "y"}))
    assert items.tolist() == [0] and labels.tolist() == [0]
    with pytest.raises(InvalidAnnotationsError, match="'q'"):
        ann.encode_gold({1: "q"})


def test_missing_label_in_object_column_of_numbers():
    df = frame(label=pd.Series([1, None, 2.5, 1, 2.5], dtype=object))
    with pytest.raises(InvalidAnnotationsError, match="row 1"):
        Annotations.from_frame(df)


def test_from_codes_equals_from_frame_whatever_the_code_order():
    df = frame(item=["i3", "i3", "i1", "i1", "i2"])
    expected = Annotations.from_frame(df)
    # values in another order than first appearance, and one value no row uses
    items = ["i1", "i2", "unused", "i3"]
    columns = {
        "item": (np.array([3, 3, 0, 0, 1]), items),
        "annotator": (np.array([1, 0, 1, 2, 0]), ["b", "a", "c"]),
        "label": (np.array([0, 1, 1, 1, 0]), ["x", "y"]),
    }
    got = Annotations.from_codes(columns)
    for name in ("item", "annotator", "label"):
        assert getattr(got, name).tolist() == getattr(expected, name).tolist()
    for name in ("items", "annotators", "classes"):
        assert getattr(got, name).equals(getattr(expected, name))


def test_from_codes_messages_name_rows_and_columns():
    columns = {
        "task": (np.array([0, -1, 1]), ["a", "b"]),
        "worker": (np.array([0, 0, 0]), ["w"]),
        "label": (np.array([0, 1, 1]), ["x", " "]),
    }
    with pytest.raises(InvalidAnnotationsError, match=r"item column 'task' is missing on line 3 of f.csv"):
        Annotations.from_codes(columns, rows=pd.RangeIndex(2, 5, name="line"), source={"path": "f.csv"})
    columns["task"] = (np.array([0, 2, 1]), ["a", "b", "c"])
    with pytest.warns(
        DataQualityWarning, match=r"dropped 2 annotation\(s\) with a missing label \(rows 1, 2\)"
    ):
        ann = Annotations.from_codes(columns, missing="drop")
    assert ann.items.tolist() == ["a"] and ann.n_annotations == 1
    with pytest.raises(InvalidParameterError, match="repeat 'w'"):
        Annotations.from_codes({**columns, "worker": (np.array([0, 1, 0]), ["w", "w"])})
    with pytest.raises(InvalidParameterError, match=r"must lie in -1 \.\. 0"):
        Annotations.from_codes({**columns, "worker": (np.array([0, 1, 0]), ["w"])})
    with pytest.raises(InvalidParameterError, match="must be integers"):
        Annotations.from_codes({**columns, "worker": (np.array([0.0, 0, 0]), ["w"])})
    with pytest.raises(InvalidParameterError, match="one entry per row"):
        Annotations.from_codes({**columns, "worker": (np.array([0, 0]), ["w"])})


def test_from_codes_in_first_appearance_order_and_extra_columns():
    columns = {
        "item": (np.array([0, 0, 1, 2, 2]), ["i1", "i2", "i3"]),
        "annotator": (np.array([0, 1, 0, 1, 2]), ["a", "b", "c"]),
        "label": (np.array([1, 0, -1, 0, 1]), ["y", "x"]),
    }
    extra = pd.DataFrame({"note": ["p", "q", "r", "s", "t"]}, index=pd.RangeIndex(2, 7))
    with pytest.warns(DataQualityWarning, match="missing label"):
        checked = Annotations.from_codes(columns, missing="drop", extra=extra)
    with pytest.warns(DataQualityWarning, match="missing label"):
        trusted = Annotations.from_codes(columns, missing="drop", extra=extra, first_appearance=True)
    for ann in (checked, trusted):
        assert ann.items.tolist() == ["i1", "i3"] and ann.item.tolist() == [0, 0, 1, 1]  # i2 had one row
        assert ann.annotator.tolist() == [0, 1, 1, 2]
        assert ann.classes.tolist() == ["x", "y"] and ann.label.tolist() == [0, 1, 1, 0]
        assert ann.extra is not None and ann.extra["note"].tolist() == ["p", "q", "s", "t"]
        assert ann.extra.index.equals(pd.RangeIndex(4))
    with pytest.raises(InvalidParameterError, match="one row per row"), pytest.warns(DataQualityWarning):
        Annotations.from_codes(columns, missing="drop", extra=extra.iloc[:2])


def test_vote_counts_with_and_without_weights():
    ann = Annotations.from_frame(frame())
    counts = ann.vote_counts()
    expected = np.zeros((ann.n_items, ann.n_classes))
    np.add.at(expected, (ann.item, ann.label), 1.0)
    assert counts.dtype == np.float64 and np.array_equal(counts, expected)
    w = np.arange(1, ann.n_annotations + 1, dtype=float)
    weighted = np.zeros_like(expected)
    np.add.at(weighted, (ann.item, ann.label), w)
    assert np.array_equal(ann.vote_counts(w), weighted)


def test_role_columns_names_each_role_as_from_frame_finds_it():
    from accord.annotations import role_columns

    names = pd.Index(["when", "task", "worker", "answer", "label"])
    assert role_columns(names, None, None, None) == {"item": "task", "annotator": "worker", "label": "label"}
    assert role_columns(names, "when", None, "label")["item"] == "when"
    with pytest.raises(InvalidAnnotationsError, match="no annotator column"):
        role_columns(pd.Index(["item", "label"]), None, None, None)


def test_read_loads_the_file_readers_on_first_use(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("item,annotator,label\n1,a,x\n2,a,y\n")
    assert Annotations.read(path).n_items == 2  # without importing accord.io first


def test_duplicate_pairs_message_counts_once_and_shows_five():
    """Many repeated pairs: the message leads with their number and shows five of them, then "..." (not a
    second, smaller count of the examples it looked at)."""
    frame = pd.DataFrame({"item": [i // 2 for i in range(60)], "annotator": ["w"] * 60, "label": [0, 1] * 30})
    with pytest.raises(InvalidAnnotationsError) as info:
        Annotations.from_frame(frame)
    message = str(info.value)
    assert message.startswith("30 (item, annotator) pair(s) occur more than once, e.g. (0, 'w'), (1, 'w')")
    assert message.count("'w')") == 5 and "in all" not in message
    assert "(4, 'w'), ...." in message
