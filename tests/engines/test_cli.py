"""``accord aggregate DATASET --engine dask``'s glue: engines._cli.run_dask."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

from distributed import LocalCluster  # noqa: E402

from accord import DawidSkene, MajorityVote  # noqa: E402
from accord.engines._cli import run_dask  # noqa: E402
from accord.errors import InvalidParameterError  # noqa: E402
from accord.models import GLAD  # noqa: E402


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0") as cluster:
        yield str(cluster.scheduler_address)


def namespace(source: Path, output: Path, scheduler: str, **extra: Any) -> argparse.Namespace:
    values: dict[str, Any] = {
        "annotations": str(source),
        "output": str(output),
        "method": "ds",
        "param": ["tol=1e-3"],
        "scheduler": scheduler,
        "item_col": None,
        "annotator_col": None,
        "label_col": None,
        "classes": None,
        "duplicates": "error",
        "missing": "error",
        "quiet": False,
        "wide": False,
        "source_format": None,
        "annotators": None,
    }
    values.update(extra)
    return argparse.Namespace(**values)


def test_run_dask_writes_one_parquet_file_per_partition(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(5)
    n = 200
    truth = rng.integers(0, 2, n)
    items = np.repeat(np.arange(n), 3)
    labels = np.where(rng.random(3 * n) < 0.8, truth[items], 1 - truth[items])
    frame = pd.DataFrame({"task": items, "worker": np.tile(["a", "b", "c"], n), "label": labels})
    source = tmp_path / "in"
    source.mkdir()
    frame.iloc[:300].to_parquet(source / "a.parquet", index=False)
    frame.iloc[300:].to_parquet(source / "b.parquet", index=False)
    assert run_dask(namespace(source, tmp_path / "out", scheduler), DawidSkene(tol=1e-3)) == 0
    printed = capsys.readouterr().out
    assert "DawidSkene on Dask: 200 items, 3 annotators, 600 annotations" in printed
    written = pd.concat([pd.read_parquet(p) for p in (tmp_path / "out").glob("part-*.parquet")])
    expected = DawidSkene(tol=1e-3).fit(frame.astype(str)).labels_  # a file's ids and labels are text
    assert (written.set_index("item")["label"].loc[expected.index].to_numpy() == expected.to_numpy()).all()


def test_run_dask_refuses_what_it_cannot_do(scheduler: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="--wide"):
        run_dask(namespace(tmp_path, tmp_path / "out", scheduler, wide=True), MajorityVote())
    with pytest.raises(InvalidParameterError, match="cannot write .xlsx"):
        run_dask(namespace(tmp_path, tmp_path / "out", scheduler, annotators="a.xlsx"), MajorityVote())
    with pytest.raises(InvalidParameterError, match="directory with -o DIR"):
        run_dask(namespace(tmp_path, Path("-"), scheduler), MajorityVote())
    with pytest.raises(InvalidParameterError, match="in-memory only"):
        run_dask(namespace(tmp_path, tmp_path / "out", scheduler, method="glad"), GLAD())


def test_run_dask_writes_the_annotator_table_and_reports_gold_accuracy(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(6)
    n = 300
    truth = rng.integers(0, 3, n)
    items = np.repeat(np.arange(n), 4)
    labels = np.where(rng.random(4 * n) < 0.7, truth[items], rng.integers(0, 3, 4 * n))
    who = np.tile(["a", "b", "c", "d"], n)
    frame = pd.DataFrame({"item": items, "annotator": who, "label": labels})
    source = tmp_path / "in"
    source.mkdir()
    frame.to_parquet(source / "all.parquet", index=False)
    pd.DataFrame({"item": np.arange(0, n, 2), "label": truth[::2]}).to_csv(tmp_path / "gold.csv", index=False)
    args = namespace(
        source,
        tmp_path / "out",
        scheduler,
        annotators=str(tmp_path / "annotators.csv"),
        gold=str(tmp_path / "gold.csv"),
    )
    assert run_dask(args, DawidSkene(tol=1e-3)) == 0
    printed = capsys.readouterr().out
    reference = DawidSkene(tol=1e-3).fit(frame.astype(str))
    expected = float(
        (reference.labels_.loc[[str(i) for i in range(0, n, 2)]].astype(int) == truth[::2]).mean()
    )
    assert f"accuracy on {n // 2} gold items: {expected:.4f}" in printed
    written = pd.read_csv(tmp_path / "annotators.csv").set_index("annotator").sort_index()
    table = reference.consensus_.annotators_frame().set_index("annotator").sort_index()
    assert list(written.columns) == list(table.columns)
    np.testing.assert_allclose(written["quality"], table["quality"], atol=1e-9)
    assert (written["n_labels"] == table["n_labels"]).all()
    assert (written["worst_class"].astype(str) == table["worst_class"].astype(str)).all()


def test_accord_aggregate_engine_dask_end_to_end(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from accord.cli import main

    frame = pd.DataFrame(
        {"item": np.repeat(np.arange(40), 3), "annotator": np.tile(["a", "b", "c"], 40), "label": 1}
    )
    frame.loc[frame.index % 7 == 0, "label"] = 0
    source = tmp_path / "in"
    source.mkdir()
    frame.to_parquet(source / "x.parquet", index=False)
    pd.DataFrame({"item": [0, 1, 2, 3], "label": [0, 1, 1, 1]}).to_csv(tmp_path / "gold.csv", index=False)
    out, annotators = tmp_path / "out", tmp_path / "annotators.parquet"
    argv = [
        "aggregate",
        str(source),
        "-m",
        "mv",
        "--engine",
        "dask",
        "--scheduler",
        scheduler,
        "-o",
        str(out),
    ]
    assert main([*argv, "--annotators", str(annotators), "--gold", str(tmp_path / "gold.csv")]) == 0
    printed = capsys.readouterr().out
    assert "MajorityVote on Dask: 40 items, 3 annotators, 120 annotations" in printed
    expected = MajorityVote().fit(frame.astype(str)).consensus_.labels.loc[["0", "1", "2", "3"]]
    accuracy = float((expected.astype(int).to_numpy() == [0, 1, 1, 1]).mean())
    assert f"accuracy on 4 gold items: {accuracy:.4f}" in printed
    assert list(pd.read_parquet(annotators)["annotator"]) == ["a", "b", "c"]
    assert main([*argv[:-1], str(tmp_path / "out2"), "--annotators", str(tmp_path / "a.xlsx")]) == 2


def test_run_dask_takes_known_labels_and_scores_gold_without_them(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(8)
    n = 240
    truth = rng.integers(0, 2, n)
    items = np.repeat(np.arange(n), 3)
    labels = np.where(rng.random(3 * n) < 0.7, truth[items], 1 - truth[items])
    frame = pd.DataFrame({"item": items, "annotator": np.tile(["a", "b", "c"], n), "label": labels})
    source = tmp_path / "in"
    source.mkdir()
    frame.to_parquet(source / "all.parquet", index=False)
    known = pd.DataFrame({"item": np.arange(0, n, 5), "label": truth[::5]})
    known.to_csv(tmp_path / "known.csv", index=False)
    pd.DataFrame({"item": np.arange(0, n, 2), "label": truth[::2]}).to_csv(tmp_path / "gold.csv", index=False)
    args = namespace(
        source,
        tmp_path / "out",
        scheduler,
        known=str(tmp_path / "known.csv"),
        gold=str(tmp_path / "gold.csv"),
    )
    assert run_dask(args, DawidSkene(tol=1e-3)) == 0
    printed = capsys.readouterr().out
    text = frame.astype(str)
    reference = DawidSkene(tol=1e-3).fit(text, gold=known.astype(str).set_index("item")["label"])
    written = pd.concat([pd.read_parquet(p) for p in (tmp_path / "out").glob("part-*.parquet")])
    got = written.set_index("item")["label"].loc[reference.labels_.index]
    assert (got.to_numpy() == reference.labels_.to_numpy()).all()
    assert (got.loc[known["item"].astype(str)].astype(int).to_numpy() == known["label"].to_numpy()).all()
    scored = [i for i in range(0, n, 2) if i % 5]
    expected = float((reference.labels_.loc[[str(i) for i in scored]].astype(int) == truth[scored]).mean())
    assert f"accuracy on {len(scored)} gold items not in --known: {expected:.4f}" in printed
