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


# ---------------------------------------------------------------------- vectorised tables and fast writing
from accord import consensus as consensus_module  # noqa: E402

from .io.test_write import reference_csv  # noqa: E402

ODD_IDS = ["a,b", 'say "hi"', "two\nlines", "=SUM(A1)", "-x", "-3", "+1", "@me", "tab\there", "plain", "é"]


def odd_consensus():
    from accord import Annotations

    rng = np.random.default_rng(7)
    rows = [(i, a, rng.choice(["=yes", "no, sir", '"maybe"'])) for i in ODD_IDS for a in ("w,1", "@w2", "w3")]
    frame = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    return DawidSkene().fit(Annotations.from_frame(frame)).consensus_


def public_consensuses(data_dir):
    from accord.io import load_dataset

    for name in ("dog", "temp", "bluebirds"):
        yield name, MajorityVote().fit(load_dataset(data_dir / name).annotations).consensus_


def per_class_worst(c) -> list:
    """The worst class as the previous code found it: the posterior gathered once per class."""
    ann = c.annotations
    mass = np.stack(
        [
            np.bincount(ann.annotator, weights=c.proba_array[ann.item, k], minlength=ann.n_annotators)
            for k in range(ann.n_classes)
        ],
        axis=1,
    )
    diag = np.diagonal(c.confusions, axis1=1, axis2=2)
    masked = np.where(mass >= 0.5, diag, np.inf)
    none_seen = ~np.isfinite(masked).any(axis=1)
    masked[none_seen] = diag[none_seen]
    return list(np.asarray(c.classes, dtype=object)[masked.argmin(axis=1)])


def test_label_and_strength_are_categoricals_with_the_same_values(consensus):
    iq = consensus.item_quality
    assert isinstance(iq["label"].dtype, pd.CategoricalDtype)
    assert list(iq["label"].cat.categories) == list(consensus.classes)
    assert iq["label"].tolist() == consensus.labels.tolist()
    assert list(iq["strength"].cat.categories) == ["Strong", "Moderate", "Weak", "None"]
    p = consensus.proba_array
    old_entropy = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=1)
    np.testing.assert_allclose(iq["entropy"], old_entropy, rtol=1e-13, atol=1e-300)


def test_strength_codes_name_the_strengths():
    from accord.consensus import STRENGTH_CATEGORIES, consensus_strength, strength_codes

    votes = np.array([[3, 0], [2, 1], [1, 1], [1, 0], [3, 0], [0, 0]])
    labels = np.array([0, 0, 0, 0, 1, 0])
    names = consensus_strength(votes, labels).tolist()
    assert names == ["Strong", "Moderate", "Weak", "Moderate", "Weak", "None"]
    assert [STRENGTH_CATEGORIES[c] for c in strength_codes(votes, labels)] == names


def test_annotator_sums_in_blocks_equal_the_per_class_gather(monkeypatch, data_dir):
    monkeypatch.setattr(
        consensus_module, "_BLOCK", 13
    )  # many blocks, one annotation and class split over two
    for name, c in [("odd", odd_consensus()), *public_consensuses(data_dir)]:
        aq = c.annotator_quality
        assert aq["worst_class"].tolist() == per_class_worst(c), name
        ann = c.annotations
        hits = np.bincount(
            ann.annotator, weights=ann.label == c.label_codes[ann.item], minlength=ann.n_annotators
        )
        np.testing.assert_array_equal(aq["agreement_with_consensus"], hits / ann.annotator_sizes())


def test_to_frame_columns_and_no_copy_of_item_quality(consensus):
    frame = consensus.to_frame()
    names = [f"proba_{c}" for c in consensus.classes]
    assert list(frame.columns) == ["item", *consensus.item_quality.columns, *names]
    assert frame["item"].tolist() == list(consensus.annotations.items)
    np.testing.assert_array_equal(frame[names].to_numpy(), consensus.proba_array)
    assert list(consensus.to_frame(proba=False).columns) == ["item", *consensus.item_quality.columns]


def test_csv_bytes_equal_the_previous_writer(tmp_path, data_dir, consensus):
    for name, c in [("demo", consensus), ("odd", odd_consensus()), *public_consensuses(data_dir)]:
        c.to_csv(tmp_path / "items.csv", tmp_path / "annotators.csv")
        assert (tmp_path / "items.csv").read_bytes() == reference_csv(c.to_frame()), name
        assert (tmp_path / "annotators.csv").read_bytes() == reference_csv(c.annotators_frame()), name
        c.to_csv(tmp_path / "raw.csv", escape_formulas=False)
        assert (tmp_path / "raw.csv").read_bytes() == reference_csv(c.to_frame(), escape=False), name


def test_odd_ids_round_trip_through_csv_and_parquet(tmp_path):
    c = odd_consensus()
    c.to_csv(tmp_path / "items.csv", tmp_path / "annotators.csv")
    back = pd.read_csv(tmp_path / "items.csv", dtype=str, keep_default_na=False)
    risky = ("=", "+", "-", "@", "\t")
    expected = [
        "'" + i if i.startswith(risky) and i != "-3" and i != "+1" else i for i in c.annotations.items
    ]
    assert back["item"].tolist() == expected
    assert set(back["label"]) <= {"'=yes", "no, sir", '"maybe"'}
    np.testing.assert_array_equal(
        back["proba_=yes"].astype(float), c.proba_array[:, c.classes.get_loc("=yes")]
    )
    annotators = pd.read_csv(tmp_path / "annotators.csv", dtype=str)["annotator"].tolist()
    assert annotators == ["w,1", "'@w2", "w3"]
    c.to_parquet(tmp_path / "items.parquet", tmp_path / "annotators.parquet")
    items = pd.read_parquet(tmp_path / "items.parquet")
    assert items["item"].tolist() == list(c.annotations.items)
    assert items["label"].tolist() == c.labels.tolist() and not isinstance(
        items["label"].dtype, pd.CategoricalDtype
    )
    assert pd.read_parquet(tmp_path / "annotators.parquet")["annotator"].tolist() == ["w,1", "@w2", "w3"]
