"""Shared fixtures: the path of the real datasets (../shared/data beside the repository).

Without that folder the tests that need it are skipped on a developer's machine, but fail under CI (when the
``CI`` environment variable is set, as ``.ci/run`` does): a CI run must never pass by silently skipping them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def under_ci() -> bool:
    """True when the ``CI`` environment variable is set to anything but "", "0" or "false"."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def require_data() -> Path:
    """``DATA``, or a skip (a failure under CI) when the folder is missing."""
    if not DATA.is_dir():
        message = f"benchmark datasets not found at {DATA} (the ../shared/data folder beside the repository)"
        if under_ci():
            pytest.fail(f"{message}; CI must run the tests that read them", pytrace=False)
        pytest.skip(message)
    return DATA


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return require_data()
