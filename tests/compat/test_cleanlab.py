"""accord.compat.cleanlab: cleanlab's keys, columns and input layout, a hand-checked case, and cleanlab 2.9
itself (a dev dependency) on its tutorial data and on random cases: every output equal to 1e-12."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from accord import DataQualityWarning, InvalidAnnotationsError, InvalidParameterError
from accord.compat import cleanlab as acl


@pytest.fixture(scope="module")
def tutorial(data_dir) -> tuple[pd.DataFrame, np.ndarray]:
    """cleanlab's tutorial data as its tutorial feeds it: items x annotators (NaN where unlabelled)."""
    folder = data_dir / "cleanlab_tutorial"
    long = pd.read_csv(folder / "annotations.csv")
    probs = pd.read_csv(folder / "pred_probs.csv").set_index("item").sort_index()
    wide = long.pivot(index="item", columns="annotator", values="label").reindex(probs.index)
    return wide, probs.to_numpy()


@pytest.fixture(scope="module")
def cl():
    return pytest.importorskip(
        "cleanlab.multiannotator", reason="cleanlab is a dev dependency; install accord[dev]"
    )


def run_cleanlab(fn, *args, **kwargs):
    """cleanlab prints notes and warns (e.g. about random tie-breaks); keep the test output clean."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def assert_same_frame(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert list(ours.columns) == list(theirs.columns)
    assert ours.index.equals(theirs.index)
    assert [str(t) for t in ours.dtypes] == [str(t) for t in theirs.dtypes]
    for column in theirs.columns:
        a, b = ours[column].to_numpy(), theirs[column].to_numpy()
        if b.dtype.kind == "f":
            assert np.array_equal(np.isnan(a), np.isnan(b)), column
            assert np.nanmax(np.abs(a - b), initial=0.0) < 1e-12, column
        else:
            assert np.array_equal(a, b), column


def assert_same_output(ours: dict, theirs: dict) -> None:
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        if isinstance(value, pd.DataFrame):
            assert_same_frame(ours[key], value)
        else:
            assert np.abs(np.asarray(ours[key], float) - np.asarray(value, float)).max() < 1e-12, key


def small() -> tuple[np.ndarray, np.ndarray]:
    labels = np.array([[0, 0, np.nan], [1, 1, 0], [0, np.nan, 0], [1, 0, 1], [np.nan, 1, np.nan]])
    pred_probs = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.4, 0.6], [0.1, 0.9]])
    return labels, pred_probs


# ----------------------------------------------------------------------------------------- layout, by hand
def test_keys_columns_and_ids_follow_cleanlab():
    labels, pred_probs = small()
    frame = pd.DataFrame(labels, index=list("abcde"), columns=["ann1", "ann2", "ann3"])
    out = acl.get_label_quality_multiannotator(frame, pred_probs, return_weights=True, verbose=False)
    assert list(out) == [
        "label_quality",
        "detailed_label_quality",
        "annotator_stats",
        "model_weight",
        "annotator_weight",
    ]
    quality = out["label_quality"]
    assert list(quality.columns) == [
        "consensus_label",
        "consensus_quality_score",
        "annotator_agreement",
        "num_annotations",
    ]
    assert quality.index.tolist() == list("abcde")
    assert quality["consensus_label"].tolist() == [0, 1, 0, 1, 1]
    assert quality["num_annotations"].tolist() == [2, 3, 2, 3, 1]
    assert quality["annotator_agreement"].tolist() == pytest.approx([1.0, 2 / 3, 1.0, 2 / 3, 1.0])
    detailed = out["detailed_label_quality"]
    assert list(detailed.columns) == [
        "quality_annotator_ann1",
        "quality_annotator_ann2",
        "quality_annotator_ann3",
    ]
    assert np.array_equal(np.isnan(detailed.to_numpy()), np.isnan(labels))
    stats = out["annotator_stats"]
    assert list(stats.columns) == [
        "annotator_quality",
        "agreement_with_consensus",
        "worst_class",
        "num_examples_labeled",
    ]
    assert sorted(stats.index) == ["ann1", "ann2", "ann3"]
    assert stats["annotator_quality"].is_monotonic_increasing
    assert stats.loc["ann2", "num_examples_labeled"] == 4
    assert stats.loc["ann2", "agreement_with_consensus"] == pytest.approx(3 / 4)  # wrong on item d
    assert out["annotator_weight"].shape == (3,)
    post_b = quality.loc["b", "consensus_quality_score"]
    assert detailed.loc["b", "quality_annotator_ann1"] == pytest.approx(post_b)  # ann1 gave the consensus
    assert detailed.loc["b", "quality_annotator_ann3"] == pytest.approx(1 - post_b)  # two classes


def test_array_input_numbers_annotators_and_extra_methods_add_columns():
    labels, pred_probs = small()
    out = acl.get_label_quality_multiannotator(
        labels, pred_probs, consensus_method=["majority_vote", "best_quality"], verbose=False
    )
    assert list(out["detailed_label_quality"].columns) == [f"quality_annotator_{j}" for j in range(3)]
    assert out["label_quality"].index.equals(pd.RangeIndex(5))
    assert list(out["label_quality"].columns)[4:] == [
        "consensus_label_best_quality",
        "consensus_quality_score_best_quality",
        "annotator_agreement_best_quality",
    ]
    assert set(out["annotator_stats"].index) == {0, 1, 2}


def test_agreement_quality_uses_correctly_placed_vote_shares():
    """cleanlab 2.9 compresses each item's vote counts (value_counts on float labels), so it would give item 0
    the consensus 0 although both its annotators said 2."""
    labels = np.array([[2, 2, np.nan], [0, 1, 1], [1, 1, 0], [0, 0, np.nan], [2, 1, 2]])
    pred_probs = np.full((5, 3), 1 / 3)
    out = acl.get_label_quality_multiannotator(labels, pred_probs, quality_method="agreement", verbose=False)
    quality = out["label_quality"]
    assert quality["consensus_label"].tolist() == [2, 1, 1, 0, 2]
    assert quality["consensus_quality_score"].tolist() == pytest.approx([1.0, 2 / 3, 2 / 3, 1.0, 2 / 3])
    assert out["detailed_label_quality"].iloc[4].tolist() == pytest.approx([2 / 3, 1 / 3, 2 / 3])


def test_majority_vote_label_tie_rules():
    labels = np.array([[0, 1, np.nan], [1, 1, 0], [2, np.nan, 2], [0, 2, np.nan], [2, 2, 2]])
    # item 0 ties 0/1: pred_probs prefer 1; item 3 ties 0/2: without pred_probs the rarer class over all votes
    # (class 0: 3 votes, class 2: 6)
    assert acl.get_majority_vote_label(labels, np.array([[0.2, 0.7, 0.1]] * 5)).tolist()[:3] == [1, 1, 2]
    assert acl.get_majority_vote_label(labels)[3] == 0


def test_verbose_false_silences_data_quality_warnings():
    rng = np.random.default_rng(0)
    truth = rng.integers(2, size=40)
    labels = np.column_stack([truth, truth, np.where(rng.random(40) < 0.8, truth, 1 - truth)]).astype(float)
    in_sample = np.eye(2)[truth] * 0.98 + 0.01  # agrees with the consensus everywhere, near-certain
    with pytest.warns(DataQualityWarning, match="out-of-sample"):
        acl.get_label_quality_multiannotator(labels, in_sample)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        acl.get_label_quality_multiannotator(labels, in_sample, verbose=False)


def test_bad_input_names_the_problem():
    labels, pred_probs = small()
    with pytest.raises(InvalidAnnotationsError, match="class codes 0..1"):
        acl.get_label_quality_multiannotator(np.where(labels == 1, 3, labels), pred_probs)
    with pytest.raises(InvalidAnnotationsError, match=r"annotator\(s\) \['z'\] labelled no item"):
        acl.get_label_quality_multiannotator(pd.DataFrame(labels).assign(z=np.nan), pred_probs)
    with pytest.raises(InvalidAnnotationsError, match="4 rows but labels_multiannotator has 5 items"):
        acl.get_label_quality_multiannotator(labels, pred_probs[:4])
    with pytest.raises(InvalidAnnotationsError, match="every item has exactly one label"):
        acl.get_label_quality_multiannotator(np.array([[0, np.nan], [np.nan, 1]]), pred_probs[:2])
    with pytest.raises(InvalidParameterError, match="consensus_method"):
        acl.get_label_quality_multiannotator(labels, pred_probs, consensus_method="mode")
    with pytest.raises(InvalidParameterError, match="quality_method='crowdlab' only"):
        acl.get_label_quality_multiannotator(
            labels, pred_probs, quality_method="agreement", return_weights=True
        )
    with pytest.raises(InvalidParameterError, match="'method' and 'adjust_pred_probs'"):
        acl.get_label_quality_multiannotator(labels, pred_probs, label_quality_score_kwargs={"temp": 2})
    with pytest.raises(InvalidParameterError, match="3-D"):
        acl.get_label_quality_multiannotator_ensemble(labels, pred_probs)
    with pytest.raises(InvalidParameterError, match="get_label_quality_multiannotator_ensemble"):
        acl.get_label_quality_multiannotator(labels, np.stack([pred_probs, pred_probs]))
    with pytest.raises(InvalidParameterError, match="cannot both be None"):
        acl.get_active_learning_scores(labels)
    with pytest.raises(InvalidAnnotationsError, match="NumPy array or a pandas DataFrame"):
        acl.get_majority_vote_label(labels.tolist())


def test_cleanlabs_temperature_search_on_the_tutorial(tutorial):
    wide, pred_probs = tutorial
    assert acl.find_best_temp_scaler(wide, pred_probs) == pytest.approx(7.25)
    scaled = acl.temp_scale_pred_probs(pred_probs, 2.0)
    assert np.allclose(scaled.sum(axis=1), 1.0)
    assert np.array_equal(scaled.argmax(axis=1), pred_probs.argmax(axis=1))
    assert (scaled.max(axis=1) <= pred_probs.max(axis=1) + 1e-15).all()  # T > 1 softens


def test_tutorial_consensus_accuracy(data_dir, tutorial):
    wide, pred_probs = tutorial
    gold = pd.read_csv(data_dir / "cleanlab_tutorial" / "gold.csv").set_index("item")["label"]
    consensus = acl.get_label_quality_multiannotator(wide, pred_probs, verbose=False)["label_quality"]
    assert (consensus["consensus_label"] == gold.reindex(consensus.index)).mean() == pytest.approx(290 / 296)


# --------------------------------------------------------------------------------------------- cleanlab, live
CASES = [
    {},
    {"consensus_method": "majority_vote"},
    {"consensus_method": ["best_quality", "majority_vote"], "return_weights": True},
    {"calibrate_probs": True},
    {"label_quality_score_kwargs": {"method": "normalized_margin"}},
    {"label_quality_score_kwargs": {"method": "confidence_weighted_entropy"}},
    {"label_quality_score_kwargs": {"adjust_pred_probs": True}},
    {"return_detailed_quality": False, "return_weights": True},
    {"quality_method": "agreement", "consensus_method": "majority_vote", "return_detailed_quality": False},
]


@pytest.mark.parametrize("as_frame", [True, False], ids=["frame", "array"])
@pytest.mark.parametrize("options", CASES, ids=[str(c) for c in CASES])
def test_matches_cleanlab_on_its_tutorial(cl, tutorial, options, as_frame):
    wide, pred_probs = tutorial
    labels = wide if as_frame else wide.to_numpy()
    theirs = run_cleanlab(cl.get_label_quality_multiannotator, labels, pred_probs, verbose=False, **options)
    ours = acl.get_label_quality_multiannotator(labels, pred_probs, verbose=False, **options)
    assert_same_output(ours, theirs)


def test_majority_vote_and_active_learning_match_cleanlab(cl, tutorial):
    wide, pred_probs = tutorial
    assert np.array_equal(
        acl.get_majority_vote_label(wide, pred_probs),
        run_cleanlab(cl.get_majority_vote_label, wide, pred_probs, verbose=False),
    )
    assert np.array_equal(
        acl.get_majority_vote_label(wide.to_numpy()),
        run_cleanlab(cl.get_majority_vote_label, wide.to_numpy(), verbose=False),
    )
    unlabeled = pred_probs[::10]
    for args in ((wide, pred_probs, unlabeled), (wide, pred_probs, None), (None, None, unlabeled)):
        ours = acl.get_active_learning_scores(*args)
        theirs = run_cleanlab(cl.get_active_learning_scores, *args)
        for a, b in zip(ours, theirs, strict=True):
            assert a.shape == b.shape
            assert np.abs(a - b).max(initial=0.0) < 1e-12


def test_active_learning_with_one_label_per_item_matches_cleanlab(cl, tutorial):
    wide, pred_probs = tutorial
    first = wide.notna().to_numpy().argmax(axis=1)
    single = np.full(wide.shape, np.nan)
    single[np.arange(len(wide)), first] = wide.to_numpy()[np.arange(len(wide)), first]
    single = single[:, ~np.isnan(single).all(axis=0)]
    ours = acl.get_active_learning_scores(single, pred_probs, pred_probs[:7])
    theirs = run_cleanlab(cl.get_active_learning_scores, single, pred_probs, pred_probs[:7])
    assert np.abs(ours[0] - theirs[0]).max() < 1e-12 and np.abs(ours[1] - theirs[1]).max() < 1e-12


@pytest.mark.parametrize("options", [{}, {"calibrate_probs": True}, {"return_weights": True}])
def test_ensemble_matches_cleanlab(cl, tutorial, options):
    wide, pred_probs = tutorial
    models = np.stack(
        [pred_probs, 0.7 * pred_probs + 0.3 * np.roll(pred_probs, 1, axis=1), pred_probs[:, [1, 0, 2]]]
    )
    theirs = run_cleanlab(
        cl.get_label_quality_multiannotator_ensemble, wide, models.copy(), verbose=False, **options
    )
    ours = acl.get_label_quality_multiannotator_ensemble(wide, models.copy(), verbose=False, **options)
    assert_same_output(ours, theirs)


def random_case(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_items, n_annotators, k = 60, 8, 2 + seed % 3
    truth = rng.integers(k, size=n_items)
    labels = np.full((n_items, n_annotators), np.nan)
    for i in range(n_items):
        chosen = rng.choice(n_annotators, size=rng.integers(1, 5), replace=False)
        right = rng.random(len(chosen)) < 0.5 + 0.05 * chosen
        labels[i, chosen] = np.where(right, truth[i], rng.integers(k, size=len(chosen)))
    return labels[:, ~np.isnan(labels).all(axis=0)], rng.dirichlet(np.ones(k), size=n_items)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_cleanlab_on_random_cases(cl, seed):
    labels, pred_probs = random_case(seed)
    for options in (
        {},
        {"calibrate_probs": True, "consensus_method": "majority_vote"},
        {"label_quality_score_kwargs": {"method": "normalized_margin", "adjust_pred_probs": True}},
    ):
        theirs = run_cleanlab(
            cl.get_label_quality_multiannotator, labels, pred_probs, verbose=False, **options
        )
        assert_same_output(
            acl.get_label_quality_multiannotator(labels, pred_probs, verbose=False, **options), theirs
        )
    ours = acl.get_active_learning_scores(labels, pred_probs, pred_probs[:5])
    theirs = run_cleanlab(cl.get_active_learning_scores, labels, pred_probs, pred_probs[:5])
    assert np.abs(ours[0] - theirs[0]).max() < 1e-12 and np.abs(ours[1] - theirs[1]).max() < 1e-12


def test_label_quality_scores_match_cleanlab_rank():
    rank = pytest.importorskip("cleanlab.rank")
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4) * 0.7, size=50)
    labels = rng.integers(3, size=50)  # class 3 never given: its confident threshold is cleanlab's 2
    for method in acl.SCORE_METHODS:
        for adjust in (False, True) if method != "confidence_weighted_entropy" else (False,):
            ours = acl.label_quality_scores(labels, probs, method=method, adjust_pred_probs=adjust)
            theirs = rank.get_label_quality_scores(labels, probs, method=method, adjust_pred_probs=adjust)
            assert np.abs(ours - theirs).max() < 1e-12, (method, adjust)
