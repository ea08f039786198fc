"""How an error message names a fix: as a Python keyword argument, or as the command line's flag.

The library's messages say what to change. A Python caller reads ``missing='drop'``; a user of the ``accord``
command reads ``--missing drop``. :func:`option` picks the spelling for whoever is reading, and the command
line switches the spelling with :func:`cli_messages` for the duration of a command.

>>> option("missing='drop'", "--missing drop")
"missing='drop'"
>>> with cli_messages():
...     option("missing='drop'", "--missing drop")
'--missing drop'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["cli_messages", "in_cli", "option"]

_CLI: ContextVar[bool] = ContextVar("accord_cli_messages", default=False)


def in_cli() -> bool:
    """Whether messages are being written for the command line."""
    return _CLI.get()


def option(python: str, cli: str) -> str:
    """``python`` (a keyword argument) for library callers, ``cli`` (a flag) inside :func:`cli_messages`."""
    return cli if _CLI.get() else python


@contextmanager
def cli_messages() -> Iterator[None]:
    """Within this block, :func:`option` gives the command line's spelling."""
    token = _CLI.set(True)
    try:
        yield
    finally:
        _CLI.reset(token)
