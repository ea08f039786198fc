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
