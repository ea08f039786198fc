"""The pyarrow reader (files straight to codes) gives what the pandas reader gives: the same Annotations
(codes, item/annotator/class order and dtypes), the same report, warnings and error messages; and it hands
back to pandas whatever it cannot read exactly so."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from accord import AccordError, Annotations, DataQualityWarning
from accord.io.tables import read_annotations, read_table

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from accord.io.arrow import read_annotation_codes  # noqa: E402

NA_LIKE = ["NA", "N/A", "#N/A", "null", "None", "nan", "NULL", "<NA>"]


def outcome(build: Any) -> tuple[str, Any, list[str]]:
    """("ok", Annotations, warnings) or ("error", message, warnings) of a build."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: Any = build()
            kind = "ok"
        except AccordError as exc:
            result, kind = f"{type(exc).__name__}: {exc}", "error"
    return kind, result, [f"{w.category.__name__}: {w.message}" for w in caught]


def assert_same(a: Annotations, b: Annotations) -> None:
    for name in ("item", "annotator", "label"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).dtype == getattr(b, name).dtype
    for name in ("items", "annotators", "classes"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.equals(y) and x.dtype == y.dtype and x.name == y.name, (name, x, y)
        assert [type(v) for v in x[:50]] == [type(v) for v in y[:50]]
    assert a.report == b.report and (a.extra is None) == (b.extra is None)
    if a.extra is not None:
        pd.testing.assert_frame_equal(a.extra, b.extra, check_exact=True)
        assert a.extra.columns.dtype == b.extra.columns.dtype


def compare(path: Path, fmt: str, handled: bool = True, **kwargs: Any) -> tuple[str, Any]:
    """Both readers on ``path``; returns the common outcome. ``handled``: whether pyarrow must read it."""
    fast = outcome(lambda: read_annotation_codes(path, fmt, **kwargs))
    slow = outcome(lambda: Annotations.from_frame(read_table(path), **kwargs))
    if not handled:
        assert fast == ("ok", None, []), fast
        return slow[:2]
    assert fast[0] == slow[0] and fast[2] == slow[2], (fast, slow)
    if fast[0] == "ok":
        assert fast[1] is not None, "the pyarrow reader handed this file back"
        assert_same(fast[1], slow[1])
    else:
        assert fast[1] == slow[1]
    # and read_annotations, which tries pyarrow first, agrees with both
    via = outcome(lambda: read_annotations(path, **kwargs))
    assert via[0] == slow[0] and via[2] == slow[2]
    return slow[:2]


def public_sets() -> list[Path]:
    data = Path(__file__).resolve().parents[3] / "shared" / "data"
    return sorted(data.glob("*/annotations.csv"))


@pytest.mark.parametrize("path", public_sets(), ids=lambda p: p.parent.name)
def test_public_datasets_equal_in_csv_and_parquet(path: Path, tmp_path: Path) -> None:
    kind, _ = compare(path, "csv")
    assert kind == "ok"
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])  # typed columns: ints stay ints
    frame.to_parquet(tmp_path / "a.parquet", index=False)
    assert compare(tmp_path / "a.parquet", "parquet")[0] == "ok"


def test_public_datasets_are_present() -> None:
    from tests.conftest import require_data

    require_data()
    assert len(public_sets()) >= 20


ODD_CSV = {
    "na-like ids": "item,annotator,label\n"
    + "".join(f"{a},{b},x\n" for a, b in zip(NA_LIKE, NA_LIKE[::-1], strict=True)),
    "leading zeros": "item,annotator,label\n007,01,1\n7,1,01\n007,1,1.0\n",
    "spaces kept": "item,annotator,label\n a ,b,x\na,b ,x \n",
    "quotes": 'item,annotator,label\n"1,2",a,"say ""hi"""\n1,"b\nc",x\n"z",a,"y"\n',
    "bom and crlf": "\ufeffitem,annotator,label\r\n1,a,x\r\n2,a,y\r\n",
    "unicode": "item,annotator,label\nø,å,ü\n\u4e2d,\u6587,ü\n",
    "blank lines": "item,annotator,label\n\n1,a,x\n\n2,b,y\n",
    "crowd-kit names": "task,worker,label\n1,w,x\n2,w,y\n",
    "numeric classes": "item,annotator,label\n1,a,10\n1,b,2\n2,a,1\n",
    "extra columns": "when,item,annotator,label,note\nmon,1,a,x,hi\ntue,1,b,y,\n",
    "many items": "item,annotator,label\n" + "".join(f"i{i % 97},a{i % 13},{i % 3}\n" for i in range(1200)),
    # integers written otherwise than plainly keep their texts; plain ones (even int64's ends) go by value
    "number-like texts": "item,annotator,label\n0x1f,-5,1\n31,5,-0\n"
    "-9223372036854775808,9223372036854775807,00\n9223372036854775808,+5,1e3\n1_000,٣,0X1F\n",
    "plain integers": "item,annotator,label\n-9223372036854775808,9223372036854775807,-1\n0,1,2\n"
    "9223372036854775807,-9223372036854775808,-1\n30,1,10\n",
    "a plain integer column beside text": "item,annotator,label\n12,w1,1\n7,w2,3\n12,w2,01\n",
    # files of integers only: read as int64, each cell's characters counted in the bytes
    "integers only, one written 01": "item,annotator,label\n1,2,3\n01,2,3\n2,4,3\n",
    "integers only, a -0": "item,annotator,label\n1,2,0\n1,3,-0\n2,2,0\n",
    "integers only, quoted and crlf": '"item","annotator","label"\r\n"1",2,3\r\n1,"3",-3\r\n5,2,"3"',
    "integers only, unsorted items": "item,annotator,label\n"
    + "".join(f"{(7 * i) % 50},{i % 9},{i % 2}\n" for i in range(300)),
    "integers only, too large for int64": "item,annotator,label\n9223372036854775808,1,2\n1,1,2\n",
}

ODD_ERRORS = {
    "missing label": "item,annotator,label\n1,a,x\n1,b,\n2,a,   \n2,b,None\n",
    "missing item": "item,annotator,label\n1,a,x\n,b,y\n",
    "blank annotator": "item,annotator,label\n1,a,x\n2, ,y\n",
    "repeated pair": "item,annotator,label\n1,a,x\n1,a,y\n2,a,x\n1,a,x\n",
    "no label column": "item,annotator,answer_text\n1,a,x\n",
    "header only": "item,annotator,label\n",
    "every label blank": "item,annotator,label\n1,a,\n2,b, \n",
    "integers only, an empty cell": "item,annotator,label\n1,2,3\n1,,3\n2,2,3\n",
    "integers only, a header of digits": "1,2,3\n4,5,6\n7,8,9\n",
    "integers only, a repeated pair": "item,annotator,label\n1,2,3\n1,2,4\n2,2,3\n",
}


@pytest.mark.parametrize("name", sorted(ODD_CSV))
@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_odd_files_read_the_same(name: str, suffix: str, tmp_path: Path) -> None:
    text = ODD_CSV[name]
    if suffix == ".tsv":
        text = text.replace(",", "\t")
    path = tmp_path / f"a{suffix}"
    path.write_bytes(text.encode())
    assert compare(path, suffix[1:])[0] == "ok"


@pytest.mark.parametrize("name", sorted(ODD_ERRORS))
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"missing": "drop"}, {"duplicates": "keep_last"}, {"duplicates": "keep_first", "missing": "drop"}],
    ids=["default", "drop", "keep_last", "keep_first-drop"],
)
def test_odd_files_give_the_same_errors_notes_and_results(name: str, kwargs: dict, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(ODD_ERRORS[name])
    compare(path, "csv", **kwargs)


def test_declared_classes_and_names(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("t,w,lab,other\n1,a,y,\n1,b,x,o\n2,a,z,\n")
    names = {"item": "t", "annotator": "w", "label": "lab"}
    assert compare(path, "csv", **names, classes=["y", "x"])[0] == "error"  # z is not a class
    assert compare(path, "csv", **names, classes=["z", "y", "x", "w"])[0] == "ok"
    assert compare(path, "csv", **names, classes=[1, 2])[0] == "error"
    assert compare(path, "csv", item="nope")[0] == "error"


@pytest.mark.parametrize(
    "text",
    [
        "item,item,label\n1,a,x\n",  # pandas renames a repeated column
        "item,,label\n1,a,x\n",  # and names an empty one
        "item,annotator,label\n1,a\n2,b,y\n",  # a short row pandas pads
        "item,annotator,label\n1,a,x\n   \n",  # a line of spaces pandas skips
        'item,annotator,label\n1,a,"open\n',  # a quote left open, which pandas refuses
    ],
)
def test_what_pyarrow_would_read_differently_goes_to_pandas(text: str, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(text)
    compare(path, "csv", handled=False)
    read = outcome(lambda: read_annotations(path))
    assert read[:1] == outcome(lambda: Annotations.from_frame(read_table(path)))[:1]


def test_not_utf8_and_keywords_this_path_does_not_take_go_to_pandas(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("item,annotator,label\n1,a,\xe9\n".encode("latin-1"))
    compare(path, "csv", handled=False)
    assert read_annotation_codes(path, "csv", layout="wide") is None  # a keyword this path does not take


@pytest.mark.parametrize(
    "extra", [["when"], ["note", "when"], ["label"], ("item", "note"), ["nope"], "note", [1]]
)
@pytest.mark.parametrize("missing", ["error", "drop"])
def test_extra_columns_read_by_pyarrow_the_same(extra: Any, missing: str, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("when,item,annotator,label,note\nmon,1,a,x,hi\ntue,1,b,,\nwed,2,a,y,=1\n,2,b,x,\n")
    handled = isinstance(extra, list | tuple) and all(c in ("when", "note", "label", "item") for c in extra)
    compare(path, "csv", handled=handled, extra=extra, missing=missing)


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".zst"])
@pytest.mark.parametrize("name", ["leading zeros", "quotes", "extra columns", "bom and crlf"])
def test_compressed_files_are_read_by_pyarrow_the_same(suffix: str, name: str, tmp_path: Path) -> None:
    codec = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}[suffix]
    if not pa.Codec.is_available(codec):
        pytest.skip(f"this pyarrow has no {codec}")
    path = tmp_path / f"a.csv{suffix}"
    with pa.CompressedOutputStream(str(path), codec) as out:
        out.write(ODD_CSV[name].encode())
    plain = tmp_path / "a.csv"
    plain.write_bytes(ODD_CSV[name].encode())
    fast = read_annotation_codes(path, "csv")
    assert fast is not None
    assert_same(fast, Annotations.from_frame(read_table(plain)))
    if suffix != ".zst":  # pandas reads zstd only with the zstandard package
        assert compare(path, "csv")[0] == "ok"


def test_damaged_or_other_compressed_files_go_to_pandas(tmp_path: Path) -> None:
    frame = pd.DataFrame({"item": [1, 2], "annotator": ["a", "a"], "label": ["x", "y"]})
    for suffix in (".xz", ".zip"):
        frame.to_csv(tmp_path / f"b.csv{suffix}", index=False)
        assert read_annotation_codes(tmp_path / f"b.csv{suffix}", "csv") is None
        assert read_annotations(tmp_path / f"b.csv{suffix}").n_items == 2
    damaged = tmp_path / "c.csv.gz"
    damaged.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    compare(damaged, "csv", handled=False)
    plain = tmp_path / "d.csv.gz"  # not compressed at all
    plain.write_text("item,annotator,label\n1,a,x\n")
    compare(plain, "csv", handled=False)


def write_parquet(path: Path, columns: dict[str, Any]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


PARQUET = {
    "int ids, float labels with gaps": {
        "item": pa.array([3, 1, 3, 2], pa.int64()),
        "annotator": pa.array([10, 10, 11, 11], pa.int32()),
        "label": pa.array([1.0, None, 0.0, 1.0]),
    },
    "unsorted ints and negative zero": {
        "item": pa.array([5, 2, 9, 2, 5]),
        "annotator": pa.array([1, 1, 1, 2, 2], pa.uint8()),
        "label": pa.array([0.0, -0.0, 2.5, 1e20, 0.0]),
    },
    "small integer types over their whole range": {
        "item": pa.array([-128, 127, 5, -128, 0], pa.int8()),
        "annotator": pa.array([7, 3, 3, 65535, 7], pa.uint16()),
        "label": pa.array([2**62, -(2**62), 2**62, 0, 0], pa.int64()),
    },
    "nullable ints and bools": {
        "item": pa.array([1, 2, None, 2], pa.int64()),
        "annotator": pa.array(["a", "b", "a", "a"]),
        "label": pa.array([True, False, None, True]),
    },
    "large strings and na-like": {
        "item": pa.array(NA_LIKE, pa.large_string()),
        "annotator": pa.array(NA_LIKE[::-1]),
        "label": pa.array(["x", "", " ", "None", "y", "x", "y", "x"]),
    },
    "sorted dictionary with an unused value": {
        "item": pa.DictionaryArray.from_arrays(pa.array([2, 0, 2, 1]), pa.array(["a", "b", "c", "unused"])),
        "annotator": pa.DictionaryArray.from_arrays(pa.array([1, 1, 0, 0]), pa.array(["v", "u"])),
        "label": pa.DictionaryArray.from_arrays(pa.array([0, None, 1, 0]), pa.array(["x", "y", "z"])),
    },
    "dictionary column": {
        "item": pa.array(["b", "a", "b", "c"]).dictionary_encode(),
        "annotator": pa.array(["u", "u", "v", "v"]),
        "label": pa.array(["1", "10", "2", "1"]).dictionary_encode(),
    },
}


@pytest.mark.parametrize("name", sorted(PARQUET))
@pytest.mark.parametrize("missing", ["error", "drop"])
def test_parquet_columns_of_every_type_read_the_same(name: str, missing: str, tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "a.parquet", PARQUET[name])
    compare(path, "parquet", missing=missing)


def test_parquet_in_row_groups_and_a_pandas_index(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame(
        {
            "item": [f"i{v}" for v in rng.integers(0, 700, n)],
            "annotator": rng.integers(0, 40, n),
            "label": rng.choice(["cat", "dog", "NA"], n),
        }
    ).drop_duplicates(["item", "annotator"])
    frame.index = frame.index * 3  # written as a column __index_level_0__, which is no annotation column
    frame.to_parquet(tmp_path / "a.parquet", row_group_size=256)
    assert pq.ParquetFile(tmp_path / "a.parquet").metadata.num_row_groups > 5
    assert compare(tmp_path / "a.parquet", "parquet")[0] == "ok"
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "b.parquet", row_group_size=100
    )
    assert compare(tmp_path / "b.parquet", "parquet")[0] == "ok"


def test_parquet_columns_pandas_reads_as_objects_go_to_pandas(tmp_path: Path) -> None:
    path = write_parquet(
        tmp_path / "a.parquet",
        {"item": pa.array([1, 2]), "annotator": pa.array(["a", "a"]), "label": pa.array([[1], [2]])},
    )
    compare(path, "parquet", handled=False)
    dates = write_parquet(
        tmp_path / "b.parquet",
        {"item": pa.array([1, 2]), "annotator": pa.array(["a", "a"]), "label": pa.array([1, 2], pa.date32())},
    )
    compare(dates, "parquet", handled=False)


def test_csv_in_many_blocks_keeps_first_appearance_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 120_000  # more than one pyarrow block of 1 MB
    frame = pd.DataFrame(
        {
            "item": rng.integers(0, 30_000, n).astype(str),
            "annotator": np.char.add("w", rng.integers(0, 300, n).astype(str)),
            "label": rng.choice(["a", "b", "c"], n),
        }
    ).drop_duplicates(["item", "annotator"])
    path = tmp_path / "a.csv"
    frame.to_csv(path, index=False)
    assert path.stat().st_size > 1 << 20
    assert compare(path, "csv")[0] == "ok"


def test_integer_looking_columns_keep_their_texts(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    n = 150_000
    item = rng.integers(0, 40_000, n).astype(str).astype(object)
    item[-3:] = ["007", "7", "-0"]  # after pyarrow's first block, which looked like integers
    annotator = rng.integers(0, 500, n).astype(str).astype(object)
    label = rng.integers(0, 3, n).astype(str).astype(object)
    label[::1000] = ""
    frame = pd.DataFrame({"item": item, "annotator": annotator, "label": label})
    frame = frame.drop_duplicates(["item", "annotator"])
    path = tmp_path / "a.csv"
    frame.to_csv(path, index=False)
    assert compare(path, "csv", missing="drop")[0] == "ok"
    with pytest.warns(DataQualityWarning, match="missing label"):
        assert {"007", "7", "-0"} <= set(read_annotations(path, missing="drop").items)


def test_without_pyarrow_the_pandas_reader_gives_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.csv"
    path.write_text(ODD_CSV["na-like ids"])
    fast = read_annotations(path)
    for name in ("pyarrow", "pyarrow.csv", "pyarrow.parquet", "pyarrow.compute"):
        monkeypatch.setitem(sys.modules, name, None)  # import pyarrow now raises ImportError
    assert read_annotation_codes(path, "csv") is None
    assert_same(read_annotations(path), fast)


def test_integer_ids_first_seen_late_keep_their_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    annotator = rng.integers(0, 50, n)
    annotator[[9_000, 15_000, 19_999]] = [77, 60, 51]  # first seen after several prefixes of rows
    item = rng.permutation(n)  # unsorted, wide range: a hash table
    label = rng.integers(-2, 3, n)  # negative values: a shifted lookup table
    path = write_parquet(tmp_path / "a.parquet", {"item": item, "annotator": annotator, "label": label})
    assert compare(path, "parquet")[0] == "ok"
    assert read_annotations(path).annotators[-3:].tolist() == ["77", "60", "51"]


def pandas_table(path: Path) -> Any:
    """``read_table`` through the pandas reader only."""
    from accord.io import tables

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tables, "read_text_table", lambda *args: None)
        return outcome(lambda: read_table(path))


def assert_same_table(path: Path) -> None:
    fast, slow = outcome(lambda: read_table(path)), pandas_table(path)
    assert fast[0] == slow[0] and fast[2] == slow[2], (fast, slow)
    if fast[0] == "ok":
        pd.testing.assert_frame_equal(fast[1], slow[1], check_exact=True)
        assert fast[1].columns.dtype == slow[1].columns.dtype and fast[1].attrs == slow[1].attrs
    else:
        assert fast[1] == slow[1]


@pytest.mark.parametrize("name", sorted(ODD_CSV) + sorted(ODD_ERRORS))
@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".csv.gz"])
def test_read_table_by_pyarrow_equals_pandas(name: str, suffix: str, tmp_path: Path) -> None:
    text = {**ODD_CSV, **ODD_ERRORS}[name]
    if suffix == ".tsv":
        text = text.replace(",", "\t")
    path = tmp_path / f"a{suffix}"
    if suffix == ".csv.gz":
        with pa.CompressedOutputStream(str(path), "gzip") as out:
            out.write(text.encode())
    else:
        path.write_bytes(text.encode())
    assert_same_table(path)


@pytest.mark.parametrize("path", public_sets()[:6], ids=lambda p: p.parent.name)
def test_read_table_by_pyarrow_equals_pandas_on_public_sets(path: Path) -> None:
    assert_same_table(path)


@pytest.mark.filterwarnings("ignore::accord.errors.DataQualityWarning")
def test_wide_layout_extra_columns_and_gold_read_by_pyarrow(tmp_path: Path) -> None:
    from accord.io import tables
    from accord.io.tables import read_gold

    wide = tmp_path / "wide.csv"
    wide.write_text("item,a,b,NA\n1,x,,y\n007,,y,\nNA,None,x,x\n")
    longer = tmp_path / "long.csv"
    longer.write_text("when,item,annotator,label,note\nmon,1,a,x,hi\ntue,1,b,,\nwed,2,a,y,=1\n")
    gold = tmp_path / "gold.csv"
    gold.write_text("item,label\n1,x\n007,y\n1,x\n")
    fast = [
        read_annotations(wide, layout="wide"),
        read_annotations(longer, extra=["when", "note"], missing="drop"),
        read_gold(gold),
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tables, "read_text_table", lambda *args: None)
        slow = [
            read_annotations(wide, layout="wide"),
            Annotations.from_frame(read_table(longer), extra=["when", "note"], missing="drop"),
            read_gold(gold),
        ]
    for a, b in zip(fast[:2], slow[:2], strict=True):
        for name in ("item", "annotator", "label", "items", "annotators", "classes"):
            assert np.array_equal(getattr(a, name), getattr(b, name))
        assert a.report == b.report
    pd.testing.assert_frame_equal(fast[1].extra, slow[1].extra)
    pd.testing.assert_series_equal(fast[2], slow[2])


ODD_JSONL = {
    "plain": '{"item": 1, "annotator": "a", "label": "x"}\n{"item": 2, "annotator": "b", "label": "y"}\n',
    "blank lines and crlf": '\n{"item": 1, "annotator": "a", "label": 1}\r\n   \r\n\t\n'
    '{"item": 2, "annotator": "a", "label": 2.0}\r\n\n',
    "gaps and nulls": '{"item": "NA", "annotator": "a", "label": null}\n{"item": "i", "annotator": "b"}\n'
    '{"item": "i", "annotator": "c", "label": "None", "extra": true}\n',
    "numbers": '{"item": 1.5, "annotator": -0.0, "label": 1e20}\n{"item": 7, "annotator": 0, "label": 3}\n'
    '{"item": NaN, "annotator": 2, "label": 12345678901234567}\n',
    "big integers": '{"item": 9223372036854775808, "annotator": "a", "label": "x"}\n',
    "booleans": '{"item": true, "annotator": "a", "label": false}\n{"item": false, "annotator": "b"}\n',
    "key order": '{"label": "x", "item": 1}\n{"annotator": "a", "item": 2, "label": "y"}\n',
    "two objects on a line": '{"item": 1, "annotator": "a", "label": "x"} {"item": 2}\n',
    "repeated key": '{"item": 1, "item": 2, "annotator": "a", "label": "x"}\n',
    "nested": '{"item": 1, "annotator": "a", "label": ["x"]}\n',
    "mixed types": '{"item": 1, "annotator": "a", "label": "x"}\n'
    '{"item": "b", "annotator": "a", "label": 2}\n',
    "not an object": "[1, 2, 3]\n",
    "broken": '{"item": 1, "annotator": "a", "label": "x"}\n{"item": \n',
    "lone carriage return": '{"item": 1, "annotator": "a", "label": "x"}\r{"item": 2, "annotator": "a", '
    '"label": "y"}\n',
    "bom": '\ufeff{"item": 1, "annotator": "a", "label": "x"}\n',
    "only blank lines": "\n  \n",
    "unicode": '{"item": "\\u00e9", "annotator": "\u4e2d", "label": "ü"}\n',
}


def python_jsonl(path: Path) -> Any:
    from accord.io import tables

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tables, "read_json_lines", lambda *args: None)
        return outcome(lambda: read_table(path)), outcome(lambda: Annotations.from_frame(read_table(path)))


@pytest.mark.parametrize("name", sorted(ODD_JSONL))
def test_jsonl_by_pyarrow_equals_the_python_reader(name: str, tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(ODD_JSONL[name].encode())
    (table, built) = python_jsonl(path)
    fast_table, fast_built = outcome(lambda: read_table(path)), outcome(lambda: read_annotations(path))
    assert fast_table[0] == table[0] and fast_table[2] == table[2]
    if table[0] == "ok":
        pd.testing.assert_frame_equal(fast_table[1], table[1], check_exact=True)
        assert fast_table[1].attrs == table[1].attrs
    else:
        assert fast_table[1] == table[1]
    assert fast_built[0] == built[0] and fast_built[2] == built[2]
    if built[0] == "ok":
        assert_same(fast_built[1], built[1])
    else:
        assert fast_built[1] == built[1]


def test_jsonl_handed_to_python_when_pyarrow_cannot_be_sure(tmp_path: Path) -> None:
    from accord.io.arrow import read_json_lines

    for name in ("two objects on a line", "repeated key", "nested", "mixed types", "big integers", "bom"):
        path = tmp_path / "a.jsonl"
        path.write_bytes(ODD_JSONL[name].encode())
        assert read_json_lines(path) is None, name
    path.write_bytes(ODD_JSONL["plain"].encode())
    assert read_json_lines(path) is not None


# ---------------------------------------------------------------------- a file that changes while it is read
TRUNCATE_WHILE_READ = """
import os, sys
from pathlib import Path
import numpy as np
from accord.io.arrow import _file_bytes
path = Path(sys.argv[1])
data = _file_bytes(path)  # what the CSV parser works on
os.truncate(path, 0)  # another process empties the file before the parse has read it all
print(int(np.frombuffer(data, dtype=np.uint8).astype(np.int64).sum()))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="Windows refuses to truncate a file that is open")
def test_file_truncated_by_another_process_mid_read_does_not_kill_the_reader(tmp_path: Path) -> None:
    """The parser's bytes are a copy: a memory map of the file would raise SIGBUS on the pages cut off."""
    import subprocess

    path = tmp_path / "big.csv"
    body = "".join(f"i{n},a{n % 7},{n % 3}\n" for n in range(100_000))
    path.write_text("item,annotator,label\n" + body)
    expected = int(np.frombuffer(path.read_bytes(), dtype=np.uint8).astype(np.int64).sum())
    done = subprocess.run(
        [sys.executable, "-c", TRUNCATE_WHILE_READ, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"the reader died (status {done.returncode}): {done.stderr[-2000:]}"
    assert int(done.stdout.split()[-1]) == expected
    assert path.stat().st_size == 0


@pytest.mark.parametrize(
    "values",
    [[7], [3, 3, 3], [-5, -5, 0, 2, 2, 2, 9], [1, 2, 3, 4], list(np.repeat(np.arange(50), np.arange(1, 51)))],
)
def test_sorted_integer_codes_are_runs_numbered_in_order(values: list[int]) -> None:
    """A sorted integer column (a file grouped by item): codes, distinct values and counts as factorizing
    and counting give them."""
    import pyarrow as pa

    from accord.io.arrow import _counted_integer_codes

    codes, uniques, counts = _counted_integer_codes(pa.array(np.asarray(values, dtype=np.int64)))
    expected, distinct = pd.factorize(np.asarray(values))
    assert codes.dtype == np.int32
    np.testing.assert_array_equal(codes, expected)
    np.testing.assert_array_equal(uniques.to_numpy(), distinct)
    np.testing.assert_array_equal(counts, np.bincount(expected))


@pytest.mark.parametrize("size", [0, 1, 7, 64, 65, 1000])
def test_byte_count_in_chunks_is_the_whole_count(size):
    """The quote count that decides an open quote, taken a chunk at a time: the count of the whole buffer
    (chunks of 8 bytes here, so the last is short or the buffer fits in one)."""
    from accord.io.arrow import _count_byte

    raw = np.random.default_rng(size).choice(np.frombuffer(b'a,"\n', dtype=np.uint8), size=size)
    buffer = pa.py_buffer(raw.tobytes())
    assert _count_byte(buffer, ord('"'), chunk=8) == int(np.count_nonzero(raw == ord('"')))
