"""Annotator qualification on a gold subset: hand-computed scores, a reference on real data, errors, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accord import Annotations, DataQualityWarning, InvalidAnnotationsError, InvalidParameterError
from accord.cli import main
from accord.datasets import load_dataset
from accord.evaluation import macro_f1
from accord.quality.qualification import keep_annotators, passing_annotators, qualify

GOLD = {"g1": "cat", "g2": "cat", "g3": "dog", "g4": "bird"}


def annotations() -> Annotations:
    rows = [
        # a: perfect
        ("g1", "a", "cat"),
        ("g2", "a", "cat"),
        ("g3", "a", "dog"),
        ("g4", "a", "bird"),
        # b: says cat to everything
        ("g1", "b", "cat"),
        ("g2", "b", "cat"),
        ("g3", "b", "cat"),
        ("g4", "b", "cat"),
        # c: one error (g2 -> dog)
        ("g1", "c", "cat"),
        ("g2", "c", "dog"),
        ("g3", "c", "dog"),
        ("g4", "c", "bird"),
        # d: never saw a gold item
        ("x1", "d", "dog"),
        ("x1", "a", "dog"),
    ]
    return Annotations.from_frame(
        pd.DataFrame(rows, columns=["item", "annotator", "label"]), classes=["bird", "cat", "dog"]
    )


def test_scores_by_hand():
    with pytest.warns(DataQualityWarning, match="1 annotator"):
        table = qualify(annotations(), GOLD)
    b, c = table.loc["b"], table.loc["c"]
    # b: recall cat 1, dog 0, bird 0 -> 1/3; F1 cat = 2*2/(2+4) = 2/3, others 0 -> 2/9
    assert b["accuracy"] == pytest.approx(0.5)
    assert b["macro_accuracy"] == pytest.approx(1 / 3)
    assert b["macro_f1"] == pytest.approx(2 / 9)
    # c: recall cat 1/2, dog 1, bird 1 -> 5/6; F1 cat 2/3, dog 2/3, bird 1 -> 7/9
    assert c["accuracy"] == pytest.approx(0.75)
    assert c["macro_accuracy"] == pytest.approx(5 / 6)
    assert c["macro_f1"] == pytest.approx(7 / 9)
    assert table.loc["a", ["accuracy", "macro_accuracy", "macro_f1"]].tolist() == [1.0, 1.0, 1.0]
    assert table["n_gold"].tolist() == [4, 4, 4, 0]
    assert table["classes_seen"].tolist() == [3, 3, 3, 0]
    assert np.isnan(table.loc["d", "macro_f1"])
    assert table["passes"].tolist() == [True, False, True, False]


@pytest.mark.filterwarnings("ignore::accord.DataQualityWarning")
def test_threshold_metric_and_min_gold():
    ann = annotations()
    assert passing_annotators(ann, GOLD, mu=0.8) == ["a"]  # c: macro F1 7/9 < 0.8 <= macro accuracy 5/6
    assert passing_annotators(ann, GOLD, mu=0.8, metric="macro_accuracy") == ["a", "c"]
    assert passing_annotators(ann, GOLD, mu=0.5, metric="accuracy") == ["a", "b", "c"]
    assert passing_annotators(ann, GOLD, mu=0.0, min_gold=5) == []
    assert passing_annotators(ann, GOLD, mu=7 / 9) == ["a", "c"]  # reaching mu exactly passes


@pytest.mark.filterwarnings("ignore::accord.DataQualityWarning")
def test_keep_annotators():
    ann = annotations()
    kept = keep_annotators(ann, passing_annotators(ann, GOLD))
    assert sorted(set(kept.annotators[kept.annotator])) == ["a", "c"]
    assert kept.n_annotations == 9 and kept.n_items == ann.n_items
    with pytest.raises(InvalidAnnotationsError, match="unknown annotator"):
        keep_annotators(ann, ["zz"])


def test_matches_evaluate_macro_f1_on_real_data(data_dir):
    data = load_dataset(data_dir / "dog")
    table = qualify(data.annotations, data.gold, mu=0.6)
    frame = data.annotations.to_frame()
    for who in table.index[:15]:
        mine = frame[frame["annotator"] == who].set_index("item")["label"]
        gold = data.gold[data.gold.index.isin(mine.index)]
        assert table.loc[who, "macro_f1"] == pytest.approx(macro_f1(mine, gold))
        assert table.loc[who, "accuracy"] == pytest.approx(np.mean(mine.loc[gold.index] == gold))
    assert 0 < table["passes"].mean() < 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mu": 1.2}, "mu must be in"),
        ({"mu": "high"}, "mu must be a number"),
        ({"metric": "kappa"}, "metric must be"),
        ({"min_gold": 0}, "min_gold"),
    ],
)
def test_parameter_errors(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        qualify(annotations(), GOLD, **kwargs)


def test_no_gold_overlap_is_an_error():
    with pytest.raises(InvalidAnnotationsError, match="no gold item"), pytest.warns(DataQualityWarning):
        qualify(annotations(), {"zz": "cat"})


def test_cli_qualify(tmp_path, capsys):
    src, gold = tmp_path / "ann.csv", tmp_path / "gold.csv"
    annotations().to_frame().to_csv(src, index=False)
    pd.DataFrame({"item": list(GOLD), "label": list(GOLD.values())}).to_csv(gold, index=False)
    out, keep = tmp_path / "scores.csv", tmp_path / "kept.csv"
    code = main(
        ["qualify", str(src), "--gold", str(gold), "--mu", "0.6", "-o", str(out), "--keep", str(keep)]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "2 of 4 annotators pass" in captured.out
    assert "labelled no gold item" in captured.err
    scores = pd.read_csv(out).set_index("annotator")
    assert scores.loc["c", "macro_f1"] == pytest.approx(7 / 9)
    assert sorted(pd.read_csv(keep)["annotator"].unique()) == ["a", "c"]
    assert main(["qualify", str(src), "--gold", str(gold), "--mu", "2"]) == 1
    assert "mu must be in" in capsys.readouterr().err
