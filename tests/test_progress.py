"""The progress bar: drawn only when enabled (a terminal, or ACCORD_PROGRESS=1), erased at the end."""

from __future__ import annotations

import io

from accord._progress import Progress, progress_enabled, track


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_disabled_draws_nothing():
    stream = FakeTTY()
    with Progress(3, "fit", enabled=False, stream=stream) as bar:
        bar.advance(3)
    assert stream.getvalue() == "" and bar.done == 3


def test_enabled_draws_and_erases():
    stream = FakeTTY()
    with Progress(4, "report", stream=stream) as bar:
        bar.set_step("fitting")
        bar.advance(4, step="done")
    out = stream.getvalue()
    assert "report [" in out and "4/4 done" in out and "fitting" in out
    assert out.endswith("\r\x1b[2K")  # the line is cleared on exit


def test_default_rule(monkeypatch):
    monkeypatch.delenv("ACCORD_PROGRESS", raising=False)
    assert progress_enabled(FakeTTY()) is True
    assert progress_enabled(io.StringIO()) is False  # a pipe or a file: quiet
    assert progress_enabled(FakeTTY(), quiet=True) is False
    monkeypatch.setenv("ACCORD_PROGRESS", "0")
    assert progress_enabled(FakeTTY()) is False
    monkeypatch.setenv("ACCORD_PROGRESS", "1")
    assert progress_enabled(io.StringIO()) is True


def test_track_yields_everything():
    assert list(track(range(5), 5, enabled=False)) == [0, 1, 2, 3, 4]


def test_status_line_is_drawn_on_a_terminal_and_erased():
    import io as _io
    import time

    from accord._progress import Status

    class Terminal(_io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    with Status("fitting ds", stream=stream, interval=0.01) as line:
        time.sleep(0.05)
        line.update("fitting ds: iteration 3")
    text = stream.getvalue()
    assert "fitting ds 0:00" in text and "iteration 3" in text and text.endswith("\r\x1b[2K")
    quiet = Terminal()
    with Status("x", stream=quiet, quiet=True):
        pass
    piped = _io.StringIO()
    with Status("x", stream=piped):
        pass
    assert quiet.getvalue() == "" and piped.getvalue() == ""


def test_long_commands_are_silent_when_piped(tmp_path, capsys, monkeypatch):
    from accord.cli import main

    monkeypatch.delenv("ACCORD_PROGRESS", raising=False)
    path = tmp_path / "a.csv"
    path.write_text("item,annotator,label\n1,a,x\n1,b,x\n2,a,y\n2,b,y\n")
    assert main(["aggregate", str(path), "-m", "ds", "-o", str(tmp_path / "o.csv")]) == 0
    assert "\r" not in capsys.readouterr().err
