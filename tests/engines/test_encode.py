"""The codes-first encoder gives Annotations.from_frame's codes and indexes, or hands the table over."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from accord._kernel.encode import encode_codes_first, has_duplicate_pairs
from accord.annotations import Annotations
from accord.errors import InvalidAnnotationsError


def classify(values: np.ndarray) -> tuple[pd.Index, np.ndarray]:
    """Classes as from_frame orders them: the class index of a one-row-per-value table."""
    probe = pd.DataFrame(
        {"item": np.arange(len(values)), "annotator": 0, "label": pd.Series(values, dtype=object)}
    )
    try:
        built = Annotations.from_frame(probe)
    except InvalidAnnotationsError:
        return pd.Index([]), np.full(len(values), -1)
    return built.classes, built.label


def frames() -> list[pd.DataFrame]:
    rng = np.random.default_rng(0)
    item = np.repeat(np.arange(40), 3)
    ann = (item * 7 + np.tile(np.arange(3), 40) * 5) % 11
    lab = rng.integers(0, 3, len(item))
    order = rng.permutation(len(item))
    return [
        pd.DataFrame({"item": item, "annotator": ann, "label": lab}).iloc[order],
        pd.DataFrame(
            {"item": item.astype(str), "annotator": ann.astype(str), "label": (lab * 5).astype(str)}
        ),
        pd.DataFrame({"task": item, "worker": [f"w{a}" for a in ann], "label": lab.astype(float)}),
        pd.DataFrame({"item": item, "annotator": ann, "label": np.array(["cat", "dog", "2"])[lab]}),
    ]


@pytest.mark.parametrize("index", range(4))
def test_codes_and_indexes_equal_from_frame(index: int) -> None:
    frame = frames()[index]
    cols = list(frame.columns)
    expected = Annotations.from_frame(frame, item=cols[0], annotator=cols[1], label=cols[2])
    got = encode_codes_first(frame, cols[0], cols[1], cols[2], classify)
    assert got is not None
    for name in ("item", "annotator", "label"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))
    for name in ("items", "annotators", "classes"):
        a, b = getattr(got, name), getattr(expected, name)
        assert a.equals(b) and a.dtype == b.dtype and a.name == b.name


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(label=f["label"].astype(object).where(f.index != f.index[3], None)),
        lambda f: f.assign(item=f["item"].astype(str).where(f.index != f.index[2], "  ")),
        lambda f: pd.concat([f, f.iloc[:1]]),
        lambda f: f.assign(label=[[1]] + [0] * (len(f) - 1)),
        lambda f: f.iloc[:0],
    ],
    ids=["missing-label", "blank-item", "duplicate-pair", "unhashable", "empty"],
)
def test_hands_over_what_needs_the_careful_builder(change: Any) -> None:
    assert encode_codes_first(change(frames()[0]), "item", "annotator", "label", classify) is None


def test_duplicate_pairs_kept_when_asked_and_detected_by_key() -> None:
    frame = pd.concat([frames()[0], frames()[0].iloc[:2]])
    assert (
        encode_codes_first(frame, "item", "annotator", "label", classify, check_duplicates=False) is not None
    )
    assert has_duplicate_pairs(np.array([0, 0, 1]), np.array([1, 1, 1]), 2)
    assert not has_duplicate_pairs(np.array([0, 1, 1]), np.array([1, 0, 1]), 2)
