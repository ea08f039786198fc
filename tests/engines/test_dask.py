"""The Dask engine against the in-memory models: same posteriors (within 1e-9), same iteration counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

from distributed import Client, LocalCluster  # noqa: E402

from accord import BayesianDawidSkene, DawidSkene, MajorityVote, OneCoinDawidSkene  # noqa: E402
from accord.engines import dask as engine  # noqa: E402
from accord.errors import ConvergenceWarning, InvalidAnnotationsError, InvalidParameterError  # noqa: E402


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0") as cluster,
        Client(cluster) as c,
    ):
        yield c


def synthetic(n_items: int = 600, n_annotators: int = 25, k: int = 3, seed: int = 0) -> pd.DataFrame:
    """Dawid-Skene data: 5 labels per item from annotators of accuracy 0.55-0.95, errors uniform."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    items = np.repeat(np.arange(n_items), 5)
    who = np.concatenate([rng.choice(n_annotators, 5, replace=False) for _ in range(n_items)])
    right = rng.random(len(items)) < rng.uniform(0.55, 0.95, n_annotators)[who]
    labels = np.where(right, truth[items], (truth[items] + rng.integers(1, k, len(items))) % k)
    frame = pd.DataFrame({"item": [f"i{i}" for i in items], "annotator": who, "label": labels})
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def with_gold(frame: pd.DataFrame) -> pd.Series:
    """Gold labels for a third of the items (a label someone gave), and one item nobody labelled."""
    gold = frame.drop_duplicates("item").set_index("item")["label"].iloc[::3]
    return pd.concat([gold, pd.Series({"unannotated": 1})])


def check_gold_accuracy(result: engine.DaskFit, reference: Any, gold: pd.Series) -> None:
    labels = reference.consensus_.labels
    known = gold.index.intersection(labels.index)
    expected = float((labels.loc[known].to_numpy() == gold.loc[known].to_numpy()).mean())
    assert result.n_gold == len(gold) and result.gold_items == len(known) == len(gold) - 1
    assert result.gold_accuracy == pytest.approx(expected, abs=1e-12)


def posterior_gap(result: engine.DaskFit, model: Any) -> float:
    assert result.items is not None
    expected = model.consensus_.proba
    got = result.items.set_index("item")[[f"proba_{c}" for c in result.classes]]
    got.columns = expected.columns
    assert len(got) == len(expected) and got.index.is_unique
    return float(np.abs(got.loc[expected.index].to_numpy() - expected.to_numpy()).max())


def annotator_gap(result: engine.DaskFit, reference: Any) -> pd.DataFrame:
    """The in-memory annotator table and the engine's, rows matched by annotator id (text)."""
    expected = reference.consensus_.annotators_frame()
    expected = expected.set_index(expected["annotator"].astype(str)).drop(columns="annotator")
    assert result.annotator_quality is not None
    got = result.annotator_quality
    got = got.set_index(got["annotator"].astype(str)).drop(columns="annotator")
    assert list(got.columns) == list(expected.columns)
    assert sorted(got.index) == sorted(expected.index)
    got = got.loc[expected.index]
    for col in expected.columns:
        if expected[col].dtype.kind in "fiu":
            np.testing.assert_allclose(got[col].to_numpy(float), expected[col].to_numpy(float), atol=1e-9)
        else:
            assert (got[col].astype(str) == expected[col].astype(str)).all(), col
    return got


@pytest.mark.parametrize(
    "model",
    [
        DawidSkene(),
        OneCoinDawidSkene(tol=1e-4),
        BayesianDawidSkene(tol=1e-4),
        DawidSkene(alpha=0.5, tie_break="prior", tol=1e-3),
        DawidSkene(accelerate=True),
        OneCoinDawidSkene(accelerate=True, tol=1e-4),
        BayesianDawidSkene(accelerate=True, tol=1e-4),
    ],
    ids=["ds", "onecoin", "ibcc", "ds-prior-ties", "ds-squarem", "onecoin-squarem", "ibcc-squarem"],
)
def test_em_models_equal_the_in_memory_fit(client: Client, model: Any) -> None:
    frame = synthetic()
    gold = with_gold(frame)
    result = engine.fit(model, frame, client=client, shuffle_method="tasks", npartitions=3, gold=gold)
    reference = type(model)(**model.get_params()).fit(frame)
    assert posterior_gap(result, reference) <= 1e-9
    annotator_gap(result, reference)  # the per-annotator table
    check_gold_accuracy(result, reference, gold)
    assert result.n_iter == reference.n_iter_ and result.converged
    assert result.objective == pytest.approx(reference.objective_, rel=1e-10)
    assert list(result.history.columns) == list(reference.history_.columns)
    np.testing.assert_allclose(
        result.history["objective"].to_numpy(), reference.history_["objective"].to_numpy(), rtol=1e-10
    )
    confusions = reference.confusions_.values[reference.confusions_.annotators.get_indexer(result.annotators)]
    assert result.confusions is not None
    np.testing.assert_allclose(result.confusions.values, confusions, atol=1e-9)
    assert result.n_annotations == len(frame) and result.n_partitions == 3


@pytest.mark.parametrize(
    "model",
    [
        DawidSkene(),
        DawidSkene(accelerate=True),
        OneCoinDawidSkene(tol=1e-4),
        BayesianDawidSkene(tol=1e-4),
        MajorityVote(),
    ],
    ids=["ds", "ds-squarem", "onecoin", "ibcc", "mv"],
)
def test_known_labels_are_clamped_as_in_memory(client: Client, model: Any) -> None:
    frame = synthetic(n_items=400, seed=4)
    first = frame.drop_duplicates("item").set_index("item")["label"]
    known = first.iloc[::4]  # the first annotator's label: not always the vote's, so the clamp shows
    result = engine.fit(model, frame, client=client, shuffle_method="tasks", npartitions=3, known=known)
    reference = type(model)(**model.get_params()).fit(frame, gold=known)
    assert posterior_gap(result, reference) <= 1e-9
    annotator_gap(result, reference)
    assert result.items is not None
    got = result.items.set_index("item")["label"]
    assert (got.loc[known.index].astype(int).to_numpy() == known.to_numpy()).all()
    assert (got.loc[reference.labels_.index].to_numpy() == reference.labels_.to_numpy()).all()
    if not isinstance(model, MajorityVote):
        assert result.n_iter == reference.n_iter_
        # the objective counts the known items' log joint at their class, as in memory
        np.testing.assert_allclose(
            result.history["objective"].to_numpy(), reference.history_["objective"].to_numpy(), rtol=1e-10
        )
    with pytest.raises(InvalidAnnotationsError, match="known labels"):
        engine.fit(model, frame, client=client, shuffle_method="tasks", known=pd.Series({"nobody": 1}))


@pytest.mark.parametrize("rule", ["lowest", "prior"])
def test_majority_vote_equals_the_in_memory_vote_with_its_tie_rule(client: Client, rule: Any) -> None:
    frame = synthetic(n_items=300, k=4, seed=1)
    frame = frame[frame.groupby("item").cumcount() < 2]  # two labels per item: many ties
    result = engine.fit(
        MajorityVote(tie_break=rule), frame, client=client, shuffle_method="tasks", npartitions=2
    )
    reference = MajorityVote(tie_break=rule).fit(frame)
    annotator_gap(result, reference)
    np.testing.assert_allclose(result.priors.to_numpy(), reference.consensus_.priors.to_numpy(), atol=1e-12)
    assert result.items is not None
    got = result.items.set_index("item")["label"].loc[reference.labels_.index]
    assert (got.to_numpy() == reference.labels_.to_numpy()).all()
    assert posterior_gap(result, reference) == 0.0


def test_parquet_directory_in_parquet_per_partition_out(client: Client, tmp_path: Path) -> None:
    frame = synthetic(n_items=400, seed=2)
    source = tmp_path / "annotations"
    source.mkdir()
    for i in range(4):
        frame.iloc[i * 500 : (i + 1) * 500].to_parquet(source / f"part-{i}.parquet", index=False)
    out = tmp_path / "out"
    result = engine.fit(
        OneCoinDawidSkene(), str(source), client=client, shuffle_method="tasks", npartitions=2, output=out
    )
    assert result.items is None and len(result.paths) == 2
    written = pd.concat([pd.read_parquet(p) for p in sorted(out.glob("part-*.parquet"))])
    reference = OneCoinDawidSkene().fit(frame.astype(str))  # files are read as text, as the CLI reads them
    assert sorted(written["item"]) == sorted(reference.labels_.index)
    labels = written.set_index("item")["label"].loc[reference.labels_.index]
    assert (labels.to_numpy() == reference.labels_.to_numpy()).all()
    assert set(written["label"]) == {"0", "1", "2"}
    with pytest.raises(InvalidParameterError, match="already holds 2 part"):
        engine.fit(OneCoinDawidSkene(), str(source), client=client, output=out)


def test_renaming_items_and_shuffling_rows_changes_nothing(client: Client) -> None:
    frame = synthetic(n_items=300, seed=3)
    first = engine.fit(OneCoinDawidSkene(), frame, client=client, shuffle_method="tasks", npartitions=2)
    renamed = frame.assign(item="x" + frame["item"]).sample(frac=1.0, random_state=9)
    second = engine.fit(OneCoinDawidSkene(), renamed, client=client, shuffle_method="tasks", npartitions=2)
    assert first.items is not None and second.items is not None
    a = first.items.set_index("item").sort_index()
    b = second.items.assign(item=second.items["item"].str[1:]).set_index("item").sort_index()
    assert first.n_iter == second.n_iter
    np.testing.assert_allclose(
        a.filter(like="proba_").to_numpy(), b.filter(like="proba_").to_numpy(), atol=1e-9
    )


def test_bad_input_and_models_are_refused_with_a_reason(client: Client) -> None:
    frame = synthetic(n_items=50, seed=4)
    with pytest.raises(InvalidParameterError, match="tie_break='random'"):
        engine.fit(DawidSkene(tie_break="random"), frame, client=client)
    with pytest.raises(InvalidParameterError, match="Dask engine fits"):
        engine.fit(object(), frame, client=client)
    doubled = pd.concat([frame, frame.iloc[:3]], ignore_index=True)
    with pytest.raises(InvalidAnnotationsError, match="occur more than once"):
        engine.fit(DawidSkene(), doubled, client=client, shuffle_method="tasks", npartitions=2)
    with pytest.raises(InvalidAnnotationsError, match="no item column"):
        engine.fit(DawidSkene(), frame.rename(columns={"item": "thing"}), client=client)
    with pytest.raises(InvalidAnnotationsError, match="no Parquet dataset"):
        engine.fit(DawidSkene(), "/nonexistent/annotations", client=client)


def test_gold_that_matches_nothing_or_names_an_unknown_class_is_refused(client: Client) -> None:
    frame = synthetic(n_items=60, seed=7)
    with pytest.raises(InvalidAnnotationsError, match="no gold item has an annotation"):
        engine.fit(MajorityVote(), frame, client=client, gold=pd.Series({"nope": 1}), shuffle_method="tasks")
    with pytest.raises(InvalidAnnotationsError, match="'7' are not among the classes"):
        engine.fit(MajorityVote(), frame, client=client, gold=pd.Series({"i1": 7}), shuffle_method="tasks")


def write_parts(frame: pd.DataFrame, folder: Path, n: int) -> list[Path]:
    folder.mkdir()
    size = -(-len(frame) // n)
    paths = [folder / f"part-{i}.parquet" for i in range(n)]
    for i, path in enumerate(paths):
        frame.iloc[i * size : (i + 1) * size].to_parquet(path, index=False)
    return paths


def test_errors_and_notes_name_the_file_and_the_row_in_it(client: Client, tmp_path: Path) -> None:
    frame = synthetic(n_items=100, seed=8).astype({"label": "Int64"})
    broken = frame.copy()
    broken.loc[250 + 6, "label"] = pd.NA  # row 7 of the second file (250 rows each, numbered from 1)
    paths = write_parts(broken, tmp_path / "missing", 2)
    with pytest.raises(InvalidAnnotationsError, match=rf"missing .* on row 7 of {paths[1]}"):
        engine.fit(MajorityVote(), str(tmp_path / "missing"), client=client, shuffle_method="tasks")
    result = engine.fit(
        MajorityVote(), str(tmp_path / "missing"), client=client, shuffle_method="tasks", missing="drop"
    )
    assert any(f"row 7 of {paths[1]}" in line for line in result.report)
    doubled = pd.concat([frame, frame.iloc[[4]]], ignore_index=True)  # 501 rows: 167 per file
    paths = write_parts(doubled, tmp_path / "twice", 3)  # row 5 of the first file again as the last row
    message = rf"occur more than once.*\(the first on rows 5 of {paths[0]}, 167 of {paths[2]}\)"
    with pytest.raises(InvalidAnnotationsError, match=message):
        engine.fit(MajorityVote(), str(tmp_path / "twice"), client=client, shuffle_method="tasks")


def test_integer_and_text_columns_give_the_same_fit(client: Client, tmp_path: Path) -> None:
    frame = synthetic(n_items=300, seed=9)
    frame["item"] = frame["item"].str[1:].astype(np.int64) * 7  # integer ids
    write_parts(frame, tmp_path / "ints", 2)
    write_parts(frame.astype(str), tmp_path / "texts", 3)
    fits = [
        engine.fit(DawidSkene(tol=1e-4), str(tmp_path / name), client=client, shuffle_method="tasks")
        for name in ("ints", "texts")
    ]
    reference = DawidSkene(tol=1e-4).fit(frame.astype(str))
    for result in fits:
        assert result.items is not None and result.items["item"].map(type).eq(str).all()
        assert posterior_gap(result, reference) <= 1e-9
        annotator_gap(result, reference)
        assert list(result.classes) == ["0", "1", "2"]


def test_equal_id_texts_hash_alike_and_origins_count_rows_across_a_files_partitions() -> None:
    import dask.dataframe as dd

    from accord.engines._dask_input import ORIGIN_COLUMN, ROW_BITS, _with_origin, id_hash

    ints = id_hash(pd.Series([5, -3, 0, 12], dtype=np.int64), text=True).to_numpy()
    floats = id_hash(pd.Series([5.0, -3.0, 0.0, 12.0]), text=True).to_numpy()
    texts = id_hash(pd.Series(["5", "-3", "0", "12"], dtype=object), text=True).to_numpy()
    assert (ints == floats).all() and (ints == texts).all()
    words = id_hash(pd.Series(["05", "+3", "a", "12.5"], dtype=object), text=True).to_numpy()
    assert len(set(words) | set(ints)) == 8  # other texts hash as text
    frame = dd.from_pandas(pd.DataFrame({"item": np.arange(10)}), npartitions=3)
    origin = _with_origin(frame, 2).compute()[ORIGIN_COLUMN].to_numpy()
    assert (origin >> ROW_BITS == 2).all() and ((origin & ((1 << ROW_BITS) - 1)) == np.arange(1, 11)).all()


def _compiled_here() -> bool:
    from accord._kernel.compiled import worth_it

    return worth_it(1)


def _set_env(name: str, value: str | None) -> None:
    import os

    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


@pytest.mark.parametrize(
    "model",
    [DawidSkene(), OneCoinDawidSkene(tol=1e-4), BayesianDawidSkene(tol=1e-4)],
    ids=["ds", "onecoin", "ibcc"],
)
def test_the_compiled_fused_pass_on_partitions_equals_the_in_memory_fit(client: Client, model: Any) -> None:
    pytest.importorskip("numba")
    frame = synthetic(n_items=500, seed=11)
    client.run(_set_env, "ACCORD_COMPILE_MIN", "0")  # every fit counts as large: partitions run compiled
    try:
        result = engine.fit(model, frame, client=client, shuffle_method="tasks", npartitions=3)
        compiled = client.run(_compiled_here)
    finally:
        client.run(_set_env, "ACCORD_COMPILE_MIN", None)
    assert all(compiled.values())
    reference = type(model)(**model.get_params()).fit(frame)  # the NumPy path
    assert posterior_gap(result, reference) <= 1e-9
    assert result.n_iter == reference.n_iter_
    assert result.objective == pytest.approx(reference.objective_, rel=1e-10)


def test_a_partition_continues_from_an_earlier_point_with_its_posterior_intact() -> None:
    """After a rejected SQUAREM extrapolation the run continues from the EM step before it, whose posterior
    sits in the buffer the steps write next: it is copied out first (the same E-step from a fresh chain)."""
    from accord.annotations import Annotations
    from accord.engines._dask_input import Local

    ann = Annotations.from_frame(synthetic(n_items=200, seed=12))
    k = ann.n_classes
    prevalence = ann.vote_counts().sum(axis=0)

    def chain() -> tuple[Any, Any, list[Any]]:
        part = engine._globalize(Local(ann, False), ann.annotators, ann.classes)
        plan = engine._DawidSkenePlan(DawidSkene(), k)
        whole = engine._whole_steps(plan, ann.n_items, ann.n_annotators)
        states = [engine._begin(part, plan, prevalence, ann.n_annotations)]
        for _ in range(2):
            params = whole.m_step(states[-1].summary.stats, None)
            states.append(engine._advance(part, states[-1], params))
        return part, whole, states

    part, whole, (_, first, second) = chain()
    jump = whole.m_step(first.summary.stats, None)  # any other parameters: the extrapolation
    engine._advance(part, second, jump)  # writes the buffer that held `first`'s posterior
    params = whole.m_step(second.summary.stats, None)
    again = engine._advance(part, second, params)  # continues from `second`, whose buffer comes next
    fresh_part, _, (_, _, fresh_second) = chain()
    expected = engine._advance(fresh_part, fresh_second, params)
    np.testing.assert_array_equal(again.post, expected.post)
    assert again.summary.delta == expected.summary.delta > 0
    assert again.summary.n_changed == expected.summary.n_changed


def test_the_in_memory_shuffle_is_chosen_when_the_rows_fit(client: Client, tmp_path: Path) -> None:
    from accord.engines._dask_input import dask_source, row_bytes, shuffle_method

    frame = synthetic(n_items=100, seed=13)
    write_parts(frame, tmp_path / "parts", 3)
    source = dask_source(str(tmp_path / "parts"))
    assert source.n_rows == len(frame) and dask_source(frame).n_rows == len(frame)
    limits = engine._memory_limits(client)
    assert len(limits) == 2 and min(limits) > 0
    assert shuffle_method(source.n_rows, row_bytes(source.frame), limits) == "tasks"
    assert shuffle_method(10**12, row_bytes(source.frame), limits) is None  # Dask's choice (p2p)
    assert shuffle_method(None, 32, limits) is None and shuffle_method(10, 32, [0, 0]) is None


def test_the_warning_quotes_the_last_em_step_as_in_memory(client: Client) -> None:
    """With SQUAREM the budget may end on an extrapolation (its row: change 0, 0 labels): both loops
    quote the last EM step's change in the ConvergenceWarning, the same message."""
    frame = synthetic(n_items=300, seed=5)
    model = DawidSkene(accelerate=True, max_iter=7, tol=1e-12)  # ends on a rejected extrapolation
    with pytest.warns(ConvergenceWarning) as far:
        result = engine.fit(model, frame, client=client, shuffle_method="tasks", npartitions=2)
    with pytest.warns(ConvergenceWarning) as near:
        reference = DawidSkene(**model.get_params()).fit(frame)
    history = reference.history_
    assert not history["accepted"].iloc[-1]
    em = history[history["step"] == 1.0].iloc[-1]
    assert f"change was {em['max_delta']:.2g} " in str(near[0].message)
    assert str(far[0].message).split(" stopped at ")[1] == str(near[0].message).split(" stopped at ")[1]
    assert result.history["accepted"].tolist() == history["accepted"].tolist()
