"""Segmentation consensus: STAPLE against a plain-loop reference, against majority vote on synthetic masks
with a known truth, the result tables, Dice / IoU against gold, options, invariants and error messages."""

from __future__ import annotations

import sys
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from accord.errors import ConvergenceWarning, InvalidAnnotationsError, InvalidParameterError, NotFittedError
from accord.io.masks import MaskSet, read_mask
from accord.tasks.segmentation import STAPLE, PixelMajorityVote, SegmentationConsensus, aggregate_masks

# ------------------------------------------------------------------------------------------ reference


def reference_staple(
    items: dict[str, dict[str, np.ndarray]], n_classes: int, alpha: float, max_iter: int, tol: float
) -> tuple[dict[str, dict[tuple[int, int], list[float]]], dict[str, list[list[float]]], int]:
    """STAPLE written pixel by pixel, with plain Python loops and products (no logs, no vectorisation).

    Parameters shared by each annotator over all items; the prior of each item fixed at the share of its
    masks' pixels given each label; starting parameters from one M-step on the vote shares.
    """
    k_range = range(n_classes)
    annotators = sorted({a for masks in items.values() for a in masks})
    pixels = {
        t: list(product(range(m.shape[0]), range(m.shape[1])))
        for t, ms in items.items()
        for m in list(ms.values())[:1]
    }
    prior = {}
    for t, masks in items.items():
        total = len(masks) * len(pixels[t])
        prior[t] = [sum(1 for m in masks.values() for p in pixels[t] if m[p] == k) / total for k in k_range]
    w = {
        t: {p: [sum(1 for m in masks.values() if m[p] == k) / len(masks) for k in k_range] for p in pixels[t]}
        for t, masks in items.items()
    }

    def m_step(w: dict) -> dict[str, list[list[float]]]:
        theta = {}
        for a in annotators:
            rows = []
            for k in k_range:
                counts = [alpha] * n_classes
                for t, masks in items.items():
                    if a not in masks:
                        continue
                    for p in pixels[t]:
                        counts[int(masks[a][p])] += w[t][p][k]
                rows.append([c / sum(counts) for c in counts])
            theta[a] = rows
        return theta

    theta = m_step(w)
    for iteration in range(1, max_iter + 1):
        new_w: dict = {}
        delta = 0.0
        for t, masks in items.items():
            new_w[t] = {}
            for p in pixels[t]:
                joint = []
                for k in k_range:
                    value = prior[t][k]
                    for a, m in masks.items():
                        value *= theta[a][k][int(m[p])]
                    joint.append(value)
                new_w[t][p] = [v / sum(joint) for v in joint]
                delta = max(delta, *(abs(x - y) for x, y in zip(new_w[t][p], w[t][p], strict=True)))
        w = new_w
        theta = m_step(w)
        if delta < tol:
            return w, theta, iteration
    return w, theta, max_iter


def four_by_four() -> dict[str, dict[str, np.ndarray]]:
    truth = np.array([[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 0]])
    a = truth.copy()
    b = truth.copy()
    b[0, 0] = 1
    b[3, 2] = 0
    c = 1 - truth
    c[1, 1] = 1
    d = np.zeros_like(truth)
    d[1:3, 1:3] = 1
    return {"scan": {"ann": a, "bob": b, "cat": c, "dan": d}}


def test_binary_staple_matches_the_plain_loop_reference_on_a_4x4_mask() -> None:
    items = four_by_four()
    model = STAPLE(prior="item", alpha=0.5, tol=1e-10, max_iter=200).fit(items)
    w_ref, theta_ref, n_iter = reference_staple(items, 2, alpha=0.5, max_iter=200, tol=1e-10)
    got = model.consensus_.proba("scan")
    expected = np.array([[w_ref["scan"][(r, c)][1] for c in range(4)] for r in range(4)])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert model.n_iter_ == n_iter
    assert model.converged_
    for pos, a in enumerate(["ann", "bob", "cat", "dan"]):
        np.testing.assert_allclose(model.theta_[pos], theta_ref[a], atol=1e-12)
        assert model.sensitivity_[a] == pytest.approx(theta_ref[a][1][1], abs=1e-12)
        assert model.specificity_[a] == pytest.approx(theta_ref[a][0][0], abs=1e-12)
    np.testing.assert_array_equal(model.consensus_.mask("scan"), (expected >= 0.5).astype(int))


def test_multiclass_staple_matches_the_reference_with_parameters_pooled_over_items() -> None:
    rng = np.random.default_rng(3)
    truth = {"x": rng.integers(0, 3, (4, 4)), "y": rng.integers(0, 3, (3, 5))}
    items: dict[str, dict[str, np.ndarray]] = {}
    for t, tr in truth.items():
        items[t] = {}
        for a, flip in (("p", 0.05), ("q", 0.2), ("r", 0.4)):
            noisy = np.where(rng.random(tr.shape) < flip, rng.integers(0, 3, tr.shape), tr)
            items[t][a] = noisy
    del items["y"]["q"]  # an annotator absent from one item
    model = STAPLE(prior="item", alpha=0.5, tol=1e-10, max_iter=300).fit(items)
    w_ref, theta_ref, n_iter = reference_staple(items, 3, alpha=0.5, max_iter=300, tol=1e-10)
    for t, tr in truth.items():
        expected = np.array([[w_ref[t][(r, c)] for c in range(tr.shape[1])] for r in range(tr.shape[0])])
        np.testing.assert_allclose(model.consensus_.proba(t), expected, atol=1e-12)
    for pos, a in enumerate(["p", "q", "r"]):
        np.testing.assert_allclose(model.theta_[pos], theta_ref[a], atol=1e-12)
    assert model.n_iter_ == n_iter


# ------------------------------------------------------------------------------------------ synthetic


def disk_truth(rng: np.random.Generator, size: int = 48) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
    r = rng.uniform(size * 0.15, size * 0.3)
    return ((yy - cy) ** 2 + (xx - cx) ** 2 < r**2).astype(np.int64)


def synthetic(seed: int = 0, n_items: int = 6) -> tuple[dict, dict, dict[str, float]]:
    """Two good raters (3% of pixels flipped) and three poor ones (35%), on disks of random size."""
    rng = np.random.default_rng(seed)
    flips = {"good1": 0.03, "good2": 0.03, "poor1": 0.35, "poor2": 0.35, "poor3": 0.35}
    masks, gold = {}, {}
    for t in range(n_items):
        truth = disk_truth(rng)
        gold[f"img{t}"] = truth
        masks[f"img{t}"] = {
            a: np.where(rng.random(truth.shape) < f, 1 - truth, truth) for a, f in flips.items()
        }
    return masks, gold, flips


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * ((a == 1) & (b == 1)).sum() / ((a == 1).sum() + (b == 1).sum()))


def test_staple_beats_majority_vote_when_raters_differ_in_quality() -> None:
    masks, gold, flips = synthetic()
    staple = aggregate_masks(masks, method="staple", gold=gold, prior="item")
    fitted_prior = aggregate_masks(masks, method="staple", gold=gold)
    mv = aggregate_masks(masks, method="mv", gold=gold)
    mv_dice = mv.to_frame()["dice"].mean()
    assert staple.to_frame()["dice"].mean() > mv_dice + 0.015
    # the fixed prior (share of foreground votes) is inflated by the noisy raters; re-estimating it helps more
    assert fitted_prior.to_frame()["dice"].mean() > 0.95 > mv_dice
    # the table's Dice is the plain formula on the written masks
    assert staple.to_frame()["dice"].iloc[0] == pytest.approx(dice(staple.mask("img0"), gold["img0"]))
    quality = fitted_prior.annotator_quality
    for a, f in flips.items():
        assert quality.loc[a, "sensitivity"] == pytest.approx(1 - f, abs=0.03)
        assert quality.loc[a, "specificity"] == pytest.approx(1 - f, abs=0.03)
    assert quality.loc["good1", "dice"] > quality.loc["poor1", "dice"]


def test_multiclass_synthetic_staple_recovers_the_truth_better_than_majority_vote() -> None:
    rng = np.random.default_rng(5)
    truth = np.zeros((40, 40), dtype=np.int64)
    truth[5:20, 5:30] = 1
    truth[22:35, 10:25] = 2
    flips = {"a": 0.02, "b": 0.02, "c": 0.5, "d": 0.5, "e": 0.5}
    masks = {
        "img": {
            a: np.where(rng.random(truth.shape) < f, rng.integers(0, 3, truth.shape), truth)
            for a, f in flips.items()
        }
    }
    staple = aggregate_masks(masks, gold={"img": truth})
    mv = aggregate_masks(masks, method="mv", gold={"img": truth})
    assert staple.to_frame()["dice"].iloc[0] > mv.to_frame()["dice"].iloc[0]
    assert (staple.mask("img") == truth).mean() > 0.995
    quality = staple.annotator_quality
    assert {"recall_0", "recall_1", "recall_2", "accuracy"} <= set(quality.columns)
    assert quality.loc["a", "accuracy"] > quality.loc["c", "accuracy"]
    assert staple.proba("img").shape == (40, 40, 3)
    np.testing.assert_allclose(staple.proba("img").sum(axis=2), 1.0)


# ------------------------------------------------------------------------------------------ results


def test_result_tables_have_one_row_per_item_and_per_annotator() -> None:
    masks, gold, flips = synthetic(n_items=3)
    result = aggregate_masks(masks, gold={"img0": gold["img0"]})
    assert isinstance(result, SegmentationConsensus)
    frame = result.to_frame()
    assert list(frame.columns) == [
        "item",
        "foreground_fraction",
        "mean_confidence",
        "n_annotators",
        "dice",
        "iou",
    ]
    assert list(frame["item"]) == ["img0", "img1", "img2"]
    assert frame["n_annotators"].tolist() == [5, 5, 5]
    assert frame.loc[0, "foreground_fraction"] == pytest.approx(result.mask("img0").mean())
    p = result.proba("img1")
    chosen = np.where(result.mask("img1") == 1, p, 1 - p)
    assert frame.loc[1, "mean_confidence"] == pytest.approx(chosen.mean())
    assert frame["dice"].notna().tolist() == [True, False, False]
    d = frame.loc[0, "dice"]
    assert frame.loc[0, "iou"] == pytest.approx(d / (2 - d))  # IoU = Dice / (2 - Dice) for one class
    per_mask = result.item_annotator_quality
    assert len(per_mask) == 15
    row = per_mask[(per_mask["item"] == "img1") & (per_mask["annotator"] == "poor2")].iloc[0]
    assert row["dice_consensus"] == pytest.approx(dice(masks["img1"]["poor2"], result.mask("img1")))
    assert per_mask["dice"].notna().sum() == 5
    assert set(result.annotator_quality.index) == set(flips)
    assert result.annotator_quality["n_items"].tolist() == [3] * 5
    assert result.confusion_matrix("good1").shape == (2, 2)
    assert result.annotators_frame().columns[0] == "annotator"


def test_staple_fitted_attributes_and_history() -> None:
    masks, _, _ = synthetic(n_items=2)
    model = STAPLE().fit(masks)
    assert model.converged_
    assert list(model.history_.columns) == ["iteration", "log_likelihood", "max_delta", "n_changed"]
    assert len(model.history_) == model.n_iter_
    assert model.history_["max_delta"].iloc[-1] < 1e-5
    ll = model.history_["log_likelihood"].to_numpy()
    assert np.all(np.diff(ll) > -1e-6 * np.abs(ll[:-1]))
    # with dataset pooling the annotator table's rates are the fitted parameters
    q = model.consensus_.annotator_quality
    np.testing.assert_allclose(q["sensitivity"], model.sensitivity_.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(q["specificity"], model.specificity_.to_numpy(), atol=1e-12)


def test_max_iter_gives_a_convergence_warning() -> None:
    masks, _, _ = synthetic(n_items=1)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        model = STAPLE(max_iter=1).fit(masks)
    assert not model.converged_
    assert model.n_iter_ == 1


def test_majority_vote_tie_rule() -> None:
    masks = {"img": {"a": np.array([[1, 0], [1, 1]]), "b": np.array([[0, 0], [1, 0]])}}
    low = aggregate_masks(masks, method="mv")
    high = aggregate_masks(masks, method="mv", tie_break="highest")
    np.testing.assert_array_equal(low.mask("img"), [[0, 0], [1, 0]])
    np.testing.assert_array_equal(high.mask("img"), [[1, 0], [1, 1]])
    np.testing.assert_allclose(low.proba("img"), [[0.5, 0], [1, 0.5]])


def test_single_annotator_item_and_perfect_annotators() -> None:
    truth = np.zeros((6, 6), dtype=int)
    truth[1:4, 2:5] = 1
    masks = {"solo": {"a": truth}, "pair": {"a": truth, "b": truth}}
    result = aggregate_masks(masks, gold={"solo": truth, "pair": truth})
    np.testing.assert_array_equal(result.mask("solo"), truth)
    assert result.to_frame()["dice"].tolist() == [1.0, 1.0]
    assert result.to_frame()["n_annotators"].tolist() == [1, 2]
    assert result.item_annotator_quality["dice"].tolist() == [1.0, 1.0, 1.0]


# ------------------------------------------------------------------------------------------ options


def test_per_pixel_prior_equal_to_the_item_prior_gives_the_item_prior_result() -> None:
    # without compression of identical pixels: checks that the pattern shortcut is exact
    masks, _, _ = synthetic(n_items=2)
    shares = {t: np.mean([m for m in ms.values()]) for t, ms in masks.items()}
    atlas = {t: np.full((48, 48), s) for t, s in shares.items()}
    by_item = STAPLE(prior="item").fit(masks)
    by_pixel = STAPLE(prior=atlas).fit(masks)
    for t in masks:
        np.testing.assert_allclose(by_pixel.consensus_.proba(t), by_item.consensus_.proba(t), atol=1e-12)
    assert by_pixel.consensus_.params["prior"] == "pixel"


@pytest.mark.parametrize("n_annotators", [3, 13, 40])  # pattern codes counted, sorted, or rows sorted
def test_pattern_grouping_is_exact_for_every_code_path(n_annotators: int) -> None:
    rng = np.random.default_rng(n_annotators)
    truth = disk_truth(rng, size=12)
    masks = {
        "a": {
            f"r{j}": np.where(rng.random(truth.shape) < 0.1 + j / 100, 1 - truth, truth)
            for j in range(n_annotators)
        }
    }
    share = float(np.mean(list(masks["a"].values())))
    grouped = STAPLE(prior="item").fit(masks)
    per_pixel = STAPLE(prior={"a": np.full(truth.shape, share)}).fit(masks)
    np.testing.assert_allclose(grouped.consensus_.proba("a"), per_pixel.consensus_.proba("a"), atol=1e-12)
    np.testing.assert_allclose(grouped.theta_, per_pixel.theta_, atol=1e-12)


def test_prior_and_pooling_options() -> None:
    masks, gold, _ = synthetic(n_items=3)
    mv_dice = aggregate_masks(masks, method="mv", gold=gold).to_frame()["dice"].mean()
    options: list[dict[str, Any]] = [
        {"prior": "global"},
        {"prior": "item"},
        {"pooling": "item"},
        {"pooling": "item", "prior": "item"},
        {"init": "confident"},
    ]
    for kwargs in options:
        result = STAPLE(**kwargs).fit_predict(masks, gold=gold)
        assert result.to_frame()["dice"].mean() > mv_dice, kwargs
    per_item = STAPLE(pooling="item").fit(masks)
    assert per_item.sensitivity_.index.names == ["item", "annotator"]
    assert len(per_item.sensitivity_) == 15
    # one image alone: per-image and pooled parameters are the same model
    one = {"img0": masks["img0"]}
    np.testing.assert_allclose(STAPLE(pooling="item").fit(one).theta_, STAPLE().fit(one).theta_, atol=1e-12)


def test_renaming_and_reordering_annotators_and_items_changes_nothing() -> None:
    masks, _, _ = synthetic(n_items=2)
    base = aggregate_masks(masks)
    renamed = {
        f"z{t}": {f"w-{a}": m for a, m in reversed(list(ms.items()))}
        for t, ms in reversed(list(masks.items()))
    }
    other = aggregate_masks(renamed)
    for t in masks:
        np.testing.assert_allclose(other.proba(f"z{t}"), base.proba(t), atol=1e-12)
    q1 = base.annotator_quality["sensitivity"]
    q2 = other.annotator_quality["sensitivity"]
    np.testing.assert_allclose(q2.loc[[f"w-{a}" for a in q1.index]].to_numpy(), q1.to_numpy(), atol=1e-12)


def test_save_masks_writes_png_and_npy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    masks, _, _ = synthetic(n_items=2)
    result = aggregate_masks(masks)
    written = result.save_masks(tmp_path / "png", proba=True)
    assert sorted(p.name for p in written) == ["img0.png", "img0_proba.npy", "img1.png", "img1_proba.npy"]
    np.testing.assert_array_equal(read_mask(tmp_path / "png" / "img0.png"), result.mask("img0"))
    np.testing.assert_allclose(np.load(tmp_path / "png" / "img1_proba.npy"), result.proba("img1"), atol=1e-6)
    monkeypatch.setitem(sys.modules, "PIL", None)
    written = result.save_masks(tmp_path / "npy")
    assert [p.name for p in written] == ["img0.npy", "img1.npy"]
    np.testing.assert_array_equal(np.load(written[1]), result.mask("img1"))


def test_folder_input_and_gold_folder(tmp_path: Path) -> None:
    masks, gold, _ = synthetic(n_items=2)
    for t, ms in masks.items():
        (tmp_path / "masks" / t).mkdir(parents=True)
        for a, m in ms.items():
            np.save(tmp_path / "masks" / t / f"{a}.npy", m)
    (tmp_path / "gold").mkdir()
    np.save(tmp_path / "gold" / "img1.npy", gold["img1"])
    from_folder = aggregate_masks(tmp_path / "masks", gold=tmp_path / "gold")
    from_arrays = aggregate_masks(masks, gold={"img1": gold["img1"]})
    pd.testing.assert_frame_equal(from_folder.to_frame(), from_arrays.to_frame())


# ------------------------------------------------------------------------------------------ errors


def test_gold_errors_name_the_item() -> None:
    masks, gold, _ = synthetic(n_items=1)
    with pytest.raises(InvalidAnnotationsError, match="item 'nope', which has no annotator masks"):
        aggregate_masks(masks, gold={"nope": gold["img0"]})
    with pytest.raises(
        InvalidAnnotationsError, match="gold mask for item 'img0' is 4x4, its annotators' masks are 48x48"
    ):
        aggregate_masks(masks, gold={"img0": np.zeros((4, 4), dtype=int)})
    with pytest.raises(InvalidAnnotationsError, match="has the label 3, out of range for the 2 classes"):
        aggregate_masks(masks, gold={"img0": np.full((48, 48), 3)})


def test_parameter_errors() -> None:
    masks, _, _ = synthetic(n_items=1)
    with pytest.raises(InvalidParameterError, match="unknown segmentation method 'ds'"):
        aggregate_masks(masks, method="ds")
    with pytest.raises(InvalidParameterError, match="method 'mv'"):
        aggregate_masks(masks, method="mv", max_iter=3)
    with pytest.raises(InvalidParameterError, match="prior must be one of"):
        aggregate_masks(masks, prior="atlas")
    with pytest.raises(InvalidParameterError, match="pooling must be one of"):
        aggregate_masks(masks, pooling="annotator")
    with pytest.raises(InvalidParameterError, match="tol must be a finite number >= 0, got -1.0"):
        aggregate_masks(masks, tol=-1.0)
    with pytest.raises(InvalidParameterError, match="alpha must be a finite number >= 0, got 'x'"):
        aggregate_masks(masks, alpha="x")
    with pytest.raises(InvalidParameterError, match="max_iter must be an integer >= 1, got 0"):
        aggregate_masks(masks, max_iter=0)
    with pytest.raises(InvalidParameterError, match="tie_break must be one of"):
        aggregate_masks(masks, method="mv", tie_break="random")
    with pytest.raises(InvalidParameterError, match="prior has no map for item 'img0'"):
        aggregate_masks(masks, prior={"other": np.zeros((48, 48))})
    with pytest.raises(InvalidParameterError, match="prior map of item 'img0' must hold probabilities"):
        aggregate_masks(masks, prior={"img0": np.full((48, 48), 1.5)})
    with pytest.raises(InvalidParameterError, match="format must be"):
        aggregate_masks(masks).save_masks("unused", format="tiff")
    ms = MaskSet.from_arrays(masks)
    with pytest.raises(InvalidParameterError, match="n_classes=3 but the MaskSet has 2 classes"):
        PixelMajorityVote().fit(ms, n_classes=3)


def test_label_studio_brush_export_with_ground_truth(tmp_path: Path) -> None:
    import json

    from tests.test_io_masks import label_studio_export

    tasks, cat, _ = label_studio_export()
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    result = aggregate_masks(tmp_path / "export.json")
    frame = result.to_frame()
    assert list(frame["item"]) == ["7", "8"]
    assert frame["n_annotators"].tolist() == [3, 1]
    assert frame["dice"].notna().tolist() == [True, False]  # the ground-truth annotation is the gold mask
    assert result.annotator_quality.loc["3", "empty_masks"] == 1  # annotator 3 submitted no region
    assert result.annotator_quality.loc["1", "empty_masks"] == 0
    per_mask = result.item_annotator_quality.set_index(["item", "annotator"])
    assert per_mask.loc[("7", "b@x.org"), "foreground_fraction"] == pytest.approx(16 / 64)
    explicit = aggregate_masks(tmp_path / "export.json", gold={"7": cat * 0})
    assert explicit.to_frame()["dice"].iloc[0] < frame["dice"].iloc[0]


def test_save_writes_masks_and_tables_for_the_command_line(tmp_path: Path) -> None:
    masks, gold, _ = synthetic(n_items=2)
    result = aggregate_masks(masks, gold=gold)
    written = result.save(tmp_path / "out")
    names = sorted(p.name for p in written)
    assert names == [
        "annotators.csv",
        "history.csv",
        "img0.png",
        "img1.png",
        "item_annotators.csv",
        "items.csv",
    ]
    items = pd.read_csv(tmp_path / "out" / "items.csv")
    pd.testing.assert_frame_equal(items, result.to_frame(), check_dtype=False)
    annotators = pd.read_csv(tmp_path / "out" / "annotators.csv")
    assert annotators["annotator"].tolist() == list(result.annotator_quality.index)
    assert "history.csv" not in {p.name for p in aggregate_masks(masks, method="mv").save(tmp_path / "mv")}


def test_unfitted_model_says_so() -> None:
    with pytest.raises(NotFittedError, match="STAPLE is not fitted yet"):
        _ = STAPLE().consensus_
    with pytest.raises(AttributeError):
        _ = STAPLE().no_such_thing
