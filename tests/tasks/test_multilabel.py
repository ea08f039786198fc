"""Multi-label task: reading sets (rows or lists), per-class majority, Dawid-Skene with shared quality."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accord.errors import ConvergenceWarning, InvalidAnnotationsError, InvalidParameterError, NotFittedError
from accord.tasks.multilabel import (
    MultiLabelAnnotations,
    MultiLabelConsensus,
    MultiLabelDawidSkene,
    MultiLabelMajority,
    aggregate_multilabel_frame,
)

CLASSES = [f"c{k}" for k in range(6)]


def synthetic(seed: int = 0, n_items: int = 300) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Five careful annotators (sensitivity 0.85, specificity 0.95) and three careless ones who pick each
    class with probability 0.3 whatever the item shows; four annotators per item."""
    rng = np.random.default_rng(seed)
    truth = rng.random((n_items, len(CLASSES))) < np.array([0.5, 0.3, 0.2, 0.1, 0.1, 0.05])
    careless = ["w5", "w6", "w7"]
    rows = []
    for i in range(n_items):
        for a in rng.choice(8, 4, replace=False):
            if f"w{a}" in careless:
                chosen = rng.random(len(CLASSES)) < 0.3
            else:
                chosen = np.where(truth[i], rng.random(len(CLASSES)) < 0.85, rng.random(len(CLASSES)) < 0.05)
            rows.append((f"i{i}", f"w{a}", [CLASSES[k] for k in np.flatnonzero(chosen)]))
    return pd.DataFrame(rows, columns=["item", "annotator", "label"]), truth, careless


# ------------------------------------------------------------------ reading
def test_long_layout_with_an_empty_set() -> None:
    df = pd.DataFrame(
        {"item": [1, 1, 1, 2, 2], "annotator": ["a", "a", "b", "a", "a"], "label": ["x", "y", "x", "", "x"]}
    )
    ann = MultiLabelAnnotations.from_frame(df)
    assert list(ann.classes) == ["x", "y"] and ann.n_pairs == 3
    back = ann.to_frame()
    assert back["labels"].tolist() == [("x", "y"), ("x",), ("x",)]
    empty = MultiLabelAnnotations.from_frame(df.iloc[[0, 3]])
    assert empty.to_frame()["labels"].tolist() == [("x",), ()]


def test_lists_layout_python_and_json() -> None:
    df = pd.DataFrame({"item": [1, 1, 2], "annotator": ["a", "b", "a"], "label": [["x", "y"], '["y"]', "[]"]})
    ann = MultiLabelAnnotations.from_frame(df, classes=["y", "x", "z"])
    assert list(ann.classes) == ["y", "x", "z"]
    assert ann.to_frame()["labels"].tolist() == [("y", "x"), ("y",), ()]
    assert ann.selection_counts().tolist() == [[2, 1, 0], [0, 0, 0]]


def test_reading_errors_name_rows() -> None:
    bad_list = pd.DataFrame({"item": [1, 2], "annotator": ["a", "a"], "label": ['["x"]', "[x"]}, index=[5, 6])
    with pytest.raises(InvalidAnnotationsError, match=r"lists of classes.*row 6 hold '\[x'"):
        MultiLabelAnnotations.from_frame(bad_list)
    dup = pd.DataFrame({"item": [1, 1], "annotator": ["a", "a"], "label": [["x"], ["y"]]})
    with pytest.raises(InvalidAnnotationsError, match="more than once on rows 0, 1.*Merge"):
        MultiLabelAnnotations.from_frame(dup)
    unknown = pd.DataFrame({"item": [1, 1], "annotator": ["a", "b"], "label": ["x", "q"]})
    with pytest.raises(InvalidAnnotationsError, match=r"'q' are not among the declared classes 'x'.*row 1"):
        MultiLabelAnnotations.from_frame(unknown, classes=["x"])
    with pytest.raises(InvalidAnnotationsError, match="no annotator chose any class"):
        MultiLabelAnnotations.from_frame(pd.DataFrame({"item": [1], "annotator": ["a"], "label": [[]]}))
    with pytest.raises(InvalidAnnotationsError, match="empty"):
        MultiLabelAnnotations.from_frame(pd.DataFrame({"item": [], "annotator": [], "label": []}))
    with pytest.raises(InvalidAnnotationsError, match="annotator column 'annotator' is missing on row 0"):
        MultiLabelAnnotations.from_frame(pd.DataFrame({"item": [1], "annotator": [None], "label": ["x"]}))
    with pytest.raises(InvalidParameterError, match="layout"):
        MultiLabelAnnotations.from_frame(unknown, layout="wide")  # type: ignore[arg-type]


# ------------------------------------------------------------------ majority, by hand
def test_majority_by_hand_and_the_tie_rule() -> None:
    df = pd.DataFrame(
        {
            "item": [1, 1, 1, 1, 2, 2],
            "annotator": ["a", "b", "c", "d", "a", "b"],
            "label": [["x"], ["x", "y"], ["x", "y"], ["z"], ["z"], ["y"]],
        }
    )
    c = MultiLabelMajority().fit(df).consensus_
    assert c.proba.loc[1].tolist() == [0.75, 0.5, 0.25] and c.proba.loc[2].tolist() == [0.0, 0.5, 0.5]
    assert c.labels.tolist() == [("x",), ()]  # exactly half is not a majority
    q = c.item_quality
    assert q.loc[1, "confidence"] == pytest.approx(0.75 * 0.5 * 0.75)
    assert q.loc[1, "agreement"] == pytest.approx((3 + 2 + 3) / 12)
    assert MultiLabelMajority(threshold=0.4).fit(df).labels_.tolist() == [("x", "y"), ("y", "z")]


def test_annotator_table_against_the_majority_by_hand() -> None:
    df = pd.DataFrame(
        {
            "item": [1, 1, 1, 2, 2, 2],
            "annotator": ["a", "b", "c"] * 2,
            "label": [["x"], ["x"], ["y"], ["y"], ["y"], []],
        }
    )
    table = MultiLabelMajority().fit(df).consensus_.annotator_quality
    # consensus: item 1 {x}, item 2 {y}. c: item 1 chose y (miss x, false y), item 2 chose nothing (miss y).
    assert table.loc["a", ["sensitivity", "specificity", "accuracy"]].tolist() == [1.0, 1.0, 1.0]
    assert table.loc["c", "sensitivity"] == 0.0 and table.loc["c", "specificity"] == 0.5
    assert table.loc["c", "accuracy"] == pytest.approx(1 / 4) and table.loc["c", "mean_set_size"] == 0.5


# ------------------------------------------------------------------ Dawid-Skene with shared quality
def test_posterior_matches_a_brute_force_reference() -> None:
    df, _, _ = synthetic(n_items=60)
    model = MultiLabelDawidSkene(tol=1e-10, max_iter=1000).fit(df)
    ann = model.annotations_
    se, sp, prev = model.sensitivity_, model.specificity_, model.prevalence_
    sets = ann.to_frame()
    expected = {}
    for item, group in sets.groupby("item"):
        for k in ann.classes:
            l1, l0 = np.log(prev[k]), np.log(1 - prev[k])
            for a, chosen in zip(group["annotator"], group["labels"], strict=True):
                x = k in chosen
                l1 += np.log(se[a] if x else 1 - se[a])
                l0 += np.log(1 - sp[a] if x else sp[a])
            expected[(item, k)] = 1 / (1 + np.exp(l0 - l1))
    got = model.proba_.stack()
    assert np.array([got[key] for key in expected]) == pytest.approx(
        np.array(list(expected.values())), abs=1e-6
    )


def test_careless_annotators_are_down_weighted() -> None:
    df, truth, careless = synthetic()
    model = MultiLabelDawidSkene().fit(df)
    table = model.consensus_.annotator_quality
    careful = table.drop(index=careless)
    assert table.loc[careless, "quality"].abs().max() < 0.15
    assert careful["quality"].min() > 0.65
    assert table.loc[careless, "weight"].max() < 0.2 * careful["weight"].min()
    order = [f"i{i}" for i in range(len(truth))]
    ds_acc = (model.proba_.loc[order].to_numpy() > 0.5) == truth
    mv_acc = (MultiLabelMajority().fit(df).proba_.loc[order].to_numpy() > 0.5) == truth
    assert ds_acc.mean() > mv_acc.mean() + 0.02
    assert model.prevalence_.to_numpy() == pytest.approx(truth.mean(axis=0), abs=0.06)


def test_per_class_parameters() -> None:
    df, truth, careless = synthetic()
    model = MultiLabelDawidSkene(shared=False).fit(df)
    assert model.sensitivity_.shape == (8, 6)
    assert model.consensus_.annotator_quality.shape[0] == 8
    order = [f"i{i}" for i in range(len(truth))]
    assert ((model.proba_.loc[order].to_numpy() > 0.5) == truth).mean() > 0.9


def test_history_convergence_and_warning() -> None:
    df, _, _ = synthetic(n_items=80)
    model = MultiLabelDawidSkene().fit(df)
    h = model.history_
    assert list(h.columns) == ["iteration", "objective", "max_change"] and model.converged_
    assert np.all(np.diff(h["objective"].to_numpy()) >= -1e-9)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        short = MultiLabelDawidSkene(max_iter=1).fit(df)
    assert short.n_iter_ == 1 and not short.converged_


def test_invariant_to_renaming_and_row_order() -> None:
    df, _, _ = synthetic(n_items=80)
    base = MultiLabelDawidSkene().fit(df).proba_
    other = df.sample(frac=1.0, random_state=2).reset_index(drop=True)
    other["annotator"] = "z" + other["annotator"]
    again = MultiLabelDawidSkene().fit(other).proba_
    assert again.loc[base.index, base.columns].to_numpy() == pytest.approx(base.to_numpy(), abs=1e-9)


def test_parameters_and_not_fitted() -> None:
    df, _, _ = synthetic(n_items=10)
    with pytest.raises(InvalidParameterError, match="alpha"):
        MultiLabelDawidSkene(alpha=0.5).fit(df)
    with pytest.raises(InvalidParameterError, match="shared must be True or False"):
        MultiLabelDawidSkene(shared="no").fit(df)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="threshold"):
        MultiLabelMajority(threshold=1.0).fit(df)
    with pytest.raises(NotFittedError):
        _ = MultiLabelDawidSkene().prevalence_


# ------------------------------------------------------------------ outputs and CLI glue
def test_json_lists_as_read_from_csv(tmp_path: Path) -> None:
    df, _, _ = synthetic(n_items=40)
    df.assign(label=df["label"].map(json.dumps)).to_csv(tmp_path / "sets.csv", index=False)
    text = pd.read_csv(tmp_path / "sets.csv", dtype=str)
    got = aggregate_multilabel_frame(text, "ds", classes=CLASSES).proba
    expected = MultiLabelDawidSkene().fit(MultiLabelAnnotations.from_frame(df, classes=CLASSES)).proba_
    assert got.to_numpy() == pytest.approx(expected.loc[got.index].to_numpy())


def test_to_csv_and_cli_glue(tmp_path: Path) -> None:
    df = pd.DataFrame({"item": [1, 1, 2], "annotator": ["a", "b", "a"], "class": ["x", "x", None]})
    c = aggregate_multilabel_frame(df, "mv", label="class", classes=["x", "y"])
    assert isinstance(c, MultiLabelConsensus)
    c.to_csv(tmp_path / "items.csv", annotators_path=tmp_path / "annotators.csv")
    items = pd.read_csv(tmp_path / "items.csv")
    assert list(items.columns) == [
        "item",
        "labels",
        "n_labels",
        "confidence",
        "min_confidence",
        "agreement",
        "n_annotations",
        "proba_x",
        "proba_y",
    ]
    assert [json.loads(v) for v in items["labels"]] == [["x"], []]
    annotators = pd.read_csv(tmp_path / "annotators.csv")
    assert list(annotators.columns[:3]) == ["annotator", "n_labels", "sensitivity"]
    with pytest.raises(InvalidParameterError, match="unknown multi-label method 'em'"):
        aggregate_multilabel_frame(df, "em", label="class")
    big = synthetic(n_items=50)[0].rename(columns={"label": "class"})
    assert aggregate_multilabel_frame(big, "ds", label="class", shared=False).method == "ds"
