import numpy as np
import pandas as pd
import pytest

from accord import InvalidParameterError, MajorityVote, Wawa, ZeroBasedSkill
from accord._kernel.votes import break_ties

TIED = pd.DataFrame(
    {
        "item": [1, 1, 2, 2, 2, 3, 3],
        "annotator": ["a", "b", "a", "b", "c", "a", "c"],
        "label": ["y", "x", "y", "y", "x", "y", "y"],
    }
)


def test_lowest_tie_rule_takes_first_class():
    labels = MajorityVote().fit_predict(TIED)
    assert labels.to_dict() == {1: "x", 2: "y", 3: "y"}
    proba = MajorityVote().fit(TIED).proba_
    assert proba.loc[1].tolist() == [0.5, 0.5]
    assert proba.loc[2].tolist() == pytest.approx([1 / 3, 2 / 3])


def test_prior_tie_rule_takes_most_common_class():
    assert MajorityVote(tie_break="prior").fit_predict(TIED)[1] == "y"


def test_random_tie_rule_is_seeded():
    counts = np.ones((200, 3))
    a = break_ties(counts, "random", np.random.default_rng(1))
    b = break_ties(counts, "random", np.random.default_rng(1))
    assert np.array_equal(a, b) and set(a) == {0, 1, 2}
    with pytest.raises(InvalidParameterError):
        break_ties(counts, "coin")


def test_consensus_strength_and_agreement():
    iq = MajorityVote().fit(TIED).consensus_.item_quality
    assert iq["strength"].tolist() == ["Weak", "Moderate", "Strong"]
    assert iq["agreement"].tolist() == pytest.approx([0.5, 2 / 3, 1.0])
    assert iq["n_annotations"].tolist() == [2, 3, 2]


def test_wawa_weights_by_agreement_with_majority():
    model = Wawa().fit(TIED)
    assert model.skills_.to_dict() == pytest.approx({"a": 2 / 3, "b": 1.0, "c": 0.5})
    assert model.labels_[1] == "x"  # b (skill 1) beats a (skill 2/3)


def test_zbs_runs_and_stops():
    model = ZeroBasedSkill().fit(TIED)
    assert model.n_iter_ <= 100
    np.testing.assert_allclose(model.proba_.sum(axis=1), 1.0)


def test_confusions_are_plain_counts_against_the_majority_labels():
    conf = MajorityVote().fit(TIED).consensus_.confusions  # labels {1: x, 2: y, 3: y}; classes [x, y]
    np.testing.assert_array_equal(conf[0], [[0.0, 1.0], [0.0, 1.0]])  # a: y on the x item, y on both y items
    np.testing.assert_array_equal(conf[1], [[1.0, 0.0], [0.0, 1.0]])  # b: right on both
    np.testing.assert_array_equal(conf[2], [[0.5, 0.5], [0.5, 0.5]])  # c: no x item -> uniform; 1 of 2 on y


def test_confusions_follow_the_tie_rule_labels():
    conf = MajorityVote(tie_break="prior").fit(TIED).consensus_.confusions  # item 1 -> y: every item is y
    np.testing.assert_array_equal(conf[0], [[0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_array_equal(conf[1], [[0.5, 0.5], [0.5, 0.5]])


def test_cleanlab_tie_rule_takes_the_rarest_class():
    frame = pd.concat([TIED, pd.DataFrame({"item": [4, 4], "annotator": ["a", "b"], "label": ["x", "x"]})])
    # votes overall: x 4, y 5 -> item 1's x/y tie goes to x (the rarer); "prior" would take y
    assert MajorityVote(tie_break="cleanlab").fit_predict(frame)[1] == "x"
    assert MajorityVote(tie_break="prior").fit_predict(frame)[1] == "y"


def test_cleanlab_tie_rule_reproduces_the_tutorial_majority_vote(data_dir):
    from accord.io import load_dataset

    data = load_dataset(data_dir / "cleanlab_tutorial")
    for seed in (0, 1):
        labels = MajorityVote(tie_break="cleanlab", random_state=seed).fit_predict(data.annotations)
        assert (labels == data.gold.reindex(labels.index)).mean() == pytest.approx(0.8581081081081081)
    lowest = MajorityVote().fit_predict(data.annotations)
    assert (lowest == data.gold.reindex(lowest.index)).mean() != pytest.approx(0.8581081081081081)


def test_cleanlab_tie_rule_matches_cleanlab(data_dir):
    multiannotator = pytest.importorskip("cleanlab.multiannotator")
    from accord.io import load_dataset

    ann = load_dataset(data_dir / "cleanlab_tutorial").annotations
    wide = np.full((ann.n_items, ann.n_annotators), np.nan)
    wide[ann.item, ann.annotator] = ann.label
    theirs = multiannotator.get_majority_vote_label(wide)
    ours = MajorityVote(tie_break="cleanlab", random_state=0).fit(ann).consensus_.label_codes
    np.testing.assert_array_equal(ours, theirs)


def test_unknown_tie_rule_names_the_choices():
    with pytest.raises(InvalidParameterError, match="'cleanlab'.*got 'first'"):
        MajorityVote(tie_break="first").fit(TIED)  # type: ignore[arg-type]
