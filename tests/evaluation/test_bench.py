"""``accord bench`` on a tiny fixture folder made for these tests (tests/fixtures/bench_datasets)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accord import CrowdLab, MajorityVote
from accord.cli import main
from accord.cli.bench import parse_levels
from accord.datasets import load_dataset
from accord.errors import InvalidParameterError
from accord.evaluation import accuracy, log_loss
from accord.evaluation.bench import dataset_folders, parse_peer, run_bench, to_markdown
from accord.io import read_pred_probs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bench_datasets"


@pytest.fixture(scope="module")
def result():
    return run_bench(FIXTURES, ["mv", "ds", "kos"], redundancy=[1, 3, "all"], repeats=3, random_state=0)


def test_main_table(result):
    main = result.main
    assert set(main["dataset"]) == {"tiny_binary", "tiny_ternary"}
    assert main.groupby("dataset").size().to_dict() == {"tiny_binary": 3, "tiny_ternary": 3}
    binary = main.set_index(["dataset", "method"]).loc["tiny_binary"]
    data = load_dataset(FIXTURES / "tiny_binary")
    mv = MajorityVote().fit(data.annotations)
    assert binary.loc["mv", "accuracy"] == pytest.approx(accuracy(mv.labels_, data.gold))
    assert binary.loc["mv", "nll"] == pytest.approx(log_loss(mv.proba_, data.gold))
    assert binary.loc["mv", "n_gold"] == 40 and binary.loc["mv", "n_annotations"] == 200
    assert (main["seconds"].dropna() >= 0).all()
    # KOS does not apply to three classes: a note, not numbers, not a crash
    kos = main.set_index(["dataset", "method"]).loc[("tiny_ternary", "kos")]
    assert np.isnan(kos["accuracy"]) and "binary" in kos["note"]


def test_skipped_with_reasons(result):
    reasons = dict(result.skipped)
    assert "continuous" in reasons["tiny_rating"]
    assert "gold" in reasons["no_gold"]


def test_redundancy_rows(result):
    red = result.redundancy
    rows = red[(red["dataset"] == "tiny_binary") & (red["method"] == "mv")]
    assert rows["redundancy"].astype(str).tolist() == ["1", "3", "all"]
    assert rows["repeats"].tolist() == [3, 3, 1]
    assert rows["labels_per_item"].tolist() == [1.0, 3.0, 5.0]
    # the "all" level is the main-table accuracy
    main = result.main.set_index(["dataset", "method"])
    assert rows["mean"].iloc[-1] == pytest.approx(main.loc[("tiny_binary", "mv"), "accuracy"])
    assert "kos" not in set(red[red["dataset"] == "tiny_ternary"]["method"])


def test_markdown_and_csv(result, tmp_path):
    text = to_markdown(result)
    assert "## Accuracy" in text and "## Log loss" in text and "## Expected calibration error" in text
    assert "| dataset | mv | ds | kos |" in text
    assert "mean (n)" in text and "r=1" in text and "tiny_rating" in text
    paths = result.to_csv(tmp_path / "bench.csv")
    assert [p.name for p in paths] == ["bench.csv", "bench_redundancy.csv"]
    back = pd.read_csv(paths[0])
    assert list(back.columns)[:2] == ["dataset", "method"] and len(back) == 6


def test_cli(tmp_path, capsys):
    out = tmp_path / "b.md"
    code = main(
        [
            "bench",
            str(FIXTURES),
            "--methods",
            "mv,ibcc",
            "--redundancy",
            "2,all",
            "--repeats",
            "2",
            "--output",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    assert out.exists() and (tmp_path / "b.csv").exists() and (tmp_path / "b_redundancy.csv").exists()
    assert "ibcc" in out.read_text()
    red = pd.read_csv(tmp_path / "b_redundancy.csv")
    assert set(red["method"]) == {"mv", "ibcc"}
    assert (
        main(
            [
                "bench",
                str(FIXTURES),
                "--methods",
                "mv,ibcc",
                "--redundancy",
                "2",
                "--repeats",
                "2",
                "--redundancy-methods",
                "mv",
                "--output",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert set(pd.read_csv(tmp_path / "b_redundancy.csv")["method"]) == {"mv"}
    assert main(["bench", str(FIXTURES), "--methods", "nope", "-o", str(out), "-q"]) == 1
    assert "unknown method" in capsys.readouterr().err


def test_peers_missing_or_present_never_crash(tmp_path):
    res = run_bench(
        FIXTURES, ["mv"], redundancy=None, peers=True, peer_methods=["MajorityVote"], datasets=["tiny_binary"]
    )
    peer_rows = res.main[res.main["method"].str.startswith("ck:")]
    skipped = dict(res.skipped)
    assert len(peer_rows) == 1 or "crowd-kit" in skipped


def test_pred_probs_folder_gets_model_assisted_methods():
    """tiny_ternary has a pred_probs.csv: by default CROWDLAB and model-assisted DS run there, and nowhere
    else."""
    res = run_bench(FIXTURES, redundancy=None, datasets=["tiny_binary", "tiny_ternary"])
    by = res.main.set_index(["dataset", "method"])
    data = load_dataset(FIXTURES / "tiny_ternary")
    pred_probs = read_pred_probs(FIXTURES / "tiny_ternary" / "pred_probs.csv", data.annotations)
    expected = CrowdLab().fit(data.annotations, pred_probs=pred_probs)
    assert by.loc[("tiny_ternary", "crowdlab"), "accuracy"] == pytest.approx(
        accuracy(expected.labels_, data.gold)
    )
    assert np.isfinite(by.loc[("tiny_ternary", "ds_model"), "accuracy"])
    assert ("tiny_binary", "crowdlab") not in by.index
    # asked for explicitly where there is no pred_probs.csv: a note, not a crash
    res = run_bench(FIXTURES, ["mv", "crowdlab"], redundancy=[1], repeats=2, datasets=["tiny_binary"])
    row = res.main.set_index("method").loc["crowdlab"]
    assert np.isnan(row["accuracy"]) and "pred_probs.csv" in row["note"]
    assert set(res.redundancy["method"]) == {"mv"}


def test_peer_specs():
    assert parse_peer("GLAD") == ("ck", "GLAD") and parse_peer("ck:GLAD") == ("ck", "GLAD")
    assert parse_peer("cl:crowdlab") == ("cl", "crowdlab")
    with pytest.raises(InvalidParameterError, match="cleanlab peers are"):
        parse_peer("cl:dawid_skene")
    with pytest.raises(InvalidParameterError, match="ck:NAME"):
        parse_peer("sk:Thing")


def test_cleanlab_peers_match_ours():
    """cleanlab (a dev dependency) side by side: its CROWDLAB consensus equals ours on the fixture; without
    pred_probs.csv its CROWDLAB row is a note."""
    pytest.importorskip("cleanlab", reason="cleanlab is a dev dependency; install accord[dev]")
    res = run_bench(
        FIXTURES,
        ["crowdlab"],
        redundancy=None,
        peers=True,
        peer_methods=["cl:majority_vote", "cl:crowdlab"],
        datasets=["tiny_binary", "tiny_ternary"],
    )
    by = res.main.set_index(["dataset", "method"])
    assert (
        by.loc[("tiny_ternary", "cl:crowdlab"), "accuracy"]
        == by.loc[("tiny_ternary", "crowdlab"), "accuracy"]
    )
    assert np.isfinite(by.loc[("tiny_binary", "cl:majority_vote"), "accuracy"])
    assert "pred_probs.csv" in by.loc[("tiny_binary", "cl:crowdlab"), "note"]
    assert "cleanlab" not in dict(res.skipped)


def test_parse_levels_and_folders(tmp_path):
    assert parse_levels("1,2, all") == [1, 2, "all"]
    assert parse_levels("none") == []
    with pytest.raises(InvalidParameterError):
        parse_levels("0")
    with pytest.raises(InvalidParameterError):
        parse_levels("x")
    with pytest.raises(InvalidParameterError, match="not a folder"):
        dataset_folders(tmp_path / "missing")
    with pytest.raises(InvalidParameterError, match="no dataset folder"):
        dataset_folders(tmp_path)
    assert dataset_folders(FIXTURES / "tiny_binary") == [FIXTURES / "tiny_binary"]
    assert [p.name for p in dataset_folders(FIXTURES)] == [
        "no_gold",
        "tiny_binary",
        "tiny_rating",
        "tiny_ternary",
    ]
