"""``python -m accord``: the same command line as the ``accord`` script (see ``accord --help``)."""

from __future__ import annotations

from accord.cli import entry

if __name__ == "__main__":
    entry()
