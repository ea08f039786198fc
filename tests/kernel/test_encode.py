"""The codes-first steps of the Annotations build, each against the plain pandas/Python computation."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from accord._kernel import encode
from accord._kernel.encode import blank_values, has_duplicate_pairs, in_first_appearance_order, used_values


@pytest.mark.parametrize("seed", range(5))
def test_duplicate_pairs_by_sorting_equal_pandas_duplicated(seed: int) -> None:
    rng = np.random.default_rng(seed)
    item = rng.integers(0, 30, 60)
    ann = rng.integers(0, 7, 60)
    expected = pd.DataFrame({"i": item, "a": ann}).duplicated().any()
    assert has_duplicate_pairs(item, ann, 7) == expected
    pairs = np.unique(item * 7 + ann)
    assert not has_duplicate_pairs(pairs // 7, pairs % 7, 7)


@pytest.mark.parametrize("seed", range(6))
def test_duplicate_pairs_in_rows_grouped_by_item(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 30 if seed % 2 else 8, 50)  # some items beyond the neighbour window
    item = np.repeat(np.arange(50), sizes)
    ann = np.concatenate([rng.choice(40, size, replace=False) for size in sizes])
    assert not has_duplicate_pairs(item, ann, 40)
    where = int(rng.integers(0, len(item)))
    same_item = np.flatnonzero(item == item[where])
    if len(same_item) > 1:
        ann[same_item[-1]] = ann[same_item[0]]  # the first and the last row of an item
        assert has_duplicate_pairs(item, ann, 40)
    expected = pd.DataFrame({"i": item, "a": ann}).duplicated().any()
    assert has_duplicate_pairs(item, ann, 40) == expected


def test_duplicate_pairs_small_cases() -> None:
    assert has_duplicate_pairs(np.array([0, 0, 1]), np.array([1, 1, 1]), 2)
    assert not has_duplicate_pairs(np.array([0, 1, 1]), np.array([1, 0, 1]), 2)
    assert not has_duplicate_pairs(np.array([3]), np.array([0]), 1)
    # the key must not confuse (item 0, annotator 2) with (item 1, annotator 0) when there are 2 annotators
    assert not has_duplicate_pairs(np.array([0, 1]), np.array([1, 0]), 2)


@pytest.mark.parametrize("seed", range(5))
def test_first_appearance_order_is_what_factorize_returns(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 8, 40)
    codes, uniques = pd.factorize(values)
    assert in_first_appearance_order(codes, len(uniques))
    assert not in_first_appearance_order(values, values.max() + 1) or np.array_equal(codes, values)
    assert not in_first_appearance_order(codes, len(uniques) + 1)  # a value never used


def test_first_appearance_order_edge_cases() -> None:
    assert in_first_appearance_order(np.zeros(0, dtype=np.int64), 0)
    assert not in_first_appearance_order(np.array([0, 2, 1]), 3)
    assert in_first_appearance_order(np.array([0, 1, 0, 2, 1]), 3)


def test_used_values_equal_unique() -> None:
    codes = np.array([4, 1, 4, 0])
    assert used_values(codes, 6).tolist() == np.unique(codes).tolist()
    assert used_values(np.zeros(0, dtype=np.int64), 3).tolist() == []


BLANKS = ["", " ", "\t\n", "\u3000", "\x1c", "\x85 \xa0"]
TEXT = ["a", " a ", "NA", "None", "#N/A", "\u200b", "0"]  # a zero-width space is not whitespace in Python


@pytest.mark.parametrize("arrow", [True, False], ids=["pyarrow", "python"])
def test_blank_values_equal_str_strip(arrow: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if arrow:
        pytest.importorskip("pyarrow")
    else:
        monkeypatch.setattr(encode, "_blank_with_arrow", lambda values: None)
    values = np.array(BLANKS + TEXT + [None, np.nan], dtype=object)
    assert blank_values(values).tolist() == [True] * len(BLANKS) + [False] * len(TEXT) + [True, True]
    assert blank_values(pd.Index(BLANKS + TEXT)).tolist() == [not v.strip() for v in BLANKS + TEXT]
    assert not blank_values(np.array([1, 2, 3])).any()
    assert blank_values(np.array([1.5, np.nan])).tolist() == [False, True]
    assert blank_values(pd.Index([3, 1])).tolist() == [False, False]
    assert blank_values(pd.array([1, None], dtype="Int64")).tolist() == [False, True]
    assert blank_values(np.array([True, False])).tolist() == [False, False]
    mixed = np.array([1, "", " x", 2.5], dtype=object)
    assert blank_values(mixed).tolist() == [False, True, False, False]


def test_blank_values_with_arrow_match_python_on_every_whitespace_character() -> None:
    pytest.importorskip("pyarrow")
    chars = [chr(c) for c in range(0x3100) if not 0xD800 <= c < 0xE000] + [chr(0x205F) * 2]
    expected = [not c.strip() for c in chars]
    assert blank_values(np.array(chars, dtype=object)).tolist() == expected
    assert sys.maxunicode > 0x3100
