"""The compiled kernels' background warm-up (accord._kernel.warm) and who starts it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accord._kernel import warm


def test_no_warm_up_for_small_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warm, "_warm_up", [])
    assert warm.warm_compiled_kernels(warm.WARM_FLOOR - 1, 2) is None
    assert warm.warm_compiled_kernels(10**8, 1) is None
    assert warm._warm_up == []


@pytest.mark.parametrize("k", [2, 4])
def test_warm_up_loads_what_a_compiled_fit_runs(k: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm-up passes the argument types of a fit: the fit afterwards adds no signature (nothing was
    loaded that a fit does not use, and it compiles nothing new), and its results are those of the NumPy
    path."""
    pytest.importorskip("numba")
    from accord import DawidSkene
    from accord._kernel import fused

    monkeypatch.setenv("ACCORD_COMPILE_MIN", "0")
    monkeypatch.delenv("ACCORD_NO_COMPILE", raising=False)
    monkeypatch.setattr(warm, "_warm_up", [])
    thread = warm.warm_compiled_kernels(warm.WARM_FLOOR, k)
    assert thread is not None and warm.warm_compiled_kernels(10**9, k) is thread  # once per process
    thread.join(120)
    assert not thread.is_alive()
    kernels = (
        [fused._gather2, fused._scatter2, fused._counts2]
        if k == 2
        else [fused._gather8, fused._scatter8, fused._counts8]
    )
    loaded = [len(f.dispatcher().signatures) for f in kernels]
    assert all(loaded)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "item": np.repeat(np.arange(60), 3),
            "annotator": rng.integers(0, 9, 180),
            "label": rng.integers(0, k, 180),
        }
    ).drop_duplicates(["item", "annotator"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = DawidSkene(max_iter=5).fit(frame)
        monkeypatch.setenv("ACCORD_NO_COMPILE", "1")
        plain = DawidSkene(max_iter=5).fit(frame)
    np.testing.assert_allclose(fitted.proba_.to_numpy(), plain.proba_.to_numpy(), atol=1e-12)
    assert [len(f.dispatcher().signatures) for f in kernels] == loaded


FORK_DURING_WARM_UP = textwrap.dedent("""
    import os, signal, sys, warnings
    import numpy as np, pandas as pd
    from accord import DawidSkene
    from accord._kernel import warm
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"item": np.repeat(np.arange(400), 3), "annotator": rng.integers(0, 30, 1200),
                          "label": rng.integers(0, 2, 1200)}).drop_duplicates(["item", "annotator"])
    thread = warm.warm_compiled_kernels(warm.WARM_FLOOR, 2)
    assert thread is not None and thread.is_alive()
    pid = os.fork()  # at once, while the thread imports numba
    if pid == 0:
        signal.alarm(100)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            DawidSkene(max_iter=3, tol=0).fit(frame)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status))
""")


@pytest.mark.skipif(sys.platform == "win32" or not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_fork_during_the_warm_up_leaves_the_child_able_to_fit(tmp_path: Path) -> None:
    """A child forked while the thread holds numba's import lock used to wait forever in its first
    compiled fit: a fork now waits for the thread first."""
    pytest.importorskip("numba")
    env = {**__import__("os").environ, "ACCORD_COMPILE_MIN": "0", "NUMBA_CACHE_DIR": str(tmp_path)}
    env.pop("ACCORD_NO_COMPILE", None)
    done = subprocess.run(
        [sys.executable, "-c", FORK_DURING_WARM_UP], capture_output=True, text=True, timeout=240, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "0", f"the child ended with {done.stdout!r} {done.stderr[-2000:]}"


def test_reading_a_file_starts_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The library never starts the warm-up by itself: a process that only reads does not import numba."""
    from accord.io.arrow import read_annotation_codes

    started: list[tuple[int, int]] = []
    monkeypatch.setattr(warm, "warm_compiled_kernels", lambda n, k: started.append((n, k)))
    path = tmp_path / "a.csv"
    path.write_text("item,annotator,label\n1,a,x\n1,b,y\n2,a,z\n")
    read_annotation_codes(path, "csv")
    assert started == []


@pytest.mark.parametrize(("method", "starts"), [("ds", True), ("mv", False)])
def test_the_command_line_starts_it_for_kernel_methods(
    method: str, starts: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from accord.cli import main

    started: list[tuple[int, int]] = []
    monkeypatch.setattr(warm, "warm_compiled_kernels", lambda n, k: started.append((n, k)))
    path = tmp_path / "a.csv"
    path.write_text("item,annotator,label\n1,a,x\n1,b,y\n2,a,z\n2,b,z\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["aggregate", str(path), "-m", method, "-o", str(tmp_path / "out.csv"), "-q"]) == 0
    assert started == ([(4, 3)] if starts else [])
