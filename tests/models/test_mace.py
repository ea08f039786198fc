"""MACE: the vectorised EM and VB steps against a loop written from the paper, EM monotonicity, restarts,
and accuracy on real data (crowd-kit's MACE differs: see test_crowdkit_difference_is_its_indexing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import digamma

from accord import Annotations
from accord.datasets import load_dataset
from accord.errors import InvalidParameterError
from accord.evaluation import accuracy
from accord.models.mace import (
    MACE,
    MaceData,
    annotator_keys,
    e_step,
    expected_counts,
    keyed_params,
    random_params,
    restart_seeds,
)


def spam_data(n_items=60, k=3, seed=0, per_item=None):
    """Two reliable annotators, one perfect, two spammers (one always says class 0, one answers at random)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, size=n_items)
    rows = []
    for i in range(n_items):
        answers = {
            "perfect": truth[i],
            "good": truth[i] if rng.random() < 0.8 else rng.integers(0, k),
            "fair": truth[i] if rng.random() < 0.65 else rng.integers(0, k),
            "always0": 0,
            "random": rng.integers(0, k),
        }
        names = list(answers)
        if per_item is not None:
            names = list(rng.choice(names, per_item, replace=False))
        rows += [(i, a, int(answers[a])) for a in names]
    return pd.DataFrame(rows, columns=["item", "annotator", "label"]), truth


def loop_reference(ann, spam, know, xi, n_iter, method, s):
    """MACE written annotation by annotation in probability space (Hovy et al. 2013 / the reference Java)."""
    n_items, n_ann, k = ann.n_items, ann.n_annotators, ann.n_classes
    item, annot, label = ann.item, ann.annotator, ann.label
    for it in range(n_iter + 1):
        post = np.full((n_items, k), 1.0 / k)
        for n in range(len(item)):
            for c in range(k):
                post[item[n], c] *= spam[annot[n]] * xi[annot[n], label[n]] + know[annot[n]] * (label[n] == c)
        z = post.sum(axis=1, keepdims=True)
        post = post / z
        if it == n_iter:
            return post, float(np.log(z).sum())
        e_know, e_spam, strat = np.zeros(n_ann), np.zeros(n_ann), np.zeros((n_ann, k))
        for n in range(len(item)):
            a, lab, i = annot[n], label[n], item[n]
            f = [spam[a] * xi[a, lab] + know[a] * (lab == c) for c in range(k)]
            p_know = post[i, lab] * know[a] / f[lab]
            p_spam = sum(post[i, c] * spam[a] * xi[a, lab] / f[c] for c in range(k))
            assert p_know + p_spam == pytest.approx(1.0)
            e_know[a] += p_know
            e_spam[a] += p_spam
            strat[a, lab] += p_spam
        if method == "em":
            know, spam = (e_know + s) / (e_know + e_spam + 2 * s), (e_spam + s) / (e_know + e_spam + 2 * s)
            xi = (strat + s) / (strat.sum(axis=1, keepdims=True) + k * s)
        else:
            den = np.exp(digamma(e_know + e_spam + 1.0))
            know, spam = np.exp(digamma(e_know + 0.5)) / den, np.exp(digamma(e_spam + 0.5)) / den
            xi = np.exp(digamma(strat + 10.0)) / np.exp(digamma(strat.sum(axis=1, keepdims=True) + 10.0 * k))


@pytest.mark.parametrize("method", ["em", "vb"])
def test_matches_loop_reference(method):
    frame, _ = spam_data(n_items=25, per_item=3, seed=1)
    ann = Annotations.from_frame(frame)
    model = MACE(method=method, n_restarts=1, max_iter=6, random_state=3).fit(ann)
    seed = restart_seeds(np.random.default_rng(3), 1)[0]
    start = keyed_params(annotator_keys(MaceData.of(ann)), seed, ann.n_classes, 0.5)
    post, ll = loop_reference(
        ann, np.exp(start.log_spam), np.exp(start.log_know), np.exp(start.log_xi), 6, method, 0.01 / 3
    )
    np.testing.assert_allclose(model.proba_.to_numpy(), post, atol=1e-12)
    assert model.log_likelihood_ == pytest.approx(ll, rel=1e-12)


def test_expected_counts_add_up():
    frame, _ = spam_data(n_items=20, seed=2)
    ann = Annotations.from_frame(frame)
    data = MaceData.of(ann)
    params = random_params(np.random.default_rng(0), ann.n_annotators, 3, 0.5)
    post, _ = e_step(data, params, np.full(3, -np.log(3)))
    e_know, spam = expected_counts(data, params, post)
    np.testing.assert_allclose(e_know + spam.sum(axis=1), ann.annotator_sizes())
    assert (e_know >= 0).all() and (spam >= 0).all()


def test_em_objective_never_decreases():
    frame, _ = spam_data(n_items=80, per_item=3, seed=4)
    model = MACE(method="em", n_restarts=1, max_iter=40, random_state=0).fit(frame)
    objective = model.history_["objective"].to_numpy()
    assert np.all(np.diff(objective) >= -1e-9 * np.abs(objective[:-1]))


def test_spammers_found_and_perfect_annotator_recovered():
    frame, truth = spam_data(n_items=120, seed=5)
    model = MACE(random_state=0).fit(frame)
    competence = model.competence_
    assert competence.idxmax() == "perfect" and competence["perfect"] > 0.95
    assert competence[["always0", "random"]].max() < 0.2
    assert model.strategies_.loc["always0", 0] > 0.8  # the spammer's strategy is "always class 0"
    assert np.array_equal(model.labels_.sort_index().to_numpy(), truth)
    np.testing.assert_allclose(model.proba_.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(model.consensus_.confusions.sum(axis=2), 1.0, atol=1e-12)
    np.testing.assert_allclose(model.consensus_.annotator_quality["quality"], competence.to_numpy())


def test_seeds_restarts_and_determinism():
    frame, _ = spam_data(n_items=40, per_item=2, seed=6)
    a, b = MACE(random_state=7).fit(frame), MACE(random_state=7).fit(frame)
    pd.testing.assert_frame_equal(a.proba_, b.proba_)
    assert len(np.unique(np.round(a.restart_log_likelihoods_, 8))) > 1  # every start is a different draw
    one = MACE(n_restarts=1, random_state=7).fit(frame)  # the same first start: more starts are never worse
    assert a.log_likelihood_ >= one.log_likelihood_
    assert a.log_likelihood_ == pytest.approx(a.restart_log_likelihoods_.max())


def _renamed_and_shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    other = frame.iloc[np.random.default_rng(seed).permutation(len(frame))].reset_index(drop=True)
    return other.assign(
        annotator="w-" + other["annotator"].astype(str), item="t-" + other["item"].astype(str)
    )


@pytest.mark.parametrize("method", ["vb", "em"])
def test_renaming_ids_and_shuffling_rows_change_nothing(method):
    """Every start is a hash of the seed and of the annotator's counts, so renamed annotators (here also in
    another code order) get the same starts: the same restart wins and the posteriors agree to rounding."""
    frame, _ = spam_data(n_items=30, per_item=3, seed=11)
    frame = frame.assign(annotator=frame["annotator"].astype(str), item=frame["item"].astype(str))
    model = MACE(method=method, n_restarts=4, random_state=5).fit(frame)
    other = MACE(method=method, n_restarts=4, random_state=5).fit(_renamed_and_shuffled(frame, 1))
    assert list(other.competence_.index) != ["w-" + a for a in model.competence_.index]  # other codes
    renamed = other.proba_.rename(index=lambda i: i[2:])
    np.testing.assert_allclose(renamed.loc[model.proba_.index].to_numpy(), model.proba_.to_numpy(), atol=1e-9)
    np.testing.assert_allclose(other.restart_log_likelihoods_, model.restart_log_likelihoods_, rtol=1e-9)
    competence = other.competence_.rename(index=lambda a: a[2:]).loc[model.competence_.index]
    np.testing.assert_allclose(competence.to_numpy(), model.competence_.to_numpy(), atol=1e-9)


def test_annotator_keys_follow_counts_not_codes():
    frame, _ = spam_data(n_items=30, per_item=3, seed=12)
    ann = Annotations.from_frame(frame)
    other = Annotations.from_frame(_renamed_and_shuffled(frame, 2))
    keys = pd.Series(annotator_keys(MaceData.of(ann)), index=ann.annotators)
    keys2 = pd.Series(annotator_keys(MaceData.of(other)), index=[a[2:] for a in other.annotators])
    assert keys.to_dict() == keys2.to_dict()
    assert keys.nunique() == len(keys)  # different counts, different keys
    seeds = restart_seeds(np.random.default_rng(0), 2)
    first, second = (keyed_params(keys.to_numpy(), s, ann.n_classes, 0.5) for s in seeds)
    assert not np.allclose(first.log_xi, second.log_xi)  # a new seed, a new start
    again = keyed_params(keys.to_numpy(), seeds[0], ann.n_classes, 0.5)
    np.testing.assert_array_equal(first.log_xi, again.log_xi)  # same (key, seed), same draw
    xi, k = np.exp(first.log_xi), ann.n_classes  # (1 + 0.5 u) / sum over k entries, u in [0, 1)
    assert (xi >= 1 / (1.5 * k)).all() and (xi <= 1.5 / k).all()


def test_tol_stops_early_and_class_prior_options():
    frame, truth = spam_data(n_items=60, per_item=3, seed=8)
    early = MACE(tol=1e-2, random_state=0).fit(frame)
    assert early.n_iter_ < 50 and early.converged_
    learned = MACE(class_prior="learn", random_state=0).fit(frame)
    assert learned.priors_.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(learned.priors_, np.bincount(truth, minlength=3) / 60, atol=0.05)
    assert MACE(random_state=0).fit(frame).priors_.tolist() == pytest.approx([1 / 3] * 3)


def test_gold_items_are_clamped():
    frame, truth = spam_data(n_items=30, per_item=3, seed=9)
    gold = pd.Series({0: (truth[0] + 1) % 3})
    model = MACE(random_state=0).fit(frame, gold=gold)
    assert model.labels_[0] == (truth[0] + 1) % 3 and model.proba_.loc[0].max() == 1.0


@pytest.mark.parametrize(
    "params, match",
    [
        ({"method": "gibbs"}, "method"),
        ({"n_restarts": 0}, "n_restarts"),
        ({"alpha": 0.0}, "alpha"),
        ({"smoothing": -1.0}, "smoothing"),
        ({"class_prior": [1.0]}, "class_prior"),
    ],
)
def test_bad_parameters(params, match):
    frame, _ = spam_data(n_items=5)
    with pytest.raises(InvalidParameterError, match=match):
        MACE(**params).fit(frame)


# Accuracy on gold, measured with this implementation (default: VB, 10 starts, 50 iterations, seed 0), and
# crowd-kit 1.4.2's MACE as in ANCHORS.md.
REAL = [
    ("sp", 0.9178, 0.9148),
    ("rte", 0.9263, 0.9250),
    ("bluebirds", 0.8611, 0.7500),
    ("slr_use_of_tech", 0.8900, 0.9100),
]


@pytest.mark.parametrize("name, ours, crowdkit", REAL)
def test_accuracy_on_real_datasets(data_dir, name, ours, crowdkit):
    data = load_dataset(data_dir / name)
    acc = accuracy(MACE(random_state=0).fit(data.annotations).labels_, data.gold)
    assert acc == pytest.approx(ours, abs=0.0021)


def test_crowdkit_difference_is_its_indexing(data_dir):
    """crowd-kit 1.4.2 fills its strategy matrix from a groupby (annotators and labels sorted) but reads it by
    factorize codes (order of appearance), so annotators get other annotators' spam strategies. With that
    fixed, crowd-kit gives 0.89 on slr_use_of_tech, as we do, instead of its 0.91 (and ours on zencrowd_us,
    bluebirds, sentiment, ...: measured with its code patched, see benchmarks/models_accuracy.py
    --crowdkit-fixed). The scrambled strategies act like uninformative ones: with uniform strategies forced by
    a huge Dirichlet prior (a one-coin model) our MACE gets 0.90 here."""
    data = load_dataset(data_dir / "slr_use_of_tech")
    one_coin_like = MACE(strategy_prior=1e6, random_state=0).fit(data.annotations)
    assert accuracy(one_coin_like.labels_, data.gold) == pytest.approx(0.90, abs=0.0001)
