"""The table writers: CSV text equal to pandas' ``to_csv`` byte for byte (with pyarrow and without), formula
neutralisation as before, Parquet read back as the same columns, writing by suffix."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pandas as pd
import pytest

from accord import _csv
from accord._csv import FORMULA_START, float_text, neutralise_formulas, write_csv, write_parquet
from accord.errors import InvalidParameterError
from accord.io.write import output_format, write_table

ODD_TEXT = [
    "a,b",
    'x"y',
    "",
    "p\rq",
    "n\nm",
    "=1+2",
    "-1",
    "+x",
    "@sum",
    "\tx",
    "\rz",
    "é,ü",
    " sp ",
    '""',
    "ok",
    "'=",
    "-1e5",
    "-inf",
    "a\tb",
    None,
]


def reference_neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """The cell-by-cell neutralisation accord used before (on plain object/str columns)."""
    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if not (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)):
            continue
        text = col.astype(object)
        is_str = text.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        starts = np.zeros(len(text), dtype=bool)
        starts[is_str] = [v.startswith(FORMULA_START) for v in text[is_str]]
        if not starts.any():
            continue
        numeric = pd.to_numeric(text[starts], errors="coerce").notna().to_numpy()
        risky = np.flatnonzero(starts)[~numeric]
        if len(risky):
            text = text.copy()
            text.iloc[risky] = ["'" + v for v in text.iloc[risky]]
            out[name] = text
    return out


def reference_csv(frame: pd.DataFrame, sep: str = ",", escape: bool = True) -> bytes:
    """What accord wrote before: categoricals as their values, neutralised cell by cell, pandas' to_csv."""
    plain = frame.astype(
        {c: object for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    )
    safe = reference_neutralise(plain) if escape else plain
    return safe.to_csv(sep=sep, index=False).encode("utf-8")


def written(frame: pd.DataFrame, sep: str = ",", escape: bool = True) -> bytes:
    out = io.BytesIO()
    write_csv(frame, out, sep=sep, escape_formulas=escape)
    return out.getvalue()


def odd_frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(1)
    n = len(ODD_TEXT)
    return {
        "text": pd.DataFrame(
            {"s": ODD_TEXT, "f": rng.random(n), "i": np.arange(n) - 3, "b": np.arange(n) % 2 == 0}
        ),
        "categorical": pd.DataFrame(
            {"c": pd.Categorical(["=a", "b", "=a", None, "x,y"]), "n": [1.0, np.nan, 3.0, -0.0, 1e-5]}
        ),
        "object mix": pd.DataFrame(
            {"o": pd.Series([1, "=a", 2.5, None, "-3"], dtype=object), "f": [1.0] * 5}
        ),
        "object text": pd.DataFrame({"o": np.array(["=x", "y", 'a"b'], dtype=object)}),
        "one column": pd.DataFrame({"a": ["", None, "x"]}),
        "float32": pd.DataFrame({"a": np.array([0.1, 1e-7, np.nan, 3.0], dtype=np.float32)}),
        "nullable": pd.DataFrame(
            {"a": pd.array([1, None, 3], dtype="Int64"), "b": pd.array([True, None, False], dtype="boolean")}
        ),
        "numeric categories": pd.DataFrame(
            {"a": pd.Categorical([1, 2, 1]), "b": pd.Categorical([0.5, 1e-5, 0.5])}
        ),
        "dates": pd.DataFrame({"d": pd.to_datetime(["2020-01-01", "2021-01-01"]), "x": ["=a", "b"]}),
        "header": pd.DataFrame({"a,b": [1], 'c"': [2], "": [3], "=x": [4]}),
        "no rows": pd.DataFrame({"a": [], "b": []}),
    }


@pytest.mark.parametrize("name", list(odd_frames()))
@pytest.mark.parametrize("sep", [",", "\t"])
@pytest.mark.parametrize("escape", [True, False])
def test_csv_bytes_equal_pandas(name: str, sep: str, escape: bool) -> None:
    frame = odd_frames()[name]
    assert written(frame, sep, escape) == reference_csv(frame, sep, escape)


def test_float_text_is_python_repr() -> None:
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**63, 30_000, dtype=np.int64).view(np.float64)
    values = np.concatenate(
        [
            rng.random(10_000),
            rng.random(10_000) ** 25,
            np.exp(rng.uniform(-745, 709, 20_000)) * rng.choice([-1, 1], 20_000),
            rng.integers(-(10**6), 10**6, 2_000).astype(float),
            rng.integers(0, 2**62, 2_000).astype(float),
            rng.random(2_000) * 1e15,
            bits[np.isfinite(bits)],
            [0.0, -0.0, np.inf, -np.inf, 5e-324, 1e-4, 1e-5, 1e-6, 1e-7, 1e-10, 9.999999999999999e-05],
            [1e16, 1e10, 9999999999.5, 0.1, 1 / 3, 1e15 + 0.5, 2.5e-06, 1.5e-07],
        ]
    )
    assert float_text(values).to_pylist() == values.astype(str).tolist()
    assert float_text(np.array([np.nan, 1.0])).to_pylist() == [None, "1.0"]


def test_many_blocks_join_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_csv, "BLOCK_ROWS", 37)
    rng = np.random.default_rng(3)
    n = 1000
    frame = pd.DataFrame(
        {
            "item": [f"i{j}" if j % 7 else f"=i,{j}" for j in range(n)],
            "label": pd.Categorical(rng.choice(["a", "b\nc", "-d"], n)),
            "p": rng.random(n) ** 8,
        }
    )
    assert written(frame) == reference_csv(frame)


def test_without_pyarrow_pandas_writes_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = odd_frames()["text"]
    expected = written(frame)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    assert written(frame) == expected == reference_csv(frame)


def test_text_and_binary_targets(tmp_path) -> None:
    frame = odd_frames()["categorical"]
    text = io.StringIO()
    write_csv(frame, text)
    write_csv(frame, tmp_path / "a.csv")
    assert text.getvalue().encode() == (tmp_path / "a.csv").read_bytes() == reference_csv(frame)
    with open(tmp_path / "latin.csv", "w", encoding="latin-1", newline="") as handle:
        write_csv(pd.DataFrame({"a": ["é", "=x"]}), handle)
    assert (tmp_path / "latin.csv").read_bytes() == "a\né\n'=x\n".encode("latin-1")


def test_multiindex_columns_go_through_pandas() -> None:
    frame = pd.DataFrame([[1, "=a"]], columns=pd.MultiIndex.from_tuples([("x", "y"), ("x", "z")]))
    assert written(frame) == reference_csv(frame)


def test_neutralise_formulas_keeps_dtypes_and_categories() -> None:
    frame = pd.DataFrame(
        {
            "c": pd.Categorical(["=a", "b", "=a"]),
            "s": pd.Series(["@x", "y", "-2"], dtype="str"),
            "n": [-1.0, 2.0, 3.0],
        }
    )
    out = neutralise_formulas(frame)
    assert isinstance(out["c"].dtype, pd.CategoricalDtype)
    assert out["c"].tolist() == ["'=a", "b", "'=a"]
    assert out["s"].tolist() == ["'@x", "y", "-2"] and out["s"].dtype == frame["s"].dtype
    assert out["n"].tolist() == [-1.0, 2.0, 3.0]
    assert frame["c"].tolist() == ["=a", "b", "=a"]  # the input is left alone


def test_neutralised_category_that_collides_becomes_text() -> None:
    frame = pd.DataFrame({"c": pd.Categorical(["=a", "'=a", "b"])})
    assert neutralise_formulas(frame)["c"].tolist() == ["'=a", "'=a", "b"]
    assert written(frame) == reference_csv(frame)


@pytest.mark.parametrize("categories", [["x", "y"], [3, 7]])
def test_parquet_reads_back_as_plain_columns(tmp_path, categories: list) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    x, y = categories
    frame = pd.DataFrame(
        {
            "item": ["a", "b,c", "=d"],
            "label": pd.Categorical([x, y, x]),
            "p": [0.1, 1e-7, 1.0],
            "n": [1, 2, 3],
        }
    )
    write_parquet(frame, tmp_path / "new.parquet")
    plain = frame.astype({"label": pd.Series(categories).dtype})
    plain.to_parquet(tmp_path / "old.parquet", index=False)
    new, old = pd.read_parquet(tmp_path / "new.parquet"), pd.read_parquet(tmp_path / "old.parquet")
    pd.testing.assert_frame_equal(new, old)
    assert pq.read_schema(tmp_path / "new.parquet").equals(pq.read_schema(tmp_path / "old.parquet"))
    assert new["item"].tolist() == ["a", "b,c", "=d"]  # Parquet is not a spreadsheet: no neutralising


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".json", ".jsonl"])
def test_write_table_by_suffix(tmp_path, suffix: str) -> None:
    frame = pd.DataFrame({"item": ["=a", "b"], "label": pd.Categorical(["x", "y"]), "p": [0.5, 1e-5]})
    path = tmp_path / f"out{suffix}"
    write_table(frame, path)
    fmt = output_format(path)
    if fmt in ("csv", "tsv"):
        assert path.read_bytes() == reference_csv(frame, "\t" if fmt == "tsv" else ",")
    elif fmt == "parquet":
        assert pd.read_parquet(path)["label"].tolist() == ["x", "y"]
    elif fmt == "json":
        assert json.loads(path.read_text())[0] == {"item": "=a", "label": "x", "p": 0.5}
    else:
        assert json.loads(path.read_text().splitlines()[1]) == {"item": "b", "label": "y", "p": 1e-5}


def test_write_table_to_stdout_and_errors(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.DataFrame({"item": ["=a"], "p": [0.25]})
    write_table(frame, "-")
    assert capsys.readouterr().out == "item,p\n'=a,0.25\n"
    with pytest.raises(InvalidParameterError, match=r"out\.xlsx.*\.csv, \.tsv"):
        write_table(frame, tmp_path / "out.xlsx")
    with pytest.raises(InvalidParameterError, match="fmt="):
        write_table(frame, io.StringIO())
    with pytest.raises(InvalidParameterError, match="fmt='xml'"):
        write_table(frame, tmp_path / "out.csv", fmt="xml")


def test_a_column_repeating_others_row_by_row_is_written_from_their_text(monkeypatch) -> None:
    monkeypatch.setattr(_csv, "BLOCK_ROWS", 50)
    rng = np.random.default_rng(5)
    a, b = rng.random(400) ** 9, rng.random(400)
    a[:3], b[3:6] = [np.nan, -0.0, 1e-5], [np.nan, 0.0, 2.5e-7]
    pick = rng.integers(0, 2, 400)
    chosen = np.where(pick == 1, b, a)
    almost = chosen.copy()
    almost[-1] = 0.123
    frame = pd.DataFrame({"chosen": chosen, "a": a, "b": b, "almost": almost})
    kinds = [type(f).__name__ for f in _csv._formatters(frame, ",")]
    assert kinds[0] == "_Repeat" and "_Repeat" not in kinds[1:]
    assert written(frame) == reference_csv(frame)


def digits_reference(frame: pd.DataFrame, digits: int, sep: str = ",") -> bytes:
    """pandas' own text with ``float_format``: categoricals as their values (never float-formatted)."""
    plain = frame.astype(
        {c: object for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    )
    return reference_neutralise(plain).to_csv(sep=sep, index=False, float_format=f"%.{digits}f").encode()


def awkward_floats(n: int = 40_000) -> np.ndarray:
    """Values around every rounding edge: halves at each digit, tiny and huge magnitudes, signs, NaN."""
    rng = np.random.default_rng(5)
    halves = (rng.integers(0, 10**6, n) + 0.5) / 10.0 ** rng.integers(0, 9, n)
    return np.concatenate(
        [
            rng.random(n),
            halves,
            -halves,
            np.nextafter(halves, 0),
            np.nextafter(halves, 10),
            np.exp(rng.uniform(-50, 50, n)) * rng.choice([-1, 1], n),
            [0.0, -0.0, np.nan, np.inf, -np.inf, 5e-324, -1e-9, 2.675, 1e300, 2.0**52, 2.0**53 + 2],
            [0.125, 0.375, 2.5, 3.5, -2.5, 1e15 + 0.5, 4503599627370495.5, 0.9999995, 0.0000005],
        ]
    )


@pytest.mark.parametrize("digits", [0, 1, 2, 3, 6, 9, 12, 17])
def test_fixed_text_is_python_percent_format(digits: int) -> None:
    values = awkward_floats()
    expected = [None if v != v else f"%.{digits}f" % v for v in values.tolist()]
    assert _csv.fixed_text(values, digits).to_pylist() == expected


@pytest.mark.parametrize("name", ["text", "categorical", "float32", "numeric categories", "object mix"])
@pytest.mark.parametrize("digits", [0, 4, 6])
def test_float_digits_bytes_equal_pandas_float_format(name: str, digits: int) -> None:
    frame = odd_frames()[name]
    out = io.BytesIO()
    write_csv(frame, out, float_digits=digits)
    assert out.getvalue() == digits_reference(frame, digits)


def test_float_digits_of_a_consensus_table(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_csv, "BLOCK_ROWS", 101)  # many blocks, a repeated column, few-valued columns
    rng = np.random.default_rng(7)
    p = np.clip(rng.random(1000) ** 3, 0, 1)
    p[::9] = 1.0
    frame = pd.DataFrame(
        {
            "item": [f"i{j}" for j in range(1000)],
            "label": pd.Categorical.from_codes((p > 0.5).astype(int), ["neg", "=pos"]),
            "confidence": np.maximum(p, 1 - p),
            "agreement": rng.integers(0, 6, 1000) / 5,
            "n_annotations": np.full(1000, 5),
            "proba_neg": 1 - p,
            "proba_pos": p,
        }
    )
    for digits in (3, 6):
        write_table(frame, tmp_path / "a.csv", float_digits=digits)
        assert (tmp_path / "a.csv").read_bytes() == digits_reference(frame, digits)
    write_table(frame, tmp_path / "b.tsv", float_digits=2)
    assert (tmp_path / "b.tsv").read_bytes() == digits_reference(frame, 2, "\t")
    write_table(frame, tmp_path / "c.csv")  # the default stays the shortest round-trip text
    assert (tmp_path / "c.csv").read_bytes() == reference_csv(frame)


@pytest.mark.parametrize("bad", [-1, 21, 2.5, True, "6"])
def test_float_digits_must_be_a_small_whole_number(bad: object) -> None:
    with pytest.raises(InvalidParameterError, match="float_digits"):
        write_csv(pd.DataFrame({"a": [0.5]}), io.BytesIO(), float_digits=bad)  # type: ignore[arg-type]
