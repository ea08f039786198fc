"""``accord aggregate FILE --task TYPE``: every task type through ``accord.cli.main`` on small files.

Each task: exit code 0, the documented output columns, values checked by hand where they are easy (the mean
of two ratings, a unanimous label set, the item that wins every comparison, a box drawn three times, a mask
drawn by everyone), and one bad input that ends as one line on stderr with exit code 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accord.cli import main


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("accord: error:")]
    assert len(errors) == 1, err
    return errors[0]


# ---------------------------------------------------------------------------------------------- files
def ratings_file(tmp_path: Path, bad: bool = False) -> Path:
    rows = [
        ("x", "a", "1"),
        ("x", "b", "3"),
        ("x", "c", "2"),
        ("y", "a", "5"),
        ("y", "b", "7"),
        ("y", "c", "6"),
        ("z", "a", "8"),
        ("z", "b", "9" if not bad else "nine"),
        ("z", "c", "10"),
    ]
    path = tmp_path / "ratings.csv"
    pd.DataFrame(rows, columns=["item", "annotator", "score"]).to_csv(path, index=False)
    return path


def multilabel_file(tmp_path: Path, lists: bool = False) -> Path:
    sets = {
        ("i1", "a"): ["cat", "dog"],
        ("i1", "b"): ["cat", "dog"],
        ("i1", "c"): ["cat"],
        ("i2", "a"): [],
        ("i2", "b"): ["bird"],
        ("i2", "c"): [],
        ("i3", "a"): ["bird"],
        ("i3", "b"): ["bird"],
        ("i3", "c"): ["bird", "cat"],
    }
    if lists:
        frame = pd.DataFrame(
            [(i, a, json.dumps(s)) for (i, a), s in sets.items()], columns=["item", "annotator", "label"]
        )
    else:
        rows = [(i, a, c) for (i, a), s in sets.items() for c in (s or [""])]
        frame = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    path = tmp_path / ("lists.csv" if lists else "multilabel.csv")
    frame.to_csv(path, index=False)
    return path


def pairwise_file(tmp_path: Path, bad: bool = False) -> Path:
    rows = [
        ("a", "x", "y", "x"),
        ("b", "y", "x", "x"),
        ("a", "x", "z", "x"),
        ("b", "z", "x", "x"),
        ("a", "y", "z", "y"),
        ("b", "z", "y", "y"),
        ("c", "y", "z", "z" if not bad else "w"),
    ]
    path = tmp_path / "pairs.csv"
    pd.DataFrame(rows, columns=["annotator", "left", "right", "winner"]).to_csv(path, index=False)
    return path


def boxes_file(tmp_path: Path, bad: bool = False) -> Path:
    rows = [
        ("img1", "a", "car", 10, 10, 100, 50),
        ("img1", "b", "car", 12, 11, 98, 52),
        ("img1", "c", "car", 11, 9, 101, 50),
        ("img1", "c", "car", 300, 300, 20, 20),
        ("img2", "a", "person", 50, 60, 30, 80),
        ("img2", "b", "person", 52, 61, 29, 78),
        ("img2", "c", "person", 49, 59, 31, -5 if bad else 81),
    ]
    path = tmp_path / "boxes.csv"
    pd.DataFrame(rows, columns=["item", "annotator", "label", "x", "y", "width", "height"]).to_csv(
        path, index=False
    )
    return path


def masks_folder(tmp_path: Path, bad: bool = False) -> Path:
    root = tmp_path / "masks"
    rng = np.random.default_rng(0)
    for item in ("m1", "m2"):
        truth = np.zeros((12, 12), dtype=np.uint8)
        truth[3:9, 2:10] = 1
        (root / item).mkdir(parents=True)
        for k, name in enumerate(("a", "b", "c")):
            mask = truth.copy()
            flip = rng.random(mask.shape) < 0.05 * k
            mask[flip] = 1 - mask[flip]
            if bad and item == "m2" and name == "c":
                mask = mask[:10]
            np.save(root / item / f"{name}.npy", mask)
    return root


# ---------------------------------------------------------------------------------------------- rating
def test_rating_mean_and_annotators(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, ann = tmp_path / "out.csv", tmp_path / "ann.csv"
    code = main(
        ["aggregate", str(ratings_file(tmp_path)), "--task", "rating", "-m", "mean", "--label-col", "score",
         "-o", str(out), "--annotators", str(ann)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    frame = pd.read_csv(out)
    assert list(frame.columns[:7]) == ["item", "value", "sd", "lower", "upper", "n_annotations", "spread"]
    assert frame.set_index("item")["value"].to_dict() == {"x": 2.0, "y": 6.0, "z": 9.0}
    annotators = pd.read_csv(ann).set_index("annotator")
    assert {"bias", "noise_sd", "mae", "correlation"} <= set(annotators.columns)
    assert annotators.loc["a", "bias"] == pytest.approx(-1.0)  # a rates one below the mean on every item
    assert "mean: 3 items, 3 annotators, 9 ratings" in capsys.readouterr().out


def test_rating_default_is_bias_noise_with_gold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = tmp_path / "gold.csv"
    pd.DataFrame({"item": ["x", "y", "z"], "value": [2, 6, 9]}).to_csv(gold, index=False)
    out = tmp_path / "out.csv"
    code = main(
        ["aggregate", str(ratings_file(tmp_path)), "--task", "rating", "-o", str(out), "--gold", str(gold)]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert text.startswith("bias_noise:")
    assert "correlation with gold on 3 items: Pearson" in text
    assert pd.read_csv(out)["value"].is_monotonic_increasing


def test_rating_bad_value_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = ratings_file(tmp_path, bad=True)
    code = main(["aggregate", str(path), "--task", "rating", "-o", str(tmp_path / "o.csv")])
    assert code == 1
    assert "nine" in _error_line(capsys)


def test_rating_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(ratings_file(tmp_path))
    out = str(tmp_path / "o.csv")
    assert main(["aggregate", path, "--task", "rating", "-m", "bt", "-o", out]) == 2
    assert "bias_noise, mean, median" in _error_line(capsys)
    assert main(["aggregate", path, "--task", "rating", "-p", "nonsense=1", "-o", out]) == 2
    assert "nonsense" in _error_line(capsys)
    assert main(["aggregate", path, "--task", "rating", "-o", str(tmp_path / "o.xlsx")]) == 2
    _error_line(capsys)


# ---------------------------------------------------------------------------------------------- multilabel
@pytest.mark.parametrize("lists", [False, True])
def test_multilabel_long_and_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str], lists: bool) -> None:
    out, ann = tmp_path / "out.csv", tmp_path / "ann.csv"
    path = multilabel_file(tmp_path, lists=lists)
    code = main(
        ["aggregate", str(path), "--task", "multilabel", "-m", "mv", "-o", str(out), "--annotators", str(ann)]
    )
    assert code == 0, capsys.readouterr().err
    frame = pd.read_csv(out).set_index("item")
    assert {"labels", "n_labels", "confidence", "proba_bird", "proba_cat", "proba_dog"} <= set(frame.columns)
    assert json.loads(frame.loc["i1", "labels"]) == ["cat", "dog"]
    assert json.loads(frame.loc["i2", "labels"]) == []
    assert json.loads(frame.loc["i3", "labels"]) == ["bird"]
    assert {"sensitivity", "specificity", "quality"} <= set(pd.read_csv(ann).columns)


def test_multilabel_default_model_and_gold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = tmp_path / "gold.csv"
    pd.DataFrame({"item": ["i1", "i2", "i3"], "label": ['["cat", "dog"]', "[]", '["bird"]']}).to_csv(
        gold, index=False
    )
    path = multilabel_file(tmp_path)
    code = main(
        ["aggregate", str(path), "--task", "multilabel", "-o", str(tmp_path / "o.csv"), "--gold", str(gold)]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert text.startswith("ds:")
    assert "on 3 gold items: exact-set accuracy" in text


def test_multilabel_missing_annotator_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("item,annotator,label\ni1,a,cat\ni1,,dog\n", encoding="utf-8")
    assert main(["aggregate", str(path), "--task", "multilabel", "-o", str(tmp_path / "o.csv")]) == 1
    assert "annotator" in _error_line(capsys)


# ---------------------------------------------------------------------------------------------- pairwise
@pytest.mark.parametrize("method", ["bt", "noisy_bt"])
def test_pairwise_ranking(tmp_path: Path, capsys: pytest.CaptureFixture[str], method: str) -> None:
    out, ann = tmp_path / "out.csv", tmp_path / "ann.csv"
    path = pairwise_file(tmp_path)
    code = main(
        ["aggregate", str(path), "--task", "pairwise", "-m", method, "-o", str(out), "--annotators", str(ann)]
    )
    assert code == 0, capsys.readouterr().err
    frame = pd.read_csv(out)
    assert list(frame.columns) == [
        "item", "score", "se", "lower", "upper", "rank", "n_comparisons", "wins", "losses", "win_rate"
    ]  # fmt: skip
    assert frame["item"].tolist() == ["x", "y", "z"]  # x wins all four of its comparisons
    assert frame["rank"].tolist() == [1, 2, 3]
    assert {"annotator", "n_comparisons", "agreement"} <= set(pd.read_csv(ann).columns)


def test_pairwise_bad_winner_and_gold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "o.csv")
    assert main(["aggregate", str(pairwise_file(tmp_path, bad=True)), "--task", "pairwise", "-o", out]) == 1
    assert "'w'" in _error_line(capsys)
    gold = tmp_path / "gold.csv"
    gold.write_text("item,label\nx,1\n", encoding="utf-8")
    code = main(
        ["aggregate", str(pairwise_file(tmp_path)), "--task", "pairwise", "-o", out, "--gold", str(gold)]
    )
    assert code == 2
    assert "--gold does not apply to --task pairwise" in _error_line(capsys)


def test_pairwise_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["aggregate", str(pairwise_file(tmp_path)), "--task", "pairwise", "-o", "-"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].startswith("item,score,se")
    assert "bt: 3 items" in captured.err


# ---------------------------------------------------------------------------------------------- boxes
def test_boxes_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, ann = tmp_path / "out.csv", tmp_path / "ann.csv"
    code = main(
        ["aggregate", str(boxes_file(tmp_path)), "--task", "boxes", "-o", str(out), "--annotators", str(ann)]
    )
    assert code == 0, capsys.readouterr().err
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["item", "label", "x", "y", "width", "height", "confidence", "n_annotators"]
    assert frame[["item", "label", "n_annotators"]].values.tolist() == [
        ["img1", "car", 3],
        ["img2", "person", 3],
    ]
    assert frame.loc[0, "x"] == pytest.approx(11, abs=1.5)
    quality = pd.read_csv(ann)
    assert {"annotator", "recall", "precision", "mean_iou", "label_accuracy"} <= set(quality.columns)
    assert "2 consensus boxes from 7 boxes" in capsys.readouterr().out


def test_boxes_bad_height_and_unknown_param(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "o.csv")
    assert main(["aggregate", str(boxes_file(tmp_path, bad=True)), "--task", "boxes", "-o", out]) == 1
    assert "height" in _error_line(capsys)
    path = str(boxes_file(tmp_path))
    assert main(["aggregate", path, "--task", "boxes", "-p", "iou=0.3", "-o", out]) == 2
    assert "iou_threshold" in _error_line(capsys)
    assert main(["aggregate", path, "--task", "boxes", "-p", "iou_threshold=2", "-o", out]) == 2
    assert "iou_threshold" in _error_line(capsys)


# ---------------------------------------------------------------------------------------------- segmentation
@pytest.mark.parametrize("method", ["staple", "mv"])
def test_segmentation_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str], method: str) -> None:
    outdir, ann = tmp_path / "consensus", tmp_path / "ann.csv"
    code = main(
        ["aggregate", str(masks_folder(tmp_path)), "--task", "segmentation", "-m", method, "-o", str(outdir),
         "--annotators", str(ann)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    names = {p.name for p in outdir.iterdir()}
    assert {"items.csv", "annotators.csv", "item_annotators.csv"} <= names
    assert {"m1.png", "m2.png"} <= names or {"m1.npy", "m2.npy"} <= names
    items = pd.read_csv(outdir / "items.csv")
    assert items["item"].tolist() == ["m1", "m2"]
    assert items["foreground_fraction"].to_numpy() == pytest.approx(48 / 144, abs=0.05)
    assert {"annotator", "sensitivity", "specificity"} <= set(pd.read_csv(ann).columns)
    assert capsys.readouterr().out.startswith(f"{method}: 2 items, 3 annotators, 2 classes")


def test_segmentation_gold_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    masks = masks_folder(tmp_path)
    gold = tmp_path / "gold"
    gold.mkdir()
    truth = np.zeros((12, 12), dtype=np.uint8)
    truth[3:9, 2:10] = 1
    np.save(gold / "m1.npy", truth)
    code = main(
        ["aggregate", str(masks), "--task", "segmentation", "-o", str(tmp_path / "c"), "--gold", str(gold)]
    )
    assert code == 0
    assert "on 1 gold masks: mean Dice" in capsys.readouterr().out
    assert (
        main(["aggregate", str(masks), "--task", "segmentation", "-o", str(tmp_path / "gold" / "m1.npy")])
        == 2
    )
    assert "folder" in _error_line(capsys)
    other = tmp_path / "bad"
    other.mkdir()
    bad = masks_folder(other, bad=True)
    assert main(["aggregate", str(bad), "--task", "segmentation", "-o", str(tmp_path / "c2")]) == 1
    _error_line(capsys)


def test_label_only_flags_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(ratings_file(tmp_path))
    assert main(["aggregate", path, "--task", "rating", "--soft", "-o", str(tmp_path / "o.csv")]) == 2
    assert "--soft does not apply to --task rating" in _error_line(capsys)


def _rect(x: float, y: float, w: float, h: float, label: str = "car") -> dict[str, object]:
    value = {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}
    return {"type": "rectanglelabels", "from_name": "label", "to_name": "image", "original_width": 800,
            "original_height": 600, "value": value}  # fmt: skip


def test_boxes_label_studio_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tasks = [
        {"id": 1, "data": {"image": "/data/a.jpg"}, "annotations": [
            {"id": 11, "completed_by": 7, "result": [_rect(10, 10, 20, 30), _rect(70, 70, 5, 5, "person")]},
            {"id": 12, "completed_by": 8, "result": [_rect(11, 10, 20, 29)]},
            {"id": 13, "completed_by": 9, "result": [_rect(10, 11, 19, 30)]},
        ]},
    ]  # fmt: skip
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    out = tmp_path / "out.csv"
    for source in ([], ["--from", "label_studio"]):
        code = main(
            ["aggregate", str(path), "--task", "boxes", *source, "-o", str(out), "--label-col", "label"]
        )
        assert code == 0, capsys.readouterr().err
        frame = pd.read_csv(out)
        assert frame[["item", "label", "n_annotators"]].values.tolist() == [[1, "car", 3]]
        assert frame.loc[0, "width"] == pytest.approx(20, abs=1)  # percent units, as in the export
    coco = tmp_path / "result.json"
    coco.write_text(json.dumps({"images": [], "categories": [], "annotations": []}), encoding="utf-8")
    assert main(["aggregate", str(coco), "--task", "boxes", "--from", "label_studio", "-o", str(out)]) == 1
    assert "drops the annotator" in _error_line(capsys)
    assert main(["aggregate", str(path), "--task", "boxes", "--item-col", "id", "-o", str(out)]) == 2
    assert "--item-col does not apply to a label_studio export" in _error_line(capsys)


def test_rating_repeats_averaged_with_p_duplicates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "repeats.csv"
    path.write_text("item,annotator,value\nx,a,1\nx,a,3\nx,b,2\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    assert main(["aggregate", str(path), "--task", "rating", "-m", "mean", "-o", str(out)]) == 1
    assert "duplicates" in _error_line(capsys)
    code = main(
        ["aggregate", str(path), "--task", "rating", "-m", "mean", "-p", "duplicates=mean", "-o", str(out)]
    )
    assert code == 0
    assert pd.read_csv(out)["value"].tolist() == [2.0]


def test_rating_wide_matrix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("item,a,b,c\nx,1,3,\ny,5,,7\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    assert main(["aggregate", str(path), "--task", "rating", "--wide", "-m", "mean", "-o", str(out)]) == 0
    frame = pd.read_csv(out)
    assert frame[["item", "value", "n_annotations"]].values.tolist() == [["x", 2.0, 2], ["y", 6.0, 2]]
    assert main(["aggregate", str(path), "--task", "pairwise", "--wide", "-o", str(out)]) == 2
    assert "--wide does not apply to --task pairwise" in _error_line(capsys)


# ---------------------------------------------------------------------------------------------- boxes --gold
def test_boxes_gold_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = tmp_path / "gold_boxes.csv"
    gold.write_text(
        "item,label,x,y,width,height\nimg1,car,11,10,100,51\nimg2,person,300,300,10,10\nimg9,car,0,0,5,5\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    code = main(
        ["aggregate", str(boxes_file(tmp_path)), "--task", "boxes", "-o", str(out), "--gold", str(gold)]
    )
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    # img1's car is found, img2's person is drawn elsewhere: 1 of 2 boxes and 1 of 2 true boxes match
    assert "on 2 gold items (1 gold items nobody annotated left out), at IoU >= 0.5" in printed
    assert "precision 0.5000, recall 0.5000, F1 0.5000, mean IoU of the 1 matched boxes 0.9" in printed
    bad = tmp_path / "bad_gold.csv"
    bad.write_text("item,label,x,y,width\nimg1,car,1,1,1\n", encoding="utf-8")
    assert (
        main(["aggregate", str(boxes_file(tmp_path)), "--task", "boxes", "-o", str(out), "--gold", str(bad)])
        == 1
    )
    assert "no height column" in _error_line(capsys)
    other = tmp_path / "other_gold.csv"
    other.write_text("item,label,x,y,width,height\nzzz,car,1,1,1,1\n", encoding="utf-8")
    assert (
        main(
            ["aggregate", str(boxes_file(tmp_path)), "--task", "boxes", "-o", str(out), "--gold", str(other)]
        )
        == 1
    )
    assert "none of its 1 items" in _error_line(capsys)


# ------------------------------------------------------------------------------------------ multilabel --from
def _ls_choices(values: list[str]) -> dict[str, object]:
    return {"from_name": "tags", "to_name": "text", "type": "choices", "value": {"choices": values}}


def _ls_multilabel_exports(tmp_path: Path) -> dict[str, Path]:
    sets = {
        (1, 7): ["cat", "dog"], (1, 8): ["cat", "dog"], (1, 9): ["cat"],
        (2, 7): [], (2, 8): ["bird"], (2, 9): ["bird"],
    }  # fmt: skip
    tasks = [
        {"id": t, "data": {"text": f"text {t}"}, "annotations": [
            {"id": 10 * t + a, "completed_by": a, "result": [_ls_choices(s)] if s else []}
            for (tt, a), s in sets.items() if tt == t
        ]}
        for t in (1, 2)
    ]  # fmt: skip
    records = []
    for (t, a), s in sets.items():
        rec: dict[str, object] = {"id": t, "text": f"text {t}", "annotator": a, "annotation_id": 10 * t + a}
        if s:
            rec["tags"] = s[0] if len(s) == 1 else {"choices": s}
        records.append(rec)
    paths = {
        "json": tmp_path / "export.json",
        "json_min": tmp_path / "min.json",
        "csv": tmp_path / "export.csv",
    }
    paths["json"].write_text(json.dumps(tasks), encoding="utf-8")
    paths["json_min"].write_text(json.dumps(records), encoding="utf-8")
    rows = [
        {**rec, "tags": json.dumps(rec["tags"]) if isinstance(rec.get("tags"), dict) else rec.get("tags", "")}
        for rec in records
    ]
    pd.DataFrame(rows).to_csv(paths["csv"], index=False)
    return paths


@pytest.mark.parametrize("kind", ["json", "json_min", "csv"])
def test_multilabel_from_label_studio(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    path = _ls_multilabel_exports(tmp_path)[kind]
    out, ann = tmp_path / "out.csv", tmp_path / "ann.csv"
    code = main(
        ["aggregate", str(path), "--task", "multilabel", "--from", "label_studio", "-m", "mv", "-o", str(out),
         "--annotators", str(ann)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    frame = pd.read_csv(out)
    assert frame["item"].tolist() == [1, 2]
    assert [json.loads(v) for v in frame["labels"]] == [["cat", "dog"], ["bird"]]
    assert set(pd.read_csv(ann)["annotator"]) == {7, 8, 9}
    assert "mv: 2 items, 3 annotators, 3 classes" in capsys.readouterr().out


def test_multilabel_from_label_studio_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(_ls_multilabel_exports(tmp_path)["json"])
    out = str(tmp_path / "o.csv")
    base = ["aggregate", path, "--task", "multilabel", "-o", out]
    assert main([*base, "--from", "auto", "-m", "mv"]) == 0  # auto: detected as Label Studio
    capsys.readouterr()
    assert main([*base, "--from", "mturk"]) == 2
    assert "not --from mturk" in _error_line(capsys)
    assert main([*base, "--from", "label_studio", "--item-col", "id"]) == 2
    assert "--item-col does not apply to --from label_studio" in _error_line(capsys)
    assert main([*base, "--from", "label_studio", "-p", "layout=long"]) == 2
    assert "-p layout" in _error_line(capsys)
    assert main([*base, "--from", "label_studio", "--label-col", "nope"]) == 1
    assert "no choice control named 'nope'" in _error_line(capsys)
    assert main([*base, "--from", "label_studio", "--classes", "cat,dog"]) == 1
    assert "not among the declared classes" in _error_line(capsys)


# ---------------------------------------------------------------------------------------------- flags
@pytest.mark.parametrize(
    ("task", "flag"),
    [
        ("multilabel", ["--duplicates", "keep_first"]),
        ("multilabel", ["--missing", "drop"]),
        ("pairwise", ["--duplicates", "keep_last"]),
        ("boxes", ["--missing", "drop"]),
        ("boxes", ["--known", "k.csv"]),
    ],
)
def test_flags_of_other_tasks_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], task: str, flag: list[str]
) -> None:
    files = {"multilabel": multilabel_file, "pairwise": pairwise_file, "boxes": boxes_file}
    path = str(files[task](tmp_path))
    assert main(["aggregate", path, "--task", task, *flag, "-o", str(tmp_path / "o.csv")]) == 2
    assert f"{flag[0]} does not apply to --task {task}" in _error_line(capsys)


def test_rating_keeps_missing_and_duplicates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.csv"
    path.write_text("item,annotator,value\nx,a,1\nx,a,3\nx,b,\ny,a,2\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    flags = ["--missing", "drop", "--duplicates", "keep_last", "-m", "mean"]
    assert main(["aggregate", str(path), "--task", "rating", *flags, "-o", str(out)]) == 0, (
        capsys.readouterr()
    )
    assert pd.read_csv(out)["value"].tolist() == [3.0, 2.0]


@pytest.mark.parametrize("flag", [["--review", "5"], ["--no-curves"], ["--repeats", "10"], ["--seed", "3"]])
def test_report_flags_for_class_labels_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    path = str(boxes_file(tmp_path))
    code = main(["report", path, "--task", "boxes", *flag, "-o", str(tmp_path / "r.html")])
    assert code == 2
    assert f"{flag[0]} does not apply to --task boxes" in _error_line(capsys)
    assert not (tmp_path / "r.html").exists()


def test_report_task_boxes_with_gold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = tmp_path / "gold.csv"
    gold.write_text("item,label,x,y,width,height\nimg1,car,11,10,100,51\n", encoding="utf-8")
    out = tmp_path / "r.html"
    assert (
        main(["report", str(boxes_file(tmp_path)), "--task", "boxes", "--gold", str(gold), "-o", str(out)])
        == 0
    )
    assert "precision 1.0000, recall 1.0000" in capsys.readouterr().out
    assert "recall 1.0000" in out.read_text(encoding="utf-8")
