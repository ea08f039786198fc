"""M-MSR: agreement matrix and trimmed means against naive references, rank-one recovery, real data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from accord import Annotations
from accord.datasets import load_dataset
from accord.errors import ConvergenceWarning
from accord.evaluation import accuracy
from accord.models import MMSR
from accord.models.mmsr import MsrGraph, _tie_sign, _trimmed_means, agreement_matrix


def _random_annotations(seed=0, k=3):
    rng = np.random.default_rng(seed)
    rows = [(i, f"a{a}", int(rng.integers(0, k))) for i in range(40) for a in rng.choice(7, 3, replace=False)]
    return Annotations.from_frame(pd.DataFrame(rows, columns=["item", "annotator", "label"]))


def test_agreement_matrix_matches_pairwise_loop():
    ann = _random_annotations()
    k = ann.n_classes
    wide = np.full((ann.n_items, ann.n_annotators), -1)
    wide[ann.item, ann.annotator] = ann.label
    centred, common = agreement_matrix(ann)
    for a in range(ann.n_annotators):
        for b in range(ann.n_annotators):
            both = (wide[:, a] >= 0) & (wide[:, b] >= 0)
            n = int(both.sum()) if a != b else 0
            assert common[a, b] == n
            if n:
                share = np.mean(wide[both, a] == wide[both, b])
                assert centred[a, b] == pytest.approx(k / (k - 1) * share - 1 / (k - 1))
            else:
                assert centred[a, b] == 0.0


def _trim_reference(x, f, current):
    """crowd-kit's ``_remove_largest_and_smallest_F_value`` for F >= 0, then the mean (or the old value)."""
    y = np.sort(x)
    y = y[y >= current] if np.sum(y < current) < f else y[f:]
    m = len(y)
    y = y[y <= current] if np.sum(y > current) < f else y[: m - f]
    return y.mean() if len(y) else current


@pytest.mark.parametrize("f", [0, 1, 2, 4])
def test_trimmed_means_match_reference(f):
    rng = np.random.default_rng(f)
    ratios = rng.random((9, 6))
    observed = rng.random((9, 6)) < 0.7
    current = rng.random(6)
    fast = _trimmed_means(ratios, observed, current, f, floor=0.1)
    for j in range(6):
        assert fast[j] == pytest.approx(_trim_reference(ratios[observed[:, j], j], f, current[j]))


def test_recovers_one_coin_skills_and_signs():
    rng = np.random.default_rng(4)
    k, n_items = 2, 600
    accuracies = np.array([0.95, 0.9, 0.8, 0.75, 0.7, 0.65, 0.2])  # the last one is adversarial
    truth = rng.integers(0, k, size=n_items)
    rows = []
    for i in range(n_items):
        for a in range(len(accuracies)):
            rows.append((i, a, int(truth[i] if rng.random() < accuracies[a] else 1 - truth[i])))
    model = MMSR().fit(pd.DataFrame(rows, columns=["item", "annotator", "label"]))
    np.testing.assert_allclose(model.accuracies_.to_numpy(), accuracies, atol=0.06)
    assert model.skills_.iloc[-1] < 0 < model.skills_.iloc[0]
    assert np.mean(model.labels_.to_numpy() == truth) > 0.97


def test_probabilities_are_the_one_coin_posterior():
    ann = _random_annotations(seed=2)
    model = MMSR().fit(ann)
    w = model.skills_.to_numpy()
    votes = ann.vote_counts(w[ann.annotator])
    expected = np.exp(votes - votes.max(axis=1, keepdims=True))
    np.testing.assert_allclose(model.proba_.to_numpy(), expected / expected.sum(axis=1, keepdims=True))


# crowd-kit MMSR accuracy (ANCHORS.md): reached or beaten, within half a point
@pytest.mark.parametrize(
    "name, reference",
    [
        ("rsip_pneumonia", 0.94),
        ("temp", 0.9242),
        ("zencrowd_us", 0.8622),
        ("bluebirds", 0.7130),
        ("sentiment", 0.9370),
        ("wsd", 0.9943),
    ],
)
def test_real_datasets(data_dir, name, reference):
    data = load_dataset(data_dir / name)
    assert accuracy(MMSR().fit(data.annotations).labels_, data.gold) >= reference - 0.005


def test_adversarial_annotators_get_negative_weight(data_dir):
    model = MMSR().fit(load_dataset(data_dir / "rsip_pneumonia").annotations)
    assert (model.skills_[["Bad 1", "Bad 2"]] < 0).all()


def _tiny_binary(seed: int) -> Annotations:
    """2-11 items, 2-5 annotators, 1-3 labels per item: sizes on which the MSR factors used to overflow."""
    rng = np.random.default_rng(seed)
    n_items, n_ann = int(rng.integers(2, 12)), int(rng.integers(2, 6))
    rows = []
    for i in range(n_items):
        for a in rng.choice(n_ann, size=int(rng.integers(1, min(3, n_ann) + 1)), replace=False):
            rows.append((f"i{i}", f"a{a}", str(rng.integers(0, 2))))
    return Annotations.from_frame(
        pd.DataFrame(rows, columns=["item", "annotator", "label"]), classes=["0", "1"]
    )


def test_tiny_binary_sets_raise_no_floating_point_error():
    # before the factors were rebalanced, 9 of these 60 sets overflowed within 500 sweeps (10 at 10000)
    for seed in range(60):
        ann = _tiny_binary(seed)
        with np.errstate(all="raise"), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # the trimmed means can cycle on tiny graphs
            model = MMSR(max_iter=500, random_state=seed).fit(ann)
        proba = model.proba_.to_numpy()
        assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1.0), seed
        assert np.isfinite(model.skills_.to_numpy()).all(), seed


def test_default_start_does_not_depend_on_ids_or_row_order():
    frame = _tiny_binary(3).to_frame()
    for seed in (4, 5):
        frame = pd.concat(
            [frame, _tiny_binary(seed).to_frame().assign(item=lambda f, s=seed: f"{s}" + f["item"])]
        )
    rng = np.random.default_rng(0)
    names = frame["annotator"].unique()
    renamed = frame.assign(
        annotator=frame["annotator"].map(dict(zip(names, rng.permutation(names)[::-1] + "x", strict=True)))
    )
    renamed = renamed.sample(frac=1.0, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        base = MMSR().fit(Annotations.from_frame(frame, classes=["0", "1"])).proba_
        other = MMSR().fit(Annotations.from_frame(renamed, classes=["0", "1"])).proba_
    np.testing.assert_allclose(other.loc[base.index].to_numpy(), base.to_numpy(), atol=1e-9)


# Two groups of three annotators, each group equally skilled: the skill-weighted sum of the signs is an exact
# tie, whose rounding sign used to follow the annotators' order (a label-switched posterior after renaming).
TIED_GROUPS = [
    ("i0", "a0", "c1"), ("i0", "a4", "c1"), ("i1", "a4", "c0"), ("i1", "a3", "c1"), ("i1", "a0", "c0"),
    ("i1", "a2", "c0"), ("i1", "a1", "c1"), ("i1", "a5", "c1"), ("i2", "a5", "c1"), ("i2", "a0", "c1"),
]  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
def test_tied_sign_groups_are_oriented_the_same_whatever_the_order(seed):
    frame = pd.DataFrame(TIED_GROUPS, columns=["item", "annotator", "label"])
    base = MMSR(max_iter=300).fit(frame)
    other_frame = frame.iloc[np.random.default_rng(seed).permutation(len(frame))]
    other_frame = other_frame.assign(
        annotator="w-" + other_frame["annotator"], item="t-" + other_frame["item"]
    )
    other = MMSR(max_iter=300).fit(other_frame)
    proba = other.proba_.rename(index=lambda i: i[2:]).loc[base.proba_.index]
    np.testing.assert_allclose(proba.to_numpy(), base.proba_.to_numpy(), atol=1e-9)
    # the tie goes to the group that casts more votes: a0, a4, a2 (6 votes) against a3, a1, a5 (4)
    accuracies = base.accuracies_
    assert (accuracies[["a0", "a4", "a2"]] > 0.5).all() and (accuracies[["a1", "a3", "a5"]] < 0.5).all()
    assert base.proba_.loc["i1", "c0"] > 0.9


def test_tie_sign_counts_votes_then_classes():
    ann = Annotations.from_frame(pd.DataFrame(TIED_GROUPS, columns=["item", "annotator", "label"]))
    graph = MsrGraph.of(ann)
    group = np.isin(ann.annotators, ["a0", "a4", "a2"])  # 6 votes against 4
    np.testing.assert_array_equal(graph.signs, np.where(group, 1.0, -1.0))
    assert graph.tie_sign == 1.0
    assert _tie_sign(-graph.signs, ann) == -1.0  # the sign of the group with more votes, either way
    # equal votes (a4: c1, c0 against a5: c1, c1): the group with more votes for the first class
    pair = np.where(ann.annotators == "a4", 1.0, np.where(ann.annotators == "a5", -1.0, 0.0))
    assert _tie_sign(pair, ann) == 1.0 and _tie_sign(-pair, ann) == -1.0
    assert _tie_sign(np.zeros(ann.n_annotators), ann) == 1.0
