"""accord.compat.crowdkit: crowd-kit's layout and parameters, hand-checked cases, and the real crowd-kit
(where installed) on public datasets: the same posteriors, error matrices and skills to round-off with the
same number of iterations, and >= 99% label agreement with each library's own stopping rule."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from accord import DataQualityWarning, InvalidAnnotationsError, InvalidParameterError, NotFittedError
from accord.compat import crowdkit as ac


def small() -> pd.DataFrame:
    """Three workers; c disagrees with a and b on task 1; task 3 is labelled by a alone; a and b tie on 4."""
    return pd.DataFrame(
        {"task": [1, 1, 1, 2, 2, 2, 3, 4, 4], "worker": list("abcabcaab"), "label": list("xxyyyyxxy")}
    )


@pytest.fixture(scope="module")
def real(data_dir):
    def load(name: str) -> pd.DataFrame:
        frame = pd.read_csv(data_dir / name / "annotations.csv")
        return frame.rename(columns={"item": "task", "annotator": "worker"})

    return load


@pytest.fixture(scope="module")
def ck():
    return pytest.importorskip("crowdkit.aggregation", reason="crowd-kit is not installed")


def quiet(fn, *args, **kwargs):
    """Run crowd-kit, whose pandas code raises FutureWarnings under recent pandas."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ------------------------------------------------------------------------------------------------ layout


def test_labels_and_probas_have_crowdkits_names():
    ds = ac.DawidSkene().fit(small())
    assert ds.labels_.name == "agg_label" and ds.labels_.index.name == "task"
    assert ds.labels_.loc[[1, 2, 3]].tolist() == ["x", "y", "x"]
    assert ds.probas_.index.name == "task" and ds.probas_.columns.name == "label"
    assert ds.probas_.columns.tolist() == ["x", "y"]
    assert np.allclose(ds.probas_.sum(axis=1), 1.0)
    assert ds.priors_.name == "prior" and ds.priors_.index.tolist() == ["x", "y"]
    assert ds.priors_.to_numpy() == pytest.approx(ds.probas_.mean().to_numpy())
    assert ds.fit_predict(small()).equals(ds.labels_)
    assert ds.fit_predict_proba(small()).equals(ds.probas_)


def test_errors_are_indexed_by_worker_and_given_label_with_true_labels_as_columns():
    ds = ac.DawidSkene().fit(small())
    errors = ds.errors_
    assert errors.index.names == ["worker", "label"]
    assert errors.columns.tolist() == ["x", "y"]
    assert errors.groupby(level="worker").sum().to_numpy() == pytest.approx(np.ones((3, 2)))
    # worker c said "y" on both its tasks, so it says "y" whatever the truth; it never says "x"
    assert errors.loc[("c", "y")].tolist() == pytest.approx([1.0, 1.0])
    assert errors.loc[("c", "x")].tolist() == [0.0, 0.0]
    # the same numbers as accord's confusion matrices, transposed: one M-step on the final posterior
    post = ds.probas_.to_numpy()
    n_given_x_true_x = post[0, 0] + post[2, 0] + post[3, 0]  # a said x on tasks 1, 3 and 4
    n_true_x = post[:, 0].sum()
    assert errors.loc[("a", "x"), "x"] == pytest.approx(n_given_x_true_x / n_true_x)


def test_integer_labels_keep_their_type():
    df = small().assign(label=lambda d: (d["label"] == "y").astype(int))
    mv = ac.MajorityVote().fit(df)
    assert mv.labels_.dtype.kind == "i"
    assert mv.probas_.columns.tolist() == [0, 1]


def test_majority_vote_with_skills_and_missing_skill_policies():
    df = small()
    mv = ac.MajorityVote().fit(df)
    assert mv.labels_.to_dict() == {1: "x", 2: "y", 3: "x", 4: "x"}  # task 4 tied: the first label, as idxmax
    assert mv.skills_.name == "skill" and mv.skills_.to_dict() == pytest.approx(
        {"a": 1.0, "b": 2 / 3, "c": 0.5}
    )
    weighted = ac.MajorityVote().fit(df, skills=pd.Series({"a": 1.0, "b": 3.0, "c": 1.0}))
    assert weighted.labels_.loc[4] == "y"
    assert weighted.probas_.loc[4].tolist() == pytest.approx([0.25, 0.75])
    with pytest.raises(InvalidAnnotationsError, match="1 worker"):
        ac.MajorityVote().fit(df, skills=pd.Series({"a": 1.0, "b": 3.0}))
    ignored = ac.MajorityVote(on_missing_skill="ignore").fit(df, skills=pd.Series({"a": 1.0, "b": 3.0}))
    assert ignored.labels_.loc[1] == "x"
    valued = ac.MajorityVote(on_missing_skill="value", default_skill=5.0).fit(
        df, skills=pd.Series({"a": 1.0, "b": 1.0})
    )
    assert valued.labels_.loc[1] == "y"  # c's weight 5 beats a + b
    with pytest.raises(InvalidParameterError, match="default_skill"):
        ac.MajorityVote(on_missing_skill="value").fit(df, skills=pd.Series({"a": 1.0}))


def test_majority_vote_ties_go_to_the_label_seen_first_as_in_crowdkit():
    df = pd.DataFrame({"task": [1, 1, 2, 2], "worker": list("abab"), "label": ["dog", "cat", "cat", "dog"]})
    mv = ac.MajorityVote().fit(df)
    assert mv.probas_.columns.tolist() == ["dog", "cat"]  # crowd-kit's column order: first appearance
    assert mv.labels_.tolist() == ["dog", "dog"]
    assert ac.MajorityVote().fit(df.iloc[[1, 0, 2, 3]]).labels_.tolist() == ["cat", "cat"]


def test_wawa_and_zbs_predict_with_the_fitted_skills():
    df = small()
    wawa = ac.Wawa().fit(df)
    assert wawa.skills_.to_dict() == pytest.approx({"a": 1.0, "b": 2 / 3, "c": 0.5})
    assert wawa.predict(df).equals(wawa.labels_)
    assert wawa.predict_proba(df).loc[4].tolist() == pytest.approx([0.6, 0.4])
    zbs = ac.ZeroBasedSkill(n_iter=50).fit(df)
    assert zbs.fit_predict(df).to_dict() == {1: "x", 2: "y", 3: "x", 4: "x"}
    with pytest.raises(InvalidAnnotationsError, match="no skill"):
        wawa.predict(pd.DataFrame({"task": [9], "worker": ["new"], "label": ["x"]}))
    with pytest.raises(NotFittedError):
        ac.Wawa().predict(df)


def test_one_coin_skills_errors_and_priors():
    oc = ac.OneCoinDawidSkene(n_iter=50).fit(small())
    post = oc.probas_
    # skill = mean posterior of the labels the worker gave
    assert oc.skills_.loc["c"] == pytest.approx((post.loc[1, "y"] + post.loc[2, "y"]) / 2)
    s = oc.skills_.loc["a"]
    assert oc.errors_.loc[("a", "x"), "x"] == pytest.approx(s)
    assert oc.errors_.loc[("a", "y"), "x"] == pytest.approx(1 - s)
    with pytest.raises(InvalidParameterError, match="no initial_error"):
        oc.fit(small(), initial_error=ac.DawidSkene().fit(small()).errors_)


def test_true_labels_are_clamped():
    ds = ac.DawidSkene().fit(small(), true_labels=pd.Series({4: "y"}))
    assert ds.labels_.loc[4] == "y"
    assert ds.probas_.loc[4].tolist() == [0.0, 1.0]


def test_initial_error_assign_and_addition():
    df = small()
    index = pd.MultiIndex.from_product([list("abc"), ["x", "y"]], names=["worker", "label"])
    flip = pd.DataFrame([[0.1, 0.9], [0.9, 0.1]] * 3, index=index, columns=["x", "y"])  # everyone lies
    with pytest.warns(DataQualityWarning, match="contradicts the unanimous annotators"):
        assigned = ac.DawidSkene(initial_error_strategy="assign").fit(df, initial_error=flip)
    assert assigned.labels_.loc[2] == "x"  # three "y" from liars: the truth is x, and EM stays there
    assert ac.DawidSkene().fit(df).labels_.loc[2] == "y"
    counts = pd.DataFrame(
        [[1000.0, 0.0]],
        index=pd.MultiIndex.from_tuples([("c", "y")], names=["worker", "label"]),
        columns=["x", "y"],
    )
    added = ac.DawidSkene(initial_error_strategy="addition").fit(df, initial_error=counts)
    assert added.errors_.loc[("c", "y"), "x"] > 0.9  # c's history: says y when the truth is x
    with pytest.raises(InvalidParameterError, match="every worker's matrix"):
        ac.DawidSkene(initial_error_strategy="assign").fit(df, initial_error=counts)
    with pytest.raises(InvalidParameterError, match="indexed by \\(worker, label\\)"):
        ac.DawidSkene(initial_error_strategy="assign").fit(df, initial_error=flip.reset_index())


def test_glad_alphas_betas_and_priors():
    df = small()
    glad = ac.GLAD().fit(df)
    assert glad.alphas_.name == "alpha" and glad.alphas_.index.name == "worker"
    assert glad.betas_.name == "beta" and glad.betas_.index.name == "task"
    assert np.allclose(np.exp(-glad.betas_.to_numpy()), glad.model_.difficulties_.to_numpy())
    assert glad.alphas_.to_numpy() == pytest.approx(glad.model_.abilities_.to_numpy())
    assert glad.priors_.tolist() == [0.5, 0.5]
    assert len(glad.loss_history_) == glad.model_.n_iter_
    skewed = ac.GLAD(labels_priors=pd.Series({"y": 0.9, "x": 0.1})).fit(df)
    assert skewed.priors_.tolist() == pytest.approx([0.1, 0.9])
    same = ac.GLAD(alphas_priors_mean=pd.Series(1.0, index=list("abc"))).fit(df)
    assert same.labels_.equals(glad.labels_)
    with pytest.raises(InvalidParameterError, match="same mean"):
        ac.GLAD(alphas_priors_mean=pd.Series({"a": 1.0, "b": 2.0, "c": 1.0})).fit(df)
    with pytest.raises(InvalidParameterError, match="every label"):
        ac.GLAD(labels_priors=pd.Series({"x": 1.0})).fit(df)


def test_mace_arrays_follow_crowdkits_order():
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "worker": list("cabcab"), "label": list("yyxxxx")})
    mace = ac.MACE(n_restarts=2, random_state=3).fit(df)
    assert mace.spamming_.shape == (3, 2) and mace.thetas_.shape == (3, 2)
    # rows: workers in order of appearance (c, a, b); columns of thetas_: labels in order of appearance (y, x)
    strategies = mace.model_.strategies_
    assert mace.thetas_[0].tolist() == pytest.approx(strategies.loc["c", ["y", "x"]].tolist())
    assert mace.spamming_[1].tolist() == pytest.approx(
        mace.model_.spamming_.loc["a", ["spam", "know"]].tolist()
    )
    assert mace.smoothing_ == pytest.approx(0.005)
    assert mace.theta_priors_ is not None and mace.theta_priors_.tolist() == [[0.5, 0.5]] * 3
    assert ac.MACE(method="em", n_restarts=1).fit(df).theta_priors_ is None


def test_mmsr_scores_and_kos():
    df = small()
    mmsr = ac.MMSR().fit(df)
    assert mmsr.skills_.name == "skill"
    weights = mmsr.skills_
    total = weights["a"] + weights["b"] + weights["c"]
    assert mmsr.scores_.loc[1, "x"] == pytest.approx((weights["a"] + weights["b"]) / total)
    assert mmsr.fit_predict_score(df).equals(mmsr.scores_)
    assert mmsr.predict(df).loc[2] == "y"
    assert np.allclose(mmsr.probas_.sum(axis=1), 1.0)
    kos = ac.KOS().fit(df)
    assert kos.labels_.name == "agg_label" and set(kos.labels_) <= {"x", "y"}
    with pytest.raises(InvalidParameterError, match="binary"):
        ac.KOS().fit(pd.DataFrame({"task": [1, 1, 2], "worker": list("aba"), "label": list("xyz")}))


def test_bad_input_names_the_problem():
    with pytest.raises(InvalidAnnotationsError, match="lacks column\\(s\\) \\['task'\\]"):
        ac.DawidSkene().fit(pd.DataFrame({"item": [1], "worker": ["a"], "label": ["x"]}))
    with pytest.raises(InvalidAnnotationsError, match="expected a pandas DataFrame"):
        ac.MajorityVote().fit([("1", "a", "x")])


def test_renaming_workers_and_shuffling_rows_changes_nothing():
    """Except for the vote models, whose ties go to the label seen first (crowd-kit's rule): renaming only."""
    df = small()
    renamed = df.assign(worker=df["worker"].map({"a": "w9", "b": "w1", "c": "w5"}))
    shuffled = renamed.sample(frac=1.0, random_state=1)
    for cls, other in (
        (ac.DawidSkene, shuffled),
        (ac.OneCoinDawidSkene, shuffled),
        (ac.GLAD, shuffled),
        (ac.MajorityVote, renamed),
        (ac.Wawa, renamed),
    ):
        first = cls().fit(df)
        second = cls().fit(other)
        assert first.labels_.sort_index().equals(second.labels_.sort_index())
        assert np.allclose(first.probas_.sort_index().to_numpy(), second.probas_.sort_index().to_numpy())


def test_repr_lists_crowdkits_parameters():
    assert repr(ac.DawidSkene()) == "DawidSkene(n_iter=100, tol=1e-05, initial_error_strategy=None)"


# -------------------------------------------------------------------------------------------- crowd-kit, live
@pytest.mark.parametrize("name", ["wsd", "bluebirds"])
def test_dawid_skene_equals_crowdkit_with_the_same_iterations(ck, real, name):
    """With the stopping rules switched off (both run 10 iterations), the same posteriors, priors and error
    matrices to crowd-kit's 1e-10 floor."""
    df = real(name)
    ours = ac.DawidSkene(n_iter=10, tol=-1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)  # accord: "stopped at max_iter"
        ours.fit(df)
    theirs = quiet(ck.DawidSkene(n_iter=10, tol=-np.inf).fit, df)
    assert ours.labels_.equals(theirs.labels_.reindex(ours.labels_.index).rename("agg_label"))
    probas = theirs.probas_.reindex(index=ours.probas_.index, columns=ours.probas_.columns)
    assert np.abs(ours.probas_.to_numpy() - probas.to_numpy()).max() < 1e-8
    assert np.abs(ours.priors_ - theirs.priors_.reindex(ours.priors_.index)).max() < 1e-10
    errors = ours.errors_.reindex(index=theirs.errors_.index, columns=theirs.errors_.columns)
    assert np.abs(errors.to_numpy() - theirs.errors_.to_numpy()).max() < 1e-8
    assert len(ours.loss_history_) == len(theirs.loss_history_) == 10


def test_dawid_skene_agrees_with_crowdkit_with_its_own_stopping_rule(ck, real):
    df = real("bluebirds")
    ours = ac.DawidSkene().fit_predict(df)
    theirs = quiet(ck.DawidSkene().fit_predict, df).reindex(ours.index)
    assert (ours == theirs).mean() >= 0.99


def test_one_coin_equals_crowdkit_with_the_same_iterations(ck, real):
    df = real("wsd")
    ours = ac.OneCoinDawidSkene(n_iter=10, tol=-1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        ours.fit(df)
    theirs = quiet(ck.OneCoinDawidSkene(n_iter=10, tol=-np.inf).fit, df)
    probas = theirs.probas_.reindex(index=ours.probas_.index, columns=ours.probas_.columns)
    assert np.abs(ours.probas_.to_numpy() - probas.to_numpy()).max() < 1e-8
    assert np.abs(ours.skills_ - theirs.skills_.reindex(ours.skills_.index)).max() < 1e-10


@pytest.mark.parametrize("name", ["wsd", "rte"])  # rte: 8% of its tasks tie
def test_vote_models_equal_crowdkit(ck, real, name):
    """crowd-kit 1.4's predict methods fail under scikit-learn >= 1.6 (check_is_fitted), so its weighted
    votes are rebuilt from its fitted skills with its MajorityVote."""
    df = real(name)
    mv, theirs = ac.MajorityVote().fit(df), quiet(ck.MajorityVote().fit, df)
    assert mv.labels_.equals(theirs.labels_.reindex(mv.labels_.index))
    assert (
        np.abs(
            mv.probas_.to_numpy()
            - theirs.probas_.reindex(index=mv.probas_.index, columns=mv.probas_.columns).to_numpy()
        ).max()
        < 1e-15
    )
    assert np.abs(mv.skills_ - theirs.skills_.reindex(mv.skills_.index)).max() < 1e-15
    for ours, cls in ((ac.Wawa(), ck.Wawa()), (ac.ZeroBasedSkill(n_iter=20), ck.ZeroBasedSkill(n_iter=20))):
        ours.fit(df)
        fitted = quiet(cls.fit, df)
        assert np.abs(ours.skills_ - fitted.skills_.reindex(ours.skills_.index)).max() < 1e-12
        voted = quiet(ck.MajorityVote().fit, df, skills=fitted.skills_)
        assert ours.labels_.equals(voted.labels_.reindex(ours.labels_.index))


def test_mmsr_and_kos_agree_with_crowdkit(ck, real):
    df = real("wsd")
    ours = ac.MMSR().fit_predict(df)
    fitted = quiet(ck.MMSR().fit, df)
    theirs = quiet(ck.MajorityVote().fit, df, skills=fitted.skills_).labels_.reindex(ours.index)
    assert (ours == theirs).mean() >= 0.99
    df = real("bluebirds")
    kos = ac.KOS().fit_predict(df)
    assert (kos == quiet(ck.KOS().fit_predict, df).reindex(kos.index)).mean() >= 0.99
