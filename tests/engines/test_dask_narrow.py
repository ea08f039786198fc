"""The integer ids of a Parquet dataset shuffled in the smallest type that holds them (from the files'
statistics): the same fit as the in-memory one, whatever the type."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from accord import DawidSkene  # noqa: E402
from accord.engines import dask as engine  # noqa: E402
from accord.engines._dask_input import narrow_types, row_bytes  # noqa: E402


def _write(folder: Path, tables: list[pa.Table]) -> list[str]:
    folder.mkdir()
    paths = []
    for i, table in enumerate(tables):
        path = folder / f"part-{i}.parquet"
        pq.write_table(table, path, row_group_size=3)
        paths.append(str(path))
    return paths


def test_narrow_types_from_statistics(tmp_path: Path) -> None:
    first = pa.table(
        {
            "item": pa.array([0, 5, 70_000, 9], pa.int64()),
            "annotator": pa.array([-3, 200, 4, 1], pa.int64()),
            "label": pa.array([0, 1, 1, 0], pa.int64()),
            "big": pa.array([0, 2**40, 1, 2], pa.int64()),
            "text": pa.array(["a", "b", "c", "d"]),
            "holes": pa.array([1, None, 2, 3], pa.int64()),
        }
    )
    second = first.set_column(2, "label", pa.array([0, 1, 2, -128], pa.int64()))
    paths = _write(tmp_path / "d", [first, second])
    columns = ["item", "annotator", "label", "big", "text", "holes", "absent"]
    assert narrow_types(paths, columns) == {
        "item": np.dtype(np.int32),  # 70_000 needs 32 bits
        "annotator": np.dtype(np.int16),
        "label": np.dtype(np.int8),  # -128 still fits
    }
    third = first.set_column(2, "label", pa.array([0, 1, 2, 128], pa.int64()))
    assert narrow_types(_write(tmp_path / "e", [third]), ["label"]) == {"label": np.dtype(np.int16)}
    assert narrow_types([str(tmp_path / "missing.parquet")], ["item"]) == {}
    assert row_bytes(pd.DataFrame({"a": np.zeros(1, np.int8), "b": np.zeros(1), "c": ["x"]})) == 1 + 8 + 64


@pytest.mark.parametrize("offset", [0, 2**40])
def test_integer_ids_fit_as_in_memory_in_any_width(tmp_path: Path, offset: int) -> None:
    rng = np.random.default_rng(5)
    n_items, k = 300, 3
    truth = rng.integers(0, k, n_items)
    items = np.repeat(np.arange(n_items), 4)
    who = np.concatenate([rng.choice(12, 4, replace=False) for _ in range(n_items)])
    right = rng.random(len(items)) < rng.uniform(0.55, 0.95, 12)[who]
    labels = np.where(right, truth[items], (truth[items] + 1) % k)
    # items either small (int16 in the shuffle) or 2**40 and up (int64 kept); an extra column never moves
    frame = pd.DataFrame({"item": items + offset, "annotator": who + 7, "label": labels, "note": "x"})
    rows = len(frame) // 3
    _write(
        tmp_path / "src",
        [pa.Table.from_pandas(frame.iloc[i * rows : (i + 1) * rows], preserve_index=False) for i in range(3)],
    )
    result = engine.fit(
        DawidSkene(), str(tmp_path / "src"), npartitions=2, shuffle_method="tasks", collect=True
    )
    reference = DawidSkene().fit(frame[["item", "annotator", "label"]].astype(str))
    assert result.items is not None and result.n_iter == reference.n_iter_
    got = result.items.set_index("item").loc[reference.labels_.index]
    proba = reference.consensus_.proba
    np.testing.assert_allclose(
        got[[f"proba_{c}" for c in proba.columns]].to_numpy(), proba.to_numpy(), atol=1e-9
    )
    assert list(result.classes) == ["0", "1", "2"] and list(result.annotators)[:2] == ["10", "11"]
