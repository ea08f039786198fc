"""ActiveLab scores and next_batch: cleanlab 2.9's figures at the same temperature, hand-computed model-free
scores, ordering rules, errors and ``accord next``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accord import Annotations, InvalidAnnotationsError, InvalidParameterError
from accord.cli import main
from accord.datasets import load_dataset
from accord.io import read_pred_probs
from accord.planning.active import active_learning_scores, next_batch

POOL = pd.DataFrame(
    [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8], [0.34, 0.33, 0.33]], index=["u0", "u1", "u2"], columns=["0", "1", "2"]
)


@pytest.fixture(scope="module")
def tutorial(data_dir):
    folder = data_dir / "cleanlab_tutorial"
    data = load_dataset(folder)
    return data.annotations, read_pred_probs(folder / "pred_probs.csv", data.annotations), folder


def test_matches_cleanlab_at_its_temperature(tutorial):
    ann, pred_probs, _ = tutorial
    # cleanlab.multiannotator.get_active_learning_scores(labels, pred_probs, POOL) with cleanlab 2.9.0, whose
    # temperature search lands on 7.25 on these data
    scores = active_learning_scores(ann, pred_probs, pred_probs_unlabeled=POOL, calibrate=7.25)
    got = scores.labeled["score"].loc[["0", "1", "2", "3", "184", "34"]].to_numpy()
    assert got == pytest.approx(
        [
            0.4140820029202969,
            0.54687342230863,
            0.49014167422575733,
            0.4639283918340076,
            0.4240484950444783,
            0.41641833161450215,
        ],
        abs=1e-12,
    )
    assert scores.unlabeled["score"].to_numpy() == pytest.approx(
        [0.35220242694681103, 0.39000393382166687, 0.33411412303202015], abs=1e-12
    )


def test_matches_cleanlab_when_every_item_has_one_label(tutorial):
    ann, pred_probs, _ = tutorial
    one = ann.subsample(1, random_state=0)  # no temperature and unit weights in this case
    scores = active_learning_scores(one, pred_probs, pred_probs_unlabeled=POOL)
    assert scores.temperature == 1.0 and scores.model_weight == 1.0 and scores.mean_annotator_weight == 1.0
    got = scores.labeled["score"].loc[["0", "1", "2", "3", "184", "34"]].to_numpy()
    assert got == pytest.approx(
        [
            0.6770406322098368,
            0.6210019899251081,
            0.13682249425266516,
            0.1542931622240622,
            0.2494149704831694,
            0.5983840286181401,
        ],
        abs=1e-12,
    )
    assert scores.unlabeled["score"].to_numpy() == pytest.approx(
        [5 / 12, 0.5666666666666667, 0.3366666666666667]
    )


def test_default_calibration_and_batch(tutorial):
    ann, pred_probs, _ = tutorial
    scores = active_learning_scores(ann, pred_probs)
    assert scores.temperature == pytest.approx(2.0)
    batch = scores.next_batch(5)
    assert batch["item"].tolist() == ["184", "34", "79", "130", "170"]
    assert (batch["status"] == "relabel").all()
    assert batch["score"].is_monotonic_increasing


def small():
    df = pd.DataFrame(
        {"item": [1, 1, 2, 2, 3, 3, 3, 4], "annotator": list("ababbcac"), "label": list("xxxyyyyx")}
    )
    return Annotations.from_frame(df)


def test_model_free_scores_by_hand():
    ann = small()
    scores = active_learning_scores(ann)
    # CROWDLAB without a model: consensus x, (x or y: a full tie), y, x; P = 5/6; w_a = w_b = 1/4, w_c = 1
    p, w_bar = 2.5 / 3, 1.5 / 3
    item4 = (1.0 * p + w_bar / 2) / (1.0 + w_bar)
    post2_y = (0.25 * (1 - p) + 0.25 * p) / 0.5
    item2 = (0.5 * post2_y + w_bar / 2) / (0.5 + w_bar)
    assert scores.model_weight == 0.0
    assert scores.mean_annotator_weight == pytest.approx(w_bar)
    assert scores.labeled["score"].loc[[2, 4]].tolist() == pytest.approx([item2, item4])
    assert scores.labeled["label"].loc[[1, 3, 4]].tolist() == ["x", "y", "x"]


def test_next_batch_order_ties_and_exclusions():
    ann = small()
    batch = next_batch(2, ann, unlabeled_items=["new"])
    assert batch["item"].tolist() == ["new", 2]  # no model: a new item scores 1/K, the lowest possible
    assert batch["status"].tolist() == ["new", "relabel"]
    assert batch["n_annotations"].tolist() == [0, 2]
    assert next_batch(2, ann, exclude=[2])["item"].tolist()[0] != 2
    assert len(next_batch(100, ann)) == 4
    everything_single = Annotations.from_frame(
        pd.DataFrame({"item": [1, 2, 3], "annotator": list("abc"), "label": list("xyx")})
    )
    tied = active_learning_scores(everything_single)
    assert tied.labeled["score"].nunique() == 1  # nothing tells the items apart without a model


def test_only_unlabeled_items():
    scores = active_learning_scores(pred_probs_unlabeled=POOL)
    assert scores.labeled.empty
    assert scores.unlabeled["score"].to_numpy() == pytest.approx(
        [(0.5 + 1 / 3) / 2, (0.8 + 1 / 3) / 2, (0.34 + 1 / 3) / 2]
    )
    assert scores.next_batch(1)["item"].tolist() == ["u2"]


def test_errors():
    ann = small()
    with pytest.raises(InvalidParameterError, match="nothing to score"):
        active_learning_scores()
    with pytest.raises(InvalidParameterError, match="needs pred_probs for the annotated items"):
        active_learning_scores(ann, pred_probs_unlabeled=pd.DataFrame({"x": [0.5], "y": [0.5]}, index=["n"]))
    with pytest.raises(InvalidAnnotationsError, match="already have annotations"):
        active_learning_scores(ann, unlabeled_items=[3])
    with pytest.raises(InvalidAnnotationsError, match="rows must sum to 1"):
        active_learning_scores(ann, np.full((4, 2), 0.4))
    with pytest.raises(InvalidParameterError, match="temperature > 0"):
        active_learning_scores(ann, np.full((4, 2), 0.5), calibrate=-1)


def test_cli_next(tutorial, tmp_path, capsys):
    _, _, folder = tutorial
    pool = tmp_path / "pool.csv"
    POOL.rename_axis("item").reset_index().to_csv(pool, index=False)
    out = tmp_path / "next.csv"
    rc = main(
        [
            "next",
            str(folder / "annotations.csv"),
            "--pred-probs",
            str(folder / "pred_probs.csv"),
            "--unlabeled",
            str(pool),
            "-n",
            "4",
            "--output",
            str(out),
        ]
    )
    assert rc == 0
    assert "2 to re-label, 2 new" in capsys.readouterr().out
    table = pd.read_csv(out, dtype={"item": str})
    assert table["item"].tolist() == ["u2", "184", "u0", "34"]  # new and re-labelled items on one scale
    assert table["status"].tolist() == ["new", "relabel", "new", "relabel"]
    ids = tmp_path / "ids.csv"
    ids.write_text("item\nfresh\n")
    assert (
        main(["next", str(folder / "annotations.csv"), "--unlabeled", str(ids), "-n", "3", "-o", str(out)])
        == 0
    )
    assert pd.read_csv(out)["item"].tolist()[0] == "fresh"
    capsys.readouterr()
    assert (
        main(["next", str(folder / "annotations.csv"), "--unlabeled", str(pool), "-n", "3", "-o", str(out)])
        == 1
    )
    assert "needs pred_probs" in capsys.readouterr().err
