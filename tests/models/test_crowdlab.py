"""CrowdLab and ModelAssistedDawidSkene: seed 001's tutorial figures, a hand-computed case, a naive reference,
pred_probs validation, and the CLI."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from accord import Annotations, DataQualityWarning, DawidSkene, InvalidAnnotationsError, InvalidParameterError
from accord.cli import main
from accord.datasets import load_dataset
from accord.evaluation import accuracy
from accord.io import read_pred_probs
from accord.models.crowdlab import (
    CrowdLab,
    best_temperature,
    check_pred_probs,
    cleanlab_majority_vote,
    temperature_scale,
)
from accord.models.model_assisted_ds import ModelAssistedDawidSkene
from accord.models.registry import METHODS


# ---------------------------------------------------------------------------------------------- seed 001 data
@pytest.fixture(scope="module")
def tutorial(data_dir):
    folder = data_dir / "cleanlab_tutorial"
    data = load_dataset(folder)
    pred_probs = read_pred_probs(folder / "pred_probs.csv", data.annotations)
    return data, pred_probs, folder


@pytest.fixture(scope="module")
def tutorial_fit(tutorial):
    data, pred_probs, _ = tutorial
    return CrowdLab().fit(data.annotations, pred_probs=pred_probs)


def test_tutorial_consensus_accuracy(tutorial, tutorial_fit):
    data, _, _ = tutorial
    assert accuracy(tutorial_fit.labels_, data.gold) >= 0.9797
    assert accuracy(tutorial_fit.labels_, data.gold) == pytest.approx(290 / 296)
    mv = cleanlab_majority_vote(data.annotations, None, np.random.default_rng(0))
    gold = data.annotations.encode_labels(data.gold.reindex(data.annotations.items))
    assert np.mean(mv == gold) == pytest.approx(0.8581081081081081)  # the tutorial's majority vote


def test_tutorial_lowest_quality_items_are_less_accurate(tutorial, tutorial_fit):
    data, _, _ = tutorial
    iq = tutorial_fit.consensus_.item_quality
    right = (iq["label"] == data.gold.reindex(iq.index)).to_numpy()
    order = np.argsort(iq["consensus_quality"].to_numpy(), kind="stable")
    worst, rest = right[order[:15]].mean(), right[order[15:]].mean()
    assert worst < rest
    assert (worst, rest) == (pytest.approx(0.8), pytest.approx(0.9893238434163701))  # the tutorial's figures


def test_tutorial_scores_match_the_published_tables(tutorial_fit):
    c = tutorial_fit.consensus_
    cq = c.item_quality["consensus_quality"]
    assert cq.iloc[:5].tolist() == pytest.approx([0.736118, 0.757751, 0.782232, 0.715565, 0.824256], abs=1e-6)
    assert c.item_quality["agreement"].iloc[:5].tolist() == pytest.approx([0.5, 1.0, 0.6, 0.6, 0.8])
    aq = c.annotation_quality.set_index(["item", "annotator"])["label_quality"]
    assert aq[("2", "A0042")] == pytest.approx(0.782232, abs=1e-6)
    assert aq[("2", "A0048")] == pytest.approx(0.070564, abs=1e-6)
    assert aq[("3", "A0007")] == pytest.approx(0.216078, abs=1e-6)
    assert aq[("4", "A0044")] == pytest.approx(0.119188, abs=1e-6)


def test_tutorial_noisy_annotators_have_the_lowest_quality(tutorial_fit):
    table = tutorial_fit.consensus_.annotator_quality.sort_values(["quality", "agreement_with_consensus"])
    assert set(table.index[:5]) == {"A0046", "A0047", "A0048", "A0049", "A0050"}
    top = table.iloc[:7]
    assert top.index.tolist() == ["A0050", "A0047", "A0049", "A0046", "A0048", "A0031", "A0034"]
    assert top["quality"].tolist() == pytest.approx(
        [0.244981, 0.295979, 0.324197, 0.355316, 0.439732, 0.523205, 0.535313], abs=1e-6
    )
    assert top["agreement_with_consensus"].tolist() == pytest.approx(
        [0.208333, 0.294118, 0.310345, 0.346154, 0.480000, 0.580645, 0.607143], abs=1e-6
    )
    assert top["worst_class"].tolist() == ["2", "2", "1", "1", "2", "2", "2"]
    assert top["n_labels"].tolist() == [24, 34, 29, 26, 25, 31, 28]


def test_tutorial_weights_and_temperature(tutorial, tutorial_fit):
    data, pred_probs, _ = tutorial
    assert tutorial_fit.model_weight_ == pytest.approx(2.098783668919963)
    assert tutorial_fit.consensus_likelihood_ == pytest.approx(0.7443091940514621)
    # the vote shares prefer a softer model; cleanlab 2.9 reports 7.25 because its search misplaces the shares
    assert best_temperature(data.annotations, pred_probs.to_numpy()) == pytest.approx(2.0)
    calibrated = CrowdLab(calibrate=True).fit(data.annotations, pred_probs=pred_probs)
    assert calibrated.temperature_ == pytest.approx(2.0)
    assert accuracy(calibrated.labels_, data.gold) >= 0.97


def test_model_assisted_ds_beats_plain_ds_on_the_tutorial(tutorial):
    data, pred_probs, _ = tutorial
    plain = accuracy(DawidSkene(alpha=0.5).fit(data.annotations).labels_, data.gold)  # per-cell, as ds_model
    prior = ModelAssistedDawidSkene(mode="prior").fit(data.annotations, pred_probs=pred_probs)
    assert plain == pytest.approx(0.8682, abs=1e-4)
    # 0.9628 when run to convergence (tol=1e-10); the default stops on the relative objective rule at 12
    assert accuracy(prior.labels_, data.gold) == pytest.approx(0.9662, abs=1e-4)
    annot = ModelAssistedDawidSkene(mode="annotator", model_weight=2.0, max_iter=500)
    annot.fit(data.annotations, pred_probs=pred_probs)
    assert accuracy(annot.labels_, data.gold) >= 0.98
    assert annot.model_confusion_.shape == (3, 3)
    assert np.allclose(annot.model_confusion_.sum(axis=1), 1.0)
    assert annot.consensus_.confusions.shape == (50, 3, 3)  # the model's row is not an annotator


# ---------------------------------------------------------------------------------------------- small cases
def small():
    df = pd.DataFrame(
        {"item": [1, 1, 2, 2, 3, 3, 3, 4], "annotator": list("ababbcac"), "label": list("xxxyyyyx")}
    )
    p = pd.DataFrame({"x": [0.8, 0.3, 0.4, 0.9], "y": [0.2, 0.7, 0.6, 0.1]}, index=[1, 2, 3, 4])
    return Annotations.from_frame(df), p


def test_hand_computed_case():
    ann, p = small()
    model = CrowdLab().fit(ann, pred_probs=p)
    # MV: 1 -> x, 2 tied -> y (the model prefers y), 3 -> y, 4 -> x. P = (1 + 0.5 + 1) / 3, eps_base = 1/3
    # r_a = r_b = (1 + 0 + 2) / (1 + 1 + 2) = 3/4 -> w = 1 - (1/4) / (1/3) = 1/4; r_c = 2/2 -> w_c = 1;
    # the model is right on every multi-annotated item -> w_M = 1 * sqrt(mean N) = sqrt(2)
    assert model.labels_.tolist() == ["x", "y", "y", "x"]
    assert model.consensus_likelihood_ == pytest.approx(2.5 / 3)
    assert model.annotator_weights_.to_dict() == pytest.approx({"a": 0.25, "b": 0.25, "c": 1.0})
    assert model.model_weight_ == pytest.approx(math.sqrt(2))
    w, agree = math.sqrt(2), 2.5 / 3
    cq4 = (w * 0.9 + agree) / (w + 1)
    assert model.consensus_.item_quality["consensus_quality"].loc[4] == pytest.approx(cq4)
    assert model.consensus_.proba.sum(axis=1).to_numpy() == pytest.approx(np.ones(4))
    post = model.consensus_.proba
    lq_c = (post.loc[3, "y"] + post.loc[4, "x"]) / 2
    big_w = w / (w + (0.25 + 0.25 + 1) * 2 / 3)  # W = w_M / (w_M + sum_a w_a * mean(N) / A)
    assert model.consensus_.annotator_quality.loc["c", "quality"] == pytest.approx(big_w * lq_c + (1 - big_w))


def naive_crowdlab(wide: np.ndarray, p: np.ndarray, y: np.ndarray):
    """CROWDLAB's ensemble written out with loops over items and annotators (ALGORITHMS.md 11.2)."""
    n_items, n_ann = wide.shape
    k = p.shape[1]
    n = (~np.isnan(wide)).sum(axis=1)
    multi = n >= 2
    agree = np.array([np.nansum(wide[i] == y[i]) / n[i] for i in range(n_items)])
    big_p = agree[multi].mean()
    mode = np.bincount(y[multi], minlength=k).argmax()
    eps0 = max(1e-6, np.mean(y[multi] != mode))
    r = np.zeros(n_ann)
    for a in range(n_ann):
        num = den = 0.0
        for i in range(n_items):
            if not np.isnan(wide[i, a]) and n[i] > 1:
                num += np.nansum(wide[i] == wide[i, a]) - 1
                den += n[i] - 1
        r[a] = num / den if den else np.nan
    r[np.isnan(r)] = np.nanmean(r)
    w = np.maximum(1e-6, 1 - (1 - r) / eps0)
    w_m = max(1e-6, 1 - np.mean(p[multi].argmax(axis=1) != y[multi]) / eps0) * np.sqrt(n.mean())
    post = np.zeros_like(p)
    for i in range(n_items):
        for c in range(k):
            total, weight = w_m * p[i, c], w_m
            for a in range(n_ann):
                if not np.isnan(wide[i, a]):
                    total += w[a] * (big_p if wide[i, a] == c else (1 - big_p) / (k - 1))
                    weight += w[a]
            post[i, c] = total / weight
    return post, w, w_m


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_a_naive_reference(seed):
    rng = np.random.default_rng(seed)
    n_items, n_ann, k = 40, 7, 3
    truth = rng.integers(0, k, n_items)
    rows = [
        (i, f"a{a}", truth[i] if rng.random() < 0.7 else rng.integers(0, k))
        for i in range(n_items)
        for a in rng.choice(n_ann, rng.integers(1, 4), replace=False)
    ]
    ann = Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]), classes=range(k))
    p = rng.dirichlet(np.ones(k), size=n_items)
    model = CrowdLab(consensus="majority_vote").fit(ann, pred_probs=p)
    wide = np.full((n_items, ann.n_annotators), np.nan)
    wide[ann.item, ann.annotator] = ann.label
    post, w, w_m = naive_crowdlab(wide, p, model.consensus_.label_codes)
    assert model.consensus_.proba_array == pytest.approx(post, abs=1e-12)
    assert model.annotator_weights_.to_numpy() == pytest.approx(w)
    assert model.model_weight_ == pytest.approx(w_m)


def test_invariant_to_annotator_names_and_row_order():
    ann, p = small()
    base = CrowdLab().fit(ann, pred_probs=p).consensus_
    frame = ann.to_frame().iloc[::-1]
    frame["annotator"] = frame["annotator"].map({"a": "zed", "b": "amy", "c": "kim"})
    other = CrowdLab().fit(frame, pred_probs=p.iloc[::-1][["y", "x"]]).consensus_
    assert other.proba.loc[base.proba.index, base.proba.columns].to_numpy() == pytest.approx(base.proba_array)
    assert other.labels.loc[base.labels.index].tolist() == base.labels.tolist()


def test_agreement_quality_method():
    ann, p = small()
    model = CrowdLab(quality="agreement", consensus="majority_vote").fit(ann, pred_probs=p)
    iq = model.consensus_.item_quality
    assert iq["consensus_quality"].tolist() == pytest.approx([1.0, 0.5, 1.0, 1.0])
    assert model.consensus_.annotator_quality["quality"].to_dict() == pytest.approx(
        {"a": 2 / 3, "b": 1.0, "c": 1.0}
    )


def test_worst_class_tie_rules():
    ann, p = small()
    aq = CrowdLab().fit(ann, pred_probs=p).consensus_.annotator_quality
    assert aq.loc["a", "worst_class"] == "x"  # a: x agrees 1 of 2, y agrees 1 of 1 -> x
    assert (
        aq.loc["b", "worst_class"] == "y"
    )  # b always agrees; the tie goes to the label used most (y, twice)
    # c: x on item 4 and y on item 3, both agree, both used once -> the higher mean consensus quality: x (item
    # 4)
    assert aq.loc["c", "worst_class"] == "x"


def test_temperature_scale():
    p = np.array([[0.8, 0.2], [0.5, 0.5], [1.0, 0.0]])
    assert temperature_scale(p, 1.0) == pytest.approx(p)
    soft = temperature_scale(p, 2.0)
    assert soft[0, 0] == pytest.approx(math.sqrt(0.8) / (math.sqrt(0.8) + math.sqrt(0.2)))
    assert soft[2].tolist() == [1.0, 0.0]


# ---------------------------------------------------------------------------------------------- bad input
def test_pred_probs_are_required():
    ann, _ = small()
    with pytest.raises(InvalidParameterError, match="needs pred_probs"):
        CrowdLab().fit(ann)
    with pytest.raises(InvalidParameterError, match="needs pred_probs"):
        ModelAssistedDawidSkene().fit(ann)
    assert METHODS["crowdlab"] is CrowdLab and METHODS["ds_model"] is ModelAssistedDawidSkene


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.full((4, 3), 1 / 3), r"shape \(4, 3\).*wrong number of classes"),
        (np.full((3, 2), 0.5), r"shape \(3, 2\).*wrong number of items"),
        (np.array([[0.5, 0.5], [0.6, 0.6], [0.5, 0.5], [0.5, 0.5]]), r"rows must sum to 1.*2 \(sum 1\.2\)"),
        (
            np.array([[0.5, 0.5], [np.nan, 1.0], [0.5, 0.5], [0.5, 0.5]]),
            r"NaN or infinite values for item\(s\) 2",
        ),
        (np.array([[1.5, -0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]), r"negative values for item\(s\) 1"),
        (pd.DataFrame({"x": [1.0], "y": [0.0]}, index=[1]), r"no row for 3 annotated item\(s\): 2, 3, 4"),
        (
            pd.DataFrame({"x": [1.0] * 4, "z": [0.0] * 4}, index=[1, 2, 3, 4]),
            r"missing: 'y'; not a class: 'z'",
        ),
        ("oops", "must be a DataFrame or a numeric array"),
    ],
)
def test_bad_pred_probs_are_clear_errors(bad, message):
    ann, _ = small()
    with pytest.raises(InvalidAnnotationsError, match=message):
        CrowdLab().fit(ann, pred_probs=bad)


def test_check_pred_probs_aligns_and_warns_about_extra_rows():
    ann, p = small()
    extra = pd.concat([p, pd.DataFrame({"x": [0.5], "y": [0.5]}, index=[99])]).iloc[::-1]
    with pytest.warns(DataQualityWarning, match="1 row"):
        values = check_pred_probs(extra, ann)
    assert values == pytest.approx(p.to_numpy())
    nearly = p.to_numpy() * (1 + 1e-4)
    assert check_pred_probs(nearly, ann).sum(axis=1) == pytest.approx(np.ones(4), abs=1e-15)


def test_every_item_single_is_an_error():
    ann = Annotations.from_frame(pd.DataFrame({"item": [1, 2], "annotator": ["a", "b"], "label": ["x", "y"]}))
    with pytest.raises(InvalidAnnotationsError, match="two or more annotations"):
        CrowdLab().fit(ann, pred_probs=np.array([[0.6, 0.4], [0.3, 0.7]]))


def test_read_pred_probs(tmp_path):
    ann, p = small()
    path = tmp_path / "pred.csv"
    p.rename_axis("item").reset_index().to_csv(path, index=False)
    back = read_pred_probs(path, ann)
    assert back.to_numpy() == pytest.approx(p.to_numpy())
    assert list(back.columns) == ["x", "y"]
    (tmp_path / "bad.csv").write_text("id,x,y\n1,0.5,0.5\n")
    with pytest.raises(InvalidAnnotationsError, match="needs a column 'item'"):
        read_pred_probs(tmp_path / "bad.csv", ann)


def test_degenerate_consensus_warns():
    df = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": list("abab"), "label": list("xxxx")})
    ann = Annotations.from_frame(df, classes=["x", "y"])
    with pytest.warns(DataQualityWarning, match="same consensus class"):
        CrowdLab().fit(ann, pred_probs=np.array([[0.9, 0.1], [0.8, 0.2]]))


def test_annotator_mode_with_zero_weight_is_plain_ds():
    data = Annotations.from_frame(
        pd.DataFrame(
            {
                "item": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4],
                "annotator": list("abcabcabcab"),
                "label": list("xxyyyxxxxyy"),
            }
        )
    )
    p = np.tile([0.5, 0.5], (4, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = DawidSkene(alpha=0.5, max_iter=50).fit(data)  # the smoothing ds_model uses
        zero = ModelAssistedDawidSkene(mode="annotator", model_weight=0.0, max_iter=50).fit(
            data, pred_probs=p
        )
    assert zero.proba_.to_numpy() == pytest.approx(plain.proba_.to_numpy())
    with pytest.raises(InvalidParameterError, match="mode must be"):
        ModelAssistedDawidSkene(mode="both").fit(data, pred_probs=p)


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_aggregate_with_pred_probs(tutorial, tmp_path, capsys):
    _, _, folder = tutorial
    out = tmp_path / "out.csv"
    rc = main(
        [
            "aggregate",
            str(folder / "annotations.csv"),
            "-m",
            "crowdlab",
            "--pred-probs",
            str(folder / "pred_probs.csv"),
            "--gold",
            str(folder / "gold.csv"),
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    assert "accuracy on 296 gold items: 0.9797" in capsys.readouterr().out
    table = pd.read_csv(out)
    assert {"item", "label", "consensus_quality", "agreement", "n_annotations"} <= set(table.columns)


def test_cli_pred_probs_errors(tutorial, tmp_path, capsys):
    _, _, folder = tutorial
    ann_file, out = str(folder / "annotations.csv"), str(tmp_path / "o.csv")
    assert main(["aggregate", ann_file, "-m", "crowdlab", "-o", out]) == 2  # a missing flag: usage error
    assert "needs --pred-probs" in capsys.readouterr().err
    assert (
        main(["aggregate", ann_file, "-m", "mv", "--pred-probs", str(folder / "pred_probs.csv"), "-o", out])
        == 2  # a flag the method does not take: usage error
    )
    assert "does not use --pred-probs" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"item": ["0"], "0": [0.2], "1": [0.2], "2": [0.2]}).to_csv(bad, index=False)
    assert main(["aggregate", ann_file, "-m", "crowdlab", "--pred-probs", str(bad), "-o", out]) == 1
    assert "no row for 295 annotated item(s)" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ cleanlab, live
def _cleanlab_wide(annotations: Annotations) -> np.ndarray:
    wide = np.full((annotations.n_items, annotations.n_annotators), np.nan)
    wide[annotations.item, annotations.annotator] = annotations.label
    return wide


def _random_case(seed: int) -> tuple[Annotations, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_items, n_annotators, k = 60, 8, 3
    truth = rng.integers(k, size=n_items)
    rows = []
    for i in range(n_items):
        for a in rng.choice(n_annotators, size=rng.integers(1, 5), replace=False):
            label = truth[i] if rng.random() < 0.5 + 0.05 * a else rng.integers(k)
            rows.append((f"i{i:02d}", f"w{a}", f"c{label}"))
    annotations = Annotations.from_frame(
        pd.DataFrame(rows, columns=["item", "annotator", "label"]), classes=[f"c{j}" for j in range(k)]
    )
    pred_probs = rng.dirichlet(np.ones(k), size=annotations.n_items)
    return annotations, pred_probs


@pytest.mark.parametrize("case", ["tutorial", 0, 1, 2])
def test_matches_cleanlab_live(case, tutorial):
    """cleanlab (a dev dependency) run here: the same consensus labels, consensus quality, per-annotation and
    per-annotator quality, to round-off."""
    multiannotator = pytest.importorskip("cleanlab.multiannotator", reason="install accord[dev] for cleanlab")
    if case == "tutorial":
        annotations, pred_probs = tutorial[0].annotations, tutorial[1].to_numpy()
    else:
        annotations, pred_probs = _random_case(case)
    ours = CrowdLab().fit(annotations, pred_probs=pred_probs).consensus_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = multiannotator.get_label_quality_multiannotator(
            _cleanlab_wide(annotations), pred_probs, verbose=False, return_detailed_quality=True
        )
    quality = theirs["label_quality"]
    assert np.array_equal(ours.label_codes, quality["consensus_label"].to_numpy())
    assert np.allclose(
        ours.item_quality["consensus_quality"].to_numpy(),
        quality["consensus_quality_score"].to_numpy(),
        atol=1e-12,
    )
    detailed = theirs["detailed_label_quality"].to_numpy()  # items x annotators, NaN where unlabelled
    per_annotation = ours.annotation_quality["label_quality"].to_numpy()
    assert np.allclose(per_annotation, detailed[annotations.item, annotations.annotator], atol=1e-12)
    annotator_stats = theirs["annotator_stats"].sort_index()
    mine = ours.annotator_quality.loc[annotations.annotators[annotator_stats.index]]
    assert np.allclose(
        mine["quality"].to_numpy(), annotator_stats["annotator_quality"].to_numpy(), atol=1e-12
    )
