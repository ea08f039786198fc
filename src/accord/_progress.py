"""A small progress bar for long work: on stderr, only when stderr is a terminal, silent when asked.

>>> with Progress(3, "fitting", enabled=False) as bar:   # enabled=False: draws nothing
...     for _ in range(3):
...         bar.advance()
>>> bar.done
3

Whether a bar is drawn: ``enabled=True/False`` decides; by default it is drawn when the stream is a TTY,
unless the environment variable ``ACCORD_PROGRESS`` is ``0`` (never) or ``1`` (always, e.g. to see it through
a pipe). Redraws are throttled to ten per second, so calling :meth:`Progress.advance` often costs almost
nothing.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import IO, TypeVar

__all__ = ["Progress", "Status", "progress_enabled", "track"]

T = TypeVar("T")
_WIDTH = 24
_MIN_INTERVAL = 0.1


def progress_enabled(stream: IO[str] | None = None, quiet: bool = False) -> bool:
    """Default rule: not quiet, and ``ACCORD_PROGRESS=1`` or (a TTY stream and ``ACCORD_PROGRESS`` not 0)."""
    if quiet:
        return False
    setting = os.environ.get("ACCORD_PROGRESS", "").strip()
    if setting in ("0", "1"):
        return setting == "1"
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


class Progress:
    """A one-line bar: ``label [#########.........] 3/8 step-name 0:04``.

    Parameters
    ----------
    total : int
        Number of steps.
    label : str
        What the work is.
    enabled : bool, optional
        Draw or not; default :func:`progress_enabled` on ``stream``.
    stream : file, optional
        Default ``sys.stderr``.
    """

    def __init__(
        self, total: int, label: str = "", *, enabled: bool | None = None, stream: IO[str] | None = None
    ) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = progress_enabled(self.stream) if enabled is None else bool(enabled)
        self.done = 0
        self.step = ""
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False

    def __enter__(self) -> Progress:
        self._draw(force=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def advance(self, n: int = 1, step: str | None = None) -> None:
        """Mark ``n`` more steps done; ``step`` names what is running now."""
        self.done = min(self.done + n, self.total)
        if step is not None:
            self.step = step
        self._draw()

    def set_step(self, step: str) -> None:
        """Name the step that is running now, without advancing."""
        self.step = step
        self._draw(force=True)

    def close(self) -> None:
        """Erase the bar (so that later output starts on a clean line)."""
        if self.enabled and self._drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._drawn = False

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < _MIN_INTERVAL and self.done < self.total:
            return
        self._last_draw = now
        filled = int(_WIDTH * self.done / self.total)
        elapsed = int(now - self._start)
        line = (
            f"{self.label} [{'#' * filled}{'.' * (_WIDTH - filled)}] {self.done}/{self.total} "
            f"{self.step[:40]} {elapsed // 60}:{elapsed % 60:02d}"
        )
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()
        self._drawn = True


def track(iterable: Iterable[T], total: int, label: str = "", *, enabled: bool | None = None) -> Iterator[T]:
    """Iterate over ``iterable`` while drawing a bar of ``total`` steps."""
    with Progress(total, label, enabled=enabled) as bar:
        for value in iterable:
            yield value
            bar.advance()


class Status:
    """A one-line status on a terminal while one long step runs: ``label 0:12``, redrawn twice a second.

    Silent when the stream is not a terminal (piped, redirected, under test) or when ``quiet``; see
    :func:`progress_enabled`. :meth:`update` changes the text (e.g. the step that is running now).

    >>> with Status("fitting ds", enabled=False) as line:   # enabled=False: draws nothing
    ...     line.update("fitting ds: iteration 3")
    >>> line.text
    'fitting ds: iteration 3'
    """

    def __init__(
        self,
        label: str,
        *,
        quiet: bool = False,
        enabled: bool | None = None,
        stream: IO[str] | None = None,
        interval: float = 0.5,
    ) -> None:
        self.text = label
        self.stream = stream if stream is not None else sys.stderr
        wanted = progress_enabled(self.stream, quiet=quiet) if enabled is None else bool(enabled)
        self.enabled = wanted and not quiet
        self.interval = float(interval)
        self._start = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> Status:
        if self.enabled:
            self._draw()
            self._thread = threading.Thread(target=self._run, name="accord-status", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, text: str) -> None:
        """Show ``text`` from now on."""
        self.text = text
        if self.enabled:
            self._draw()

    def close(self) -> None:
        """Stop redrawing and erase the line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            with self._lock:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._draw()

    def _draw(self) -> None:
        elapsed = int(time.monotonic() - self._start)
        with self._lock:
            self.stream.write(f"\r\x1b[2K{self.text[:70]} {elapsed // 60}:{elapsed % 60:02d}")
            self.stream.flush()
