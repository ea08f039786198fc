"""Every command-line mistake is one line on stderr, exit code 1 (data) or 2 (usage), in the CLI's own
words."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from accord.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture()
def ann_csv(tmp_path: Path) -> Path:
    path = tmp_path / "ann.csv"
    path.write_text(
        "item,annotator,label\n"
        "1,a,x\n1,b,x\n1,c,y\n2,a,y\n2,b,y\n2,c,y\n3,a,x\n3,b,y\n3,c,x\n4,a,x\n4,b,x\n4,c,x\n"
    )
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("accord: error:")]
    assert len(lines) == 1 and err.count("\n") == err.count("\n", 0, err.index("accord: error:")) + 1, err
    assert "Traceback" not in err and "np.int64" not in err
    return lines[0]


def test_unknown_param_key_lists_the_valid_ones(ann_csv, tmp_path, capsys):
    code, _, err = run(["aggregate", ann_csv, "-m", "ds", "-p", "bogus=1", "-o", tmp_path / "o.csv"], capsys)
    line = one_line_error(err)
    assert code == 2
    assert "--method ds has no parameter bogus" in line and "alpha" in line and "max_iter" in line


def test_zero_step_of_zbs_is_a_parameter_error(ann_csv, tmp_path, capsys):
    argv = ["aggregate", ann_csv, "-m", "zbs", "-p", "lr_steps_to_reduce=0", "-o", tmp_path / "o.csv"]
    code, _, err = run(argv, capsys)
    line = one_line_error(err)
    assert code == 2 and "-p lr_steps_to_reduce=0" in line and "zbs" in line


@pytest.mark.parametrize("name", ["o.xlsx", "o", "o.pdf"])
def test_output_suffix_is_checked_before_any_work(ann_csv, tmp_path, capsys, name):
    code, _, err = run(["aggregate", ann_csv, "-o", tmp_path / name], capsys)
    line = one_line_error(err)
    assert code == 2 and "--output" in line and ".csv" in line and ".parquet" in line
    assert not (tmp_path / name).exists()


def test_output_in_a_missing_folder(ann_csv, tmp_path, capsys):
    code, _, err = run(["aggregate", ann_csv, "-o", tmp_path / "nodir" / "o.csv"], capsys)
    line = one_line_error(err)
    assert code == 2 and "nodir" in line and "does not exist" in line


def test_dash_writes_the_table_to_stdout_and_the_summary_to_stderr(ann_csv, tmp_path, capsys):
    code, out, err = run(["aggregate", ann_csv, "-m", "mv", "-o", "-"], capsys)
    assert code == 0 and not (Path.cwd() / "-").exists()
    assert out.splitlines()[0].startswith("item,label,confidence")
    assert len(out.splitlines()) == 5 and "MajorityVote: 4 items" in err


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".tsv"])
def test_json_jsonl_and_tsv_outputs(ann_csv, tmp_path, capsys, suffix):
    path = tmp_path / f"o{suffix}"
    assert run(["aggregate", ann_csv, "-m", "mv", "-o", path, "-q"], capsys)[0] == 0
    text = path.read_text()
    if suffix == ".json":
        assert len(json.loads(text)) == 4
    elif suffix == ".jsonl":
        assert len([json.loads(line) for line in text.splitlines()]) == 4
    else:
        assert text.splitlines()[0].split("\t")[:2] == ["item", "label"]


def test_report_output_must_be_html_or_json(ann_csv, tmp_path, capsys):
    code, _, err = run(["report", ann_csv, "-o", tmp_path / "r.pdf", "--no-curves"], capsys)
    assert code == 2 and ".html" in one_line_error(err) and not (tmp_path / "r.pdf").exists()
    code, _, err = run(["report", ann_csv, "--format", "json", "-o", tmp_path / "r.html"], capsys)
    assert code == 2 and "disagree" in one_line_error(err)


def test_argparse_mistakes_are_one_line_with_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["aggregate", "x.csv"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and "--output" in err and "--help" in err


def test_gold_that_matches_no_item_gives_the_same_answer_everywhere(ann_csv, tmp_path, capsys):
    gold = tmp_path / "gold.csv"
    gold.write_text("item,label\nz1,x\nz2,y\n")
    messages = []
    for argv in (
        ["aggregate", ann_csv, "-m", "mv", "-o", tmp_path / "o.csv", "--gold", gold],
        ["report", ann_csv, "-m", "mv", "-o", tmp_path / "r.html", "--gold", gold, "--no-curves"],
        ["qualify", ann_csv, "--gold", gold],
    ):
        code, _, err = run(argv, capsys)
        assert code == 1
        messages.append(one_line_error(err))
    assert len(set(messages)) == 1
    assert "--gold" in messages[0] and "no gold item has an annotation" in messages[0]
    assert "'z1'" in messages[0]


def test_missing_label_names_the_file_line_and_the_flag(tmp_path, capsys):
    path = tmp_path / "a.csv"
    path.write_text("item,annotator,label\n1,a,x\n1,b,\n2,a,y\n2,b,  \n")
    code, _, err = run(["aggregate", path, "-o", tmp_path / "o.csv"], capsys)
    line = one_line_error(err)
    assert code == 1
    assert "lines 3, 5" in line and "line 1 is the header" in line and "a.csv" in line
    assert "--missing drop" in line and "missing='drop'" not in line
    code, _, err = run(["aggregate", path, "-m", "mv", "--missing", "drop", "-o", tmp_path / "o.csv"], capsys)
    assert code == 0 and "dropped 2 annotation(s) with a missing label" in err


def test_duplicates_and_missing_columns_speak_in_flags(tmp_path, capsys):
    path = tmp_path / "a.csv"
    path.write_text("item,annotator,choice\n1,a,x\n1,a,y\n")
    code, _, err = run(["aggregate", path, "-o", tmp_path / "o.csv"], capsys)
    assert code == 1 and "--label-col NAME" in one_line_error(err)
    code, _, err = run(["aggregate", path, "--label-col", "choice", "-o", tmp_path / "o.csv"], capsys)
    line = one_line_error(err)
    assert code == 1 and "--duplicates keep_last" in line and "duplicates=" not in line


def test_na_like_ids_and_labels_survive_the_command_line(tmp_path, capsys):
    path = tmp_path / "a.csv"
    path.write_text("item,annotator,label\nNA,#N/A,None\nNA,null,None\nN/A,#N/A,nan\nN/A,null,nan\n")
    code, out, _ = run(["aggregate", path, "-m", "mv", "-o", "-", "-q"], capsys)
    assert code == 0
    table = pd.read_csv(pd.io.common.StringIO(out), keep_default_na=False, dtype=str)
    assert table["item"].tolist() == ["NA", "N/A"] and table["label"].tolist() == ["None", "nan"]


def test_formulas_are_neutralised_in_csv_unless_allowed(tmp_path, capsys):
    path = tmp_path / "a.csv"
    path.write_text("item,annotator,label\n=HYPERLINK(1),a,-1\n=HYPERLINK(1),b,-1\n@x,a,+y\n@x,b,+y\n")
    out = tmp_path / "o.csv"
    assert run(["aggregate", path, "-m", "mv", "-o", out, "-q"], capsys)[0] == 0
    table = pd.read_csv(out, dtype=str)
    assert table["item"].tolist() == ["'=HYPERLINK(1)", "'@x"]
    assert table["label"].tolist() == ["-1", "'+y"]  # a number stays a number
    assert float(table["confidence"].iloc[0]) == 1.0
    assert run(["aggregate", path, "-m", "mv", "-o", out, "-q", "--allow-formulas"], capsys)[0] == 0
    assert pd.read_csv(out, dtype=str)["item"].tolist() == ["=HYPERLINK(1)", "@x"]


def test_plan_tiny_width_is_a_usage_error(capsys):
    code, _, err = run(["plan", "--width", "1e-300"], capsys)
    line = one_line_error(err)
    assert code == 2 and "--width 1e-300 is too small" in line


def test_plan_flag_values_are_usage_errors_naming_the_flag(capsys):
    code, _, err = run(["plan", "--width", "0"], capsys)
    assert code == 2 and "--width 0" in one_line_error(err)
    code, _, err = run(["plan", "--width", "0.1", "--p", "1.5"], capsys)
    assert code == 2 and "--p 1.5" in one_line_error(err)


def test_plan_speedup_and_decision(capsys):
    code, out, _ = run(["plan", "--rate-without", "2800", "--rate-with", "3259"], capsys)
    assert code == 0 and "S = 1.16" in out and "WITHOUT proposals" in out
    code, out, _ = run(["plan", "--time-without", "9", "--time-with", "2"], capsys)
    assert code == 0 and "S = 4.5" in out and "WITH proposals" in out
    code, out, _ = run(["plan", "--speedup", "1.2", "--bias-acceptable"], capsys)
    assert code == 0 and "WITH proposals" in out and "acceptable" in out
    code, _, err = run(["plan", "--time-with", "0", "--time-without", "3"], capsys)
    assert code == 1 and "--time-with must be" in one_line_error(err)


def test_bench_unknown_dataset_is_an_error(tmp_path, capsys):
    argv = ["bench", FIXTURES / "bench_datasets", "--datasets", "nonexist", "-o", tmp_path / "b.md"]
    code, _, err = run(argv, capsys)
    line = one_line_error(err)
    assert code == 2 and "nonexist" in line and "the datasets are" in line
    assert not (tmp_path / "b.md").exists()


def test_json_read_without_from_hints_at_it(tmp_path, capsys):
    code, _, err = run(["aggregate", FIXTURES / "label_studio_export.json", "-o", tmp_path / "o.csv"], capsys)
    assert code == 1 and "--from" in one_line_error(err)


def test_float_digits_rounds_csv_numbers_and_refuses_a_bad_count(ann_csv, tmp_path, capsys):
    out, annotators = tmp_path / "o.csv", tmp_path / "a.csv"
    argv = ["aggregate", ann_csv, "-m", "ds", "-o", out, "--annotators", annotators, "-q"]
    assert run(argv, capsys)[0] == 0
    full = pd.read_csv(out)
    assert run([*argv, "--float-digits", "3"], capsys)[0] == 0
    rounded = pd.read_csv(out, dtype=str)
    assert rounded["confidence"].str.fullmatch(r"\d\.\d{3}").all()
    assert (rounded["confidence"].astype(float) - full["confidence"]).abs().max() <= 5e-4
    assert pd.read_csv(annotators, dtype=str)["quality"].str.fullmatch(r"\d\.\d{3}").all()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in [*argv, "--float-digits", "21"]])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--float-digits: '21' is not a number of digits from 0 to 20" in err
