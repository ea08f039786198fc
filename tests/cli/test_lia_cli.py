"""``accord aggregate -m lia --features`` and ``accord next --assign``: small synthetic data, a small net."""

import numpy as np
import pandas as pd
import pytest

from accord.cli import main

pytest.importorskip("jax")

FAST = ["-p", "hidden=none", "-p", "m_step_iter=30", "-p", "fine_tune_iter=30", "-p", "max_iter=3"]
FAST += ["-p", "random_state=0"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """80 items whose truth is the sign of feature f0; 2 of 5 annotators per item, 75 % right."""
    root = tmp_path_factory.mktemp("lia_cli")
    rng = np.random.default_rng(1)
    n = 80
    x = rng.normal(size=(n, 3))
    truth = np.where(x[:, 0] > 0, "yes", "no")
    items = [f"it{i}" for i in range(n)]
    rows = []
    for i in range(n):
        for a in rng.choice(5, size=2, replace=False):
            right = rng.random() < 0.75
            rows.append((items[i], f"w{a}", truth[i] if right else ("no" if truth[i] == "yes" else "yes")))
    pd.DataFrame(rows, columns=["item", "annotator", "label"]).to_csv(root / "ann.csv", index=False)
    feats = pd.DataFrame(x, columns=["f0", "f1", "f2"])
    feats.insert(0, "item", items)
    feats.to_csv(root / "feat.csv", index=False)
    np.save(root / "feat.npy", x[::-1].copy())
    pd.DataFrame({"item": items[::-1]}).to_csv(root / "feat_ids.csv", index=False)
    pd.DataFrame({"item": items, "label": truth}).to_csv(root / "gold.csv", index=False)
    return root


def test_aggregate_lia_with_csv_features(data, tmp_path, capsys):
    out = tmp_path / "out.csv"
    args = ["aggregate", str(data / "ann.csv"), "-m", "lia", "--features", str(data / "feat.csv"), *FAST]
    assert main([*args, "--gold", str(data / "gold.csv"), "-o", str(out)]) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns[:3]) == ["item", "label", "confidence"]
    assert {"proba_no", "proba_yes"} <= set(frame.columns)
    gold = pd.read_csv(data / "gold.csv").set_index("item")["label"]
    accuracy = (frame.set_index("item")["label"] == gold.reindex(frame["item"]).to_numpy()).mean()
    assert accuracy > 0.80  # majority vote of 2 labels at 75 % gets about 0.75
    assert "LIA: 80 items" in capsys.readouterr().out


def test_aggregate_lia_npy_features_match_csv(data, tmp_path):
    """A .npy with its ids file (rows in another order) gives the same consensus as the CSV."""
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    base = ["aggregate", str(data / "ann.csv"), "-m", "lia", *FAST, "-q"]
    assert main([*base, "--features", str(data / "feat.csv"), "-o", str(a)]) == 0
    npy = ["--features", str(data / "feat.npy"), "--feature-items", str(data / "feat_ids.csv")]
    assert main([*base, *npy, "-o", str(b)]) == 0
    left, right = pd.read_csv(a).set_index("item"), pd.read_csv(b).set_index("item")
    assert (left["label"] == right.loc[left.index, "label"]).all()
    assert np.allclose(left["proba_yes"], right.loc[left.index, "proba_yes"], atol=1e-4)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-m", "lia"], "--features"),
        (["-m", "ds", "--features", "FEAT"], "does not use --features"),
        (["-m", "lia", "--feature-items", "FEAT"], "--feature-items needs --features"),
        (["-m", "lia", "--features", "FEAT", "-p", "hidden=a,b"], "layer widths"),
    ],
)
def test_aggregate_usage_errors(data, tmp_path, capsys, extra, message):
    extra = [str(data / "feat.csv") if e == "FEAT" else e for e in extra]
    code = main(["aggregate", str(data / "ann.csv"), *extra, "-o", str(tmp_path / "o.csv")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_next_assign_writes_pairs(data, tmp_path, capsys):
    out = tmp_path / "assign.csv"
    args = ["next", str(data / "ann.csv"), "--assign", "12", "--per-annotator", "4"]
    assert main([*args, "--features", str(data / "feat.csv"), *FAST, "-o", str(out)]) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["item", "annotator", "expected_gain"]
    assert 0 < len(frame) <= 12
    assert (frame["expected_gain"] > 0).all()
    assert frame["annotator"].value_counts().max() <= 4
    labelled = set(pd.read_csv(data / "ann.csv")[["item", "annotator"]].itertuples(index=False, name=None))
    assert not labelled & set(frame[["item", "annotator"]].itertuples(index=False, name=None))
    assert "pairs to label next" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--assign", "5"], "--features"),
        (["--assign", "0", "--features", "FEAT"], "--assign must be at least 1"),
        (["--features", "FEAT"], "only used with --assign"),
        (["--assign", "5", "--features", "FEAT", "--unlabeled", "FEAT"], "not used with --assign"),
    ],
)
def test_next_usage_errors(data, tmp_path, capsys, extra, message):
    extra = [str(data / "feat.csv") if e == "FEAT" else e for e in extra]
    assert main(["next", str(data / "ann.csv"), *extra, "-o", str(tmp_path / "o.csv")]) == 2
    assert message in capsys.readouterr().err


def test_redundancy_curve_passes_features_to_lia(data):
    from accord import Annotations
    from accord.evaluation.redundancy import redundancy_curve
    from accord.io.features import read_features
    from accord.models.lia import LIA

    ann = Annotations.from_frame(pd.read_csv(data / "ann.csv"))
    gold = pd.read_csv(data / "gold.csv").set_index("item")["label"]
    feats = read_features(data / "feat.csv")
    model = LIA(hidden=(), m_step_iter=30, fine_tune_iter=30, max_iter=3, random_state=0)
    lia = redundancy_curve(model, ann, gold, levels=[1], repeats=2, random_state=0, features=feats)
    mv = redundancy_curve("mv", ann, gold, levels=[1], repeats=2, random_state=0, features=feats)
    assert lia["mean"].iloc[0] > mv["mean"].iloc[0] + 0.05  # one label per item: the features carry it


def test_bench_runs_lia_where_a_folder_has_features(data, tmp_path):
    from accord.evaluation.bench import run_bench

    for name, with_features in (("with", True), ("without", False)):
        folder = tmp_path / name
        folder.mkdir()
        for file in ("ann.csv", "gold.csv") + (("feat.csv",) if with_features else ()):
            target = {"ann.csv": "annotations.csv", "feat.csv": "features.csv"}.get(file, file)
            (folder / target).write_bytes((data / file).read_bytes())
    res = run_bench(tmp_path, ["mv", "lia"], redundancy=None)
    by = res.main.set_index(["dataset", "method"])
    assert by.loc[("with", "lia"), "accuracy"] > 0.8
    assert "features.csv" in by.loc[("without", "lia"), "note"]
    assert np.isnan(by.loc[("without", "lia"), "accuracy"])


def test_aggregate_lia_with_text_columns(data, tmp_path, capsys):
    pytest.importorskip("sklearn")
    ids = pd.read_csv(data / "feat.csv")
    words = np.where(ids["f0"] > 0, "bright sunny warm day", "dark cold rainy night")
    texts = pd.DataFrame({"item": ids["item"], "text": [f"{w} number {i}" for i, w in enumerate(words)]})
    texts.to_csv(tmp_path / "texts.csv", index=False)
    base = ["aggregate", str(data / "ann.csv"), "-m", "lia", "--features", str(tmp_path / "texts.csv"), *FAST]
    assert main([*base, "--text-cols", "text", "-q", "-o", str(tmp_path / "o.csv")]) == 0
    frame = pd.read_csv(tmp_path / "o.csv")
    assert len(frame) == 80 and frame["label"].isin(["yes", "no"]).all()
    assert main([*base, "--text-cols", "nope", "-o", str(tmp_path / "p.csv")]) != 0
    assert "nope" in capsys.readouterr().err
