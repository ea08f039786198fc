"""The ``accord`` script's way in and out: one subcommand's module imported, the process ending after the exit
handlers without the interpreter's teardown, and nothing lost on the way."""

import subprocess
import sys

import pandas as pd
import pytest

from accord.cli import build_parser, main


def _subcommands(parser):
    action = next(a for a in parser._actions if a.dest == "command")
    return set(action.choices)


def test_only_the_named_subcommand_is_built():
    assert _subcommands(build_parser("aggregate")) == {"aggregate"}
    assert {"aggregate", "demo", "report"} <= _subcommands(build_parser())


def test_an_unknown_command_still_lists_every_choice(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["agregate", "x.csv"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'agregate'" in err and "aggregate" in err and "report" in err


@pytest.fixture()
def csv(tmp_path):
    df = pd.DataFrame(
        {"item": [1, 1, 1, 2, 2, 2, 3, 3], "annotator": list("abcabcab"), "label": list("xxyyyyxy")}
    )
    path = tmp_path / "ann.csv"
    df.to_csv(path, index=False)
    return path


def _accord(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "accord", *args], capture_output=True, text=True, **kwargs)


def test_the_script_writes_the_same_files_as_main(csv, tmp_path):
    run = _accord(
        "aggregate",
        str(csv),
        "-m",
        "ds",
        "-o",
        str(tmp_path / "a.csv"),
        "--annotators",
        str(tmp_path / "b.csv"),
    )
    assert run.returncode == 0, run.stderr
    assert (
        main(
            [
                "aggregate",
                str(csv),
                "-m",
                "ds",
                "-o",
                str(tmp_path / "c.csv"),
                "--annotators",
                str(tmp_path / "d.csv"),
            ]
        )
        == 0
    )
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "c.csv").read_bytes()
    assert (tmp_path / "b.csv").read_bytes() == (tmp_path / "d.csv").read_bytes()


def test_stdout_is_flushed_and_a_reader_that_leaves_is_no_error(csv):
    run = _accord("aggregate", str(csv), "-o", "-", "-q")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].startswith("item")
    assert len(run.stdout.splitlines()) == 4
    head = subprocess.run(
        f"{sys.executable} -m accord aggregate {csv} -o - -q | head -1",
        shell=True,
        capture_output=True,
        text=True,
    )
    assert head.returncode == 0 and head.stdout.startswith("item"), head.stderr
    assert "Traceback" not in head.stderr


def test_errors_keep_their_exit_codes(csv, tmp_path):
    usage = _accord("aggregate", str(csv), "--method", "nope")
    assert usage.returncode == 2 and "accord: error:" in usage.stderr and "Traceback" not in usage.stderr
    data = _accord("aggregate", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o.csv"))
    assert data.returncode == 1 and "missing.csv" in data.stderr and "Traceback" not in data.stderr
