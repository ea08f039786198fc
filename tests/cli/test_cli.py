import pandas as pd
import pytest

from accord.cli import main


def test_demo_prints_seed_table(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "majority-vote accuracy : 0.675" in out
    assert "iteration  2: accuracy=0.900" in out and "iteration  6: accuracy=0.990" in out
    assert "flipped 65 labels" in out


@pytest.fixture()
def csv(tmp_path):
    df = pd.DataFrame(
        {
            "task": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6],
            "worker": list("abcabcabcabcabcabc"),
            "choice": list("xxyyyyxxxyyxxyxyyy"),
        }
    )
    path = tmp_path / "ann.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("method", ["mv", "wawa", "zbs", "ds", "onecoin"])
def test_aggregate_writes_items_and_annotators(csv, tmp_path, method, capsys):
    out, ann = tmp_path / "out.csv", tmp_path / "ann_q.csv"
    code = main(
        [
            "aggregate",
            str(csv),
            "--method",
            method,
            "--label-col",
            "choice",
            "-o",
            str(out),
            "--annotators",
            str(ann),
        ]
    )
    assert code == 0
    items = pd.read_csv(out)
    assert {"item", "label", "confidence", "agreement", "n_annotations"} <= set(items.columns)
    assert items["label"].tolist()[:2] == ["x", "y"]
    assert len(pd.read_csv(ann)) == 3 and len(items) == 6
    assert "annotator" in capsys.readouterr().out


def test_aggregate_params_and_gold(csv, tmp_path, capsys):
    gold = tmp_path / "gold.csv"
    pd.DataFrame({"item": [1, 2, 3], "label": ["x", "y", "x"]}).to_csv(gold, index=False)
    code = main(
        [
            "aggregate",
            str(csv),
            "--label-col",
            "choice",
            "-m",
            "mv",
            "-p",
            "tie_break=prior",
            "-o",
            str(tmp_path / "o.parquet"),
            "--gold",
            str(gold),
        ]
    )
    assert code == 0
    assert "accuracy on 3 gold items: 1.0000" in capsys.readouterr().out


def test_data_error_is_one_line_exit_1(csv, tmp_path, capsys):
    code = main(["aggregate", str(csv), "-o", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("accord: error: no label column") and err.count("\n") == 1
    assert main(["aggregate", str(tmp_path / "none.csv"), "-o", "x.csv"]) == 1


def test_malformed_param_is_a_usage_error(csv, tmp_path, capsys):
    # a -p without '=' is a mistake in the command line: exit code 2 (usage), not 1 (data)
    assert (
        main(["aggregate", str(csv), "--label-col", "choice", "-p", "alpha", "-o", str(tmp_path / "o.csv")])
        == 2
    )
    assert "KEY=VALUE" in capsys.readouterr().err


def test_usage_error_is_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["aggregate"])
    assert exc.value.code == 2
    assert main([]) == 2


def test_warnings_are_one_line_on_stderr(csv, tmp_path, capsys):
    code = main(
        [
            "aggregate",
            str(csv),
            "--label-col",
            "choice",
            "-m",
            "ds",
            "-p",
            "max_iter=1",
            "-o",
            str(tmp_path / "o.csv"),
        ]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert err.startswith("accord: warning: DawidSkene stopped at max_iter=1")
