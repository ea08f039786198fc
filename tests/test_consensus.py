import numpy as np
import pandas as pd
import pytest

from accord import DawidSkene, MajorityVote
from accord.datasets import load_demo


@pytest.fixture(scope="module")
def consensus():
    return DawidSkene().fit(load_demo().annotations).consensus_


def test_item_quality_columns_and_values(consensus):
    iq = consensus.item_quality
    assert list(iq.columns[:6]) == [
        "label",
        "confidence",
        "agreement",
        "n_annotations",
        "entropy",
        "strength",
    ]
    assert (iq["n_annotations"] == 10).all()
    assert np.allclose(iq["confidence"], consensus.proba.max(axis=1))
    assert iq["entropy"].between(0, np.log(2) + 1e-12).all()
    assert set(iq["strength"]) <= {"Strong", "Moderate", "Weak"}
    counts = consensus.annotations.vote_counts()
    i = 0
    assert iq["agreement"].iloc[i] == counts[i, consensus.label_codes[i]] / 10


def test_annotator_quality(consensus):
    aq = consensus.annotator_quality
    assert aq.loc["Shapiro", "quality"] > 0.95 and aq.loc["Bad 1", "quality"] < 0.15
    assert aq.loc["KS", "worst_class"] == "Pneumonia"  # KS misses pneumonia (P = 0.175)
    assert (aq["n_labels"] == 200).all()
    cm = consensus.confusion_matrix("KS")
    assert cm.loc["Pneumonia", "Pneumonia"] == pytest.approx(0.175, abs=0.05)


def test_annotation_quality_is_posterior_of_given_label(consensus):
    aq = consensus.annotation_quality
    assert len(aq) == 2000
    row = aq.iloc[0]
    assert row["quality"] == pytest.approx(consensus.proba.loc[row["item"], row["label"]])


def test_outputs_round_trip(consensus, tmp_path):
    consensus.to_csv(tmp_path / "c.csv", tmp_path / "a.csv")
    back = pd.read_csv(tmp_path / "c.csv")
    assert list(back.columns[:5]) == ["item", "label", "confidence", "agreement", "n_annotations"]
    assert len(back) == 200 and not back.isna().any().any()
    assert len(pd.read_csv(tmp_path / "a.csv")) == 10
    consensus.to_parquet(tmp_path / "c.parquet")
    assert len(pd.read_parquet(tmp_path / "c.parquet")) == 200


def test_mv_confusions_default_to_smoothed_counts():
    cons = MajorityVote().fit(load_demo().annotations).consensus_
    assert cons.confusions.shape == (10, 2, 2)
    np.testing.assert_allclose(cons.confusions.sum(axis=2), 1.0)


def test_to_csv_neutralises_formulas_unless_asked_not_to(tmp_path):
    import pandas as pd

    from accord import Annotations, MajorityVote

    frame = pd.DataFrame(
        {
            "item": ["=cmd|x", "=cmd|x", "ok", "ok"],
            "annotator": ["@a", "b", "@a", "b"],
            "label": [-1, -1, 2, 2],
        }
    )
    consensus = MajorityVote().fit(Annotations.from_frame(frame)).consensus_
    consensus.to_csv(tmp_path / "c.csv", annotators_path=tmp_path / "a.csv")
    items = pd.read_csv(tmp_path / "c.csv", dtype=str)
    assert items["item"].tolist() == ["'=cmd|x", "ok"] and items["label"].tolist() == ["-1", "2"]
    assert pd.read_csv(tmp_path / "a.csv", dtype=str)["annotator"].tolist() == ["'@a", "b"]
    consensus.to_csv(tmp_path / "raw.csv", escape_formulas=False)
    assert pd.read_csv(tmp_path / "raw.csv", dtype=str)["item"].tolist() == ["=cmd|x", "ok"]


def test_annotator_quality_says_agreement_with_consensus():
    import pandas as pd

    from accord import Annotations, MajorityVote

    frame = pd.DataFrame(
        {"item": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"], "label": ["x", "y", "x", "x"]}
    )
    consensus = MajorityVote(tie_break="lowest").fit(Annotations.from_frame(frame)).consensus_
    assert consensus.annotator_quality["agreement_with_consensus"].tolist() == [1.0, 0.5]
    assert "accuracy" not in consensus.annotators_frame().columns
    assert consensus.item_quality["strength"].tolist() == ["Weak", "Strong"]
